"""ST's report section: the slides' ReLU-with-bias experiment, stable rank against the init scale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._internal.claim import ReportBudget, report_job
from .._internal.plots import pyplot, save
from . import conjectures


def plot(out: Path, res: dict[str, Any]) -> list[str]:
    plt = pyplot()

    sw = res["sweep"]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    end = np.nanmean(sw.sr_theta[:, :, -1], axis=1)
    ax.semilogx(sw.sigmas, end, "o-", label="[W | b], last epoch")
    ax.semilogx(sw.sigmas, np.nanmean(sw.sr_w[:, :, -1], axis=1), "s--", label="W alone, last epoch")
    ax.axhline(2.0, color="k", lw=0.6, ls=":", label="2 (ST-2's bound)")
    ax.set_xlabel("init scale sigma0")
    ax.set_ylabel(f"stable rank (mean of {len(sw.seeds)} seeds)")
    ax.set_title("ST figure rerun: ReLU with biases, stable rank against the init scale", fontsize=9)
    ax.legend(fontsize=7)
    return [save(fig, out, "st_fig.png")]


@report_job("st-figure", "ST", ("ST-FIG",), plot=plot, order=1)
def st_figure(budget: ReportBudget) -> dict[str, Any]:
    sweep = conjectures.run_fig_sweep(seeds=budget.seeds)
    return {"sweep": sweep, "results": conjectures.check_fig(sweep)}
