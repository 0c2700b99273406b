"""FVB Theorem 3.2: the structure of the KKT points of the max-margin problem of a leaky ReLU network under
near-orthogonality, checked on the solved convex program, by a hunt for other KKT points, and along GD.

Source: Frei, Vardi, Bartlett, Srebro, Hu (ICLR 2023), Thm 3.2, as the review ``seeds/002`` states it
(section 3.1.3, lines ~96-150): under condition (7), max_{i != j} |<x_i, x_j>| <= gamma^3 R_min^2 / (3 R^2 n)
(``Dataset.implied_C(gamma)["FVB-7"] >= 1``), every KKT point W* of

    min 1/2 ||W||_F^2   s.t.   y_i f(x_i; W) >= 1  for all i                                       (5)

of f(x; W) = sum_j a_j phi(<w_j, x>), a_j = +-1/sqrt(m) (m1 rows v_j, m2 rows u_j), phi(z) = max(gamma z, z):

* FVB-3.2a  y_i f(x_i; W*) = 1 for all i;
* FVB-3.2b  v_j* = v, u_j* = u for all j (rank <= 2) with v, u given by (10) in terms of the multipliers;
* FVB-3.2c  lambda_i in (1 / (2 R_max^2), 3 / (2 gamma^2 R_min^2));
* FVB-3.2d  W* is the global optimum of (5), (v, u) the unique solution of the convex program (11);
* FVB-3.2e  sign(<z, x>) = sign(f(x; W*)) for every x in R^d, z = (m1/sqrt m) v - (m2/sqrt m) u.

Gradient flow converges in direction to such a KKT point (Lyu and Li; FVB Thm 3.5).

How each is checked (``invariants.fvb_program`` solves (11) exactly in the data span; nothing needs X):

On the program's solution W* (rows v m1 times, u m2 times):
  * ``check_kkt_margins`` (FVB-3.2a, exact): the network's margins y_i f(x_i; W*), computed with the leaky
    ReLU on the actual pre-activations <v, x_i>, <u, x_i>, all equal 1 within the float64 bound of the
    solve (``MaxMarginSolution.tolerance``).  Margin 1 - max_i |q_i - 1| / tol (fraction of tolerance
    left).  It fails, as it should, when some lambda_i = 0 (strongly non-orthogonal data).
  * ``check_kkt_structure`` (FVB-3.2b, exact): W* is a KKT point of (5) with multipliers lambda: (i) the
    sign pattern that (10) presumes, y_i <v, x_i> > 0 and y_i <u, x_i> < 0 (so phi' = 1 or gamma exactly
    where (10) puts them); (ii) the network's own stationarity v = (1/sqrt m) sum_i lambda_i y_i
    phi'(<v, x_i>) x_i, u = (1/sqrt m) sum_i lambda_i (-y_i) phi'(<u, x_i>) x_i with phi' read from the
    pre-activations (residual in the G-norm, relative to ||v||, ||u||).  Margin: min of the sign-pattern
    cosine margin (min_i y_i <v, x_i> / (||v|| ||x_i||) and the u analogue; negative when the pattern is
    wrong) and 1 - residual / tol.  Formula (10) against an independent primal solve (SLSQP):
    ``check_primal_formula`` (FVB-3.2b:primal, solver tolerance ``PRIMAL_TOL``).
  * ``check_multiplier_bounds`` (FVB-3.2c, explicit): margin min_i min(lambda_i / lo - 1, 1 - lambda_i / hi);
    implied constants lambda_min R_max^2 (bound: > 1/2) and gamma^2 R_min^2 lambda_max (bound: < 3/2).
  * ``check_program_kkt`` (FVB-3.2d, exact): the KKT residuals of (11) (primal/dual feasibility,
    complementarity, duality gap) against the float64 bound; (11) is strictly convex with linear
    constraints, so KKT = unique global optimum.
  * ``check_global_optimum`` (FVB-3.2d:global / :hunt, exact inequality): for ANY W, min_i y_i f(x_i; W) /
    ||W||_F <= 1 / ||W*||_F if W* is the global optimum of (5) (W / min_i q_i is feasible).  Candidates: GD
    iterates and the local solutions of (5) found by SLSQP from random starts (``hunt_kkt_points``).
    Margin 1 - max(0, r - 1) / tol, r = normalized margin * ||W*||.  Each SLSQP point is polished to the
    exact KKT point of its activation region when that stays in the region (``polish``: a QP solved
    through its dual); other points keep their Clarke-KKT residual (``kkt_residual``, an LP that allows
    any subgradient at kinks) and the SLSQP tolerance ``HUNT_TOL``.  Every KKT point found must be W*
    itself: ``FVB-3.2a:hunt`` (margins 1) and ``FVB-3.2b:hunt`` (distance to W*, which has equal rows),
    at the point's tolerance (``POLISH_TOL`` or ``HUNT_TOL``).
  * ``check_decision_boundary`` (FVB-3.2e, exact, complete): f(x; W*) and <z, x> depend on x only through
    (a, b) = (<v, x>, <u, x>) and are positively 1-homogeneous, so "for all x" is decided on the unit circle
    of the (a, b)-plane (all of R^2 covers both independent and parallel v, u).  Both are linear on each
    quadrant, so the circle splits into finitely many arcs (cut at the axes and at the zeros of every linear
    piece) on whose interiors neither vanishes; the sign agreement is checked at each arc's midpoint.
    Margin -(angular measure of the disagreeing arcs) / (2 pi): 0 when held.  Given sample points
    (coordinates of x against v, u) the worst normalized agreement sgn(<z,x>) f(x)/(|(a,b)| (c1 + c2)) is
    reported too.  Reading: the review writes "for all x in R^d"; the identity actually holds for any
    rank-2 W with equal rows per block (a computation in the four quadrants), so the content of 3.2e is
    3.2b; the check still decides it independently of that reasoning.

Along GD (small step, approximating GF; leaky ReLU, logistic or exponential loss; ``in_fvb_gf_regime``):
W(t) = W(0) + Z(t) X grows like log t along W*, so every deviation e(t) from the limit decays like
c / log t (an implicit-bias rate, not a finite-time statement).  Each limit claim is checked as a rate on
log-spaced checkpoints: e ~ c (ln t)^{-beta} fitted on the late window (``invariants.fitting``), held
when beta >= ``BETA_MIN`` = 0.5 (a deviation converging to a nonzero limit fits beta ~ 0; the implicit-bias
expansion W(t) = W* ln t + B + o(1) gives beta ~ 1).  Reported: e(T), c = e(T) ln T, and the extrapolated
limit e_inf of the fit e = e_inf + c'/ln t.

  * FVB-3.2a:gd  e = max_i q_i / min_k q_k - 1 (margins, normalized by the smallest: -> 0 iff all y_i f -> 1
                 after rescaling to min margin 1);
  * FVB-3.2b:gd  e = ||W - blockmean(W)||_F / ||W||_F, the distance of W/||W|| to the matrices with equal
                 rows per block (those have rank <= 2); the rank-2 tail sqrt(sum_{k>=3} s_k^2)/||W||_F
                 (singular values from W W^T by eigvalsh) is reported with its own beta;
  * FVB-3.2d:gd  e = angle(W(t), W*) (inner products through G, P0 = W0 X^T and K0 = W0 W0^T:
                 <W(t), W*>_F = <P0, Z*> + <Z(t) G, Z*>); the normalized-margin gap 1 - r(t) and the
                 fraction of random directions in the row space of W(t) on which sign f(x; W(t)) differs
                 from sign <z(t), x>, z(t) = sum_k a_k w_k(t) (3.2e along GD, measured) are reported.

Tolerances: exact claims on the program use ``MaxMarginSolution.tolerance`` (``sum_bound(4n, scale)``,
scale = max_i sum_k |Q_ik| lambda_k); the SLSQP-based checks use declared solver tolerances (``PRIMAL_TOL``,
``HUNT_TOL``), since SLSQP stops at ftol, not at rounding.
"""

