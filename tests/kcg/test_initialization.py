"""KCG Lemmas A.1 and A.2 on the initializations ``simulate`` draws (no GD step is run).

Each property-test example fixes (n, m, d, sigma0, delta) inside the lemma's conditions with the declared
constants (``invariants.initialization.DECLARED``: d >= 48 log(mn/delta), m >= log(1/delta) for A.1,
m >= 50 log(2n/delta) for A.2), draws a data set (virtual at any d, or concrete at small d), then N
initializations (seeds cfg.seed .. cfg.seed + N - 1) and applies the one-sided binomial test of
"P(failure) <= delta" at level 0.01.  Falsification: out-of-regime sizes and wrong constants, whose
exact failure probabilities are known, must be rejected with the expected (very negative) margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from invariants.kcg.initialization import (
    BinomialTest,
    a1_conditions,
    a1a_failure_probability,
    a1a_probability,
    a1b_factor,
    a1b_failure_bound,
    a1b_probability,
    a2_conditions,
    a2_failure_probability,
    a2_probability,
    activation_counts,
    check_init_activation_counts,
    check_init_correlations,
    check_init_norms,
    exact_dimension_threshold,
    exact_width_threshold,
    in_a1_regime,
    in_a2_regime,
    init_checks,
)
from invariants.kcg.regime import KCG_CONSTANTS
from sim import Dataset, Init, SimConfig, nearly_orthogonal_gram, orthogonal, realize, resolve, simulate
from sim.data import labels

N_DRAWS = 200
LEVEL = 0.01


@dataclass(frozen=True)
class InitCase:
    cfg: SimConfig
    data: Dataset
    delta: float

    def __repr__(self) -> str:
        c = self.cfg
        return (f"InitCase(n={c.n}, m={c.m}, d={c.d}, sigma0={c.sigma0:.3g}, delta={self.delta:.3g}, "
                f"seed={c.seed}, virtual={self.data.is_virtual}, R={self.data.R:.3g}, "
                f"p/R_min^2={self.data.p_ratio:.3g})")


def make_data(n: int, d: int, rng: np.random.Generator, virtual: bool,
              orthogonal_data: bool = False) -> Dataset:
    """Nearly-orthogonal data (p/R_min^2 <= 1/(2n): diagonally dominant, so positive definite), norms in
    [sqrt(d), 2 sqrt(d)]; concrete X realized when not ``virtual``."""
    y = labels(n, rng)
    if orthogonal_data:
        G = np.diag(d * rng.uniform(1.0, 4.0, size=n))
    else:
        G = nearly_orthogonal_gram(n, rng, rng.uniform(0, 0.5 / n), rng.uniform(1.0, 2.0), math.sqrt(d))
    return Dataset.virtual(G, y, d) if virtual else Dataset.from_X(realize(G, d, rng), y)


@st.composite
def a1_cases(draw: st.DrawFn, virtual: bool) -> InitCase:
    """Lemma A.1's conditions with the declared constants: d >= 48 log(mn/delta), m >= log(1/delta)."""
    n = draw(st.integers(2, 8), label="n")
    delta = draw(st.floats(0.02, 0.5), label="delta")
    m = max(draw(st.integers(1, 40), label="m"), math.ceil(math.log(1 / delta)))
    d_min = math.ceil(48 * math.log(m * n / delta))
    if virtual:
        d = int(d_min * 10 ** draw(st.floats(0.0, 9.0), label="log10 d/d_min"))
    else:
        d = d_min + draw(st.integers(0, d_min), label="d - d_min")
    sigma0 = 10 ** draw(st.floats(-6.0, 1.0), label="log10 sigma0")
    seed = draw(st.integers(0, 2**31 - 1), label="seed")
    data = make_data(n, d, np.random.default_rng(seed), virtual)
    cfg = SimConfig(activation="relu", n=n, d=d, m=m, sigma0=sigma0, steps=0, seed=seed)
    assert a1_conditions(m, n, d, delta)
    return InitCase(cfg, data, delta)


@st.composite
def a2_cases(draw: st.DrawFn, virtual: bool) -> InitCase:
    """Lemma A.2's condition m >= 50 log(2n/delta) (m up to ~260: 2m x 2m Wishart per virtual draw)."""
    n = draw(st.integers(2, 6), label="n")
    delta = draw(st.floats(0.1, 0.5), label="delta")
    m = math.ceil(50 * math.log(2 * n / delta)) + draw(st.integers(0, 20), label="m - m_min")
    if virtual:
        d = 10 ** draw(st.integers(3, 12), label="log10 d")
    else:
        d = n + draw(st.integers(0, 30), label="d - n")
    sigma0 = 10 ** draw(st.floats(-6.0, 1.0), label="log10 sigma0")
    seed = draw(st.integers(0, 2**31 - 1), label="seed")
    data = make_data(n, d, np.random.default_rng(seed), virtual, draw(st.booleans(), label="orthogonal"))
    cfg = SimConfig(activation="relu", n=n, d=d, m=m, sigma0=sigma0, steps=0, seed=seed)
    assert a2_conditions(m, n, delta)
    return InitCase(cfg, data, delta)


