"""Sun & Tran's conjectures (ST-1, ST-2, ST-3) and synthetic figure (ST-FIG): measured, never asserted.

The ReLU network with biases is simulated as the bias-free network on x~ = (x, 1) (``with_bias``); the
first tests pin that reduction down against a direct numpy implementation with explicit biases.  The
property tests hunt for counterexamples over nearly-orthogonal configurations (Hypothesis ``target`` on
the negative margins) and record every measurement; they assert only that a measurement is well formed
(its margin's sign is the sign of the inequality it measures).  A counterexample is a result in the
margins report, not a test failure.  Falsification tests plant violations of known size.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, target
from hypothesis import strategies as st

from invariants._internal.claim import get, verdict_kind
from invariants._internal.profiles import horizon
from invariants.fvb.maxmargin import HUNT_TOL, HuntPoint
from invariants.st.conjectures import (
    C_ORTH,
    FIG_SIGMAS,
    FigSweep,
    check_fig,
    check_st1,
    check_st1_hunt,
    check_st1_margins,
    check_st2,
    check_st2_series,
    check_st3,
    check_st3_arrays,
    implied_orth,
    in_st_regime,
    norms,
    run_fig_sweep,
    run_with_bias,
    spearman,
    st_hunt,
    with_bias,
)
from sim import Dataset, nearly_orthogonal_gram
from sim.data import labels

# ---- the bias reduction --------------------------------------------------------------------------------


def _reference_gd(X: np.ndarray, y: np.ndarray, W: np.ndarray, b: np.ndarray, eta: float, steps: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plain GD on f(x) = sum_k a_k relu(<w_k, x> + b_k), a = +-1/sqrt(m), logistic loss, relu'(0) = 1."""
    M, n = W.shape[0], X.shape[0]
    a = np.concatenate([np.full(M // 2, 1.0), np.full(M - M // 2, -1.0)]) / math.sqrt(M)
    W, b = W.copy(), b.copy()
    for _ in range(steps):
        P = W @ X.T + b[:, None]
        q = y * (a @ np.maximum(P, 0.0))
        lp = -1.0 / (1.0 + np.exp(q))
        c = (lp * y)[None, :] * a[:, None] * (P >= 0) / n
        W -= eta * c @ X
        b -= eta * c.sum(axis=1)
    P = W @ X.T + b[:, None]
    return W, b, y * (a @ np.maximum(P, 0.0))


def _concrete(seed: int = 0, n: int = 5, d: int = 40) -> Dataset:
    rng = np.random.default_rng(seed)
    return Dataset.from_X(rng.standard_normal((n, d)), labels(n, rng))


def test_bias_reduction_matches_explicit_biases() -> None:
    data = _concrete()
    steps = 200
    run = run_with_bias(data, 6, eta=0.05, sigma0=0.1, steps=steps, seed=3, checkpoints=[steps])
    W0 = run.traj.init.W0
    assert W0 is not None and np.array_equal(W0[:, -1], run.b0)
    W, b, q = _reference_gd(data.X, data.y, W0[:, :-1], W0[:, -1], 0.05, steps)
    assert np.allclose(run.traj.margins[-1], q, rtol=1e-10, atol=1e-12)
    assert np.allclose(run.biases()[-1], b, rtol=1e-10, atol=1e-12)
    Kt, Kw = run.grams()
    assert np.allclose(Kw[-1], W @ W.T, rtol=1e-10, atol=1e-12)
    assert np.allclose(Kt[-1], W @ W.T + np.outer(b, b), rtol=1e-10, atol=1e-12)


def test_gradient_norms_match_explicit() -> None:
    data = _concrete(seed=1)
    run = run_with_bias(data, 4, eta=0.05, sigma0=0.1, steps=50, seed=1, num_checkpoints=5)
    gt, gw = run.grad_norms2()
    X = data.X
    M = 4
    a = np.array([1, 1, -1, -1]) / 2.0
    for k, _t in enumerate(run.traj.times):
        Wt = run.traj.weights(k)
        W, b = Wt[:, :-1], Wt[:, -1]
        P = W @ X.T + b[:, None]
        q = data.y * (a @ np.maximum(P, 0.0))
        c = (-1.0 / (1.0 + np.exp(q)) * data.y)[None, :] * a[:, None] * (P >= 0) / data.n
        gW, gb = c @ X, c.sum(axis=1)
        assert gw[k] == pytest.approx(float(np.sum(gW**2)), rel=1e-10)
        assert gt[k] == pytest.approx(float(np.sum(gW**2) + np.sum(gb**2)), rel=1e-10)
        assert M == Wt.shape[0]


def test_virtual_route_agrees_in_law_shape() -> None:
    """Virtual data: the init is built from (P0, K0) plus b0 (no W); shapes and the bias identity hold."""
    rng = np.random.default_rng(2)
    y = labels(4, rng)
    data = Dataset.virtual(nearly_orthogonal_gram(4, rng, 0.001, 1.2, 100.0), y, 10_000)
    run = run_with_bias(data, 6, eta=1e-4, sigma0=1e-4, steps=100, seed=0, num_checkpoints=5)
    Kt, Kw = run.grams()
    b = run.biases()
    assert np.allclose(Kt - Kw, b[:, :, None] * b[:, None, :])
    assert np.allclose(np.diagonal(Kt, axis1=1, axis2=2), run.traj.norms2_flat)
    assert run.traj.data.d == 10_001 and np.allclose(run.traj.data.G, data.G + 1.0)


def test_registry_entries() -> None:
    for cid, kind in (("ST-1", "conjecture"), ("ST-2", "conjecture"), ("ST-3", "conjecture"),
                      ("ST-FIG", "figure")):
        c = get(cid)
        assert c.paper == "ST" and c.kind == kind and c.status == "measured"
    for sub in ("ST-1:hunt", "ST-2:W", "ST-3:W", "ST-FIG:ends", "ST-FIG:last1000"):
        assert verdict_kind(sub) == "measured"


# ---- hunts over nearly-orthogonal configurations ----------------------------------------------------------


@st.composite
def st_cases(draw: st.DrawFn, steps: int = 100_000) -> dict[str, object]:
    """ReLU with biases on virtual nearly-orthogonal data: R_min^2 = d, p / R_min^2 = u / (2 C_ORTH R^2 n)
    on the original data (the augmented G + 11^T then meets C_ORTH when d >> n), eta = f n / R~_max^2,
    sigma0 = 10^-k / (sqrt(m d) R_min) (||W(0)||_F ~ 10^-k / R_min, next to ||W*|| ~ sqrt(n) / R_min),
    m = 2..16 even."""
    n = draw(st.integers(2, 8), label="n")
    m = 2 * draw(st.integers(1, 8), label="m/2")
    R = draw(st.sampled_from([1.0, 1.2, 1.5]), label="R")
    d = 10 ** draw(st.integers(3, 5), label="log10 d")
    u = draw(st.floats(0.0, 1.0), label="p fraction")
    seed = draw(st.integers(0, 2**31 - 1), label="seed")
    rng = np.random.default_rng(seed)
    y = labels(n, rng, draw(st.sampled_from(["balanced", "random"]), label="labels"))
    G = nearly_orthogonal_gram(n, rng, u / (2 * C_ORTH * R**2 * n), R, math.sqrt(d))
    data = Dataset.virtual(G, y, d)
    aug = with_bias(data)
    eta = draw(st.floats(0.1, 1.0), label="eta fraction") * n / aug.R_max**2
    sigma0 = 10 ** -draw(st.floats(1.0, 4.0), label="-log10 init") / (math.sqrt(m * d) * data.R_min)
    return {"data": data, "m": m, "eta": eta, "sigma0": sigma0, "steps": horizon(steps), "seed": seed}


def _well_formed_leq(res, measured: float, bound: float) -> None:
    """A measured inequality measured <= bound: the margin's sign is the inequality's."""
    if res.outcome in ("too_short", "diverged"):
        return
    assert math.isfinite(res.margin)
    assert (res.margin >= 0) == (measured <= bound * (1 + 1e-12)) or abs(res.margin) < 1e-12, res


@pytest.mark.claim("ST-1", "ST-2", "ST-3")
@settings(max_examples=max(20, settings().max_examples))
@given(case=st_cases())
def test_st_hunt_gd(case: dict[str, object], record_check) -> None:
    data = case["data"]
    run = run_with_bias(data, case["m"], eta=case["eta"], sigma0=case["sigma0"], steps=case["steps"],
                        seed=case["seed"], num_checkpoints=40)
    assert in_st_regime(run.traj.config, run.traj.data), implied_orth(run.traj.data)
    results = check_st3(run) + check_st2(run) + [check_st1(run)]
    worst = {}
    for res in results:
        record_check(res)
        worst[res.claim] = res.margin
    for res in results[:2]:  # ST-3: measured ||W||_F^2 vs bound 2||W||_2^2 + ||grad||^2
        _well_formed_leq(res, res.measured, res.bound)
    for res in results[2:4]:  # ST-2: max late SR vs 2
        _well_formed_leq(res, res.measured, res.bound)
    st1 = results[4]
    if st1.outcome not in ("too_short", "diverged") and math.isfinite(st1.measured):
        assert (st1.margin >= 0) == (st1.measured >= st1.bound)
    for cid in ("ST-3", "ST-2", "ST-1"):
        if math.isfinite(worst.get(cid, math.nan)):
            target(-worst[cid], label=f"-margin {cid}")


@pytest.mark.claim("ST-1")
@settings(max_examples=max(10, settings().max_examples))
@given(case=st_cases(), starts=st.integers(4, 10))
def test_st1_hunt_kkt(case: dict[str, object], starts: int, record_check) -> None:
    """KKT points of the ReLU-with-bias max-margin problem by SLSQP: any with a margin > 1 is recorded."""
    aug = with_bias(case["data"])
    m = min(int(case["m"]), 8)
    pts = st_hunt(aug, m, starts, np.random.default_rng(int(case["seed"])))
    res = record_check(check_st1_hunt(pts))
    if res.outcome != "too_short":
        assert (res.margin >= 0) == (res.measured <= HUNT_TOL)
        target(-res.margin, label="-margin ST-1:hunt")


def _counterexample() -> tuple[Dataset, int, float, float]:
    """A nearly-orthogonal configuration where ST-2 and ST-3 fail (found by a seed scan: every one of 30
    seeds of this shape gave SR > 2 at 10^5 steps): n = 8, m = 12, d = 10^4, p / R_min^2 = 1/160 on the
    original data (augmented C~orth ~ 19.7 >= 10), eta = n / (2 R~_max^2), sigma0 = 1e-3 / sqrt(m d)."""
    rng = np.random.default_rng(3)
    n, m, d = 8, 12, 10**4
    y = labels(n, rng)
    data = Dataset.virtual(nearly_orthogonal_gram(n, rng, 0.5 / (C_ORTH * n), 1.0, math.sqrt(d)), y, d)
    aug = with_bias(data)
    return data, m, 0.5 * n / aug.R_max**2, 1e-3 / math.sqrt(m * d)


@pytest.mark.claim("ST-2", "ST-3")
def test_st2_st3_counterexample_recorded(record_check) -> None:
    """A recorded counterexample to ST-2 and ST-3: the stacked stable rank of [W | b] is 2.97 at 10^5
    steps and still 2.94 at 10^7 (the exploration; it drifts down by ~0.015 per decade of t while neurons
    keep switching activation), so limsup SR <= 2 fails on every reachable horizon; ST-3 fails with it
    (the gradient term is ~1e-5 of ||W||_F^2)."""
    data, m, eta, sigma0 = _counterexample()
    run = run_with_bias(data, m, eta=eta, sigma0=sigma0, steps=horizon(100_000), seed=3, num_checkpoints=40)
    assert in_st_regime(run.traj.config, run.traj.data)
    res = {r.claim: record_check(r) for r in check_st2(run) + check_st3(run)}
    assert res["ST-2"].measured > 2.5 and res["ST-2"].margin < 0
    assert res["ST-3"].margin < 0


@pytest.mark.claim("ST-2")
def test_st2_counterexample_at_the_limit(record_check) -> None:
    """The pinned counterexample at its limit instead of a window maximum (which is about SR at sqrt(T)):
    the run's last region leads to a KKT point of the max-margin problem whose stacked stable rank is still
    above 2, so the conclusion survives; the number reported is the KKT point's, not 2.97."""
    from invariants.st.limits import check_st2_at_limit

    data, m, eta, sigma0 = _counterexample()
    run = run_with_bias(data, m, eta=eta, sigma0=sigma0, steps=horizon(100_000), seed=3, num_checkpoints=40)
    res = record_check(check_st2_at_limit(run.traj))
    assert res.outcome == "failed" and 2.0 < res.measured < check_st2(run)[0].measured
    assert res.implied["settled"] > 0 or res.implied["certified"] == 1.0


# ---- ST-FIG ----------------------------------------------------------------------------------------------


@pytest.mark.claim("ST-FIG")
def test_fig_full_size(record_check) -> None:
    """The slides' experiment at full size (n = 10, d = 784, m = 100, 5000 epochs of step 1e-4) on two
    seeds: about 1 s per seed."""
    sweep = run_fig_sweep(seeds=(0, 1))
    for res in check_fig(sweep):
        record_check(res)
        assert res.outcome in ("held", "failed")
        assert len([k for k in res.implied if k.startswith("SR[")]) == len(FIG_SIGMAS)


@pytest.mark.slow
@pytest.mark.claim("ST-FIG")
def test_fig_full_size_many_seeds(record_check) -> None:
    sweep = run_fig_sweep(seeds=tuple(range(10)))
    for res in check_fig(sweep):
        record_check(res)


# ---- falsification ----------------------------------------------------------------------------------------


@pytest.mark.falsify
@pytest.mark.claim("ST-3")
def test_st3_falsify_three_equal_singular_values() -> None:
    """||W||_F^2 = 3 ||W||_2^2 and zero gradient: slack (2 + 0 - 3) / 3 = -1/3; a gradient of size
    ||W||_F^2 restores it."""
    W = np.zeros((4, 5))
    W[0, 0] = W[1, 1] = W[2, 2] = 2.0
    f2, s2 = norms((W @ W.T)[None])
    assert f2[0] == pytest.approx(12.0) and s2[0] == pytest.approx(4.0)
    res = check_st3_arrays(np.array([7]), f2, s2, np.array([0.0]))
    assert res.margin == pytest.approx(-1.0 / 3.0, abs=1e-12)
    assert check_st3_arrays(np.array([7]), f2, s2, np.array([12.0])).margin == pytest.approx(2 / 3, abs=1e-12)


@pytest.mark.falsify
@pytest.mark.claim("ST-2")
def test_st2_falsify_planted_series() -> None:
    t = np.unique(np.round(np.geomspace(1, 1e5, 40)).astype(int))
    sr = 1.5 + 0.0 * t
    assert check_st2_series(t, sr).margin == pytest.approx(0.25)
    sr_bad = np.where(t > 1000, 3.0, 1.5)
    res = check_st2_series(t, sr_bad)
    assert res.margin == pytest.approx(-0.5) and res.measured == 3.0


@pytest.mark.falsify
@pytest.mark.claim("ST-1")
def test_st1_falsify_unequal_limit() -> None:
    """Margins q_1 = ln t, q_2 = 1.5 ln t: the spread stays 0.5 (beta ~ 0, margin ~ -0.5); equal-limit
    margins ln t + c_i give beta ~ 1."""
    t = np.unique(np.round(np.geomspace(1, 1e6, 40)).astype(int))
    lt = np.log(t + 1.0)
    bad = check_st1_margins(t, np.stack([lt + 1, 1.5 * lt + 1], axis=1))
    assert bad.margin < -0.4 and bad.implied["e_inf (fit e_inf + c/ln t)"] == pytest.approx(0.5, abs=0.05)
    good = check_st1_margins(t, np.stack([lt + 1, lt + 2], axis=1))
    assert good.margin > 0.3


@pytest.mark.falsify
@pytest.mark.claim("ST-1")
def test_st1_hunt_falsify_planted() -> None:
    p = HuntPoint(Y=np.eye(2), margins=np.array([1.0, 1.3]), normalized=0.5, stationarity=0.0,
                  lam=np.array([1.0, 0.0]), success=True)
    res = check_st1_hunt([p])
    assert res.margin == pytest.approx(1.0 - 0.3 / HUNT_TOL, rel=1e-9)
    assert res.implied["points with a margin > 1 + tol"] == 1.0


@pytest.mark.falsify
@pytest.mark.claim("ST-FIG")
def test_fig_falsify_reversed() -> None:
    """A sweep whose stable rank falls with sigma0 gets a negative ordering margin."""
    times = np.array([0, 4000, 5000])
    sr = np.array([[3.0, 2.9, 2.8, 2.2, 1.5]]).T[:, :, None] * np.ones((5, 1, 3))
    sweep = FigSweep(FIG_SIGMAS, (0,), times, sr, sr, {})
    res = {r.claim: r for r in check_fig(sweep)}
    assert res["ST-FIG:ends"].margin < 0 and res["ST-FIG:last1000"].margin < 0
    assert res["ST-FIG:ends"].implied["spearman(sigma0, SR)"] == pytest.approx(-1.0)
    good = replace(sweep, sr_theta=sr[::-1].copy(), sr_w=sr[::-1].copy())
    assert all(r.margin > 0 for r in check_fig(good))
    assert spearman(np.arange(5.0), np.array([1.0, 1, 2, 3, 4])) > 0.9