from __future__ import annotations

import math

import numpy as np

from sim import Dataset, SimConfig, Trajectory
from sim.gram import weight_gram

from .._internal.assumptions import describe
from .._internal.claim import Claim, check, register
from .._internal.decay import BETA_MIN, MIN_POINTS, WINDOW, decay_check
from .._internal.fitting import fit_power, late_window
from .._internal.kkt import (
    HUNT_TOL,
    HuntPoint,
    local_max_margin_solutions,
    second_layer,
)
from .._internal.result import CheckResult
from .._internal.tolerance import sum_bound
from .program import MaxMarginSolution, SolverNotConverged, solve_primal_slsqp, solve_program
from .regime import C_GF_STEP, FVB_GF_AXES, fvb7_ratio, in_fvb_gf_regime

# ---- declared constants ----------------------------------------------------------------------------

PRIMAL_TOL = 1e-6  # SLSQP primal solve vs formula (10), relative
# SLSQP local solutions of (5): stationarity residual and distance to W*, relative.  SLSQP stops at
# ftol = 1e-14 on 1/2 ||W||^2; along directions where the constraints are flat to first order the objective
# is quadratic, so the point is accurate to ~sqrt(ftol) = 1e-7 (observed up to ~1.3e-6); declared 1e-5.
ANGLE_TOL = sum_bound(8, 2 * math.pi)  # critical angles closer than this are the same (atan2 rounding)
#: Where each declared constant of this module's claims comes from (``Claim.sources``), by constant name.
SOURCES = {
    "BETA_MIN": "choice: rate threshold for limits along GD (decay.BETA_MIN): a deviation with a nonzero limit fits "
                "beta ~ 0, the expansion W(t) = W* ln t + B + o(1) gives beta ~ 1; 0.5 lies between",
    "C_GF_STEP": "choice: GD as the small-step proxy of gradient flow, eta <= C_GF_STEP n / R_max^2 "
                 "(regime.C_GF_STEP; stability needs < 8 n / R_max^2)",
    "HUNT_TOL": "choice: SLSQP tolerance of the KKT hunt (kkt.HUNT_TOL): ftol = 1e-14 gives ~sqrt(ftol) = 1e-7 "
                "accuracy (observed up to ~1.3e-6); declared 1e-5",
    "PRIMAL_TOL": "choice: solver tolerance of the SLSQP primal solve vs formula (10), relative (SLSQP stops at "
                  "ftol, not at rounding)",
}

TINY = np.finfo(float).tiny






def solution_for(cfg: SimConfig, data: Dataset) -> MaxMarginSolution:
    """The convex program (11) for a configuration's data, slope and widths."""
    m1, m2 = cfg.widths
    return solve_program(data.G, data.y, cfg.slope, m1, m2)


def describe_solution(sol: MaxMarginSolution) -> dict[str, object]:
    """A short description of a program instance for a CheckResult."""
    G = sol.G
    r2 = np.diag(G)
    off = np.abs(G - np.diag(r2))
    p = float(off.max())
    R = math.sqrt(r2.max() / r2.min())
    n = sol.n
    with np.errstate(over="ignore", divide="ignore"):
        c7 = float(np.float64(sol.gamma**3 * r2.min()) / np.float64(3 * R**2 * n * p)) if p > 0 else math.inf
    return {"n": n, "gamma": sol.gamma, "m1": sol.m1, "m2": sol.m2, "p/R_min^2": p / r2.min(), "R": R,
            "C[FVB-7]": c7, "active": int(sol.active.sum())}


