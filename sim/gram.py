"""Norms and stable ranks of the weights without forming W (notes §2).

With Z the raw coefficients (w_k(t) = w_k(0) + sum_i Z[k, i] x_i), P0 = W(0) X^T and K0 = W(0) W(0)^T:

    W W^T = K0 + P0 Z^T + Z P0^T + Z G Z^T.

StableRank(W_j) = trace(W_j W_j^T) / lambda_max(W_j W_j^T) (claims.md, "Settings").
"""

from __future__ import annotations

import numpy as np
import scipy.linalg


def weight_gram(K0: np.ndarray, P0: np.ndarray, Z: np.ndarray, G: np.ndarray) -> np.ndarray:
    """(M, M) Gram matrix W(t) W(t)^T (entries inf or nan once the weights overflow: a diverged run)."""
    with np.errstate(over="ignore", invalid="ignore"):
        C = P0 @ Z.T
        K = K0 + C + C.T + Z @ G @ Z.T
        return 0.5 * (K + K.T)


def fro2_spec2(K: np.ndarray, widths: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Squared Frobenius and spectral norms of W_{+1}, W_{-1} and the stacked W, from K = W W^T.

    A K that is not finite (the weights overflowed) gives nan norms, which the engines report as
    divergence, rather than an eigensolver's error."""
    m1 = widths[0]
    blocks = (K[:m1, :m1], K[m1:, m1:], K)
    if not np.all(np.isfinite(K)):
        return np.full(3, np.nan), np.full(3, np.nan)
    fro2 = np.array([np.trace(b) for b in blocks])
    spec2 = np.array([np.linalg.eigvalsh(b)[-1] for b in blocks])
    return fro2, spec2


def stable_rank_from_gram(K: np.ndarray) -> float:
    """trace(K) / lambda_max(K) for K = W W^T."""
    return float(np.trace(K) / np.linalg.eigvalsh(K)[-1])


class GramSpectrum:
    """Checkpoint norms of W(t) = W(0) + Z X in O(r M n + M n^2) per checkpoint (r = rank K_R <= M,
    below), without forming W W^T.

    Split W(0) along span{x_i}: with G = L L^T (Cholesky) and B = X^T L^{-T} an orthonormal basis of the
    data's span, W(0) = P0' B^T + R with P0' = P0 L^{-T} and the rows of R orthogonal to every x_i.  Then
    W(t) B = P0' + Z L and W(t) (I - B B^T) = R at every t, so

        W(t) W(t)^T = K_R + Y Y^T,   K_R = K0 - P0' P0'^T  (fixed),   Y = P0' + Z L  (M x n).

    K_R (and each sign block of it) is diagonalized once, K_R = U diag(lam) U^T.  At a checkpoint,
    Yt = U^T Y, and the top eigenvalue of diag(lam) + Yt Yt^T (a positive semidefinite rank-n update of a
    diagonal) is the largest root of the secular equation mu_max(F(x)) = 1, F(x) = Yt^T (x - lam)^{-1} Yt
    (n x n), on x > lam_max: by the matrix determinant lemma and Haynsworth's inertia the number of
    eigenvalues above x equals the number of eigenvalues of F(x) above 1.  ``psi(x) = 1 / mu_max(F(x)) - 1``
    is increasing and close to linear near the dominant pole, so a safeguarded Newton iteration on it
    (bisection inside the bracket [max(lam_max, lam_min + ||Yt||^2), lam_max + ||Yt||^2]) converges in a few
    steps.  The Frobenius norms and ||w_k||^2 are diag(K_R) + row sums of Y^2.

    Needs a positive definite G; ``from_init`` returns None otherwise (the caller then forms W W^T).
    """

    def __init__(self, K0: np.ndarray, P0: np.ndarray, G: np.ndarray, widths: tuple[int, int]) -> None:
        self.L = np.linalg.cholesky(G)
        self.P0p = np.linalg.solve(self.L, P0.T).T  # P0 L^{-T}
        KR = K0 - self.P0p @ self.P0p.T
        KR = 0.5 * (KR + KR.T)
        self.diagR = np.diag(KR).copy()
        m1 = widths[0]
        self.blocks = (slice(0, m1), slice(m1, None), slice(None))
        self.eig = [self._split(*np.linalg.eigh(KR[b, b]), float(np.max(np.abs(np.diag(K0)[b]))))
                    for b in self.blocks]

    @staticmethod
    def _split(lam: np.ndarray, U: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray, bool]:
        """(eigenvalues above rounding, U^T on their eigenvectors (C order), whether a null space was cut).

        K_R = R R^T has rank at most d - n: with M > d - n (real data of small d, wide networks) most of
        its spectrum is zero.  Eigenvalues within ``size * eps * max(lam_max, max_k ||w_k(0)||^2)`` of 0 (the
        rounding of K_R = K0 - P0' P0'^T) are taken as 0 (a change of K_R by at most that much in norm, of
        the order of eigh's own error), and their eigenvectors never formed:
        ``norms`` then projects Y on the r << M others only, O(r M n) instead of O(M^2 n)."""
        tol = lam.size * np.finfo(float).eps * max(float(lam[-1]), scale)
        keep = lam > tol
        if keep.all():
            return lam, np.ascontiguousarray(U.T), False
        return lam[keep], np.ascontiguousarray(U[:, keep].T), True

    @classmethod
    def from_init(cls, K0: np.ndarray, P0: np.ndarray, G: np.ndarray, widths: tuple[int, int]) -> GramSpectrum | None:
        """The spectrum helper, or None where G is not numerically positive definite (cond(G) > 1e8) or K0
        is not finite."""
        if not (np.all(np.isfinite(K0)) and np.all(np.isfinite(P0))):
            return None
        try:
            if np.linalg.cond(G) > 1e8:
                return None
            return cls(K0, P0, G, widths)
        except np.linalg.LinAlgError:
            return None

    def norms(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fro2, spec2, norms2) at coefficients Z, as ``fro2_spec2`` and diag(W W^T) give them (nan where
        the weights overflowed)."""
        with np.errstate(over="ignore", invalid="ignore"):
            Y = self.P0p + Z @ self.L
            norms2 = self.diagR + np.einsum("ki,ki->k", Y, Y)
        if not (np.all(np.isfinite(Y)) and np.all(np.isfinite(norms2))):
            return np.full(3, np.nan), np.full(3, np.nan), norms2
        fro2 = np.array([norms2[b].sum() for b in self.blocks])
        spec2 = np.empty(3)
        for j, ((lam, Ut, cut), b) in enumerate(zip(self.eig, self.blocks, strict=True)):
            Yt = Ut @ Y[b]
            null = None
            if cut:  # Y's part in K_R's null space: Y^T (I - U_+ U_+^T) Y
                null = Y[b].T @ Y[b] - Yt.T @ Yt
            spec2[j] = top_eig_diag_plus_lowrank(lam, Yt, null=null)
        return fro2, spec2, norms2


def top_eig_diag_plus_lowrank(lam: np.ndarray, Yt: np.ndarray, max_iter: int = 200,
                              null: np.ndarray | None = None) -> float:
    """Largest eigenvalue of diag(lam) + Yt Yt^T (lam ascending), by the secular equation
    (``GramSpectrum``'s docstring), to a relative bracket of a few ulps.

    ``null`` (n x n): the update's part in further eigenvectors of eigenvalue 0, not formed (``Yn^T Yn``
    for those rows Yn): the matrix is then diag(lam, 0, ..., 0) + [Yt; Yn] [Yt; Yn]^T, whose secular
    function gains null / x."""
    if null is not None:
        null = 0.5 * (null + null.T)
    lam_max, lam_min = (float(lam[-1]), float(lam[0])) if lam.size else (0.0, 0.0)
    if null is not None:  # the cut eigenvalues are 0
        lam_max, lam_min = max(lam_max, 0.0), min(lam_min, 0.0)
    n = Yt.shape[1]
    C = Yt.T @ Yt if null is None else Yt.T @ Yt + null
    s = float(np.linalg.eigvalsh(C)[-1]) if C.size else 0.0
    if s <= 0.0:
        return lam_max
    hi = lam_max + s
    lo = max(lam_max, lam_min + s)
    open_lo = lo == lam_max  # psi -> -1 at the pole: never evaluated there

    def psi(x: float) -> tuple[float, float]:
        """(psi(x), psi'(x)) at x > lam_max."""
        d = x - lam
        W = Yt / d[:, None]
        F = Yt.T @ W
        if null is not None:
            F = F + null / x
        F = 0.5 * (F + F.T)
        if n > 16:  # the top eigenpair alone (LAPACK's MRRR on the tridiagonal form)
            mu, v = scipy.linalg.eigh(F, subset_by_index=[n - 1, n - 1], driver="evr")
        else:
            mu, v = np.linalg.eigh(F)
        mu_max, v_max = float(mu[-1]), v[:, -1]
        dmu = -float(np.sum((W @ v_max) ** 2))  # d mu_max / dx
        if null is not None:
            dmu -= float(v_max @ null @ v_max) / x**2
        return 1.0 / mu_max - 1.0, -dmu / mu_max**2

    # psi(lo) <= 0 <= psi(hi); the root is the top eigenvalue.  Newton from hi; a step leaving the
    # bracket is replaced by bisection (geometric in the distance to the pole while lo is the pole)
    eps = float(np.finfo(float).eps)
    x = hi
    for _ in range(max_iter):
        val, der = psi(x)
        if val == 0.0:
            return x
        if val > 0.0:
            hi = x
        else:
            lo, open_lo = x, False
        cand = x - val / der if der > 0.0 else np.nan
        if not (lo < cand < hi):
            cand = lam_max + np.sqrt((lo - lam_max) * (hi - lam_max)) if open_lo else 0.5 * (lo + hi)
            if not lo < cand < hi:
                cand = 0.5 * (lo + hi)
        if abs(cand - x) <= 2.0 * eps * abs(x) or hi - lo <= 4.0 * eps * abs(hi):
            return float(cand)
        x = float(cand)
    return float(x)
