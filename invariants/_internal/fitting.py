"""Shared numerics for rate claims: late windows of log-spaced checkpoints and least-squares fits."""

from __future__ import annotations

import numpy as np


def late_window(times: np.ndarray, frac: float = 0.5, t_min: int = 1) -> np.ndarray:
    """Boolean mask of checkpoints in the last ``frac`` of the horizon measured in log t.

    With log-spaced checkpoints t in [1, T], the window is log t >= (1 - frac) log T (and t >= t_min).
    """
    t = np.asarray(times, dtype=float)
    T = t.max()
    if T <= 1:
        return t >= t_min
    return (t >= max(t_min, 1)) & (np.log(np.maximum(t, 1)) >= (1 - frac) * np.log(T))


def fit_linear(x: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """Least squares v ~ a + b x; returns (a, b)."""
    A = np.stack([np.ones_like(x), x], axis=1)
    (a, b), *_ = np.linalg.lstsq(A, v, rcond=None)
    return float(a), float(b)


def fit_log_growth(times: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """v ~ a + b log t (the Theta(log t) claims); returns (a, b)."""
    return fit_linear(np.log(np.asarray(times, dtype=float)), np.asarray(v, dtype=float))


def fit_power(times: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """v ~ c t^{-alpha}, fitted on log-log axes; returns (log c, alpha)."""
    a, b = fit_linear(np.log(np.asarray(times, dtype=float)), np.log(np.asarray(v, dtype=float)))
    return a, -b
