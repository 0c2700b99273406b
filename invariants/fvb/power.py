"""FVB's deviation families for ``python -m invariants power`` (``invariants._internal.power``): Thm 3.2.

References: one GD run inside Thm 3.2's regime (the fixed case of the tests: n = 5, gamma = 0.4, m = 7 with
m1 = 3, data meeting (7) at 90%; ``gf_reference``), the program (11) on the same data (``program_reference``:
its solution, an independent SLSQP primal solve and 8 SLSQP local solutions of (5) from random starts).
Thm 4.2's families are in ``power_bounds``, the lemmas' (FVB-GZ, FVB-L3.3) in ``power_lemmas``.

Kinds: ``exact`` breaks an identity by a relative eps in one entry of the object the check reads (a span
coefficient of W*, one multiplier, one coefficient of z, one margin or row entry of a hunted KKT point);
``bound`` moves the quantity nearest its bound past it by a fraction eps (eps = 0 is the unplanted
reference); ``limit`` adds eps to a deviation that should tend to 0 along GD.  The identities FVB-3.2a/b/d/e
and the bounds on the program are decided against float64 bounds, so a planted eps is caught from about one
tolerance up; FVB-3.2b:primal is judged at the declared SLSQP tolerance ``PRIMAL_TOL`` (1e-6, the primal
solve itself is off by ~1e-9), so a planted error of (10) is seen from ~2e-6; the ``:gd`` rate rules see a
nonzero limit only once it flattens the fitted decay exponent below ``BETA_MIN`` (a limit eps of the order of
the deviation at T).

FVB-3.2e is an identity for every rank-2 W with equal rows per block (its check decides it on the arcs of the
(<v,x>, <u,x>) circle); it can fail only through z, so the family plants z's coefficients, not W*.  Changing
the activation's slope in f to any gamma' > 0 does not break it (only gamma' = 0, where f vanishes on a
whole quadrant, does), so the slope gives no eps-family.
"""

from __future__ import annotations

import dataclasses
import math
from functools import lru_cache

import numpy as np

from sim import Dataset, SimConfig, Trajectory, nearly_orthogonal_gram, simulate
from sim.data import labels

from .._internal.kkt import HuntPoint
from .._internal.limit import limit_direction
from .._internal.power import deviation
from .limits import check_program_is_gd_limit
from .maxmargin import (
    check_decision_boundary,
    check_gd_limit,
    check_hunt,
    check_kkt_margins,
    check_kkt_structure,
    check_multiplier_bounds,
    check_primal_formula,
    check_program_kkt,
    hunt_kkt_points,
    limit_series,
    solution_for,
)
from .program import MaxMarginSolution, _solution, solve_primal_slsqp


def _gf_case(steps: int) -> tuple[SimConfig, Dataset]:
    rng = np.random.default_rng(3)
    n, gamma, R = 5, 0.4, 1.5
    y = labels(n, rng)
    data = Dataset.virtual(nearly_orthogonal_gram(n, rng, 0.9 * gamma**3 / (3 * R**2 * n), R, 1.0), y, 1000)
    cfg = SimConfig(network="fvb", activation="leaky_relu", gamma=gamma, n=n, d=data.d, m=7, m1=3,
                    eta=0.5 * n / data.R_max**2, sigma0=1e-6, steps=steps, num_checkpoints=40)
    return cfg, data


@lru_cache(maxsize=8)
def gf_reference(steps: int) -> Trajectory:
    cfg, data = _gf_case(steps)
    return simulate(cfg, data=data)


@lru_cache(maxsize=8)
def _gf_series(steps: int) -> dict[str, np.ndarray]:
    tr = gf_reference(steps)
    return limit_series(tr, solution_for(tr.config, tr.data))


@dataclasses.dataclass(frozen=True)
class ProgramReference:
    sol: MaxMarginSolution
    primal: np.ndarray  # (2, n) SLSQP primal solution of (11), span coefficients
    points: tuple[HuntPoint, ...]  # SLSQP local solutions of (5)


