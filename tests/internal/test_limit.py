"""The limit oracle (``invariants.limit_direction``): GD's limit direction on the run's frozen pattern.

What must hold: SR(W*_j) = 1 to rounding on in-regime leaky runs (Lemma 5.6's pattern gives equal rows);
on orthogonal ReLU data the limit's stable ranks equal Lemma F.3's closed form; the margins of W* are
>= 1 with equality on the support; the dual's KKT conditions hold to float64 accuracy; GD's angle to W*
decays (the fitted exponent is reported); on FVB's network the oracle reproduces the program (11)'s W*;
and a limit that cannot be certified says why.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from invariants import limit_direction
from invariants._internal.limit import approach, dual_matrix, slopes
from invariants._internal.tolerance import EPS
from invariants.kcg.regime import Placement, build_case
from invariants.kcg.stable_rank import stable_rank_limit_F3
from sim import DataSpec, SimConfig, Trajectory, simulate

_RUNS: dict[tuple, Trajectory] = {}


def run(activation: str, gamma: float | None, orthogonal: bool = False, steps: int = 10**6, seed: int = 1,
        n: int = 6, m: int = 8) -> Trajectory:
    key = (activation, gamma, orthogonal, steps, seed, n, m)
    if key not in _RUNS:
        case = build_case(activation, n, m, gamma, d=1000, R=1.2, seed=seed, steps=steps,
                          place=Placement(p=0.5, eta=0.5, sigma0=0.02, width=0.5), checkpoints=40,
                          orthogonal=orthogonal)
        _RUNS[key] = case.run()
    return _RUNS[key]


@pytest.mark.parametrize("gamma", [0.1, 0.3, 0.6, 0.9])
def test_leaky_limit_has_stable_rank_one_to_rounding(gamma: float) -> None:
    tr = run("leaky_relu", gamma)
    lim = limit_direction(tr)
    assert lim.certified, lim.why
    assert np.all(np.abs(lim.stable_rank[:2] - 1.0) <= 64 * tr.config.m * EPS * 8)
    # Lemma 5.6's pattern: slope 1 exactly on the own class
    own = np.concatenate([np.full(tr.config.m, 1.0), np.full(tr.config.m, -1.0)])[:, None] == tr.data.y[None, :]
    assert np.array_equal(lim.pattern == 1.0, own)


def test_orthogonal_relu_limit_is_lemma_f3s_closed_form() -> None:
    tr = run("relu", None, orthogonal=True)
    lim = limit_direction(tr)
    assert lim.certified, lim.why
    f3 = stable_rank_limit_F3(tr)
    assert lim.stable_rank == pytest.approx([f3["plus"], f3["minus"], f3["stacked"]], rel=1e-12)


@pytest.mark.parametrize(("activation", "gamma", "orth"), [("leaky_relu", 0.3, False), ("relu", None, True)])
def test_margins_and_kkt_conditions_of_the_limit(activation: str, gamma: float | None, orth: bool) -> None:
    tr = run(activation, gamma, orth)
    lim = limit_direction(tr)
    tol = 64 * tr.data.n * EPS
    assert np.all(lim.margins >= 1.0 - tol)
    assert np.all(np.abs(lim.margins[lim.support] - 1.0) <= tol)
    assert np.all(lim.lam >= 0.0) and lim.support.any()
    # stationarity: W* = sum_i lambda_i A_i (Z* rebuilt from lambda), margins = K lambda
    a = tr.config.second_layer
    D = slopes(tr.preact_flat[-1], activation, gamma)
    assert np.allclose(lim.Z, lim.lam * tr.data.y * a[:, None] * D, rtol=0, atol=0)
    K = dual_matrix(tr.data.G, tr.data.y, a, D)
    assert np.allclose(K @ lim.lam, lim.margins, rtol=0, atol=tol)
    # the margins are those of the network W* itself: sum_k a_k sigma(<w*_k, x_i>)
    P = lim.Z @ tr.data.G
    low = 0.0 if activation == "relu" else gamma
    f = a @ np.where(P >= 0, P, low * P)
    assert np.allclose(tr.data.y * f, lim.margins, rtol=0, atol=tol)


def test_gds_angle_to_the_limit_decays_like_a_power_of_one_over_log_t() -> None:
    tr = run("leaky_relu", 0.3)
    lim = limit_direction(tr)
    late = tr.times > 1000
    assert np.all(np.diff(lim.angle[late]) < 0)
    fit = approach(tr, lim)
    assert fit["angle(T)"] < 0.02 and fit["beta(angle)"] > 0.5  # Soudry et al.: O(1/log t)


def test_relu_limit_on_a_pattern_it_disagrees_with_is_not_certified() -> None:
    """ReLU with p > 0: on the pattern at T, W* is positive on an entry the pattern has off, so GD will
    turn that entry on later: the limit is not GD's, and the oracle says so."""
    lim = limit_direction(run("relu", None))
    assert not lim.certified and "disagrees" in lim.why and lim.agreement < 0


