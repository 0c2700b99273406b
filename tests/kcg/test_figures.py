"""KCG's figures (§6) and open questions (§7): measured and reported, never asserted.

The property tests run the experiments, record every result in the margins report, and assert only what
must be true of the measurement itself (finite, well-formed, the margin's sign agreeing with the
measured ordering, counting identities) -- never that the figure's claim or an answer to an open
question holds.  The falsify tests plant the opposite (a reversed sweep, a rotating direction, a late
switch, a planted stable rank) and show each measurement reports a negative margin of the expected size.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from invariants import CheckResult, get
from invariants._internal.profiles import horizon
from invariants._internal.tolerance import sum_bound
from invariants.kcg.figures import (
    FIG1_GAMMAS,
    FIG23_GAMMA,
    FIG23_SIGMAS,
    OQ3_BAND,
    PAPER_STEPS,
    Sweep,
    check_activation_switching,
    check_direction_convergence,
    check_fig1,
    check_fig23,
    check_relu_orthogonal_stable_rank,
    direction_angles,
    f3_limit,
    frobenius_inner,
    log_checkpoints,
    log_time_mean,
    oq3_limit_survey,
    ordering_margin,
    paper_config,
    run_sweep,
)
from invariants.kcg.regime import in_kcg_orthogonal_relu_regime, kcg_cases
from sim import Dataset, Init, SimConfig, Trajectory, simulate
from sim.data import labels

# ---- helpers -------------------------------------------------------------------------------------------

def assert_ordering_well_formed(res: CheckResult) -> None:
    """A sweep result: margin in [-1, 1] with the sign of the measured gap, fractions in [0, 1]."""
    assert res.outcome in ("held", "failed"), res
    assert math.isfinite(res.margin) and -1.0 - 1e-12 <= res.margin <= 1.0 + 1e-12, res
    assert (res.margin >= 0) == (res.measured >= 0), res
    for k in ("frac seeds ordered", "frac pairs ordered"):
        assert 0.0 <= res.implied[k] <= 1.0, res
    assert all(v >= 1.0 - 1e-9 for k, v in res.implied.items() if k.startswith("SR[")), res
    # every seed ordered => the seed means are ordered too
    if res.implied["frac seeds ordered"] == 1.0:
        assert res.margin > 0, res


def record_all(record_check, results: list[CheckResult]) -> list[CheckResult]:
    return [record_check(r) for r in results]


_RUNS: dict[tuple, Trajectory] = {}


def paper_run(activation: str, seed: int, steps: int, gamma: float | None = None, m: int = 100,
              checkpoints: int = 40) -> Trajectory:
    """A §6-mixture run, cached for the module (OQ1 and OQ2 read the same runs)."""
    key = (activation, gamma, seed, steps, m, checkpoints)
    if key not in _RUNS:
        _RUNS[key] = simulate(paper_config(activation=activation, gamma=gamma, seed=seed, steps=steps, m=m,
                                           num_checkpoints=checkpoints))
    return _RUNS[key]


def planted_sweep(param: str, values: tuple[float, ...], end: list[float]) -> Sweep:
    """A two-checkpoint sweep whose SR is planted: SR(0) = 50 and SR(T) = ``end`` for every seed."""
    times = np.array([0, 1, 100])
    sr = np.stack([np.array([[50.0, 50.0, e], [50.0, 50.0, e]]) for e in end])  # (K, S=2, T)
    return Sweep(param, values, (0, 1), times, sr, sr.copy(), {"planted": True})


# ---- KCG-FIG1 --------------------------------------------------------------------------------------------

def test_figure_claims_are_registered_as_measured() -> None:
    for cid, kind in (("KCG-FIG1", "figure"), ("KCG-FIG23", "figure"), ("KCG-OQ1", "open-question"),
                      ("KCG-OQ2", "open-question"), ("KCG-OQ3", "open-question")):
        c = get(cid)
        assert c.status == "measured" and c.kind == kind, c


@pytest.mark.claim("KCG-FIG1")
def test_fig1_paper_setup(record_check) -> None:
    """Fig. 1's gamma sweep on the §6 mixture, 5 seeds (the paper's 5 runs), at 50 steps and at T."""
    T = horizon(2000)
    base = paper_config(steps=T, checkpoints=log_checkpoints(T, 16))
    sweep = run_sweep(base, "gamma", FIG1_GAMMAS, seeds=range(5))
    for t_end in (PAPER_STEPS, None):
        for res in record_all(record_check, check_fig1(sweep, t_end)):
            assert_ordering_well_formed(res)
            assert res.where["t"] == (PAPER_STEPS if t_end else T)


@pytest.mark.claim("KCG-FIG1")
@given(seed=st.integers(0, 2**16), m=st.integers(8, 32), n=st.integers(4, 10),
       d=st.sampled_from([100, 784]),
       gammas=st.lists(st.sampled_from(FIG1_GAMMAS), min_size=2, max_size=3, unique=True))
def test_fig1_small_configs(record_check, seed: int, m: int, n: int, d: int, gammas: list[float]) -> None:
    """The same comparison on smaller mixtures (n, m, d drawn), two paired seeds."""
    T = horizon(500)
    base = paper_config(n=n, d=d, m=m, steps=T, checkpoints=log_checkpoints(T, 12))
    sweep = run_sweep(base, "gamma", gammas, seeds=(seed, seed + 1))
    for res in record_all(record_check, check_fig1(sweep)):
        assert_ordering_well_formed(res)


@pytest.fixture(scope="module")
def small_gamma_sweep() -> Sweep:
    base = paper_config(m=16, steps=300, checkpoints=log_checkpoints(300, 10))
    return run_sweep(base, "gamma", (0.1, 0.5, 0.9), seeds=(0, 1))


@pytest.mark.claim("KCG-FIG1")
@pytest.mark.falsify
def test_fig1_flags_a_reversed_sweep(small_gamma_sweep: Sweep) -> None:
    """Swap the gamma labels (reverse the curves): the margin is minus the largest original pair margin."""
    sw = small_gamma_sweep
    orig = check_fig1(sw)
    rev = replace(sw, stacked=sw.stacked[::-1].copy(), per_sign=sw.per_sign[::-1].copy())
    flipped = check_fig1(rev)
    for a, b in zip(orig, flipped, strict=True):
        k = sw.times.size - 1
        stat = sw.stacked[:, :, k] if a.claim.endswith("ends-lower") else log_time_mean(sw.times, sw.stacked)
        o = ordering_margin(stat, "decreasing")
        assert b.margin == pytest.approx(-np.max(o.pair_margins), rel=1e-12), (a, b)
        if a.margin > 0:
            assert b.margin < 0 and b.outcome == "failed", b


@pytest.mark.claim("KCG-FIG1")
@pytest.mark.falsify
def test_fig1_flags_planted_stable_ranks() -> None:
    """SR(T) = 1.5, 2.0, 1.2 for gamma = 0.1, 0.5, 0.9: pair margins (1.5-2)/(2-1) = -0.5 and +0.8."""
    res = check_fig1(planted_sweep("gamma", (0.1, 0.5, 0.9), [1.5, 2.0, 1.2]))[0]
    assert res.claim == "KCG-FIG1:ends-lower"
    assert res.margin == pytest.approx(-0.5, rel=1e-12) and res.measured == pytest.approx(-0.5)
    assert res.where["pair"] == [0.1, 0.5] and res.implied["frac seeds ordered"] == 0.0
    # the same numbers in the expected order give the mirror margins
    ok = check_fig1(planted_sweep("gamma", (0.1, 0.5, 0.9), [2.0, 1.5, 1.2]))[0]
    assert ok.margin == pytest.approx(min(0.5 / 1.0, 0.3 / 0.5), rel=1e-12) and ok.held


# ---- KCG-FIG23 -------------------------------------------------------------------------------------------

@pytest.mark.claim("KCG-FIG23")
@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_fig23_paper_setup(record_check, activation: str) -> None:
    """Figs. 2-3's sigma0 sweep (ReLU; leaky slope 0.1) on the §6 mixture, 5 seeds."""
    T = horizon(2000)
    base = paper_config(activation=activation, gamma=FIG23_GAMMA, steps=T, checkpoints=log_checkpoints(T, 16))
    sweep = run_sweep(base, "sigma0", FIG23_SIGMAS, seeds=range(5))
    for t_end in (PAPER_STEPS, None):
        for res in record_all(record_check, check_fig23(sweep, t_end)):
            assert_ordering_well_formed(res)


