"""The lean span step (``kernel._step_lean8``: one pass over the state a step, block by block of neurons,
P never stored) against the unblocked step and the documented orders, bit for bit.

Its pieces: ``lean_update8`` (the update with the pattern read from ``act``), ``preact_rows2_8_scratch`` /
``preact_row8_scratch`` (P on a block, G transposed), and the row pass cut into pieces whose 16 lanes are
carried from block to block (``lean_row_start8`` / ``_carry8`` / ``_end8``).  8-wide code runs, split, on
a 4-wide machine too, so all of this is tested everywhere.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from sim import kernel
from sim.simd_wide import (
    lean_row_carry8,
    lean_row_end8,
    lean_row_start8,
    lean_row_whole8,
    lean_update8,
    preact_row8_scratch,
    preact_rows2_8_scratch,
)
from tests.sim.test_simd import ref_preact, ref_row_sum, ref_update


@njit(cache=True)
def _pieces(ps: np.ndarray, act: np.ndarray, ch: np.ndarray, last: np.ndarray, a: np.ndarray, slope: float,
            t: int, racc: np.ndarray, cuts: np.ndarray) -> float:
    """Row 0's pass in the pieces [cuts[j], cuts[j + 1]), each piece's P entries from ps's column 0."""
    M = act.shape[1]
    if len(cuts) == 2:
        return lean_row_whole8(ps, act, ch, last, a, slope, t, racc, 0, 0, M)
    total = 0.0
    for j in range(len(cuts) - 1):
        k0, k1 = cuts[j], cuts[j + 1]
        ps[0, :k1 - k0] = ps[1, k0:k1]  # the piece's entries, as _step_lean8 leaves them
        if j == 0:
            lean_row_start8(ps, act, ch, last, a, slope, t, racc, 0, k0, k1)
        elif k1 < M:
            lean_row_carry8(ps, act, ch, last, a, slope, t, racc, 0, k0, k1)
        else:
            total = lean_row_end8(ps, act, ch, last, a, slope, t, racc, 0, k0, k1)
    return total


@pytest.mark.parametrize("M", [1, 15, 16, 17, 31, 32, 47, 48, 50, 63, 64, 65, 100, 203])
@pytest.mark.parametrize("slope", [0.0, 0.1])
def test_row_pass_in_pieces_is_the_whole_rows_sum(M: int, slope: float) -> None:
    """Every way of cutting the row at multiples of 16 (up to three cuts) gives the documented 16-lane sum
    and the same bookkeeping as one pass; the lanes are carried in ``racc``, whatever it held before."""
    rng = np.random.default_rng(M)
    row, a = rng.standard_normal(M), rng.standard_normal(M) / 7
    expect = ref_row_sum(row, a, slope)
    inner = list(range(16, M, 16))
    cut_sets = [[0, M]] + [[0, c, M] for c in inner] + [[0, c, d, M] for c in inner for d in inner if d > c][:12]
    for cuts in cut_sets:
        ps = np.full((2, M), np.nan)
        ps[1] = row
        if len(cuts) == 2:
            ps[0] = row
        old = rng.random((1, M)) < 0.5
        act, ch, last = old.copy(), rng.integers(0, 5, (1, M)), rng.integers(-1, 9, (1, M))
        ch0, last0 = ch.copy(), last.copy()
        racc = rng.standard_normal((1, 16))  # stale lanes: "start" must not read them
        assert _pieces(ps, act, ch, last, a, slope, 42, racc, np.array(cuts)) == expect, cuts
        flipped = (row >= 0) != old[0]
        np.testing.assert_array_equal(act[0], row >= 0)
        np.testing.assert_array_equal(ch[0], ch0[0] + flipped)
        np.testing.assert_array_equal(last[0], np.where(flipped, 42, last0[0]))


def test_a_stale_carry_changes_the_sum() -> None:
    """The carried lanes are really read, each once: adding 1e-3 to a lane in ``racc`` between the pieces
    moves the sum by 1e-3 (the test above could not pass with the lanes ignored)."""
    rng = np.random.default_rng(5)
    M = 64
    row, a = rng.standard_normal(M), rng.standard_normal(M)
    act, ch, last = np.zeros((1, M), np.bool_), np.zeros((1, M), np.int64), np.zeros((1, M), np.int64)
    racc = np.zeros((1, 16))
    ps = np.zeros((1, M))
    ps[0, :32] = row[:32]
    lean_start(ps, act, ch, last, a, racc, 0, 32)
    ps2 = np.zeros((1, M))
    ps2[0, :32] = row[32:]
    clean = lean_end(ps2, act.copy(), ch.copy(), last.copy(), a, racc.copy(), 32, 64)
    racc[0, 11] += 1e-3
    planted = lean_end(ps2, act.copy(), ch.copy(), last.copy(), a, racc, 32, 64)
    assert clean == ref_row_sum(row, a, 0.1)
    assert abs((planted - clean) - 1e-3) < 1e-12


