"""Compiled inner loop of the span engine (``../shared/notes/gram-space.md`` §1).

The state of GD is the coefficient matrix Z: Z[k, i] is the raw coefficient of neuron k on data point i,
``w_k(t) = w_k(0) + sum_i Z[k, i] x_i``.  The kernel stores every (neuron, point) array transposed, as
(n, M) with the neurons innermost (``Zt[i, k] = Z[k, i]``): the long, contiguous neuron axis is what is
vectorized.  For ReLU and leaky ReLU the three passes of a step (coefficient update, pre-activations,
outputs with the pattern bookkeeping) are explicit vector code (``sim.simd``), each in a documented
fixed order, bit for bit what the plain loops compute (tested).  Where Z + Zc takes more than 16 KB
(n M > ``LEAN_ENTRIES``), 8-wide machines run the steps of a call of more than one step with the three
passes fused, block by block of neurons, P stored only at the call's last step (``_step_lean8``): each
state entry is read and written once a step, and the numbers stay the same.
KCG's coefficients (Def. 5.1) are ``rho[k, i] = Z[k, i] * ||x_i||^2``.  Pre-activations are recomputed
from the state at every step, ``P = P0 + Z G``, so the only accumulated quantity is ``Z`` itself, and it
is accumulated with Neumaier's compensated summation (``Z`` + its compensation ``Zc``; notes §5): over
10^8 steps of tiny increments plain float64 accumulation would drift, the compensated sum stays within a
few ulps.

One GD step (KCG eq. 3.2, written for a general second layer ``a_k``):

    Z[k, i] += -(eta / n) * l'(y_i f_i) * y_i * a_k * sigma'(P[k, i])

With KCG's ``a_k = j / m`` this is exactly (3.2) and (5.3)-(5.5).

Activation codes: 0 ReLU, 1 leaky ReLU max(gamma z, z), 2 smoothed leaky
gamma z + (1 - gamma) log(1 + e^z) (FVB).  sigma'(0) = 1 for ReLU and leaky ReLU (KCG's convention).
Loss codes: 0 logistic log(1 + e^{-z}), 1 exponential e^{-z}.

The pattern tracked at every step is ``P[k, i] >= 0`` (the set where sigma' = 1 for the
piecewise-linear activations).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .simd import pl_row_pass, pl_row_sum, pl_update_row, preact_row, preact_rows2
from .simd_wide import (
    lean_row_carry8,
    lean_row_end8,
    lean_row_start8,
    lean_row_whole8,
    lean_update8,
    pl_row_pass8,
    pl_update_act8,
    preact_row8,
    preact_row8_scratch,
    preact_rows2_8,
    preact_rows2_8_scratch,
)

RELU, LEAKY_RELU, SMOOTH_LEAKY = 0, 1, 2
LOGISTIC, EXPONENTIAL = 0, 1


@njit(cache=True, inline="always")
def sigma(z: float, kind: int, gamma: float) -> float:
    if kind == RELU:
        return z if z >= 0.0 else 0.0
    if kind == LEAKY_RELU:
        return z if z >= 0.0 else gamma * z
    sp = z + math.log1p(math.exp(-z)) if z > 0.0 else math.log1p(math.exp(z))
    return gamma * z + (1.0 - gamma) * sp


@njit(cache=True, inline="always")
def dsigma(z: float, kind: int, gamma: float) -> float:
    if kind == RELU:
        return 1.0 if z >= 0.0 else 0.0
    if kind == LEAKY_RELU:
        return 1.0 if z >= 0.0 else gamma
    if z >= 0.0:
        s = 1.0 / (1.0 + math.exp(-z))
    else:
        e = math.exp(z)
        s = e / (1.0 + e)
    return gamma + (1.0 - gamma) * s


@njit(cache=True, inline="always")
def loss(z: float, kind: int) -> float:
    if kind == LOGISTIC:
        return math.log1p(math.exp(-z)) if z > 0.0 else -z + math.log1p(math.exp(z))
    return math.exp(-z)


@njit(cache=True, inline="always")
def dloss(z: float, kind: int) -> float:
    """l'(z) <= 0."""
    if kind == LOGISTIC:
        if z >= 0.0:
            e = math.exp(-z)
            return -e / (1.0 + e)
        return -1.0 / (1.0 + math.exp(z))
    return -math.exp(-z)


