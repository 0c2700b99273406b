"""``sim.stacked``: the stacked block's eigenpairs from the sign blocks', exact to the cut's tolerance or
refused (its certificate tested near its threshold, and against planted violations)."""

from __future__ import annotations

import numpy as np
import pytest

from sim import stacked
from sim.gram import GramSpectrum

from .test_gram_spectrum import REL, _case, _svd_norms


def _direct_projections(gs: GramSpectrum, A: np.ndarray) -> list[np.ndarray]:
    return [Ut @ A[b] for (_, Ut, _), b in zip(gs.eig, gs.blocks, strict=True)]


def _built_with_eigh_shapes(X: np.ndarray, W0: np.ndarray, widths: tuple[int, int],
                            ) -> tuple[GramSpectrum, list[tuple[int, ...]]]:
    """The spectrum helper of (X, W(0)), and the shapes of the eigenproblems its construction solved."""
    shapes: list[tuple[int, ...]] = []
    eigh = np.linalg.eigh

    def spy(A: np.ndarray, *args: object, **kw: object) -> object:
        shapes.append(A.shape)
        return eigh(A, *args, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(np.linalg, "eigh", spy)
        gs = GramSpectrum(W0 @ W0.T, W0 @ X.T, X @ X.T, widths)
    return gs, shapes


def test_stacked_block_is_composed_from_the_sign_blocks() -> None:
    """Both sign blocks cut (rank d - n below M_+-): the stacked block's eigenpairs come from theirs
    (``sim.stacked``, on the d side: r_+ = r_- = d - n): its eigenvalues equal K_R's, its eigenvectors are
    orthonormal and span K_R's range, no M x M eigenproblem is solved, its projection costs
    r_s (r_+ + r_-) k multiply-adds and equals U_s^T Y, and the norms equal the SVD's."""
    rng = np.random.default_rng(5)
    X, W0, Z = _case(rng, 6, 40, 35, 15, 1.0)
    gs, shapes = _built_with_eigh_shapes(X, W0, (40, 35))
    assert gs.compose is not None and gs.stacked_route == "d side"
    assert shapes == [(40, 40), (35, 35), (15, 15)]  # the sign blocks, then H (r = d - n): never M x M
    assert [lam.size for lam, _, _ in gs.eig] == [15, 15, 15]
    assert gs.projection_flops(6) == 6 * (15 * 40 + 15 * 35 + 30 * 15) < 6 * 15 * (40 + 35 + 75)
    lam, Uts, _ = gs.eig[2]
    B = np.linalg.cholesky(X @ X.T)
    R = W0 - (W0 @ X.T) @ np.linalg.solve(B @ B.T, X)  # W(0) off the data's span
    want = np.linalg.eigvalsh(R @ R.T)[-15:]
    np.testing.assert_allclose(lam, want, rtol=1e-12)
    np.testing.assert_allclose(Uts @ Uts.T, np.eye(15), atol=1e-14)
    np.testing.assert_allclose(Uts.T @ (lam[:, None] * Uts), R @ R.T, atol=1e-12 * want[-1])
    Y = gs.update(Z)
    for got, want in zip(gs.project(Y), _direct_projections(gs, Y), strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-13 * np.abs(want).max())
    fro2, spec2, _ = gs.norms(Z)
    f_svd, s_svd = _svd_norms(W0 + Z @ X, 40)
    np.testing.assert_allclose(spec2, s_svd, rtol=REL)
    np.testing.assert_allclose(fro2, f_svd, rtol=REL)


def _planted_small_singular_value(rng: np.random.Generator, n: int, m1: int, m2: int, extra: int,
                                  sigma: float = 1e-7):
    """W(0) whose + block's R = W(0)_+ (I - B B^T) has one genuine singular value ~``sigma`` (at 1e-7, K_R's
    eigenvalue ~1e-14: below the cut's tolerance, but not structurally 0)."""
    d = n + extra
    X = rng.standard_normal((n, d))
    W0 = rng.standard_normal((m1 + m2, d))
    Q, _ = np.linalg.qr(np.concatenate([X.T, rng.standard_normal((d, extra))], axis=1))
    perp = Q[:, n:]  # orthonormal, orthogonal to the data
    W0[:m1] = (rng.standard_normal((m1, n)) @ Q[:, :n].T + rng.standard_normal((m1, extra - 1)) @ perp[:, :-1].T
               + sigma * rng.standard_normal((m1, 1)) @ perp[:, -1:].T)
    return X, W0


def test_genuine_small_singular_value_in_a_sign_block_refuses_the_composition(monkeypatch: pytest.MonkeyPatch,
                                                                             ) -> None:
    """A sign block's cut dropped a genuine singular value ~1e-7 of its R: the stacked block's K_R is not
    blockdiag(U_+, U_-) T blockdiag(U_+, U_-)^T to its tolerance (|E_o| ~ 1e-7 |R_-|, first order), the
    certificate refuses, the stacked block is diagonalized directly, and the norms stay exact.  Composing
    anyway (the planted violation: the certificate's slack made infinite) moves the stacked spec2 by
    ~1e-10."""
    m1, m2 = 30, 30
    X, W0 = _planted_small_singular_value(np.random.default_rng(3), 5, m1, m2, 20)
    gs = GramSpectrum(W0 @ W0.T, W0 @ X.T, X @ X.T, (m1, m2))
    assert gs.compose is None
    assert [lam.size for lam, _, _ in gs.eig] == [19, 20, 20]  # the + block's small one was cut
    Z = 0.1 * np.random.default_rng(4).standard_normal((m1 + m2, 5))
    s_svd = _svd_norms(W0 + Z @ X, m1)[1]
    spec2 = gs.norms(Z)[1]
    np.testing.assert_allclose(spec2, s_svd, rtol=REL)
    monkeypatch.setattr(stacked, "COMPOSE_SLACK", np.inf)
    forced = GramSpectrum(W0 @ W0.T, W0 @ X.T, X @ X.T, (m1, m2))
    assert forced.compose is not None
    err = abs(forced.norms(Z)[1][2] - s_svd[2])
    assert err > 1e-11 * s_svd[2]  # 1e-10 measured
    assert err > 100 * abs(spec2[2] - s_svd[2])


def _true_E_o_and_tol(X: np.ndarray, W0: np.ndarray, m1: int) -> tuple[float, float]:
    """|E_o|_2 (exact, from W(0) itself) and the stacked block's tolerance, independently of ``sim.gram``."""
    eps = np.finfo(float).eps
    R = W0 - (W0 @ X.T) @ np.linalg.solve(X @ X.T, X)
    KR = R @ R.T
    scale = float(np.max(np.diag(W0 @ W0.T)))
    U = []
    for b in (slice(0, m1), slice(m1, None)):
        lam, V = np.linalg.eigh(KR[b, b])
        U.append(V[:, lam > lam.size * eps * max(lam[-1], scale)])
    Kpm = KR[:m1, m1:]
    Eo = Kpm - U[0] @ (U[0].T @ Kpm @ U[1]) @ U[1].T
    return float(np.linalg.norm(Eo, 2)), KR.shape[0] * eps * max(float(np.linalg.eigvalsh(KR)[-1]), scale)


def test_composition_certificate_near_its_threshold() -> None:
    """The planted singular value scaled so that the true |E_o|_2 (computed here from W(0)) is 3 times the
    stacked block's tolerance: any valid bound refuses (an underestimating one, e.g. max |E_ij| or the bound
    divided by 1e3, would accept).  At 0.05 times it the certificate accepts, and the stacked spec2 is then
    within 2 tol of the SVD's (Weyl), rounding aside."""
    m1, m2, n = 30, 30, 5
    X, W0 = _planted_small_singular_value(np.random.default_rng(3), n, m1, m2, 20, sigma=1e-7)
    e1, _ = _true_E_o_and_tol(X, W0, m1)
    Z = 0.1 * np.random.default_rng(4).standard_normal((m1 + m2, n))
    for factor, accept in ((3.0, False), (0.05, True)):
        _, tol = _true_E_o_and_tol(X, W0, m1)
        sigma = 1e-7 * factor * tol / e1  # |E_o| is linear in the planted singular value
        X, W0 = _planted_small_singular_value(np.random.default_rng(3), n, m1, m2, 20, sigma=sigma)
        e_o, tol = _true_E_o_and_tol(X, W0, m1)
        assert e_o == pytest.approx(factor * tol, rel=0.3)
        gs = GramSpectrum(W0 @ W0.T, W0 @ X.T, X @ X.T, (m1, m2))
        assert (gs.compose is not None) == accept
        s_svd = _svd_norms(W0 + Z @ X, m1)[1]
        assert abs(gs.norms(Z)[1][2] - s_svd[2]) <= 2 * tol + 1e-14 * s_svd[2]


def _blocks_in_subspaces(rng: np.random.Generator, n: int, m: int, extra: int, dims: tuple[int, int],
                         shared: bool):
    """W(0) whose sign blocks' rows lie (off the data's span) in subspaces of dimensions ``dims`` of the
    complement (of dimension ``extra``): one subspace nested in the other where ``shared``, else two
    different ones."""
    d = n + extra
    X = rng.standard_normal((n, d))
    Q, _ = np.linalg.qr(np.concatenate([X.T, rng.standard_normal((d, extra))], axis=1))
    perp = Q[:, n:]
    starts = (0, 0) if shared else (0, extra - dims[1])
    W0 = np.concatenate([rng.standard_normal((m, n)) @ Q[:, :n].T
                         + rng.standard_normal((m, k)) @ perp[:, s:s + k].T
                         for k, s in zip(dims, starts, strict=True)])
    return X, W0


@pytest.mark.parametrize(("dims", "shared", "route", "last_eigh"), [
    ((8, 15), True, "T", (23, 23)),    # r_+ != r_-: T
    ((10, 10), False, "T", (20, 20)),  # r_+ = r_-, different right singular spaces: H refused, then T
    ((15, 15), True, "d side", (15, 15)),  # r_+ = r_- = d - n
])
def test_routes_of_the_composition(dims: tuple[int, int], shared: bool, route: str,
                                   last_eigh: tuple[int, int]) -> None:
    """Which route the stacked block takes, the eigenproblems it solves (never M x M), and on each route
    eigenvalues equal to K_R's and norms equal to the SVD's.  The middle case is the d side's planted
    violation: Omega = V_+^T V_- is not orthogonal there, and the check on |T - C diag(lam_s) C^T| refuses."""
    rng = np.random.default_rng(11)
    n, m, extra = 4, 30, 15
    X, W0 = _blocks_in_subspaces(rng, n, m, extra, dims, shared)
    gs, shapes = _built_with_eigh_shapes(X, W0, (m, m))
    assert gs.stacked_route == route
    assert shapes[:2] == [(m, m), (m, m)] and shapes[-1] == last_eigh and (2 * m, 2 * m) not in shapes
    R = W0 - (W0 @ X.T) @ np.linalg.solve(X @ X.T, X)
    want = np.linalg.eigvalsh(R @ R.T)
    lam = gs.eig[2][0]
    np.testing.assert_allclose(lam, want[-lam.size:], rtol=1e-12)
    assert np.all(np.abs(want[:-lam.size]) <= 1e-12 * want[-1])  # what was not kept is K_R's null space
    Z = rng.standard_normal((2 * m, n))
    f_svd, s_svd = _svd_norms(W0 + Z @ X, m)
    fro2, spec2, _ = gs.norms(Z)
    np.testing.assert_allclose(spec2, s_svd, rtol=REL)
    np.testing.assert_allclose(fro2, f_svd, rtol=REL)


def _rotated_blocks(theta: float, sv: np.ndarray, n: int = 3, m: int = 30, seed: int = 7):
    """Both sign blocks of rank r = len(sv) off the data (singular values ``sv``), in a complement of
    dimension r + 1; the - block's row space turned by ``theta`` out of the + block's.  E_o = 0 (the cuts
    drop only null spaces) but Omega = V_+^T V_- is orthogonal only to O(theta^2): the d side's own check is
    the only guard."""
    r = len(sv)
    rng = np.random.default_rng(seed)
    extra = r + 1
    X = rng.standard_normal((n, n + extra))
    Q, _ = np.linalg.qr(np.concatenate([X.T, rng.standard_normal((n + extra, extra))], axis=1))
    Up, _ = np.linalg.qr(rng.standard_normal((m, r)))
    Um, _ = np.linalg.qr(rng.standard_normal((m, r)))
    Vp = np.eye(extra)[:, :r]
    Vm = Vp.copy()
    Vm[:, 0] = 0.0
    Vm[0, 0], Vm[-1, 0] = np.cos(theta), np.sin(theta)
    R = np.concatenate([(Up * sv) @ Vp.T, (Um * sv) @ Vm.T])
    return X, 0.1 * rng.standard_normal((2 * m, n)) @ Q[:, :n].T + R @ Q[:, n:].T


def _d_side_unchecked(X: np.ndarray, W0: np.ndarray, m: int) -> tuple[float, float]:
    """The d side's representation error |T - C diag(lam_s) C^T|_2 and |C^T C - I|_2, both in units of the
    cut's tolerance (M eps max(lam_max, max |w_k(0)|^2) and M eps), computed here from W(0) itself, without
    the Newton-Schulz step, independently of ``sim.stacked``."""
    eps = np.finfo(float).eps
    R = W0 - (W0 @ X.T) @ np.linalg.solve(X @ X.T, X)
    KR = R @ R.T
    scale = float(np.max(np.sum(W0**2, axis=1)))
    U, lams = [], []
    for b in (slice(0, m), slice(m, None)):
        lam, V = np.linalg.eigh(KR[b, b])
        keep = lam > lam.size * eps * max(lam[-1], scale)
        U.append(V[:, keep])
        lams.append(lam[keep])
    B = U[0].T @ KR[:m, m:] @ U[1]
    T = np.block([[np.diag(lams[0]), B], [B.T, np.diag(lams[1])]])
    Om = B / np.sqrt(lams[0])[:, None] / np.sqrt(lams[1])[None, :]
    lam, Q = np.linalg.eigh(np.diag(lams[0]) + (Om * lams[1]) @ Om.T)
    C = np.concatenate([np.sqrt(lams[0])[:, None] * Q, np.sqrt(lams[1])[:, None] * (Om.T @ Q)]) / np.sqrt(lam)
    M = 2 * m
    tol = M * eps * max(float(np.linalg.eigvalsh(KR)[-1]), scale)
    return (float(np.linalg.norm(T - (C * lam) @ C.T, 2)) / tol,
            float(np.linalg.norm(C.T @ C - np.eye(len(lam)), 2)) / (M * eps))


def test_d_side_check_near_its_threshold() -> None:
    """The - block's row space turned by theta, chosen (the error grows like theta^2) so that the d side's
    representation error, computed here independently, is ~3 tolerances: refused (T diagonalized); at
    ~0.2 tolerances: accepted.  A check with its slack multiplied by 1e3 accepts the first (tried).  Either
    way the stacked spec2 is within 2 tol of the SVD's."""
    sv = np.r_[3.0, np.linspace(1.0, 0.5, 9)]
    c = _d_side_unchecked(*_rotated_blocks(1e-6, sv), 30)[0] / 1e-12  # rep ~ c theta^2, in tolerances
    for target, route in ((3.0, "T"), (0.2, "d side")):
        X, W0 = _rotated_blocks(np.sqrt(target / c), sv)
        rep, _ = _d_side_unchecked(X, W0, 30)
        assert (2.0 <= rep <= 5.0) if route == "T" else rep <= 0.4
        gs = GramSpectrum(W0 @ W0.T, W0 @ X.T, X @ X.T, (30, 30))
        assert gs.stacked_route == route
        s_svd = _svd_norms(W0, 30)[1]
        spec2 = gs.norms(np.zeros((60, 3)))[1]
        tol = 60 * np.finfo(float).eps * float(np.max(np.sum(W0**2, axis=1)))
        assert abs(spec2[2] - s_svd[2]) <= 2 * tol + 1e-14 * s_svd[2]


@pytest.mark.parametrize("seed", range(3))
def test_d_side_newton_schulz_step_makes_C_orthonormal(seed: int) -> None:
    """Singular values spread over two decades: C from H alone is orthonormal only to 12-67 M eps (computed
    here), beyond the M eps the d side accepts; one Newton-Schulz step brings U_s = blockdiag(U_+, U_-) C to
    ~0.1 M eps, and the d side is taken."""
    X, W0 = _rotated_blocks(0.0, np.logspace(0, -2, 10), seed=seed)
    assert _d_side_unchecked(X, W0, 30)[1] > 2.0
    gs = GramSpectrum(W0 @ W0.T, W0 @ X.T, X @ X.T, (30, 30))
    assert gs.stacked_route == "d side"
    Uts = gs.eig[2][1]
    assert np.linalg.norm(Uts @ Uts.T - np.eye(Uts.shape[0]), 2) <= 0.5 * 60 * np.finfo(float).eps
    np.testing.assert_allclose(gs.norms(np.zeros((60, 3)))[1], _svd_norms(W0, 30)[1], rtol=REL)
