"""Training sets, concrete (X given) or virtual (only G = X X^T, y and d; notes §3).

GD, its pre-activations and the law of the initialization depend on X only through G and d, so a
virtual data set is exact in distribution at any d (10^9 and beyond) at a cost independent of d.
Every data set reports R_min, R_max, R, p and the constants at which each theorem's
near-orthogonality assumption holds with equality (:meth:`Dataset.implied_C`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .config import VIRTUAL_ABOVE_D, DataSpec
from .errors import ConfigError, require
from .wishart import wishart


@dataclass(frozen=True)
class Dataset:
    """G (n, n) Gram matrix, y (n,) labels in {+-1}, ambient dimension d, and X (n, d) if concrete."""

    G: np.ndarray
    y: np.ndarray
    d: int
    X: np.ndarray | None = None
    origin: str = field(default="", compare=False)  # how the data were made, e.g. "adversarial:aligned"
    L: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        G = np.asarray(self.G, dtype=np.float64)
        y = np.asarray(self.y, dtype=np.float64)
        require(G.ndim == 2 and G.shape[0] == G.shape[1], "G", "a square (n, n) matrix", G.shape)
        n = G.shape[0]
        require(n >= 2, "n", "at least 2 data points", n)
        require(bool(np.all(np.isfinite(G))), "G", "finite (no NaN or inf entries)", "non-finite")
        require(np.allclose(G, G.T, rtol=1e-12, atol=0), "G", "symmetric", "an asymmetric matrix")
        require(y.shape == (n,), "y", f"a vector of shape ({n},)", y.shape)
        require(bool(np.all((y == 1) | (y == -1))), "y", "labels in {+1, -1}", np.unique(y).tolist())
        require(bool(np.any(y == 1) and np.any(y == -1)), "y", "labels of both classes",
                f"a single class {int(y[0]):+d}")
        require(isinstance(self.d, int | np.integer) and self.d >= n, "d",
                f"an integer >= n = {n}", self.d)
        try:
            L = np.linalg.cholesky(G)
        except np.linalg.LinAlgError:
            lam = float(np.linalg.eigvalsh(G)[0])
            raise ConfigError(
                f"G must be positive definite (the x_i linearly independent); smallest eigenvalue {lam:.3e}"
            ) from None
        if self.X is not None:
            X = np.asarray(self.X, dtype=np.float64)
            require(X.shape == (n, self.d), "X", f"of shape (n, d) = ({n}, {self.d})", X.shape)
            object.__setattr__(self, "X", X)
        object.__setattr__(self, "G", G)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "d", int(self.d))
        object.__setattr__(self, "L", L)

    # ---- constructors --------------------------------------------------------------------------
    @classmethod
    def from_X(cls, X: np.ndarray, y: np.ndarray) -> Dataset:
        X = np.asarray(X, dtype=np.float64)
        require(X.ndim == 2, "X", "a 2-d array (n, d)", X.shape)
        require(bool(np.all(np.isfinite(X))), "X", "finite (no NaN or inf entries)", "non-finite")
        return cls(G=X @ X.T, y=np.asarray(y), d=X.shape[1], X=X)

    @classmethod
    def virtual(cls, G: np.ndarray, y: np.ndarray, d: int, origin: str = "") -> Dataset:
        return cls(G=np.asarray(G), y=np.asarray(y), d=d, origin=origin)

    # ---- statistics (claims.md, "Settings") ----------------------------------------------------
    @property
    def n(self) -> int:
        return self.G.shape[0]

    @property
    def is_virtual(self) -> bool:
        return self.X is None

    @property
    def norms2(self) -> np.ndarray:
        return np.diag(self.G).copy()

    @property
    def R_min(self) -> float:
        return math.sqrt(float(np.min(np.diag(self.G))))

    @property
    def R_max(self) -> float:
        return math.sqrt(float(np.max(np.diag(self.G))))

    @property
    def R(self) -> float:
        return self.R_max / self.R_min

    @property
    def p(self) -> float:
        """max_{i != k} |<x_i, x_k>|."""
        off = np.abs(self.G - np.diag(np.diag(self.G)))
        return float(off.max())

    @property
    def p_ratio(self) -> float:
        """p / R_min^2."""
        return self.p / self.R_min**2

    def implied_C(self, gamma: float | None = None) -> dict[str, float]:
        """The constant C at which each near-orthogonality assumption holds with equality.

        * ``KCG-4.1``: R_min^2 >= C R^2 gamma^{-4} n p  (Thm 4.1), so C = R_min^2 gamma^4 / (R^2 n p);
        * ``KCG-4.3``: R_min^2 >= C R^2 n p  (Thm 4.3), so C = R_min^2 / (R^2 n p);
        * ``FVB-7``:  p <= gamma^3 R_min^2 / (3 R^2 n)  (FVB condition (7), as the catalogue's
          FVB-3.2a states it): the ratio gamma^3 R_min^2 / (3 R^2 n p), which must be >= 1.
        A data set with p = 0 gives inf.  Keys needing gamma are omitted when it is None.
        """
        n, p, R, r2 = self.n, self.p, self.R, self.R_min**2
        base = math.inf if p == 0 else r2 / (R**2 * n * p)
        out = {"KCG-4.3": base}
        if gamma is not None:
            out["KCG-4.1"] = base * gamma**4
            out["FVB-7"] = base * gamma**3 / 3.0
        return out

    def summary(self, gamma: float | None = None) -> dict[str, float]:
        s = {"n": self.n, "d": self.d, "R_min": self.R_min, "R_max": self.R_max, "R": self.R,
             "p": self.p, "p/R_min^2": self.p_ratio}
        s.update({f"C[{k}]": v for k, v in self.implied_C(gamma).items()})
        return s


# ---- generators ------------------------------------------------------------------------------

def labels(n: int, rng: np.random.Generator, kind: str = "balanced") -> np.ndarray:
    """Balanced (n//2 negatives, shuffled) or i.i.d. random labels with both classes present."""
    require(n >= 2, "n", "an integer >= 2", n)
    if kind == "balanced":
        y = np.ones(n)
        y[: n // 2] = -1.0
        return rng.permutation(y)
    while True:
        y = rng.choice([-1.0, 1.0], size=n)
        if np.any(y == 1) and np.any(y == -1):
            return y


def gaussian_mixture(n: int, d: int, rng: np.random.Generator, sigma_mu: float = 1e-2,
                     sigma_p: float = 1.0, virtual: bool = False, label_kind: str = "balanced") -> Dataset:
    """x_i = y_i mu + xi_i, mu ~ N(0, sigma_mu^2 I_d), xi_i ~ N(0, sigma_p^2 I_d) (KCG section 6).

    Virtual: the Gram matrix of (mu, xi_1..xi_n) is Wishart_{n+1}(d, diag(sigma_mu^2, sigma_p^2, ...)),
    and G = B H B^T with B = [y | I_n]; exact in law, any d.
    """
    y = labels(n, rng, label_kind)
    if not virtual:
        mu = rng.standard_normal(d) * sigma_mu
        X = y[:, None] * mu[None, :] + rng.standard_normal((n, d)) * sigma_p
        return Dataset.from_X(X, y)
    scale = np.concatenate([[sigma_mu], np.full(n, sigma_p)])
    H = wishart(n + 1, d, rng) * np.outer(scale, scale)
    B = np.concatenate([y[:, None], np.eye(n)], axis=1)
    return Dataset.virtual(B @ H @ B.T, y, d)


def iid_gaussian(n: int, d: int, rng: np.random.Generator, sigma: float = 1.0,
                 virtual: bool = False, label_kind: str = "balanced") -> Dataset:
    """x_i ~ N(0, sigma^2 I_d) i.i.d.; virtual: G ~ sigma^2 Wishart_n(d, I)."""
    y = labels(n, rng, label_kind)
    if not virtual:
        return Dataset.from_X(rng.standard_normal((n, d)) * sigma, y)
    return Dataset.virtual(wishart(n, d, rng) * sigma**2, y, d)


def orthogonal(n: int, d: int, rng: np.random.Generator, norms: np.ndarray | float = 1.0,
               virtual: bool = False, label_kind: str = "balanced") -> Dataset:
    """Mutually orthogonal points (p = 0) with the given norms; concrete X has random orthonormal rows."""
    y = labels(n, rng, label_kind)
    r = np.broadcast_to(np.asarray(norms, dtype=np.float64), (n,))
    if not virtual:
        Q, _ = np.linalg.qr(rng.standard_normal((d, n)))
        return Dataset.from_X(r[:, None] * Q.T, y)
    return Dataset.virtual(np.diag(r**2), y, d)


def equicorrelated_gram(y: np.ndarray, R_min: float, p_ratio: float, pattern: str = "labels") -> np.ndarray:
    """G = R_min^2 ((1 - c) I + c S), c = p_ratio, S = y y^T ("labels": same-class points correlate
    positively) or the all-ones matrix ("ones").  Every off-diagonal |G_ik| = p = c R_min^2."""
    require(0 <= p_ratio < 1, "p_ratio", "in [0, 1)", p_ratio)
    S = np.outer(y, y) if pattern == "labels" else np.ones((len(y), len(y)))
    return R_min**2 * ((1 - p_ratio) * np.eye(len(y)) + p_ratio * S)


def nearly_orthogonal_gram(n: int, rng: np.random.Generator, p_ratio: float, norm_ratio: float = 1.0,
                           R_min: float = 1.0) -> np.ndarray:
    """A random Gram matrix with prescribed p / R_min^2 and R = R_max / R_min.

    Squared norms: R_min^2, (norm_ratio R_min)^2 and the rest uniform in between (for n >= 2 both ends
    are attained, so R is exact).  Off-diagonals uniform in [-p, p] with one pair at exactly +-p.
    Raises when the result is not positive definite (p_ratio too large for n).
    """
    require(norm_ratio >= 1, "norm_ratio", ">= 1", norm_ratio)
    require(0 <= p_ratio < 1, "p_ratio", "in [0, 1)", p_ratio)
    r2 = R_min**2 * rng.uniform(1.0, norm_ratio**2, size=n)
    r2[0], r2[-1] = R_min**2, (norm_ratio * R_min) ** 2
    r2 = rng.permutation(r2)
    p = p_ratio * R_min**2
    off = rng.uniform(-p, p, size=(n, n))
    off = np.triu(off, 1)
    if n >= 2 and p > 0:
        i, k = sorted(rng.choice(n, size=2, replace=False))
        off[i, k] = p * rng.choice([-1.0, 1.0])
    G = off + off.T + np.diag(r2)
    return G


def make_dataset(spec: DataSpec, n: int, d: int, rng: np.random.Generator) -> Dataset:
    """Draw the data set a :class:`~sim.config.DataSpec` describes."""
    virtual = spec.virtual if spec.virtual is not None else d > VIRTUAL_ABOVE_D
    if spec.kind == "gaussian_mixture":
        return gaussian_mixture(n, d, rng, spec.sigma_mu, spec.sigma_p, virtual, spec.labels)
    if spec.kind == "iid_gaussian":
        return iid_gaussian(n, d, rng, spec.sigma_p, virtual, spec.labels)
    norm = spec.sigma_p * math.sqrt(d)
    if spec.kind == "orthogonal":
        return orthogonal(n, d, rng, norm, virtual, spec.labels)
    y = labels(n, rng, spec.labels)
    if spec.kind == "equicorrelated":
        G = equicorrelated_gram(y, norm, spec.p_ratio)
    else:
        G = nearly_orthogonal_gram(n, rng, spec.p_ratio, spec.norm_ratio, norm)
    if virtual:
        return Dataset.virtual(G, y, d)
    return Dataset.from_X(realize(G, d, rng), y)


def realize(G: np.ndarray, d: int, rng: np.random.Generator) -> np.ndarray:
    """A concrete X (n, d) with X X^T = G: X = L Q, Q with random orthonormal rows."""
    G = np.asarray(G, dtype=np.float64)
    require(d >= G.shape[0], "d", f">= n = {G.shape[0]}", d)
    try:
        L = np.linalg.cholesky(G)
    except np.linalg.LinAlgError:
        raise ConfigError("G must be positive definite to be realized as X X^T") from None
    Q, _ = np.linalg.qr(rng.standard_normal((d, G.shape[0])))
    return L @ Q.T