@pytest.mark.claim("KCG-FIG23")
@given(seed=st.integers(0, 2**16), m=st.integers(8, 32), activation=st.sampled_from(["relu", "leaky_relu"]),
       sigmas=st.lists(st.sampled_from(FIG23_SIGMAS), min_size=2, max_size=3, unique=True))
def test_fig23_small_configs(record_check, seed: int, m: int, activation: str, sigmas: list[float]) -> None:
    T = horizon(500)
    base = paper_config(activation=activation, m=m, steps=T, checkpoints=log_checkpoints(T, 12))
    sweep = run_sweep(base, "sigma0", sigmas, seeds=(seed, seed + 1))
    for res in record_all(record_check, check_fig23(sweep)):
        assert_ordering_well_formed(res)


@pytest.mark.claim("KCG-FIG23")
@pytest.mark.falsify
def test_fig23_flags_planted_stable_ranks() -> None:
    """SR(T) falling with sigma0 (2.0, 1.5) is the reverse of the figure: margin -(0.5 / 1)."""
    res = check_fig23(planted_sweep("sigma0", (1e-5, 1e-3), [2.0, 1.5]))
    assert res[0].claim == "KCG-FIG23:ends-lower"
    assert res[0].margin == pytest.approx(-0.5, rel=1e-12) and not res[0].held
    # SR(1) = 50, SR(100) = e: the log-time mean is (50 + e) / 2 = 26, 25.75 -> -0.25 / (26 - 1)
    assert res[1].margin == pytest.approx(-0.01, rel=1e-12) and not res[1].held


