"""Plots for notebooks: each takes a Trajectory (or a list of CheckResult) and an optional matplotlib
``ax``, draws on it and returns it.  The report draws its run figures with these.  matplotlib is imported
when a function is called, and the backend is left as the caller set it (the report picks Agg itself).

    from invariants.plots import stable_rank, loss, margin_spread, limit_angle, margins
    ax = stable_rank(traj); loss(traj); limit_angle(traj); margins(check(traj))
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim import Trajectory

from ._internal.fitting import fit_power, late_window
from ._internal.limit import LimitDirection, limit_direction
from ._internal.result import CheckResult


def _ax(ax: Any) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6.5, 4.5))[1]


def stable_rank(traj: Trajectory, ax: Any = None, label: str = "", minus_one: bool | None = None) -> Any:
    """StableRank(W_j(t)) per sign against log t; ``minus_one`` (default: leaky ReLU) plots SR - 1 on a log
    axis, the form of Thm 4.1's O(1/log t)."""
    ax = _ax(ax)
    t = traj.times[1:]
    minus = traj.config.activation == "leaky_relu" if minus_one is None else minus_one
    for col, style, sign in ((0, "-", "W+1"), (1, "--", "W-1")):
        v = traj.stable_rank[1:, col]
        if minus:
            ax.semilogy(np.log(t), v - 1, style, label=f"{label}: {sign}" if label else sign)
        else:
            ax.plot(np.log(t), v, style, label=f"{label}: {sign}" if label else sign)
    ax.set_xlabel("log t")
    ax.set_ylabel("stable rank - 1" if minus else "stable rank")
    return ax


def loss(traj: Trajectory, ax: Any = None, label: str = "", theorem_alpha: float | None = None) -> Any:
    """The training loss on log-log axes, labelled with its fitted late-window exponent (and the theorem's)."""
    ax = _ax(ax)
    w = late_window(traj.times) & (traj.times > 0)
    _, alpha = fit_power(traj.times[w], traj.loss[w])
    thm = "" if theorem_alpha is None or not math.isfinite(theorem_alpha) else f", thm >= {theorem_alpha:.3f}"
    ax.loglog(traj.times[1:], traj.loss[1:], label=f"{label + ': ' if label else ''}fit alpha={alpha:.3f}{thm}")
    ax.set_xlabel("t")
    ax.set_ylabel("training loss")
    return ax


def margin_spread(traj: Trajectory, ax: Any = None, label: str = "") -> Any:
    """max_i / min_i of the margins y_i f(W(t), x_i) against t (KCG-MRG: -> 1 for leaky ReLU)."""
    ax = _ax(ax)
    ok = traj.margins.min(axis=1) > 0
    ax.semilogx(traj.times[ok], traj.margins[ok].max(axis=1) / traj.margins[ok].min(axis=1), label=label or None)
    ax.set_xlabel("t")
    ax.set_ylabel("max_i / min_i margin")
    return ax


def limit_angle(traj: Trajectory, ax: Any = None, lim: LimitDirection | None = None, label: str = "") -> Any:
    """GD's angle to its limit direction W* (``invariants.limit_direction``) against log t, log scale."""
    ax = _ax(ax)
    lim = limit_direction(traj, settle=500) if lim is None else lim
    ok = (traj.times > 0) & np.isfinite(lim.angle) & (lim.angle > 0)
    kind = "certified" if lim.certified else ("KKT point" if lim.kkt_point else "no limit")
    ax.semilogy(np.log(traj.times[ok]), lim.angle[ok], label=f"{label + ': ' if label else ''}{kind}")
    ax.set_xlabel("log t")
    ax.set_ylabel("angle(W(t), W*) [rad]")
    return ax


def margins(results: list[CheckResult], ax: Any = None) -> Any:
    """The results' margins as horizontal bars (green held, red failed, grey undecided), symlog scale."""
    ax = _ax(ax)
    rs = [r for r in results if math.isfinite(r.margin)]
    colors = {"held": "tab:green", "failed": "tab:red"}
    ax.barh(range(len(rs)), [r.margin for r in rs], color=[colors.get(r.outcome, "tab:grey") for r in rs])
    ax.set_yticks(range(len(rs)))
    ax.set_yticklabels([r.claim for r in rs], fontsize=7)
    ax.set_xscale("symlog", linthresh=1e-3)
    ax.axvline(0.0, color="k", lw=0.8)
    ax.set_xlabel("margin (>= 0: held)")
    return ax