# ---- registration ----------------------------------------------------------------------------------

_ASSUME = ("leaky ReLU phi(z) = max(gamma z, z), a_j = +-1/sqrt(m) (m1 rows v, m2 rows u), logistic or "
           "exponential loss, gradient flow (GD with eta <= n/R_max^2 as its proxy); condition (7): "
           "max_{i!=j} |<x_i,x_j>| <= gamma^3 R_min^2/(3 R^2 n)")
_GD = (" Along GD: deviation e(t) ~ c (ln t)^-beta on the late half of ln T, held when beta >= "
       f"{BETA_MIN} (declared).")

register(Claim(
    network="fvb", activation="leaky_relu",
    id="FVB-3.2a", paper="FVB", where="Thm 3.2 item 1 (review seeds/002 section 3.1.3)", kind="explicit",
    statement="under (7) every KKT point W* of min 1/2||W||^2 s.t. y_i f(x_i;W) >= 1 has y_i f(x_i;W*) = 1 "
              "for all i.  Checked: on the program's W* (network margins = 1 to rounding); FVB-3.2a:hunt on "
              "SLSQP local solutions of (5); FVB-3.2a:gd max_i q_i/min_k q_k - 1 -> 0 along GD." + _GD,
    assumptions=_ASSUME, in_regime=in_fvb_gf_regime,
    declared={"beta_min": BETA_MIN, "C_GF_step": C_GF_STEP, "hunt_tol": HUNT_TOL},
    sources={"beta_min": SOURCES["BETA_MIN"], "C_GF_step": SOURCES["C_GF_STEP"], "hunt_tol": SOURCES["HUNT_TOL"]},
    reading="(7) read as in the catalogue and the review's eq. (7) (gamma^3, R = R_max/R_min).  'Every KKT "
            "point' is probed by the program's solution, by local solutions of (5) from random starts, and "
            "by GD limits (Lyu-Li); margins along GD normalized by the smallest one"))
register(Claim(
    network="fvb", activation="leaky_relu", uses=("FVB-3.2a"),
    id="FVB-3.2b", paper="FVB", where="Thm 3.2 item 2, eqs. (8)-(10)", kind="exact",
    statement="v_j* = v, u_j* = u with v = (1/sqrt m)(sum_{I+} lambda_i x_i - gamma sum_{I-} lambda_i x_i), "
              "u = (1/sqrt m)(sum_{I-} lambda_i x_i - gamma sum_{I+} lambda_i x_i), rank(W*) <= 2.  Checked: "
              "the program's (v, u) is a KKT point of (5) with these lambda (sign pattern y_i<v,x_i> > 0 > "
              "y_i<u,x_i> and the network's stationarity with its own phi'); FVB-3.2b:primal (10) vs an "
              "independent primal solve; FVB-3.2b:hunt SLSQP KKT points equal W*; FVB-3.2b:gd "
              "||W - blockmean W||_F/||W||_F -> 0 (rank-2 tail reported)." + _GD,
    assumptions=_ASSUME, in_regime=in_fvb_gf_regime,
    declared={"beta_min": BETA_MIN, "primal_tol": PRIMAL_TOL, "hunt_tol": HUNT_TOL},
    sources={"beta_min": SOURCES["BETA_MIN"], "primal_tol": SOURCES["PRIMAL_TOL"], "hunt_tol": SOURCES["HUNT_TOL"]},
    reading="the review's (8) prints phi'(v_j^T x_i) in the u_j equation; read phi'(u_j^T x_i) (the "
            "gradient of phi(<u_j, x>)).  The multipliers of (5) at W* equal the dual variables of (11) "
            "(same stationarity equations, x_i linearly independent)"))
register(Claim(
    network="fvb", activation="leaky_relu", uses=("FVB-3.2a"),
    id="FVB-3.2c", paper="FVB", where="Thm 3.2 item 2 (multiplier bounds), proof section 3.1.3",
    kind="explicit",
    statement="lambda_i in (1/(2 R_max^2), 3/(2 gamma^2 R_min^2)) for all i, lambda the multipliers of the "
              "KKT point (= the dual solution of (11)); implied lambda_min R_max^2 (> 1/2) and "
              "gamma^2 R_min^2 lambda_max (< 3/2)",
    assumptions=_ASSUME, in_regime=in_fvb_gf_regime,
    reading="the bounds as the review prints them; for orthogonal data lambda_i = m/((m1 + gamma^2 m2) "
            "||x_i||^2) on I+ (m1, m2 swapped on I-), inside the bounds with factors 2 and 3/2 to spare"))
register(Claim(
    network="fvb", activation="leaky_relu", uses=("FVB-3.2b", "FVB-3.2c"),
    id="FVB-3.2d", paper="FVB", where="Thm 3.2 item 3, eq. (11)", kind="exact",
    statement="(v, u) is the unique solution of min (m1/2)||v||^2 + (m2/2)||u||^2 s.t. (m1/sqrt m)<v,x_i> - "
              "gamma (m2/sqrt m)<u,x_i> >= 1 (I+), (m2/sqrt m)<u,x_i> - gamma (m1/sqrt m)<v,x_i> >= 1 (I-), "
              "and W* is the global optimum of (5).  Checked: KKT residuals of (11) to rounding; "
              "FVB-3.2d:global / :hunt: min_i y_i f(x_i;W)/||W||_F <= 1/||W*||_F for GD iterates and SLSQP "
              "solutions; FVB-3.2d:gd angle(W(t), W*) -> 0 along GD." + _GD,
    assumptions=_ASSUME, in_regime=in_fvb_gf_regime, declared={"beta_min": BETA_MIN, "hunt_tol": HUNT_TOL},
    sources={"beta_min": SOURCES["BETA_MIN"], "hunt_tol": SOURCES["HUNT_TOL"]},
    regime="fvb-gf", axes=FVB_GF_AXES,  # hunted and walked on FVB-3.2d:limit (invariants.fvb.limits)
    reading="dual of (11): min_{lambda>=0} 1/2 lambda^T Q lambda - 1^T lambda, "
            "Q = (m1/m) S G S + (m2/m) T G T, S = diag(1 on I+, -gamma on I-), "
            "T = diag(1 on I-, -gamma on I+) (invariants.fvb_program)"))