def test_sweep_checks_refuse_the_wrong_parameter() -> None:
    with pytest.raises(ValueError, match="gamma sweep"):
        check_fig1(planted_sweep("sigma0", (1e-5, 1e-3), [1.0, 2.0]))
    with pytest.raises(ValueError, match="sigma0 sweep"):
        check_fig23(planted_sweep("gamma", (0.1, 0.9), [1.0, 2.0]))


# ---- KCG-OQ1: directional convergence -----------------------------------------------------------------

def test_direction_angles_match_the_weights() -> None:
    """The Gram route equals W itself (concrete data): ||W(t)||^2 = fro2 and the consecutive cosines."""
    tr = simulate(paper_config(activation="relu", m=12, steps=400, num_checkpoints=12, seed=3))
    theta, n2 = direction_angles(tr.rho_flat, tr.data.G, tr.init.P0, tr.init.K0)
    W = [tr.weights(k) for k in range(tr.times.size)]
    M, d = W[0].shape
    n = tr.data.n
    for k in range(tr.times.size):
        scale = float(np.sum(W[k] ** 2))
        tol = sum_bound(M * (d + n * n), scale)  # both sides: sums of M d (resp. M n^2) products
        assert abs(n2[k] - scale) <= tol and abs(n2[k] - tr.fro2[k, 2]) <= tol, k
    for k in range(tr.times.size - 1):
        a, b = W[k], W[k + 1]
        na, nb = np.linalg.norm(a), np.linalg.norm(b)
        cos_direct = float(np.sum(a * b) / (na * nb))
        inner = frobenius_inner(tr.rho_flat[k], tr.rho_flat[k + 1], tr.data.G, tr.init.P0, tr.init.K0)
        tol = sum_bound(M * (d + n * n), 1.0)
        assert abs(inner / (na * nb) - cos_direct) <= tol, k
        assert abs(math.cos(theta[k]) - cos_direct) <= tol, k


def assert_oq1_well_formed(res: CheckResult) -> None:
    assert res.claim == "KCG-OQ1"
    if res.outcome == "too_short":
        return
    assert res.outcome in ("held", "failed"), res
    beta = res.implied["beta"]
    assert math.isfinite(beta) and res.margin == pytest.approx(beta - 1.0, abs=1e-12), res
    assert 0.0 <= res.implied["angle W(sqrtT)-W(T) (rad)"] <= math.pi, res
    assert res.implied["last speed (rad per ln t)"] > 0, res
    rem = res.implied["remaining rotation (rad)"]
    assert (rem < math.inf) == (res.margin > 0) and rem > 0, res


@pytest.mark.claim("KCG-OQ1")
@given(case=kcg_cases("relu", log10_d=(3, 4), steps=20_000, checkpoints=40))
def test_oq1_relu_in_regime(record_check, case) -> None:
    """ReLU inside Thm 4.3 (small d so W is not init-dominated): angular speed against ln t."""
    assert_oq1_well_formed(record_check(check_direction_convergence(case.run())))


