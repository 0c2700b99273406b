"""Notebook plots (``invariants.plots``): each draws on the given axes and returns them."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from invariants import check, plots
from invariants.kcg.regime import Placement, build_case


def test_every_plot_draws_on_the_axes_it_is_given() -> None:
    tr = build_case("leaky_relu", 6, 8, 0.3, d=1000, R=1.2, seed=1, steps=10**4, checkpoints=30,
                    place=Placement(p=0.5, eta=0.5, sigma0=0.02, width=0.5)).run()
    for fn, arg in ((plots.stable_rank, tr), (plots.loss, tr), (plots.margin_spread, tr), (plots.limit_angle, tr),
                    (plots.margins, check(tr, claims=["KCG-MRG", "KCG-4.1b"]))):
        fig, ax = plt.subplots()
        assert fn(arg, ax) is ax
        assert ax.lines or ax.patches, fn.__name__  # something was drawn
        plt.close(fig)