@njit(cache=True)
def lean_start(ps, act, ch, last, a, racc, k0, k1):  # type: ignore[no-untyped-def]
    return lean_row_start8(ps, act, ch, last, a, 0.1, 3, racc, 0, k0, k1)


@njit(cache=True)
def lean_end(ps, act, ch, last, a, racc, k0, k1):  # type: ignore[no-untyped-def]
    return lean_row_end8(ps, act, ch, last, a, 0.1, 3, racc, 0, k0, k1)


@njit(cache=True)
def _update_block(Zt, Zct, act, a, ci, slope, zs, i, k0, k1):  # type: ignore[no-untyped-def]
    lean_update8(Zt, Zct, act, a, ci, slope, zs, i, k0, k1)


@pytest.mark.parametrize(("M", "k0", "k1"), [(1, 0, 1), (40, 0, 40), (40, 16, 33), (100, 48, 100), (203, 96, 203)])
def test_update_block_is_neumaiers_sum_with_the_pattern_from_act(M: int, k0: int, k1: int) -> None:
    rng = np.random.default_rng(M + k0)
    n, i, ci, slope = 3, 1, -0.37, 0.1
    Zt, P = rng.standard_normal((n, M)), rng.standard_normal((n, M))
    Zct = 1e-17 * rng.standard_normal((n, M))
    a = rng.standard_normal(M)
    eZ, eZc, eze = ref_update(Zt[i, k0:k1], Zct[i, k0:k1], P[i, k0:k1], a[k0:k1], ci, slope)
    Z1, Zc1, zs = Zt.copy(), Zct.copy(), np.full((n, k1 - k0 + 5), np.nan)
    _update_block(Z1, Zc1, P >= 0, a, ci, slope, zs, i, k0, k1)
    np.testing.assert_array_equal(Z1[i, k0:k1], eZ)
    np.testing.assert_array_equal(Zc1[i, k0:k1], eZc)
    np.testing.assert_array_equal(zs[i, :k1 - k0], eze)
    untouched = np.ones((n, M), bool)
    untouched[i, k0:k1] = False
    np.testing.assert_array_equal(Z1[untouched], Zt[untouched])
    np.testing.assert_array_equal(Zc1[untouched], Zct[untouched])
    assert np.isnan(zs[np.arange(n) != i]).all() and np.isnan(zs[i, k1 - k0:]).all()
    # the pattern is act's, not P's: a flipped byte changes that entry's step (slope against 1)
    flip = (P >= 0).copy()
    flip[i, k0] = ~flip[i, k0]
    Z2, Zc2 = Zt.copy(), Zct.copy()
    _update_block(Z2, Zc2, flip, a, ci, slope, zs, i, k0, k1)
    assert Z2[i, k0] != Z1[i, k0]


@njit(cache=True)
def _preact_block(P0t, zs, GT, ps, k0, kb):  # type: ignore[no-untyped-def]
    n = zs.shape[0]
    for i in range(0, n - 1, 2):
        preact_rows2_8_scratch(P0t, zs, GT, i, ps, k0, kb)
    if n % 2:
        preact_row8_scratch(P0t, zs, GT, n - 1, ps, k0, kb)


@pytest.mark.parametrize(("n", "M", "k0", "kb"), [(1, 9, 0, 9), (2, 60, 16, 33), (3, 100, 48, 52), (10, 203, 96, 107)])
def test_preact_on_a_block_is_the_fma_chain(n: int, M: int, k0: int, kb: int) -> None:
    rng = np.random.default_rng(n * M)
    P0t, Zeff, G = rng.standard_normal((n, M)), rng.standard_normal((n, M)), rng.standard_normal((n, n))
    expect = ref_preact(P0t, Zeff, G)[:, k0:k0 + kb]
    zs = np.full((n, kb + 3), np.nan)
    zs[:, :kb] = Zeff[:, k0:k0 + kb]
    ps = np.full((n, kb + 3), np.nan)
    _preact_block(P0t, zs, np.ascontiguousarray(G.T), ps, k0, kb)
    np.testing.assert_array_equal(ps[:, :kb], expect)
    assert np.isnan(ps[:, kb:]).all()


