"""Exact GD to t = 10^8 (or further): wall time of the auto engine, and its agreement with the span
engine over the longest horizon both run here.

Configurations, all at KCG's section 6 sizes (n = 10, d = 784, m = 100, eta = 0.1, sigma0 = 1e-4):

* ``default leaky``: ``SimConfig()``'s own default -- KCG's section 6 Gaussian mixture, leaky ReLU with
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
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from sim import DataSpec, SimConfig, simulate
from sim.simulate import resolve

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
    args = ap.parse_args()
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


if __name__ == "__main__":
    main()
