"""KCG automatic balance (Lemmas 5.4/B.1, B.4, 5.5/E.1, E.2/Cor. E.3): property and falsification tests.

Property tests run in-regime configurations (``invariants.kcg.regime.kcg_cases``) and record every result;
falsification tests plant a violation -- a perturbed coefficient, a wrong declared constant, or an
out-of-regime data set -- and assert a negative margin of the expected size.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import assume, given

from invariants import Case
from invariants._internal.planting import with_arrays
from invariants.kcg.balance import (
    DECLARED,
    R_CAP,
    a2_width,
    check_leaky_balance,
    check_leaky_balance_neuron,
    check_leaky_balance_neuron_gamma1,
    check_offclass,
    check_relu_balance,
    check_relu_balance_printed,
    in_leaky_balance_regime,
    in_offclass_regime,
    in_relu_balance_regime,
    initial_support,
    log_rates,
    offclass_ratio,
)
from invariants.kcg.regime import fixed_case, in_kcg_leaky_regime, kcg_cases
from sim import Trajectory

# ---- helpers ---------------------------------------------------------------------------------


def over_run(res) -> float:
    """The margin over the run itself: the trend test (``_internal.bounded.with_trend``) may only lower it."""
    m = res.implied.get("margin_over_run", res.margin)
    assert res.margin <= m
    return m


def make_case(activation: str = "leaky_relu", *, gamma: float | None = 0.5, n: int = 6, m: int = 8,
              d: int = 10**6, u: float = 0.5, R: float = 1.2, steps: int = 20_000, seed: int = 1,
              eta_frac: float = 0.5, sigma_frac: float = 0.5, G: np.ndarray | None = None,
              y: np.ndarray | None = None) -> Case:
    """This file's defaults for ``invariants.kcg.regime.fixed_case``."""
    return fixed_case(**locals())


def covered_point_gram(k: int = 6, a: float = 0.38) -> tuple[np.ndarray, np.ndarray]:
    """Out of regime: x_0 has correlation a with k same-class points (a k > 1), plus one point of the
    other class.  x_0 is fitted by the others, so l'_0 -> 0 faster than any 1/t and its on-class
    coefficients stall at O(1) while the others grow like log t: no balance constant survives."""
    n = k + 2
    G = np.eye(n)
    G[0, 1:k + 1] = G[1:k + 1, 0] = a
    y = np.ones(n)
    y[-1] = -1.0
    return G, y


def perturbed(traj: Trajectory, rho_flat: np.ndarray) -> Trajectory:
    return dataclasses.replace(traj, rho_flat=rho_flat)


def flat_index(traj: Trajectory, j_index: int, r: int) -> int:
    """Row of neuron (j, r) in the flat arrays (positive block first: j_index 0 is j = +1)."""
    return j_index * traj.m + r


def on_index(y: float) -> int:
    return 0 if y > 0 else 1


@pytest.fixture(scope="module")
def leaky_traj() -> Trajectory:
    case = make_case("leaky_relu", gamma=0.5, seed=3)
    assert in_leaky_balance_regime(case.cfg, case.data)
    return case.run()


@pytest.fixture(scope="module")
def relu_traj() -> Trajectory:
    case = make_case("relu", gamma=None, m=20, u=0.8, R=1.0, steps=50_000, seed=5)
    assert in_offclass_regime(case.cfg, case.data)
    return case.run()


# ---- property tests: leaky ReLU (B.1, B.4) ---------------------------------------------------

@pytest.mark.claim("KCG-B1", "KCG-B4")
@given(case=kcg_cases("leaky_relu", steps=20_000))
def test_leaky_balance_in_regime(case: Case, record_check) -> None:
    assume(case.data.R <= R_CAP)
    assert in_leaky_balance_regime(case.cfg, case.data)
    traj = case.run()
    for res in (check_leaky_balance(traj), check_leaky_balance_neuron(traj),
                check_leaky_balance_neuron_gamma1(traj)):
        record_check(res)
        assert res.held, str(res)


# long horizon, in every profile: exact and cheap on the frozen-pattern engine (x100 in deep)
@pytest.mark.claim("KCG-B1", "KCG-B4")
@given(case=kcg_cases("leaky_relu", steps=300_000, checkpoints=80))
def test_leaky_balance_long_horizon(case: Case, record_check) -> None:
    traj = case.run()
    for res in (check_leaky_balance(traj), check_leaky_balance_neuron(traj),
                check_leaky_balance_neuron_gamma1(traj)):
        record_check(res)
        assert res.held, str(res)