register(Claim(
    network="fvb", activation="leaky_relu", uses=("FVB-3.2d"),
    id="FVB-3.2e", paper="FVB", where="Thm 3.2 item 4", kind="exact",
    statement="sign(<z, x>) = sign(f(x; W*)) for all x, z = (m1/sqrt m) v - (m2/sqrt m) u; decided on the "
              "unit circle of (<v,x>, <u,x>) by arcs (complete); sample/targeted points reported",
    assumptions=_ASSUME, in_regime=in_fvb_gf_regime,
    reading="holds for every rank-2 W with equal rows per block (checked in the four quadrants of "
            "(<v,x>, <u,x>)); so along GD it is measured (the disagreement fraction of W(t), reported with "
            "FVB-3.2d:gd), not asserted"))


# ---- FVB-3.2a/b/c/d on the program ------------------------------------------------------------------

@check("FVB-3.2a", takes="solution")
def check_kkt_margins(sol: MaxMarginSolution, slope: float | None = None) -> CheckResult:
    """FVB-3.2a on the program's W*: y_i f(x_i; W*) = 1 for all i (network margins, leaky ReLU with
    ``slope``, default the program's gamma).  Margin 1 - max_i |q_i - 1| / tol."""
    q = sol.network_margins(slope)
    err = np.abs(q - 1.0)
    i = int(np.argmax(err))
    tol = sol.tolerance
    return CheckResult("FVB-3.2a", margin=1.0 - float(err[i]) / tol, measured=float(q[i]), bound=1.0,
                       where={"i": i}, implied={"max |q-1|": float(err[i]), "tol": tol,
                                                "lambda_min": float(sol.lam.min())},
                       config=describe_solution(sol), note="margins of W* = program solution, exact")


def stationarity_residual(sol: MaxMarginSolution, slope: float | None = None) -> tuple[float, float]:
    """Residuals of the network KKT stationarity at W* with the network's own phi' (relative, G-norm):
    v - (1/sqrt m) sum_i lambda_i y_i phi'(<v,x_i>) x_i and
    u - (1/sqrt m) sum_i lambda_i (-y_i) phi'(<u,x_i>) x_i.
    """
    g = sol.gamma if slope is None else slope
    dv = np.where(sol.v_x >= 0, 1.0, g)
    du = np.where(sol.u_x >= 0, 1.0, g)
    rm = math.sqrt(sol.m)
    rv = sol.alpha - sol.lam * sol.y * dv / rm
    ru = sol.beta - sol.lam * (-sol.y) * du / rm
    nv = math.sqrt(max(float(rv @ sol.G @ rv), 0.0)) / max(math.sqrt(max(sol.vv, 0.0)), TINY)
    nu = math.sqrt(max(float(ru @ sol.G @ ru), 0.0)) / max(math.sqrt(max(sol.uu, 0.0)), TINY)
    return nv, nu


def sign_pattern_margin(sol: MaxMarginSolution) -> tuple[float, dict[str, int]]:
    """min over i of y_i <v, x_i> / (||v|| ||x_i||) and -y_i <u, x_i> / (||u|| ||x_i||) (> 0: the pattern
    of (10))."""
    nx = np.sqrt(np.diag(sol.G))
    cv = sol.y * sol.v_x / (max(math.sqrt(max(sol.vv, 0.0)), TINY) * nx)
    cu = -sol.y * sol.u_x / (max(math.sqrt(max(sol.uu, 0.0)), TINY) * nx)
    iv, iu = int(np.argmin(cv)), int(np.argmin(cu))
    if cv[iv] <= cu[iu]:
        return float(cv[iv]), {"i": iv, "row": "v"}
    return float(cu[iu]), {"i": iu, "row": "u"}


def _rank2(sol: MaxMarginSolution) -> float:
    """rank of W* (rows v, u): 2 unless v and u are parallel (to 1e-12 in squared cosine)."""
    return 2.0 if sol.uv**2 < sol.vv * sol.uu * (1.0 - 1e-12) else 1.0


@check("FVB-3.2b", takes="solution")
def check_kkt_structure(sol: MaxMarginSolution, slope: float | None = None) -> CheckResult:
    """FVB-3.2b on the program: W* (rows v, u from (10)) is a KKT point of (5) with the multipliers lambda.

    (i) sign pattern y_i <v,x_i> > 0 > y_i <u,x_i> (cosine margin, ``sign_pattern_margin``); (ii) the
    network's stationarity with phi' read from the pre-activations (``stationarity_residual``), tolerance
    ``sol.tolerance`` (relative).  Margin min(cosine margin, 1 - residual / tol) -- the first is the binding
    one when the pattern is wrong, the second when the multipliers do not reproduce (v, u).
    """
    cos_m, where = sign_pattern_margin(sol)
    nv, nu = stationarity_residual(sol, slope)
    tol = sol.tolerance
    res = max(nv, nu)
    margin = min(cos_m, 1.0 - res / tol)
    return CheckResult("FVB-3.2b", margin=margin, measured=res, bound=tol, where=where,
                       implied={"sign-pattern cosine margin": cos_m, "stationarity v": nv,
                                "stationarity u": nu, "rank(W*)": _rank2(sol)},
                       config=describe_solution(sol),
                       note="W* = (v x m1, u x m2) from (10) is a KKT point of (5); rows equal by design")


