"""Exact GD to t = 10^8 (or further): wall time of the auto engine, and its agreement with the span
engine over the longest horizon both run here.

Configurations, all at KCG's section 6 sizes (n = 10, d = 784, m = 100, eta = 0.1, sigma0 = 1e-4):

* ``default leaky``: ``SimConfig(gamma=0.1)``, the defaults -- KCG's section 6 Gaussian mixture, leaky ReLU with
  gamma = 0.1.  Far outside Thm 4.1's regime (p / R_min^2 ~ 0.1): about one entry per neuron (j != y_i)
  keeps sliding along the kink of the activation and flips every few steps, while the rest of the
  pattern freezes; the frozen-pattern engine runs with those entries free.
* ``in-regime leaky``: nearly-orthogonal data with p / R_min^2 = 1e-6, inside Thm 4.1 with the suite's
  declared constants: the whole pattern freezes (Lemma 5.6).
* ``default relu`` (``--relu``): the section 6 data with ReLU, whose free set keeps growing slowly (each
  newcomer is a hand-back to the span engine).

For each: the auto engine and the span engine over ``--compare`` steps from the same data and
initialization (largest relative difference, over every checkpoint, of the margins, the coefficients
rho and the pre-activations -- each normalized by the largest entry of the span engine's array -- and
whether the activation-change counts are identical), then the auto engine alone to ``--horizon``.

    .venv/bin/python benchmarks/long_horizon.py [--horizon 100000000] [--compare 1000000] [--relu]
                                                [--readme README.md]

``--readme PATH`` rewrites only the block between ``<!-- long_horizon:begin -->`` and
``<!-- long_horizon:end -->`` of PATH (``scaling.replace_block``).
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from sim import DataSpec, SimConfig, simulate
from sim.simulate import resolve

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling import check_readme, machine_line, rewrite_block

BEGIN, END = "<!-- long_horizon:begin -->", "<!-- long_horizon:end -->"
LABELS = {"default leaky": "KCG §6, leaky ReLU (`SimConfig(gamma=0.1)`: the defaults, γ = 0.1)",
          "in-regime leaky": "in-regime, leaky ReLU (p/R_min² = 1e-6)",
          "default relu": "KCG §6, ReLU (`--relu`)"}

BASE = SimConfig(activation="leaky_relu", gamma=0.1, seed=0, steps=1, num_checkpoints=40)
CONFIGS = {
    "default leaky": BASE,
    "in-regime leaky": BASE.with_(data=DataSpec(kind="nearly_orthogonal", p_ratio=1e-6)),
}


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--horizon", type=float, default=1e8)
    ap.add_argument("--compare", type=float, default=1e6, help="horizon of the span-engine comparison")
    ap.add_argument("--relu", action="store_true", help="also the section 6 data with ReLU")
    ap.add_argument("--readme", type=Path, help="rewrite the block between the long_horizon markers")
    args = ap.parse_args()
    check_readme(ap, args.readme, BEGIN, END)  # fail now, not after the measurement
    rows = []
    horizon, compare = int(args.horizon), int(args.compare)
    configs = dict(CONFIGS)
    if args.relu:
        configs["default relu"] = BASE.with_(activation="relu", gamma=None)
    for cfg in configs.values():  # compile / load the kernels outside the timings
        simulate(cfg.with_(steps=3000))
    print(f"# exact GD, auto engine, one core; {platform.processor() or platform.machine()}")
    print(f"{'configuration':<16} {'horizon':>8} {'wall s':>8} {'steps/s':>11} {'frozen steps':>14} {'free':>5} "
          f"{'hand-backs':>10} {'final loss':>11} {'SR(W+1)':>9} {'S rounding':>10}  vs span engine to t = compare")
    for name, cfg in configs.items():
        data, init = resolve(cfg)
        cmp_cfg = cfg.with_(steps=compare)
        t0 = time.perf_counter()
        span = simulate(cmp_cfg.with_(engine="span"), data=data, init=init)
        t_span = time.perf_counter() - t0
        auto = simulate(cmp_cfg, data=data, init=init)
        diff = max(rel(getattr(auto, f), getattr(span, f)) for f in ("margins", "rho_flat", "preact_flat"))
        same = bool(np.array_equal(auto.changes_flat, span.changes_flat))
        t0 = time.perf_counter()
        tr = simulate(cfg.with_(steps=horizon), data=data, init=init)
        wall = time.perf_counter() - t0
        ex = tr.extra
        print(f"{name:<16} {horizon:>8.0e} {wall:>8.1f} {horizon / wall:>11,.0f} {ex['frozen_steps']:>14,} "
              f"{ex['free_max']:>5} {ex['handbacks']:>10} {tr.loss[-1]:>11.3e} {tr.stable_rank[-1, 0]:>9.6f} "
              f"{ex['S_rounding_bound']:>10.1e}  max rel. diff {diff:.1e}, changes identical: {same} "
              f"(span engine: {t_span:.1f} s for {compare:.0e} steps)")
        rows.append(f"| {LABELS[name]} | {_pow10(horizon)} | {wall:.1f} s | {_sci(horizon / wall)} "
                    f"| {ex['frozen_steps']:,} | {ex['free_max']} | {ex['handbacks']} | {tr.loss[-1]:.3e} "
                    f"| {tr.stable_rank[-1, 0]:.6f} | {ex['S_rounding_bound']:.1e} "
                    f"| {diff:.1e}, counts {'identical' if same else 'DIFFERENT'} ({t_span:.1f} s) |")
    if args.readme is not None:
        date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        flags = "".join(f" --{k} {v:g}" if isinstance(v, float) else f" --{k}" for k, v in
                        (("horizon", args.horizon), ("compare", args.compare), ("relu", args.relu)) if v)
        head = (f"Generated by `benchmarks/long_horizon.py{flags}` on {date}: {machine_line()}; one core. "
                "Exact GD with the auto engine to the horizon; against the span engine over "
                f"{_pow10(compare)} steps from the same data and initialization (largest relative difference "
                "over every checkpoint of margins, ρ and pre-activations; whether the activation-change "
                "counts agree; the span engine's time for those steps).")
        table = ["| data | horizon | wall time | steps/s | frozen-pattern steps | free entries | hand-backs "
                 f"| final loss | SR(W+1) | rounding bound of S | vs span engine at {_pow10(compare)} |",
                 "|---|---|---|---|---|---|---|---|---|---|---|", *rows]
        block = textwrap.fill(head, 105, break_long_words=False, break_on_hyphens=False) + "\n\n" + "\n".join(table)
        rewrite_block(args.readme, block, BEGIN, END)
        print(f"# rewrote the long_horizon block of {args.readme}")


def _pow10(x: int) -> str:
    e = len(str(x)) - 1
    sup = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
    return f"10{str(e).translate(sup)}" if x == 10**e else f"{x:,}"


def _sci(x: float) -> str:
    e = int(np.floor(np.log10(x)))
    sup = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
    return f"{x / 10**e:.2f}·10{str(e).translate(sup)}"


if __name__ == "__main__":
    main()