# ---- property tests: ReLU (E.1, E.2) ---------------------------------------------------------

@pytest.mark.claim("KCG-5.5")
@given(case=kcg_cases("relu", steps=20_000))
def test_relu_balance_in_regime(case: Case, record_check) -> None:
    assert in_relu_balance_regime(case.cfg, case.data)
    res = record_check(check_relu_balance(case.run()))
    assert res.held, str(res)


# long horizon, in every profile: exact and cheap on the frozen-pattern engine (x100 in deep)
@pytest.mark.claim("KCG-5.5")
@given(case=kcg_cases("relu", steps=300_000, checkpoints=80))
def test_relu_balance_long_horizon(case: Case, record_check) -> None:
    res = record_check(check_relu_balance(case.run()))
    assert res.held, str(res)


# p n / R_min^2 >= 0.04 (the upper half of the allowed range at R = 1), so that the proof's
# T2 = {rhobar >= c1 (beta + 1) R_min^2 / (p n)} falls inside a 5e4-step horizon.
_E3_CASES = kcg_cases("relu", steps=50_000).filter(lambda c: c.data.p_ratio * c.data.n >= 0.04)


@pytest.mark.claim("KCG-E3")
@given(case=_E3_CASES)
def test_offclass_in_regime(case: Case, record_check) -> None:
    assert in_offclass_regime(case.cfg, case.data)
    res = check_offclass(case.run())
    assume(res.outcome != "too_short")  # T2 beyond the horizon: the run cannot show the claim
    record_check(res)
    assert res.held, str(res)


# ---- falsification: B.1 ----------------------------------------------------------------------

@pytest.mark.falsify
@pytest.mark.claim("KCG-B1")
def test_b1_flags_zeroed_on_class(leaky_traj: Trajectory) -> None:
    """Zero the on-class coefficients of one point at the last checkpoint: the implied c1 is 0."""
    assert check_leaky_balance(leaky_traj).held
    i = 2
    rho = leaky_traj.rho_flat.copy()
    j = on_index(leaky_traj.data.y[i])
    rho[-1, flat_index(leaky_traj, j, 0):flat_index(leaky_traj, j, leaky_traj.m), i] = 0.0
    res = check_leaky_balance(perturbed(leaky_traj, rho))
    assert over_run(res) == pytest.approx(-1.0)
    assert res.where["t"] == leaky_traj.times[-1] and res.where["i"] == i


@pytest.mark.falsify
@pytest.mark.claim("KCG-B1")
def test_b1_flags_wrong_constant(leaky_traj: Trajectory) -> None:
    implied = check_leaky_balance(leaky_traj).implied["c1"]
    res = check_leaky_balance(leaky_traj, c1=10 * implied)
    assert over_run(res) == pytest.approx(-0.9)


@pytest.mark.falsify
@pytest.mark.claim("KCG-B1", "KCG-B4")
def test_leaky_balance_flags_covered_point() -> None:
    """Out of regime (p / R_min^2 = 0.38): the covered point's on-class sum stalls, c1 ~ 0.1 < 0.2,
    and it keeps falling with t (late window below the first step): no constant works."""
    G, y = covered_point_gram()
    case = make_case("leaky_relu", gamma=0.9, m=16, G=G, y=y, eta_frac=1.0, sigma_frac=1.0)
    assert not in_kcg_leaky_regime(case.cfg, case.data)
    traj = case.run()
    r1, r4 = check_leaky_balance(traj), check_leaky_balance_neuron(traj)
    assert -0.75 < over_run(r1) < -0.3, str(r1)
    assert r1.where["i"] == 0
    assert r1.implied["c1_late"] < r1.implied["c1_t1"]
    assert -0.6 < over_run(r4) < -0.2, str(r4)


@pytest.mark.falsify
@pytest.mark.claim("KCG-B1", "KCG-B4")
def test_leaky_balance_flags_large_R() -> None:
    """Orthogonal data with R = 5: inside Thm 4.1's stated conditions (p = 0) but not 'R at most an
    absolute constant'.  c1 scales like 1/(gamma R^2) ~ 0.05: margin ~ -0.75."""
    G = np.diag([1.0, 25.0, 1.0, 1.0])
    y = np.array([1.0, 1.0, -1.0, -1.0])
    case = make_case("leaky_relu", gamma=0.9, m=8, G=G, y=y)
    assert in_kcg_leaky_regime(case.cfg, case.data) and not in_leaky_balance_regime(case.cfg, case.data)
    traj = case.run()
    r1, r4 = check_leaky_balance(traj), check_leaky_balance_neuron(traj)
    assert -0.85 < over_run(r1) < -0.65, str(r1)
    assert -0.85 < over_run(r4) < -0.6, str(r4)


