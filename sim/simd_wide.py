"""The span step's three passes in 8-wide vector code, for machines whose vector registers hold 8 doubles
(AVX-512): the same numbers, bit for bit, as the 4-wide code of ``sim.simd`` (tested).

* ``preact_row8`` / ``preact_rows2_8`` (P = P0 + Z G) and ``pl_update_row8`` (the compensated update)
  compute every entry by its own chain of operations, so the vector width changes only which entries
  share an instruction: blocks of 8-wide vectors, then whole chunks of 8, of 4, then single entries.
* ``pl_row_pass8`` / ``pl_row_sum8`` keep ``sim.simd``'s 16-lane order of the row sum: element
  k = 16 q + 4 v + j goes to lane (v, j), so accumulator A holds lanes v = 0, 1 and B lanes v = 2, 3,
  each an FMA chain in increasing q; after the last whole block of 16 the 4-lane accumulators are
  A's and B's halves, the remaining whole chunks of 4 go to v = 0 (A's low half), and the combination
  ((acc0 + acc1) + (acc2 + acc3)), (l0 + l1) + (l2 + l3), plus the scalar tail, is ``sim.simd``'s.

``WIDE`` says whether LLVM's host CPU has AVX-512F; the kernels take a ``lanes`` argument (4 or 8) and
``sim.span`` passes ``HOST_LANES``.
"""

from __future__ import annotations

import llvmlite.binding as llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .simd import (
    _F64,
    _I8,
    _I32,
    _I64,
    PRE_WIDTH,
    _c,
    _fma,
    _preact_typing,
    _require_c_arrays,
    _row_finish,
    _sigma,
    _splat,
    _two_sum_add,
    _vptr,
)

W = 8
_V8 = ir.VectorType(_F64, W)
_V4 = ir.VectorType(_F64, 4)


def _host_wide() -> bool:
    try:
        feats = llvm.get_host_cpu_features()
        return bool(feats.get("avx512f", False))
    except RuntimeError:  # pragma: no cover - llvmlite cannot read the host's features
        return False


WIDE = _host_wide()
HOST_LANES = 8 if WIDE else 4


def _vt(n: int, ty: ir.Type = _F64) -> ir.VectorType:
    return ir.VectorType(ty, n)


def _row_codegen(track: bool):  # type: ignore[no-untyped-def]
    """The whole row's pass (``pl_row_sum8``, ``pl_row_pass8``: 1-D arrays)."""

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        act = ch = last = t = None
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
        a = context.make_array(a_ty)(context, builder, a_v).data
        return _row_body(builder, row_arr.data, act, ch, last, a, slope, t, M, None, "whole")

    return codegen


def _row_block_codegen(mode: str):  # type: ignore[no-untyped-def]
    """The row pass (with its bookkeeping) on row i of (n, .) arrays, neurons k0 <= k < k1, without making
    array views: the row of P from ``ps``'s column 0, the lanes in ``racc``'s row i (``_row_body``'s
    modes)."""

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        slope, t, i, k0, k1 = args[5], args[6], args[8], args[9], args[10]
        arr = [context.make_array(sig.args[j])(context, builder, args[j]) for j in (0, 1, 2, 3, 4, 7)]
        ps, act, ch, last, a, racc = (x.data for x in arr)
        S = builder.extract_value(arr[0].shape, 1)
        Mf = builder.extract_value(arr[1].shape, 1)
        at = builder.add(builder.mul(i, Mf), k0)
        return _row_body(builder, builder.gep(ps, [builder.mul(i, S)]), builder.gep(act, [at]),
                         builder.gep(ch, [at]), builder.gep(last, [at]), builder.gep(a, [k0]), slope, t,
                         builder.sub(k1, k0), builder.gep(racc, [builder.mul(i, _c(_I64, 16))]), mode)

    return codegen


