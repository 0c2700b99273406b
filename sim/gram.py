"""Norms and stable ranks of the weights without forming W (notes §2).

With Z the raw coefficients (w_k(t) = w_k(0) + sum_i Z[k, i] x_i), P0 = W(0) X^T and K0 = W(0) W(0)^T:

    W W^T = K0 + P0 Z^T + Z P0^T + Z G Z^T.

StableRank(W_j) = trace(W_j W_j^T) / lambda_max(W_j W_j^T) (claims.md, "Settings").
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from .stacked import stacked_from_signs, tolerance

# power steps (O(r n) each) an evaluation of the secular function tries before forming its matrix (r n^2 / 2;
# ``top_eig_diag_plus_lowrank``): a choice, capping the cheap path at the cost of one full evaluation at
# n = 32 (8 x 2 r n against r n^2 / 2); checkpoints at n = 100, m = 1000 took 2-4 failed power steps per root
POWER_STEPS = 8


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

    K_R (and each sign block of it) is diagonalized once, K_R = U diag(lam) U^T (the stacked block from the
    sign blocks' eigenvectors where that is exact to the cut's tolerance: ``sim.stacked``; a
    (r_+ + r_-)-square eigenproblem instead of an M-square one).  At a checkpoint,
    Yt = U^T Y, and the top eigenvalue of diag(lam) + Yt Yt^T (a positive semidefinite rank-n update of a
    diagonal) is the largest root of the secular equation mu_max(F(x)) = 1, F(x) = Yt^T (x - lam)^{-1} Yt
    (n x n), on x > lam_max: by the matrix determinant lemma and Haynsworth's inertia the number of
    eigenvalues above x equals the number of eigenvalues of F(x) above 1.  ``psi(x) = 1 / mu_max(F(x)) - 1``
    is increasing and concave, so Newton from a lower bound converges monotonically, safeguarded by
    bisection inside the bracket [max(lam_max, lam_min + ||Y||^2), lam_max + ||Y||^2]
    (``top_eig_diag_plus_lowrank``).  The Frobenius norms and ||w_k||^2 are diag(K_R) + row sums of Y^2.

    Needs a positive definite G; ``from_init`` returns None otherwise (the caller then forms W W^T).

    Accuracy is relative to |W(0)|^2 as well as to |W(t)|^2: K_R = K0 - P0' P0'^T carries an absolute error
    of order eps |K0|, so where GD has removed almost all of W(0) (W(t) = rho R with rho << 1, a review's
    construction) the norms' relative error grows like eps / rho^2 (5e-12 at rho = 1e-2, 1e-10 at 1e-3;
    fro2 alike).  GD from a small initialization grows the weights; forming K_R from W(0) itself would
    remove this, at O(M^2 d) once.
    """

    def __init__(self, K0: np.ndarray, P0: np.ndarray, G: np.ndarray, widths: tuple[int, int]) -> None:
        self.L = np.linalg.cholesky(G)
        self.P0p = np.asfortranarray(np.linalg.solve(self.L, P0.T).T)  # P0 L^{-T}
        KR = K0 - self.P0p @ self.P0p.T
        KR = 0.5 * (KR + KR.T)
        self.diagR = np.diag(KR).copy()
        m1 = widths[0]
        self.blocks = (slice(0, m1), slice(m1, None), slice(None))
        scales = [float(np.max(np.abs(np.diag(K0)[b]))) for b in self.blocks]
        full = [np.linalg.eigh(KR[b, b]) for b in self.blocks[:2]]
        self.eig = [self._split(*f, scales[j]) for j, f in enumerate(full)]
        # the largest |eigenvalue| each sign block's cut dropped (ascending: the first M_j - r_j)
        dropped = max(float(np.max(np.abs(lam[:lam.size - e[0].size]), initial=0.0))
                      for (lam, _), e in zip(full, self.eig, strict=True))
        stacked = stacked_from_signs(KR, self.eig, dropped, scales[2])
        # C: the stacked block's eigenvectors in the sign blocks' (``sim.stacked``), or None; and how
        self.compose: np.ndarray | None = None
        self.stacked_route = "direct"
        if stacked is None:
            self.eig.append(self._split(*np.linalg.eigh(KR), scales[2]))
        else:
            self.eig.append(stacked[0])
            self.compose, self.stacked_route = stacked[1], stacked[2]
        self.last_projections: list[np.ndarray] | None = None

    @staticmethod
    def _split(lam: np.ndarray, U: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray, bool]:
        """(eigenvalues above rounding, U^T on their eigenvectors (C order), whether a null space was cut).

        K_R = R R^T has rank at most d - n: with M > d - n (real data of small d, wide networks) most of
        its spectrum is zero.  Eigenvalues within ``size * eps * max(lam_max, max_k ||w_k(0)||^2)`` of 0 (the
        rounding of K_R = K0 - P0' P0'^T) are taken as 0 (a change of K_R by at most that much in norm, of
        the order of eigh's own error), and their eigenvectors never formed:
        ``norms`` then projects Y on the r << M others only, O(r M n) instead of O(M^2 n).

        Nothing is cut where K_R has an eigenvalue below -tol: P0' = P0 L^{-T} then carries more than
        rounding (an ill-conditioned G), and K_R + P0' P0'^T = K0 holds only with K_R's computed spectrum
        kept whole, negative part included (dropping it moved the norms by ~1e-11 at cond(G) = 6e7)."""
        tol = tolerance(lam.size, lam[-1], scale)
        keep = lam > tol
        if keep.all() or lam[0] < -tol:
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

    def update(self, Z: np.ndarray) -> np.ndarray:
        """Y = P0' + Z L (M x n, Fortran-ordered): W(t) restricted to the data's span, in the basis B.
        Z L by BLAS trmm (L lower triangular: half the multiply-adds of a product)."""
        with np.errstate(over="ignore", invalid="ignore"):
            if Z.size * Z.shape[1] < 65536:  # small: numpy's matmul costs less than scipy's call into BLAS
                return self.P0p + Z @ self.L
            Y = scipy.linalg.blas.dtrmm(1.0, self.L, Z, side=1, lower=1)
            Y += self.P0p
            return Y

    def project(self, A: np.ndarray) -> list[np.ndarray]:
        """U_j^T A_j for the three blocks j (+1, -1, stacked) of an M x k matrix A: the O(r M k) part of a
        checkpoint (``norms`` takes these of Y as ``projections``)."""
        # as (A_j^T U_j)^T: OpenBLAS ran this shape ~15% faster (r = 684, M_j = 1000-2000, k = 100, one
        # thread); the results are Fortran-ordered
        if self.compose is None:
            return [(A[b].T @ Ut.T).T for (_, Ut, _), b in zip(self.eig, self.blocks, strict=True)]
        (_, Utp, _), (_, Utm, _), _ = self.eig
        rp, m1 = Utp.shape
        signs = np.empty((A.shape[1], rp + Utm.shape[0]))  # [ (U_+^T A_+)^T, (U_-^T A_-)^T ]
        signs[:, :rp] = A[:m1].T @ Utp.T
        signs[:, rp:] = A[m1:].T @ Utm.T
        return [signs[:, :rp].T, signs[:, rp:].T, (signs @ self.compose).T]  # ``sim.stacked``

    def projection_flops(self, k: int) -> int:
        """Multiply-adds of ``project`` on an M x k matrix."""
        sizes = [Ut.size for _, Ut, _ in self.eig]
        if self.compose is None:
            return k * sum(sizes)
        return k * (sizes[0] + sizes[1] + self.compose.size)

    def norms(self, Z: np.ndarray, projections: list[np.ndarray] | None = None,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fro2, spec2, norms2) at coefficients Z, as ``fro2_spec2`` and diag(W W^T) give them (nan where
        the weights overflowed).  ``projections``: ``project(update(Z))`` where the caller has it cheaper
        (``sim.frozen_checkpoint``); the ones used are left in ``last_projections``."""
        Y = self.update(Z)
        with np.errstate(over="ignore", invalid="ignore"):
            norms2 = self.diagR + np.einsum("ki,ki->k", Y, Y)
        self.last_projections = None
        if not (np.all(np.isfinite(Y)) and np.all(np.isfinite(norms2))):
            return np.full(3, np.nan), np.full(3, np.nan), norms2
        fro2 = np.array([norms2[b].sum() for b in self.blocks])
        grams: list[np.ndarray | None] = [None] * 3  # Y_j^T Y_j, needed where block j's null space is cut
        if any(cut for _, _, cut in self.eig):
            grams = [ata(Y[b]) for b in self.blocks[:2]]  # the stacked block's is the sum of the sign blocks'
            grams.append(grams[0] + grams[1])
        Yts = self.project(Y) if projections is None else projections
        spec2 = np.empty(3)
        for j, ((lam, _, cut), Yt) in enumerate(zip(self.eig, Yts, strict=True)):
            # with a cut, Y's part in K_R's null space enters through Y^T Y (``top_eig``'s ``gram``)
            spec2[j] = top_eig_diag_plus_lowrank(lam, Yt, gram=grams[j] if cut else None)
        self.last_projections = Yts
        return fro2, spec2, norms2


def ata(A: np.ndarray) -> np.ndarray:
    """A^T A, symmetric: numpy hands a product of an array with its own transpose to BLAS syrk (half the
    multiply-adds), for any strides (as fast as calling syrk directly, measured, and no copy of a strided
    block of Y)."""
    return A.T @ A


def _top_pairs(C: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The top min(k, n) eigenpairs (ascending) of a symmetric n x n matrix whose upper triangle is read;
    LAPACK's MRRR on those indices alone from n = 17 on."""
    n = C.shape[0]
    if n > 16:
        return scipy.linalg.eigh(C, lower=False, subset_by_index=[max(n - k, 0), n - 1], driver="evr",
                                 check_finite=False)
    mu, v = np.linalg.eigh(C, UPLO="U")
    return mu[-k:], v[:, -k:]


