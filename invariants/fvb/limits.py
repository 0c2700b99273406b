"""FVB Thm 3.2 at the limit itself: GD's limit direction on its frozen pattern against the program's W*.

Thm 3.2 (gradient flow, leaky ReLU, data meeting (7)) says W(t)/||W(t)|| converges to the solution W* of
the convex program (11) (``program.solve_program``).  The limit oracle (``invariants._internal.limit``)
gives, from the run's own frozen pattern, the direction GD converges to (Soudry et al. 2018 on the
pattern's linear model).  ``FVB-3.2d:limit`` asserts that the two are the same direction:
1 - cos angle(W*_GD, W*_program) <= tol (rounding of two n-dimensional duals and an M x n inner product).
Margin 1 - (1 - cos) / tol.  A 1% angle is 1 - cos = 5e-5, about 10^9 tolerances.  implied: GD's angle to
W* at T and the fitted exponent of its decay in log t.
"""

from __future__ import annotations

import math

import numpy as np

from sim import Trajectory

from .._internal.assumptions import describe
from .._internal.claim import check
from .._internal.kkt import SolverNotConverged
from .._internal.limit import LimitDirection, approach, limit_direction
from .._internal.result import CheckResult
from .._internal.tolerance import sum_bound
from .program import MaxMarginSolution, solve_program


@check("FVB-3.2d", hunt=True)
def check_program_is_gd_limit(traj: Trajectory, lim: LimitDirection | None = None,
                              sol: MaxMarginSolution | None = None) -> CheckResult:
    """FVB-3.2d:limit -- GD's limit direction (frozen pattern) equals the program (11)'s W*."""
    claim = "FVB-3.2d:limit"
    cfg, data = traj.config, traj.data
    M, n = sum(cfg.widths), data.n
    tol = sum_bound(8 * M * n, 1.0)
    config = describe(cfg, data)
    lim = limit_direction(traj) if lim is None else lim
    if not lim.certified:
        out = "diverged" if traj.diverged else "too_short"
        return CheckResult(claim, math.nan, math.nan, tol, config=config, outcome=out,
                           note=f"no certified limit: {lim.why}")
    try:
        sol = solve_program(data.G, data.y, cfg.slope, *cfg.widths) if sol is None else sol
    except SolverNotConverged as e:
        return CheckResult(claim, math.nan, math.nan, tol, config=config, outcome="cannot_judge",
                           note=f"cannot judge: {e}")
    G = data.G
    Y = sol.rows_coef()
    inner = float(np.sum((lim.Z @ G) * Y))
    cos = inner / (lim.norm * math.sqrt(max(float(np.sum((Y @ G) * Y)), 0.0)))
    gap = 1.0 - cos
    return CheckResult(claim, margin=1.0 - gap / tol, measured=gap, bound=tol,
                       implied={"angle to program W*": math.acos(min(1.0, cos)), **approach(traj, lim)},
                       config=config, note="1 - cos(GD's limit direction, program (11)'s W*)")
