"""The losses in logs, overflow- and underflow-free (shared by the papers' checks).

A run's recorded loss L = (1/n) sum_i l(z_i) underflows to 0 once every margin z_i is beyond ~745; its
logarithm, which the rate checks fit, is still exact from the margins (``log_mean_loss``).
"""

from __future__ import annotations

import math

import numpy as np


def softplus(z: float | np.ndarray) -> np.ndarray:
    """log(1 + e^z), overflow-free."""
    return np.logaddexp(0.0, z)


def log_ell(z: float | np.ndarray) -> np.ndarray:
    """log l(z) = log log(1 + e^{-z}) (logistic); for z > 30 through the series -z + log1p(-u/2 + u^2/3),
    u = e^{-z}."""
    z = np.asarray(z, dtype=np.float64)
    big = z > 30.0
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        u = np.exp(-np.where(big, z, 30.0))
        series = -z + np.log1p(-u / 2.0 + u * u / 3.0)
        direct = np.log(softplus(-np.where(big, 0.0, z)))
    return np.where(big, series, direct)


def log_mean(log_v: np.ndarray) -> np.ndarray:
    """log((1/n) sum_i v_i) for each row of ``log_v`` (T, n), from the logs."""
    return np.logaddexp.reduce(log_v, axis=1) - math.log(log_v.shape[1])


def log_mean_loss(margins: np.ndarray, loss: str = "logistic") -> np.ndarray:
    """log((1/n) sum_i l(z_i)) for each row of ``margins`` (T, n): logistic or exponential (l = e^{-z})."""
    z = np.asarray(margins, dtype=np.float64)
    return log_mean(-z if loss == "exponential" else log_ell(z))
