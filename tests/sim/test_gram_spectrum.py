"""``sim.gram.GramSpectrum``: checkpoint norms from the secular equation equal the SVD's."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.gram import GramSpectrum, top_eig_diag_plus_lowrank

REL = 1e-12


def _case(rng: np.random.Generator, n: int, m1: int, m2: int, extra_d: int, z_scale: float):
    M = m1 + m2
    d = n + extra_d
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 3.0, size=(n, 1))
    W0 = rng.standard_normal((M, d)) * 10 ** rng.uniform(-6, 0)
    Z = rng.standard_normal((M, n)) * z_scale
    return X, W0, Z


def _svd_norms(W: np.ndarray, m1: int) -> tuple[np.ndarray, np.ndarray]:
    blocks = (slice(0, m1), slice(m1, None), slice(None))
    s = [np.linalg.svd(W[b], compute_uv=False) for b in blocks]
    return np.array([np.sum(v**2) for v in s]), np.array([v[0] ** 2 for v in s])


@pytest.mark.parametrize("seed", range(40))
def test_norms_equal_svd(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m1, m2 = (int(v) for v in rng.integers(1, 14, size=3))
    extra = int(rng.integers(0, 2 * (m1 + m2)))  # d from n (K_R = 0) to well above M + n
    X, W0, Z = _case(rng, n, m1, m2, extra, 10 ** rng.uniform(-8, 2))
    if seed % 4 == 1:
        Z = np.outer(rng.standard_normal(m1 + m2), rng.standard_normal(n))  # rank one
    if seed % 4 == 2:
        Z[:] = 0.0  # W = W(0)
    gs = GramSpectrum(W0 @ W0.T, W0 @ X.T, X @ X.T, (m1, m2))
    fro2, spec2, norms2 = gs.norms(Z)
    W = W0 + Z @ X
    f_svd, s_svd = _svd_norms(W, m1)
    np.testing.assert_allclose(spec2, s_svd, rtol=REL)
    np.testing.assert_allclose(fro2, f_svd, rtol=REL)
    np.testing.assert_allclose(norms2, np.sum(W**2, axis=1), rtol=REL)


def test_secular_root_on_degenerate_spectra() -> None:
    """Repeated eigenvalues of K_R, a zero update, and an update orthogonal to the top eigenvector."""
    rng = np.random.default_rng(1)
    lam = np.array([1.0, 1.0, 2.0, 2.0, 2.0])
    Yt = rng.standard_normal((5, 2))
    want = np.linalg.eigvalsh(np.diag(lam) + Yt @ Yt.T)[-1]
    assert abs(top_eig_diag_plus_lowrank(lam, Yt) - want) <= REL * want
    assert top_eig_diag_plus_lowrank(lam, np.zeros((5, 2))) == 2.0
    Yt[2:] = 0.0  # no weight on the top eigenspace: the answer may be lam_max itself
    want = np.linalg.eigvalsh(np.diag(lam) + Yt @ Yt.T)[-1]
    assert abs(top_eig_diag_plus_lowrank(lam, Yt) - want) <= REL * want


def test_overflow_gives_nan_and_singular_gram_has_no_helper() -> None:
    rng = np.random.default_rng(2)
    X, W0, Z = _case(rng, 3, 2, 2, 5, 1.0)
    gs = GramSpectrum(W0 @ W0.T, W0 @ X.T, X @ X.T, (2, 2))
    fro2, spec2, _ = gs.norms(Z * 1e300)
    assert np.all(np.isnan(fro2)) and np.all(np.isnan(spec2))
    Xs = np.vstack([X, X[:1]])  # two equal points: G singular
    assert GramSpectrum.from_init(W0 @ W0.T, W0 @ Xs.T, Xs @ Xs.T, (2, 2)) is None


@pytest.mark.parametrize(("extra_d", "cut"), [(0, True), (7, True), (200, False)])
def test_rank_deficient_K_R_projects_on_its_range_only(extra_d: int, cut: bool) -> None:
    """M = 40 neurons, n = 5 points, d = n + extra_d: K_R = R R^T has rank at most d - n, so with d < M its
    null space is cut (never formed; Y's part in it enters the secular function as (Y^T Y - Yt^T Yt) / x), down to
    K_R = 0 (d = n); with d >> M nothing is cut.  Either way the norms equal the SVD's."""
    rng = np.random.default_rng(extra_d)
    X, W0, Z = _case(rng, 5, 24, 16, extra_d, 0.3)
    gs = GramSpectrum(W0 @ W0.T, W0 @ X.T, X @ X.T, (24, 16))
    assert [c for _, _, c in gs.eig] == [cut] * 3
    if cut:
        assert all(Ut.shape[0] <= extra_d for _, Ut, _ in gs.eig)
    fro2, spec2, _ = gs.norms(Z)
    f_svd, s_svd = _svd_norms(W0 + Z @ X, 24)
    np.testing.assert_allclose(spec2, s_svd, rtol=REL)
    np.testing.assert_allclose(fro2, f_svd, rtol=REL)


def test_update_inside_K_R_range_loses_nothing_to_cancellation() -> None:
    """Guards against cancellation in the cut null space's term: Y^T Y - Yt^T Yt (how it once entered) is a
    difference of large terms when Y lies (almost) inside K_R's kept eigenspace; the secular matrix is now
    Yt^T diag(lam / (x (x - lam))) Yt + Y^T Y / x, every term PSD.  W(0) = A C^T and Z = A Q keep Y in
    range(A) = range(K_R), at widely different scales of Z: the norms still equal the SVD's."""
    rng = np.random.default_rng(5)
    n, m1, m2, d, r = 5, 30, 34, 14, 7
    X = rng.standard_normal((n, d))
    A = rng.standard_normal((m1 + m2, r))
    W0 = A @ rng.standard_normal((d, r)).T
    gs = GramSpectrum(W0 @ W0.T, W0 @ X.T, X @ X.T, (m1, m2))
    assert all(c for _, _, c in gs.eig)
    for scale in (1e-6, 1.0, 1e6):
        Z = scale * A @ rng.standard_normal((r, n)) + 1e-9 * rng.standard_normal((m1 + m2, n))
        fro2, spec2, _ = gs.norms(Z)
        f_svd, s_svd = _svd_norms(W0 + Z @ X, m1)
        np.testing.assert_allclose(spec2, s_svd, rtol=REL)
        np.testing.assert_allclose(fro2, f_svd, rtol=REL)


@pytest.mark.parametrize("seed", range(12))
def test_norms_equal_svd_from_n_17(seed: int) -> None:
    """n > 16 takes LAPACK's MRRR on the top indices alone; Z = 0 (W = W(0): Y small against K_R's gaps,
    the root next to the pole), moderate and dominant updates, K_R cut or not."""
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(17, 41))
    m1, m2 = (int(v) for v in rng.integers(20, 60, size=2))
    extra = int(rng.integers(0, 2 * (m1 + m2)))
    X, W0, Z = _case(rng, n, m1, m2, extra, 10 ** rng.uniform(-8, 2))
    if seed % 3 == 0:
        Z[:] = 0.0
    gs = GramSpectrum(W0 @ W0.T, W0 @ X.T, X @ X.T, (m1, m2))
    fro2, spec2, _ = gs.norms(Z)
    f_svd, s_svd = _svd_norms(W0 + Z @ X, m1)
    np.testing.assert_allclose(spec2, s_svd, rtol=REL)
    np.testing.assert_allclose(fro2, f_svd, rtol=REL)


