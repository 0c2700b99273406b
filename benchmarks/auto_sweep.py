"""``engine="auto"`` against ``engine="span"`` over activations, losses and data: the test of ``sim.cost``.

``benchmarks/scaling.py`` measures the auto engine on its table's configuration (leaky ReLU, logistic loss);
this sweeps ReLU and leaky ReLU, the logistic and exponential losses, KCG section 6 data (``DataSpec(
virtual=False)``: few patterns freeze) and in-regime data (nearly orthogonal, most freeze), at sizes from
(n, m) = (10, 50) to (50, 400).  Per cell, the span engine's step count is calibrated to a fixed time; each
round then runs ``advance(steps)`` of a fresh span state, a fresh auto state and the span state again, one
after the other on one pinned core, their order rotated from round to round (``ORDERS``: each takes each
place).  auto / span is the median over the rounds of the auto run's speed over the mean of the two span
runs of its round (``bracketed``: with auto always second, one cell ran auto 25% slower than span in all
five rounds while doing exactly the span engine's work, no entry made; the host's timings moved by +-15%
between consecutive runs of one process), and "span again / span" is the run's own noise, read beside it.
The auto engine must not lose: its ratio within the noise or above (the block counts the cells below the
noise band's low end).

    .venv/bin/python benchmarks/auto_sweep.py [--quick] [--repeats R] [--seconds S] [--core C]
                                              [--json out.json] [--readme README.md]

``--readme PATH`` rewrites only the block between ``<!-- auto_sweep:begin -->`` and
``<!-- auto_sweep:end -->`` of PATH (``scaling.replace_block``); ``--json`` saves every round (refused if the
file exists).
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling import check_core_json, check_readme, machine_line, pin, rewrite_block

BEGIN, END = "<!-- auto_sweep:begin -->", "<!-- auto_sweep:end -->"
ACTS, LOSSES, DATA = ("relu", "leaky_relu"), ("logistic", "exponential"), ("s6", "regime")
FULL_SIZES = ((10, 50), (10, 400), (20, 50), (20, 400), (50, 50), (50, 400))
QUICK_SIZES = ((10, 50), (20, 400))
GAMMA, ETA, SIGMA0, D = 0.1, 0.1, 1e-4, 784  # benchmarks/scaling.py's configuration
ORDERS = (("span", "auto", "again"), ("auto", "again", "span"), ("again", "span", "auto"))  # rounds rotate


def config(act: str, loss: str, kind: str, n: int, m: int) -> Any:
    """The sweep's configuration (``benchmarks/scaling.py``'s, with ``act`` and ``loss``) on KCG section 6
    data (``kind`` "s6") or in-regime data ("regime"); imports ``sim``, so only after ``pin``."""
    from sim import DataSpec, SimConfig

    data = DataSpec(virtual=False) if kind == "s6" else DataSpec(kind="nearly_orthogonal", p_ratio=1e-6)
    return SimConfig(activation=act, gamma=None if act == "relu" else GAMMA, loss=loss, n=n, d=D, m=m, eta=ETA,
                     sigma0=SIGMA0, seed=0, checkpoints=[], num_checkpoints=2, data=data)


def noise(cells: list[dict[str, Any]]) -> tuple[float, float, int, dict[str, Any]]:
    """The span engine over itself across the cells (lowest, highest), how many cells' auto / span fall
    below the lowest, and the lowest cell."""
    aa = [c["again_over_span"] for c in cells]
    low = min(cells, key=lambda c: c["auto_over_span"])
    return min(aa), max(aa), sum(c["auto_over_span"] < min(aa) for c in cells), low


def median_ratio(a: list[float], b: list[float]) -> float:
    """a's speed over b's from their times: the median over the rounds of b's time over a's within a round."""
    return statistics.median(y / x for x, y in zip(a, b, strict=True))


def bracketed(span: list[float], auto: list[float], again: list[float]) -> float:
    """auto's speed over the span engine's, each round's auto run against the mean of the round's two span
    runs (with auto between them, a drift within the round cancels), median over rounds."""
    return median_ratio(auto, [(s + t) / 2 for s, t in zip(span, again, strict=True)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} only, 3 rounds")
    ap.add_argument("--repeats", type=int, help="rounds per cell (default 5, 3 with --quick)")
    ap.add_argument("--seconds", type=float, default=0.25, help="the span engine's time per run (default 0.25)")
    ap.add_argument("--core", type=int, help="the core to pin to (default: the last allowed)")
    ap.add_argument("--json", type=Path, help="save every round here (a new file)")
    ap.add_argument("--readme", type=Path, help="rewrite the block between the auto_sweep markers")
    args = ap.parse_args()
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 5)
    if repeats < 1:
        ap.error(f"--repeats must be >= 1; got {repeats}")
    if not 0.01 <= args.seconds <= 60:
        ap.error(f"--seconds must be in [0.01, 60]; got {args.seconds}")
    core = check_core_json(ap, args.core, args.json)
    check_readme(ap, args.readme, BEGIN, END)  # fail now, not after the measurement
    pin(core)

    from sim import SimConfig
    from sim.frozen import AutoState
    from sim.simulate import resolve
    from sim.span import SpanState

    def run(cfg: SimConfig, data: Any, init: Any, auto: bool, steps: int) -> tuple[float, int]:
        st = SpanState(cfg, data, init)
        st = AutoState(st) if auto else st
        t0 = time.perf_counter()
        bad = st.advance(steps)
        dt = time.perf_counter() - t0
        if bad is not None:
            raise RuntimeError(f"diverged at step {bad}: {cfg}")
        return dt, (st.frozen_steps if auto else 0)

    # numba's kernels compiled or loaded before any timing: the frozen-pattern engine's too (a fully frozen
    # pattern and one with free entries), which a cell's own warm-up may not reach (18 ms on a first call)
    for kind in DATA:
        for act in ACTS:
            w = config(act, "logistic", kind, 10, 50)
            run(w, *resolve(w), True, 5000)
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    cells = []
    for act in ACTS:
        for loss in LOSSES:
            for kind in DATA:
                for n, m in sizes:
                    cfg = config(act, loss, kind, n, m)
                    data, init = resolve(cfg)
                    run(cfg, data, init, False, 50)  # numba's kernels: compiled or loaded, out of the timings
                    run(cfg, data, init, True, 200)
                    probe = 200
                    while (dt := run(cfg, data, init, False, probe)[0]) < 0.05:
                        probe *= 4
                    steps = max(100, round(args.seconds / dt * probe))
                    span, auto, again, frozen = [], [], [], 0
                    for r in range(repeats):
                        for which in ORDERS[r % 3]:  # each of the three in each place, round by round
                            if which == "auto":
                                ta, frozen = run(cfg, data, init, True, steps)
                                auto.append(ta)
                            else:
                                (span if which == "span" else again).append(run(cfg, data, init, False, steps)[0])
                    cell = {"act": act, "loss": loss, "data": kind, "n": n, "m": m, "steps": steps,
                            "frozen": frozen, "span_s": span, "auto_s": auto, "again_s": again,
                            "auto_over_span": bracketed(span, auto, again),
                            "again_over_span": median_ratio(again, span)}
                    cells.append(cell)
                    print(f"{act:10s} {loss:11s} {kind:6s} n={n:3d} m={m:4d} steps={steps:8d} frozen "
                          f"{frozen / steps:5.0%}  auto/span {cell['auto_over_span']:.2f}  "
                          f"span again/span {cell['again_over_span']:.2f}", flush=True)
    aa_lo, aa_hi, below, low = noise(cells)
    print(f"# lowest auto/span {low['auto_over_span']:.2f} ({low['act']}, {low['loss']}, {low['data']}, "
          f"n = {low['n']}, m = {low['m']}); span again/span {aa_lo:.2f}-{aa_hi:.2f}; cells below the noise "
          f"band: {below} of {len(cells)}")
    if args.json is not None:
        with open(args.json, "x") as fh:  # "x": never overwrite (checked above too)
            json.dump({"machine": machine_line(), "repeats": repeats, "seconds": args.seconds, "cells": cells,
                       "argv": sys.argv[1:]}, fh, indent=1)
    if args.readme is not None:
        rewrite_block(args.readme, render(cells, repeats, args.seconds), BEGIN, END)
        print(f"# rewrote the auto_sweep block of {args.readme}")


def render(cells: list[dict[str, Any]], repeats: int, seconds: float) -> str:
    """The README block: one row per activation, loss and data, a column per size."""
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    sizes = sorted({(c["n"], c["m"]) for c in cells})
    aa_lo, aa_hi, below, low = noise(cells)
    intro = textwrap.fill(
        f"Generated by `benchmarks/auto_sweep.py` on {date}: {machine_line()}. The auto engine's speed over the "
        f"span engine's (median over {repeats} rounds of the ratio within a round, against the mean of the "
        f"round's two span runs, the order rotated round by round, each ~{seconds:g} s of "
        f"span steps, one pinned core), and in parentheses the share of steps the frozen-pattern engine took. "
        f"The run's noise, the span engine over itself in the same rounds: {aa_lo:.2f}-{aa_hi:.2f}; "
        f"cells below it: {below} of {len(cells)} (the lowest {low['auto_over_span']:.2f}).",
        105, break_long_words=False, break_on_hyphens=False)
    head = "| activation, loss, data | " + " | ".join(f"n = {n}, m = {m}" for n, m in sizes) + " |"
    lines = [intro, "", head, "|---|" + "---|" * len(sizes)]
    for act in ACTS:
        for loss in LOSSES:
            for kind in DATA:
                row = {(c["n"], c["m"]): c for c in cells if (c["act"], c["loss"], c["data"]) == (act, loss, kind)}
                if not row:
                    continue
                vals = [f"{row[s]['auto_over_span']:.2f} ({row[s]['frozen'] / row[s]['steps']:.0%})" if s in row
                        else "–" for s in sizes]
                lines.append(f"| {act}, {loss}, {'§6' if kind == 's6' else 'in-regime'} | " + " | ".join(vals) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
