"""KCG's report section: the synthetic experiments of section 6 rerun.

* KCG-FIG1: KCG section 6's mixture (n = 10, d = 784, m = 100, eta = 0.1), stable rank against t for
  gamma in {0 (ReLU), 0.1, 0.3, 0.5, 0.7, 0.9}; the figure claims larger gamma decreases faster and ends
  lower (``figures.check_fig1``).
* KCG-FIG23: the same setup, sigma0 in {1e-5 ... 1e-3}: smaller init, lower stable rank.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._internal.claim import ReportBudget, report_job
from .._internal.plots import pyplot, save
from . import figures


def plot(out: Path, res: dict[str, Any]) -> list[str]:
    plt = pyplot()

    files = []
    for key, title, fname in (("fig1", "KCG Fig. 1 rerun: stable rank of W for leaky slopes (0 = ReLU)",
                               "kcg_fig1.png"),
                              ("fig23", "KCG Figs. 2-3 analogue: stable rank of W for init scales",
                               "kcg_fig23.png")):
        sw = res[key]
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        t = sw.times
        ok = t > 0
        for k, v in enumerate(sw.values):
            ax.semilogx(t[ok], np.nanmean(sw.stacked[k][:, ok], axis=0), label=f"{sw.param}={v:g}")
        ax.axvline(figures.PAPER_STEPS, color="k", lw=0.6, ls=":", label="the paper's 50 steps")
        ax.set_xlabel("t")
        ax.set_ylabel(f"stable rank of W (mean of {len(sw.seeds)} seeds)")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
        files.append(save(fig, out, fname))
    return files


@report_job("kcg-figures", "KCG", ("KCG-FIG1", "KCG-FIG23"), plot=plot, order=0)
def kcg_figures(budget: ReportBudget) -> dict[str, Any]:
    """Sweeps of KCG Fig. 1 (gamma) and Figs. 2-3 (sigma0), with their measured ordering checks."""
    steps, seeds = budget.figure_steps, budget.seeds
    base = figures.paper_config(steps=steps, checkpoints=figures.log_checkpoints(steps))
    fig1 = figures.run_sweep(base, "gamma", (0.0, 0.1, 0.3, 0.5, 0.7, 0.9), seeds)
    fig23 = figures.run_sweep(base, "sigma0", (1e-5, 5e-5, 1e-4, 5e-4, 1e-3), seeds)
    return {"fig1": fig1, "fig23": fig23,
            "results": figures.check_fig1(fig1) + figures.check_fig23(fig23)}
