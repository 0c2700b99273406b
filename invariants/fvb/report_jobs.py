"""FVB's report section: one GD run inside Thm 3.2 against the convex program's solution W*."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sim import Dataset, SimConfig, nearly_orthogonal_gram, simulate
from sim.data import labels

from .._internal.claim import ReportBudget, report_job
from .._internal.plots import pyplot, save
from . import maxmargin
from .regime import in_fvb_gf_regime


def plot(out: Path, res: dict[str, Any]) -> list[str]:
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    t = res["times"]
    ok = t >= 2
    for key, label in (("angle", "angle(W(t), W*) [rad]"), ("spread", "margin spread max/min - 1"),
                       ("block", "block spread (rows unequal)"), ("tail", "rank-2 tail")):
        v = res["series"][key][ok]
        ax.loglog(t[ok], np.where(v > 0, v, np.nan), label=label)
    ax.set_xlabel("t")
    ax.set_title("FVB Thm 3.2 along GD: distance to the convex program's solution", fontsize=9)
    ax.legend(fontsize=7)
    return [save(fig, out, "fvb_direction.png")]


def lines(res: dict[str, Any]) -> list[str]:
    s = res["series"]
    return ["", f"FVB direction run (inside Thm 3.2: {res['in_regime']}): at t = {int(res['times'][-1])} "
            f"angle to W* = {s['angle'][-1]:.4g} rad, margin spread = {s['spread'][-1]:.4g}, "
            f"block spread = {s['block'][-1]:.4g}, rank-2 tail = {s['tail'][-1]:.4g}.", ""]


def fvb_direction(steps: int, gamma: float = 0.4, m: int = 7, m1: int = 3, seed: int = 3) -> dict[str, Any]:
    """One GD run inside FVB Thm 3.2 (leaky ReLU, data meeting (7) with ratio 1/0.9, small init, a step
    well inside stability): the limit series against t and the rate checks."""
    rng = np.random.default_rng(seed)
    n, R = 5, 1.5
    y = labels(n, rng)
    data = Dataset.virtual(nearly_orthogonal_gram(n, rng, 0.9 * gamma**3 / (3 * R**2 * n), R, 1.0), y, 1000)
    cfg = SimConfig(network="fvb", activation="leaky_relu", gamma=gamma, n=n, d=data.d, m=m, m1=m1,
                    eta=0.5 * n / data.R_max**2, sigma0=1e-6, steps=steps, num_checkpoints=60, seed=seed)
    tr = simulate(cfg, data=data)
    sol = maxmargin.solution_for(cfg, data)
    series = maxmargin.limit_series(tr, sol)
    results = maxmargin.check_gd_limit(tr, sol, series=series)
    return {"times": tr.times, "series": series, "results": results, "in_regime": in_fvb_gf_regime(cfg, data)}


@report_job("fvb-direction", "FVB", ("FVB-3.2a", "FVB-3.2b", "FVB-3.2d"), plot=plot, lines=lines, order=2)
def fvb_direction_job(budget: ReportBudget) -> dict[str, Any]:
    return fvb_direction(min(budget.steps, 300_000))