def _assert_expected_rejection(res, p_exact: float, N: int) -> None:
    """The failure count agrees with the exact failure probability (4 sd) and the margin is that of the
    binomial test at this count, far below 0."""
    k = res.where["k_fail"]
    sd = math.sqrt(N * p_exact * (1 - p_exact))
    assert abs(k - N * p_exact) <= 4 * sd + 1, (k, N * p_exact)
    assert res.margin == pytest.approx(BinomialTest(k, N, res.bound, LEVEL).margin)
    expected = BinomialTest(max(0, math.floor(N * p_exact - 4 * sd - 1)), N, res.bound, LEVEL).margin
    assert res.margin <= min(expected, -1.0), (res.margin, expected)


# ---- binomial test -----------------------------------------------------------------------------

def test_binomial_test_values() -> None:
    """p = P(Binom(N, delta) >= k); rejected iff p < level; Clopper-Pearson upper bound."""
    bt = BinomialTest(k=31, N=200, delta=0.1, level=0.01)
    from scipy import stats

    assert bt.p_value == pytest.approx(stats.binom.sf(30, 200, 0.1), rel=1e-9)
    assert bt.rejected == (bt.p_value < 0.01)
    assert BinomialTest(0, 200, 0.1, 0.01).margin == pytest.approx(2.0)
    assert BinomialTest(0, 200, 0.1, 0.01).cp_upper == pytest.approx(1 - 0.01 ** (1 / 200), rel=1e-9)
    assert BinomialTest(200, 200, 0.1, 0.01).margin == pytest.approx(-200 + 2, rel=1e-9)
    # the smallest rejecting count at N = 200, delta = 0.1 lies 2-3 sd above the mean 20
    k_star = min(k for k in range(201) if BinomialTest(k, 200, 0.1, 0.01).rejected)
    assert 28 <= k_star <= 33


# ---- Lemma A.1 (norms) -------------------------------------------------------------------------

@pytest.mark.claim("KCG-A1a")
@given(case=st.booleans().flatmap(lambda v: a1_cases(virtual=v)))
def test_a1a_holds(case: InitCase, record_check) -> None:
    res = record_check(a1a_probability(case.cfg, case.data, N_DRAWS, case.delta))
    assert res.held, res
    assert res.implied["p_fail_exact"] <= case.delta
    assert res.implied["C_dim_exact"] <= 48.0  # the declared constant is sufficient (exact law)


@pytest.mark.claim("KCG-A1a")
@given(n=st.integers(2, 8), m=st.integers(1, 40), delta=st.floats(0.05, 0.5), seed=st.integers(0, 2**31 - 1))
def test_a1a_holds_at_exact_threshold(n: int, m: int, delta: float, seed: int, record_check) -> None:
    """At the smallest d where the exact failure probability is <= delta (C_dim ~ 6-15, far below the
    declared 48) the lemma's probability statement still holds: a sharp test of the draw's law."""
    d = max(exact_dimension_threshold(m, n, delta), n)
    data = make_data(n, d, np.random.default_rng(seed), virtual=False)
    cfg = SimConfig(activation="relu", n=n, d=d, m=m, sigma0=0.1, steps=0, seed=seed)
    res = a1a_probability(cfg, data, N_DRAWS, delta)
    res = record_check(replace(res, note=f"{res.note}; at the exact threshold d* = {d}"))
    assert res.held, res


@pytest.mark.claim("KCG-A1a")
@pytest.mark.falsify
def test_a1a_rejects_tiny_d() -> None:
    """d = 6 << log(mn/delta) (outside A.1): chi^2_6/6 leaves [1/2, 3/2] w.p. 0.42 per neuron."""
    n, m, d, delta = 5, 20, 6, 0.1
    data = make_data(n, d, np.random.default_rng(1), virtual=False)
    cfg = SimConfig(activation="relu", n=n, d=d, m=m, sigma0=1.0, steps=0, seed=3)
    assert not in_a1_regime(cfg, data)
    res = a1a_probability(cfg, data, N_DRAWS, delta)
    p = float(a1a_failure_probability(d, m))
    assert p > 0.999
    _assert_expected_rejection(res, p, N_DRAWS)


