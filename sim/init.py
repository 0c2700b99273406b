"""The initialization as the span engine needs it: P(0) = W(0) X^T and K0 = W(0) W(0)^T.

Concrete data: W(0) is drawn (or given) and both are computed from it.  Virtual data (notes §3): with
G = L L^T and X = L Q, W(0) = A Q + B Q_perp with A (M x n), B (M x (d - n)) i.i.d. N(0, sigma0^2), so
P(0) = A L^T and K0 = A A^T + B B^T, where B B^T ~ sigma0^2 Wishart_M(d - n) is drawn directly.
Neurons are ordered positive block first (j = +1), then negative (j = -1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import Dataset
from .errors import require
from .wishart import wishart


@dataclass(frozen=True)
class Init:
    """P0 (M, n) pre-activations at t = 0, K0 (M, M) Gram of the initial weights, W0 (M, d) if concrete."""

    P0: np.ndarray
    K0: np.ndarray
    W0: np.ndarray | None = None

    @classmethod
    def from_weights(cls, W0: np.ndarray, data: Dataset) -> Init:
        require(data.X is not None, "W0", "given only together with a concrete X (virtual data has no W)",
                "W0 with virtual data")
        W0 = np.asarray(W0, dtype=np.float64)
        require(bool(np.all(np.isfinite(W0))), "W0", "finite (no NaN or inf entries)", "non-finite")
        with np.errstate(over="ignore", invalid="ignore"):  # an overflowing init is reported as diverged
            return cls(P0=W0 @ data.X.T, K0=W0 @ W0.T, W0=W0)

    @classmethod
    def from_factors(cls, A: np.ndarray, BBt: np.ndarray, data: Dataset) -> Init:
        """Virtual route on given factors: A = W0 Q^T (M x n) and B B^T = W0 Q_perp^T Q_perp W0^T."""
        return cls(P0=A @ data.L.T, K0=A @ A.T + BBt)

    @property
    def M(self) -> int:
        return self.P0.shape[0]


def sample_init(data: Dataset, widths: tuple[int, int], sigma0: float, rng: np.random.Generator) -> Init:
    """Every entry of W(0) i.i.d. N(0, sigma0^2) (KCG section 3), exactly or in law (virtual data)."""
    M = widths[0] + widths[1]
    if data.X is not None:
        return Init.from_weights(rng.standard_normal((M, data.d)) * sigma0, data)
    A = rng.standard_normal((M, data.n)) * sigma0
    with np.errstate(over="ignore", invalid="ignore"):  # sigma0 above ~1e154: inf, the run diverges at step 0
        var = np.float64(sigma0) ** 2  # (a Python float's ** 2 would raise OverflowError there)
        return Init.from_factors(A, wishart(M, data.d - data.n, rng) * var, data)