def top_eig_diag_plus_lowrank(lam: np.ndarray, Yt: np.ndarray, max_iter: int = 200,
                              gram: np.ndarray | None = None) -> float:
    """Largest eigenvalue of A = diag(lam) + Yt Yt^T (lam ascending), by the secular equation
    (``GramSpectrum``'s docstring), to a relative bracket of a few ulps.

    ``gram`` (n x n, symmetric): Y^T Y of an update Y = [Yt; Yn] whose further rows Yn, on further
    eigenvectors of eigenvalue 0, are not formed (lam >= 0 then).  A is then diag(lam, 0, ..., 0) + Y Y^T,
    whose secular matrix Yt^T (x - lam)^{-1} Yt + Yn^T Yn / x is computed as
    Yt^T diag(lam / (x (x - lam))) Yt + gram / x (every term positive semidefinite: no cancellation).
    Where |lam| or Y's squared column norms fall outside [1e-100, 1e100] the problem is first scaled by a
    power of 4 (exactly), to O(1): no overflow or underflow in x^2 or (x - lam)^2.

    The root of psi(x) = 1 / mu_max(F(x)) - 1:
    - psi is increasing and concave on x > max(lam): F(x) is a sum of PSD terms w w^T / (x - l), for each
      unit v 1 / (v^T F(x) v) is concave there (its second derivative has the sign of
      (sum w_v / d^2)^2 - (sum w_v / d)(sum w_v / d^3) <= 0, Cauchy-Schwarz), and 1 / mu_max is their
      minimum.  So a Newton step, from either side, lands at or left of the root: a lower bound.
    - Upper bounds: the zero of the chord through points on either side of the root (the chord lies below
      a concave psi); and from a point x left of the root alone: with p the lowest pole (0 with ``gram``),
      -F'(x) >= F(x) / (x - p) (1 / (x - l)^2 >= 1 / ((x - p) (x - l)) for l >= p), so
      psi'(root) >= 1 / (root - p) and, psi' decreasing, root - x <= |psi(x)| (root - p), i.e.
      root <= (x + psi(x) p) / (1 + psi(x)).  The iteration ends when the bounds meet within 4 ulps:
      never on the size of a step alone (a step from the left bounds the distance to the root only from
      below).
    - Newton starts from the larger of two Rayleigh quotients of A, both lower bounds on the root: that of
      u = Y c / |Y c| (c the top eigenvector of Y^T Y; close when Y dominates) and that of diag(lam)'s top
      eigenvector (close when Y is small against lam's gaps); from the bracket's top where neither lies
      strictly inside it.  Where a Newton step fails to halve the bracket (psi strongly curved: F's top
      two eigenvalues nearly cross, or the root sits next to the pole) the next point is the bracket's
      midpoint instead (geometric in the distance to the pole while the lower end is the pole); where a
      step from the right falls at or below the lower end, which may be the root itself, the next point is
      4 eps |lo| above it.
    - From n = 17 on (and at x > 0, where the bound on mu_2 below holds), an evaluation first tries the
      last eigenvector v (at the start, c): F v costs O(r n), and up to ``POWER_STEPS`` - 1 power steps
      refine v.  theta = v^T F v is taken as mu_max once the Kato-Temple bound
      mu_max - theta <= |F v - theta v|^2 / (theta - mu_2) is below an ulp of theta.  mu_2 is bounded by
      Weyl's inequality, F(x) = gram / x + H with H <= max(lam_max, 0) / (x (x - lam_max)) s I (s = |gram|),
      or by the second eigenvalue of the last F formed at an x' <= x (F, hence each of its eigenvalues,
      decreases in x).  Otherwise F is formed (r n^2 / 2 multiply-adds) and its top two eigenpairs taken.
      Where Y dominates, no F is formed at all: two or three O(r n) evaluations."""
    if gram is not None and lam.size and lam[0] < 0.0:
        raise ValueError(f"lam: eigenvalues >= 0 with a gram (a cut K_R is positive semidefinite), got {lam[0]}")
    lam_max = float(lam[-1]) if lam.size else 0.0  # with a gram lam >= 0: lam_max bounds the cut 0s too
    n = Yt.shape[1]
    if n == 0:
        return lam_max
    if gram is None:
        gram, cut = ata(Yt), False
    else:
        cut = True
    # scale by 4^-k, exactly, where the larger of |lam| and Y's squared column norms (the answer is within
    # n + 1 of it) is outside [1e-100, 1e100]; within, nothing under- or overflows (and scaling by a power
    # of 2 would give the same bits)
    top = max(float(np.max(np.abs(lam))) if lam.size else 0.0, float(np.max(np.diag(gram))))
    if not np.isfinite(top):  # (|gram_ij| <= sqrt(gram_ii gram_jj): the rest is finite with the diagonal)
        return np.nan
    if top == 0.0:
        return lam_max
    if 1e-100 <= top <= 1e100:
        return _secular_root(lam, Yt, gram, cut, max_iter)
    k = int(np.round(np.log2(top) / 2))
    root = _secular_root(np.ldexp(lam, -2 * k), np.ldexp(Yt, -k), np.ldexp(gram, -2 * k), cut, max_iter)
    return float(np.ldexp(root, 2 * k))


