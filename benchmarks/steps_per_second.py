"""GD steps per second of every engine against the paper-style dense loop, measured in one run.

Baseline: the papers' way (an ``nn.Module``, autograd, ``torch.optim.SGD``, float64), at
n = 10, d = 784, m = 100 (KCG section 6 sizes).  Then the span engine at d = 784 (concrete X) and
10^4 ... 10^9 (virtual data: the cost must be flat in d), the batched span engine (per
configuration-step), and the auto engine (span + frozen-pattern engine) on in-regime data, where the
whole pattern freezes, and on KCG's section 6 data, where about one entry per neuron keeps sliding along
the kink and the frozen-pattern engine runs with those entries free.
Compile time of the numba kernels is paid in warm-up runs and kept out of the timings.  The flop
section counts the floating-point work of a span step (``sim.batched.flops_per_step``) and compares
the achieved rate with a one-thread float64 matrix product measured in the same run (the practical
peak of one core).

    .venv/bin/python benchmarks/steps_per_second.py [--steps N] [--repeats R] [--readme README.md]

``--readme PATH`` rewrites only the block between ``<!-- steps_per_second:begin -->`` and
``<!-- steps_per_second:end -->`` of PATH (``scaling.replace_block``).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core for the peak measurement
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import datetime
import platform
import textwrap
import time
from pathlib import Path

import numpy as np
import torch

from sim import DataSpec, SimConfig, simulate
from sim.batched import BatchState, flops_per_step
from sim.dense import TwoLayerNet, loss_fn
from sim.simulate import resolve

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling import check_readme, machine_line, rewrite_block

BEGIN, END = "<!-- steps_per_second:begin -->", "<!-- steps_per_second:end -->"


def paper_style(cfg: SimConfig, steps: int, threads: int) -> float:
    """Steps per second of the plain PyTorch loop (no recording)."""
    torch.set_num_threads(threads)
    data, init = resolve(cfg)
    net = TwoLayerNet(init.W0, cfg.second_layer, cfg.activation, cfg.slope)
    opt = torch.optim.SGD(net.parameters(), lr=cfg.eta)
    X = torch.tensor(data.X, dtype=torch.float64)
    y = torch.tensor(data.y, dtype=torch.float64)

    def step() -> None:
        opt.zero_grad()
        loss_fn(y * net(X), cfg.loss).mean().backward()
        opt.step()

    for _ in range(50):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - t0)


def span(cfg: SimConfig, steps: int) -> float:
    """Steps per second of the span engine over a run with only the two end checkpoints."""
    cfg = cfg.with_(steps=steps, checkpoints=[], num_checkpoints=2, engine="span")
    data, init = resolve(cfg)
    simulate(cfg.with_(steps=10), data=data, init=init)  # warm-up: numba compile or cache load
    t0 = time.perf_counter()
    simulate(cfg, data=data, init=init)
    return steps / (time.perf_counter() - t0)


def batched(cfg: SimConfig, B: int, steps: int) -> float:
    """Configuration-steps per second of the batched span engine on B seeds of ``cfg``."""
    cfgs = [cfg.with_(seed=s) for s in range(B)]
    rs = [resolve(c) for c in cfgs]
    state = BatchState(cfgs, [r[0] for r in rs], [r[1] for r in rs])
    state.advance(2)  # warm-up
    t0 = time.perf_counter()
    state.advance(steps)
    return B * steps / (time.perf_counter() - t0)


def frozen(cfg: SimConfig, steps: int) -> tuple[float, float, int]:
    """Steps per second of the auto engine, the share of frozen-pattern steps and the most free entries."""
    cfg = cfg.with_(steps=steps, checkpoints=[], num_checkpoints=2)
    data, init = resolve(cfg)
    simulate(cfg.with_(steps=3000), data=data, init=init)
    t0 = time.perf_counter()
    tr = simulate(cfg, data=data, init=init)
    return steps / (time.perf_counter() - t0), tr.extra["frozen_steps"] / steps, int(tr.extra["free_max"])


def dgemm_peak(size: int = 1024, repeats: int = 3) -> float:
    """GFLOP/s of a one-thread float64 matrix product: the practical floating-point limit of a core."""
    a = np.random.default_rng(0).standard_normal((size, size))
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ a
        best = max(best, 2 * size**3 / (time.perf_counter() - t0) / 1e9)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=50_000, help="span-engine steps per measurement")
    ap.add_argument("--baseline-steps", type=int, default=1_000, help="paper-style steps per measurement")
    ap.add_argument("--repeats", type=int, default=3, help="best of R interleaved rounds")
    ap.add_argument("--activation", default="leaky_relu", choices=["leaky_relu", "relu"])
    ap.add_argument("--batch", type=int, default=32, help="configurations in the batched measurement")
    ap.add_argument("--frozen-steps", type=int, default=2_000_000, help="steps of the frozen measurement")
    ap.add_argument("--readme", type=Path, help="rewrite the block between the steps_per_second markers")
    args = ap.parse_args()
    check_readme(ap, args.readme, BEGIN, END)  # fail now, not after the measurement
    gamma = 0.1 if args.activation == "leaky_relu" else None
    base = SimConfig(activation=args.activation, gamma=gamma, n=10, d=784, m=100, eta=0.1, sigma0=1e-4,
                     steps=args.steps, seed=0, data=DataSpec(virtual=False))
    regime = base.with_(data=DataSpec(kind="nearly_orthogonal", p_ratio=1e-6))
    # every measurement once per round, R rounds interleaved, the best of each: a slow phase of the
    # machine (it is shared) then hits every figure alike instead of one of them
    jobs: dict[str, tuple[str, object]] = {"paper-style torch loop (1 thread)": (
        "784", lambda: paper_style(base, args.baseline_steps, 1))}
    for d, virtual in ((784, False), (10**4, True), (10**5, True), (10**6, True), (10**9, True)):
        cfg = base.with_(d=d, data=DataSpec(virtual=virtual))
        label = f"span engine ({'virtual' if virtual else 'concrete X'}), d={d}"
        jobs[label] = (f"{d:.0e}" if d > 784 else "784", lambda cfg=cfg: span(cfg, args.steps))
    bat_label = f"batched span engine, B={args.batch} (per config-step)"
    jobs[bat_label] = ("784", lambda: batched(base, args.batch, max(50, args.steps // args.batch)))
    extra: dict[str, tuple[float, int]] = {}

    def auto(name: str, cfg: SimConfig) -> float:
        rate, share, nfree = frozen(cfg, args.frozen_steps)
        extra[name] = (share, nfree)
        return rate

    jobs["auto engine, in-regime data"] = ("784", lambda: auto("auto engine, in-regime data", regime))
    jobs["auto engine, KCG section 6 data"] = ("784", lambda: auto("auto engine, KCG section 6 data", base))
    results = {name: 0.0 for name in jobs}
    peak = 0.0
    for _ in range(args.repeats):
        for name, (_, fn) in jobs.items():
            results[name] = max(results[name], fn())  # type: ignore[operator]
        peak = max(peak, dgemm_peak())
    ref = results["paper-style torch loop (1 thread)"]
    rows = []
    for name, (d, _) in jobs.items():
        label = name.split(", d=")[0]
        if name in extra:
            share, nfree = extra[name]
            label += f" ({share:.2%} frozen-pattern steps, {nfree} free entries)"
        rows.append((label, d, results[name]))
    span_rate = {784: results["span engine (concrete X), d=784"]}
    bat = results[bat_label]
    print(f"# GD steps/s, n=10, m=100 per sign, {args.activation}, float64; "
          f"{platform.processor() or platform.machine()}, torch {torch.__version__}, numpy {np.__version__}")
    print(f"{'engine':<84} {'d':>6} {'steps/s':>12} {'x baseline(1 thread)':>22}")
    for name, d, sps in rows:
        print(f"{name:<84} {d:>6} {sps:>12,.0f} {sps / ref:>22.1f}")
    fl = flops_per_step(2 * base.m, base.n)
    print(f"\n# flops per span step (M = {2 * base.m}, n = {base.n}): {fl:,}; "
          f"one-core float64 dgemm: {peak:.1f} GFLOP/s")
    for name, rate in (("span engine", span_rate[784]), (f"batched span engine, B={args.batch}", bat)):
        g = rate * fl / 1e9
        print(f"{name:<48} {g:6.2f} GFLOP/s = {g / peak:6.1%} of dgemm")
    if args.readme is not None:
        block = render(rows, ref, fl, peak, span_rate[784], bat, args)
        rewrite_block(args.readme, block, BEGIN, END)
        print(f"# rewrote the steps_per_second block of {args.readme}")


def render(rows: list[tuple[str, str, float]], ref: float, fl: int, peak: float, span_rate: float, bat: float,
           args: argparse.Namespace) -> str:
    """The README block: how it was measured, the table, the flop rates."""
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = (f"Generated by `benchmarks/steps_per_second.py` on {date}: {machine_line()}, torch {torch.__version__}; "
            f"one core, float64, n = 10, m = 100 per sign, {args.activation}"
            f"{' γ = 0.1' if args.activation == 'leaky_relu' else ''}, η = 0.1, σ0 = 1e-4, KCG's §6 data unless "
            f"said otherwise; best of {args.repeats} interleaved rounds; ratios against the paper-style loop "
            "measured in the same run.")
    d_text = {"784": "784", "1e+04": "10⁴", "1e+05": "10⁵", "1e+06": "10⁶", "1e+09": "10⁹"}
    lines = [head, "", "| engine | d | steps/s | × paper-style loop |", "|---|---|---|---|"]
    for name, d, sps in rows:
        label = name.replace("paper-style torch loop (1 thread)",
                             "paper-style loop (`nn.Module`, autograd, `torch.optim.SGD`), 1 thread")
        lines.append(f"| {label} | {d_text.get(d, d)} | {sps:,.0f} | {sps / ref:,.0f} |")
    gs, gb = span_rate * fl / 1e9, bat * fl / 1e9
    lines += ["", f"Flops: a span step at M = 200, n = 10 is {fl:,} flops as the vector code executes it "
              "(`sim.batched.flops_per_step`: 2Mn² for P = P0 + Z G, 3Mn for the outputs, 10Mn for the "
              f"compensated update); a one-thread float64 dgemm reached {peak:.1f} GFLOP/s in the same run; the "
              f"span engine {gs:.1f} GFLOP/s ({gs / peak:.1%} of it), the batched engine {gb:.1f} GFLOP/s "
              f"({gb / peak:.1%})."]
    return "\n".join(line if line.startswith("|") else textwrap.fill(
        line, 105, break_long_words=False, break_on_hyphens=False) for line in lines)


if __name__ == "__main__":
    main()