@njit(cache=True)
def losses(margins: np.ndarray, kind: int, lo: np.ndarray, lp: np.ndarray) -> None:
    """lo[i] = l(margins[i]) and lp[i] = l'(margins[i]) (``loss``, ``dloss``): one call for a checkpoint's n
    points, not 2 n."""
    for i in range(margins.shape[0]):
        lo[i] = loss(margins[i], kind)
        lp[i] = dloss(margins[i], kind)


@njit(cache=True, inline="always")
def kahan_add(s: np.ndarray, c: np.ndarray, idx: tuple, x: float) -> None:
    """Neumaier compensated s[idx] += x, the running error in c[idx]; the value is s + c."""
    a = s[idx]
    t = a + x
    if abs(a) >= abs(x):
        c[idx] += (a - t) + x
    else:
        c[idx] += (x - t) + a
    s[idx] = t


@njit(cache=True)
def preactivations(P0t: np.ndarray, Zt: np.ndarray, Zct: np.ndarray, G: np.ndarray, out: np.ndarray,
                   lanes: int) -> None:
    """out = (P0 + (Z + Zc) G)^T in the (n, M) layout (the engine's single source of P).  ``lanes`` 8:
    8-wide, block by block of neurons as ``_step_lean8`` computes P (``_preact_lean8``); the same bits
    either way."""
    n, M = Zt.shape
    if lanes == 8:
        _preact_lean8(P0t, Zt, Zct, np.ascontiguousarray(G.T), out, lean_block(n, M))
        return
    zeff = np.empty((n, M))
    for ip in range(n):
        for k in range(M):
            zeff[ip, k] = Zt[ip, k] + Zct[ip, k]
    _preact(P0t, zeff, G, out)


@njit(cache=True)
def _preact_lean8(P0t: np.ndarray, Zt: np.ndarray, Zct: np.ndarray, GT: np.ndarray, out: np.ndarray, bk: int) -> None:
    """``_preact`` in 8-wide code, block by block of ``bk`` neurons: the block's Z + Zc into a scratch
    (n, bk), every row of P on the block from it (``_preact_rows8``), then copied into ``out``.  Every
    entry by the same operations in the same order: the same bits."""
    n, M = Zt.shape
    zs, ps = np.empty((n, bk)), np.empty((n, bk))
    for k0 in range(0, M, bk):
        k1 = min(M, k0 + bk)
        for ip in range(n):
            for k in range(k0, k1):
                zs[ip, k - k0] = Zt[ip, k] + Zct[ip, k]
        _preact_rows8(P0t, zs, GT, ps, k0, k1)
        for i in range(n):
            out[i, k0:k1] = ps[i, :k1 - k0]


@njit(cache=True, fastmath={"contract"})
def _preact_rows8(P0t: np.ndarray, zs: np.ndarray, GT: np.ndarray, ps: np.ndarray, k0: int, k1: int) -> None:
    """Every row of P on the neurons k0 <= k < k1 into ``ps``, rows in pairs (8-wide, G transposed)."""
    n = zs.shape[0]
    for i in range(0, n - 1, 2):
        preact_rows2_8_scratch(P0t, zs, GT, i, ps, k0, k1 - k0)
    if n % 2:
        preact_row8_scratch(P0t, zs, GT, n - 1, ps, k0, k1 - k0)


@njit(cache=True, fastmath={"contract"})
def _preact(P0t: np.ndarray, zeff: np.ndarray, G: np.ndarray, out: np.ndarray) -> None:
    """out = P0^T + (zeff^T G)^T, summed over i' in a fixed order.  FMA contraction is the only fast-math
    licence: nothing is reassociated."""
    n = zeff.shape[0]
    for i in range(0, n - 1, 2):
        preact_rows2(P0t, zeff, G, i, out)
    if n % 2:
        preact_row(P0t, zeff, G, n - 1, out)


