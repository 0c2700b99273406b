"""The vector routines of ``sim.simd`` against plain-Python references of the order each one documents.

Every comparison is bit for bit: the routines exist to make the span engine fast without changing
what it computes.  ``fma`` is computed exactly with fractions (Python's int / int division rounds
correctly), so the references do not depend on any compiler's contraction.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numba import njit

from sim.simd import LANES, PRE_WIDTH, UNROLL, pl_row_pass, pl_row_sum, pl_update_row, preact_row, preact_rows2
from sim.simd_wide import W, pl_row_pass8, pl_row_sum8, pl_update_row8, preact_row8, preact_rows2_8

WIDTHS = [4, 8]  # sim.simd and sim.simd_wide: the same bits (8-wide code runs, split, on a 4-wide machine too)


def fma(a: float, b: float, c: float) -> float:
    return float(Fraction(a) * Fraction(b) + Fraction(c))


def sigma(z: float, slope: float) -> float:
    return z if z >= 0.0 else slope * z


def ref_row_sum(row: np.ndarray, a: np.ndarray, slope: float) -> float:
    """The order of the module docstring: 16 lanes, then the chunks of 4 into lanes 0-3, then the tail."""
    M = len(row)
    blk = LANES * UNROLL
    acc = [[0.0] * LANES for _ in range(UNROLL)]
    nb = M // blk
    for k in range(nb * blk):
        v, j = (k % blk) // LANES, k % LANES
        acc[v][j] = fma(float(a[k]), sigma(float(row[k]), slope), acc[v][j])
    for k in range(nb * blk, M - M % LANES):
        acc[0][k % LANES] = fma(float(a[k]), sigma(float(row[k]), slope), acc[0][k % LANES])
    lane = [(acc[0][j] + acc[1][j]) + (acc[2][j] + acc[3][j]) for j in range(LANES)]
    tail = 0.0
    for k in range(M - M % LANES, M):
        tail = fma(float(a[k]), sigma(float(row[k]), slope), tail)
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + tail


def ref_preact(P0t: np.ndarray, zeff: np.ndarray, G: np.ndarray) -> np.ndarray:
    n, M = zeff.shape
    out = np.empty((n, M))
    for i in range(n):
        for k in range(M):
            acc = float(P0t[i, k])
            for ip in range(n):
                acc = fma(float(zeff[ip, k]), float(G[ip, i]), acc)
            out[i, k] = acc
    return out


def ref_update(Z: np.ndarray, Zc: np.ndarray, P: np.ndarray, a: np.ndarray, ci: float, slope: float):
    """Neumaier's branch, as in ``kernel.kahan_add`` (the routine computes the same e branch-free)."""
    Z, Zc, ze = Z.copy(), Zc.copy(), np.empty_like(Z)
    for k in range(len(Z)):
        x = (ci * float(a[k])) * (1.0 if P[k] >= 0.0 else slope)
        s0 = float(Z[k])
        t = s0 + x
        e = (s0 - t) + x if abs(s0) >= abs(x) else (x - t) + s0
        Zc[k] = float(Zc[k]) + e
        Z[k] = t
        ze[k] = t + Zc[k]
    return Z, Zc, ze


@njit(cache=True)
def _preact_all(P0t: np.ndarray, zeff: np.ndarray, G: np.ndarray, out: np.ndarray, pairs: bool,
                width: int = 4) -> None:
    n = zeff.shape[0]
    if pairs:
        for i in range(0, n - 1, 2):
            if width == 8:
                preact_rows2_8(P0t, zeff, G, i, out)
            else:
                preact_rows2(P0t, zeff, G, i, out)
        if n % 2:
            if width == 8:
                preact_row8(P0t, zeff, G, n - 1, out)
            else:
                preact_row(P0t, zeff, G, n - 1, out)
    else:
        for i in range(n):
            if width == 8:
                preact_row8(P0t, zeff, G, i, out)
            else:
                preact_row(P0t, zeff, G, i, out)


@njit(cache=True)
def _sum(row: np.ndarray, a: np.ndarray, slope: float, width: int = 4) -> float:
    return pl_row_sum8(row, a, slope) if width == 8 else pl_row_sum(row, a, slope)


@njit(cache=True)
def _pass(row: np.ndarray, act: np.ndarray, ch: np.ndarray, last: np.ndarray, a: np.ndarray, slope: float,
          t: int, width: int = 4) -> float:
    if width == 8:
        return pl_row_pass8(row, act, ch, last, a, slope, t)
    return pl_row_pass(row, act, ch, last, a, slope, t)


@njit(cache=True)
def _update(Z: np.ndarray, Zc: np.ndarray, P: np.ndarray, a: np.ndarray, ci: float, slope: float,
            ze: np.ndarray, width: int = 4) -> None:
    if width == 8:
        pl_update_row8(Z, Zc, P, a, ci, slope, ze)
    else:
        pl_update_row(Z, Zc, P, a, ci, slope, ze)


# every tail case of the 16-lane sum and of both pre-activation block widths (32 and 24 lanes)
SHAPES = sorted(set(range(0, 2 * W * max(PRE_WIDTH.values()) + 2)) | {200, 203})


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("M", SHAPES)
@pytest.mark.parametrize("slope", [0.0, 0.1])
def test_row_sum_and_pass_follow_the_documented_order(M: int, slope: float, width: int) -> None:
    rng = np.random.default_rng(M)
    row, a = rng.standard_normal(M), rng.standard_normal(M) / 7
    expect = ref_row_sum(row, a, slope)
    assert _sum(row, a, slope, width) == expect
    old = rng.random(M) < 0.5
    act, ch, last = old.copy(), rng.integers(0, 5, M), rng.integers(-1, 9, M)
    ch0, last0 = ch.copy(), last.copy()
    assert _pass(row, act, ch, last, a, slope, 42, width) == expect
    flipped = (row >= 0) != old
    np.testing.assert_array_equal(act, row >= 0)
    np.testing.assert_array_equal(ch, ch0 + flipped)
    np.testing.assert_array_equal(last, np.where(flipped, 42, last0))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("M", [0, 1, 3, 4, 5, 7, 8, 9, 12, 23, 24, 25, 31, 32, 33, 47, 48, 49, 63, 64, 65, 200])