def test_a_run_whose_pattern_still_moves_is_not_certified() -> None:
    cfg = SimConfig(activation="leaky_relu", gamma=0.1, n=10, d=784, m=20, steps=300, seed=0)
    tr = simulate(cfg)  # KCG section 6 data: entries still flip at the end
    lim = limit_direction(tr)
    assert not lim.certified and "not frozen long enough" in lim.why


def test_smoothed_leaky_and_diverged_runs_have_no_limit() -> None:
    cfg = SimConfig(network="fvb", activation="smoothed_leaky", gamma=0.5, n=4, d=40, m=4, steps=10, seed=0)
    lim = limit_direction(simulate(cfg))
    assert not lim.certified and "not piecewise linear" in lim.why
    tr = simulate(SimConfig(activation="leaky_relu", gamma=0.1, n=6, d=50, m=4, steps=100, eta=1e160))
    assert "diverged" in limit_direction(tr).why


def test_a_point_without_an_active_neuron_has_no_limit() -> None:
    tr = run("relu", None, orthogonal=True)
    P = tr.preact_flat.copy()
    P[-1][:, 0] = -1.0  # every neuron off on point 0
    lim = limit_direction(dataclasses.replace(tr, preact_flat=P))
    assert not lim.certified and "no active feature" in lim.why


def test_fvb_limit_is_the_programs_solution() -> None:
    from invariants.fvb.program import solve_program

    cfg = SimConfig(network="fvb", activation="leaky_relu", gamma=0.4, n=5, d=2000, m=7, m1=3, eta=0.5,
                    sigma0=1e-5, steps=200_000, seed=3, data=DataSpec(kind="orthogonal"))
    tr = simulate(cfg)
    lim = limit_direction(tr)
    assert lim.certified, lim.why
    sol = solve_program(tr.data.G, tr.data.y, 0.4, 3, 4)
    assert np.allclose(lim.lam, sol.lam, rtol=1e-12, atol=0)


def test_settling_reaches_a_kkt_point_of_the_network_with_entries_on_the_kink() -> None:
    """ReLU with p > 0 (seed 1 of the tests' fixed family): the run's pattern disagrees with its limit;
    settling (flip the worst entry, hold one that disagrees with either slope on the kink) reaches a point
    that is a KKT point of the network's own max-margin problem, checked here independently: margins of
    the network >= 1 with equality on the support, pre-activations of the sign the pattern assumes, kink
    entries at 0, and stationarity w_k = sum_i lambda_i y_i a_k c_ki x_i with every c in [0, 1]."""
    tr = run("relu", None, steps=10**5, seed=1)
    lim = limit_direction(tr, settle=50)
    assert not lim.certified and lim.kkt_point and lim.kinks
    G, y, a = tr.data.G, tr.data.y, tr.config.second_layer
    P = lim.Z @ G
    scale = np.abs(P).max()
    kink = np.zeros(P.shape, dtype=bool)
    for k, i in lim.kinks:
        kink[k, i] = True
    assert np.all(np.abs(P[kink]) <= 1e-9 * scale)
    assert np.all(np.where(kink, True, np.where(lim.pattern == 1.0, P >= -1e-12 * scale, P <= 1e-12 * scale)))
    q = y * (a @ np.maximum(P, 0.0))
    assert np.all(q >= 1 - 1e-9) and np.allclose(q[lim.support], 1.0, atol=1e-9)
    # stationarity with Clarke slopes: c = Z / (lambda y a) must be 1 on active, 0 on inactive, [0, 1] on kinks
    with np.errstate(divide="ignore", invalid="ignore"):
        c = lim.Z / (lim.lam[None, :] * y[None, :] * a[:, None])
    on = lim.lam > 0
    cc = c[:, on]
    assert np.all((cc >= -1e-9) & (cc <= 1 + 1e-9))
    assert np.allclose(cc[~kink[:, on]], lim.pattern[:, on][~kink[:, on]], atol=1e-9)