@njit(cache=True, fastmath={"contract"})
def outputs(Pt: np.ndarray, a: np.ndarray, kind: int, gamma: float, out: np.ndarray) -> None:
    """out[i] = f(W, x_i) = sum_k a_k sigma(P[k, i]) in a fixed summation order: for ReLU / leaky ReLU
    the vector code of ``sim.simd`` (the same routine ``_preact_fused`` runs inside the step loop, so a
    run's numbers do not depend on where its checkpoints split the steps)."""
    n, M = Pt.shape
    for i in range(n):
        acc = 0.0
        if kind == SMOOTH_LEAKY:
            for k in range(M):
                acc += a[k] * sigma(Pt[i, k], kind, gamma)
        else:
            acc = pl_row_sum(Pt[i], a, 0.0 if kind == RELU else gamma)
        out[i] = acc


@njit(cache=True)
def pattern(Pt: np.ndarray, out: np.ndarray) -> None:
    n, M = Pt.shape
    for i in range(n):
        for k in range(M):
            out[i, k] = Pt[i, k] >= 0.0


@njit(cache=True)
def changed_since(last_change: np.ndarray, since: int) -> int:
    """How many entries last changed after step ``since`` (``last_change > since``, counted without a
    temporary: the auto engine asks this every quiet period)."""
    count = 0
    for v in last_change.ravel():
        count += v > since
    return count


@njit(cache=True)
def _update(Zt: np.ndarray, Zct: np.ndarray, Pt: np.ndarray, act: np.ndarray, c: np.ndarray, a: np.ndarray,
            kind: int, gamma: float, zeff: np.ndarray, lanes: int) -> None:
    """Z[k, i] += c_i a_k sigma'(P[k, i]) with Neumaier compensation (``kahan_add``; for ReLU / leaky
    ReLU the vector code ``sim.simd.pl_update_row``, which computes the same correction branch-free, and
    at 8 lanes ``pl_update_act8``, which reads the pattern from ``act`` (== P >= 0): 1 byte an entry, not
    8, the same bits); ``zeff`` receives the compensated value Z + Zc."""
    n, M = Zt.shape
    for i in range(n):
        ci = c[i]
        if kind == SMOOTH_LEAKY:
            for k in range(M):
                kahan_add(Zt, Zct, (i, k), ci * a[k] * dsigma(Pt[i, k], kind, gamma))
                zeff[i, k] = Zt[i, k] + Zct[i, k]
            continue
        if lanes == 8:
            pl_update_act8(Zt[i], Zct[i], act[i], a, ci, 0.0 if kind == RELU else gamma, zeff[i])
        else:
            pl_update_row(Zt[i], Zct[i], Pt[i], a, ci, 0.0 if kind == RELU else gamma, zeff[i])


@njit(cache=True, fastmath={"contract"})
def _preact_fused(P0t: np.ndarray, zeff: np.ndarray, G: np.ndarray, out: np.ndarray, a: np.ndarray, kind: int,
                  gamma: float, act: np.ndarray, changes: np.ndarray, last_change: np.ndarray, t: int,
                  f: np.ndarray, lanes: int) -> None:
    """``_preact`` fused with what reads each new row while it is hot: the pattern bookkeeping of step t
    (every (k, i) whose 1(P >= 0) changed: ``changes`` += 1, ``last_change`` = t) and, for ReLU / leaky
    ReLU, the outputs f(W(t), x_i) -- both in one vector pass over the row (``sim.simd.pl_row_pass``,
    the same summation as ``outputs``)."""
    n, M = zeff.shape
    slope = 0.0 if kind == RELU else gamma
    for i in range(n):
        if i % 2 == 0:  # rows i, i + 1 together (each load of zeff feeds both)
            if lanes == 8:
                if i + 1 < n:
                    preact_rows2_8(P0t, zeff, G, i, out)
                else:
                    preact_row8(P0t, zeff, G, i, out)
            elif i + 1 < n:
                preact_rows2(P0t, zeff, G, i, out)
            else:
                preact_row(P0t, zeff, G, i, out)
        if kind != SMOOTH_LEAKY:
            if lanes == 8:
                f[i] = pl_row_pass8(out[i], act[i], changes[i], last_change[i], a, slope, t)
            else:
                f[i] = pl_row_pass(out[i], act[i], changes[i], last_change[i], a, slope, t)
            continue
        for k in range(M):
            now = out[i, k] >= 0.0
            if now != act[i, k]:
                act[i, k] = now
                changes[i, k] += 1
                last_change[i, k] = t
    if kind == SMOOTH_LEAKY:
        outputs(out, a, kind, gamma, f)