@lru_cache(maxsize=1)
def _program() -> ProgramReference:
    cfg, data = _gf_case(1)
    sol = solution_for(cfg, data)
    primal = solve_primal_slsqp(sol.G, sol.y, sol.gamma, sol.m1, sol.m2)
    return ProgramReference(sol, primal, tuple(hunt_kkt_points(sol, 8, np.random.default_rng(0))))


def program_reference(steps: int) -> ProgramReference:
    """The program (11) on ``gf_reference``'s data (no horizon: the program does not depend on it)."""
    return _program()


def _scaled(v: np.ndarray, i: int, eps: float) -> np.ndarray:
    out = np.array(v, dtype=np.float64, copy=True)
    out[i] *= 1.0 + eps
    return out


def _past(bound: float, eps: float, upper: bool) -> float:
    """A value past ``bound`` by a fraction eps: bound (1 + eps) for an upper bound, bound / (1 + eps) else."""
    return bound * (1.0 + eps) if upper else bound / (1.0 + eps)


# ---- along GD ------------------------------------------------------------------------------------------

@deviation("FVB-3.2d:limit", "GD's limit direction rotated by eps radians off the program's W*", "limit",
           gf_reference)
def _rotated(tr: Trajectory, eps: float) -> object:
    lim = limit_direction(tr)
    G = tr.data.G
    E = np.zeros_like(lim.Z)
    E[0, 0] = 1.0
    E -= (np.sum((E @ G) * lim.Z) / lim.norm**2) * lim.Z
    E *= lim.norm / math.sqrt(np.sum((E @ G) * E))
    return check_program_is_gd_limit(tr, dataclasses.replace(lim, Z=math.cos(eps) * lim.Z + math.sin(eps) * E))


def _offset_series(tr: Trajectory, key: str, eps: float) -> object:
    s = dict(_gf_series(int(tr.config.steps)))
    s[key] = s[key] + eps
    return check_gd_limit(tr, sol=_program().sol, series=s)


@deviation("FVB-3.2d:gd", "angle(W(t), W*) -> eps + angle(t): a nonzero limit eps", "limit", gf_reference)
def _angle_offset(tr: Trajectory, eps: float) -> object:
    return _offset_series(tr, "angle", eps)


@deviation("FVB-3.2a:gd", "margin spread max q / min q - 1 -> eps + spread(t): a nonzero limit eps", "limit",
           gf_reference)
def _spread_offset(tr: Trajectory, eps: float) -> object:
    return _offset_series(tr, "spread", eps)


@deviation("FVB-3.2b:gd", "||W - blockmean W||_F / ||W||_F -> eps + block(t): a nonzero limit eps", "limit",
           gf_reference)
def _block_offset(tr: Trajectory, eps: float) -> object:
    return _offset_series(tr, "block", eps)


@deviation("FVB-3.2d:global", "the last iterate's normalized margin beats W*'s by a fraction eps", "bound",
           gf_reference)
def _beats_optimum(tr: Trajectory, eps: float) -> object:
    s = _gf_series(int(tr.config.steps))
    sol = _program().sol
    if eps == 0:
        return check_gd_limit(tr, sol=sol, series=s)
    ref = next(r for r in check_gd_limit(tr, sol=sol, series=s) if r.claim == "FVB-3.2d:global")
    k = int(np.flatnonzero(tr.times == ref.where["t"])[0])
    q = tr.margins.copy()
    q[k] *= _past(1.0, eps, True) / ref.measured  # r(t_k) = (min_i q_i / ||W||_F) ||W*||_F -> 1 + eps
    return check_gd_limit(dataclasses.replace(tr, margins=q), sol=sol, series=s)


# ---- on the program (11) -------------------------------------------------------------------------------

