"""KCG's data-correlated decomposition: KCG-5.2 (sign structure, monotonicity, one-step updates (5.3)-(5.5)),
KCG-5.7 (equal increments after the freeze) and KCG-C12 (bounded within-class spread).

Property tests run in-regime configurations and record their margins; falsify tests plant violations in
copies of a trajectory (a wrong-sign coefficient, a decreasing rho_bar, a perturbed step, noise on one
neuron after the freeze, a too-small constant).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invariants import Case
from invariants._internal.planting import with_arrays
from invariants.kcg.decomposition import (
    check_equal_increments,
    check_monotone,
    check_reconstruction,
    check_sign_structure,
    check_update_rule,
    check_within_class_spread,
)
from invariants.kcg.pattern import C_FREEZE, in_kcg_leaky_appendix_regime, own_block
from invariants.kcg.regime import in_kcg_regime, kcg_cases, leaky_appendix_cases
from sim import DataSpec, SimConfig, Trajectory, simulate
from tests.kcg.test_pattern import pattern_case

ANY_KCG = st.one_of(kcg_cases("leaky_relu", steps=20_000), kcg_cases("relu", steps=20_000))
CONSECUTIVE = list(range(0, 40)) + list(range(1000, 1040)) + list(range(4000, 4010))


def consecutive_run(case: Case) -> Trajectory:
    """The case re-run to step 4010 recording consecutive steps early, mid and late."""
    return simulate(case.cfg.with_(steps=4010, checkpoints=CONSECUTIVE), data=case.data)


# ---- KCG-5.2 ---------------------------------------------------------------------------------------


@pytest.mark.claim("KCG-5.2")
@given(case=ANY_KCG)
def test_coefficients_have_the_class_sign_and_move_monotonically(case: Case, record_check) -> None:
    assert in_kcg_regime(case.cfg, case.data)
    traj = case.run()
    for res in (check_sign_structure(traj), check_monotone(traj)):
        record_check(res)
        assert res.held, res


@pytest.mark.claim("KCG-5.2")
@given(case=st.one_of(kcg_cases("leaky_relu"), kcg_cases("relu")))
def test_one_step_update_rule(case: Case, record_check) -> None:
    res = record_check(check_update_rule(consecutive_run(case)))
    assert res.held and res.implied["pairs"] == len(CONSECUTIVE) - 2, res


@pytest.fixture(scope="module")
def leaky_traj() -> Trajectory:
    case = pattern_case("leaky_relu", gamma=0.3, sigma_frac=0.29, steps=3000)
    assert in_kcg_leaky_appendix_regime(case.cfg, case.data)
    return case.run()


@pytest.fixture(scope="module")
def leaky_steps() -> Trajectory:
    return consecutive_run(pattern_case("leaky_relu", gamma=0.3, sigma_frac=0.29))


def _scale(traj: Trajectory) -> float:
    return float(np.abs(traj.rho).max())


@pytest.mark.falsify
@pytest.mark.claim("KCG-5.2")
def test_sign_flags_a_wrong_sign_coefficient(leaky_traj: Trajectory) -> None:
    i = 0
    k = (1 - int(own_block(leaky_traj)[i])) * leaky_traj.m       # a neuron of the opposite class, r = 0
    rho = leaky_traj.rho_flat.copy()
    delta = 0.25 * _scale(leaky_traj)
    rho[-1, k, i] = delta                                       # rho_bar_{-y_i, 0, i} > 0
    res = check_sign_structure(with_arrays(leaky_traj, rho_flat=rho))
    assert res.margin == pytest.approx(-delta / _scale(leaky_traj)) and res.margin < 0
    assert res.where == {"t": int(leaky_traj.times[-1]), "j": -int(leaky_traj.data.y[i]), "r": 0, "i": i}


@pytest.mark.falsify
@pytest.mark.claim("KCG-5.2")
def test_monotone_flags_a_decreasing_rho_bar(leaky_traj: Trajectory) -> None:
    i = 0
    k = int(own_block(leaky_traj)[i]) * leaky_traj.m            # class neuron r = 0: rho_bar grows
    rho = leaky_traj.rho_flat.copy()
    c = len(rho) - 2
    drop = 0.5 * rho[c - 1, k, i]
    rho[c, k, i] = rho[c - 1, k, i] - drop
    assert drop > 0
    res = check_monotone(with_arrays(leaky_traj, rho_flat=rho))
    assert res.margin == pytest.approx((res.bound - drop) / _scale(leaky_traj)) and res.margin < 0
    assert res.measured == pytest.approx(drop) and res.where["t"] == int(leaky_traj.times[c])


@pytest.mark.falsify
@pytest.mark.claim("KCG-5.2")
def test_update_rule_flags_a_perturbed_step(leaky_steps: Trajectory) -> None:
    assert check_update_rule(leaky_steps).held
    rho = leaky_steps.rho_flat.copy()
    c = int(np.searchsorted(leaky_steps.times, 1005))
    rho[c, 2, 1] *= 1 + 1e-9
    res = check_update_rule(with_arrays(leaky_steps, rho_flat=rho))
    assert res.margin < -10 and res.where["r"] == 2 and res.where["i"] == 1
    assert res.measured == pytest.approx(1e-9 * abs(leaky_steps.rho_flat[c, 2, 1]), rel=1e-3)


@pytest.mark.falsify
@pytest.mark.claim("KCG-5.2")
def test_update_rule_flags_a_wrong_activation_derivative(leaky_steps: Trajectory) -> None:
    """Flip the recorded pre-activation of one entry: sigma' is then gamma instead of 1 (or vice versa)."""
    P = leaky_steps.preact_flat.copy()
    c = int(np.searchsorted(leaky_steps.times, 1005))
    P[c, 0, 0] = -P[c, 0, 0]
    res = check_update_rule(with_arrays(leaky_steps, preact_flat=P))
    assert res.margin < -1e6 and res.where == {"t": 1005, "j": 1, "r": 0, "i": 0}