@check("FVB-3.2b", takes="solution")
def check_primal_formula(sol: MaxMarginSolution, primal: np.ndarray | None = None,
                         tol: float = PRIMAL_TOL) -> CheckResult:
    """FVB-3.2b:primal: (v, u) of formula (10) with the dual lambda equals the primal solution of (11)
    computed independently by SLSQP (``solve_primal_slsqp``), relative error in the weighted G-norm
    sqrt(m1||dv||^2 + m2||du||^2) / ||W*||.  Margin 1 - err / tol (declared solver tolerance)."""
    if primal is None:
        primal = solve_primal_slsqp(sol.G, sol.y, sol.gamma, sol.m1, sol.m2)
    da, db = primal[0] - sol.alpha, primal[1] - sol.beta
    err2 = sol.m1 * float(da @ sol.G @ da) + sol.m2 * float(db @ sol.G @ db)
    err = math.sqrt(max(err2, 0.0) / max(sol.norm2, TINY))
    return CheckResult("FVB-3.2b:primal", margin=1.0 - err / tol, measured=err, bound=tol,
                       config=describe_solution(sol), note="formula (10) vs SLSQP primal of (11)")


def multiplier_bounds(sol: MaxMarginSolution) -> tuple[float, float]:
    """(1/(2 R_max^2), 3/(2 gamma^2 R_min^2)) for the program's data."""
    r2 = np.diag(sol.G)
    return 1.0 / (2.0 * r2.max()), 3.0 / (2.0 * sol.gamma**2 * r2.min())


@check("FVB-3.2c", takes="solution")
def check_multiplier_bounds(sol: MaxMarginSolution, lam: np.ndarray | None = None) -> CheckResult:
    """FVB-3.2c: lambda_i in (lo, hi) = (1/(2 R_max^2), 3/(2 gamma^2 R_min^2)).

    Margin min_i min(lambda_i / lo - 1, 1 - lambda_i / hi) (relative slack to the nearer end).
    ``lam`` overrides the solution's multipliers (falsification)."""
    lam = sol.lam if lam is None else np.asarray(lam, dtype=float)
    lo, hi = multiplier_bounds(sol)
    s_lo = lam / lo - 1.0
    s_hi = 1.0 - lam / hi
    i_lo, i_hi = int(np.argmin(s_lo)), int(np.argmin(s_hi))
    r2 = np.diag(sol.G)
    implied = {"lambda_min R_max^2": float(lam.min() * r2.max()),
               "gamma^2 R_min^2 lambda_max": float(sol.gamma**2 * r2.min() * lam.max())}
    if s_lo[i_lo] <= s_hi[i_hi]:
        return CheckResult("FVB-3.2c", margin=float(s_lo[i_lo]), measured=float(lam[i_lo]), bound=lo,
                           where={"i": i_lo, "side": "lower"}, implied=implied, config=describe_solution(sol))
    return CheckResult("FVB-3.2c", margin=float(s_hi[i_hi]), measured=float(lam[i_hi]), bound=hi,
                       where={"i": i_hi, "side": "upper"}, implied=implied, config=describe_solution(sol))


@check("FVB-3.2d", takes="solution")
def check_program_kkt(sol: MaxMarginSolution) -> CheckResult:
    """FVB-3.2d: the KKT residuals of (11) (``MaxMarginSolution.kkt``) are within rounding.

    Margin 1 - max residual / tol.  (11) is strictly convex with linear constraints: KKT <=> the unique
    global optimum."""
    kkt = sol.kkt()
    worst = max(kkt, key=kkt.get)
    tol = sol.tolerance
    return CheckResult("FVB-3.2d", margin=1.0 - kkt[worst] / tol, measured=kkt[worst], bound=tol,
                       where={"residual": worst}, implied={**kkt, "||W*||_F^2": sol.norm2,
                                                           "iterations": float(sol.iterations)},
                       config=describe_solution(sol), note=f"solver {sol.method}")


# ---- FVB-3.2d: global optimality, and the hunt for other KKT points ----------------------------------

def global_tolerance(sol: MaxMarginSolution, terms: int) -> float:
    """Relative float64 bound on a normalized margin r = q_min ||W*|| / ||W||: ``sum_bound(terms, 1)``
    for the margins and norms of the candidate plus the program's own tolerance."""
    return sum_bound(terms, 1.0) + sol.tolerance


@check("FVB-3.2d", takes="solution")
def check_global_optimum(sol: MaxMarginSolution, normalized: np.ndarray, claim: str = "FVB-3.2d:global",
                         terms: int | None = None, where_names: tuple[str, ...] = ("candidate",),
                         note: str = "") -> CheckResult:
    """FVB-3.2d (global optimum): every candidate's normalized margin min_i y_i f(x_i;W)/||W||_F is at most
    1/||W*||_F.  ``normalized``: the candidates' values; r = normalized * ||W*||.  Margin
    1 - max(0, max r - 1) / tol (1 when no candidate exceeds the optimum)."""
    r = np.asarray(normalized, dtype=float) * math.sqrt(sol.norm2)
    if r.size == 0:
        return CheckResult(claim, math.nan, math.nan, 1.0, config=describe_solution(sol), outcome="too_short",
                           note="no candidate")
    k = int(np.nanargmax(r))
    tol = global_tolerance(sol, terms if terms is not None else 4 * sol.m * sol.n)
    excess = max(0.0, float(r[k]) - 1.0)
    idx = np.unravel_index(k, r.shape)
    return CheckResult(claim, margin=1.0 - excess / tol, measured=float(r[k]), bound=1.0,
                       where={nm: int(v) for nm, v in zip(where_names, idx, strict=False)},
                       implied={"max r": float(r[k]), "tol": tol}, config=describe_solution(sol),
                       note=note or "r = (min_i q_i / ||W||_F) ||W*||_F <= 1")