@pytest.mark.claim("KCG-OQ1")
@pytest.mark.parametrize(("activation", "gamma"), [("relu", None), ("leaky_relu", 0.1)])
@pytest.mark.parametrize("seed", [0, 1])
def test_oq1_paper_mixture(record_check, activation: str, gamma: float | None, seed: int) -> None:
    """The §6 mixture (outside the regime; ReLU chatters there, see OQ2); leaky as the control."""
    tr = paper_run(activation, seed, horizon(20_000), gamma)
    assert_oq1_well_formed(record_check(check_direction_convergence(tr)))


def rotating(traj: Trajectory, phase) -> Trajectory:
    """Plant W(t) = (1 + ln t)(cos phi(t) e_1 + sin phi(t) e_2) in neuron 0, W(0)-part zero, G = I."""
    t = np.maximum(traj.times.astype(float), 1.0)
    rho = np.zeros_like(traj.rho_flat)
    r, ph = 1.0 + np.log(t), phase(np.log(t))
    rho[:, 0, 0], rho[:, 0, 1] = r * np.cos(ph), r * np.sin(ph)
    M, n = traj.init.P0.shape
    return replace(traj, rho_flat=rho, init=Init(P0=np.zeros((M, n)), K0=np.zeros((M, M))))


@pytest.fixture(scope="module")
def unit_orthogonal_run() -> Trajectory:
    """A container run on G = I (n = 2), 40 log-spaced checkpoints up to 10^6 (few real steps)."""
    y = np.array([1.0, -1.0])
    data = Dataset.virtual(np.eye(2), y, 2)
    cfg = SimConfig(activation="relu", n=2, d=2, m=2, eta=0.1, sigma0=0.01, steps=10**6,
                    checkpoints=log_checkpoints(10**6, 40, extra=()))
    return simulate(cfg, data=data)


@pytest.mark.claim("KCG-OQ1")
@pytest.mark.falsify
@pytest.mark.parametrize(("beta", "expected"), [(0.0, -1.0), (0.5, -0.5), (2.0, 1.0)])
def test_oq1_flags_a_rotating_direction(unit_orthogonal_run: Trajectory, beta: float,
                                        expected: float) -> None:
    """phi with dphi/dln t = 0.3 (ln t)^-beta: beta = 0 rotates forever at a constant speed (margin -1),
    beta = 0.5 slows but never stops (-0.5); beta = 2 converges (+1, the positive control)."""
    w = 0.3
    if beta == 0.0:
        phase = lambda u: w * u  # noqa: E731
    elif beta == 0.5:
        phase = lambda u: 2 * w * np.sqrt(u)  # noqa: E731
    else:
        phase = lambda u: -w / np.maximum(u, 1e-300)  # noqa: E731
    tr = rotating(unit_orthogonal_run, phase)
    if beta == 2.0:  # phi(1) = -inf: drop t = 1 by moving it to t = 2's values
        tr.rho_flat[tr.times <= 1] = tr.rho_flat[np.searchsorted(tr.times, 2)]
    res = check_direction_convergence(tr)
    assert res.margin == pytest.approx(expected, abs=0.05), res
    assert res.held == (expected >= 0)


# ---- KCG-OQ2: activation switching --------------------------------------------------------------------

def assert_oq2_well_formed(res: CheckResult, tr: Trajectory) -> None:
    assert res.claim == "KCG-OQ2"
    if res.outcome == "too_short":
        return
    T = int(tr.times[-1])
    assert res.margin == pytest.approx(math.log10(T / max(tr.pattern_frozen_at, 1)) - 1.0, abs=1e-12)
    assert tr.n_changes is not None and int(tr.changes_flat.sum()) == int(tr.n_changes[-1])
    assert np.all(np.diff(tr.n_changes) >= 0)
    assert res.measured >= 0 and res.implied["pairs switching late"] >= 0
    assert res.implied["max switches per pair"] == tr.changes_flat.max()
    if res.margin < 0:  # a switch after T/10: seen by both the per-pair and the cumulative records
        assert res.implied["pairs switching late"] >= 1 and res.measured >= 1, res
    if res.margin > 0:
        assert res.implied["pairs switching late"] == 0, res


@pytest.mark.claim("KCG-OQ2")
@given(case=kcg_cases("relu", log10_d=(3, 6), steps=20_000, checkpoints=40))
def test_oq2_relu_in_regime(record_check, case) -> None:
    """ReLU inside Thm 4.3 (nearly orthogonal virtual data): switches per decade of t."""
    tr = case.run()
    assert_oq2_well_formed(record_check(check_activation_switching(tr)), tr)


