"""KCG's t -> infinity claims checked at the limit itself: at the direction GD converges to on the run's
frozen pattern (``invariants._internal.limit``, ``../shared/notes/limit-oracle.md``), not on a window
maximum.

* ``KCG-4.1b:limit`` (Thm 4.1 bullet 2, "StableRank(W_j(t)) -> 1"): with the pattern of Lemma 5.6 every
  neuron of sign j has the same slope row, so the rows of W*_j are equal and SR(W*_j) = 1 exactly.
  Encoded: SR(W*_j) - 1 <= tol for j = +-1, tol = ``SR_TOL`` (rounding of the m x m eigenproblem; a 1%
  offset is 10^11 times larger).  Margin 1 - (SR - 1) / tol.  implied: SR(W*) per sign and stacked, and
  the approach: angle(W(T), W*) and the fitted exponent beta of angle ~ (log t)^{-beta} on the late
  window (Soudry et al.: beta = 1 for linear models).
* ``KCG-MRG:limit`` (abstract, "all training points reach the same normalized margin asymptotically",
  leaky ReLU): the normalized margins of W* are q_i(W*) / ||W*||; encoded max_i q_i / min_i q_i - 1 <= tol
  (every point on the support: q_i = 1).  Margin 1 - spread / tol.
* ``KCG-4.3a:limit`` (Thm 4.3 bullet 1, ReLU, limsup SR(W_j) <= c): SR(W*_j) <= c = 3 at the limit.
* ``KCG-F3:limit`` (Lemma F.3, ReLU on orthogonal data): SR(W*) equals the closed form from W(0)
  (``stable_rank_limit_F3``) per sign and stacked, |SR(W*) - SR_F3| <= tol.  Margin 1 - max diff / tol.

Every check needs a *certified* limit (the pattern frozen over (frozen_since, T] and W*'s own pattern
agreeing with it): otherwise the outcome is ``too_short`` with the reason (on ReLU data with p > 0 the
limit on the pattern at T often disagrees with it: GD will change that pattern later), or
``cannot_judge`` when no such limit exists (a point without an active neuron, a dual the solver cannot
solve).
"""

from __future__ import annotations

import math

import numpy as np

from sim import Trajectory

from .._internal.claim import check
from .._internal.limit import LimitDirection, approach, limit_direction
from .._internal.result import CheckResult
from .._internal.tolerance import sum_bound
from .regime import describe
from .stable_rank import C_SR_RELU, stable_rank_limit_F3

SR_TOL_TERMS = 64  # the stable rank of W* from an m x m eigvalsh: rounding ~ m eps; tol = 8 * 64 m eps


def sr_tol(m: int, n: int = 0) -> float:
    """Rounding tolerance on a stable rank computed from W*'s m x m neuron Gram matrix Z G Z^T (sums over n
    points, then an m x m eigenproblem)."""
    return sum_bound(SR_TOL_TERMS * m + 4 * n, 1.0)


def _undecided(claim: str, traj: Trajectory, lim: LimitDirection, bound: float) -> CheckResult:
    outcome = "diverged" if traj.diverged else ("cannot_judge" if ("no active feature" in lim.why
                                                                    or "could not be solved" in lim.why
                                                                    or "piecewise" in lim.why)
                                                else "too_short")
    return CheckResult(claim, math.nan, math.nan, bound, config=describe(traj.config, traj.data),
                       note=f"no certified limit: {lim.why}", outcome=outcome,
                       implied={"frozen_since": float(lim.frozen_since)})


def _implied(traj: Trajectory, lim: LimitDirection) -> dict[str, float]:
    sr = lim.stable_rank
    return {"SR*(W+1)": float(sr[0]), "SR*(W-1)": float(sr[1]), "SR*(W)": float(sr[2]),
            "frozen_since": float(lim.frozen_since), "agreement": lim.agreement, **approach(traj, lim)}