def hunt_kkt_points(sol: MaxMarginSolution, starts: int, rng: np.random.Generator,
                    init_scale: tuple[float, float] = (0.1, 3.0)) -> list[HuntPoint]:
    """Local solutions of (5) for the program's network (``local_max_margin_solutions``)."""
    return local_max_margin_solutions(sol.G, sol.y, second_layer(sol.m1, sol.m2), sol.gamma, starts, rng,
                                      init_scale)


def optimum_rows(sol: MaxMarginSolution) -> np.ndarray:
    """W*'s rows (m, n) in the orthonormal span coordinates of ``_network`` (v = L^T alpha)."""
    L = np.linalg.cholesky(sol.G)
    return np.vstack([np.tile(L.T @ sol.alpha, (sol.m1, 1)), np.tile(L.T @ sol.beta, (sol.m2, 1))])


@check("FVB-3.2a", "FVB-3.2b", "FVB-3.2d", takes="solution")
def check_hunt(sol: MaxMarginSolution, points: list[HuntPoint]) -> list[CheckResult]:
    """FVB-3.2d:hunt (no local solution beats W*'s normalized margin, exact inequality), FVB-3.2a:hunt
    (every numerically-KKT point has all margins 1) and FVB-3.2b:hunt (every such point is W*: equal rows,
    formula (10)); the last two against the declared ``HUNT_TOL`` (margin 1 - err / HUNT_TOL)."""
    cfg = describe_solution(sol)
    out = [check_global_optimum(sol, np.array([p.normalized for p in points]), "FVB-3.2d:hunt",
                                where_names=("start",),
                                note="SLSQP local solutions of (5) from random starts")]
    kkt = [k for k, p in enumerate(points) if p.is_kkt]
    info = {"starts": float(len(points)), "kkt points": float(len(kkt)),
            "converged": float(sum(p.success for p in points))}
    if not kkt:
        for cid in ("FVB-3.2a:hunt", "FVB-3.2b:hunt"):
            out.append(CheckResult(cid, math.nan, math.nan, HUNT_TOL, implied=info, config=cfg,
                                   outcome="too_short", note="no numerically-KKT local solution found"))
        return out
    err_q = np.array([float(np.max(np.abs(points[k].margins - 1.0))) for k in kkt])
    Ystar = optimum_rows(sol)
    nst = float(np.linalg.norm(Ystar))
    dist = np.array([float(np.linalg.norm(points[k].Y - Ystar)) / nst for k in kkt])
    tols = np.array([points[k].tol for k in kkt])
    info["polished"] = float(sum(points[k].polished for k in kkt))
    iq, idd = int(np.argmax(err_q / tols)), int(np.argmax(dist / tols))
    out.append(CheckResult("FVB-3.2a:hunt", margin=1.0 - float(err_q[iq] / tols[iq]),
                           measured=float(err_q[iq]), bound=float(tols[iq]), where={"start": kkt[iq]},
                           implied=info, config=cfg,
                           note="max_i |y_i f(x_i; W) - 1| over the KKT local solutions (polished: exact)"))
    out.append(CheckResult("FVB-3.2b:hunt", margin=1.0 - float(dist[idd] / tols[idd]),
                           measured=float(dist[idd]), bound=float(tols[idd]), where={"start": kkt[idd]},
                           implied=info, config=cfg,
                           note="||W - W*||_F / ||W*||_F over the KKT local solutions (polished: exact)"))
    return out


# ---- FVB-3.2e: decision boundary -----------------------------------------------------------------------

def _pieces(c1: float, c2: float, g: float) -> list[tuple[float, float, float, float]]:
    """f(a, b) = c1 phi(a) - c2 phi(b) as linear pieces p a + q b on the angular sectors [th0, th1)."""
    out = []
    for k in range(4):
        th0, th1 = k * math.pi / 2, (k + 1) * math.pi / 2
        a_pos = k in (0, 3)
        b_pos = k in (0, 1)
        out.append((th0, th1, c1 * (1.0 if a_pos else g), -c2 * (1.0 if b_pos else g)))
    return out