@pytest.mark.claim("KCG-OQ2")
@pytest.mark.parametrize("seed", [0, 1])
def test_oq2_paper_mixture(record_check, seed: int) -> None:
    tr = paper_run("relu", seed, horizon(20_000))
    assert_oq2_well_formed(record_check(check_activation_switching(tr)), tr)


@pytest.mark.claim("KCG-OQ2")
@pytest.mark.falsify
def test_oq2_flags_a_planted_late_switch() -> None:
    """A run whose pattern froze early, with one switch planted at T: margin log10(T/T) - 1 = -1;
    the freeze moved to T/100 instead: +1."""
    tr = paper_run("leaky_relu", 0, horizon(20_000), 0.5)
    T = int(tr.times[-1])
    base = check_activation_switching(tr)
    assert base.held, base  # gamma = 0.5 on the mixture freezes at once (its pattern never changes late)
    ch, lc = tr.changes_flat.copy(), tr.last_change_flat.copy()
    ch[0, 0] += 1
    lc[0, 0] = T
    nc = tr.n_changes.copy()
    nc[-1] += 1
    bad = check_activation_switching(replace(tr, changes_flat=ch, last_change_flat=lc, n_changes=nc))
    assert bad.margin == pytest.approx(-1.0, abs=1e-12) and not bad.held
    assert bad.measured >= 1 and bad.implied["pairs switching late"] == 1
    lc2 = tr.last_change_flat.copy()
    lc2[0, 0] = T // 100
    quiet = check_activation_switching(replace(tr, last_change_flat=lc2))
    assert quiet.margin == pytest.approx(math.log10(T / (T // 100)) - 1.0, abs=1e-12) and quiet.held


# ---- KCG-OQ3: ReLU stable-rank limit on orthogonal data -----------------------------------------------

def assert_oq3_well_formed(results: list[CheckResult]) -> None:
    assert [r.claim for r in results] == ["KCG-OQ3:horizon", "KCG-OQ3:limit"]
    for r in results:
        if r.outcome not in ("held", "failed"):
            continue
        assert r.margin == pytest.approx(OQ3_BAND - abs(r.measured - 2.0) / 2.0, abs=1e-12), r
        assert r.measured >= 1.0 - 1e-9, r
    lim = results[1]
    if lim.outcome in ("held", "failed"):
        n_j = max(lim.implied["n_+"], lim.implied["n_-"])
        assert lim.measured <= n_j + 1e-9, lim  # SR <= rank <= n_j


@pytest.mark.claim("KCG-OQ3")
@given(case=kcg_cases("relu", orthogonal=True, n=(2, 10), log10_d=(3, 3), sigma_frac=(0.05, 0.25),
                      steps=20_000, checkpoints=16))
def test_oq3_relu_orthogonal_in_regime(record_check, case) -> None:
    """SR(W_j) at the horizon and Lemma F.3's limit on the run's own initial pattern."""
    assert in_kcg_orthogonal_relu_regime(case.cfg, case.data)
    assert_oq3_well_formed(record_all(record_check, check_relu_orthogonal_stable_rank(case.run())))


@pytest.mark.claim("KCG-OQ3")
@pytest.mark.parametrize("m", [20, 100])
def test_oq3_width_sweep(record_check, m: int) -> None:
    """n = 10 orthogonal points (d = 1000), 3 seeds: the range of SR(W_j(T)) over seeds and m."""
    n, d = 10, 1000
    for seed in range(3):
        rng = np.random.default_rng(seed)
        data = Dataset.virtual(np.eye(n) * d, labels(n, rng), d)
        eta = 0.5 * n * m / (4.0 * d)
        sigma0 = 0.1 / (4.0 * math.sqrt(d) * math.sqrt(math.log(m * n / 0.1)))
        cfg = SimConfig(activation="relu", n=n, d=d, m=m, eta=eta, sigma0=sigma0, steps=horizon(20_000),
                        seed=seed, num_checkpoints=12)
        assert in_kcg_orthogonal_relu_regime(cfg, data)
        assert_oq3_well_formed(record_all(record_check,
                                          check_relu_orthogonal_stable_rank(simulate(cfg, data=data))))


@pytest.mark.claim("KCG-OQ3")
@pytest.mark.parametrize(("n", "m"), [(2, 100), (4, 100), (10, 20), (10, 100), (10, 1000), (50, 20),
                                      (50, 1000)])
def test_oq3_limit_survey(record_check, n: int, m: int) -> None:
    """Lemma F.3's limit on 20 random initial patterns per (n, m): its range."""
    res = record_check(oq3_limit_survey(n, m, range(20)))
    lo, mu, hi = (res.implied[k] for k in ("SR limit min", "SR limit mean", "SR limit max"))
    assert 1.0 - 1e-9 <= lo <= mu <= hi <= n - n // 2 + 1e-9, res
    assert res.margin == pytest.approx(OQ3_BAND - abs(res.measured - 2.0) / 2.0, abs=1e-12)


@pytest.mark.claim("KCG-OQ3")
@pytest.mark.falsify
def test_oq3_flags_planted_stable_ranks() -> None:
    """Planted SR(W_j(T)): 2 and 2 gives +band; 1 gives band - 1/2 = -0.25."""
    n, d, m = 4, 1000, 20
    rng = np.random.default_rng(0)
    data = Dataset.virtual(np.eye(n) * d, labels(n, rng), d)
    tr = simulate(SimConfig(activation="relu", n=n, d=d, m=m, eta=0.01, sigma0=1e-3, steps=10,
                            num_checkpoints=3), data=data)
    fro2 = tr.fro2.copy()
    fro2[-1, :2] = 2.0 * tr.spec2[-1, :2]
    at_two = check_relu_orthogonal_stable_rank(replace(tr, fro2=fro2))[0]
    assert at_two.margin == pytest.approx(OQ3_BAND, rel=1e-12) and at_two.held
    fro2[-1, 0] = tr.spec2[-1, 0]
    at_one = check_relu_orthogonal_stable_rank(replace(tr, fro2=fro2))[0]
    assert at_one.margin == pytest.approx(OQ3_BAND - 0.5, rel=1e-12) and not at_one.held
    assert at_one.where["j"] == 1


@pytest.mark.claim("KCG-OQ3")
@pytest.mark.falsify
def test_oq3_limit_of_planted_patterns() -> None:
    """Lemma F.3's formula on planted patterns: every neuron active on every point gives SR = 1
    (margin -0.25); disjoint equal supports give SR = n_j (n_j = 2: exactly 2, margin +0.25)."""
    m, y = 6, np.array([1.0, 1.0, -1.0, -1.0])
    all_on = np.ones((2 * m, 4))
    assert f3_limit(all_on, y, np.ones(4), (m, m)) == pytest.approx([1.0, 1.0], rel=1e-12)
    disjoint = -np.ones((2 * m, 4))
    disjoint[:3, 0] = disjoint[3:6, 1] = 1.0  # positive neurons 0-2 on x_0, 3-5 on x_1
    disjoint[6:9, 2] = disjoint[9:, 3] = 1.0
    assert f3_limit(disjoint, y, np.ones(4), (m, m)) == pytest.approx([2.0, 2.0], rel=1e-12)
    # unequal norms enter as 1/||x_i||: norms (1, 2) on the positive sign give SR = (1 + 1/4) / 1
    assert f3_limit(disjoint, y, np.array([1.0, 2.0, 1.0, 1.0]), (m, m))[0] == pytest.approx(1.25, rel=1e-12)


# ---- long horizons (slow) ----------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.claim("KCG-FIG1", "KCG-FIG23")
def test_figures_long_horizon(record_check) -> None:
    """2e5 steps (fixed: ReLU chatters on the mixture, so each step is a full span step; ~10 min loaded)."""
    T = 200_000
    ck = log_checkpoints(T, 24)
    sweep = run_sweep(paper_config(steps=T, checkpoints=ck), "gamma", FIG1_GAMMAS, seeds=range(5))
    for res in record_all(record_check, check_fig1(sweep)):
        assert_ordering_well_formed(res)
    for act in ("relu", "leaky_relu"):
        base = paper_config(activation=act, steps=T, checkpoints=ck)
        sw = run_sweep(base, "sigma0", FIG23_SIGMAS, range(5))
        for res in record_all(record_check, check_fig23(sw)):
            assert_ordering_well_formed(res)


@pytest.mark.slow
@pytest.mark.claim("KCG-OQ1", "KCG-OQ2")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_oq1_oq2_long_horizon(record_check, seed: int) -> None:
    tr = simulate(paper_config(activation="relu", seed=seed, steps=1_000_000, num_checkpoints=60))
    assert_oq1_well_formed(record_check(check_direction_convergence(tr)))
    assert_oq2_well_formed(record_check(check_activation_switching(tr)), tr)