def _row_body(builder: ir.IRBuilder, row: ir.Value, act: ir.Value | None, ch: ir.Value | None,  # type: ignore[no-untyped-def]
              last: ir.Value | None, a: ir.Value, slope: ir.Value, t: ir.Value | None, M: ir.Value,
              accp: ir.Value | None, mode: str):
    """The row pass on M entries from the pointers given (``act`` None: the sum only).  ``mode`` "whole":
    the row's sum; "carry": only its whole blocks of 16, the accumulators A, B read from and written back
    to the 16 doubles at ``accp``; "start": the same from zero accumulators (``accp`` only written: a wide
    load of entries just stored one by one would stall); "end": from ``accp``, then the rest of the row
    and the sum, as "whole" would finish it."""
    track = act is not None

    def chunk(k: ir.Value, acc: ir.Value, n: int) -> None:
        vf = _vt(n)
        z = builder.load(_vptr(builder, row, k, vf), align=8)
        w = builder.load(_vptr(builder, a, k, vf), align=8)
        s, now = _sigma(builder, z, _splat(builder, slope, vf), ir.Constant(vf, [0.0] * n))
        builder.store(_fma(builder, w, s, builder.load(acc)), acc)
        if not track:
            return
        nowb = builder.zext(now, _vt(n, _I8))
        pa = _vptr(builder, act, k, _vt(n, _I8))
        diff = builder.icmp_unsigned("!=", nowb, builder.load(pa, align=1))
        anyd = builder.icmp_unsigned("!=", builder.bitcast(diff, ir.IntType(n)), _c(ir.IntType(n), 0))
        with cgutils.if_unlikely(builder, anyd):
            builder.store(nowb, pa, align=1)
            vi = _vt(n, _I64)
            pc = _vptr(builder, ch, k, vi)
            builder.store(builder.add(builder.load(pc, align=8), builder.zext(diff, vi)), pc, align=8)
            pl = _vptr(builder, last, k, vi)
            builder.store(builder.select(diff, _splat(builder, t, vi), builder.load(pl, align=8)), pl, align=8)

    if mode in ("whole", "start"):
        accA = cgutils.alloca_once_value(builder, ir.Constant(_V8, [0.0] * W))
        accB = cgutils.alloca_once_value(builder, ir.Constant(_V8, [0.0] * W))
    else:
        accA = cgutils.alloca_once_value(builder, builder.load(_vptr(builder, accp, _c(_I64, 0), _V8), align=8))
        accB = cgutils.alloca_once_value(builder, builder.load(_vptr(builder, accp, _c(_I64, W), _V8), align=8))
    n_blocks = builder.udiv(M, _c(_I64, 16))
    with cgutils.for_range(builder, n_blocks) as loop:
        base = builder.mul(loop.index, _c(_I64, 16))
        chunk(base, accA, W)
        chunk(builder.add(base, _c(_I64, W)), accB, W)
    A, B = builder.load(accA), builder.load(accB)
    if mode in ("carry", "start"):
        builder.store(A, _vptr(builder, accp, _c(_I64, 0), _V8), align=8)
        builder.store(B, _vptr(builder, accp, _c(_I64, W), _V8), align=8)
        return _c(_F64, 0.0)
    undef = ir.Constant(_V8, ir.Undefined)
    lo, hi = ir.Constant(_vt(4, _I32), [0, 1, 2, 3]), ir.Constant(_vt(4, _I32), [4, 5, 6, 7])
    acc0 = cgutils.alloca_once_value(builder, builder.shuffle_vector(A, undef, lo))
    acc1 = builder.shuffle_vector(A, undef, hi)
    acc2 = builder.shuffle_vector(B, undef, lo)
    acc3 = builder.shuffle_vector(B, undef, hi)
    start4 = builder.mul(n_blocks, _c(_I64, 16))
    end4 = builder.mul(builder.udiv(M, _c(_I64, 4)), _c(_I64, 4))
    with cgutils.for_range_slice(builder, start4, end4, _c(_I64, 4), inc=True) as (k, _):
        chunk(k, acc0, 4)
    return _row_finish(builder, (builder.load(acc0), acc1, acc2, acc3), row, a, slope, end4, M,
                       (act, ch, last, t) if track else None)


@intrinsic
def pl_row_sum8(typingctx, row, a, slope):  # type: ignore[no-untyped-def]
    """``sim.simd.pl_row_sum`` in 8-wide code (same order, same bits)."""
    _require_c_arrays("pl_row_sum8", row=row, a=a)
    return types.float64(row, a, types.float64), _row_codegen(track=False)


@intrinsic
def pl_row_pass8(typingctx, row, act, changes, last, a, slope, t):  # type: ignore[no-untyped-def]
    """``sim.simd.pl_row_pass`` in 8-wide code (same order, same bits, same bookkeeping)."""
    _require_c_arrays("pl_row_pass8", row=row, act=act, changes=changes, last=last, a=a)
    return types.float64(row, act, changes, last, a, types.float64, types.int64), _row_codegen(track=True)