def boundary_arcs(c1: float, c2: float, g: float, z: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Critical angles and arc midpoints on the unit circle of (a, b) = (<v,x>, <u,x>) for
    f = c1 phi(a) - c2 phi(b) (phi(s) = max(g s, s)) and the linear form z . (a, b)."""
    crit = [k * math.pi / 2 for k in range(4)]

    def zeros(p: float, q: float) -> list[float]:
        if p == 0 and q == 0:
            return []
        th = math.atan2(-p, q) % (2 * math.pi)  # p cos th + q sin th = 0
        return [th, (th + math.pi) % (2 * math.pi)]

    crit += zeros(*z)
    for th0, th1, p, q in _pieces(c1, c2, g):
        crit += [th for th in zeros(p, q) if th0 <= th < th1]
    crit_arr = np.unique(np.mod(np.array(crit), 2 * math.pi))
    # angles computed by different formulas for the same line (e.g. the zero of z and of f's first-quadrant
    # piece, both c1 a = c2 b) differ by a few ulps: merge them, or the sliver between them is an "arc"
    keep = np.append(True, np.diff(crit_arr) > ANGLE_TOL)
    crit_arr = crit_arr[keep]
    if crit_arr.size > 1 and crit_arr[0] + 2 * math.pi - crit_arr[-1] <= ANGLE_TOL:
        crit_arr = crit_arr[:-1]
    nxt = np.append(crit_arr[1:], crit_arr[0] + 2 * math.pi)
    return crit_arr, 0.5 * (crit_arr + nxt)


def rank2_values(theta: np.ndarray, c1: float, c2: float, g: float, z: tuple[float, float]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """f and <z, x> at the unit vectors (cos th, sin th) of the (a, b)-plane."""
    a, b = np.cos(theta), np.sin(theta)

    def phi(s: np.ndarray) -> np.ndarray:
        return np.maximum(s, 0.0) + g * np.minimum(s, 0.0)

    return c1 * phi(a) - c2 * phi(b), z[0] * a + z[1] * b


@check("FVB-3.2e", takes="solution")
def check_decision_boundary(sol: MaxMarginSolution, *, slope: float | None = None,
                            z: tuple[float, float] | None = None,
                            points: np.ndarray | None = None) -> CheckResult:
    """FVB-3.2e, decided exactly on the arcs of the (a, b) unit circle (module docstring).

    ``slope`` (activation in f) and ``z`` ((coefficient of a, coefficient of b) of the linear form;
    default (c1, -c2), i.e. z = c1 v - c2 u) can be overridden to plant violations.  ``points``: (N, 2)
    values (<v,x>, <u,x>) of sample points, whose worst normalized agreement
    D = sgn(<z,x>) f(x) / (|(a,b)| (c1 + c2)) is reported (``worst D``).
    Margin -(total angle of disagreeing arcs) / (2 pi): 0 when held.
    """
    g = sol.gamma if slope is None else slope
    c1, c2 = sol.c1, sol.c2
    zz = (c1, -c2) if z is None else z
    crit, mids = boundary_arcs(c1, c2, g, zz)
    f, lin = rank2_values(mids, c1, c2, g, zz)
    nxt = np.append(crit[1:], crit[0] + 2 * math.pi)
    width = nxt - crit
    bad = np.sign(f) != np.sign(lin)
    frac = float(width[bad].sum() / (2 * math.pi))
    implied: dict[str, float] = {"arcs": float(mids.size), "disagreeing arcs": float(bad.sum())}
    where: dict[str, object] = {}
    if bad.any():
        k = int(np.argmax(np.where(bad, width, -1.0)))
        where = {"theta": float(mids[k]), "a": float(math.cos(mids[k])), "b": float(math.sin(mids[k]))}
    if points is not None and len(points):
        D = agreement(points, c1, c2, g, zz)
        implied["worst D (samples)"] = float(D.min())
        implied["samples"] = float(len(D))
    return CheckResult("FVB-3.2e", margin=-frac if frac > 0 else 0.0, measured=frac, bound=0.0, where=where,
                       implied=implied, config=describe_solution(sol),
                       note="fraction of directions of the (<v,x>,<u,x>)-plane where sign f != sign <z,x>; an "
                            "identity for any rank-2 W with equal rows per block (it checks the arithmetic, not the "
                            "theorem; along GD the disagreement is measured with FVB-3.2d:gd)")


def agreement(ab: np.ndarray, c1: float, c2: float, g: float, z: tuple[float, float]) -> np.ndarray:
    """D(x) = sgn(<z,x>) f(x) / (|(a,b)| (c1 + c2)) for rows (a, b) = (<v,x>, <u,x>); where <z,x> = 0
    exactly, D = -|f| / (...).  Negative D is a disagreement of signs."""
    ab = np.atleast_2d(np.asarray(ab, dtype=float))
    a, b = ab[:, 0], ab[:, 1]

    def phi(s: np.ndarray) -> np.ndarray:
        return np.maximum(s, 0.0) + g * np.minimum(s, 0.0)

    f = c1 * phi(a) - c2 * phi(b)
    lin = z[0] * a + z[1] * b
    nrm = np.maximum(np.hypot(a, b), TINY) * (c1 + c2)
    return np.where(lin != 0, np.sign(lin) * f, -np.abs(f)) / nrm


def general_disagreement(C: np.ndarray, a: np.ndarray, g: float, xi: np.ndarray) -> tuple[float, float]:
    """For any first layer with row coordinates C (M, r) (rows of W in an orthonormal basis of their span)
    and sample coordinates xi (N, r): (fraction of samples with sign f(x; W) != sign <z, x>, worst
    normalized agreement min sgn(<z,x>) f(x) / (|W x| ||a||_1)), z = sum_k a_k w_k."""
    P = xi @ C.T  # (N, M) pre-activations
    f = (np.maximum(P, 0.0) + g * np.minimum(P, 0.0)) @ a
    lin = P @ a
    frac = float(np.mean(np.sign(f) != np.sign(lin)))
    nrm = np.maximum(np.linalg.norm(P, axis=1), TINY) * float(np.abs(a).sum())
    return frac, float(np.min(np.sign(lin) * f / nrm))


def row_coordinates(K: np.ndarray) -> np.ndarray:
    """(M, M) coordinates C of W's rows in an orthonormal basis of their span from K = W W^T
    (C C^T = K, C = U sqrt(Lambda))."""
    ev, U = np.linalg.eigh(0.5 * (K + K.T))
    return U * np.sqrt(np.maximum(ev, 0.0))[None, :]


# ---- along GD --------------------------------------------------------------------------------------------

def limit_series(traj: Trajectory, sol: MaxMarginSolution, samples: int = 0, seed: int = 0
                 ) -> dict[str, np.ndarray]:
    """Per checkpoint: angle(W(t), W*), margin spread max q / min q - 1, normalized-margin gap 1 - r,
    block spread ||W - blockmean W||_F / ||W||_F, rank-2 tail sqrt(sum_{k>=3} s_k^2) / ||W||_F and (when
    ``samples`` > 0) the sign-disagreement fraction of f(.; W(t)) vs <z(t), .> on Gaussian directions of
    the row space."""
    G, P0, K0 = traj.data.G, traj.init.P0, traj.init.K0
    D = np.diag(G)
    Zs = sol.rows_coef()
    nW2 = sol.norm2
    m1, _ = traj.widths
    a = traj.config.second_layer
    g = traj.config.slope
    rng = np.random.default_rng(seed)
    T = traj.times.size
    out = {k: np.full(T, np.nan) for k in ("angle", "spread", "gap", "block", "tail", "disagree")}
    M = Zs.shape[0]
    xi = rng.standard_normal((samples, M)) if samples else None
    for k in range(T):
        Z = traj.rho_flat[k] / D[None, :]
        K = weight_gram(K0, P0, Z, G)
        ev = np.sort(np.linalg.eigvalsh(K))[::-1]
        fro2 = float(np.trace(K))
        if fro2 <= 0:
            continue
        inner = float(np.sum(P0 * Zs) + np.sum((Z @ G) * Zs))
        d2 = max(2.0 - 2.0 * inner / math.sqrt(fro2 * nW2), 0.0)  # ||W/|W| - W*/|W*| ||^2
        out["angle"][k] = 2.0 * math.asin(min(1.0, math.sqrt(d2) / 2.0))
        q = traj.margins[k]
        if q.min() > 0:
            out["spread"][k] = float(q.max() / q.min() - 1.0)
        out["gap"][k] = 1.0 - float(q.min()) / math.sqrt(fro2) * math.sqrt(nW2)
        blk = 0.0
        for sl in (slice(0, m1), slice(m1, M)):
            Kb = K[sl, sl]
            blk += float(np.trace(Kb) - Kb.sum() / Kb.shape[0])
        out["block"][k] = math.sqrt(max(blk, 0.0) / fro2)
        out["tail"][k] = math.sqrt(max(float(ev[2:].sum()), 0.0) / fro2)
        if xi is not None:
            out["disagree"][k] = general_disagreement(row_coordinates(K), a, g, xi)[0]
    return out




def _beta(times: np.ndarray, e: np.ndarray, window: float = WINDOW) -> float:
    t = np.asarray(times, dtype=float)
    late = late_window(t, window, t_min=2) & np.isfinite(e) & (e > 0)
    if late.sum() < MIN_POINTS:
        return math.nan
    return fit_power(np.log(t[late]), e[late])[1]


@check("FVB-3.2a", "FVB-3.2b", "FVB-3.2d")
def check_gd_limit(traj: Trajectory, sol: MaxMarginSolution | None = None, samples: int = 2000,
                   series: dict[str, np.ndarray] | None = None) -> list[CheckResult]:
    """FVB-3.2a:gd, FVB-3.2b:gd, FVB-3.2d:gd (rates, see module docstring) and FVB-3.2d:global (every GD
    iterate's normalized margin <= 1/||W*||)."""
    cfg, data = traj.config, traj.data
    config = describe(cfg, data)
    config["loss"] = cfg.loss
    config["C[FVB-7]"] = fvb7_ratio(data, cfg.slope) if cfg.gamma is not None else math.nan
    if traj.diverged:
        return [CheckResult(c, math.nan, math.nan, BETA_MIN, config=config, outcome="diverged",
                            note=f"diverged at {traj.diverged_at}")
                for c in ("FVB-3.2a:gd", "FVB-3.2b:gd", "FVB-3.2d:gd", "FVB-3.2d:global")]
    if sol is None:
        try:
            sol = solution_for(cfg, data)
        except SolverNotConverged as e:
            return [CheckResult(c, math.nan, math.nan, BETA_MIN, config=config, outcome="cannot_judge",
                                note=f"cannot judge: {e}")
                    for c in ("FVB-3.2a:gd", "FVB-3.2b:gd", "FVB-3.2d:gd", "FVB-3.2d:global")]
    s = limit_series(traj, sol, samples=samples) if series is None else series
    t = traj.times
    iT = -1
    res = [
        decay_check("FVB-3.2a:gd", t, s["spread"], config, {"lambda_min": float(sol.lam.min())},
               note="max_i q_i / min_k q_k - 1 ~ (ln t)^-beta"),
        decay_check("FVB-3.2b:gd", t, s["block"], config,
               {"tail(T)": float(s["tail"][iT]), "beta(tail)": _beta(t, s["tail"])},
               note="||W - blockmean W||_F/||W||_F ~ (ln t)^-beta; rank-2 tail reported"),
        decay_check("FVB-3.2d:gd", t, s["angle"], config,
               {"gap 1-r (T)": float(s["gap"][iT]), "beta(gap)": _beta(t, s["gap"]),
                "disagree(T) [3.2e along GD]": float(s["disagree"][iT]),
                "disagree(first t>=1)": float(s["disagree"][int(np.argmax(t >= 1))])},
               note="angle(W(t), W*) ~ (ln t)^-beta"),
    ]
    normalized = traj.margins.min(axis=1) / np.sqrt(np.maximum(traj.fro2[:, 2], TINY))
    res.append(check_global_optimum(sol, normalized, "FVB-3.2d:global", terms=8 * sol.m * sol.n,
                                    where_names=("checkpoint",),
                                    note="GD iterates: (min_i q_i / ||W(t)||_F) ||W*||_F <= 1"))
    res[-1] = CheckResult(res[-1].claim, res[-1].margin, res[-1].measured, res[-1].bound,
                          where={"t": int(t[res[-1].where.get("checkpoint", 0)])}, implied=res[-1].implied,
                          config=config, note=res[-1].note)
    return res
