"""Norms and stable ranks of the weights without forming W (notes §2).

With Z the raw coefficients (w_k(t) = w_k(0) + sum_i Z[k, i] x_i), P0 = W(0) X^T and K0 = W(0) W(0)^T:

    W W^T = K0 + P0 Z^T + Z P0^T + Z G Z^T.

StableRank(W_j) = trace(W_j W_j^T) / lambda_max(W_j W_j^T) (claims.md, "Settings").
"""

from __future__ import annotations

import numpy as np


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