@njit(cache=True, fastmath={"contract"})
def _step_lean8(P0t: np.ndarray, zs: np.ndarray, ps: np.ndarray, GT: np.ndarray, Zt: np.ndarray, Zct: np.ndarray,
                c: np.ndarray, a: np.ndarray, slope: float, act: np.ndarray, changes: np.ndarray,
                last_change: np.ndarray, t: int, f: np.ndarray, racc: np.ndarray, bk: int,
                Pt: np.ndarray, store: bool) -> None:
    """One step in a single pass over the state, block by block of ``bk`` neurons (a multiple of 16), P
    stored only with ``store``: for each block, the update of every row reading the pattern from ``act`` (the pattern
    of P(t)) and writing Z + Zc to the scratch ``zs`` (n, bk); then, a pair of rows at a time
    (``_lean_rows``), those rows of P(t + 1) on the block into the scratch ``ps`` (n, bk) and straight
    away their row pass, whose 16 lanes are carried from block to block in ``racc`` (n, 16).  Each state
    entry is read and written once a step; the scratches take n bk entries each (16 KB for n <= 42, up to
    38 KB at n = 100, where the n^2 M pre-activation work dominates anyway).
    Every entry is computed by the same operations and every row sum in the same order as ``_update`` +
    ``_preact_fused``: the same bits (tested), given ``act`` == (P(t) >= 0) on entry, which ``run_steps``
    documents.  With ``store`` (a call's last step), P(t + 1) is copied into ``Pt`` too."""
    n, M = Zt.shape
    for k0 in range(0, M, bk):
        k1 = min(M, k0 + bk)
        for i in range(n):
            lean_update8(Zt, Zct, act, a, c[i], slope, zs, i, k0, k1)
        mode = (0 if k1 == M else 1) if k0 == 0 else (3 if k1 == M else 2)
        _lean_rows(P0t, zs, GT, ps, k0, k1, a, act, changes, last_change, slope, t, racc, f, mode)
        if store:  # the last step of a call: P(t + 1) kept, as the caller's Pt
            for i in range(n):
                Pt[i, k0:k1] = ps[i, :k1 - k0]


@njit(cache=True, fastmath={"contract"})
def _lean_rows(P0t: np.ndarray, zs: np.ndarray, GT: np.ndarray, ps: np.ndarray, k0: int, k1: int, a: np.ndarray,
               act: np.ndarray, changes: np.ndarray, last_change: np.ndarray, slope: float, t: int,
               racc: np.ndarray, f: np.ndarray, mode: int) -> None:
    """The rows of ``_step_lean8`` on the neurons k0 <= k < k1, a pair at a time (the last row of odd n
    alone): P(t + 1) into ``ps``, then straight away the row pass of those rows, on their first piece
    (``mode`` 1), a middle one (2), their last (3, which sets f) or whole (0).  A function of its own,
    apart from the update's loop: in one function with it, LLVM compiled these vector loops ~1.5x slower
    (measured at n = 10, M = 100)."""
    n = zs.shape[0]
    for i in range(0, n, 2):
        pair = i + 1 < n
        if pair:
            preact_rows2_8_scratch(P0t, zs, GT, i, ps, k0, k1 - k0)
        else:
            preact_row8_scratch(P0t, zs, GT, i, ps, k0, k1 - k0)
        for ir in range(i, i + 2 if pair else i + 1):
            if mode == 1:
                lean_row_start8(ps, act, changes, last_change, a, slope, t, racc, ir, k0, k1)
            elif mode == 2:
                lean_row_carry8(ps, act, changes, last_change, a, slope, t, racc, ir, k0, k1)
            elif mode == 0:
                f[ir] = lean_row_whole8(ps, act, changes, last_change, a, slope, t, racc, ir, k0, k1)
            else:
                f[ir] = lean_row_end8(ps, act, changes, last_change, a, slope, t, racc, ir, k0, k1)