@pytest.mark.falsify
@pytest.mark.claim("KCG-5.2")
def test_update_rule_needs_consecutive_steps(leaky_traj: Trajectory) -> None:
    sparse = sparse_checkpoints(leaky_traj)
    assert check_update_rule(sparse).outcome == "too_short"


def sparse_checkpoints(traj: Trajectory) -> Trajectory:
    """Keep only every other checkpoint from the third on (no consecutive steps left)."""
    keep = np.array([k for k in range(len(traj.times)) if k >= 2 and k % 2 == 0])
    fields = ("times", "loss", "margins", "lprime", "rho_flat", "preact_flat", "norms2_flat", "fro2", "spec2")
    return with_arrays(traj, **{f: getattr(traj, f)[keep] for f in fields})


# ---- KCG-5.7 ---------------------------------------------------------------------------------------


@pytest.mark.claim("KCG-5.7")
@given(case=leaky_appendix_cases(steps=20_000))
def test_equal_increments_after_the_freeze(case: Case, record_check) -> None:
    res = record_check(check_equal_increments(case.run()))
    assert res.held, res


@pytest.mark.falsify
@pytest.mark.claim("KCG-5.7")
def test_equal_increments_flags_noise_on_one_neuron(leaky_traj: Trajectory) -> None:
    assert check_equal_increments(leaky_traj).held
    i = 1
    k = int(own_block(leaky_traj)[i]) * leaky_traj.m + 3       # rho_bar_{y_i, 3, i}
    rho = leaky_traj.rho_flat.copy()
    rho[-1, k, i] += 1e-8
    res = check_equal_increments(with_arrays(leaky_traj, rho_flat=rho))
    assert res.where["i"] == i and res.where["t"] == int(leaky_traj.times[-1])
    assert res.measured == pytest.approx(1e-8, rel=1e-3)
    assert res.margin == pytest.approx(1.0 - 1e-8 / res.bound, rel=1e-3) and res.margin < -100


@pytest.mark.falsify
@pytest.mark.claim("KCG-5.7")
def test_equal_increments_flags_a_wrong_slope_ratio(leaky_traj: Trajectory) -> None:
    """Scale every rho_und_{-y_i,.,i} by 1.01 (the same for all r): the increments stay equal across r but
    the rho_bar increment no longer equals |rho_und increment| / gamma."""
    i = 0
    b = 1 - int(own_block(leaky_traj)[i])
    rho = leaky_traj.rho_flat.copy()
    rho[:, b * leaky_traj.m:(b + 1) * leaky_traj.m, i] *= 1.01
    res = check_equal_increments(with_arrays(leaky_traj, rho_flat=rho))
    assert res.where["part"] == "gamma relation" and res.margin < -1e6