def _require(name: str, *specs: tuple[str, types.Type, int, types.Type]) -> None:
    """Each (argument, its type, ndim, dtype) must be a C-contiguous array of that ndim and dtype."""
    from numba.core.errors import TypingError

    for arg, ty, nd, dt in specs:
        if not (isinstance(ty, types.Array) and ty.ndim == nd and ty.layout == "C" and ty.dtype == dt):
            raise TypingError(f"{name}: {arg} must be a {nd}-D C-contiguous {dt} array; got {ty}")


_F, _B, _I = types.float64, types.boolean, types.int64


def _lean_row(mode: str, doc: str):  # type: ignore[no-untyped-def]
    def typer(typingctx, ps, act, changes, last, a, slope, t, racc, i, k0, k1):  # type: ignore[no-untyped-def]
        _require(f"lean_row_{mode}8", ("ps", ps, 2, _F), ("act", act, 2, _B), ("changes", changes, 2, _I),
                 ("last", last, 2, _I), ("a", a, 1, _F), ("racc", racc, 2, _F))
        return (types.float64(ps, act, changes, last, a, types.float64, types.int64, racc, types.intp, types.intp,
                              types.intp), _row_block_codegen(mode))

    typer.__doc__ = doc
    return intrinsic(typer)


lean_row_whole8 = _lean_row("whole", """``pl_row_pass8`` on all of row i (k0 = 0, k1 = M), P's entries
    from ``ps[i, :M]``: the row's sum (``racc`` unused).""")
lean_row_start8 = _lean_row("start", """``pl_row_pass8`` on the first piece of row i, neurons 0 <= k < k1
    (k1 a multiple of 16): P's entries from ``ps[i, :k1]``, the bookkeeping on ``act``/``changes``/``last``
    (n, M) at (i, k); its 16 lanes written to ``racc[i]`` (``racc`` must be (n, 16): its row i is read at
    16 i, whatever its shape).  Returns 0.""")
lean_row_carry8 = _lean_row("carry", """A middle piece of row i, neurons k0 <= k < k1 (k1 - k0 a multiple
    of 16), P's entries from ``ps[i, :k1 - k0]``: the lanes read from and written back to ``racc[i]``.
    Returns 0.""")
lean_row_end8 = _lean_row("end", """The last piece of row i, neurons k0 <= k < k1 = M, from the lanes in
    ``racc[i]``: returns the row's sum, ``pl_row_pass8``'s bit for bit (the pieces of a row run the same FMA
    chain in every lane).""")