LEAN_ENTRIES = 2048  # n x M of one block of _step_lean8: its Z + Zc in 16 KB, a third of the level-1 cache


@njit(cache=True)
def lean_block(n: int, M: int) -> int:
    """Neurons per block of ``_step_lean8`` (and ``_preact_lean8``): M cut into ceil(n M / ``LEAN_ENTRIES``)
    about equal pieces, the piece rounded up to a multiple of 16 (the row pass's carried lanes) and to at
    least 48 (the pre-activation pass's widest block).  So a block can exceed ``LEAN_ENTRIES`` / n by up to
    15 neurons, for n > 42 it is always 48, and the last block takes what is left (1 to bk neurons)."""
    nb = max(1, (n * M + LEAN_ENTRIES - 1) // LEAN_ENTRIES)
    return max(48, ((M + nb - 1) // nb + 15) // 16 * 16)


@njit(cache=True)
def run_steps(
    P0t: np.ndarray,
    G: np.ndarray,
    a: np.ndarray,
    y: np.ndarray,
    eta: float,
    act_kind: int,
    gamma: float,
    loss_kind: int,
    Zt: np.ndarray,
    Zct: np.ndarray,
    Pt: np.ndarray,
    act: np.ndarray,
    changes: np.ndarray,
    last_change: np.ndarray,
    acc: np.ndarray,
    t_start: int,
    n_steps: int,
    lanes: int,
    lean: int,
) -> int:
    """Advance GD from step ``t_start`` by ``n_steps`` steps, in place (all (n, M) arrays transposed).

    On entry ``Pt`` holds P(t_start) as ``preactivations`` computes it from Z and Zc, and ``act`` the
    pattern at t_start.  On exit they hold the values
    at the returned step.  Every pattern change at step t (pattern(t) != pattern(t-1)) increments
    ``changes[i, k]`` and sets ``last_change[i, k] = t``.  ``acc`` (2,) accumulates (compensated, value +
    compensation) S = sum_s G_hat(W(s)), G_hat = (1/n) sum_i -l'(y_i f_i): FVB's (17)-(19) need it at
    every step, which a checkpoint cannot give.

    Returns ``-1`` when all steps ran, else the step t at which a margin or a loss derivative was
    non-finite (the run diverged; the state is left at that step).  ``lanes`` (4 or 8) picks the width
    of the vector code (``sim.simd`` or ``sim.simd_wide``): the same numbers, bit for bit.

    With 8 lanes and ReLU / leaky ReLU, the update reads the pattern of P(t) from ``act`` (which must
    hold P(t) >= 0 on entry), and, for more than one step, where Z + Zc takes more than ``LEAN_ENTRIES``
    entries (``lean`` -1: this rule; 1: always, 0: never), the steps are ``_step_lean8``'s, which store P only at
    the last step (or recompute it, on a divergence after the first step): again the same bits (tested).
    Measured on one core (AVX-512, n = 10 to 100, m = 50 to 1000, in-regime data; 2026-12-07), the lean
    step ran 1.03-2.14x as fast as the unblocked one where n M > ``LEAN_ENTRIES`` and 0.75-0.89x where
    n M <= 2000 (hence the threshold).
    """
    n = Zt.shape[0]
    f = np.empty(n)
    c = np.empty(n)
    outputs(Pt, a, act_kind, gamma, f)
    M = Zt.shape[1]
    pl8 = lanes == 8 and act_kind != SMOOTH_LEAKY
    use_lean = pl8 and n_steps > 1 and (lean == 1 or (lean < 0 and n * M > LEAN_ENTRIES))
    bkl = lean_block(n, M) if use_lean else 0
    GT = np.ascontiguousarray(G.T) if use_lean else G
    zs, ps, racc = np.empty((n, bkl)), np.empty((n, bkl)), np.empty((n, 16))
    zeff = np.empty((n, 0 if use_lean else M))
    slope = 0.0 if act_kind == RELU else gamma
    for s in range(n_steps):
        t = t_start + s
        gsum = 0.0
        for i in range(n):
            marg = y[i] * f[i]
            lp = dloss(marg, loss_kind)
            if not (math.isfinite(marg) and math.isfinite(lp)):
                if use_lean and s > 0:  # P(t) was not stored (at s = 0 Pt is still the caller's)
                    preactivations(P0t, Zt, Zct, G, Pt, lanes)
                return t
            c[i] = -(eta / n) * lp * y[i]
            gsum -= lp
        g, s0 = gsum / n, acc[0]  # Neumaier: acc[0] + acc[1] is the sum
        s1 = s0 + g
        acc[1] += ((s0 - s1) + g) if abs(s0) >= abs(g) else ((g - s1) + s0)
        acc[0] = s1
        if use_lean:
            _step_lean8(P0t, zs, ps, GT, Zt, Zct, c, a, slope, act, changes, last_change, t + 1, f, racc, bkl,
                        Pt, s == n_steps - 1)
            continue
        _update(Zt, Zct, Pt, act, c, a, act_kind, gamma, zeff, lanes)
        _preact_fused(P0t, zeff, G, Pt, a, act_kind, gamma, act, changes, last_change, t + 1, f, lanes)
    return -1


@njit(cache=True)
def run_batch(P0t: np.ndarray, G: np.ndarray, a: np.ndarray, y: np.ndarray, eta: np.ndarray,
              gamma: np.ndarray, act_kind: int, loss_kind: int, Zt: np.ndarray, Zct: np.ndarray,
              Pt: np.ndarray, act: np.ndarray, changes: np.ndarray, last_change: np.ndarray,
              acc: np.ndarray, diverged: np.ndarray, skip: np.ndarray, t_start: int, n_steps: int,
              lanes: int) -> None:
    """``run_steps`` for B configurations stacked on a leading axis, in one compiled call.

    A configuration with ``diverged[b] >= 0`` or ``skip[b]`` is left untouched; one that diverges now
    records the step.
    """
    for b in range(Zt.shape[0]):
        if diverged[b] >= 0 or skip[b]:
            continue
        bad = run_steps(P0t[b], G[b], a[b], y[b], eta[b], act_kind, gamma[b], loss_kind, Zt[b], Zct[b],
                        Pt[b], act[b], changes[b], last_change[b], acc[b], t_start, n_steps, lanes, -1)
        if bad >= 0:
            diverged[b] = bad


@njit(cache=True, parallel=True)
def run_batch_threads(P0t: np.ndarray, G: np.ndarray, a: np.ndarray, y: np.ndarray, eta: np.ndarray,
                      gamma: np.ndarray, act_kind: int, loss_kind: int, Zt: np.ndarray, Zct: np.ndarray,
                      Pt: np.ndarray, act: np.ndarray, changes: np.ndarray, last_change: np.ndarray,
                      acc: np.ndarray, diverged: np.ndarray, skip: np.ndarray, t_start: int, n_steps: int,
                      lanes: int) -> None:
    """``run_batch`` with the configurations shared among numba's threads (``numba.set_num_threads``).
    Each configuration is advanced by one thread with ``run_steps``, from its own arrays only, so the
    numbers do not depend on the thread count or the schedule."""
    for b in prange(Zt.shape[0]):
        if diverged[b] >= 0 or skip[b]:
            continue
        bad = run_steps(P0t[b], G[b], a[b], y[b], eta[b], act_kind, gamma[b], loss_kind, Zt[b], Zct[b],
                        Pt[b], act[b], changes[b], last_change[b], acc[b], t_start, n_steps, lanes, -1)
        if bad >= 0:
            diverged[b] = bad
