"""ST-2 at the limit rather than on a window maximum.

ST-2 reads "limsup_t StableRank(theta(t)) <= 2" (theta = [W | b]); the window check reports the maximum of
the stacked stable rank over the last half of ln T, which on a decreasing stable rank is about its value at
sqrt(T).  Here the limit oracle (``invariants._internal.limit``; a bias is the appended constant coordinate
the ST runs already use) gives the direction the run's last activation region leads to: GD's limit when
the pattern is certified frozen, else (``SETTLE`` rounds: flip the most disagreeing entry, hold one that
disagrees with either slope on the kink) a KKT point of the network's max-margin problem near that region.
``ST-2:limit`` (measured, like every ST claim): margin (2 - SR(theta*)) / 2 for the stacked theta*; implied
the per-sign stable ranks, whether the point is GD's certified limit or a settled KKT point, the rounds and
the kink entries it needed, and GD's angle to it at T.
"""

from __future__ import annotations

import math

from sim import Trajectory

from .._internal.claim import check
from .._internal.limit import LimitDirection, limit_direction
from .._internal.result import CheckResult
from .conjectures import SR_BOUND

SETTLE = 500


@check("ST-2")
def check_st2_at_limit(traj: Trajectory, lim: LimitDirection | None = None) -> CheckResult:
    """ST-2:limit -- the stacked stable rank of the limit direction (or the settled KKT point) against 2."""
    lim = limit_direction(traj, settle=SETTLE) if lim is None else lim
    if not (lim.certified or lim.kkt_point):
        out = "diverged" if traj.diverged else "cannot_judge"
        return CheckResult("ST-2:limit", math.nan, math.nan, SR_BOUND, outcome=out,
                           note=f"no limit direction or KKT point: {lim.why}")
    sr = float(lim.stable_rank[2])
    kind = "GD's certified limit" if lim.certified else f"KKT point settled in {lim.settled} rounds"
    return CheckResult("ST-2:limit", margin=(SR_BOUND - sr) / SR_BOUND, measured=sr, bound=SR_BOUND,
                       implied={"SR*(theta+1)": float(lim.stable_rank[0]), "SR*(theta-1)": float(lim.stable_rank[1]),
                                "certified": float(lim.certified), "settled": float(lim.settled),
                                "kink entries": float(len(lim.kinks)), "angle(T)": float(lim.angle[-1])},
                       note=f"stacked SR of theta* ({kind}); the window check's max is not the limit")
