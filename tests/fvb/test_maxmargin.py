"""FVB Theorem 3.2 (KKT structure of the leaky ReLU max-margin problem): FVB-3.2a..e.

Property tests draw data meeting condition (7) (virtual Gram matrices: ``nearly_orthogonal_gram`` or
equicorrelated ones, p / R_min^2 = u gamma^3 / (3 R^2 n), u < 1) and check the claims on the exact solution
of the convex program (11), on SLSQP local solutions of (5) from random starts, and along GD with a small
step (the frozen-pattern engine makes 10^6 steps cost ~0.1 s).  Falsification tests plant violations
(perturbed multipliers, a wrong slope, data past (7) -- including (7) with gamma instead of gamma^3 --,
a rotated limit, a planted third direction, a wrong linear form) and check the margin's sign and size.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, target
from hypothesis import strategies as st

from invariants import Case, get
from invariants.fvb.maxmargin import (
    HUNT_TOL,
    HuntPoint,
    agreement,
    check_decision_boundary,
    check_gd_limit,
    check_global_optimum,
    check_hunt,
    check_kkt_margins,
    check_kkt_structure,
    check_multiplier_bounds,
    check_primal_formula,
    check_program_kkt,
    fvb7_ratio,
    general_disagreement,
    hunt_kkt_points,
    in_fvb_gf_regime,
    limit_series,
    multiplier_bounds,
    row_coordinates,
    second_layer,
    solution_for,
    stationarity_residual,
)
from invariants.fvb.program import solve_program, solve_program_nnls
from invariants.fvb.regime import fvb7_data, fvb_gf_cases
from sim import Dataset, SimConfig, nearly_orthogonal_gram, simulate
from sim.data import labels

# the program-level checks cost milliseconds: more examples than the profile's default
EXAMPLES = max(40, settings().max_examples)


# ---- strategies ----------------------------------------------------------------------------------




@st.composite
def widths(draw: st.DrawFn, lo: int = 1, hi: int = 10) -> tuple[int, int]:
    return draw(st.integers(lo, hi), label="m1"), draw(st.integers(lo, hi), label="m2")




def _fixed_data(seed: int = 3, n: int = 5, gamma: float = 0.4, R: float = 1.5, u: float = 0.9) -> Dataset:
    rng = np.random.default_rng(seed)
    y = labels(n, rng)
    return Dataset.virtual(nearly_orthogonal_gram(n, rng, u * gamma**3 / (3 * R**2 * n), R, 1.0), y, 1000)


def _fixed_case(steps: int = 300_000, gamma: float = 0.4, m: int = 7, m1: int = 3) -> Case:
    data = _fixed_data(gamma=gamma)
    cfg = SimConfig(network="fvb", activation="leaky_relu", gamma=gamma, n=data.n, d=data.d, m=m, m1=m1,
                    eta=0.5 * data.n / data.R_max**2, sigma0=1e-6, steps=steps, num_checkpoints=40)
    assert in_fvb_gf_regime(cfg, data)
    return Case(cfg, data)


def _violating() -> tuple[Dataset, float]:
    """Far past (7): x_2 nearly 1.8 x_1 in the same class, so x_1's constraint makes x_2's margin 1.8."""
    G = np.array([[1.0, 1.8, 0.0], [1.8, 4.0, 0.0], [0.0, 0.0, 1.0]])
    return Dataset.virtual(G, np.array([1.0, 1.0, -1.0]), 100), 0.5


# ---- registry and solver ---------------------------------------------------------------------------


def test_registry_entries() -> None:
    kinds = {"FVB-3.2a": "explicit", "FVB-3.2b": "exact", "FVB-3.2c": "explicit", "FVB-3.2d": "exact",
             "FVB-3.2e": "exact"}
    for cid, kind in kinds.items():
        c = get(cid)
        assert c.paper == "FVB" and c.kind == kind and c.status == "checked" and c.in_regime is not None


@pytest.mark.claim("FVB-3.2d")
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_solver_against_nnls(data: st.DataObject) -> None:
    """The active-set dual solver agrees with scipy's NNLS on the Cholesky form, on any data (also far
    past (7), where some lambda_i = 0) and both meet the KKT conditions to rounding."""
    n = data.draw(st.integers(2, 14), label="n")
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed")
    g = data.draw(st.floats(0.0, 0.95), label="gamma")
    m1, m2 = data.draw(widths())
    rng = np.random.default_rng(seed)
    y = labels(n, rng, "random")
    X = rng.standard_normal((n, n + data.draw(st.integers(0, 3)))) + data.draw(st.floats(-3, 3))
    G = X @ X.T
    a, b = solve_program(G, y, g, m1, m2), solve_program_nnls(G, y, g, m1, m2)
    assert check_program_kkt(a).held and check_program_kkt(b).held
    assert np.max(np.abs(a.lam - b.lam)) <= 1e-9 * a.lam.max()


# ---- FVB-3.2a..e on the program -------------------------------------------------------------------


@pytest.mark.claim("FVB-3.2a", "FVB-3.2b", "FVB-3.2c", "FVB-3.2d", "FVB-3.2e")
@settings(max_examples=EXAMPLES)
@given(dg=fvb7_data(), mm=widths())
def test_program_claims(dg: tuple[Dataset, float], mm: tuple[int, int], record_check) -> None:
    data, g = dg
    assert fvb7_ratio(data, g) >= 1.0
    sol = solve_program(data.G, data.y, g, *mm)
    for res in (check_kkt_margins(sol), check_kkt_structure(sol), check_multiplier_bounds(sol),
                check_program_kkt(sol), check_decision_boundary(sol)):
        record_check(res)
        assert res.held, res


@pytest.mark.claim("FVB-3.2b")
@given(dg=fvb7_data(), mm=widths())
def test_formula_against_primal(dg: tuple[Dataset, float], mm: tuple[int, int], record_check) -> None:
    """Formula (10) with the dual multipliers equals an independent primal solve of (11) (SLSQP)."""
    data, g = dg
    res = record_check(check_primal_formula(solve_program(data.G, data.y, g, *mm)))
    assert res.held, res


@pytest.mark.claim("FVB-3.2a", "FVB-3.2b", "FVB-3.2d")
@settings(max_examples=max(20, settings().max_examples))
@given(dg=fvb7_data(n=(2, 7)), mm=widths(1, 5), seed=st.integers(0, 2**31 - 1))
def test_hunt_for_other_kkt_points(dg: tuple[Dataset, float], mm: tuple[int, int], seed: int,
                                   record_check) -> None:
    """SLSQP local solutions of (5) from random starts: none beats W*, and every KKT point found is W*."""
    data, g = dg
    sol = solve_program(data.G, data.y, g, *mm)
    for res in check_hunt(sol, hunt_kkt_points(sol, 8, np.random.default_rng(seed))):
        record_check(res)
        assert res.held, res


@pytest.mark.claim("FVB-3.2e")
@settings(max_examples=EXAMPLES)
@given(dg=fvb7_data(), mm=widths(), seed=st.integers(0, 2**31 - 1),
       theta=st.floats(0.0, 2 * math.pi, exclude_max=True))
def test_decision_boundary_points(dg: tuple[Dataset, float], mm: tuple[int, int], seed: int, theta: float,
                                  record_check) -> None:
    """Sign agreement on sample points: random x in the data span (orthonormal coordinates) plus one
    direction theta of the (<v,x>, <u,x>)-plane, targeted at the most negative normalized agreement."""
    data, g = dg
    sol = solve_program(data.G, data.y, g, *mm)
    L = np.linalg.cholesky(data.G)
    xi = np.random.default_rng(seed).standard_normal((200, data.n))  # x = sum_k xi_k e_k in span coords
    ab = np.stack([xi @ (L.T @ sol.alpha), xi @ (L.T @ sol.beta)], axis=1)
    ab = np.vstack([ab, [[math.cos(theta), math.sin(theta)]]])
    z = (sol.c1, -sol.c2)
    D = agreement(ab, sol.c1, sol.c2, sol.gamma, z)
    target(-float(D.min()), label="-(worst normalized agreement)")
    res = record_check(check_decision_boundary(sol, points=ab))
    assert res.held, res
    assert float(D.min()) >= -1e-12, D.min()  # a zero of both forms rounds to +-1e-16


# ---- along GD -------------------------------------------------------------------------------------


@pytest.mark.claim("FVB-3.2a", "FVB-3.2b", "FVB-3.2d")
@settings(max_examples=max(20, settings().max_examples))
@given(case=fvb_gf_cases())
def test_gd_limit(case: Case, record_check) -> None:
    tr = case.run()
    assert not tr.diverged, case
    for res in check_gd_limit(tr):
        record_check(res)
        assert res.held, (case, res)


@pytest.mark.claim("FVB-3.2d")
@settings(max_examples=max(20, settings().max_examples))
@given(case=fvb_gf_cases(steps=100_000))
def test_gd_limit_direction_is_the_programs_solution(case: Case, record_check) -> None:
    """FVB-3.2d:limit: the limit direction on GD's frozen pattern is the program (11)'s W* to rounding."""
    from invariants.fvb.limits import check_program_is_gd_limit

    res = record_check(check_program_is_gd_limit(case.run()))
    assert res.outcome != "failed", (case, res)


@pytest.mark.falsify
@pytest.mark.claim("FVB-3.2d")
@pytest.mark.parametrize("angle", [1e-2, 1e-5])
def test_a_limit_rotated_off_the_program_fails(angle: float) -> None:
    """A limit direction planted at a small angle from W* (a 1% angle is 1 - cos = 5e-5) fails."""
    from invariants import limit_direction
    from invariants.fvb.limits import check_program_is_gd_limit

    tr = _fixed_case(steps=100_000).run()
    lim = limit_direction(tr)
    assert check_program_is_gd_limit(tr, lim).held
    # rotate within the span: mix in a direction orthogonal to W* (in the G inner product)
    G = tr.data.G
    E = np.zeros_like(lim.Z)
    E[0, 0] = 1.0
    E -= (np.sum((E @ G) * lim.Z) / lim.norm**2) * lim.Z
    E *= lim.norm / math.sqrt(np.sum((E @ G) * E))
    Zr = math.cos(angle) * lim.Z + math.sin(angle) * E
    res = check_program_is_gd_limit(tr, dataclasses.replace(lim, Z=Zr))
    assert res.outcome == "failed" and res.measured == pytest.approx(1 - math.cos(angle), rel=1e-3)


@pytest.mark.slow
@pytest.mark.claim("FVB-3.2a", "FVB-3.2b", "FVB-3.2d")
@settings(max_examples=10)
@given(case=fvb_gf_cases(steps=100_000_000, checkpoints=60))
def test_gd_limit_long(case: Case, record_check) -> None:
    """10^8 steps (the direction converges at rate 1/log t: e(T) is about 2/3 of its value at 10^6)."""
    tr = case.run()
    for res in check_gd_limit(tr):
        record_check(res)
        assert res.held, (case, res)


# ---- falsification ---------------------------------------------------------------------------------


@pytest.mark.falsify
@pytest.mark.claim("FVB-3.2c")
def test_multiplier_bounds_falsify_perturbed() -> None:
    sol = solve_program(_fixed_data().G, _fixed_data().y, 0.4, 3, 4)
    lo, hi = multiplier_bounds(sol)
    lam = sol.lam.copy()
    lam[2] = 1.5 * hi
    assert check_multiplier_bounds(sol, lam).margin == pytest.approx(-0.5, abs=1e-12)
    lam = sol.lam.copy()
    lam[0] = 0.5 * lo
    assert check_multiplier_bounds(sol, lam).margin == pytest.approx(-0.5, abs=1e-12)


@pytest.mark.falsify
@pytest.mark.claim("FVB-3.2a", "FVB-3.2c")
def test_falsify_past_condition_7() -> None:
    """Far past (7) the program leaves x_2 inactive: lambda_2 = 0 (3.2c margin -1), y_2 f(x_2; W*) = 1.8."""
    data, g = _violating()
    assert fvb7_ratio(data, g) < 0.01
    sol = solve_program(data.G, data.y, g, 2, 2)
    assert sol.lam[1] == 0.0
    res_c = check_multiplier_bounds(sol)
    assert res_c.margin == pytest.approx(-1.0) and res_c.where == {"i": 1, "side": "lower"}
    res_a = check_kkt_margins(sol)
    assert res_a.measured == pytest.approx(1.8, rel=1e-12)
    assert res_a.margin == pytest.approx(1.0 - 0.8 / sol.tolerance, rel=1e-9)


@pytest.mark.falsify
@pytest.mark.claim("FVB-3.2a", "FVB-3.2b")
@settings(max_examples=EXAMPLES)
@given(dg=fvb7_data(n=(2, 4), gamma=(0.05, 0.1), power=1.0, u=(0.9, 1.0), R_choices=(1.0,)),
       mm=widths(1, 8))
def test_falsify_wrong_gamma_power(dg: tuple[Dataset, float], mm: tuple[int, int]) -> None:
    """(7) with gamma instead of gamma^3 is not enough: the program's solution loses the sign pattern of
    (10) for some such data.  Hypothesis looks for a case (target: the 3.2b margin); the assertion is that
    whenever the pattern breaks, 3.2b reports it with a negative cosine margin (and then 3.2a's network
    margins differ from 1)."""
    data, g = dg
    sol = solve_program(data.G, data.y, g, *mm)
    res = check_kkt_structure(sol)
    target(-min(res.margin, 1.0), label="-(3.2b margin)")
    cos_m = res.implied["sign-pattern cosine margin"]
    if cos_m < 0:
        assert res.margin < 0
        assert not check_kkt_margins(sol).held


@pytest.mark.falsify
@pytest.mark.claim("FVB-3.2a", "FVB-3.2b")
def test_falsify_wrong_gamma_power_example() -> None:
    """A concrete instance of the above: n = 2, opposite classes correlated positively with
    p = gamma R_min^2 / (3 R^2 n) (the gamma^1 reading), gamma = 0.05, m1 = 1, m2 = 7."""
    g, n = 0.05, 2
    c = 0.999 * g / (3 * n)
    y = np.array([1.0, -1.0])
    data = Dataset.virtual(np.array([[1.0, c], [c, 1.0]]), y, 10)
    assert fvb7_ratio(data, g) < 1 and c <= g / (3 * n)
    sol = solve_program(data.G, y, g, 1, 7)
    res_b = check_kkt_structure(sol)
    assert res_b.implied["sign-pattern cosine margin"] < 0 and res_b.margin < 0
    res_a = check_kkt_margins(sol)
    assert res_a.margin < 0 and abs(res_a.measured - 1.0) > 1e-6


@pytest.mark.falsify
@pytest.mark.claim("FVB-3.2b")
def test_structure_falsify_wrong_slope() -> None:
    """W* solved for gamma = 0.4 but judged with a network of slope 0.6: the stationarity residual is the
    exact |0.6 - 0.4| share of the I- (for v) and I+ (for u) terms."""
    data = _fixed_data()
    sol = solve_program(data.G, data.y, 0.4, 3, 4)
    res = check_kkt_structure(sol, slope=0.6)
    nv, nu = stationarity_residual(sol, slope=0.6)
    # independent: v - (1/sqrt m) sum lambda y phi'_0.6 x = (0.6 - 0.4)/sqrt(m) sum_{I-} lambda_i x_i (sign -)
    e_neg = np.where(data.y < 0, sol.lam, 0.0) * 0.2 / math.sqrt(sol.m)
    pred = math.sqrt(e_neg @ data.G @ e_neg) / math.sqrt(sol.vv)
    assert nv == pytest.approx(pred, rel=1e-10)
    assert res.margin == pytest.approx(1.0 - max(nv, nu) / sol.tolerance, rel=1e-12)
    assert res.margin < -1e10


@pytest.mark.falsify
@pytest.mark.claim("FVB-3.2d")
def test_program_kkt_falsify_perturbed() -> None:
    """lambda scaled by s = 1.1 or 0.9 (v, u with it): the KKT residuals take their exact planted sizes."""
    sol = solve_program(_fixed_data().G, _fixed_data().y, 0.4, 3, 4)
    for s in (1.1, 0.9):
        bad = replace(sol, lam=s * sol.lam, alpha=s * sol.alpha, beta=s * sol.beta)
        res = check_program_kkt(bad)
        # constraints at s (primal residual max(0, 1 - s)), complementarity |s - 1|, and the duality gap
        # |s^2/2 - (s - s^2/2)| / (s^2/2) = 2|s - 1|/s (the largest)
        assert res.where == {"residual": "gap"}
        assert res.measured == pytest.approx(2 * abs(s - 1) / s, rel=1e-9)
        assert res.implied["complementarity"] == pytest.approx(abs(s - 1), rel=1e-9)
        assert res.margin == pytest.approx(1.0 - res.measured / res.bound, rel=1e-12) and res.margin < -1e10


@pytest.mark.falsify
@pytest.mark.claim("FVB-3.2d")
def test_global_optimum_falsify_planted() -> None:
    """A fake optimum with ||W*|| 1.2x too large: the GD iterates and the hunt beat its normalized margin."""
    case = _fixed_case(steps=100_000)
    sol = solution_for(case.cfg, case.data)
    fake = replace(sol, alpha=1.2 * sol.alpha, beta=1.2 * sol.beta, lam=1.2 * sol.lam)
    tr = case.run()
    normalized = tr.margins.min(axis=1) / np.sqrt(tr.fro2[:, 2])
    true_res, fake_res = check_global_optimum(sol, normalized), check_global_optimum(fake, normalized)
    assert true_res.held
    r_fake = float(normalized.max()) * 1.2 * math.sqrt(sol.norm2)
    assert fake_res.measured == pytest.approx(r_fake, rel=1e-12) and r_fake > 1.1
    hunt = check_hunt(fake, hunt_kkt_points(sol, 4, np.random.default_rng(0)))[0]
    assert hunt.measured == pytest.approx(1.2, rel=1e-8) and hunt.margin < -1e10


@pytest.mark.falsify
@pytest.mark.claim("FVB-3.2a", "FVB-3.2b")
def test_hunt_falsify_planted_points() -> None:
    """A planted 'KKT point' with a margin 1.3 and one with unequal rows are flagged at their size."""
    sol = solve_program(_fixed_data().G, _fixed_data().y, 0.4, 3, 4)
    good = hunt_kkt_points(sol, 2, np.random.default_rng(1))
    p = good[0]
    bad_q = HuntPoint(Y=p.Y, margins=np.where(np.arange(sol.n) == 2, 1.3, p.margins), normalized=p.normalized,
                      stationarity=0.0, lam=p.lam, success=True)
    Y2 = p.Y.copy()
    Y2[0] *= 1.01
    bad_y = HuntPoint(Y=Y2, margins=p.margins, normalized=p.normalized, stationarity=0.0, lam=p.lam,
                      success=True)
    res = {r.claim: r for r in check_hunt(sol, [bad_q, bad_y])}
    assert res["FVB-3.2a:hunt"].margin == pytest.approx(1.0 - 0.3 / HUNT_TOL, rel=1e-6)
    d = float(np.linalg.norm(0.01 * p.Y[0])) / math.sqrt(sol.norm2)
    assert res["FVB-3.2b:hunt"].measured == pytest.approx(d, rel=1e-3) and res["FVB-3.2b:hunt"].margin < 0


@pytest.mark.falsify
@pytest.mark.claim("FVB-3.2a")
def test_gd_margins_falsify_past_condition_7() -> None:
    """Past (7) the GD margins do not equalize: q_2 / q_1 -> 1.8 (beta ~ 0, far below 0.5)."""
    data, g = _violating()
    cfg = SimConfig(network="fvb", activation="leaky_relu", gamma=g, n=3, d=100, m=4, eta=0.375, sigma0=1e-6,
                    steps=1_000_000, num_checkpoints=40)
    res = {r.claim: r for r in check_gd_limit(simulate(cfg, data=data))}["FVB-3.2a:gd"]
    assert res.margin < -0.2 and res.implied["beta"] < 0.3
    assert 0.8 <= res.implied["e(T)"] <= 1.0  # -> 0.8 from above


@pytest.mark.falsify
@pytest.mark.claim("FVB-3.2d")
def test_gd_direction_falsify_rotated() -> None:
    """Against the wrong limit (the program with m1, m2 swapped) the angle tends to the angle between the
    two limits instead of 0."""
    case = _fixed_case()
    tr = case.run()
    sol = solution_for(case.cfg, case.data)
    wrong = solve_program(case.data.G, case.data.y, case.cfg.gamma, 4, 3)  # rows of the wrong block sizes
    wrong = replace(wrong, m1=3, m2=4)  # same network shape, wrong coefficients
    Zs, Zw = sol.rows_coef(), wrong.rows_coef()
    G = case.data.G
    cos = np.sum((Zs @ G) * Zw) / math.sqrt(np.sum((Zs @ G) * Zs) * np.sum((Zw @ G) * Zw))
    ang = math.acos(min(1.0, cos))
    assert ang > 0.05
    res = {r.claim: r for r in check_gd_limit(tr, wrong)}["FVB-3.2d:gd"]
    assert res.margin < 0 and res.implied["beta"] < 0.3
    assert res.implied["e(T)"] == pytest.approx(ang, rel=0.3)


@pytest.mark.falsify
@pytest.mark.claim("FVB-3.2b")
def test_gd_rank_falsify_planted_direction() -> None:
    """A planted growing third direction (neuron 0 drifts along x_0 - x_1 by 0.3 ln t): the block
    spread tends to a constant, not 0."""
    case = _fixed_case()
    tr = case.run()
    rho = tr.rho_flat.copy()
    D = np.diag(case.data.G)
    grow = 0.3 * np.log1p(tr.times.astype(float))
    rho[:, 0, 0] += grow * D[0]
    rho[:, 0, 1] -= grow * D[1]
    bad = replace(tr, rho_flat=rho)
    sol = solution_for(case.cfg, case.data)
    good = {r.claim: r for r in check_gd_limit(tr, sol)}["FVB-3.2b:gd"]
    res = {r.claim: r for r in check_gd_limit(bad, sol)}["FVB-3.2b:gd"]
    assert good.held and res.margin < 0 and res.implied["beta"] < 0.3
    s = limit_series(bad, sol)
    assert s["tail"][-1] > 0.05  # the rank-2 tail no longer vanishes either


@pytest.mark.falsify
@pytest.mark.claim("FVB-3.2e")
def test_decision_boundary_falsify() -> None:
    """ReLU instead of leaky (f = 0 on the quadrant <v,x> < 0, <u,x> < 0: a quarter of the circle), a wrong
    linear form z = c1 v + c2 u, and a first layer with unequal rows (sampled)."""
    sol = solve_program(_fixed_data().G, _fixed_data().y, 0.4, 3, 4)
    assert check_decision_boundary(sol, slope=0.0).margin == pytest.approx(-0.25, abs=1e-12)
    res = check_decision_boundary(sol, z=(sol.c1, sol.c2))
    # f > 0 > ... : disagreement wherever sign(c1 a + c2 b) != sign f; count it on a fine grid
    th = np.linspace(0, 2 * math.pi, 400_001)[:-1]
    a, b = np.cos(th), np.sin(th)
    f = sol.c1 * np.where(a > 0, a, 0.4 * a) - sol.c2 * np.where(b > 0, b, 0.4 * b)
    frac = np.mean(np.sign(f) != np.sign(sol.c1 * a + sol.c2 * b))
    assert res.margin == pytest.approx(-frac, abs=1e-4)
    # unequal rows: v1 != v2 in a 3-d row space -> sign f and sign <z, x> disagree on a positive fraction
    C = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-1.0, 0.5, 1.0]])
    frac_u, worst = general_disagreement(C, second_layer(2, 1), 0.4, np.random.default_rng(0).standard_normal(
        (20_000, 3)))
    assert frac_u > 0.01 and worst < 0
    # rank-2 equal rows (the theorem's structure) has none, by the same sampler
    K = sol.row_gram()
    frac0, _ = general_disagreement(row_coordinates(K), second_layer(3, 4), 0.4,
                                    np.random.default_rng(0).standard_normal((20_000, 7)))
    assert frac0 == 0.0


# ---- a solver that gives up says so -----------------------------------------------------------------


def test_the_active_set_solver_raises_when_it_does_not_converge() -> None:
    """At its iteration limit the active set used to return whatever iterate it had, as if solved."""
    from invariants.fvb.program import SolverNotConverged

    data = _fixed_data()
    assert solve_program(data.G, data.y, 0.4, 3, 4).iterations >= 2  # n = 5 points all in the support
    with pytest.raises(SolverNotConverged, match="did not converge in 1 iterations"):
        solve_program(data.G, data.y, 0.4, 3, 4, max_iter=1)


def test_a_check_whose_solver_did_not_converge_cannot_judge(monkeypatch: pytest.MonkeyPatch) -> None:
    """check_gd_limit on a program the solver could not solve: every result is 'cannot_judge' (neither held
    nor failed), and a claim with only such results gets the verdict 'cannot judge'."""
    from invariants._internal.verdicts import aggregate
    from invariants.fvb import maxmargin
    from invariants.fvb.program import SolverNotConverged

    def gives_up(cfg: object, data: object) -> None:
        raise SolverNotConverged("the active-set solver did not converge in 1 iterations")

    monkeypatch.setattr(maxmargin, "solution_for", gives_up)
    res = maxmargin.check_gd_limit(_fixed_case(steps=200).run())
    assert {r.outcome for r in res} == {"cannot_judge"} and all("did not converge" in r.note for r in res)
    agg = aggregate([r.to_json() | {"test": "t"} for r in res])
    assert {a["verdict"] for a in agg.values()} == {"cannot judge"}