# ---- KCG-C12 ---------------------------------------------------------------------------------------


@pytest.mark.claim("KCG-C12")
@given(case=leaky_appendix_cases(steps=20_000))
def test_within_class_spread_is_bounded(case: Case, record_check) -> None:
    res = record_check(check_within_class_spread(case.run()))
    assert res.held and res.bound == pytest.approx(C_FREEZE * case.data.R**2), res


@pytest.mark.falsify
@pytest.mark.claim("KCG-C12")
def test_spread_flags_a_too_small_constant(leaky_traj: Trajectory) -> None:
    C_impl = check_within_class_spread(leaky_traj).implied["C'"]
    assert C_impl > 0
    res = check_within_class_spread(leaky_traj, C_declared=0.5 * C_impl)
    assert res.margin == pytest.approx(-1.0)


@pytest.mark.falsify
@pytest.mark.claim("KCG-C12")
def test_spread_flags_a_runaway_neuron(leaky_traj: Trajectory) -> None:
    i = 0
    k = int(own_block(leaky_traj)[i]) * leaky_traj.m
    rho = leaky_traj.rho_flat.copy()
    rho[-1, k, i] += 10 * C_FREEZE
    res = check_within_class_spread(with_arrays(leaky_traj, rho_flat=rho))
    assert res.margin < -9 and res.where["i"] == i


# ---- KCG-5.2:reconstruct, judged where it can fail: a run recorded from a torch GD loop ----------------

def _recorded_torch_gd(cfg: SimConfig, weight_decay: float = 0.0) -> Trajectory:
    import torch

    from sim import Recorder
    from sim.dense import TwoLayerNet

    ref = simulate(cfg)
    X, y = ref.data.X, ref.data.y
    net = TwoLayerNet(ref.init.W0, cfg.second_layer, cfg.activation, cfg.slope)
    opt = torch.optim.SGD(net.parameters(), lr=cfg.eta, weight_decay=weight_decay)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    rec = Recorder(X, y, activation=cfg.activation, gamma=cfg.gamma, eta=cfg.eta, sigma0=cfg.sigma0,
                   step_rule="gd" if weight_decay == 0 else "other")
    for t in range(cfg.steps + 1):
        rec.step(t, net.W)
        if t < cfg.steps:
            opt.zero_grad()
            torch.nn.functional.softplus(-yt * net(Xt)).mean().backward()
            opt.step()
    return rec.trajectory()


@pytest.mark.claim("KCG-5.2")
@settings(max_examples=4)
@given(n=st.integers(3, 6), m=st.integers(2, 6), seed=st.integers(0, 10**6),
       activation=st.sampled_from(["leaky_relu", "relu"]))
def test_gd_stays_in_the_span_and_the_decomposition_reconstructs_w(n: int, m: int, seed: int, activation: str,
                                                                     record_check) -> None:
    cfg = SimConfig(activation=activation, gamma=0.3 if activation == "leaky_relu" else None, n=n, d=40, m=m,
                    steps=300, eta=0.5, sigma0=0.05, seed=seed, data=DataSpec(kind="iid_gaussian"), engine="span")
    res = record_check(check_reconstruction(_recorded_torch_gd(cfg)))
    assert res.held, res


@pytest.mark.falsify
@pytest.mark.claim("KCG-5.2")
def test_weight_decay_leaves_the_span_and_is_caught() -> None:
    """SGD with weight decay shrinks W(0)'s component outside the span: W(t) - W(0) leaves the span of the
    x_i, and the decomposition no longer reconstructs W."""
    cfg = SimConfig(activation="leaky_relu", gamma=0.3, n=4, d=40, m=3, steps=50, eta=0.5, sigma0=0.05, seed=1,
                    data=DataSpec(kind="iid_gaussian"), engine="span")
    res = check_reconstruction(_recorded_torch_gd(cfg, weight_decay=1e-6))
    assert res.outcome == "failed" and res.measured > 1e3 * res.bound


def test_simulated_runs_cannot_judge_the_reconstruction() -> None:
    assert check_reconstruction(simulate(SimConfig(activation="relu", n=4, d=40, m=3, steps=10))).outcome == \
        "cannot_judge"