@pytest.mark.claim("KCG-A1a")
@pytest.mark.falsify
def test_a1a_rejects_narrow_band() -> None:
    """In-regime d, wrong constants: the band [0.9, 1.1] instead of [1/2, 3/2]."""
    n, m, delta = 5, 10, 0.1
    d = math.ceil(48 * math.log(m * n / delta))
    data = make_data(n, d, np.random.default_rng(2), virtual=False)
    cfg = SimConfig(activation="relu", n=n, d=d, m=m, sigma0=0.3, steps=0, seed=5)
    res = a1a_probability(cfg, data, N_DRAWS, delta, band=(0.9, 1.1))
    _assert_expected_rejection(res, float(a1a_failure_probability(d, m, (0.9, 1.1))), N_DRAWS)


@pytest.mark.claim("KCG-A1a")
@pytest.mark.falsify
def test_a1a_per_draw_flags_planted_neuron() -> None:
    """One neuron doubled: ||w||^2 x 4 ~ 4 sigma0^2 d > 3/2 sigma0^2 d, margin (3/2 - q) / (1/2)."""
    cfg = SimConfig(activation="relu", n=4, d=400, m=8, sigma0=0.5, steps=0, seed=11)
    data, init = resolve(cfg)
    W0 = init.W0.copy()
    W0[3] *= 2.0
    res = check_init_norms(cfg, data, Init.from_weights(W0, data))
    q = float(W0[3] @ W0[3]) / (cfg.sigma0**2 * cfg.d)
    assert res.where == {"j": 1, "r": 3} and res.margin == pytest.approx((1.5 - q) / 0.5) and res.margin < -3


# ---- Lemma A.1 (correlations) ------------------------------------------------------------------

@pytest.mark.claim("KCG-A1b")
@given(case=st.booleans().flatmap(lambda v: a1_cases(virtual=v)))
def test_a1b_holds(case: InitCase, record_check) -> None:
    res = record_check(a1b_probability(case.cfg, case.data, N_DRAWS, case.delta))
    assert res.held, res
    assert res.implied["p_fail_exact"] <= case.delta / 2  # the proof's delta/2 share (Sidak bound)


@pytest.mark.claim("KCG-A1b")
@pytest.mark.falsify
def test_a1b_rejects_small_factor() -> None:
    """Wrong constant: factor 1 in place of sqrt(2 log(8mn/delta)) ~ 3.7 at m = 10, n = 5."""
    n, m, delta = 5, 10, 0.1
    d = math.ceil(48 * math.log(m * n / delta))
    data = orthogonal(n, d, np.random.default_rng(4), norms=math.sqrt(d))  # equal norms: Sidak is exact
    cfg = SimConfig(activation="relu", n=n, d=d, m=m, sigma0=0.3, steps=0, seed=7)
    res = a1b_probability(cfg, data, N_DRAWS, delta, factor=1.0)
    _assert_expected_rejection(res, a1b_failure_bound(m, n, 1.0), N_DRAWS)


@pytest.mark.claim("KCG-A1b")
@pytest.mark.falsify
def test_a1b_rejects_factor_below_exact_quantile() -> None:
    """A subtler wrong constant: the factor whose exact failure probability is 0.5 (orthogonal data)."""
    from scipy import stats

    n, m, delta = 4, 10, 0.1
    d = 500
    data = orthogonal(n, d, np.random.default_rng(5), norms=math.sqrt(d))
    s = float(stats.norm.isf(-math.expm1(math.log(0.5) / (2 * m * n)) / 2))
    assert a1b_failure_bound(m, n, s) == pytest.approx(0.5) and s < a1b_factor(m, n, delta)
    cfg = SimConfig(activation="relu", n=n, d=d, m=m, sigma0=1.0, steps=0, seed=9)
    res = a1b_probability(cfg, data, N_DRAWS, delta, factor=s)
    _assert_expected_rejection(res, 0.5, N_DRAWS)


@pytest.mark.claim("KCG-A1b")
@pytest.mark.falsify
def test_a1b_per_draw_flags_planted_entry() -> None:
    cfg = SimConfig(activation="relu", n=4, d=200, m=8, sigma0=0.5, steps=0, seed=13)
    data, init = resolve(cfg)
    bound = a1b_factor(8, 4, KCG_CONSTANTS.delta) * cfg.sigma0 * data.R_max
    P0 = init.P0.copy()
    P0[10, 2] = -2.0 * bound  # neuron j = -1, r = 2 on x_2
    res = check_init_correlations(cfg, data, Init(P0=P0, K0=init.K0))
    assert res.where == {"j": -1, "r": 2, "i": 2} and res.margin == pytest.approx(-1.0)


