"""Shared numerics for rate claims: late windows of log-spaced checkpoints and least-squares fits."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def late_window(times: np.ndarray, frac: float = 0.5, t_min: int = 1) -> np.ndarray:
    """Boolean mask of checkpoints in the last ``frac`` of the horizon measured in log t.

    With log-spaced checkpoints t in [1, T], the window is log t >= (1 - frac) log T (and t >= t_min).
    """
    t = np.asarray(times, dtype=float)
    T = t.max()
    if T <= 1:
        return t >= t_min
    # 1e-12: a checkpoint exactly at the window's edge (t = sqrt(T) on log-spaced grids) is in on every machine,
    # whatever the last bit of np.log
    return (t >= max(t_min, 1)) & (np.log(np.maximum(t, 1)) >= (1 - frac) * np.log(T) - 1e-12)


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


CI_LEVEL = 0.95  # the stated level of every fitted exponent's and trend's confidence interval


class LinearFit(NamedTuple):
    """v ~ a + b x by least squares, with the ``level`` Student-t interval [lo, hi] of the slope b."""

    a: float
    b: float
    lo: float
    hi: float
    se: float
    level: float


def fit_linear_ci(x: np.ndarray, v: np.ndarray, level: float = CI_LEVEL) -> LinearFit:
    """Least squares v ~ a + b x and the two-sided ``level`` confidence interval of b: b +- t_{k-2} se, with
    se^2 = (sum of squared residuals / (k - 2)) / sum (x - mean x)^2 (the textbook OLS interval).

    On a GD trajectory the residuals are the deterministic misfit of the model over the window, not noise:
    the interval states how well one exponent (one slope) describes the whole window, so that a rate
    asserted at the interval's conservative end holds for every slope the window is consistent with.
    With k = 2 points the interval is unbounded ([-inf, inf]); an exact fit gives lo = hi = b.
    """
    from scipy.stats import t as student_t

    x = np.asarray(x, dtype=float)
    v = np.asarray(v, dtype=float)
    a, b = fit_linear(x, v)
    k = len(x)
    sxx = float(np.sum((x - x.mean()) ** 2))
    if k <= 2 or sxx == 0.0:
        return LinearFit(a, b, -np.inf, np.inf, np.inf, level)
    ssr = float(np.sum((v - a - b * x) ** 2))
    se = float(np.sqrt(ssr / (k - 2) / sxx))
    half = float(student_t.ppf(0.5 + level / 2, k - 2)) * se
    return LinearFit(a, b, b - half, b + half, se, level)


def fit_power_ci(times: np.ndarray, v: np.ndarray, level: float = CI_LEVEL) -> LinearFit:
    """v ~ c t^{-alpha} on log-log axes: the fit of log v on log t with the slope's interval, returned for the
    exponent alpha = -slope (so ``b`` is alpha and [lo, hi] its interval)."""
    return fit_power_ci_log(times, np.log(np.asarray(v, dtype=float)), level)


def fit_power_ci_log(times: np.ndarray, log_v: np.ndarray, level: float = CI_LEVEL) -> LinearFit:
    """``fit_power_ci`` given log v (where v itself underflows, e.g. a loss computed in log space)."""
    f = fit_linear_ci(np.log(np.asarray(times, dtype=float)), np.asarray(log_v, dtype=float), level)
    return LinearFit(f.a, -f.b, -f.hi, -f.lo, f.se, level)


class Trend(NamedTuple):
    """An implied constant K(t) over the late window, tested for staying bounded (``bounded_along_t``)."""

    margin: float  # >= 0: the extrapolation stays within the declared constant
    slope: LinearFit  # K against log t
    K_end: float  # K at the last checkpoint
    K_ext: float  # K extrapolated at the interval's adverse end to t = T^2


def bounded_along_t(times: np.ndarray, K: np.ndarray, declared: float, upper: bool = True,
                    level: float = CI_LEVEL) -> Trend:
    """The stated test that an implied constant stays bounded: fit K(t) = a + b log t on the late window
    (``times``, t >= 2) with the ``level`` interval of b, and extrapolate from K(T) at the interval's adverse
    end to t = T^2 (log t doubled: what a run twice as long in log t would reach):
    K_ext = K(T) + max(hi, 0) log T for an upper bound (min(lo, 0) for a lower one).  A constant that has
    converged has no adverse trend left and K_ext ~ K(T); one still converging overshoots its limit (for
    K_inf - a/log t, K_ext ~ K_inf + a/(3 log T): the window's average slope is ~4/3 of the slope at T; for
    K_inf - a t^-1/2 by ~4a T^-3/8), so a declared constant within that distance of the limit fails --
    conservative by design; one that keeps growing like log^eps t is projected past the declared value.
    The residuals are the model's deterministic misfit, so the "95%" is nominal (the half-width shrinks as
    1/sqrt(checkpoints)).  Margin: (declared - K_ext) / declared for an upper
    bound, (K_ext - declared) / declared for a lower one.
    """
    t = np.asarray(times, dtype=float)
    k = np.asarray(K, dtype=float)
    fit = fit_linear_ci(np.log(t), k, level)
    lnT = float(np.log(t[-1]))
    end = float(k[-1])
    if upper:
        ext = end + max(fit.hi, 0.0) * lnT
        margin = (declared - ext) / declared
    else:
        ext = end + min(fit.lo, 0.0) * lnT
        margin = (ext - declared) / declared
    return Trend(float(margin), fit, end, float(ext))