# ---- falsification: B.4 ----------------------------------------------------------------------

@pytest.mark.falsify
@pytest.mark.claim("KCG-B4")
def test_b4_flags_inflated_coefficient(leaky_traj: Trajectory) -> None:
    """Inflate one off-class |rho| at the last checkpoint so that the ratio is c1/2: margin -1/2."""
    g, c1 = leaky_traj.config.gamma, DECLARED["c1_leaky"]
    y = leaky_traj.data.y
    rho = leaky_traj.rho_flat.copy()
    on_min = min(leaky_traj.rho_bar[-1, on_index(y[i]), :, i].min() for i in range(len(y)))
    i2 = 4
    rho[-1, flat_index(leaky_traj, 1 - on_index(y[i2]), 3), i2] = -on_min / (g**4 * 0.5 * c1)
    res = check_leaky_balance_neuron(perturbed(leaky_traj, rho))
    assert over_run(res) == pytest.approx(-0.5)
    assert res.where["i'"] == i2


@pytest.mark.falsify
@pytest.mark.claim("KCG-B4")
def test_b4_flags_wrong_constant(leaky_traj: Trajectory) -> None:
    implied = check_leaky_balance_neuron(leaky_traj).implied["c1"]
    assert over_run(check_leaky_balance_neuron(leaky_traj, c1=10 * implied)) == pytest.approx(-0.9)


@pytest.mark.falsify
@pytest.mark.claim("KCG-B4")
def test_b4_gamma1_flags_a_coefficient_between_the_two_readings(leaky_traj: Trajectory) -> None:
    """One off-class |rho| inflated so that the gamma^1 ratio is c1 / 2 while the gamma^4 ratio (gamma^3 times
    larger) still holds: the gamma^1 part fails with margin -1/2, the proof's gamma^4 form does not."""
    g, c1 = leaky_traj.config.gamma, DECLARED["c1_leaky"]
    y = leaky_traj.data.y
    rho = leaky_traj.rho_flat.copy()
    on_min = min(leaky_traj.rho_bar[-1, on_index(y[i]), :, i].min() for i in range(len(y)))
    i2 = 4
    rho[-1, flat_index(leaky_traj, 1 - on_index(y[i2]), 3), i2] = -on_min / (g * 0.5 * c1)
    bad = perturbed(leaky_traj, rho)
    res = check_leaky_balance_neuron_gamma1(bad)
    assert res.claim == "KCG-B4:gamma1" and over_run(res) == pytest.approx(-0.5) and res.where["i'"] == i2
    assert g**3 < 0.5 and check_leaky_balance_neuron(bad).implied["margin_over_run"] >= 0


@pytest.mark.claim("KCG-5.5")
@given(case=kcg_cases("relu", n=(3, 4), m=(a2_width(4), a2_width(4) + 8), eta_frac=(0.25, 1.0), steps=20_000))
def test_relu_balance_printed_at_lemma_a2_width(case: Case, record_check) -> None:
    """Lemma E.1's printed forms (no s_i) on runs of Lemma A.2's width m >= 50 log(2n/delta)."""
    assert case.cfg.m >= a2_width(case.cfg.n) and in_relu_balance_regime(case.cfg, case.data)
    res = record_check(check_relu_balance_printed(case.run()))
    assert res.held, str(res)
    assert res.implied["A2_event"] == 1.0  # A.2's event: 0.4 m <= |S_i(0)| <= 0.6 m


@pytest.fixture(scope="module")
def a2_traj() -> Trajectory:
    return make_case("relu", gamma=None, n=4, m=a2_width(4), steps=20_000, seed=5).run()


@pytest.mark.falsify
@pytest.mark.claim("KCG-5.5")
def test_55_printed_flags_wrong_constants(a2_traj: Trajectory) -> None:
    """c1 at twice the run's c1_raw: margin (c1_raw - 2 c1_raw) / (2 c1_raw) = -1/2; c3 at half its c3_raw:
    (c3_raw / 2 - c3_raw) / (c3_raw / 2) = -1; each on the named bound."""
    res = check_relu_balance_printed(a2_traj)
    assert res.held
    c1_raw, c3_raw = res.implied["c1_raw"], res.implied["c3_raw"]
    a = check_relu_balance_printed(a2_traj, c1=2 * c1_raw)
    c = check_relu_balance_printed(a2_traj, c3=c3_raw / 2)
    assert a.margin == pytest.approx(-0.5) and a.where["bound"] == "a: c1"
    assert c.margin == pytest.approx(-1.0) and c.where["bound"] == "c: c3"


