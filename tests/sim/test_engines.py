"""The span engine against the dense torch oracle, and the identities the span engine rests on."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim import DataSpec, SimConfig, Trajectory, simulate
from sim.dense import DenseState
from sim.gram import stable_rank_from_gram, weight_gram

REL = 1e-9  # issue 2: the engines agree to <= 1e-9 relative


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    """Normwise relative error max|a - b| / max|b|."""
    scale = float(np.max(np.abs(b))) or 1.0
    return float(np.max(np.abs(a - b))) / scale


@st.composite
def small_configs(draw: st.DrawFn) -> SimConfig:
    """Small concrete configurations of every supported network, activation and loss."""
    network = draw(st.sampled_from(["kcg", "kcg", "fvb"]))
    kinds = ["relu", "leaky_relu"] + (["smoothed_leaky"] if network == "fvb" else [])
    activation = draw(st.sampled_from(kinds))
    gamma = None if activation == "relu" else draw(st.floats(0.05, 0.95))
    n = draw(st.integers(2, 6))
    d = draw(st.integers(n, 40))
    m = draw(st.integers(2, 8))
    loss = draw(st.sampled_from(["logistic", "exponential"])) if network == "fvb" else "logistic"
    kind = draw(st.sampled_from(["gaussian_mixture", "iid_gaussian", "nearly_orthogonal"]))
    data = DataSpec(kind=kind, sigma_mu=draw(st.sampled_from([1e-2, 0.3, 1.0])), p_ratio=0.05,
                    norm_ratio=1.3, virtual=False)
    return SimConfig(activation=activation, gamma=gamma, n=n, d=d, m=m, network=network, loss=loss,
                     eta=draw(st.floats(0.01, 2.0)), sigma0=draw(st.sampled_from([1e-3, 1e-1, 0.5])),
                     steps=draw(st.integers(1, 300)), seed=draw(st.integers(0, 2**20)), data=data,
                     num_checkpoints=12)


FIELDS = ("loss", "margins", "lprime", "rho_flat", "preact_flat", "norms2_flat", "fro2", "spec2")


def assert_agree(a: Trajectory, b: Trajectory) -> None:
    np.testing.assert_array_equal(a.times, b.times)
    for f in FIELDS:
        err = rel_err(getattr(a, f), getattr(b, f))
        assert err <= REL, f"{f}: relative difference {err:.3e} > {REL}"
    np.testing.assert_array_equal(a.changes_flat, b.changes_flat)
    np.testing.assert_array_equal(a.last_change_flat, b.last_change_flat)
    assert a.diverged_at == b.diverged_at


@given(small_configs())
def test_span_matches_dense_oracle(cfg: SimConfig) -> None:
    span = simulate(cfg.with_(engine="span"))
    dense = simulate(cfg.with_(engine="dense"))
    assert span.engine == "span" and dense.engine == "dense"
    assert_agree(span, dense)
    if cfg.network == "kcg":
        assert rel_err(span.stable_rank, dense.stable_rank) <= REL
        assert rel_err(span.rho, dense.rho) <= REL


def test_default_paper_configuration_agrees() -> None:
    """The issue's example configuration (KCG section 6 scale), ReLU and leaky ReLU."""
    for act, g in (("leaky_relu", 0.1), ("relu", None)):
        cfg = SimConfig(activation=act, gamma=g, n=10, d=784, m=100, eta=0.1, sigma0=1e-4, steps=300,
                        seed=0, num_checkpoints=10)
        assert_agree(simulate(cfg), simulate(cfg.with_(engine="dense")))


def test_relu_derivative_at_zero_is_one() -> None:
    """sigma'(0) = 1 (KCG section 3): from W0 = 0 every ReLU neuron trains, in both engines.

    Autograd's own relu would give 0 at 0 and leave W frozen at 0; the oracle must not.
    """
    cfg = SimConfig(activation="relu", n=4, d=6, m=3, eta=0.5, steps=5, seed=1,
                    data=DataSpec(virtual=False), num_checkpoints=6)
    W0 = np.zeros((2, 3, 6))
    span = simulate(cfg, W0=W0)
    dense = simulate(cfg.with_(engine="dense"), W0=W0)
    assert np.all(span.rho_flat[1] != 0)  # every neuron moved on every point at the first step
    assert_agree(span, dense)


@given(small_configs())
def test_rho_reconstructs_dense_weights(cfg: SimConfig) -> None:
    """Def. 5.1: W(t) = W(0) + sum_i rho_i x_i / ||x_i||^2 reproduces the dense engine's weights."""
    span = simulate(cfg)
    state = DenseState(cfg, span.data, span.init)
    state.advance(cfg.steps)
    W_dense = state.net.W.detach().numpy()
    assert rel_err(span.weights(len(span.times) - 1), W_dense) <= REL


