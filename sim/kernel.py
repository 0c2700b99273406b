"""Compiled inner loop of the span engine (``../shared/notes/gram-space.md`` §1).

The state of GD is the coefficient matrix Z: Z[k, i] is the raw coefficient of neuron k on data point i,
``w_k(t) = w_k(0) + sum_i Z[k, i] x_i``.  The kernel stores every (neuron, point) array transposed, as
(n, M) with the neurons innermost (``Zt[i, k] = Z[k, i]``): the long, contiguous neuron axis is what is
vectorized.  For ReLU and leaky ReLU the three passes of a step (coefficient update, pre-activations,
outputs with the pattern bookkeeping) are explicit vector code (``sim.simd``), each in a documented
fixed order, bit for bit what the plain loops compute (tested).  KCG's coefficients (Def. 5.1)
are ``rho[k, i] = Z[k, i] * ||x_i||^2``.  Pre-activations are recomputed from the state at every
step, ``P = P0 + Z G``, so the only accumulated quantity is ``Z`` itself, and it is accumulated with
Neumaier's compensated summation (``Z`` + its compensation ``Zc``; notes §5): over 10^8 steps of tiny
increments plain float64 accumulation would drift, the compensated sum stays within a few ulps.

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
    pl_row_pass8,
    pl_update_row8,
    preact_row8,
    preact_row8_range,
    preact_rows2_8,
    preact_rows2_8_range,
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
                   lanes: int = 4) -> None:
    """out = (P0 + (Z + Zc) G)^T in the (n, M) layout (the engine's single source of P).  ``lanes`` 8:
    8-wide, in blocks of neurons whose Z + Zc stay in the level-1 cache (``_preact_blocked8``); the same
    bits either way."""
    n, M = Zt.shape
    zeff = np.empty((n, M))
    for ip in range(n):
        for k in range(M):
            zeff[ip, k] = Zt[ip, k] + Zct[ip, k]
    if lanes == 8:
        _preact_blocked8(P0t, zeff, G, out, block_neurons(n))
    else:
        _preact(P0t, zeff, G, out)


@njit(cache=True, fastmath={"contract"})
def _preact_blocked8(P0t: np.ndarray, zeff: np.ndarray, G: np.ndarray, out: np.ndarray, bk: int) -> None:
    """``_preact`` in 8-wide code, block by block of ``bk`` neurons (as ``_step_blocked8`` computes P): every
    entry by the same operations in the same order, the same bits."""
    M = zeff.shape[1]
    for k0 in range(0, M, bk):
        _preact_block8(P0t, zeff, G, out, k0, min(M, k0 + bk))


@njit(cache=True, fastmath={"contract"}, inline="always")
def _preact_block8(P0t: np.ndarray, zeff: np.ndarray, G: np.ndarray, out: np.ndarray, k0: int, k1: int) -> None:
    """Every row of P on the neurons k0 <= k < k1, rows in pairs (8-wide)."""
    n = zeff.shape[0]
    for i in range(0, n - 1, 2):
        preact_rows2_8_range(P0t, zeff, G, i, out, k0, k1)
    if n % 2:
        preact_row8_range(P0t, zeff, G, n - 1, out, k0, k1)


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
def _update(Zt: np.ndarray, Zct: np.ndarray, Pt: np.ndarray, c: np.ndarray, a: np.ndarray, kind: int,
            gamma: float, zeff: np.ndarray, lanes: int = 4) -> None:
    """Z[k, i] += c_i a_k sigma'(P[k, i]) with Neumaier compensation (``kahan_add``; for ReLU / leaky
    ReLU the vector code ``sim.simd.pl_update_row``, which computes the same correction branch-free);
    ``zeff`` receives the compensated value Z + Zc."""
    n, M = Zt.shape
    for i in range(n):
        ci = c[i]
        if kind == SMOOTH_LEAKY:
            for k in range(M):
                kahan_add(Zt, Zct, (i, k), ci * a[k] * dsigma(Pt[i, k], kind, gamma))
                zeff[i, k] = Zt[i, k] + Zct[i, k]
            continue
        if lanes == 8:
            pl_update_row8(Zt[i], Zct[i], Pt[i], a, ci, 0.0 if kind == RELU else gamma, zeff[i])
        else:
            pl_update_row(Zt[i], Zct[i], Pt[i], a, ci, 0.0 if kind == RELU else gamma, zeff[i])


@njit(cache=True, fastmath={"contract"})
def _preact_fused(P0t: np.ndarray, zeff: np.ndarray, G: np.ndarray, out: np.ndarray, a: np.ndarray, kind: int,
                  gamma: float, act: np.ndarray, changes: np.ndarray, last_change: np.ndarray, t: int,
                  f: np.ndarray, lanes: int = 4) -> None:
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


@njit(cache=True)
def block_neurons(n: int) -> int:
    """Neurons per block of the blocked step (``_step_blocked8``): the block's n rows of Z + Zc stay in
    the 48 KB level-1 cache while all n rows of P are computed from them (a multiple of 48, the
    pre-activation pass's block)."""
    return max(48, (4096 // max(n, 1)) // 48 * 48)


@njit(cache=True, fastmath={"contract"})
def _step_blocked8(P0t: np.ndarray, zeff: np.ndarray, G: np.ndarray, Zt: np.ndarray, Zct: np.ndarray,
                   Pt: np.ndarray, c: np.ndarray, a: np.ndarray, slope: float, act: np.ndarray,
                   changes: np.ndarray, last_change: np.ndarray, t: int, f: np.ndarray, bk: int) -> None:
    """``_update`` then ``_preact_fused`` (8-wide, ReLU / leaky ReLU) with the first two done block by
    block of ``bk`` neurons, so that the block's Z + Zc is read from the level-1 cache by every row of P;
    then the row pass (outputs and pattern bookkeeping) over whole rows.  Every entry is computed by the
    same operations and every row sum in the same order as unblocked: the same bits."""
    n, M = Zt.shape
    for k0 in range(0, M, bk):
        k1 = min(M, k0 + bk)
        for i in range(n):
            pl_update_row8(Zt[i][k0:k1], Zct[i][k0:k1], Pt[i][k0:k1], a[k0:k1], c[i], slope, zeff[i][k0:k1])
        _preact_block8(P0t, zeff, G, Pt, k0, k1)
    for i in range(n):
        f[i] = pl_row_pass8(Pt[i], act[i], changes[i], last_change[i], a, slope, t)


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
    lanes: int = 4,
) -> int:
    """Advance GD from step ``t_start`` by ``n_steps`` steps, in place (all (n, M) arrays transposed).

    On entry ``Pt`` holds P(t_start) and ``act`` the pattern at t_start.  On exit they hold the values
    at the returned step.  Every pattern change at step t (pattern(t) != pattern(t-1)) increments
    ``changes[i, k]`` and sets ``last_change[i, k] = t``.  ``acc`` (2,) accumulates (compensated, value +
    compensation) S = sum_s G_hat(W(s)), G_hat = (1/n) sum_i -l'(y_i f_i): FVB's (17)-(19) need it at
    every step, which a checkpoint cannot give.

    Returns ``-1`` when all steps ran, else the step t at which a margin or a loss derivative was
    non-finite (the run diverged; the state is left at that step).  ``lanes`` (4 or 8) picks the width
    of the vector code (``sim.simd`` or ``sim.simd_wide``): the same numbers, bit for bit.
    """
    n = Zt.shape[0]
    f = np.empty(n)
    c = np.empty(n)
    zeff = np.empty_like(Zt)
    outputs(Pt, a, act_kind, gamma, f)
    bk = block_neurons(n)
    blocked = lanes == 8 and act_kind != SMOOTH_LEAKY and Zt.shape[1] > bk
    slope = 0.0 if act_kind == RELU else gamma
    for s in range(n_steps):
        t = t_start + s
        gsum = 0.0
        for i in range(n):
            marg = y[i] * f[i]
            lp = dloss(marg, loss_kind)
            if not (math.isfinite(marg) and math.isfinite(lp)):
                return t
            c[i] = -(eta / n) * lp * y[i]
            gsum -= lp
        g, s0 = gsum / n, acc[0]  # Neumaier: acc[0] + acc[1] is the sum
        s1 = s0 + g
        acc[1] += ((s0 - s1) + g) if abs(s0) >= abs(g) else ((g - s1) + s0)
        acc[0] = s1
        if blocked:
            _step_blocked8(P0t, zeff, G, Zt, Zct, Pt, c, a, slope, act, changes, last_change, t + 1, f, bk)
            continue
        _update(Zt, Zct, Pt, c, a, act_kind, gamma, zeff, lanes)
        _preact_fused(P0t, zeff, G, Pt, a, act_kind, gamma, act, changes, last_change, t + 1, f, lanes)
    return -1


@njit(cache=True)
def run_batch(P0t: np.ndarray, G: np.ndarray, a: np.ndarray, y: np.ndarray, eta: np.ndarray,
              gamma: np.ndarray, act_kind: int, loss_kind: int, Zt: np.ndarray, Zct: np.ndarray,
              Pt: np.ndarray, act: np.ndarray, changes: np.ndarray, last_change: np.ndarray,
              acc: np.ndarray, diverged: np.ndarray, skip: np.ndarray, t_start: int, n_steps: int,
              lanes: int = 4) -> None:
    """``run_steps`` for B configurations stacked on a leading axis, in one compiled call.

    A configuration with ``diverged[b] >= 0`` or ``skip[b]`` is left untouched; one that diverges now
    records the step.
    """
    for b in range(Zt.shape[0]):
        if diverged[b] >= 0 or skip[b]:
            continue
        bad = run_steps(P0t[b], G[b], a[b], y[b], eta[b], act_kind, gamma[b], loss_kind, Zt[b], Zct[b],
                        Pt[b], act[b], changes[b], last_change[b], acc[b], t_start, n_steps, lanes)
        if bad >= 0:
            diverged[b] = bad


@njit(cache=True, parallel=True)
def run_batch_threads(P0t: np.ndarray, G: np.ndarray, a: np.ndarray, y: np.ndarray, eta: np.ndarray,
                      gamma: np.ndarray, act_kind: int, loss_kind: int, Zt: np.ndarray, Zct: np.ndarray,
                      Pt: np.ndarray, act: np.ndarray, changes: np.ndarray, last_change: np.ndarray,
                      acc: np.ndarray, diverged: np.ndarray, skip: np.ndarray, t_start: int, n_steps: int,
                      lanes: int = 4) -> None:
    """``run_batch`` with the configurations shared among numba's threads (``numba.set_num_threads``).
    Each configuration is advanced by one thread with ``run_steps``, from its own arrays only, so the
    numbers do not depend on the thread count or the schedule."""
    for b in prange(Zt.shape[0]):
        if diverged[b] >= 0 or skip[b]:
            continue
        bad = run_steps(P0t[b], G[b], a[b], y[b], eta[b], act_kind, gamma[b], loss_kind, Zt[b], Zct[b],
                        Pt[b], act[b], changes[b], last_change[b], acc[b], t_start, n_steps, lanes)
        if bad >= 0:
            diverged[b] = bad
