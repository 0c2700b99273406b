"""Explicit 4-wide vector code for the span engine's row pass (LLVM IR through numba's ``@intrinsic``).

The one reduction of a span step, f_i = sum_k a_k sigma(P[k, i]), must be summed in a fixed order (a
run's numbers may not depend on the compiler's choices), and LLVM vectorizes a floating-point reduction
only when it may reassociate it.  Written as plain loops, numba's code for it stays scalar (checked in
the assembly).  Here the order is spelled out as vector code instead, so it is the same on every machine:

* 16 lanes: element k = 16 q + 4 v + j goes to lane (v, j), accumulated with fused multiply-adds in
  increasing q (four <4 x double> accumulators, which also hides the FMA latency);
* the remaining whole chunks of 4 go, in order, to the accumulator v = 0;
* the lanes are combined as ((acc0 + acc1) + (acc2 + acc3)), then (l0 + l1) + (l2 + l3);
* the last M mod 4 elements are summed in order from 0 and added last.

``sigma(z)`` for ReLU / leaky ReLU is ``z if z >= 0 else slope * z`` (slope 0 for ReLU), the same value
bit for bit as ``max(z, 0) + slope * min(z, 0)``.

``pl_row_pass`` also does the pattern bookkeeping of the row in the same pass: for every k with
``1(row[k] >= 0) != act[k]`` it sets ``act[k]``, adds 1 to ``changes[k]`` and sets ``last[k] = t``.  A
chunk of 4 is compared with one vector compare and touched only when one of its entries changed.
``pl_row_sum`` is the same sum without the bookkeeping (identical code path, identical bits).
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.errors import TypingError
from numba.extending import intrinsic

_F64 = ir.DoubleType()
_I64 = ir.IntType(64)
_I32 = ir.IntType(32)
_I8 = ir.IntType(8)
_V4 = ir.VectorType(_F64, 4)
_V4I64 = ir.VectorType(_I64, 4)
_V4I8 = ir.VectorType(_I8, 4)
_V4I1 = ir.VectorType(ir.IntType(1), 4)
LANES = 4
UNROLL = 4  # vector accumulators of the row sum
# vectors per row held in registers by the pre-activation pass, by rows done at once (1 or 2): enough
# independent FMA chains to cover the FMA latency, within the 16 vector registers of AVX2 (measured at
# n = 10, M = 200: 2 rows x 6 vectors 1.4x faster than 1 row x 4)
PRE_WIDTH = {1: 8, 2: 6}


def _c(ty: ir.Type, v: int | float) -> ir.Constant:
    return ir.Constant(ty, v)


def _splat(builder: ir.IRBuilder, x: ir.Value, vty: ir.VectorType) -> ir.Value:
    v = ir.Constant(vty, ir.Undefined)
    for j in range(vty.count):
        v = builder.insert_element(v, x, _c(_I32, j))
    return v


def _fma(builder: ir.IRBuilder, a: ir.Value, b: ir.Value, c: ir.Value) -> ir.Value:
    t = a.type
    name = f"llvm.fma.v{t.count}f64" if isinstance(t, ir.VectorType) else "llvm.fma.f64"
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(t, [t, t, t]), name)
    return builder.call(fn, [a, b, c])


def _vptr(builder: ir.IRBuilder, base: ir.Value, idx: ir.Value, vty: ir.VectorType) -> ir.Value:
    return builder.bitcast(builder.gep(base, [idx]), vty.as_pointer())


def _sigma(builder: ir.IRBuilder, z: ir.Value, slope: ir.Value, zero: ir.Value) -> tuple[ir.Value, ir.Value]:
    """(sigma(z), z >= 0) for the piecewise-linear activations, scalar or vector."""
    now = builder.fcmp_ordered(">=", z, zero)
    return builder.select(now, z, builder.fmul(slope, z)), now


def _require_c_arrays(name: str, **arrays: types.Type) -> None:
    for arg, ty in arrays.items():
        if not (isinstance(ty, types.Array) and ty.ndim == 1 and ty.layout == "C"):
            raise TypingError(f"{name}: {arg} must be a 1-D C-contiguous array; got {ty}")


class _Mem:
    """Loads and stores of one entry (scalar) or four (vector) at index e."""

    def __init__(self, builder: ir.IRBuilder, e: ir.Value, vec: bool) -> None:
        self.b, self.e, self.vec = builder, e, vec

    def ptr(self, base: ir.Value, vty: ir.VectorType = _V4) -> ir.Value:
        return _vptr(self.b, base, self.e, vty) if self.vec else self.b.gep(base, [self.e])

    def load(self, base: ir.Value, vty: ir.VectorType = _V4) -> ir.Value:
        return self.b.load(self.ptr(base, vty), align=8)

    def store(self, val: ir.Value, base: ir.Value, vty: ir.VectorType = _V4) -> None:
        self.b.store(val, self.ptr(base, vty), align=8)

    def splat(self, x: ir.Value, vty: ir.VectorType = _V4) -> ir.Value:
        return _splat(self.b, x, vty) if self.vec else x

    def const(self, x: float) -> ir.Value:
        return ir.Constant(_V4, [x] * LANES) if self.vec else _c(_F64, x)


def _two_sum_add(builder: ir.IRBuilder, s: ir.Value, c: ir.Value, x: ir.Value) -> tuple[ir.Value, ir.Value]:
    """(s + x, c + e) with e = s + x - fl(s + x) exactly (Knuth's TwoSum: the same e, bit for bit, as
    Neumaier's |s| >= |x| branch, without the branch); scalar or vector, no contraction."""
    t = builder.fadd(s, x)
    bv = builder.fsub(t, s)
    e = builder.fadd(builder.fsub(s, builder.fsub(t, bv)), builder.fsub(x, bv))
    return t, builder.fadd(c, e)


def _row_finish(builder: ir.IRBuilder, accs: tuple[ir.Value, ...], row: ir.Value, a: ir.Value, slope: ir.Value,
                end4: ir.Value, M: ir.Value, track: tuple[ir.Value, ...] | None) -> ir.Value:
    """The end of the row sum, shared by the 4- and 8-wide code: the last M mod 4 elements summed in order
    from 0 (with their pattern bookkeeping when ``track`` = (act, changes, last, t)), and the four 4-wide
    accumulators combined as ((acc0 + acc1) + (acc2 + acc3)), then (l0 + l1) + (l2 + l3), plus the tail."""
    tail = cgutils.alloca_once_value(builder, _c(_F64, 0.0))
    with cgutils.for_range_slice(builder, end4, M, _c(_I64, 1), inc=True) as (k, _):
        z = builder.load(builder.gep(row, [k]))
        w = builder.load(builder.gep(a, [k]))
        s, now = _sigma(builder, z, slope, _c(_F64, 0.0))
        builder.store(_fma(builder, w, s, builder.load(tail)), tail)
        if track is not None:
            act, ch, last, t = track
            nowb = builder.zext(now, _I8)
            pa = builder.gep(act, [k])
            with cgutils.if_unlikely(builder, builder.icmp_unsigned("!=", nowb, builder.load(pa))):
                builder.store(nowb, pa)
                pc = builder.gep(ch, [k])
                builder.store(builder.add(builder.load(pc), _c(_I64, 1)), pc)
                builder.store(t, builder.gep(last, [k]))
    v0, v1, v2, v3 = accs
    v = builder.fadd(builder.fadd(v0, v1), builder.fadd(v2, v3))
    lane = [builder.extract_element(v, _c(_I32, j)) for j in range(LANES)]
    total = builder.fadd(builder.fadd(lane[0], lane[1]), builder.fadd(lane[2], lane[3]))
    return builder.fadd(total, builder.load(tail))


def _codegen(track: bool):
    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        if track:
            row_v, act_v, ch_v, last_v, a_v, slope, t = args
            act = context.make_array(sig.args[1])(context, builder, act_v).data
            ch = context.make_array(sig.args[2])(context, builder, ch_v).data
            last = context.make_array(sig.args[3])(context, builder, last_v).data
            a_ty = sig.args[4]
        else:
            row_v, a_v, slope = args
            a_ty = sig.args[1]
        row_arr = context.make_array(sig.args[0])(context, builder, row_v)
        M = builder.extract_value(row_arr.shape, 0)
        row = row_arr.data
        a = context.make_array(a_ty)(context, builder, a_v).data
        zero_v = ir.Constant(_V4, [0.0] * LANES)
        slope_v = _splat(builder, slope, _V4)
        accs = [cgutils.alloca_once_value(builder, zero_v) for _ in range(UNROLL)]
        if track:
            t_v = _splat(builder, t, _V4I64)

        def chunk(k: ir.Value, acc: ir.Value) -> None:
            z = builder.load(_vptr(builder, row, k, _V4), align=8)
            w = builder.load(_vptr(builder, a, k, _V4), align=8)
            s, now = _sigma(builder, z, slope_v, zero_v)
            builder.store(_fma(builder, w, s, builder.load(acc)), acc)
            if not track:
                return
            nowb = builder.zext(now, _V4I8)
            pa = _vptr(builder, act, k, _V4I8)
            diff = builder.icmp_unsigned("!=", nowb, builder.load(pa, align=1))
            anyd = builder.icmp_unsigned("!=", builder.bitcast(diff, ir.IntType(4)), _c(ir.IntType(4), 0))
            with cgutils.if_unlikely(builder, anyd):
                builder.store(nowb, pa, align=1)
                pc = _vptr(builder, ch, k, _V4I64)
                builder.store(builder.add(builder.load(pc, align=8), builder.zext(diff, _V4I64)), pc, align=8)
                pl = _vptr(builder, last, k, _V4I64)
                builder.store(builder.select(diff, t_v, builder.load(pl, align=8)), pl, align=8)

        block = LANES * UNROLL
        n_blocks = builder.udiv(M, _c(_I64, block))
        with cgutils.for_range(builder, n_blocks) as loop:
            base = builder.mul(loop.index, _c(_I64, block))
            for v in range(UNROLL):
                chunk(builder.add(base, _c(_I64, LANES * v)), accs[v])
        start4 = builder.mul(n_blocks, _c(_I64, block))
        end4 = builder.mul(builder.udiv(M, _c(_I64, LANES)), _c(_I64, LANES))
        with cgutils.for_range_slice(builder, start4, end4, _c(_I64, LANES), inc=True) as (k, _):
            chunk(k, accs[0])
        v0, v1, v2, v3 = (builder.load(acc) for acc in accs)
        return _row_finish(builder, (v0, v1, v2, v3), row, a, slope, end4, M,
                           (act, ch, last, t) if track else None)

    return codegen


@intrinsic
def pl_row_sum(typingctx, row, a, slope):  # type: ignore[no-untyped-def]
    """sum_k a[k] sigma(row[k]) in the module's fixed order (``row``, ``a``: 1-D C arrays, same length)."""
    _require_c_arrays("pl_row_sum", row=row, a=a)
    return types.float64(row, a, types.float64), _codegen(track=False)


@intrinsic
def pl_row_pass(typingctx, row, act, changes, last, a, slope, t):  # type: ignore[no-untyped-def]
    """``pl_row_sum`` plus the pattern bookkeeping of the row at step t (module docstring)."""
    _require_c_arrays("pl_row_pass", row=row, act=act, changes=changes, last=last, a=a)
    if act.dtype != types.boolean or changes.dtype != types.int64 or last.dtype != types.int64:
        raise TypingError("pl_row_pass: act must be bool, changes and last int64")
    return types.float64(row, act, changes, last, a, types.float64, types.int64), _codegen(track=True)


def _preact_codegen(rows: int):  # type: ignore[no-untyped-def]
    """Code for ``rows`` consecutive rows i, ..., i + rows - 1 of P at once: each z load feeds ``rows``
    multiply-adds (the pass is bound by the loads otherwise)."""
    width = PRE_WIDTH[rows]  # vectors per row in a block

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        p0_v, z_v, g_v, i, out_v = args
        p0arr = context.make_array(sig.args[0])(context, builder, p0_v)
        zarr = context.make_array(sig.args[1])(context, builder, z_v)
        garr = context.make_array(sig.args[2])(context, builder, g_v)
        out = context.make_array(sig.args[4])(context, builder, out_v).data
        p0 = p0arr.data
        n = builder.extract_value(zarr.shape, 0)
        M = builder.extract_value(zarr.shape, 1)
        z, g = zarr.data, garr.data
        gn = builder.extract_value(garr.shape, 1)
        accs = [[cgutils.alloca_once(builder, _V4) for _ in range(width)] for _ in range(rows)]
        tail = cgutils.alloca_once(builder, _F64)
        row_at = [builder.mul(builder.add(i, _c(_I64, r)), M) for r in range(rows)]  # offset of row i + r

        def g_at(ip: ir.Value, r: int) -> ir.Value:
            return builder.load(builder.gep(g, [builder.add(builder.mul(ip, gn), builder.add(i, _c(_I64, r)))]))

        def block(k: ir.Value, nvec: int) -> None:
            """out[i + r, k : k + 4 nvec] = p0 + sum_i' z[i', .] G[i', i + r], kept in registers."""
            for r in range(rows):
                for v in range(nvec):
                    kv = builder.add(builder.add(row_at[r], k), _c(_I64, LANES * v))
                    builder.store(builder.load(_vptr(builder, p0, kv, _V4), align=8), accs[r][v])
            with cgutils.for_range(builder, n) as loop:
                ip = loop.index
                gv = [_splat(builder, g_at(ip, r), _V4) for r in range(rows)]
                zrow = builder.add(builder.mul(ip, M), k)
                for v in range(nvec):
                    zv = builder.load(_vptr(builder, z, builder.add(zrow, _c(_I64, LANES * v)), _V4), align=8)
                    for r in range(rows):
                        builder.store(_fma(builder, zv, gv[r], builder.load(accs[r][v])), accs[r][v])
            for r in range(rows):
                for v in range(nvec):
                    kv = builder.add(builder.add(row_at[r], k), _c(_I64, LANES * v))
                    builder.store(builder.load(accs[r][v]), _vptr(builder, out, kv, _V4), align=8)

        blk = LANES * width
        n_blocks = builder.udiv(M, _c(_I64, blk))
        with cgutils.for_range(builder, n_blocks) as loop:
            block(builder.mul(loop.index, _c(_I64, blk)), width)
        start4 = builder.mul(n_blocks, _c(_I64, blk))
        end4 = builder.mul(builder.udiv(M, _c(_I64, LANES)), _c(_I64, LANES))
        with cgutils.for_range_slice(builder, start4, end4, _c(_I64, LANES), inc=True) as (k, _):
            block(k, 1)
        with cgutils.for_range_slice(builder, end4, M, _c(_I64, 1), inc=True) as (k, _):
            for r in range(rows):
                kr = builder.add(row_at[r], k)
                builder.store(builder.load(builder.gep(p0, [kr])), tail)
                with cgutils.for_range(builder, n) as loop:
                    zk = builder.load(builder.gep(z, [builder.add(builder.mul(loop.index, M), k)]))
                    builder.store(_fma(builder, zk, g_at(loop.index, r), builder.load(tail)), tail)
                builder.store(builder.load(tail), builder.gep(out, [kr]))
        return context.get_dummy_value()

    return codegen


def _preact_typing(name: str, P0t: types.Type, zeff: types.Type, G: types.Type, out: types.Type) -> None:
    for arg, ty in (("P0t", P0t), ("zeff", zeff), ("G", G), ("out", out)):
        if not (isinstance(ty, types.Array) and ty.ndim == 2 and ty.layout == "C" and ty.dtype == types.float64):
            raise TypingError(f"{name}: {arg} must be a 2-D C-contiguous float64 array; got {ty}")


@intrinsic
def preact_row(typingctx, P0t, zeff, G, i, out):  # type: ignore[no-untyped-def]
    """Row i of the pre-activations in the (n, M) layout: out[i, k] = P0t[i, k] + sum_i' zeff[i', k] G[i', i],
    the sum a chain of fused multiply-adds in i' order (bit for bit the plain loop with FMA contraction),
    with the partial sums of 32 consecutive k held in vector registers across the whole i' loop."""
    _preact_typing("preact_row", P0t, zeff, G, out)
    return types.void(P0t, zeff, G, types.intp, out), _preact_codegen(1)


@intrinsic
def preact_rows2(typingctx, P0t, zeff, G, i, out):  # type: ignore[no-untyped-def]
    """Rows i and i + 1 of ``preact_row`` together (same bits), each z load feeding both."""
    _preact_typing("preact_rows2", P0t, zeff, G, out)
    return types.void(P0t, zeff, G, types.intp, out), _preact_codegen(2)


def _update_codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
    z_v, zc_v, p_v, a_v, ci, slope, ze_v = args
    z, zc, p, a, ze = (context.make_array(sig.args[j])(context, builder, v).data
                       for j, v in ((0, z_v), (1, zc_v), (2, p_v), (3, a_v), (6, ze_v)))
    M = builder.extract_value(context.make_array(sig.args[0])(context, builder, z_v).shape, 0)

    def step(k: ir.Value, vec: bool) -> None:
        m = _Mem(builder, k, vec)
        ds = builder.select(builder.fcmp_ordered(">=", m.load(p), m.const(0.0)), m.const(1.0), m.splat(slope))
        x = builder.fmul(builder.fmul(m.splat(ci), m.load(a)), ds)
        t, zcn = _two_sum_add(builder, m.load(z), m.load(zc), x)
        m.store(zcn, zc)
        m.store(t, z)
        m.store(builder.fadd(t, zcn), ze)

    end4 = builder.mul(builder.udiv(M, _c(_I64, LANES)), _c(_I64, LANES))
    with cgutils.for_range_slice(builder, _c(_I64, 0), end4, _c(_I64, LANES), inc=True) as (k, _):
        step(k, True)
    with cgutils.for_range_slice(builder, end4, M, _c(_I64, 1), inc=True) as (k, _):
        step(k, False)
    return context.get_dummy_value()


@intrinsic
def pl_update_row(typingctx, Z, Zc, P, a, ci, slope, zeff):  # type: ignore[no-untyped-def]
    """The coefficient update of one data point i for ReLU / leaky ReLU, Neumaier-compensated:

        x = (ci a[k]) sigma'(P[k]),  sigma'(P) = 1 if P >= 0 else slope,
        t = Z + x,  Zc += e,  Z = t,  zeff = Z + Zc,

    with e = Z + x - t, the exact rounding error of t (Neumaier's correction, computed branch-free with
    Knuth's TwoSum: the same e, bit for bit, as Neumaier's |Z| >= |x| branch), no contraction, four k at
    a time."""
    for arg, ty in (("Z", Z), ("Zc", Zc), ("P", P), ("a", a), ("zeff", zeff)):
        if not (isinstance(ty, types.Array) and ty.ndim == 1 and ty.layout == "C" and ty.dtype == types.float64):
            raise TypingError(f"pl_update_row: {arg} must be a 1-D C-contiguous float64 array; got {ty}")
    return types.void(Z, Zc, P, a, types.float64, types.float64, zeff), _update_codegen


# --- the frozen-pattern engine's free entries (``sim.frozen_kernel``) --------------------------------
# Loops over the entries e in [lo, hi) of one class, four at a time; their sums run in four lanes
# ((e - lo) mod 4, in increasing e), combined as (l0 + l1) + (l2 + l3), plus the tail (hi - lo mod 4
# entries, summed in order from 0) last -- the same order in ``lane_sum`` and in the fused loops.


def _data(context, builder, ty, val):  # type: ignore[no-untyped-def]
    return context.make_array(ty)(context, builder, val).data


def _lane_loop(builder: ir.IRBuilder, lo: ir.Value, hi: ir.Value, body, n_sums: int) -> list[ir.Value]:  # type: ignore[no-untyped-def]
    """Run ``body(e, vec)`` over [lo, hi) (vec: 4 entries at e, else one); ``body`` returns the values to
    add to the ``n_sums`` running sums.  Returns the sums in the fixed order above."""
    zero_v = ir.Constant(_V4, [0.0] * LANES)
    accs = [cgutils.alloca_once_value(builder, zero_v) for _ in range(n_sums)]
    tails = [cgutils.alloca_once_value(builder, _c(_F64, 0.0)) for _ in range(n_sums)]
    count = builder.sub(hi, lo)
    end4 = builder.add(lo, builder.mul(builder.udiv(count, _c(_I64, LANES)), _c(_I64, LANES)))
    with cgutils.for_range_slice(builder, lo, end4, _c(_I64, LANES), inc=True) as (e, _):
        for acc, v in zip(accs, body(e, True), strict=True):
            builder.store(builder.fadd(builder.load(acc), v), acc)
    with cgutils.for_range_slice(builder, end4, hi, _c(_I64, 1), inc=True) as (e, _):
        for tl, v in zip(tails, body(e, False), strict=True):
            builder.store(builder.fadd(builder.load(tl), v), tl)
    out = []
    for acc, tl in zip(accs, tails, strict=True):
        v = builder.load(acc)
        lane = [builder.extract_element(v, _c(_I32, j)) for j in range(LANES)]
        total = builder.fadd(builder.fadd(lane[0], lane[1]), builder.fadd(lane[2], lane[3]))
        out.append(builder.fadd(total, builder.load(tl)))
    return out


def _require_1d(name: str, dtype: types.Type, **arrays: types.Type) -> None:
    for arg, ty in arrays.items():
        if not (isinstance(ty, types.Array) and ty.ndim == 1 and ty.layout == "C" and ty.dtype == dtype):
            raise TypingError(f"{name}: {arg} must be a 1-D C-contiguous {dtype} array; got {ty}")


@intrinsic
def lane_sum(typingctx, x, lo, hi):  # type: ignore[no-untyped-def]
    """sum of x[lo:hi] in the lane order above."""
    _require_1d("lane_sum", types.float64, x=x)

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        xp = _data(context, builder, sig.args[0], args[0])
        return _lane_loop(builder, args[1], args[2], lambda e, vec: [_Mem(builder, e, vec).load(xp)], 1)[0]

    return types.float64(x, types.intp, types.intp), codegen


@intrinsic
def free_update(typingctx, A, Ac, Aeff, Pe, PT, selfc, s_e, lo, hi, x1, q):  # type: ignore[no-untyped-def]
    """For e in [lo, hi): x = x1 s_e; A += x compensated (Knuth's TwoSum error into Ac); Aeff = A + Ac;
    Pe = (PT + q) + selfc Aeff (no contraction).  Returns the lane sum of the new Aeff."""
    _require_1d("free_update", types.float64, A=A, Ac=Ac, Aeff=Aeff, Pe=Pe, PT=PT, selfc=selfc, s_e=s_e)

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        A_, Ac_, Ae_, Pe_, PT_, sc_, s_ = (_data(context, builder, sig.args[j], args[j]) for j in range(7))
        lo_, hi_, x1_, q_ = args[7:]

        def body(e: ir.Value, vec: bool) -> list[ir.Value]:
            m = _Mem(builder, e, vec)
            x = builder.fmul(m.splat(x1_), m.load(s_))
            t, ac = _two_sum_add(builder, m.load(A_), m.load(Ac_), x)
            m.store(t, A_)
            m.store(ac, Ac_)
            ae = builder.fadd(t, ac)
            m.store(ae, Ae_)
            m.store(builder.fadd(builder.fadd(m.load(PT_), m.splat(q_)), builder.fmul(m.load(sc_), ae)), Pe_)
            return [ae]

        return _lane_loop(builder, lo_, hi_, body, 1)[0]

    sig = types.float64(A, Ac, Aeff, Pe, PT, selfc, s_e, types.intp, types.intp, types.float64, types.float64)
    return sig, codegen


@intrinsic
def free_flips(typingctx, Pe, s_e, chg, last, lo, hi, slope, t):  # type: ignore[no-untyped-def]
    """For e in [lo, hi): now = 1 if Pe >= 0 else slope; where now != s_e: chg += 1, last = t; s_e = now.
    Returns the lane sum of Pe * now (the entries' sigma(P_e))."""
    _require_1d("free_flips", types.float64, Pe=Pe, s_e=s_e)
    _require_1d("free_flips", types.int64, chg=chg, last=last)

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        Pe_, s_, ch_, la_ = (_data(context, builder, sig.args[j], args[j]) for j in range(4))
        lo_, hi_, slope_, t_ = args[4:]

        def body(e: ir.Value, vec: bool) -> list[ir.Value]:
            m = _Mem(builder, e, vec)
            p = m.load(Pe_)
            now = builder.select(builder.fcmp_ordered(">=", p, m.const(0.0)), m.const(1.0), m.splat(slope_))
            d = builder.fcmp_unordered("!=", now, m.load(s_))
            m.store(now, s_)
            ity = _V4I64 if vec else _I64
            m.store(builder.add(m.load(ch_, _V4I64), builder.zext(d, ity)), ch_, _V4I64)
            m.store(builder.select(d, m.splat(t_, _V4I64), m.load(la_, _V4I64)), la_, _V4I64)
            return [builder.fmul(p, now)]

        return _lane_loop(builder, lo_, hi_, body, 1)[0]

    return types.float64(Pe, s_e, chg, last, types.intp, types.intp, types.float64, types.int64), codegen