def _counting_top_pairs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record each eigensolve ``top_eig_diag_plus_lowrank`` makes (the first is Y^T Y's, the others F's)."""
    import sim.gram as gram_module

    calls: list[int] = []
    orig = gram_module._top_pairs

    def counted(C: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        calls.append(C.shape[0])
        return orig(C, k)

    monkeypatch.setattr(gram_module, "_top_pairs", counted)
    return calls


@pytest.mark.parametrize("n", [17, 30])
def test_secular_matrix_formed_only_when_power_steps_cannot_certify(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where Y dominates with a separated top direction, Kato-Temple certifies the power steps' Rayleigh
    quotient and F is never formed (one eigensolve, Y^T Y's).  With Y^T Y's top two eigenvalues equal, Weyl's
    bound on mu_2 is no use: F is formed.  Both answers equal eigvalsh's, and with negative lam too (refused
    with a cut)."""
    rng = np.random.default_rng(n)
    r = 3 * n
    lam = np.sort(rng.uniform(0.0, 1e-3, r))
    Q, _ = np.linalg.qr(rng.standard_normal((r, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    calls = _counting_top_pairs(monkeypatch)
    for top, formed in (((5.0, 2.0), False), ((5.0, 5.0), True)):
        sv = np.concatenate([top, rng.uniform(0.1, 1.0, n - 2)])
        Yt = Q @ np.diag(sv) @ V.T
        calls.clear()
        got = top_eig_diag_plus_lowrank(lam, Yt)
        want = np.linalg.eigvalsh(np.diag(lam) + Yt @ Yt.T)[-1]
        assert abs(got - want) <= REL * want
        assert (len(calls) > 1) is formed, calls
    neg = np.sort(lam - 5e-4)  # negative eigenvalues (uncut: a K_R computed through an ill-conditioned G)
    want = np.linalg.eigvalsh(np.diag(neg) + Yt @ Yt.T)[-1]
    assert abs(top_eig_diag_plus_lowrank(neg, Yt) - want) <= REL * want
    with pytest.raises(ValueError, match="lam"):  # with a cut, the kept eigenvalues are the positive ones
        top_eig_diag_plus_lowrank(neg, Yt, gram=Yt.T @ Yt)


def test_root_next_to_the_pole_takes_few_evaluations(monkeypatch: pytest.MonkeyPatch) -> None:
    """W = W(0) (Z = 0): the top eigenvalue sits within ~1e-3 of K_R's top one, relative.  A Newton step that
    rounded to x itself once sent the iteration on a bisection walk over the whole bracket (50
    evaluations); the bracket now closes within a few."""
    rng = np.random.default_rng(7)
    n, m1, m2 = 10, 50, 50
    X, W0, _ = _case(rng, n, m1, m2, 700, 1.0)
    W0 *= 1e-4
    gs = GramSpectrum(W0 @ W0.T, W0 @ X.T, X @ X.T, (m1, m2))
    calls = _counting_top_pairs(monkeypatch)
    _, spec2, _ = gs.norms(np.zeros((m1 + m2, n)))
    _, s_svd = _svd_norms(W0, m1)
    np.testing.assert_allclose(spec2, s_svd, rtol=REL)
    assert len(calls) <= 3 * 8, calls


def test_stops_only_when_the_bounds_meet_not_on_a_small_step() -> None:
    """Planted (a reviewer's counterexample): F's top two eigenvalues nearly cross at the Rayleigh start
    x0 = 1 + 1.4e-10, where psi = -2e-8 but psi' = 1.7e9, so Newton's step is 1e-17 while the root is
    1.1e-8 (relative) away.  Stopping on the step size returned x0 (error 1.1e-8); the bracket must meet."""
    lam = np.array([0.6136100621178432, 1.0])
    Yt = np.array([[0.0, 1.4002257476612823e-4], [1.1913661249400233e-5, -9.6709171878860827e-8]])
    Yn = np.array([[0.00811721940667947, 0.9999670349115966]])  # a row on a cut (eigenvalue 0) direction
    full = np.vstack([Yn, Yt])
    want = np.linalg.eigvalsh(np.diag(np.concatenate([[0.0], lam])) + full @ full.T)[-1]
    got = top_eig_diag_plus_lowrank(lam, Yt, gram=full.T @ full)
    assert abs(got - want) <= REL * want
    lam3 = np.concatenate([[1e-3], lam])  # the same without a cut
    full[0] *= np.sqrt(1 - 1e-3)
    want = np.linalg.eigvalsh(np.diag(lam3) + full @ full.T)[-1]
    assert abs(top_eig_diag_plus_lowrank(lam3, full) - want) <= REL * want


@pytest.mark.parametrize("k", [-250, -60, 60, 250])
def test_any_scale_gives_the_scaled_answer(k: int) -> None:
    """Scaling lam by 4^k and Y by 2^k scales the answer by 4^k exactly: no overflow of x^2 at 1e150, no
    underflow of (x - lam)^2 at 1e-150 (both broke Newton's derivative before the problem was scaled)."""
    rng = np.random.default_rng(11)
    lam = np.sort(rng.uniform(0.0, 1.0, 12))
    Yt = rng.standard_normal((12, 4)) * 0.3
    base = top_eig_diag_plus_lowrank(lam, Yt)
    assert abs(base - np.linalg.eigvalsh(np.diag(lam) + Yt @ Yt.T)[-1]) <= REL * base
    assert top_eig_diag_plus_lowrank(np.ldexp(lam, 2 * k), np.ldexp(Yt, k)) == np.ldexp(base, 2 * k)
    gram = np.ldexp(Yt.T @ Yt, 2 * k)
    assert top_eig_diag_plus_lowrank(np.ldexp(lam, 2 * k), np.ldexp(Yt, k), gram=gram) == pytest.approx(
        np.ldexp(base, 2 * k), rel=REL)


@pytest.mark.parametrize("sigma0", [1e-60, 1e80])
def test_extreme_init_scales_match_the_dense_engine(sigma0: float) -> None:
    """End to end: checkpoint norms at W(0) ~ 1e-60 and ~ 1e80 (both scaled by a power of 4 before the
    root) equal those of W W^T formed densely."""
    from sim import SimConfig, simulate

    cfg = SimConfig(activation="leaky_relu", gamma=0.1, n=6, d=50, m=4, steps=5, sigma0=sigma0, checkpoints=[1, 5])
    a, b = simulate(cfg), simulate(cfg.with_(engine="dense"))
    np.testing.assert_allclose(a.spec2, b.spec2, rtol=1e-12)


def test_update_below_an_ulp_of_the_pole_and_a_root_next_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """|Y|^2 below half an ulp of lam_max: the answer is lam_max (it divided by x - lam_max = 0).  A root
    1e-18 (relative) above the pole: found by geometric steps towards it, in few evaluations."""
    lam = np.array([0.5, 1.0])
    assert top_eig_diag_plus_lowrank(lam, np.array([[1e-9], [1e-9]])) == pytest.approx(1.0, rel=REL)
    calls = _counting_top_pairs(monkeypatch)
    Yt = np.array([[1e-3, 2e-3], [1e-9, 0.0]])
    want = np.linalg.eigvalsh(np.diag(lam) + Yt @ Yt.T)[-1]
    assert abs(top_eig_diag_plus_lowrank(lam, Yt) - want) <= REL * want
    assert len(calls) <= 16, calls


def test_ill_conditioned_gram_keeps_K_R_whole() -> None:
    """A reviewer's case: d = n (K_R = 0 exactly), cond(G) = 6e7.  The computed K_R = K0 - P0' P0'^T
    carries +-2e-10 of P0''s error; cutting its 'null space' dropped the negative part and moved the norms
    by 1.3e-11.  Kept whole (negative eigenvalues included) they equal the SVD's."""
    rng = np.random.default_rng(0)
    n = d = 8
    M = 10
    Q1, _ = np.linalg.qr(rng.standard_normal((n, n)))
    Q2, _ = np.linalg.qr(rng.standard_normal((d, n)))
    X = Q1 @ np.diag(np.logspace(0, -3.9, n)) @ Q2.T
    W0 = rng.standard_normal((M, d))
    gs = GramSpectrum.from_init(W0 @ W0.T, W0 @ X.T, X @ X.T, (5, 5))
    assert gs is not None
    Z = rng.standard_normal((M, n)) * 0.01
    for z in (np.zeros((M, n)), Z):
        fro2, spec2, _ = gs.norms(z)
        f_svd, s_svd = _svd_norms(W0 + z @ X, 5)
        np.testing.assert_allclose(spec2, s_svd, rtol=REL)
        np.testing.assert_allclose(fro2, f_svd, rtol=REL)
    assert not any(c for _, _, c in gs.eig)
    assert min(float(lam[0]) for lam, _, _ in gs.eig) < 0.0


def test_lower_end_at_the_root_closes_in_few_evaluations(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reviewer's case: lam = (0.1, 0.2), Y = e_1: the root 1.1 is the bracket's lower end lam_min + |Y|^2
    itself; every Newton step from the right fell at or below it and the bracket was bisected down to it
    (49 evaluations).  A point 4 eps |lo| above it closes the bracket."""
    calls = _counting_top_pairs(monkeypatch)
    got = top_eig_diag_plus_lowrank(np.array([0.1, 0.2]), np.array([[1.0], [0.0]]))
    assert abs(got - 1.1) <= REL * 1.1
    assert len(calls) <= 10, calls
    lam = np.array([0.03906391400502052, 0.5939424770727331])
    Yt = np.array([[-0.17928018532112824, -0.31998229093905245, -0.10639210800638893, 0.6397616431977539],
                   [-0.00514794205984819, 0.00123673476421593, 0.01532079016896636, 0.00172379884094616]])
    calls.clear()
    want = np.linalg.eigvalsh(np.diag(lam) + Yt @ Yt.T)[-1]
    assert abs(top_eig_diag_plus_lowrank(lam, Yt) - want) <= REL * want
    assert len(calls) <= 10, calls


@st.composite
def secular_problems(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """diag(lam) + Y Y^T with the shapes that make the root hard: lam clustered at its top, repeated, with
    zeros (or, uncut, negatives: a K_R computed through an ill-conditioned G), Y of any scale against
    lam's gaps, rank-deficient or with equal top singular values, rows on cut (eigenvalue-0) directions."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(1, 20))
    r = draw(st.integers(0, 30))
    cut = draw(st.booleans())
    kind = draw(st.sampled_from(["uniform", "cluster", "repeated", "zeros", "negative"]))
    lam = rng.uniform(0.0, 1.0, r)
    if kind == "cluster":
        lam = 1.0 - 10.0 ** -rng.uniform(1, 16, r)
    elif kind == "repeated":
        lam = rng.choice([0.25, 1.0], r)
    elif kind == "zeros":
        lam[rng.random(r) < 0.5] = 0.0
    elif kind == "negative" and not cut:  # down to all negative (with a small Y, a negative root)
        lam = lam - 2.0 * rng.random()
    lam = np.sort(np.maximum(lam, 0.0) if cut else lam)
    q = draw(st.integers(1, 5)) if cut else 0
    Y = rng.standard_normal((r + q, n)) * 10.0 ** draw(st.floats(-6, 3))
    shape = draw(st.sampled_from(["full", "rank1", "equal_top"]))
    if shape == "rank1":
        Y = np.outer(Y[:, 0], rng.standard_normal(n))
    elif shape == "equal_top" and n > 1 and r + q >= n:
        Q, _ = np.linalg.qr(Y)
        Y = Q * np.concatenate([[1.0, 1.0], rng.uniform(0.0, 1.0, n - 2)]) * np.abs(Y).max()
    return lam, Y[q:], (Y.T @ Y if cut else None)


@settings(max_examples=300)  # about 2 ms an example: a wide net at every profile
@given(secular_problems())
def test_secular_root_equals_eigvalsh(problem: tuple[np.ndarray, np.ndarray, np.ndarray | None]) -> None:
    lam, Yt, gram = problem
    if gram is None:
        A = np.diag(lam) + Yt @ Yt.T
    else:  # the rows not formed: any factor of gram - Yt^T Yt, on eigenvalue-0 directions
        rest = gram - Yt.T @ Yt
        w, V = np.linalg.eigh(0.5 * (rest + rest.T))
        Yn = (V * np.sqrt(np.maximum(w, 0.0))).T
        full = np.vstack([Yn, Yt])
        A = np.diag(np.concatenate([np.zeros(len(Yn)), lam])) + full @ full.T
    want = float(np.linalg.eigvalsh(A)[-1]) if A.size else 0.0
    got = top_eig_diag_plus_lowrank(lam, Yt, gram=gram)
    assert abs(got - want) <= 1e-12 * max(abs(want), float(np.abs(A).max(initial=0.0))), (got, want)


def test_negative_root_from_n_17() -> None:
    """A reviewer's case: all of lam negative, uncut, n = 17, so the root is negative.  Weyl's bound on
    mu_2 of F(x) = gram / x + H holds for x > 0 only; with it the power steps accepted the second eigenvalue
    (-10 for -9).  They are skipped at x <= 0."""
    lam = np.array([-100.0, -10.0])
    Yt = np.zeros((2, 17))
    Yt[0, 0], Yt[1, 1] = 3.0, 1.0
    want = np.linalg.eigvalsh(np.diag(lam) + Yt @ Yt.T)[-1]
    assert want == pytest.approx(-9.0)
    assert abs(top_eig_diag_plus_lowrank(lam, Yt) - want) <= REL * abs(want)


def test_update_by_trmm_equals_the_product() -> None:
    """Y = P0' + Z L through BLAS trmm (M n^2 >= 65536) and through numpy's product: equal to rounding."""
    rng = np.random.default_rng(8)
    X, W0, Z = _case(rng, 30, 60, 50, 40, 1.0)
    gs = GramSpectrum(W0 @ W0.T, W0 @ X.T, X @ X.T, (60, 50))
    assert Z.size * Z.shape[1] >= 65536
    np.testing.assert_allclose(gs.update(Z), gs.P0p + Z @ gs.L, rtol=1e-14, atol=1e-14 * np.abs(Z @ gs.L).max())
    Zc = np.array(Z)  # the caller's Z is left as it was
    gs.update(Z)
    assert np.array_equal(Z, Zc)
