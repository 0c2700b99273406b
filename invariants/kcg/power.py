"""KCG's deviation families for ``python -m invariants power`` (``invariants._internal.power``).

References: one in-regime leaky ReLU run (gamma = 0.3, n = 6, m = 8, d = 1000, R = 1.2, p at half its bound,
eta at half its bound, sigma0 at 2% of its bound so that the learned part dominates W(0)) and one ReLU run
on orthogonal data, both at the requested horizon.  Each family plants a near miss of size eps into the
real run and asks the real check.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np

from sim import Trajectory

from .._internal.limit import limit_direction
from .._internal.power import deviation
from .growth import check_coefficient_growth, check_loss_rate_leaky, check_loss_rate_relu, check_margin_growth
from .limits import check_f3_at_limit, check_margins_at_limit, check_stable_rank_at_limit
from .pattern import check_leaky_pattern_freeze
from .regime import Placement, build_case
from .stable_rank import check_stable_rank_limit_F3, check_stable_rank_rate


@lru_cache(maxsize=8)
def leaky_reference(steps: int) -> Trajectory:
    return build_case("leaky_relu", 6, 8, 0.3, d=1000, R=1.2, seed=1, steps=steps, checkpoints=60,
                      place=Placement(p=0.5, eta=0.5, sigma0=0.02, width=0.5)).run()


@lru_cache(maxsize=8)
def relu_reference(steps: int) -> Trajectory:
    return build_case("relu", 6, 24, None, d=1000, R=1.2, seed=1, steps=steps, checkpoints=60,
                      place=Placement(p=0.5, eta=0.5, sigma0=0.02, width=0.5)).run()


def _log_power(tr: Trajectory, eps: float) -> np.ndarray:
    """(T,) (log t)^eps (1 at t <= e): a growth Theta(log t) turned into Theta(log^{1+eps} t)."""
    return np.maximum(np.log(np.maximum(tr.times.astype(float), 1.0)), 1.0) ** eps


@lru_cache(maxsize=8)
def relu_orthogonal_reference(steps: int) -> Trajectory:
    return build_case("relu", 6, 24, None, d=1000, R=1.2, seed=1, steps=steps, checkpoints=60, orthogonal=True,
                      place=Placement(p=0.0, eta=0.5, sigma0=0.02, width=0.5)).run()


def with_stable_rank(tr: Trajectory, sr: np.ndarray) -> Trajectory:
    """A copy whose per-sign stable ranks fro2 / spec2 equal ``sr`` (T, 2) (spec2 kept)."""
    fro2 = tr.fro2.copy()
    fro2[:, :2] = sr * tr.spec2[:, :2]
    return dataclasses.replace(tr, fro2=fro2)


@deviation("KCG-4.1b", "SR_j(t) -> SR_j(t) + eps at every checkpoint (the limit 1 + eps)", "limit", leaky_reference)
def _sr_window(tr: Trajectory, eps: float) -> object:
    return check_stable_rank_rate(with_stable_rank(tr, tr.stable_rank + eps))


@deviation("KCG-4.1b:limit", "SR(W*_j) -> 1 + eps at the limit direction", "limit", leaky_reference)
def _sr_limit(tr: Trajectory, eps: float) -> object:
    lim = limit_direction(tr)
    return check_stable_rank_at_limit(tr, dataclasses.replace(lim, stable_rank=lim.stable_rank + np.array([eps, 0, 0])))


@deviation("KCG-MRG:ratio", "one point's margin x (1 + eps) at every checkpoint", "spread", leaky_reference)
def _mrg_window(tr: Trajectory, eps: float) -> object:
    z = tr.margins.copy()
    z[:, 0] *= 1 + eps
    return check_margin_growth(dataclasses.replace(tr, margins=z))


@deviation("KCG-MRG:limit", "one point's normalized margin of W* x (1 + eps)", "spread", leaky_reference)
def _mrg_limit(tr: Trajectory, eps: float) -> object:
    lim = limit_direction(tr)
    q = lim.margins.copy()
    q[0] *= 1 + eps
    return check_margins_at_limit(tr, dataclasses.replace(lim, margins=q))


@deviation("KCG-F3", "SR(W_{-1}(t)) x (1 + eps) at every checkpoint (the limit off by eps)", "limit",
           relu_orthogonal_reference)
def _f3_window(tr: Trajectory, eps: float) -> object:
    return check_stable_rank_limit_F3(with_stable_rank(tr, tr.stable_rank * [1.0, 1.0 + eps]))


@deviation("KCG-F3:limit", "SR(W*_{-1}) x (1 + eps) at the limit direction", "limit", relu_orthogonal_reference)
def _f3_limit(tr: Trajectory, eps: float) -> object:
    lim = limit_direction(tr)
    return check_f3_at_limit(tr, dataclasses.replace(lim, stable_rank=lim.stable_rank * [1.0, 1.0 + eps, 1.0]))


@deviation("KCG-4.1c", "loss L(t) t^{alpha eps} (alpha the fitted exponent): the exponent alpha (1 - eps)", "rate",
           leaky_reference)
def _loss_rate(tr: Trajectory, eps: float) -> object:
    t = np.maximum(tr.times.astype(float), 1.0)
    alpha = check_loss_rate_leaky(tr).measured
    return check_loss_rate_leaky(dataclasses.replace(tr, loss=tr.loss * t ** (alpha * eps)))


@deviation("KCG-5.6", "eps activation changes planted at the last step (after T)", "pattern", leaky_reference)
def _freeze(tr: Trajectory, eps: float) -> object:
    k = round(eps)
    changes, last = tr.changes_flat.copy(), tr.last_change_flat.copy()
    T = int(tr.times[-1])
    for e in range(k):  # one entry per planted change, its last change at T
        idx = np.unravel_index(e, changes.shape)
        changes[idx] += 1
        last[idx] = T
    return check_leaky_pattern_freeze(dataclasses.replace(tr, changes_flat=changes, last_change_flat=last))


@deviation("KCG-4.3b", "ReLU loss L(t) t^{alpha eps}: the exponent alpha (1 - eps)", "rate", relu_reference)
def _relu_loss_rate(tr: Trajectory, eps: float) -> object:
    t = np.maximum(tr.times.astype(float), 1.0)
    alpha = check_loss_rate_relu(tr).measured
    return check_loss_rate_relu(dataclasses.replace(tr, loss=tr.loss * t ** (alpha * eps)))


@deviation("KCG-B3", "coefficients rho x (log t)^eps: growth log^{1+eps} t instead of log t", "rate",
           leaky_reference)
def _coefficient_growth(tr: Trajectory, eps: float) -> object:
    return check_coefficient_growth(dataclasses.replace(tr, rho_flat=tr.rho_flat * _log_power(tr, eps)[:, None, None]))


@deviation("KCG-MRG", "margins x (log t)^eps: growth log^{1+eps} t instead of log t", "rate", leaky_reference)
def _margin_growth(tr: Trajectory, eps: float) -> object:
    return check_margin_growth(dataclasses.replace(tr, margins=tr.margins * _log_power(tr, eps)[:, None]))