def _secular_root(lam: np.ndarray, Yt: np.ndarray, gram: np.ndarray, cut: bool, max_iter: int) -> float:
    """``top_eig_diag_plus_lowrank`` on a problem of scale within [1e-100, 1e100] (its docstring)."""
    n = Yt.shape[1]
    lam_max = float(lam[-1]) if lam.size else 0.0
    lam_min = 0.0 if cut or not lam.size else float(lam[0])
    mu, V = _top_pairs(gram, 2)
    s, c = float(mu[-1]), V[:, -1]
    s2 = float(mu[0]) if n > 1 else -np.inf
    hi = lam_max + s
    if not hi > lam_max:  # Y = 0, or below half an ulp of lam_max
        return lam_max
    lo = max(lam_max, lam_min + s)
    open_lo = lo == lam_max  # psi -> -1 at the pole: never evaluated there
    # two lower bounds on the root: the Rayleigh quotients of u = Y c / |Y c| (the rows not formed adding
    # 0) and of K_R's top eigenvector (A's top eigenvalue near lam_max when Y is small against K_R's gaps)
    rayleigh = s + float(lam @ (Yt @ c) ** 2) / s
    if lam.size:
        rayleigh = max(rayleigh, lam_max + float(Yt[-1] @ Yt[-1]))
    eps = float(np.finfo(float).eps)
    # up to n = 16 forming F (and numpy's eigh of an n x n) costs less than a few numpy calls' overhead
    power_steps = POWER_STEPS if n > 16 else 0
    v_last, x_full, mu2_full = c, np.inf, np.inf  # the last eigenvector; the last F formed: where, its mu_2

    def psi(x: float) -> tuple[float, float]:
        """(psi(x), psi'(x)) at x > lam_max."""
        nonlocal v_last, x_full, mu2_full
        d = x - lam
        # F(x) = Yt^T diag(e) Yt (+ gram / x with a cut), every term PSD; -F'(x) likewise with de
        e, de = (lam / x / d, lam / x / d * (1.0 / d + 1.0 / x)) if cut else (1.0 / d, 1.0 / d**2)
        theta, v = -1.0, v_last
        steps = power_steps if x > 0.0 else 0  # (gram / x's second eigenvalue is s2 / x for x > 0 only)
        if steps:
            # mu_2(F(x)) <= that of gram / x plus the top of H (Weyl), H <= max(e_max, 0) s I; or the one
            # found where F was last formed, at an x' <= x
            mu2 = s2 / x + max(lam_max, 0.0) / (x * (x - lam_max)) * s
            if x >= x_full:
                mu2 = min(mu2, mu2_full)
        for _ in range(steps):  # the last eigenvector, refined by power steps, certified by Kato-Temple
            Ytv = Yt @ v
            Fv = Yt.T @ (e * Ytv)
            if cut:
                Fv += gram @ v / x
            theta = float(v @ Fv)
            res = Fv - theta * v
            if theta > mu2 and float(res @ res) <= eps * theta * (theta - mu2):
                break
            v, theta = Fv / np.linalg.norm(Fv), -1.0
        if theta < 0.0:
            F = ata(Yt * np.sqrt(e)[:, None])
            if cut:
                F += gram / x
            mu, V = _top_pairs(F, 2)
            theta, v = float(mu[-1]), V[:, -1]
            x_full, mu2_full = x, (float(mu[0]) if mu.size > 1 else -np.inf)
            Ytv = Yt @ v
        v_last = v
        # -d mu_max / dx = v^T (Yt^T diag(de) Yt (+ gram / x^2)) v; with a cut 1/d^2 - 1/x^2 = e (1/d + 1/x)
        dmu = float(de @ Ytv**2) + (float(v @ gram @ v) / (x * x) if cut else 0.0)
        return 1.0 / theta - 1.0, dmu / theta**2

    x = rayleigh if lo < rayleigh < hi else hi
    left = right = (np.nan, np.nan)  # the evaluated points nearest the root on either side, with psi there
    for _ in range(max_iter):
        width = hi - lo
        val, der = psi(x)
        if val == 0.0:
            return x
        if val > 0.0:
            hi = min(hi, x)
            if not right[0] <= x:
                right = (x, val)
        else:  # psi > -1: 1 + val > 0
            lo, open_lo = max(lo, x), False
            hi = min(hi, (x + val * lam_min) / (1.0 + val))  # lam_min: the lowest pole
            if not left[0] >= x:
                left = (x, val)
        if left[0] < right[0]:  # the chord lies below a concave psi: its zero is an upper bound
            z = left[0] - left[1] * (right[0] - left[0]) / (right[1] - left[1])
            if lo <= z:
                hi = min(hi, z)
        cand = x - val / der if der > 0.0 else np.nan  # the tangent lies above: a lower bound
        newton = lo < cand < hi
        if newton:
            lo, open_lo = cand, False
        elif hi <= cand <= hi + 8.0 * eps * abs(hi):  # the lower bound at the upper one, to rounding
            lo = hi
        if hi - lo <= 4.0 * eps * abs(hi):
            return 0.5 * (lo + hi)
        if newton and hi - lo <= 0.5 * width:  # Newton while it halves the bracket
            x = cand
            continue
        if not (newton or open_lo) and val > 0.0 and lo < lo + 4.0 * eps * abs(lo) < hi:
            # Newton from the right fell at or below lo: lo may be the root itself; a point 4 eps |lo|
            # above closes the bracket if so (bisecting towards lo would take ~50 evaluations)
            x = lo + 4.0 * eps * abs(lo)
            continue
        # bisection: geometric in the distance to the pole while the lower end is the pole
        x = lam_max + np.sqrt(max(lo - lam_max, eps * max(lam_max, hi - lam_max)) * (hi - lam_max)) \
            if open_lo else np.nan
        if not lo < x < hi:
            x = 0.5 * (lo + hi)
            if not lo < x < hi:  # lo and hi adjacent floats
                return hi
    return 0.5 * (lo + hi)
