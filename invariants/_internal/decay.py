"""Rate check for limits along GD: a deviation e(t) from the limit decays like c (ln t)^-beta."""

from __future__ import annotations

import math

import numpy as np

from .fitting import fit_linear, fit_power, late_window
from .result import CheckResult

BETA_MIN = 0.5    # limit claims along GD: deviation ~ (ln t)^-beta with beta >= BETA_MIN
WINDOW = 0.5      # late window: last half of ln T
MIN_POINTS = 4
FLAT = 1e-12       # a deviation below this (relative) over the whole late window is "at the limit already"

BETA_MIN = 0.5    # limit claims along GD: deviation ~ (ln t)^-beta with beta >= BETA_MIN


WINDOW = 0.5      # late window: last half of ln T


MIN_POINTS = 4


FLAT = 1e-12       # a deviation below this (relative) over the whole late window is "at the limit already"


def decay_check(claim: str, times: np.ndarray, e: np.ndarray, config: dict[str, object],
                extra: dict[str, float], beta_min: float = BETA_MIN, window: float = WINDOW,
                note: str = "") -> CheckResult:
    """Rate check: e(t) ~ c (ln t)^-beta on the late window, margin beta - beta_min."""
    t = np.asarray(times, dtype=float)
    ok = np.isfinite(e) & (t >= 2)
    late = late_window(t, window, t_min=2) & ok
    if late.sum() < MIN_POINTS:
        return CheckResult(claim, math.nan, math.nan, beta_min, config=config, implied=extra,
                           outcome="too_short", note=f"{int(late.sum())} late checkpoints (< {MIN_POINTS})")
    el, tl = e[late], t[late]
    lnT = math.log(tl[-1])
    implied = {"e(T)": float(el[-1]), "c = e(T) ln T": float(el[-1] * lnT), **extra}
    if float(np.max(np.abs(el))) <= FLAT:
        return CheckResult(claim, margin=1.0, measured=math.inf, bound=beta_min, implied=implied,
                           config=config,
                           note="deviation below 1e-12 over the late window: at the limit to rounding")
    if np.any(el <= 0):
        return CheckResult(claim, math.nan, math.nan, beta_min, config=config, implied=implied,
                           outcome="too_short", note="a non-positive deviation in the late window")
    _, beta = fit_power(np.log(tl), el)
    e_inf, c = fit_linear(1.0 / np.log(tl), el)
    implied.update({"beta": beta, "e_inf (fit e_inf + c/ln t)": e_inf, "c (fit)": c})
    return CheckResult(claim, margin=beta - beta_min, measured=beta, bound=beta_min,
                       where={"t_window": [float(tl[0]), float(tl[-1])]}, implied=implied, config=config,
                       note=note or "deviation ~ c (ln t)^-beta on the late window")