def _preact_codegen8(rows: int, scratch: bool = False):  # type: ignore[no-untyped-def]
    """``sim.simd._preact_codegen`` with 8-wide blocks; then whole chunks of 8, of 4, then single entries.
    ``scratch``: the neurons
    k0 <= k < k0 + kb (two more arguments), with zeff and out holding only them, from their column 0
    (zeff (n, S) and out (n, S') for S, S' >= kb; row i + r of out for row i + r of P), and G given
    transposed (``GT``, read along its rows: G[i', i] is GT[i, i'], the same number)."""
    width = PRE_WIDTH[rows]

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        p0_v, z_v, g_v, i, out_v = args[:5]
        p0arr = context.make_array(sig.args[0])(context, builder, p0_v)
        p0 = p0arr.data
        zarr = context.make_array(sig.args[1])(context, builder, z_v)
        garr = context.make_array(sig.args[2])(context, builder, g_v)
        oarr = context.make_array(sig.args[4])(context, builder, out_v)
        out = oarr.data
        n = builder.extract_value(zarr.shape, 0)
        M = builder.extract_value(zarr.shape, 1)
        z, g = zarr.data, garr.data
        gn = builder.extract_value(garr.shape, 1)
        accs = {L: [[cgutils.alloca_once(builder, _vt(L) if L > 1 else _F64) for _ in range(width if L == W else 1)]
                    for _ in range(rows)] for L in (W, 4, 1)}
        if scratch:  # P0's entry (i + r, k0 + k), out's (i + r, k), zeff's (i', k)
            M0 = builder.extract_value(p0arr.shape, 1)
            Mo = builder.extract_value(oarr.shape, 1)
            p0_at = [builder.add(builder.mul(builder.add(i, _c(_I64, r)), M0), args[5]) for r in range(rows)]
            row_at = [builder.mul(builder.add(i, _c(_I64, r)), Mo) for r in range(rows)]
        else:
            row_at = [builder.mul(builder.add(i, _c(_I64, r)), M) for r in range(rows)]
            p0_at = row_at

        def g_at(ip: ir.Value, r: int) -> ir.Value:
            if scratch:  # G given transposed: G[i', i + r] is GT[i + r, i'], contiguous in i'
                return builder.load(builder.gep(g, [builder.add(builder.mul(builder.add(i, _c(_I64, r)), gn), ip)]))
            return builder.load(builder.gep(g, [builder.add(builder.mul(ip, gn), builder.add(i, _c(_I64, r)))]))

        def block(k: ir.Value, nvec: int, L: int) -> None:
            vt = _vt(L) if L > 1 else _F64
            acc = accs[L]

            def ptr(base: ir.Value, off: ir.Value) -> ir.Value:
                return _vptr(builder, base, off, vt) if L > 1 else builder.gep(base, [off])

            for r in range(rows):
                for v in range(nvec):
                    kv = builder.add(builder.add(p0_at[r], k), _c(_I64, L * v))
                    builder.store(builder.load(ptr(p0, kv), align=8), acc[r][v])
            with cgutils.for_range(builder, n) as loop:
                ip = loop.index
                gv = [g_at(ip, r) for r in range(rows)]
                if L > 1:
                    gv = [_splat(builder, x, vt) for x in gv]
                zrow = builder.add(builder.mul(ip, M), k)
                for v in range(nvec):
                    zv = builder.load(ptr(z, builder.add(zrow, _c(_I64, L * v))), align=8)
                    for r in range(rows):
                        builder.store(_fma(builder, zv, gv[r], builder.load(acc[r][v])), acc[r][v])
            for r in range(rows):
                for v in range(nvec):
                    kv = builder.add(builder.add(row_at[r], k), _c(_I64, L * v))
                    builder.store(builder.load(acc[r][v]), ptr(out, kv), align=8)

        k0, k1 = _c(_I64, 0), (args[6] if scratch else M)
        count = builder.sub(k1, k0)
        blk = W * width
        n_blocks = builder.udiv(count, _c(_I64, blk))
        with cgutils.for_range(builder, n_blocks) as loop:
            block(builder.add(k0, builder.mul(loop.index, _c(_I64, blk))), width, W)
        start = builder.add(k0, builder.mul(n_blocks, _c(_I64, blk)))
        for L in (W, 4, 1):
            end = builder.add(k0, builder.mul(builder.udiv(count, _c(_I64, L)), _c(_I64, L)))
            with cgutils.for_range_slice(builder, start, end, _c(_I64, L), inc=True) as (k, _):
                block(k, 1, L)
            start = end
        return context.get_dummy_value()

    return codegen


@intrinsic
def preact_row8(typingctx, P0t, zeff, G, i, out):  # type: ignore[no-untyped-def]
    """``sim.simd.preact_row`` in 8-wide code (same bits)."""
    _preact_typing("preact_row8", P0t, zeff, G, out)
    return types.void(P0t, zeff, G, types.intp, out), _preact_codegen8(1)


@intrinsic
def preact_rows2_8(typingctx, P0t, zeff, G, i, out):  # type: ignore[no-untyped-def]
    """``sim.simd.preact_rows2`` in 8-wide code (same bits)."""
    _preact_typing("preact_rows2_8", P0t, zeff, G, out)
    return types.void(P0t, zeff, G, types.intp, out), _preact_codegen8(2)


@intrinsic
def preact_row8_scratch(typingctx, P0t, zeff, GT, i, out, k0, kb):  # type: ignore[no-untyped-def]
    """``preact_row8`` on the neurons k0 <= k < k0 + kb, from zeff's and into out's first kb columns, with
    G transposed: out[i, k] = P0t[i, k0 + k] + sum_i' zeff[i', k] GT[i, i'] (same bits on them); zeff and
    out are (n, >= kb)."""
    _preact_typing("preact_row8_scratch", P0t, zeff, GT, out)
    return types.void(P0t, zeff, GT, types.intp, out, types.intp, types.intp), _preact_codegen8(1, scratch=True)