# ---- Lemma A.2 ---------------------------------------------------------------------------------

@pytest.mark.claim("KCG-A2")
@given(case=st.sampled_from([False, False, True]).flatmap(lambda v: a2_cases(virtual=v)))
def test_a2_holds(case: InitCase, record_check) -> None:
    res = record_check(a2_probability(case.cfg, case.data, 100, case.delta))
    assert res.held, res
    assert res.implied["C_width_exact"] <= 50.0


@pytest.mark.claim("KCG-A2")
@given(n=st.integers(2, 10), delta=st.floats(0.05, 0.5), seed=st.integers(0, 2**31 - 1))
def test_a2_holds_at_exact_threshold(n: int, delta: float, seed: int, record_check) -> None:
    """Orthogonal data at the smallest m where the exact failure probability is <= delta (C ~ 15-36,
    below the paper's 50): the probability statement still holds."""
    m = exact_width_threshold(n, delta)
    data = make_data(n, n + 2, np.random.default_rng(seed), virtual=False, orthogonal_data=True)
    cfg = SimConfig(activation="relu", n=n, d=n + 2, m=m, sigma0=1.0, steps=0, seed=seed)
    res = a2_probability(cfg, data, N_DRAWS, delta)
    res = record_check(replace(res, note=f"{res.note}; at the exact threshold m* = {m}"))
    assert res.held, res
    assert res.implied["p_fail_exact"] <= delta


@pytest.mark.claim("KCG-A2")
@pytest.mark.falsify
def test_a2_rejects_small_width() -> None:
    """m = 5 << 50 log(2n/delta) (outside A.2): |S_i| in {2, 3} only w.p. 0.625 per point."""
    n, m, delta = 5, 5, 0.1
    data = make_data(n, n + 3, np.random.default_rng(6), virtual=False, orthogonal_data=True)
    cfg = SimConfig(activation="relu", n=n, d=n + 3, m=m, sigma0=1.0, steps=0, seed=17)
    assert not in_a2_regime(cfg, data)
    res = a2_probability(cfg, data, N_DRAWS, delta)
    _assert_expected_rejection(res, float(a2_failure_probability(m, n)), N_DRAWS)


@pytest.mark.claim("KCG-A2")
@pytest.mark.falsify
def test_a2_rejects_narrow_band() -> None:
    """In-regime m, wrong constants: [0.45 m, 0.55 m] in place of [0.4 m, 0.6 m]."""
    n, delta = 4, 0.1
    m = math.ceil(50 * math.log(2 * n / delta))
    data = make_data(n, n + 3, np.random.default_rng(7), virtual=False, orthogonal_data=True)
    cfg = SimConfig(activation="relu", n=n, d=n + 3, m=m, sigma0=1.0, steps=0, seed=19)
    res = a2_probability(cfg, data, N_DRAWS, delta, band=(0.45, 0.55))
    _assert_expected_rejection(res, float(a2_failure_probability(m, n, (0.45, 0.55))), N_DRAWS)


@pytest.mark.claim("KCG-A2")
@pytest.mark.falsify
def test_a2_per_draw_flags_planted_pattern() -> None:
    """Every own-class neuron made active on x_0: |S_0(0)| = m, margin (0.6 - 1) / 0.1 = -4."""
    cfg = SimConfig(activation="relu", n=4, d=50, m=60, sigma0=1.0, steps=0, seed=23)
    data, init = resolve(cfg)
    P0 = init.P0.copy().reshape(2, 60, 4)
    j = 0 if data.y[0] > 0 else 1
    P0[j, :, 0] = np.abs(P0[j, :, 0])
    planted = Init(P0=P0.reshape(120, 4), K0=init.K0)
    res = check_init_activation_counts(cfg, data, planted)
    assert activation_counts(cfg, data, planted)[0] == 60
    assert res.where["i"] == 0 and res.margin == pytest.approx(-4.0)


# ---- trajectory route --------------------------------------------------------------------------

def test_init_checks_on_a_trajectory() -> None:
    """The per-draw checks read a Trajectory's initialization (t = 0 of a zero-step run) and agree with
    resolve()'s draw for the same seed."""
    cfg = SimConfig(activation="relu", n=4, d=400, m=160, sigma0=0.05, steps=0, seed=29)
    traj = simulate(cfg)
    data, init = resolve(cfg)
    np.testing.assert_array_equal(traj.init.P0, init.P0)
    a, b, c = init_checks(traj)
    assert (a.claim, b.claim, c.claim) == ("KCG-A1a", "KCG-A1b", "KCG-A2")
    assert a.margin == check_init_norms(cfg, data, init).margin
