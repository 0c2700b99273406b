"""The convex program of FVB Theorem 3.2 (review ``seeds/002``, eq. (11)) and its dual, solved exactly.

Setting (claims.md, "FVB network"): f(x; W) = sum_j a_j phi(<w_j, x>), a_j = +1/sqrt(m) on m1 rows v_j,
-1/sqrt(m) on m2 rows u_j, phi(z) = max(gamma z, z).  FVB Thm 3.2 (item 3) says that under condition (7)
the rows of every KKT point of min 1/2 ||W||^2 s.t. y_i f(x_i; W) >= 1 are v_j = v, u_j = u with (v, u)
the unique solution of

    min_{v,u}  (m1/2) ||v||^2 + (m2/2) ||u||^2
    s.t.  i in I+ :  (m1/sqrt m) <v, x_i> - gamma (m2/sqrt m) <u, x_i> >= 1,
          i in I- :  (m2/sqrt m) <u, x_i> - gamma (m1/sqrt m) <v, x_i> >= 1.                      (11)

Write s_i = 1 on I+, -gamma on I-, and t_i = 1 on I-, -gamma on I+.  Both constraint families are then
c_i(v, u) = (m1/sqrt m) s_i <v, x_i> + (m2/sqrt m) t_i <u, x_i> >= 1.  The Lagrangian's stationarity gives

    v = (1/sqrt m) sum_i lambda_i s_i x_i,     u = (1/sqrt m) sum_i lambda_i t_i x_i,             (10)

which is the review's eq. (10) (v = (1/sqrt m)(sum_{I+} lambda_i x_i - gamma sum_{I-} lambda_i x_i), u
likewise), and c(v, u) = Q lambda with the n x n positive definite matrix

    Q = (m1/m) diag(s) G diag(s) + (m2/m) diag(t) G diag(t),      G = X X^T.

The dual is the nonnegative quadratic program min_{lambda >= 0} 1/2 lambda^T Q lambda - 1^T lambda, i.e.
the linear complementarity problem  lambda >= 0,  w = Q lambda - 1 >= 0,  lambda_i w_i = 0.  Everything is
a function of the Gram matrix G alone: (v, u) are returned as coefficient vectors in the data span
(v = sum_i alpha_i x_i, u = sum_i beta_i x_i), so virtual data (any d) work.

Solver: a Lawson-Hanson active-set method on the dual (finite termination; every iterate solves the
equality-constrained subproblem Q_PP lambda_P = 1_P exactly by a Cholesky solve), cross-checked in the tests
against ``scipy.optimize.nnls`` on the Cholesky form 1/2 ||L^T lambda - L^{-1} 1||^2.  The KKT residuals
(primal feasibility, dual feasibility, complementarity, duality gap) are reported by
:meth:`MaxMarginSolution.kkt` and compared with a float64 bound (``invariants.tolerance``) by the checks.

gamma = 0 (ReLU) is allowed: the program is then the max-margin problem of the ReLU network restricted to
the sign pattern sign <v, x_i> = y_i, sign <u, x_i> = -y_i (used only as a comparison).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize

from .._internal.kkt import SolverNotConverged, _active_set, solve_nnqp  # noqa: F401  (SolverNotConverged, solve_nnqp re-exported)
from .._internal.tolerance import sum_bound


def sign_vectors(y: np.ndarray, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """s_i = 1 on I+ and -gamma on I-; t_i = 1 on I- and -gamma on I+."""
    y = np.asarray(y, dtype=np.float64)
    return np.where(y > 0, 1.0, -gamma), np.where(y < 0, 1.0, -gamma)


def program_matrix(G: np.ndarray, y: np.ndarray, gamma: float, m1: int, m2: int) -> np.ndarray:
    """Q = (m1/m) diag(s) G diag(s) + (m2/m) diag(t) G diag(t), so that c(v, u) = Q lambda under (10)."""
    s, t = sign_vectors(y, gamma)
    m = m1 + m2
    Q = (m1 / m) * np.outer(s, s) * G + (m2 / m) * np.outer(t, t) * G
    return 0.5 * (Q + Q.T)


@dataclass(frozen=True)
class MaxMarginSolution:
    """The solution of (11) and its multipliers, in the data span.

    lam: (n,) dual variables lambda_i >= 0 (the multipliers of Thm 3.2 / FVB-3.2c).
    alpha, beta: (n,) v = sum_i alpha_i x_i, u = sum_i beta_i x_i, i.e. alpha = lam s / sqrt m,
        beta = lam t / sqrt m (eq. (10)).
    """

    G: np.ndarray
    y: np.ndarray
    gamma: float
    m1: int
    m2: int
    Q: np.ndarray
    lam: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    iterations: int
    method: str = "active-set"

    # ---- sizes and the network's constants -------------------------------------------------------
    @property
    def n(self) -> int:
        return int(self.G.shape[0])

    @property
    def m(self) -> int:
        return self.m1 + self.m2

    @property
    def c1(self) -> float:
        """m1 / sqrt m: the total second-layer weight of the positive block."""
        return self.m1 / math.sqrt(self.m)

    @property
    def c2(self) -> float:
        """m2 / sqrt m."""
        return self.m2 / math.sqrt(self.m)

    # ---- primal quantities -----------------------------------------------------------------------
    @property
    def v_x(self) -> np.ndarray:
        """(n,) <v, x_i> = (G alpha)_i."""
        return self.G @ self.alpha

    @property
    def u_x(self) -> np.ndarray:
        """(n,) <u, x_i> = (G beta)_i."""
        return self.G @ self.beta

    @property
    def vv(self) -> float:
        return float(self.alpha @ self.G @ self.alpha)

    @property
    def uu(self) -> float:
        return float(self.beta @ self.G @ self.beta)

    @property
    def uv(self) -> float:
        return float(self.alpha @ self.G @ self.beta)

    @property
    def norm2(self) -> float:
        """||W*||_F^2 = m1 ||v||^2 + m2 ||u||^2 (= lambda^T Q lambda = sum_i lambda_i at the optimum)."""
        return self.m1 * self.vv + self.m2 * self.uu

    @property
    def constraints(self) -> np.ndarray:
        """(n,) c_i(v, u) of (11), computed from (v, u): (m1/sqrt m) s_i <v,x_i> + (m2/sqrt m) t_i <u,x_i>."""
        s, t = sign_vectors(self.y, self.gamma)
        return self.c1 * s * self.v_x + self.c2 * t * self.u_x

    @property
    def slack(self) -> np.ndarray:
        """(n,) w = Q lambda - 1 (the dual's gradient; >= 0 is primal feasibility)."""
        return self.Q @ self.lam - 1.0

    def network_margins(self, slope: float | None = None) -> np.ndarray:
        """(n,) y_i f(x_i; W*) of the network with rows v (m1 times) and u (m2 times), evaluated with the
        activation max(slope z, z) on the actual pre-activations (slope defaults to the program's gamma)."""
        g = self.gamma if slope is None else slope

        def phi(z: np.ndarray) -> np.ndarray:
            return np.maximum(z, 0.0) + g * np.minimum(z, 0.0)

        return self.y * (self.c1 * phi(self.v_x) - self.c2 * phi(self.u_x))

    @property
    def z_coef(self) -> np.ndarray:
        """(n,) coefficients of z = (m1/sqrt m) v - (m2/sqrt m) u (Thm 3.2 item 4) in the data span."""
        return self.c1 * self.alpha - self.c2 * self.beta

    def rows_coef(self) -> np.ndarray:
        """(m, n) raw span coefficients of W*'s rows (positive block first): alpha m1 times, beta m2 times."""
        return np.vstack([np.tile(self.alpha, (self.m1, 1)), np.tile(self.beta, (self.m2, 1))])

    def row_gram(self) -> np.ndarray:
        """(m, m) W* W*^T."""
        Z = self.rows_coef()
        return Z @ self.G @ Z.T

    # ---- optimality --------------------------------------------------------------------------------
    @property
    def scale(self) -> float:
        """max_i sum_k |Q_ik| lambda_k: the size of the terms of c = Q lambda (for rounding bounds)."""
        return float(np.max(np.abs(self.Q) @ np.abs(self.lam)))

    @property
    def tolerance(self) -> float:
        """Float64 bound on |c_i - (Q lambda)_i| and on the residual of the final Cholesky solve:
        ``sum_bound(4 n, scale)`` -- n products per entry of Q lambda, a backward-stable n x n solve
        (residual <= c n eps ||Q|| ||lambda||), and the three products that form an entry of Q."""
        return sum_bound(4 * self.n, max(self.scale, 1.0))

    def kkt(self) -> dict[str, float]:
        """Residuals of the KKT conditions of (11), each >= 0 (0 at an exact solution):
        primal: max(0, -min_i w_i) (w = c - 1 computed from (v, u)); dual: max(0, -min lambda) / max lambda;
        complementarity: max_i |lambda_i w_i| / max lambda; gap: |primal - dual objective| / primal, where
        primal = 1/2 ||W*||^2 and dual = sum lambda - 1/2 lambda^T Q lambda.  Stationarity holds by
        construction ((v, u) are defined from lambda by (10))."""
        w = self.constraints - 1.0
        lmax = max(float(self.lam.max()), np.finfo(float).tiny)
        primal = 0.5 * self.norm2
        dual = float(self.lam.sum()) - 0.5 * float(self.lam @ self.Q @ self.lam)
        return {
            "primal": max(0.0, -float(w.min())),
            "dual": max(0.0, -float(self.lam.min())) / lmax,
            "complementarity": float(np.max(np.abs(self.lam * w))) / lmax,
            "gap": abs(primal - dual) / max(primal, np.finfo(float).tiny),
        }

    @property
    def active(self) -> np.ndarray:
        """(n,) lambda_i > 0."""
        return self.lam > 0






def solve_program(G: np.ndarray, y: np.ndarray, gamma: float, m1: int, m2: int,
                  max_iter: int | None = None) -> MaxMarginSolution:
    """Solve (11) through its dual by the active-set method; (v, u) from (10).

    :class:`SolverNotConverged` when the active set does not settle within ``max_iter`` iterations (the
    default 50 n + 50): the iterate it stopped at is not returned as if it were the solution."""
    G = np.asarray(G, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not (0.0 <= gamma < 1.0):
        raise ValueError(f"gamma must be in [0, 1); got {gamma!r}")
    if m1 < 1 or m2 < 1:
        raise ValueError(f"m1, m2 must be >= 1; got {(m1, m2)}")
    Q = program_matrix(G, y, gamma, m1, m2)
    limit = 50 * G.shape[0] + 50 if max_iter is None else max_iter
    lam, it, converged = _active_set(Q, max_iter=limit)
    if not converged:
        raise SolverNotConverged(f"FVB program (11): the active-set solver did not converge in {limit} iterations "
                                 f"(n = {G.shape[0]}, gamma = {gamma}, m1 = {m1}, m2 = {m2})")
    return _solution(G, y, gamma, m1, m2, Q, lam, it, "active-set")


def _solution(G: np.ndarray, y: np.ndarray, gamma: float, m1: int, m2: int, Q: np.ndarray, lam: np.ndarray,
              it: int, method: str) -> MaxMarginSolution:
    s, t = sign_vectors(y, gamma)
    m = m1 + m2
    return MaxMarginSolution(G=G, y=y, gamma=float(gamma), m1=m1, m2=m2, Q=Q, lam=lam,
                             alpha=lam * s / math.sqrt(m), beta=lam * t / math.sqrt(m), iterations=it,
                             method=method)


def solve_program_nnls(G: np.ndarray, y: np.ndarray, gamma: float, m1: int, m2: int) -> MaxMarginSolution:
    """The same dual through ``scipy.optimize.nnls``: with Q = L L^T,
    1/2 lambda^T Q lambda - 1^T lambda = 1/2 ||L^T lambda - L^{-1} 1||^2 - const."""
    G = np.asarray(G, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    Q = program_matrix(G, y, gamma, m1, m2)
    L = np.linalg.cholesky(Q)
    b = scipy.linalg.solve_triangular(L, np.ones(len(y)), lower=True)
    lam, _ = scipy.optimize.nnls(L.T, b)
    return _solution(G, y, gamma, m1, m2, Q, lam, 0, "nnls")


def solve_primal_slsqp(G: np.ndarray, y: np.ndarray, gamma: float, m1: int, m2: int) -> np.ndarray:
    """(11) solved directly in the primal, independently of the dual: in orthonormal coordinates of the data
    span (G = L L^T, x_i = row i of L) with SLSQP.  Returns (2, n) span coefficients (alpha, beta).
    Accurate to the solver's tolerance (~1e-9 relative), not to rounding."""
    G = np.asarray(G, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, m = len(y), m1 + m2
    L = np.linalg.cholesky(G)
    s, t = sign_vectors(y, gamma)
    c1, c2 = m1 / math.sqrt(m), m2 / math.sqrt(m)
    A = np.hstack([c1 * s[:, None] * L, c2 * t[:, None] * L])  # c(v, u) = A [v; u] in coordinates
    wts = np.concatenate([np.full(n, m1), np.full(n, m2)]).astype(float)
    x0 = np.linalg.lstsq(A, np.ones(n) * 1.5, rcond=None)[0]
    res = scipy.optimize.minimize(lambda z: 0.5 * float(wts @ z**2), x0, jac=lambda z: wts * z,
                                  constraints=[{"type": "ineq", "fun": lambda z: A @ z - 1.0,
                                                "jac": lambda z: A}],
                                  method="SLSQP", options={"ftol": 1e-16, "maxiter": 1000})
    vc, uc = res.x[:n], res.x[n:]
    # coordinates -> span coefficients: v = L^T-coordinates; v = sum_i alpha_i x_i = L^T alpha
    alpha = scipy.linalg.solve_triangular(L.T, vc, lower=False)
    beta = scipy.linalg.solve_triangular(L.T, uc, lower=False)
    return np.stack([alpha, beta])
