"""Virtual data (notes §3): same numbers as concrete X on the same draw, and the right law at any d.

Statistical tests use fixed seeds and a stated level ALPHA: each is deterministic, and if the sampler
were right the chance that one of them fails is at most ALPHA.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from sim import (
    Dataset,
    DataSpec,
    Init,
    SimConfig,
    equicorrelated_gram,
    gaussian_mixture,
    make_dataset,
    nearly_orthogonal_gram,
    sample_init,
    simulate,
)
from sim.wishart import wishart

from .test_engines import FIELDS, REL, rel_err

ALPHA = 1e-3


@given(st.integers(2, 5), st.integers(0, 6), st.integers(2, 5), st.sampled_from(["relu", "leaky_relu"]),
       st.integers(0, 2**20))
def test_virtual_and_concrete_routes_agree_on_the_same_draw(n: int, extra_d: int, m: int, act: str,
                                                            seed: int) -> None:
    rng = np.random.default_rng(seed)
    d = n + extra_d
    X = rng.standard_normal((n, d)) + 0.3
    y = np.array([1.0 if i % 2 else -1.0 for i in range(n)])
    cfg = SimConfig(activation=act, gamma=None if act == "relu" else 0.2, n=n, d=d, m=m, eta=0.5,
                    sigma0=0.3, steps=200, seed=seed, num_checkpoints=10)
    concrete = Dataset.from_X(X, y)
    # W0 = A Q + B Q_perp, Q = L^{-1} X orthonormal rows, Q_perp the complement of the data span.
    Q = np.linalg.solve(concrete.L, X)
    full, _ = np.linalg.qr(np.concatenate([Q.T, rng.standard_normal((d, d - n))], axis=1))
    Q_perp = full[:, n:].T
    M = 2 * m
    A = rng.standard_normal((M, n)) * cfg.sigma0
    B = rng.standard_normal((M, d - n)) * cfg.sigma0
    W0 = A @ Q + B @ Q_perp
    a = simulate(cfg, X=X, y=y, W0=W0)
    virtual = Dataset.virtual(concrete.G, y, d)
    b = simulate(cfg, data=virtual, init=Init.from_factors(A, B @ B.T, virtual))
    for f in FIELDS:
        assert rel_err(getattr(b, f), getattr(a, f)) <= REL, f
    np.testing.assert_array_equal(a.changes_flat, b.changes_flat)


def _draws(data: Dataset, M: int, sigma0: float, reps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    K, P = [], []
    for _ in range(reps):
        init = sample_init(data, (M // 2, M - M // 2), sigma0, rng)
        K.append(init.K0)
        P.append(init.P0)
    return np.array(K), np.array(P)


@pytest.mark.parametrize("d", [40, 10**4, 10**9])
def test_virtual_init_has_the_right_law(d: int) -> None:
    """W(0) entries i.i.d. N(0, sigma0^2): ||w_k||^2 / sigma0^2 ~ chi^2_d, <w_k, w_l> / sigma0^2 has
    mean 0 and variance d, and the whitened pre-activations P0 L^{-T} / sigma0 are i.i.d. N(0, 1)."""
    n, M, sigma0 = 3, 6, 0.01
    data = Dataset.virtual(nearly_orthogonal_gram(n, np.random.default_rng(1), 0.1, 1.3, 2.0),
                           np.array([1.0, -1.0, 1.0]), d)
    K, P = _draws(data, M, sigma0, reps=800, seed=2026)
    diag = K[:, np.arange(M), np.arange(M)].ravel() / sigma0**2
    assert stats.kstest(diag, stats.chi2(d).cdf).pvalue > ALPHA
    off = K[:, 0, 1] / sigma0**2 / math.sqrt(d)  # approximately N(0, 1); exact mean 0, variance 1
    assert abs(off.mean()) < 4 / math.sqrt(len(off))
    assert abs(off.var() - 1) < 0.25
    white = np.linalg.solve(data.L, P.reshape(-1, n).T).T / sigma0
    assert stats.kstest(white.ravel(), "norm").pvalue > ALPHA


def test_virtual_init_matches_concrete_sampler() -> None:
    """Two-sample tests: the virtual sampler and W(0) ~ N(0, sigma0^2 I) drawn in R^d agree in law."""
    rng = np.random.default_rng(5)
    n, d, M, sigma0 = 3, 30, 4, 0.2
    concrete = Dataset.from_X(rng.standard_normal((n, d)), np.array([1.0, -1.0, 1.0]))
    virtual = Dataset.virtual(concrete.G, concrete.y, d)
    Kc, Pc = _draws(concrete, M, sigma0, 600, seed=11)
    Kv, Pv = _draws(virtual, M, sigma0, 600, seed=12)
    assert stats.ks_2samp(Kc[:, 0, 0], Kv[:, 0, 0]).pvalue > ALPHA
    assert stats.ks_2samp(Kc[:, 0, 1], Kv[:, 0, 1]).pvalue > ALPHA
    assert stats.ks_2samp(Pc[:, 0, 0], Pv[:, 0, 0]).pvalue > ALPHA
    assert stats.ks_2samp(Pc[:, 1, 2], Pv[:, 1, 2]).pvalue > ALPHA


def test_virtual_gaussian_mixture_has_the_law_of_the_concrete_one() -> None:
    n, d = 4, 60
    conc = [gaussian_mixture(n, d, np.random.default_rng(s), sigma_mu=0.5, virtual=False) for s in range(500)]
    virt = [gaussian_mixture(n, d, np.random.default_rng(10**6 + s), sigma_mu=0.5, virtual=True)
            for s in range(500)]
    # compare y_i y_k G_ik (label-symmetric) on and off the diagonal
    for i, k in ((0, 0), (0, 1), (2, 3)):
        a = [ds.G[i, k] * ds.y[i] * ds.y[k] for ds in conc]
        b = [ds.G[i, k] * ds.y[i] * ds.y[k] for ds in virt]
        assert stats.ks_2samp(a, b).pvalue > ALPHA


def test_wishart_moments_both_branches() -> None:
    rng = np.random.default_rng(3)
    for dim, dof in ((5, 3), (5, 12), (4, 10**12)):
        W = np.array([wishart(dim, dof, rng) for _ in range(2000)])
        mean = W.mean(axis=0) / dof
        # E W = dof I; sd of a diagonal mean is sqrt(2 / (dof * 2000))
        assert np.max(np.abs(np.diag(mean) - 1)) < 5 * math.sqrt(2 / (dof * 2000))
        off = mean - np.diag(np.diag(mean))
        assert np.max(np.abs(off)) < 5 * math.sqrt(1 / (dof * 2000))


def test_dataset_reports_its_statistics() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 40))
    ds = Dataset.from_X(X, np.array([1.0, -1, 1, -1, 1]))
    norms = np.linalg.norm(X, axis=1)
    G = X @ X.T
    p = np.max(np.abs(G - np.diag(np.diag(G))))
    assert math.isclose(ds.R_min, norms.min(), rel_tol=1e-12)
    assert math.isclose(ds.R_max, norms.max(), rel_tol=1e-12)
    assert math.isclose(ds.R, norms.max() / norms.min(), rel_tol=1e-12)
    assert math.isclose(ds.p, p, rel_tol=1e-12)
    C = ds.implied_C(gamma=0.5)
    # at C = C[KCG-4.1] the assumption R_min^2 >= C R^2 gamma^-4 n p holds with equality
    assert math.isclose(C["KCG-4.1"] * ds.R**2 * 0.5**-4 * 5 * p, ds.R_min**2, rel_tol=1e-12)
    assert math.isclose(C["KCG-4.3"] * ds.R**2 * 5 * p, ds.R_min**2, rel_tol=1e-12)
    assert math.isclose(3 * C["FVB-7"] * ds.R**2 * 5 * p, 0.5**3 * ds.R_min**2, rel_tol=1e-12)
    assert "C[KCG-4.1]" in ds.summary(0.5)


@given(st.integers(2, 12), st.floats(0.0, 0.05), st.floats(1.0, 2.0), st.integers(0, 2**20))
def test_gram_generators_hit_their_targets(n: int, p_ratio: float, R: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = np.array([1.0, -1.0] * n)[:n]
    eq = Dataset.virtual(equicorrelated_gram(y, 3.0, p_ratio), y, 10**9)
    assert math.isclose(eq.p_ratio, p_ratio, rel_tol=1e-12, abs_tol=1e-15)
    G = nearly_orthogonal_gram(n, rng, p_ratio, R, R_min=3.0)
    if p_ratio * (n - 1) < 1:  # diagonally dominant, so positive definite
        ds = Dataset.virtual(G, y, 10**12)
        assert math.isclose(ds.p_ratio, p_ratio, rel_tol=1e-12, abs_tol=1e-15)
        assert math.isclose(ds.R, R, rel_tol=1e-12)


@pytest.mark.parametrize("kind", ["gaussian_mixture", "iid_gaussian", "orthogonal", "equicorrelated",
                                  "nearly_orthogonal"])
@pytest.mark.parametrize("virtual", [False, True])
def test_every_data_kind_runs_both_routes(kind: str, virtual: bool) -> None:
    spec = DataSpec(kind=kind, p_ratio=0.01, norm_ratio=1.2, virtual=virtual)
    ds = make_dataset(spec, 6, 64, np.random.default_rng(0))
    assert ds.is_virtual == virtual and ds.n == 6 and ds.d == 64
    if kind == "orthogonal":
        assert ds.p <= 1e-12 * ds.R_min**2
    tr = simulate(SimConfig(activation="relu", n=6, d=64, m=4, steps=50, data=spec))
    assert tr.times[-1] == 50 and np.all(np.isfinite(tr.loss))


def test_huge_dimension_is_cheap_and_exact_in_form() -> None:
    """d = 10^12: the span engine runs; ||w_k(0)||^2 ~ sigma0^2 d as Lemma A.1 says."""
    cfg = SimConfig(activation="leaky_relu", gamma=0.1, n=10, d=10**12, m=20, eta=1e-10, sigma0=1e-7,
                    steps=1000, seed=0)
    tr = simulate(cfg)
    assert tr.data.is_virtual
    ratio = tr.norms2_flat[0] / (cfg.sigma0**2 * cfg.d)
    assert np.all((ratio > 0.99) & (ratio < 1.01))