def test_55_printed_cannot_judge_narrow_runs(relu_traj: Trajectory) -> None:
    res = check_relu_balance_printed(relu_traj)
    assert relu_traj.m < a2_width(relu_traj.data.n) and res.outcome == "cannot_judge" and "A.2" in res.note


# ---- falsification: E.1 ----------------------------------------------------------------------

def _support_neuron(traj: Trajectory, i: int) -> int:
    return int(np.flatnonzero(initial_support(traj)[:, i])[0])


@pytest.mark.falsify
@pytest.mark.claim("KCG-5.5")
def test_55_flags_superlog_growth(relu_traj: Trajectory) -> None:
    """Set one on-class coefficient at the last checkpoint to 2 c3 log(1 + c_i t) m / |S_i(0)|:
    the upper bound (c) fails with margin -1."""
    assert check_relu_balance(relu_traj).held
    i = 1
    r = _support_neuron(relu_traj, i)
    frac = initial_support(relu_traj)[:, i].sum() / relu_traj.m
    L = math.log1p(log_rates(relu_traj)[i] * relu_traj.times[-1])
    rho = relu_traj.rho_flat.copy()
    rho[-1, flat_index(relu_traj, on_index(relu_traj.data.y[i]), r), i] = 2 * DECLARED["c3"] * L / frac
    res = check_relu_balance(perturbed(relu_traj, rho))
    assert res.where["bound"] == "c: c3" and res.where["i"] == i
    assert over_run(res) == pytest.approx(-1.0)


@pytest.mark.falsify
@pytest.mark.claim("KCG-5.5")
def test_55_flags_stalled_neuron(relu_traj: Trajectory) -> None:
    """Zero one on-class coefficient at the last checkpoint: (a) and (b) fail with margin -1."""
    i = 0
    r = _support_neuron(relu_traj, i)
    rho = relu_traj.rho_flat.copy()
    rho[-1, flat_index(relu_traj, on_index(relu_traj.data.y[i]), r), i] = 0.0
    res = check_relu_balance(perturbed(relu_traj, rho))
    assert over_run(res) == pytest.approx(-1.0)
    assert res.implied["c1"] == 0.0 and res.implied["c2"] == 0.0


@pytest.mark.falsify
@pytest.mark.claim("KCG-5.5")
def test_55_flags_wrong_constants(relu_traj: Trajectory) -> None:
    imp = check_relu_balance(relu_traj).implied
    assert over_run(check_relu_balance(relu_traj, c1=10 * imp["c1"])) == pytest.approx(-0.9)
    assert over_run(check_relu_balance(relu_traj, c3=imp["c3"] / 2)) == pytest.approx(-1.0)


@pytest.mark.falsify
@pytest.mark.claim("KCG-5.5")
def test_55_flags_covered_point() -> None:
    """Out of regime: the covered point's on-class coefficients stall; c1 ~ 0.12 (raw 0.045), c2 ~ 0.12."""
    G, y = covered_point_gram()
    case = make_case("relu", gamma=None, m=16, G=G, y=y, eta_frac=1.0, sigma_frac=1.0)
    assert not in_relu_balance_regime(case.cfg, case.data)
    res = check_relu_balance(case.run())
    assert -0.7 < over_run(res) < -0.35, str(res)
    assert res.where["i"] == 0 and res.where["bound"] in ("a: c1", "b: c2")
    assert res.implied["c1"] < 0.7 * DECLARED["c1_relu"] and res.implied["c2"] < 0.6 * DECLARED["c2"]
    assert res.implied["c1_late"] < res.implied["c1_t1"]


# ---- falsification: E.2 / E.3 ----------------------------------------------------------------

@pytest.mark.falsify
@pytest.mark.claim("KCG-E3")
def test_e3_flags_inflated_offclass(relu_traj: Trajectory) -> None:
    """Set one off-class coefficient after T2 to 2 c R_min^-2 p n (on-class): margin -1."""
    base = check_offclass(relu_traj)
    assert base.held, str(base)
    q = offclass_ratio(relu_traj)
    i = 2
    c = DECLARED["c_E3"]
    rho = relu_traj.rho_flat.copy()
    k = flat_index(relu_traj, 1 - on_index(relu_traj.data.y[i]), 0)
    rho[-1, k, i] = -2 * c * q["pn"] * q["on"][-1, i]
    res = check_offclass(perturbed(relu_traj, rho))
    assert over_run(res) == pytest.approx(-1.0)
    assert {k: res.where[k] for k in ("t", "i'")} == {"t": int(relu_traj.times[-1]), "i'": i}


