"""Local solutions of the max-margin problem of a two-layer network with fixed second layer: a KKT-point
search shared by FVB Thm 3.2 (every KKT point is the global one) and ST's conjectures (the limit of GD
is a KKT point of the biased network's problem).

Problem (FVB (5), Lyu & Li): min 1/2 ||W||_F^2 s.t. y_i f(x_i; W) >= 1 with f = sum_j a_j phi(<w_j, x>),
phi the leaky ReLU of slope g (g = 0: ReLU).  On a fixed activation region it is a convex QP in the
Gram coordinates; :func:`polish` solves it exactly there, :func:`kkt_residual` measures stationarity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import scipy.linalg
import scipy.optimize

from .tolerance import sum_bound

# SLSQP local solutions of (5): stationarity residual and distance to W*, relative.  SLSQP stops at
# ftol = 1e-14 on 1/2 ||W||^2; along directions where the constraints are flat to first order the objective
# is quadratic, so the point is accurate to ~sqrt(ftol) = 1e-7 (observed up to ~1.3e-6); declared 1e-5.
HUNT_TOL = 1e-5
TINY = np.finfo(float).tiny
POLISH_TOL = 1e-12  # polished local solution (exact QP in its activation region): an n x n solve's rounding

HUNT_TOL = 1e-5


TINY = np.finfo(float).tiny
POLISH_TOL = 1e-12  # polished local solution (exact QP in its activation region): an n x n solve's rounding


def second_layer(m1: int, m2: int) -> np.ndarray:
    """a_k = +1/sqrt(m) on the first m1 rows, -1/sqrt(m) on the last m2 (FVB)."""
    return np.concatenate([np.full(m1, 1.0), np.full(m2, -1.0)]) / math.sqrt(m1 + m2)


def margins_of(Y: np.ndarray, L: np.ndarray, a: np.ndarray, y: np.ndarray, g: float) -> np.ndarray:
    """(n,) y_i f(x_i; W) for rows Y (M, n) in orthonormal span coordinates (x_i = L[i])."""
    P = Y @ L.T
    return y * (a @ (np.maximum(P, 0.0) + g * np.minimum(P, 0.0)))


@dataclass(frozen=True)
class HuntPoint:
    """One local solution of (5): rows in orthonormal span coordinates, its margins and KKT data.

    stationarity: the Clarke-KKT residual of ``kkt_residual`` (relative; 0 for a polished point, which
    is stationary by construction); lam: its multipliers; tol: the accuracy the point is judged at
    (``POLISH_TOL`` when ``polished``, else the SLSQP tolerance ``HUNT_TOL``)."""

    Y: np.ndarray
    margins: np.ndarray
    normalized: float
    stationarity: float
    lam: np.ndarray
    success: bool
    polished: bool = False
    tol: float = HUNT_TOL

    @property
    def is_kkt(self) -> bool:
        """A KKT point of (5) to its accuracy: stationary (complementarity built in) and feasible with
        an active constraint."""
        return self.stationarity <= self.tol and abs(float(self.margins.min()) - 1.0) <= self.tol


def polish(Y: np.ndarray, L: np.ndarray, a: np.ndarray, y: np.ndarray, g: float) -> HuntPoint | None:
    """The exact KKT point of (5) in the activation region of Y, if it stays in that region.

    With the pattern s_ki = phi'(P_ki) of Y fixed, q(W) = A vec(W) is linear (A_i = y_i a_k s_ki x_i), so
    (5) restricted to the region is the QP min 1/2 ||W||^2 s.t. A vec(W) >= 1, solved exactly through its
    dual (``solve_nnqp`` on Q = A A^T): W' = A^T lambda.  If W' keeps the pattern (s = 1 => P' >= 0,
    s = g => P' <= 0; at P' = 0 both slopes are Clarke subgradients) it is a KKT point of (5) to rounding:
    stationary with valid subgradients, feasible (q(W') = Q lambda >= 1 where the pattern holds) and
    complementary.  Returns None when the pattern breaks (the region's optimum lies on its boundary)."""
    m, n = Y.shape
    P = Y @ L.T
    s = np.where(P >= 0, 1.0, g)
    A = (y[:, None, None] * a[None, :, None] * s.T[:, :, None]) * L[:, None, :]  # (n, m, n)
    A = A.reshape(n, m * n)
    Q = A @ A.T
    try:
        np.linalg.cholesky(Q)
    except np.linalg.LinAlgError:
        return None
    try:
        lam = solve_nnqp(Q)
    except SolverNotConverged:
        return None  # no polished point: the hunt keeps its unpolished one
    Yp = (A.T @ lam).reshape(m, n)
    Pp = Yp @ L.T
    if not bool(np.all(np.where(s == 1.0, Pp >= 0, Pp <= 0))):
        return None
    qq = margins_of(Yp, L, a, y, g)
    nrm = float(np.linalg.norm(Yp))
    tol = sum_bound(16 * m * n, 1.0)
    return HuntPoint(Y=Yp, margins=qq, normalized=float(qq.min()) / max(nrm, TINY), stationarity=0.0, lam=lam,
                     success=True, polished=True, tol=max(tol, POLISH_TOL))


def kkt_residual(Y: np.ndarray, L: np.ndarray, a: np.ndarray, y: np.ndarray, g: float, margins: np.ndarray,
                 tol: float = HUNT_TOL) -> tuple[float, np.ndarray]:
    """Clarke-KKT residual of min 1/2 ||W||^2 s.t. q_i(W) >= 1 at rows Y (orthonormal span coordinates).

    Stationarity W = sum_i lambda_i grad q_i(W) reads, for the span coefficients B = Y L^{-1}
    (w_k = sum_i B_ki x_i): B_ki = a_k y_i lambda_i phi'(P_ki).  At a kink (|P_ki| <= tol max|P|) phi' may
    be anything in [g, 1] (the Clarke subdifferential), so there B_ki = a_k y_i c_ki with
    g lambda_i <= c_ki <= lambda_i.  Complementarity: lambda_i = 0 where q_i > 1 + tol.  A linear program
    (HiGHS, on B / max|B| so that its feasibility tolerance ~1e-7 is relative) picks lambda >= 0 and the
    kink c's minimizing the largest mismatch; the residual returned is then recomputed exactly from those
    values (c clipped into [g lambda, lambda], lambda into [0, inf)): r = max_ki |B_ki - model_ki| / max|B|.
    Returns (r, lambda)."""
    m, n = Y.shape
    B = np.linalg.solve(L.T, Y.T).T  # y_k = sum_i B_ki L[i], i.e. Y = B L
    P = Y @ L.T
    scale = max(float(np.abs(B).max()), TINY)
    Bs = B / scale
    kink = np.abs(P) <= tol * max(float(np.abs(P).max()), TINY)
    dp = np.where(P >= 0, 1.0, g)
    free = np.asarray(margins) <= 1.0 + tol
    kinks = [(int(k), int(i)) for k, i in np.argwhere(kink)]
    col_of = {ki: n + j for j, ki in enumerate(kinks)}
    nv = n + len(kinks) + 1  # lambda / scale, c / scale (kinks), r
    rows, rhs = [], []
    for k in range(m):
        for i in range(n):
            coef = np.zeros(nv)
            if (k, i) in col_of:
                coef[col_of[(k, i)]] = a[k] * y[i]
            else:
                coef[i] = a[k] * y[i] * dp[k, i]
            for sgn in (1.0, -1.0):  # sgn (Bs - coef.x) <= r
                row = sgn * coef
                row[-1] = -1.0
                rows.append(row)
                rhs.append(sgn * Bs[k, i])
    for (_k, i), col in col_of.items():
        lo, hi = np.zeros(nv), np.zeros(nv)
        lo[i], lo[col] = g, -1.0  # g lambda_i - c <= 0
        hi[col], hi[i] = 1.0, -1.0  # c - lambda_i <= 0
        rows += [lo, hi]
        rhs += [0.0, 0.0]
    bounds = [(0.0, None if free[i] else 0.0) for i in range(n)] + [(None, None)] * len(kinks) + [(0.0, None)]
    cost = np.zeros(nv)
    cost[-1] = 1.0
    res = scipy.optimize.linprog(cost, A_ub=np.array(rows), b_ub=np.array(rhs), bounds=bounds, method="highs")
    if res.status != 0:
        return math.inf, np.zeros(n)
    lam = np.maximum(np.asarray(res.x[:n]), 0.0)
    model = a[:, None] * y[None, :] * lam[None, :] * dp
    for (k, i), col in col_of.items():
        c = min(max(float(res.x[col]), g * lam[i]), lam[i])
        model[k, i] = a[k] * y[i] * c
    return float(np.max(np.abs(Bs - model))), lam * scale


def local_max_margin_solutions(G: np.ndarray, y: np.ndarray, a: np.ndarray, slope: float, starts: int,
                               rng: np.random.Generator, init_scale: tuple[float, float] = (0.1, 3.0)
                               ) -> list[HuntPoint]:
    """Local solutions of min 1/2 ||W||^2 s.t. y_i sum_k a_k phi(<w_k, x_i>) >= 1 (phi(s) = max(slope s, s);
    slope 0 is ReLU) by SLSQP from random starts.  Rows Y (M, n) live in orthonormal coordinates of the
    data span (G = L L^T, x_i = L[i]): the norm-minimal W lies there.  Starts: N(0, s^2 / R_min^2) entries,
    s uniform in ``init_scale``.  Each SLSQP point is polished to the exact KKT point of its activation
    region when that stays in the region (``polish``); otherwise it is kept with its Clarke-KKT residual
    (``kkt_residual``) and judged at the SLSQP tolerance."""
    G = np.asarray(G, dtype=float)
    L = np.linalg.cholesky(G)
    m, n = len(a), len(y)
    g = float(slope)
    unit = 1.0 / math.sqrt(float(np.min(np.diag(G))))

    def q(z: np.ndarray) -> np.ndarray:
        return margins_of(z.reshape(m, n), L, a, y, g)

    def jac(z: np.ndarray) -> np.ndarray:
        P = z.reshape(m, n) @ L.T
        dp = np.where(P >= 0, 1.0, g)
        J = (y[:, None, None] * a[None, :, None] * dp.T[:, :, None]) * L[:, None, :]
        return J.reshape(n, m * n)

    out = []
    for _ in range(starts):
        z0 = rng.standard_normal(m * n) * rng.uniform(*init_scale) * unit
        res = scipy.optimize.minimize(lambda z: 0.5 * float(z @ z), z0, jac=lambda z: z, method="SLSQP",
                                      constraints=[{"type": "ineq", "fun": lambda z: q(z) - 1.0, "jac": jac}],
                                      options={"ftol": 1e-14, "maxiter": 3000})
        z = res.x
        qq = q(z)
        nrm = float(np.linalg.norm(z))
        pol = polish(z.reshape(m, n), L, a, y, g)
        if pol is not None and pol.is_kkt:
            out.append(replace(pol, success=bool(res.success)))
            continue
        stat, lam = kkt_residual(z.reshape(m, n), L, a, y, g, qq)
        out.append(HuntPoint(Y=z.reshape(m, n), margins=qq, normalized=float(qq.min()) / max(nrm, TINY),
                             stationarity=stat, lam=lam, success=bool(res.success)))
    return out


class SolverNotConverged(ArithmeticError):
    """An iterative solver reached its iteration limit without meeting its optimality conditions; its
    iterate is not a solution, and a check built on it cannot judge (outcome ``cannot_judge``)."""


def _active_set(Q: np.ndarray, max_iter: int) -> tuple[np.ndarray, int, bool]:
    """Lawson-Hanson for min 1/2 lambda^T Q lambda - 1^T lambda, lambda >= 0 (Q positive definite).

    Returns (lambda, iterations, converged); converged is True exactly when the loop ended on the KKT test
    (no coordinate off the support with a positive negative gradient), not on ``max_iter``."""
    n = Q.shape[0]
    lam = np.zeros(n)
    P = np.zeros(n, dtype=bool)
    it = 0
    tol = sum_bound(4 * n, 1.0)  # the gradient 1 - Q lambda is O(1): a few ulps times n
    while it < max_iter:
        grad = 1.0 - Q @ lam  # negative gradient; KKT: <= 0 off the support
        cand = np.where(P, -np.inf, grad)
        j = int(np.argmax(cand))
        if not P.all() and cand[j] > tol:
            P[j] = True
        else:
            return lam, it, True
        while it < max_iter:
            it += 1
            idx = np.flatnonzero(P)
            sP = np.zeros(n)
            sP[idx] = scipy.linalg.cho_solve(scipy.linalg.cho_factor(Q[np.ix_(idx, idx)]), np.ones(idx.size))
            if sP[idx].min() > 0:
                lam = sP
                break
            bad = idx[sP[idx] <= 0]
            step = float(np.min(lam[bad] / (lam[bad] - sP[bad])))
            lam = lam + step * (sP - lam)
            P = lam > 0
            lam[~P] = 0.0
    return lam, it, False


def solve_nnqp(Q: np.ndarray) -> np.ndarray:
    """argmin_{lambda >= 0} 1/2 lambda^T Q lambda - 1^T lambda for a positive definite Q (active set);
    :class:`SolverNotConverged` if the active set did not settle within its iteration limit."""
    Q = np.asarray(Q, dtype=np.float64)
    max_iter = 50 * Q.shape[0] + 50
    lam, _, converged = _active_set(0.5 * (Q + Q.T), max_iter=max_iter)
    if not converged:
        raise SolverNotConverged(f"the active-set solver did not converge in {max_iter} iterations (n = {Q.shape[0]})")
    return lam