@pytest.mark.parametrize("n", [1, 3, 10, 41, 100])
@pytest.mark.parametrize("M", [1, 47, 100, 203, 2000])
def test_lean_block(n: int, M: int) -> None:
    """A multiple of 16, at least 48, and no more blocks than Z + Zc in pieces of ``LEAN_ENTRIES`` need."""
    bk = kernel.lean_block(n, M)
    nb = -(-M // bk)
    assert bk % 16 == 0 and bk >= 48
    assert nb == 1 or n * bk <= kernel.LEAN_ENTRIES + 16 * n or bk == 48
    assert nb <= max(1, -(-n * M // kernel.LEAN_ENTRIES))


def _state(n: int, M: int, seed: int, kind: int, loss: int, eta: float) -> list:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3 * n + 5)) / np.sqrt(3 * n + 5)
    G = X @ X.T
    P0t = 0.3 * rng.standard_normal((n, M))
    a = rng.choice([-1.0, 1.0], M) / np.sqrt(M)
    y = rng.choice([-1.0, 1.0], n)
    Pt = P0t.copy()
    act = np.empty((n, M), np.bool_)
    kernel.pattern(Pt, act)
    return [P0t, G, a, y, eta, kind, 0.05, loss, np.zeros((n, M)), np.zeros((n, M)), Pt, act,
            np.zeros((n, M), np.int64), np.full((n, M), -1, np.int64), np.zeros(2)]


def _run(state: list, steps: int, lanes: int, lean: int) -> tuple[int, list]:
    s = [x.copy() if isinstance(x, np.ndarray) else x for x in state]
    return kernel.run_steps(*s, 0, steps, lanes, lean), s


@pytest.mark.parametrize(("n", "M"), [(1, 30), (2, 200), (3, 1001), (7, 400), (10, 200), (11, 2001), (41, 130),
                                      (100, 97)])
@pytest.mark.parametrize("kind", [kernel.RELU, kernel.LEAKY_RELU])
def test_lean_steps_are_the_unblocked_steps(n: int, M: int, kind: int) -> None:
    """60 steps with pattern changes, lean (one block or several, the last partial) against unblocked 8-wide
    and 4-wide: every array identical, P (stored at the last step) included."""
    state = _state(n, M, 13 * n + M, kind, kernel.LOGISTIC, 4.0)
    runs = [_run(state, 60, lanes, lean) for lanes, lean in ((4, 0), (8, 0), (8, 1), (8, -1))]
    assert runs[0][1][12].sum() > 0  # the pattern changed: the bookkeeping is exercised
    for r, s in runs[1:]:
        assert r == runs[0][0] == -1
        for x, y in zip(runs[0][1], s, strict=True):
            if isinstance(x, np.ndarray):
                np.testing.assert_array_equal(x, y)


def test_lean_steps_stop_where_the_unblocked_steps_diverge() -> None:
    """A diverging run (exponential loss, a huge step): the same step returned and the same state, P
    included, with and without the lean step."""
    state = _state(10, 400, 3, kernel.LEAKY_RELU, kernel.EXPONENTIAL, 1e-3)
    X = np.random.default_rng(1).standard_normal((10, 3))
    state[1], state[2] = X @ X.T, np.sign(state[2])  # correlated points, second layer +-1: it blows up
    (r0, s0), (r1, s1) = _run(state, 500, 8, 0), _run(state, 500, 8, 1)
    assert r0 == r1 == 2  # after two lean steps
    for x, y in zip(s0, s1, strict=True):
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)


def test_a_divergence_at_the_first_step_leaves_the_callers_P() -> None:
    """Non-finite margins at t_start: no step ran, and every path returns the caller's Pt untouched (here
    one entry -0.0, which P0 + 0 G would turn into +0.0: a recomputation would show)."""
    state = _state(3, 700, 0, kernel.LEAKY_RELU, kernel.LOGISTIC, 1.0)
    state[0][0, 5], state[0][2, 9] = -0.0, np.inf
    state[10] = state[0].copy()
    runs = [_run(state, 5, lanes, lean) for lanes, lean in ((4, 0), (8, 0), (8, 1))]
    for r, s in runs:
        assert r == 0
        np.testing.assert_array_equal(s[10].view(np.int64), state[0].view(np.int64))
