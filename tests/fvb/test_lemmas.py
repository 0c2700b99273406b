"""FVB-GZ (sigmoid/logistic loss inequalities, on numbers and GD runs) and FVB-L3.3 (Gaussian data meet (7)).

FVB-GZ is checked on both sides of each inequality's exact region (module docstring of
``invariants.fvb_math``); FVB-L3.3 by an exact one-sided binomial test over data seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import optimize, stats

from invariants import Case, get
from invariants._internal.planting import with_arrays
from invariants.fvb.lemmas import (
    L33_DELTA,
    L33_LEVEL,
    Z_STAR,
    check_gz_exp_ratio,
    check_gz_loss,
    check_gz_sigmoid_ratio,
    check_l33,
    check_loss_vs_sigmoid,
    clopper_pearson,
    gz_b_boundary,
    l33_dimension,
    l33_frequency_table,
    log_ell_over_g,
)
from invariants.fvb.regime import fvb_gd_cases

reals = st.floats(-700.0, 700.0, allow_nan=False)
positive = st.floats(1e-300, 700.0, allow_nan=False, exclude_min=False)


def test_registry_entries() -> None:
    assert get("FVB-GZ").kind == "pure-math"
    assert get("FVB-GZ").declared["z_star"] == Z_STAR
    assert get("FVB-L3.3").kind == "probabilistic"


# ---- FVB-GZ (a) ------------------------------------------------------------------------------


@pytest.mark.claim("FVB-GZ")
@given(z1=reals, z2=reals)
def test_gz_sigmoid_ratio_everywhere(z1: float, z2: float, record_check) -> None:
    res = record_check(check_gz_sigmoid_ratio(z1, z2))
    assert res.held, res
    assert res.margin >= math.log(2.0) - 1e-12  # the bracket is >= 0: sharp constant 1
    assert res.implied["ratio"] <= 1.0 + 1e-12


@pytest.mark.falsify
@pytest.mark.claim("FVB-GZ")
@given(z=reals)
def test_gz_sigmoid_ratio_falsify_constant_below_one(z: float) -> None:
    """The sharp constant is 1, attained at z1 = z2: any factor < 1 fails there by exactly log(factor)."""
    res = check_gz_sigmoid_ratio(z, z, factor=0.9)
    assert res.margin == pytest.approx(math.log(0.9), abs=1e-9)


# ---- FVB-GZ (b) ------------------------------------------------------------------------------


@pytest.mark.claim("FVB-GZ")
@given(z1=positive, z2=positive)
def test_gz_exp_ratio_on_domain(z1: float, z2: float, record_check) -> None:
    res = record_check(check_gz_exp_ratio(z1, z2))
    assert res.where["domain"] and res.where["region"]
    assert res.held, res


@pytest.mark.claim("FVB-GZ")
@given(z1=st.floats(-50.0, -1e-6), s=st.floats(1e-6, 50.0))
def test_gz_exp_ratio_region_both_sides(z1: float, s: float) -> None:
    """Off the stated domain (z1 < 0) (b) holds exactly up to z2 = z1 + log 2 - log(1 - e^{z1})."""
    b = gz_b_boundary(z1)
    inside = check_gz_exp_ratio(z1, b - s)
    outside = check_gz_exp_ratio(z1, b + s)
    assert inside.held and inside.where["region"], inside
    assert not outside.held and not outside.where["region"], outside


@pytest.mark.falsify
@pytest.mark.claim("FVB-GZ")
def test_gz_exp_ratio_falsify_constant() -> None:
    """On z1, z2 > 0 the constant 2 is sharp (z1 -> 0+, z2 -> inf): 1.9 fails by ~log(1.9/2)."""
    res = check_gz_exp_ratio(1e-9, 60.0, factor=1.9)
    assert res.margin == pytest.approx(math.log(1.9 / 2.0), abs=1e-8)


# ---- FVB-GZ (c) ------------------------------------------------------------------------------


def test_z_star() -> None:
    """z* from the bisection agrees with brentq on the direct formula and is a sign change of l - 2g."""
    def h(z: float) -> float:
        return math.log1p(math.exp(-z)) * (1.0 + math.exp(z)) - 2.0

    ref = optimize.brentq(h, -3.0, 0.0, xtol=1e-15, rtol=4 * np.finfo(float).eps)
    assert Z_STAR == pytest.approx(ref, abs=1e-12)
    assert Z_STAR == pytest.approx(-1.3664879106311163, abs=1e-12)
    assert log_ell_over_g(Z_STAR - 1e-11) > math.log(2.0) > log_ell_over_g(Z_STAR + 1e-11)


@pytest.mark.claim("FVB-GZ")
@given(z=st.floats(Z_STAR, 700.0))
def test_gz_loss_on_domain(z: float, record_check) -> None:
    res = record_check(check_gz_loss(z))
    assert res.held, res
    assert res.implied["z_star"] == Z_STAR


@pytest.mark.falsify
@pytest.mark.claim("FVB-GZ")
@given(s=st.floats(1e-9, 700.0))
def test_gz_loss_falsify_below_z_star(s: float) -> None:
    """l <= 2g ('L <= 2 G_hat') fails for every margin below z*; the margin is log 2 - log(l/g)."""
    z = Z_STAR - s
    res = check_gz_loss(z)
    assert not res.held and not res.where["domain"], res
    assert res.margin == pytest.approx(math.log(2.0) - float(log_ell_over_g(z)), abs=1e-9)


@pytest.mark.claim("FVB-GZ")
@given(case=fvb_gd_cases(steps=5000))
def test_loss_vs_sigmoid_on_runs(case: Case, record_check) -> None:
    """L <= 2 G_hat along in-regime GD runs at every checkpoint whose margins are >= z* (a run whose
    unequal widths keep some margin below z* for the whole horizon reports ``too_short``)."""
    res = record_check(check_loss_vs_sigmoid(case.run()))
    assert res.held or res.outcome == "too_short", res


@pytest.mark.claim("FVB-GZ")
def test_loss_vs_sigmoid_unbalanced_widths_leave_the_domain() -> None:
    """In Thm 4.2's regime with m1 = 1, m2 = 19, gamma = 0.3: phi(0) = 0.7 log 2 gives every output the
    offset f0 = -18 * 0.7 log 2 / sqrt(20) = -1.95 at t = 0, below z* = -1.37, and L <= 2 G_hat fails there
    (outside the declared domain), while it holds at every later checkpoint with margins >= z*."""
    from invariants.fvb.bounds import in_fvb_gd_regime, init_offset, init_scale_bound, step_size_bound
    from sim import Dataset, SimConfig, nearly_orthogonal_gram, simulate
    from sim.data import labels

    n, d, gamma = 4, 10**4, 0.3
    rng = np.random.default_rng(1)
    y = labels(n, rng)
    data = Dataset.virtual(nearly_orthogonal_gram(n, rng, 0.5 * gamma**3 / (3 * n), 1.0, 100.0), y, d)
    cfg = SimConfig(network="fvb", activation="smoothed_leaky", gamma=gamma, n=n, d=d, m=20, m1=1, eta=1.0,
                    sigma0=1.0, steps=100_000, seed=1)
    cfg = cfg.with_(eta=step_size_bound(cfg, data))
    cfg = cfg.with_(sigma0=init_scale_bound(cfg, data))
    assert in_fvb_gd_regime(cfg, data)
    assert init_offset(cfg) == pytest.approx(-18 * 0.7 * math.log(2) / math.sqrt(20))
    tr = simulate(cfg, data=data)
    res = check_loss_vs_sigmoid(tr)
    assert res.held, res
    assert res.where["outside_domain"] >= 1 and not res.where["held_outside"], res
    assert res.implied["margin_outside_domain"] < -0.05
    assert np.min(tr.margins[0]) == pytest.approx(init_offset(cfg), abs=1e-6)


@pytest.mark.falsify
@pytest.mark.claim("FVB-GZ")
def test_loss_vs_sigmoid_falsify_planted() -> None:
    from tests.fvb.test_bounds import _small_case

    tr = _small_case(steps=500, every_step=False).run()
    Gh = -tr.lprime.mean(axis=1)
    res = check_loss_vs_sigmoid(with_arrays(tr, loss=2.0 * Gh * math.e))
    assert res.margin == pytest.approx(-1.0, abs=1e-9)


# ---- FVB-L3.3 --------------------------------------------------------------------------------


def test_binomial_test_matches_clopper_pearson() -> None:
    """margin < 0 (CP lower bound > delta) exactly when the exact one-sided binomial test rejects."""
    N = 300
    for k in range(0, 80):
        lo, _ = clopper_pearson(k, N, L33_LEVEL)
        p = stats.binomtest(k, N, L33_DELTA, alternative="greater").pvalue
        assert (lo > L33_DELTA) == (p < L33_LEVEL), (k, lo, p)


@pytest.mark.claim("FVB-L3.3")
@given(n=st.integers(2, 12), gamma=st.floats(0.3, 0.95), seed=st.integers(0, 2**31 - 1))
def test_l33_at_threshold(n: int, gamma: float, seed: int, record_check) -> None:
    d = l33_dimension(n, gamma)
    res = record_check(check_l33(n, d, gamma, trials=300, seed=seed))
    assert res.held, res


@pytest.mark.falsify
@pytest.mark.claim("FVB-L3.3")
@pytest.mark.parametrize("n,gamma", [(8, 0.5), (12, 0.9)])
def test_l33_falsify_small_d(n: int, gamma: float) -> None:
    """At d = gamma^{-6} n^2 log(4n^2/delta) (C = 1, 18x below the threshold) (7) almost never holds."""
    res = check_l33(n, l33_dimension(n, gamma, C=1.0), gamma, trials=300)
    assert res.margin < -8.0, res  # (delta - ~1)/delta = -9 when every trial fails
    assert res.implied["freq"] < 0.05


@pytest.mark.claim("FVB-L3.3")
def test_l33_frequency_table() -> None:
    """The measured table: frequency of (7) rises from ~0 to 1 as d / (gamma^{-6} n^2 log(4n^2/delta)) goes
    from 1 to 36; at the declared C = 18 every (n, gamma) is at >= 1 - delta (95% CP lower bound)."""
    rows = l33_frequency_table(ns=(2, 4, 8), gammas=(0.5, 0.9), C_factors=(1, 4, 18, 36), trials=200)
    for r in rows:
        print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()})
    by = {(r["n"], r["gamma"], r["C"]): r for r in rows}
    for n in (2, 4, 8):
        for g in (0.5, 0.9):
            assert by[(n, g, 1)]["freq"] < 0.8
            assert by[(n, g, 18)]["freq_lower"] >= 1 - L33_DELTA
            assert by[(n, g, 36)]["freq"] >= by[(n, g, 1)]["freq"]


@pytest.mark.claim("FVB-GZ")
def test_loss_vs_sigmoid_on_a_run_whose_loss_underflows() -> None:
    """eta = 1e6: every margin ~1.5e5, so L and G_hat are 0 in float64; the check once took log(0/0) and
    reported FVB-GZ BROKEN with a nan margin.  In log space from the margins: held, finite, no warning."""
    import warnings

    from sim import SimConfig, simulate

    tr = simulate(SimConfig(gamma=0.1, n=10, d=200, m=20, steps=100, eta=1e6))
    assert np.all(tr.loss[1:] == 0.0) and tr.margins[-1].min() > 745
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = check_loss_vs_sigmoid(tr)
    assert res.outcome == "held" and np.isfinite(res.margin)
