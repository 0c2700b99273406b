"""The frozen-pattern step at n = 10 in the regime against its floor, measured in one run.

A frozen-pattern step with no free entries (``sim.frozen_kernel._steps_frozen``) is a dependent chain:
the margins of step t need S(t), and S(t + 1) needs the margins.  Its floor is the latency of that chain:

* margins: m0_i + sum_i' Mm[i, i'] S_i', summed in i' order: n dependent additions (the products are
  off the chain), n x ADD;
* exp(-|z|) (``sim.vexp``): the clamp (2 selects), x log2(e) + 1/2 (MUL, ADD), floor (ROUND), the reduction
  (MUL, SUB, then SUB), Estrin's tail T (pairs, then x r^2, x r^4, x r^8: 1 + 3 MUL-ADD pairs; r^8 itself
  is 3 MULs deep and ready in time), r + r^2 T and 1 + (...) (MUL, 2 ADD), x 2^k (MUL):
  2 SEL + 7 ADD/SUB + 7 MUL + 1 ROUND on the chain;
* l' = -e / (1 + e) (ADD, DIV), inc = -(eta / n) l' (MUL);
* S += inc compensated and Seff = S + Sc: t = S + inc (ADD), bv = t - S (SUB), t - bv (SUB),
  S - (t - bv) (SUB), + (x - bv) (ADD), Sc += e (ADD), Seff = t + Sc (ADD): 7 ADD/SUB.

With the latencies measured here in the same run (a dependent chain of each operation, in cycles of the
same unit: ns), floor = n ADD + 16 ADD/SUB + 9 MUL + 2 SEL + ROUND + DIV; the fraction printed is
floor / measured step.  Everything else of the step (the n^2 products, the other n - 1 exps, the
finiteness tests) runs in parallel with the chain on an out-of-order core.

    .venv/bin/python benchmarks/frozen_floor.py [--steps N] [--repeats R] [--readme README.md]

``--readme PATH`` rewrites only the block between ``<!-- frozen_floor:begin -->`` and
``<!-- frozen_floor:end -->`` of PATH (``scaling.replace_block``).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import datetime
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
from numba import njit

from sim import DataSpec, SimConfig
from sim.frozen import AutoState
from sim.frozen_kernel import _steps_frozen
from sim.simulate import resolve
from sim.span import SpanState

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling import check_readme, machine_line, rewrite_block

BEGIN, END = "<!-- frozen_floor:begin -->", "<!-- frozen_floor:end -->"


@njit(cache=True)
def _chain(op: int, reps: int, x: float) -> float:
    """A dependent chain of ``reps`` operations of one kind (0 add, 1 mul, 2 div, 3 floor, 4 select)."""
    y = x
    for _ in range(reps):
        if op == 0:
            y = y + 1e-300
        elif op == 1:
            y = y * 1.0000000000000002
        elif op == 2:
            y = 1.0000000000000002 / y
        elif op == 3:
            y = np.floor(y) + 0.5  # floor and an add; the add is subtracted below
        else:
            y = y if y >= 0.0 else -y
    return y


def latency(op: int, reps: int = 20_000_000) -> float:
    _chain(op, 10, 1.5)
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        _chain(op, reps, 1.5)
        best = min(best, (time.perf_counter() - t0) / reps * 1e9)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=2_000_000, help="frozen-pattern steps per measurement")
    ap.add_argument("--repeats", type=int, default=3, help="best of R")
    ap.add_argument("--readme", type=Path, help="rewrite the block between the frozen_floor markers")
    args = ap.parse_args()
    check_readme(ap, args.readme, BEGIN, END)  # fail now, not after the measurement
    n = 10
    cfg = SimConfig(activation="leaky_relu", gamma=0.1, n=n, d=784, m=100, eta=0.1, sigma0=1e-4, steps=1, seed=0,
                    data=DataSpec(kind="nearly_orthogonal", p_ratio=1e-6))
    data, init = resolve(cfg)
    span = SpanState(cfg, data, init)
    span.advance(200)
    state = AutoState(span, gate=False)
    state._enter(np.zeros_like(span.P, dtype=bool))
    fp = state.frozen
    assert fp is not None
    S, Sc, absinc = np.zeros(n), np.zeros(n), np.zeros(n)
    _steps_frozen(fp.m0, fp.Mm, cfg.eta, span.loss_code, S, Sc, absinc, 100)
    step = np.inf
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        _steps_frozen(fp.m0, fp.Mm, cfg.eta, span.loss_code, S, Sc, absinc, args.steps)
        step = min(step, (time.perf_counter() - t0) / args.steps * 1e9)
    add, mul, div, sel = latency(0), latency(1), latency(2), latency(4)
    rnd = latency(3) - add
    floor = n * add + 16 * add + 9 * mul + 2 * sel + rnd + div
    print(f"# frozen-pattern step, n = {n}, in-regime data, no free entries (sim.frozen_kernel._steps_frozen)")
    print(f"measured: {step:.1f} ns/step = {1e3 / step:.2f} M steps/s")
    print(f"latencies (ns, dependent chains measured now): add {add:.3f}, mul {mul:.3f}, div {div:.3f}, "
          f"select {sel:.3f}, floor {rnd:.3f}")
    print(f"floor = n add + 16 add + 9 mul + 2 select + floor + div = {floor:.1f} ns/step "
          f"({1e3 / floor:.1f} M steps/s); achieved fraction of the floor: {floor / step:.0%}")
    if args.readme is not None:
        date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        text = (f"Generated by `benchmarks/frozen_floor.py` on {date}: {machine_line()}; best of {args.repeats} "
                f"runs of {args.steps:,} steps. The fully frozen step at n = {n}: {step:.1f} ns "
                f"({1e3 / step:.2f} M steps/s), against a floor of {floor:.1f} ns (n add + 16 add + 9 mul + 2 "
                f"select + floor + div, with the latencies measured in the same run: add {add:.3f}, mul "
                f"{mul:.3f}, div {div:.3f}, select {sel:.3f}, floor {rnd:.3f} ns): {floor / step:.0%} of the "
                "floor.")
        block = textwrap.fill(text, 105, break_long_words=False, break_on_hyphens=False)
        rewrite_block(args.readme, block, BEGIN, END)
        print(f"# rewrote the frozen_floor block of {args.readme}")


if __name__ == "__main__":
    main()