@given(small_configs())
def test_stable_rank_gram_formula_equals_svd(cfg: SimConfig) -> None:
    """Notes §2: trace/lambda_max of the m x m Gram formula equals ||W||_F^2 / ||W||_2^2 from the SVD."""
    tr = simulate(cfg)
    k = len(tr.times) - 1
    W = tr.weights(k)
    Z = tr.rho_flat[k] / tr.data.norms2[None, :]
    K = weight_gram(tr.init.K0, tr.init.P0, Z, tr.data.G)
    m1 = cfg.widths[0]
    for j, block in enumerate((slice(0, m1), slice(m1, None), slice(None))):
        s = np.linalg.svd(W[block], compute_uv=False)
        sr_svd = np.sum(s**2) / s[0] ** 2
        assert abs(stable_rank_from_gram(K[block, block]) - sr_svd) <= REL * sr_svd
        assert abs(tr.fro2[k, j] / tr.spec2[k, j] - sr_svd) <= REL * sr_svd


def test_same_seed_same_numbers() -> None:
    cfg = SimConfig(activation="leaky_relu", gamma=0.3, n=6, d=50, m=5, steps=200, seed=7)
    a, b = simulate(cfg), simulate(cfg)
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    c = simulate(cfg.with_(seed=8))
    assert not np.array_equal(a.margins, c.margins)


def test_checkpoints_named_by_caller() -> None:
    cfg = SimConfig(activation="relu", n=4, d=20, m=3, steps=50, checkpoints=[5, 17, 17, 3])
    tr = simulate(cfg)
    np.testing.assert_array_equal(tr.times, [0, 3, 5, 17, 50])
    default = simulate(cfg.with_(checkpoints=None, num_checkpoints=8))
    assert default.times[0] == 0 and default.times[-1] == 50
    assert np.all(np.diff(default.times) > 0)


@pytest.mark.parametrize("engine", ["span", "dense"])
def test_divergence_is_reported_not_raised(engine: str) -> None:
    """A huge step makes the exponential loss overflow: the run stops and says where."""
    cfg = SimConfig(network="fvb", activation="leaky_relu", gamma=0.5, loss="exponential", n=4, d=8, m=4,
                    eta=1e6, sigma0=1.0, steps=200, seed=3, data=DataSpec(virtual=False))
    tr = simulate(cfg.with_(engine=engine))
    assert tr.diverged and tr.diverged_at is not None and 0 < tr.diverged_at < 200
    assert tr.times[-1] <= tr.diverged_at
    assert np.all(np.isfinite(tr.loss)) and np.all(np.isfinite(tr.margins))


def test_engines_diverge_at_the_same_step() -> None:
    cfg = SimConfig(network="fvb", activation="leaky_relu", gamma=0.5, loss="exponential", n=4, d=8, m=4,
                    eta=1e6, sigma0=1.0, steps=200, seed=3, data=DataSpec(virtual=False))
    assert simulate(cfg).diverged_at == simulate(cfg.with_(engine="dense")).diverged_at


def test_activation_changes_are_counted_every_step() -> None:
    """Changes between checkpoints are recorded: recording only t = 0 and t = T misses nothing."""
    cfg = SimConfig(activation="relu", n=6, d=30, m=6, eta=1.5, sigma0=0.3, steps=400, seed=11,
                    data=DataSpec(kind="iid_gaussian", virtual=False))
    sparse = simulate(cfg.with_(checkpoints=[], num_checkpoints=2))
    dense_ck = simulate(cfg.with_(checkpoints=list(range(401))))
    np.testing.assert_array_equal(sparse.changes_flat, dense_ck.changes_flat)
    # recount from the every-step preactivations
    act = dense_ck.preact_flat >= 0
    flips = np.sum(act[1:] != act[:-1], axis=0)
    np.testing.assert_array_equal(flips, dense_ck.changes_flat)
    assert sparse.n_changes[-1] == flips.sum() > 0


@pytest.mark.parametrize("engine", ["span", "auto"])
def test_checkpoints_do_not_change_the_numbers(engine: str) -> None:
    """Where the checkpoints split the steps (one kernel call per interval) must not matter, bit for bit."""
    cfg = SimConfig(activation="leaky_relu", gamma=0.1, n=10, d=784, m=20, eta=0.1, sigma0=1e-4, steps=3000,
                    seed=0, engine=engine)
    one = simulate(cfg.with_(checkpoints=[3000], num_checkpoints=2))
    many = simulate(cfg.with_(num_checkpoints=60))
    np.testing.assert_array_equal(one.margins[-1], many.margins[-1])
    np.testing.assert_array_equal(one.rho_flat[-1], many.rho_flat[-1])
    np.testing.assert_array_equal(one.changes_flat, many.changes_flat)