@intrinsic
def preact_rows2_8_scratch(typingctx, P0t, zeff, GT, i, out, k0, kb):  # type: ignore[no-untyped-def]
    """Rows i, i + 1 of ``preact_row8_scratch`` together, into out's rows i and i + 1 (same bits)."""
    _preact_typing("preact_rows2_8_scratch", P0t, zeff, GT, out)
    return types.void(P0t, zeff, GT, types.intp, out, types.intp, types.intp), _preact_codegen8(2, scratch=True)


def _chunks(builder: ir.IRBuilder, n: ir.Value, body) -> None:  # type: ignore[no-untyped-def]
    """``body(k, L)`` over [0, n): whole chunks of 8 entries, then of 4, then single entries."""
    start = _c(_I64, 0)
    for L in (W, 4, 1):
        end = builder.mul(builder.udiv(n, _c(_I64, L)), _c(_I64, L))
        with cgutils.for_range_slice(builder, start, end, _c(_I64, L), inc=True) as (k, _):
            body(k, L)
        start = end


def _update_codegen8(context, builder, sig, args, from_act: bool = False):  # type: ignore[no-untyped-def]
    z_v, zc_v, p_v, a_v, ci, slope, ze_v = args
    z, zc, p, a, ze = (context.make_array(sig.args[j])(context, builder, v).data
                       for j, v in ((0, z_v), (1, zc_v), (2, p_v), (3, a_v), (6, ze_v)))
    M = builder.extract_value(context.make_array(sig.args[0])(context, builder, z_v).shape, 0)
    return _update_body(context, builder, z, zc, p, a, ci, slope, ze, M, from_act)


def _update_block_codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
    ci, slope, i, k0, k1 = args[4], args[5], args[7], args[8], args[9]
    arr = [context.make_array(sig.args[j])(context, builder, args[j]) for j in (0, 1, 2, 3, 6)]
    z, zc, act, a, zs = (x.data for x in arr)
    Mf = builder.extract_value(arr[0].shape, 1)
    S = builder.extract_value(arr[4].shape, 1)
    at = builder.add(builder.mul(i, Mf), k0)
    return _update_body(context, builder, builder.gep(z, [at]), builder.gep(zc, [at]), builder.gep(act, [at]),
                        builder.gep(a, [k0]), ci, slope, builder.gep(zs, [builder.mul(i, S)]), builder.sub(k1, k0),
                        True)


def _update_body(context, builder, z, zc, p, a, ci, slope, ze, M, from_act):  # type: ignore[no-untyped-def]
    """The compensated update of M entries from the pointers given; the pattern from P (``from_act``
    False) or from the bytes of ``act``."""

    def active(k: ir.Value, L: int, ld, zero) -> ir.Value:  # type: ignore[no-untyped-def]
        if not from_act:
            return builder.fcmp_ordered(">=", ld(p), zero)
        if L == 1:
            return builder.icmp_unsigned("!=", builder.load(builder.gep(p, [k])), _c(_I8, 0))
        bt = _vt(L, _I8)
        return builder.icmp_unsigned("!=", builder.load(_vptr(builder, p, k, bt), align=1), ir.Constant(bt, [0] * L))

    def step(k: ir.Value, L: int) -> None:
        vt = _vt(L) if L > 1 else _F64

        def ld(base: ir.Value) -> ir.Value:
            return builder.load(_vptr(builder, base, k, vt) if L > 1 else builder.gep(base, [k]), align=8)

        def st(val: ir.Value, base: ir.Value) -> None:
            builder.store(val, _vptr(builder, base, k, vt) if L > 1 else builder.gep(base, [k]), align=8)

        def sp(x: ir.Value) -> ir.Value:
            return _splat(builder, x, vt) if L > 1 else x

        one = ir.Constant(vt, [1.0] * L) if L > 1 else _c(_F64, 1.0)
        zero = ir.Constant(vt, [0.0] * L) if L > 1 else _c(_F64, 0.0)
        ds = builder.select(active(k, L, ld, zero), one, sp(slope))
        x = builder.fmul(builder.fmul(sp(ci), ld(a)), ds)
        t, zcn = _two_sum_add(builder, ld(z), ld(zc), x)
        st(zcn, zc)
        st(t, z)
        st(builder.fadd(t, zcn), ze)

    _chunks(builder, M, step)
    return context.get_dummy_value()