@pytest.mark.falsify
@pytest.mark.claim("KCG-E3")
def test_e3_flags_wrong_constant(relu_traj: Trajectory) -> None:
    implied = check_offclass(relu_traj).implied["c"]
    assert over_run(check_offclass(relu_traj, c=implied / 2)) == pytest.approx(-1.0)


@pytest.mark.falsify
@pytest.mark.claim("KCG-E3")
def test_e3_literal_statement_fails_at_p0() -> None:
    """Known failure of the literal statement: at p = 0 (inside Thm 4.3) E.2 asks the off-class
    coefficients to be 0 after T2, but a neuron of sign -y_i active on x_i at init keeps a nonzero
    coefficient forever.  What holds is the all-t form (E.24): |off| <= beta + eta R_max^2 / (n m)."""
    case = make_case("relu", gamma=None, m=16, u=0.0, R=1.0, seed=7)
    assert case.data.p == 0 and not in_offclass_regime(case.cfg, case.data)
    traj = case.run()
    res = check_offclass(traj)
    assert res.outcome == "failed" and res.margin == -math.inf
    off = offclass_ratio(traj)["off"]
    beta = float(np.abs(traj.preact[0]).max())
    step = case.cfg.eta * case.data.R_max**2 / (case.data.n * case.cfg.m)
    assert 0 < off[-1].max() <= beta + step
    late = traj.times >= traj.times[-1] // 10
    assert np.all(off[late] == off[-1])  # frozen: the off-class coefficients never move again


@pytest.mark.falsify
@pytest.mark.claim("KCG-B1")
def test_b1_trend_catches_a_constant_still_falling_at_the_horizon(leaky_traj: Trajectory) -> None:
    """Point 0's on-class coefficients x (log t / log 100)^-0.6 from t = 100 on: c1(t) keeps falling at the
    end of the run.
    Over the run it stays above the declared c1 (the run-wide check alone holds), but extrapolated to
    t = T^2 at the slope interval's adverse end it crosses it: the trend test fails, with its margin
    recomputed here from scipy's regression."""
    from scipy.stats import linregress
    from scipy.stats import t as student_t

    from invariants._internal.fitting import late_window

    tr = leaky_traj
    g = float(tr.config.gamma)
    base = check_leaky_balance(tr)
    assert base.held
    declared = 0.5 * base.implied["c1"]  # half the run's own c1: the run-wide comparison holds
    damp = np.where(tr.times >= 100, (np.log(np.maximum(tr.times, 100)) / np.log(100)) ** -0.6, 1.0)
    rho = tr.rho_flat.copy()
    own = np.where(tr.data.y > 0, 0, 1)
    rho[:, own[0] * tr.m:(own[0] + 1) * tr.m, 0] *= damp[:, None]
    bad = check_leaky_balance(with_arrays(tr, rho_flat=rho), c1=declared)
    assert bad.outcome == "failed" and bad.where["part"] == "trend"
    assert bad.implied["margin_over_run"] >= 0  # invisible to the run-wide minimum
    # recompute c1(t) and the extrapolation independently
    keep = tr.times >= 1
    r = rho.reshape(len(tr.times), 2, tr.m, tr.data.n)[keep]
    on = np.stack([np.maximum(r[:, own[i], :, i], 0).sum(axis=1) for i in range(tr.data.n)], axis=1)
    den = np.abs(r).sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_t = np.nanmin(np.where(den[:, :, None, :] > 0, on[:, None, :, None] / (g**2 * den[:, :, None, :]),
                                   np.inf).reshape(int(keep.sum()), -1), axis=1)
    from invariants.kcg.regime import step_fraction

    t = tr.times[keep].astype(float) * step_fraction(tr.config, tr.data)  # steps at the step-size bound
    late = late_window(t, frac=0.25, t_min=2)  # the trend's window: the last quarter of log T
    fit = linregress(np.log(t[late]), per_t[late])
    lo = fit.slope - student_t.ppf(0.975, int(late.sum()) - 2) * fit.stderr
    ext = per_t[late][-1] + min(lo, 0.0) * np.log(t[late][-1])
    assert bad.margin == pytest.approx((ext - declared) / declared, rel=1e-9)