@check("KCG-4.1b")
def check_stable_rank_at_limit(traj: Trajectory, lim: LimitDirection | None = None) -> CheckResult:
    """KCG-4.1b:limit -- SR(W*_j) = 1 to rounding at GD's limit direction (module docstring)."""
    claim = "KCG-4.1b:limit"
    lim = limit_direction(traj) if lim is None else lim
    tol = sr_tol(traj.config.m, traj.data.n)
    if not lim.certified:
        return _undecided(claim, traj, lim, tol)
    dev = lim.stable_rank[:2] - 1.0
    j = int(np.argmax(dev))
    return CheckResult(claim, margin=1.0 - float(dev[j]) / tol, measured=float(dev[j]), bound=tol,
                       where={"j": 1 if j == 0 else -1}, implied=_implied(traj, lim),
                       config=describe(traj.config, traj.data), note="SR(W*_j) - 1 at the limit direction")


@check("KCG-MRG")
def check_margins_at_limit(traj: Trajectory, lim: LimitDirection | None = None) -> CheckResult:
    """KCG-MRG:limit -- the normalized margins of W* are equal: max_i q_i / min_i q_i - 1 <= tol."""
    claim = "KCG-MRG:limit"
    lim = limit_direction(traj) if lim is None else lim
    tol = sum_bound(4 * traj.data.n, 1.0)
    if not lim.certified:
        return _undecided(claim, traj, lim, tol)
    q = lim.margins
    spread = float(q.max() / q.min() - 1.0)
    implied = _implied(traj, lim) | {"support": float(lim.support.sum()), "n": float(traj.data.n)}
    return CheckResult(claim, margin=1.0 - spread / tol, measured=spread, bound=tol,
                       where={"i": int(np.argmax(q))}, implied=implied, config=describe(traj.config, traj.data),
                       note="max_i / min_i normalized margin of W*, minus 1")


@check("KCG-4.3a")
def check_relu_stable_rank_at_limit(traj: Trajectory, lim: LimitDirection | None = None,
                                    c: float = C_SR_RELU) -> CheckResult:
    """KCG-4.3a:limit -- SR(W*_j) <= c at GD's limit direction (ReLU)."""
    claim = "KCG-4.3a:limit"
    lim = limit_direction(traj) if lim is None else lim
    if not lim.certified:
        return _undecided(claim, traj, lim, c)
    j = int(np.argmax(lim.stable_rank[:2]))
    sr = float(lim.stable_rank[j])
    return CheckResult(claim, margin=(c - sr) / c, measured=sr, bound=c, where={"j": 1 if j == 0 else -1},
                       implied=_implied(traj, lim) | {"c_implied": sr}, config=describe(traj.config, traj.data),
                       note="SR(W*_j) at the limit direction")


@check("KCG-F3")
def check_f3_at_limit(traj: Trajectory, lim: LimitDirection | None = None) -> CheckResult:
    """KCG-F3:limit -- SR(W*) equals Lemma F.3's closed form from W(0), per sign and stacked."""
    claim = "KCG-F3:limit"
    lim = limit_direction(traj) if lim is None else lim
    tol = sr_tol(traj.config.m, traj.data.n)
    if traj.data.p != 0.0:
        return CheckResult(claim, math.nan, math.nan, tol, config=describe(traj.config, traj.data),
                           note="data not orthogonal (p > 0)", outcome="too_short")
    if not lim.certified:
        return _undecided(claim, traj, lim, tol)
    f3 = stable_rank_limit_F3(traj)
    closed = np.array([f3["plus"], f3["minus"], f3["stacked"]])
    diff = np.abs(lim.stable_rank - closed) / np.maximum(closed, 1.0)
    k = int(np.argmax(diff))
    implied = _implied(traj, lim) | {"F3 plus": float(closed[0]), "F3 minus": float(closed[1]),
                                     "F3 stacked": float(closed[2])}
    return CheckResult(claim, margin=1.0 - float(diff[k]) / tol, measured=float(diff[k]), bound=tol,
                       where={"block": ("W+1", "W-1", "W")[k]}, implied=implied,
                       config=describe(traj.config, traj.data),
                       note="|SR(W*) - SR_F3| / SR_F3 (relative) at the limit direction")