@intrinsic
def pl_update_row8(typingctx, Z, Zc, P, a, ci, slope, zeff):  # type: ignore[no-untyped-def]
    """``sim.simd.pl_update_row`` in 8-wide code (same bits)."""
    _require("pl_update_row8", *((name, ty, 1, _F) for name, ty in
                                 (("Z", Z), ("Zc", Zc), ("P", P), ("a", a), ("zeff", zeff))))
    return types.void(Z, Zc, P, a, types.float64, types.float64, zeff), _update_codegen8


@intrinsic
def lean_update8(typingctx, Zt, Zct, act, a, ci, slope, zs, i, k0, k1):  # type: ignore[no-untyped-def]
    """``pl_update_act8`` on row i of the (n, M) arrays, neurons k0 <= k < k1, Z + Zc into
    ``zs[i, :k1 - k0]``, without making array views."""
    _require("lean_update8", ("Zt", Zt, 2, _F), ("Zct", Zct, 2, _F), ("act", act, 2, _B), ("a", a, 1, _F),
             ("zs", zs, 2, _F))
    return (types.void(Zt, Zct, act, a, types.float64, types.float64, zs, types.intp, types.intp, types.intp),
            _update_block_codegen)


@intrinsic
def pl_update_act8(typingctx, Z, Zc, act, a, ci, slope, zeff):  # type: ignore[no-untyped-def]
    """``pl_update_row8`` with the pattern read from ``act`` (1 byte an entry, nonzero where P >= 0)
    instead of P itself: the same bits wherever act[k] == (P[k] >= 0)."""
    _require("pl_update_act8", ("Z", Z, 1, _F), ("Zc", Zc, 1, _F), ("act", act, 1, _B), ("a", a, 1, _F),
             ("zeff", zeff, 1, _F))

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        return _update_codegen8(context, builder, sig, args, from_act=True)

    return types.void(Z, Zc, act, a, types.float64, types.float64, zeff), codegen


def _margins_codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
    m0_a = context.make_array(sig.args[0])(context, builder, args[0])
    m0, mt, s, out = (context.make_array(sig.args[j])(context, builder, args[j]).data for j in range(4))
    n = builder.extract_value(m0_a.shape, 0)

    def chunk(i0: ir.Value, L: int) -> None:
        vt = _vt(L) if L > 1 else _F64

        def ptr(base: ir.Value, idx: ir.Value) -> ir.Value:
            return _vptr(builder, base, idx, vt) if L > 1 else builder.gep(base, [idx])

        acc = cgutils.alloca_once_value(builder, builder.load(ptr(m0, i0), align=8))
        with cgutils.for_range(builder, n) as loop:  # i' in order; the partial sums stay in registers
            si = builder.load(builder.gep(s, [loop.index]))
            mm = builder.load(ptr(mt, builder.add(builder.mul(loop.index, n), i0)), align=8)
            prod = builder.fmul(mm, _splat(builder, si, vt) if L > 1 else si)
            builder.store(builder.fadd(builder.load(acc), prod), acc)
        zero = ir.Constant(vt, [0.0] * L) if L > 1 else _c(_F64, 0.0)
        builder.store(builder.fadd(builder.load(acc), zero), ptr(out, i0), align=8)

    _chunks(builder, n, chunk)
    return context.get_dummy_value()


@intrinsic
def frozen_margins(typingctx, m0, MmT, Seff, out):  # type: ignore[no-untyped-def]
    """out[i] = (m0[i] + sum_i' MmT[i', i] Seff[i']) + 0.0, each sum in increasing i', a product then an
    add (no fused multiply-add): ``sim.frozen_kernel._steps_frozen``'s margins, computed for 8, then 4,
    then single entries i at a time with the partial sums held in registers across the whole i' loop
    (``MmT`` is the n x n matrix flattened, C order)."""
    from numba.core.errors import TypingError

    for arg, ty in (("m0", m0), ("MmT", MmT), ("Seff", Seff), ("out", out)):
        if not (isinstance(ty, types.Array) and ty.ndim == 1 and ty.layout == "C" and ty.dtype == types.float64):
            raise TypingError(f"frozen_margins: {arg} must be a 1-D C-contiguous float64 array; got {ty}")
    return types.void(m0, MmT, Seff, out), _margins_codegen