@deviation("FVB-3.2a", "W*'s v: one span coefficient alpha_0 x (1 + eps) (margins y_i f(x_i; W*) off 1)",
           "exact", program_reference)
def _margins_off(ref: ProgramReference, eps: float) -> object:
    return check_kkt_margins(dataclasses.replace(ref.sol, alpha=_scaled(ref.sol.alpha, 0, eps)))


@deviation("FVB-3.2b", "one multiplier lambda_0 x (1 + eps), (v, u) kept: stationarity (10) off by eps lambda_0 x_0",
           "exact", program_reference)
def _stationarity_off(ref: ProgramReference, eps: float) -> object:
    return check_kkt_structure(dataclasses.replace(ref.sol, lam=_scaled(ref.sol.lam, 0, eps)))


@deviation("FVB-3.2b:primal", "formula (10)'s v: one span coefficient alpha_0 x (1 + eps), against the primal",
           "exact", program_reference)
def _formula_off(ref: ProgramReference, eps: float) -> object:
    return check_primal_formula(dataclasses.replace(ref.sol, alpha=_scaled(ref.sol.alpha, 0, eps)),
                                primal=ref.primal)


@deviation("FVB-3.2c", "the multiplier nearest its bound moved past it by a fraction eps", "bound",
           program_reference)
def _multiplier_past(ref: ProgramReference, eps: float) -> object:
    base = check_multiplier_bounds(ref.sol)
    if eps == 0:
        return base
    lam = ref.sol.lam.copy()
    lam[base.where["i"]] = _past(base.bound, eps, base.where["side"] == "upper")
    return check_multiplier_bounds(ref.sol, lam=lam)


@deviation("FVB-3.2d", "one multiplier lambda_0 x (1 + eps), (v, u) from (10): KKT of (11) off by eps",
           "exact", program_reference)
def _kkt_off(ref: ProgramReference, eps: float) -> object:
    s = ref.sol
    return check_program_kkt(_solution(s.G, s.y, s.gamma, s.m1, s.m2, s.Q, _scaled(s.lam, 0, eps),
                                       s.iterations, s.method))


@deviation("FVB-3.2e", "z = c1 v - c2 (1 + eps) u: one coefficient of z off by a relative eps", "exact",
           program_reference)
def _z_off(ref: ProgramReference, eps: float) -> object:
    return check_decision_boundary(ref.sol, z=(ref.sol.c1, -ref.sol.c2 * (1.0 + eps)))


# ---- the hunt for other KKT points of (5) --------------------------------------------------------------

def _hunt_with(ref: ProgramReference, **changes: object) -> object:
    """check_hunt with the first hunted point replaced by ``dataclasses.replace(point, **changes)``."""
    points = list(ref.points)
    points[0] = dataclasses.replace(points[0], **changes)
    return check_hunt(ref.sol, points)


@deviation("FVB-3.2a:hunt", "one KKT local solution's margin y_0 f(x_0) x (1 + eps)", "exact", program_reference)
def _hunt_margin_off(ref: ProgramReference, eps: float) -> object:
    return _hunt_with(ref, margins=_scaled(ref.points[0].margins, 0, eps))


@deviation("FVB-3.2b:hunt", "one KKT local solution's row entry moved by eps ||W*||_F off W*", "exact",
           program_reference)
def _hunt_row_off(ref: ProgramReference, eps: float) -> object:
    Y = ref.points[0].Y.copy()
    Y[0, 0] += eps * math.sqrt(ref.sol.norm2)
    return _hunt_with(ref, Y=Y)


@deviation("FVB-3.2d:hunt", "one local solution's normalized margin beats W*'s by a fraction eps", "bound",
           program_reference)
def _hunt_beats_optimum(ref: ProgramReference, eps: float) -> object:
    if eps == 0:
        return check_hunt(ref.sol, list(ref.points))
    return _hunt_with(ref, normalized=_past(1.0, eps, True) / math.sqrt(ref.sol.norm2))
