""""There is a constant" claims: the implied constant must stay bounded along GD, not only over the run.

A check of such a claim compares the run's implied constant (a max or min over t) with the declared one.
That cannot see a constant that is still growing at the horizon and would cross the declared value later.
:func:`with_trend` adds the stated trend test ``fitting.bounded_along_t`` on the late window: K(t) is fitted
against log t on the last quarter of the horizon in log t (``TREND_WINDOW``: the slope at the end of the
run), and K(T) is extrapolated at the adverse end of the slope's 95% interval to t = T^2. The
result's margin becomes the smaller of the two. ``where["part"] == "trend"`` says when the trend decided it.
The implied values gain ``<name>_trend_slope``, the interval's ends, ``<name>_extrapolated`` and
``margin_over_run`` (the margin without the trend); ``where`` keeps the run's own worst case.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .fitting import CI_LEVEL, bounded_along_t, late_window
from .result import CheckResult

MIN_TREND_POINTS = 5  # fewer late checkpoints: the trend is not tested (said in the note)
TREND_WINDOW = 0.25  # the last quarter of the horizon in log t: the slope *at the end* of the run (a constant that
# rose early in the usual late half and has since settled must not be extrapolated at its average slope)


def with_trend(res: CheckResult, times: np.ndarray, K: np.ndarray, declared: float, name: str,
               upper: bool = True, log_margin: bool = False, unit: float = 1.0) -> CheckResult:
    """``res`` with the trend test of the per-checkpoint implied constant ``K`` (T,) at ``times`` (T,) added.

    ``upper``: the claim bounds K from above (K <= declared), else from below.  ``log_margin``: the trend's
    margin in the check's own log units, log(declared / K_ext) (upper) or log(K_ext / declared) (lower; -inf
    when K_ext <= 0), instead of the relative (declared - K_ext) / declared.  Non-finite K (a vacuous
    checkpoint) is left out.  Only results that could judge (held or failed) are changed.  ``unit``: time is
    counted as ``unit * times`` (KCG: steps at the step-size bound, ``kcg.regime.step_fraction``), so that
    the window and the extrapolation to T^2 do not depend on where in the regime eta was drawn.
    """
    if res.outcome not in ("held", "failed"):
        return res
    t = np.asarray(times, dtype=float) * unit
    k = np.asarray(K, dtype=float)
    ok = late_window(t, frac=TREND_WINDOW, t_min=2) & np.isfinite(k)
    if int(ok.sum()) < MIN_TREND_POINTS:
        return dataclasses.replace(res, note=(res.note + "; " if res.note else "")
                                   + f"trend not tested ({int(ok.sum())} late checkpoints < {MIN_TREND_POINTS})")
    tr = bounded_along_t(t[ok], k[ok], declared, upper=upper)
    if log_margin:
        if upper:  # K_ext <= 0 is far inside an upper bound
            lm = math.log(declared / tr.K_ext) if tr.K_ext > 0 else math.inf
        else:
            lm = math.log(tr.K_ext / declared) if tr.K_ext > 0 else -math.inf
        tr = tr._replace(margin=lm)
    level = round(100 * CI_LEVEL)
    implied = {**res.implied, f"{name}_trend_slope": tr.slope.b, f"{name}_trend_ci{level}_lo": tr.slope.lo,
               f"{name}_trend_ci{level}_hi": tr.slope.hi, f"{name}_extrapolated": tr.K_ext,
               "margin_over_run": res.implied.get("margin_over_run", res.margin)}  # chained: the first one's
    if math.isnan(res.margin) or tr.margin >= res.margin:  # a failed result with no margin stays failed
        return dataclasses.replace(res, implied=implied)
    # the run's own worst case stays in ``where`` (its part as "part_over_run") and its margin in
    # implied["margin_over_run"]; the note is appended to
    where = {k: v for k, v in res.where.items() if k != "part"}
    if "part" in res.where:
        where["part_over_run"] = res.where["part"]
    where.update({"part": "trend", "trend": name, "t_window": [float(t[ok][0]), float(t[ok][-1])]})
    note = (f"trend: {name}(t) vs log t on the last quarter of log T, slope {tr.slope.b:.3g} "
            f"[{tr.slope.lo:.3g}, {tr.slope.hi:.3g}] ({level}%): {name} extrapolated to t = T^2 is {tr.K_ext:.4g} "
            f"against the declared {declared:g}")
    return CheckResult(res.claim, margin=tr.margin, measured=tr.K_ext, bound=declared, where=where,
                       implied=implied, config=res.config, note=(res.note + "; " if res.note else "") + note,
                       outcome="failed" if res.outcome == "failed" else "")
