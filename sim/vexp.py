"""exp over a short array in explicit 8-wide vector code (the frozen-pattern engine's n loss derivatives).

A call of libm's exp cannot be vectorized, and the n = 10 exps of a frozen-pattern step were about a
third of its time.  Here 8 entries at a time go through the same straight-line arithmetic (LLVM IR
through numba's ``@intrinsic``, like ``sim.simd``):

    k = floor(x log2(e) + 1/2),  r = (x - k ln2_hi) - k ln2_lo   (fdlibm's split of ln 2: k ln2_hi is
                                                                  exact for |k| < 2^11),
    exp(x) = p(r) 2^k,  p = 1 + (r + r^2 T(r)), the degree-13 Taylor polynomial (|r| <= ln(2)/2:
                         truncation below 5e-18 relative), T = sum_{j>=2} r^(j-2)/j! by Estrin's scheme
                         (pairs c_2j + c_2j+1 r, then by r^2, r^4, r^8: a dependency chain of 4
                         multiply-adds instead of Horner's 11; the rounding of T is damped by r^2 <= 0.121),
                         2^k built from its exponent bits,

with x first clamped to [-700, 700].  No fused multiply-adds, so the result is the same on every
machine.  Measured: within 1 ulp of libm and of the exact value over [-700, 700]
(tests/sim/test_vexp.py).  Outside [-700, 700] (where 2^k leaves the normal range) and for non-finite x,
libm's exp is used.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core.errors import TypingError
from numba.extending import intrinsic

LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
TAYLOR = [1.0 / math.factorial(j) for j in range(14)]
LIMIT = 700.0
W = 8

_F64 = ir.DoubleType()
_V = ir.VectorType(_F64, W)
_VI = ir.VectorType(ir.IntType(64), W)


def _k(x: float) -> ir.Constant:
    return ir.Constant(_V, [x] * W)


@intrinsic
def _vexp8(typingctx, x, out, lo):  # type: ignore[no-untyped-def]
    """out[lo:lo + 8] = the module's exp of x[lo:lo + 8] (before the fix-up of out-of-range entries)."""
    for arg, ty in (("x", x), ("out", out)):
        if not (isinstance(ty, types.Array) and ty.ndim == 1 and ty.layout == "C" and ty.dtype == types.float64):
            raise TypingError(f"_vexp8: {arg} must be a 1-D C-contiguous float64 array; got {ty}")

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        xp = context.make_array(sig.args[0])(context, builder, args[0]).data
        op = context.make_array(sig.args[1])(context, builder, args[1]).data
        lo_ = args[2]
        xv = builder.load(builder.bitcast(builder.gep(xp, [lo_]), _V.as_pointer()), align=8)
        xv = builder.select(builder.fcmp_ordered("<", xv, _k(-LIMIT)), _k(-LIMIT), xv)
        xv = builder.select(builder.fcmp_ordered(">", xv, _k(LIMIT)), _k(LIMIT), xv)
        floor = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_V, [_V]), "llvm.floor.v8f64")
        k = builder.call(floor, [builder.fadd(builder.fmul(xv, _k(LOG2E)), _k(0.5))])
        r = builder.fsub(builder.fsub(xv, builder.fmul(k, _k(LN2_HI))), builder.fmul(k, _k(LN2_LO)))
        def pair(lo_c: ir.Value, hi_c: ir.Value, x: ir.Value) -> ir.Value:  # lo + hi x
            return builder.fadd(lo_c, builder.fmul(hi_c, x))

        r2 = builder.fmul(r, r)
        r4 = builder.fmul(r2, r2)
        r8 = builder.fmul(r4, r4)
        q = [pair(_k(TAYLOR[2 * j]), _k(TAYLOR[2 * j + 1]), r) for j in range(1, 7)]  # c_2j + c_2j+1 r
        s = [pair(q[0], q[1], r2), pair(q[2], q[3], r2), pair(q[4], q[5], r2)]
        tail = pair(pair(s[0], s[1], r4), s[2], r8)  # sum_{j >= 2} c_j r^(j - 2)
        p = builder.fadd(_k(1.0), builder.fadd(r, builder.fmul(r2, tail)))
        ki = builder.fptosi(k, _VI)  # NaN lanes: garbage, replaced by the caller
        bits = builder.shl(builder.add(ki, ir.Constant(_VI, [1023] * W)), ir.Constant(_VI, [52] * W))
        res = builder.fmul(p, builder.bitcast(bits, _V))
        builder.store(res, builder.bitcast(builder.gep(op, [lo_]), _V.as_pointer()), align=8)
        return context.get_dummy_value()

    return types.void(x, out, types.intp), codegen


@njit(cache=True, inline="always")
def vexp(x: np.ndarray, out: np.ndarray) -> None:
    """out[i] = exp(x[i]) for i < len(out); ``x`` and ``out`` are padded to a multiple of 8 entries (the
    padding of ``x`` must be finite, e.g. 0)."""
    n = out.shape[0]
    for lo in range(0, n, W):
        _vexp8(x, out, lo)
    outside = 0
    for i in range(n):  # an integer reduction: vectorized
        outside |= not (-LIMIT <= x[i] <= LIMIT)
    if outside:
        for i in range(n):
            if not (-LIMIT <= x[i] <= LIMIT):
                out[i] = math.exp(x[i])


@njit(cache=True)
def padded(n: int) -> int:
    """The length of the scratch arrays ``vexp`` needs for n entries."""
    return (n + W - 1) // W * W