@pytest.mark.parametrize("n", [1, 2, 3, 10])
def test_preact_rows_are_the_fma_chain(n: int, M: int, width: int) -> None:
    rng = np.random.default_rng(100 * n + M)
    P0t, zeff, G = rng.standard_normal((n, M)), rng.standard_normal((n, M)), rng.standard_normal((n, n))
    expect = ref_preact(P0t, zeff, G)
    for pairs in (False, True):
        out = np.full((n, M), np.nan)
        _preact_all(P0t, zeff, G, out, pairs, width)
        np.testing.assert_array_equal(out, expect)


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=True)


@given(st.lists(st.tuples(finite, finite, finite, finite), min_size=0, max_size=41),
       st.floats(-1e3, 1e3), st.sampled_from([0.0, 0.1, 0.5]), st.sampled_from(WIDTHS))
def test_update_row_is_neumaiers_sum(cols: list[tuple[float, float, float, float]], ci: float,
                                     slope: float, width: int) -> None:
    Z, Zc, P, a = (np.array([c[j] for c in cols], dtype=np.float64) for j in range(4))
    Zc *= 1e-17  # a compensation is tiny against its sum
    eZ, eZc, eze = ref_update(Z, Zc, P, a, ci, slope)
    ze = np.empty_like(Z)
    _update(Z, Zc, P, a, ci, slope, ze, width)
    np.testing.assert_array_equal(Z, eZ)
    np.testing.assert_array_equal(Zc, eZc)
    np.testing.assert_array_equal(ze, eze)


@given(st.lists(st.tuples(finite, finite), min_size=0, max_size=70), st.sampled_from([0.0, 0.1, 0.9]),
       st.sampled_from(WIDTHS))
def test_row_sum_on_arbitrary_values(cols: list[tuple[float, float]], slope: float, width: int) -> None:
    row = np.array([c[0] for c in cols], dtype=np.float64)
    a = np.array([c[1] for c in cols], dtype=np.float64)
    assert _sum(row, a, slope, width) == ref_row_sum(row, a, slope)


@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
@pytest.mark.parametrize("n, m", [(7, 37), (41, 61), (60, 37)])
def test_span_engine_numbers_do_not_depend_on_the_vector_width(act: str, n: int, m: int) -> None:
    """The whole step at width 4 and 8 (the host's width is chosen at import), unblocked (Z + Zc within
    ``kernel.LEAN_ENTRIES``) and lean (beyond it, in blocks with a partial last one): identical arrays."""
    from sim import DataSpec, SimConfig
    from sim.kernel import LEAN_ENTRIES, lean_block
    from sim.simulate import resolve
    from sim.span import SpanState

    assert (n * 2 * m > LEAN_ENTRIES) == (n > 7)  # both paths of run_steps are taken
    assert n == 7 or (lean_block(n, 2 * m) < 2 * m and (2 * m) % lean_block(n, 2 * m) != 0)  # last block partial
    cfg = SimConfig(activation=act, gamma=None if act == "relu" else 0.1, n=n, d=80, m=m, steps=1, seed=3,
                    data=DataSpec(virtual=False))
    states = []
    for width in WIDTHS:
        st_ = SpanState(cfg, *resolve(cfg))
        st_.lanes = width
        assert st_.advance(400) is None
        states.append(st_)
    for name in ("Zt", "Zct", "Pt", "actt", "changest", "last_changet", "acc"):
        np.testing.assert_array_equal(getattr(states[0], name), getattr(states[1], name))


def test_non_contiguous_rows_are_refused() -> None:
    from numba.core.errors import TypingError

    with pytest.raises(TypingError, match="C-contiguous"):
        _sum(np.zeros((4, 4))[:, 0], np.zeros(4), 0.1)


@pytest.mark.parametrize(("n", "M"), [(1, 5), (3, 47), (10, 200), (10, 1001), (101, 130), (100, 97)])
def test_preactivations_blocked_8_wide_equal_the_fma_chain(n: int, M: int) -> None:
    """``kernel.preactivations`` at lanes 8 (8-wide, in blocks of ``lean_block(n, M)`` neurons: more than
    one block where M exceeds it) and at lanes 4: the same bits, each entry the documented FMA chain."""
    from sim import kernel

    rng = np.random.default_rng(7 * n + M)
    P0t, Zt, G = rng.standard_normal((n, M)), rng.standard_normal((n, M)), rng.standard_normal((n, n))
    Zct = 1e-17 * rng.standard_normal((n, M))
    expect = ref_preact(P0t, Zt + Zct, G) if n * n * M <= 200_000 else None
    outs = []
    for lanes in (4, 8):
        out = np.full((n, M), np.nan)
        kernel.preactivations(P0t, Zt, Zct, G, out, lanes)
        outs.append(out)
    np.testing.assert_array_equal(outs[0], outs[1])
    if expect is not None:
        np.testing.assert_array_equal(outs[1], expect)
    if (n, M) in ((10, 1001), (101, 130), (100, 97)):  # more than one block of neurons
        assert M > kernel.lean_block(n, M)
