"""Steps per second of the project's engines against JAX peers, over n and m, measured in one run.

For n in {10, 20, 50, 100} data points and m in {50, 100, 400, 1000} neurons per sign (M = 2m), leaky ReLU
gamma = 0.1, eta = 0.1, sigma0 = 1e-4, d = 784, float64, one core:

* span: the span engine (``sim.span.SpanState``, what ``engine="span"`` runs) on KCG section 6 data
  (``DataSpec(virtual=False)``; its cost does not depend on the data), numba's compile excluded by a
  warm-up, timed over ``advance(steps)`` from t = 0 -- as ``span()`` in ``benchmarks/steps_per_second.py``
  but without the two end checkpoints, timed on their own (``checkpoints``: one observation at the
  largest m, by the secular equation, on the span engine's state and inside a frozen-pattern segment, in
  every round, with the direct projection's multiply-adds at the run's one-thread dgemm rate, against
  forming W W^T and its M x M eigensolves);
* auto: what ``engine="auto"`` runs (``sim.frozen.AutoState`` over a span state) on in-regime data
  (``DataSpec(kind="nearly_orthogonal", p_ratio=1e-6)``) and on the section 6 data, likewise timed from
  t = 0 over the span engine's horizon (its frozen-pattern share grows with the horizon, which is
  reported with it);
* span again: the span engine measured a second time, as an engine of its own in the same rounds: its
  ratio to the first is the noise of this run, against which the auto columns are read;
* JAX same-work and JAX plain (``benchmarks/jax_peers.py``: jit + lax.scan, compile excluded by a first
  call, ``block_until_ready``);
* batched, B = 32 at n = 10, m = 100: ``sim.batched.BatchState`` against the same 32 configurations on
  the single span engine one after the other and against the JAX vmap peer, in configuration-steps per
  second; and batched auto's frozen-pattern steps: 32 in-regime configurations whose patterns froze,
  stepped together in vector lanes (``sim.frozen_lanes.advance_together``) against each
  ``AutoState.advance`` alone;
* agreement: the JAX peers against the span engine (and the vmap against the batched engine) over 1000
  steps from the same data and initialization.

The process is pinned to one core and OpenBLAS / OpenMP / XLA run one thread.  Every (cell, engine) is
measured once per round, R rounds interleaved, a cell's engines in an order rotated from round to round
(``benchmarks/auto_sweep.py`` found a run's place in its round moving it by up to 25%): a rate is the best
of its rounds, a ratio between two engines
the median over the rounds of their ratio within the round, so that a slow phase of a shared machine that
lasts a round moves both of its terms (saved runs keep every round's rates).  Step counts are chosen per
cell so that a measurement takes 0.2 - 0.5 s.

    .venv/bin/python benchmarks/scaling.py [--quick] [--repeats R] [--core C] [--readme README.md] [--json out.json]
    .venv/bin/python benchmarks/scaling.py --render out.json [--readme README.md]

``--readme PATH`` rewrites only the block between ``<!-- scaling:begin -->`` and ``<!-- scaling:end -->`` of
PATH; ``--json PATH`` writes every figure to PATH, which must not exist yet.  ``--render PATH`` measures
nothing: it prints (and with ``--readme`` writes) the block of a run saved by ``--json``.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import platform
import statistics
import sys
import textwrap
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

BEGIN = "<!-- scaling:begin -->"
END = "<!-- scaling:end -->"
GAMMA, ETA, SIGMA0, D = 0.1, 0.1, 1e-4, 784
SIGMA0_TEXT = "1e-4"
FULL_N, FULL_M = (10, 20, 50, 100), (50, 100, 400, 1000)
QUICK_N, QUICK_M = (10, 100), (50, 1000)
BATCH_B, BATCH_N, BATCH_M = 32, 10, 100
FROZEN_AFTER = 3000  # steps alone before the frozen-lanes and frozen-segment timings (in-regime patterns froze)
AGREE_STEPS = 1000
ENGINES = ("span", "span_again", "auto_regime", "auto_s6", "jax_same", "jax_plain")


# ---- pure helpers (tests/benchmarks/test_scaling_table.py; no numpy, no jax) ------------------------------


def replace_block(text: str, block: str, begin: str = BEGIN, end: str = END) -> str:
    """``text`` with everything between the marker lines ``begin`` and ``end`` replaced by ``block``.

    The markers stay (each on its own line) and nothing outside them changes.  Raises ``ValueError``
    naming the problem when a marker is missing, appears more than once, or ``end`` comes first.
    """
    for marker in (begin, end):
        count = text.count(marker)
        if count != 1:
            what = "missing" if count == 0 else f"present {count} times"
            raise ValueError(f"marker {marker!r} is {what}; the file needs exactly one {begin!r} line followed "
                             f"by one {end!r} line (the block between them is rewritten)")
    i, j = text.index(begin), text.index(end)
    if j < i:
        raise ValueError(f"marker {end!r} comes before {begin!r}")
    head = text[: i + len(begin)]
    body = block.strip("\n")
    return head + "\n" + (body + "\n" if body else "") + text[j:]


def rewrite_block(path: Path, block: str, begin: str = BEGIN, end: str = END) -> None:
    """Rewrite the block between the markers of the file ``path`` (``replace_block``): the new text goes to a
    file beside it, which then replaces it (``os.replace``), so a failed write leaves the file as it was."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(replace_block(path.read_text(), block, begin, end))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _rate(x: float) -> str:
    return f"{x:,.0f}"


def _ratio(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def _horizon(steps: int) -> str:
    e = len(str(int(steps))) - 1
    return f"{steps / 10**e:.1f}e{e}"


def _frozen(c: dict[str, Any], key: str, eng: str) -> str:
    ex = c.get("auto_extra", {}).get(key) or {}
    return f" ({ex['frozen_steps'] / c['steps'][eng]:.1%} frozen)" if "frozen_steps" in ex else ""


def _pair(c: dict[str, Any], a: str, b: str) -> float:
    """Engine a's rate over engine b's: the median over the rounds of the ratio within each round, where the
    result has the rounds (a slow phase of the machine that lasts a round then moves both alike), else
    (an older saved run) best over best."""
    ra, rb = c.get("rounds", {}).get(a), c.get("rounds", {}).get(b)
    if ra and rb and len(ra) == len(rb):
        return statistics.median(x / y for x, y in zip(ra, rb, strict=True))
    return c["rate"][a] / c["rate"][b]


def _again(c: dict[str, Any]) -> str:
    """The A/A ratio: a second measurement of the span engine, in the same rounds, over the first."""
    return "–" if not c["rate"].get("span_again") else _ratio(_pair(c, "span_again", "span"))


def _share(span: float, c: dict[str, Any], dgemm: float | None) -> str:
    """P = P0 + Z G's flop rate at the span engine's steps/s, as a percentage of the dgemm rate."""
    return "–" if dgemm is None else f"{100 * 2 * c['n'] ** 2 * 2 * c['m'] * span / dgemm:.0f}%"


def render(res: dict[str, Any]) -> str:
    """The README block (markdown) of a result dict as ``main`` builds it; paragraphs wrapped at 105 columns."""
    mc = res["machine"]
    lo, hi = res["window_s"]
    dgemm = res["checkpoints"][0]["dgemm_flops"] if res.get("checkpoints") else None
    dgemm_text = "" if dgemm is None else (
        " P's flops ÷ dgemm: the rate of the step's largest product, P = P0 + Z G (2 n² M flops a step), "
        f"as a share of a one-thread 1000 × 1000 dgemm's in this run ({dgemm / 1e9:.1f} GFLOP/s): how near "
        "the machine's limit the step runs where that product dominates (n large); at small n the update and "
        "the row pass, O(n M), take most of the step.")
    mode = " (`--quick`: fewer cells, shorter runs; not for the record)" if res["quick"] else ""
    rotated = " (a cell's engines in an order rotated round by round)" if res.get("rotated") else ""
    v = mc["versions"]
    lines = [
        f"Generated by `benchmarks/scaling.py` on {res['date']}{mode}: {mc['cpu']} ({mc['logical_cores']} logical "
        f"cores; LLVM sees `{mc['llvm_cpu']}`, AVX-512 {'yes' if mc['avx512f'] else 'no'}), pinned to core "
        f"{mc['core']}, one thread (OpenBLAS, OpenMP and XLA single-threaded); load average {mc['load_start']:.2f} "
        f"at the start, {mc['load_end']:.2f} at the end. Python {v['python']}, numpy {v['numpy']}, numba "
        f"{v['numba']}, jax {v['jax']} (jaxlib {v['jaxlib']}). Leaky ReLU γ = {GAMMA}, η = {ETA}, σ0 = {SIGMA0_TEXT}, "
        f"d = {D}, float64, m neurons per sign (M = 2m). {res['repeats']} interleaved rounds{rotated}, "
        f"each timed run {lo}–{hi} s: a rate is the best of the rounds, a ratio the median over the rounds of "
        "the ratio within each round; compile times (numba, XLA) excluded, checkpoint observations too (timed "
        "separately below). span: the span engine on KCG §6 data, `SpanState.advance` from t = 0; auto: what "
        "`engine=\"auto\"` runs, from t = 0 over the span engine's horizon (after @; the share of "
        "frozen-pattern steps, in parentheses, grows with the horizon), on in-regime data (p/R_min² = 1e-6) "
        "and on §6 data; span again: the span engine measured a second time in the same rounds, as an "
        "engine of its own, over the first (how far apart two measurements of one engine fall in this run: "
        "the noise the auto columns are to be read against); JAX: "
        "`benchmarks/jax_peers.py` (jit + `lax.scan`, state (n, 2m)), same-work = the span engine's whole step "
        "(compensated update, P "
        "recomputed, outputs, pattern bookkeeping, running sum), plain = Z += ΔZ, P = P0 + Z G, f only. "
        "Above 1 in the last two columns: the span engine is faster." + dgemm_text,
        "",
        "| n | m | span steps/s | P's flops ÷ dgemm | span again ÷ span | auto in-regime ÷ span | auto §6 ÷ span "
        "| span ÷ JAX same-work | span ÷ JAX plain |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in res["cells"]:
        r, s = c["rate"], c["steps"]
        span = r["span"]
        lines.append(
            f"| {c['n']} | {c['m']} | {_rate(span)} | {_share(span, c, dgemm)} | {_again(c)} "
            f"| {_ratio(_pair(c, 'auto_regime', 'span'))} @ {_horizon(s['auto_regime'])}"
            f"{_frozen(c, 'regime', 'auto_regime')} "
            f"| {_ratio(_pair(c, 'auto_s6', 'span'))} @ {_horizon(s['auto_s6'])}{_frozen(c, 's6', 'auto_s6')} "
            f"| {_ratio(_pair(c, 'span', 'jax_same'))} | {_ratio(_pair(c, 'span', 'jax_plain'))} |")
    b = res["batched"]
    r = b["rate"]
    lines += [
        "",
        f"Batched, B = {b['B']} (n = {b['n']}, m = {b['m']}), in configuration-steps/s: the batched span engine "
        f"(`sim.batched.BatchState`) {_rate(r['span'])}, the same configurations on the single span engine one "
        f"after the other {_rate(r['span_single'])} (batched ÷ single = {_ratio(_pair(b, 'span', 'span_single'))}), "
        f"the JAX vmap of the same-work step {_rate(r['jax_vmap'])} (batched span ÷ JAX vmap = "
        f"{_ratio(_pair(b, 'span', 'jax_vmap'))}). Batched auto's frozen-pattern steps (in-regime configurations "
        "whose patterns froze, one per vector lane, `sim.frozen_lanes`): "
        f"{_rate(r['frozen_lanes'])}, against {_rate(r['frozen_alone'])} for each `AutoState.advance` alone: "
        f"lanes ÷ alone = {_ratio(_pair(b, 'frozen_lanes', 'frozen_alone'))}.",
    ]
    if r.get("span_threads"):
        lines[-1] += (f" Unpinned, the batched span engine with threads={b['threads']} (one configuration per "
                      "thread at a time, `kernel.run_batch_threads`; the same numbers) runs "
                      f"{_rate(r['span_threads'])} configuration-steps/s: "
                      f"{_ratio(_pair(b, 'span_threads', 'span_single'))}x the single engine on one core.")
    if res.get("checkpoints"):
        cks = res["checkpoints"]
        lines += ["", f"One checkpoint observation at m = {cks[0]['m']}, in ms (norms by the secular equation, "
                  "`sim.gram.GramSpectrum`; each figure measured in every round, the best across the rounds). "
                  "On the span engine's state it projects Y on K_R's r ≤ d − n kept "
                  "eigenvectors, O(r M n) (the stacked block's projection composed from the sign blocks' "
                  "where their kept eigenvectors span their ranges: r (r₊ + r₋) n instead of r M n); the next "
                  "column is that projection's multiply-adds at the rate a "
                  f"one-thread 1000 × 1000 dgemm ran in this run ({cks[0]['dgemm_flops'] / 1e9:.1f} GFLOP/s). "
                  "Inside a frozen-pattern segment, from its third checkpoint on, the segment's first "
                  "projection is updated in O(r n²) (`sim.frozen_checkpoint`). What a checkpoint cost before: forming "
                  "W Wᵀ and its M × M eigensolves. The first observation of a run also diagonalizes K_R once (the sign "
                  "blocks' M/2-square eigenproblems, then the stacked block's from theirs: `sim/stacked.py`).",
                  "",
                  "| n | span engine's state | its projection at dgemm's rate | inside a frozen segment "
                  "| forming W Wᵀ | first observation |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {c['n']} | {1e3 * c['each_s']:.1f} | {1e3 * c['proj_flops'] / c['dgemm_flops']:.1f} "
                  f"| {1e3 * c['segment_s']:.1f} | {1e3 * c['dense_s']:.0f} | {1e3 * c['first_s']:.0f} |"
                  for c in cks]
    a = res["agreement"]
    lines += [
        "",
        f"Agreement with the span engine over {a['steps']} steps from the same data and initialization (n = "
        f"{BATCH_N}, m = {BATCH_M}, §6 data; largest relative difference of the final margins, entry by entry): "
        f"JAX same-work {a['same_work']:.1e}, JAX vmap against the batched engine (B = {a['B']}) {a['vmap']:.1e}, "
        f"JAX plain {a['plain']:.1e}; activation-change counts and last-change steps "
        f"{'identical' if a['counts_identical'] else 'DIFFERENT'}.",
    ]
    return "\n".join(line if line.startswith("|") else textwrap.fill(
        line, 105, break_long_words=False, break_on_hyphens=False) for line in lines)


# ---- the measurement ------------------------------------------------------------------------------------


def check_readme(ap: argparse.ArgumentParser, readme: Path | None, begin: str = BEGIN, end: str = END) -> None:
    """``--readme``'s file checked before anything is measured: readable, with exactly one pair of the
    block's markers (``replace_block``); ``ap.error`` naming the flag otherwise."""
    if readme is None:
        return
    try:
        replace_block(readme.read_text(), "", begin, end)
    except (OSError, ValueError) as e:
        ap.error(f"--readme {readme}: {e}")


def check_core_json(ap: argparse.ArgumentParser, core: int | None, out: Path | None) -> int:
    """The core to pin to (``core``, or the last this process may run on) and the ``--json`` file, checked
    before anything is measured: the core must be allowed, and ``out`` must be a new file in an existing
    folder (it is opened with "x" at the end, too: nothing saved is overwritten).  Errors name the flag."""
    allowed = sorted(os.sched_getaffinity(0))
    core = allowed[-1] if core is None else core
    if core not in allowed:
        ap.error(f"--core {core} is not among this process's cores {allowed}")
    if out is not None and out.exists():
        ap.error(f"--json {out} exists; refusing to overwrite it (name a new file)")
    if out is not None and not out.parent.is_dir():
        ap.error(f"--json {out}: no folder {out.parent}")
    return core


def pin(core: int) -> None:
    """One core, one thread: call before numpy / numba / jax are imported.  numba may still start one
    thread per allowed core, used only by the threaded batched measurement (which unpins for it)."""
    os.environ["NUMBA_NUM_THREADS"] = str(len(os.sched_getaffinity(0)))
    os.sched_setaffinity(0, {core})
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    xla = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {xla}".strip()


def machine(core: int) -> dict[str, Any]:
    import llvmlite.binding as llb
    import numba  # noqa: F401  (initializes LLVM the way the engines see it)

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    features = llb.get_host_cpu_features()
    versions = {"python": platform.python_version()}
    for pkg in ("numpy", "numba", "llvmlite", "jax", "jaxlib"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:  # jax: only this benchmark needs it
            versions[pkg] = "not installed"
    return {"cpu": cpu, "logical_cores": os.cpu_count(), "core": core, "llvm_cpu": llb.get_host_cpu_name(),
            "avx512f": bool(features.get("avx512f", False)), "numba_cpu_name": os.environ.get("NUMBA_CPU_NAME"),
            "versions": versions, "load_start": os.getloadavg()[0]}


def machine_line() -> str:
    """One line on the machine for the other benchmarks' README blocks (``steps_per_second.py``,
    ``long_horizon.py``): CPU, what LLVM sees, versions, load average now."""
    mc = machine(-1)
    v = mc["versions"]
    return (f"{mc['cpu']} ({mc['logical_cores']} logical cores; LLVM sees `{mc['llvm_cpu']}`, AVX-512 "
            f"{'yes' if mc['avx512f'] else 'no'}), load average {mc['load_start']:.2f}; Python {v['python']}, "
            f"numpy {v['numpy']}, numba {v['numba']}")


def nice(x: float) -> int:
    """x rounded to two significant digits, at least 10."""
    e = max(len(str(int(max(10.0, x)))) - 2, 0)
    return max(10, round(x / 10**e) * 10**e)


def calibrate(run: Callable[[int], float], first: int, lo: float, hi: float) -> int:
    """A step count whose ``run(steps)`` (seconds) lands in [lo, hi], starting from ``first``."""
    steps, target = first, (lo + hi) / 2
    for _ in range(8):
        dt = run(steps)
        if lo <= dt <= hi:
            return steps
        steps = nice(steps * min(max(target / max(dt, 1e-5), 0.05), 30.0))
    return steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="4 cells, shorter runs, 2 rounds (~1 minute)")
    ap.add_argument("--repeats", type=int, default=None, help="interleaved rounds: rates the best of them, ratios "
                    "their median (default 3; 2 with --quick)")
    ap.add_argument("--core", type=int, default=None,
                    help="the core to pin to (default: the last one this process may use)")
    ap.add_argument("--readme", type=Path, help="rewrite the block between the scaling markers of this file")
    ap.add_argument("--json", type=Path, help="write every figure to this file (which must not exist)")
    ap.add_argument("--render", type=Path, help="measure nothing: the block of a run saved by --json")
    args = ap.parse_args()
    check_readme(ap, args.readme)  # fail now, not after minutes of measuring
    if args.render is not None:
        if args.json is not None or args.quick or args.repeats is not None or args.core is not None:
            ap.error("--render measures nothing: it takes only --readme")
        try:
            res = json.loads(args.render.read_text())
            block = render(res)
        except (OSError, ValueError, LookupError, TypeError, AttributeError, ArithmeticError) as e:
            ap.error(f"--render {args.render}: not a run saved by --json ({type(e).__name__}: {e})")
        emit(block, args.readme)
        return
    repeats = args.repeats if args.repeats is not None else (2 if args.quick else 3)
    if repeats < 1:
        ap.error("--repeats must be >= 1")
    args.core = check_core_json(ap, args.core, args.json)

    allowed = sorted(os.sched_getaffinity(0))
    pin(args.core)
    import jax
    import jax_peers as jp
    import numpy as np

    from sim import DataSpec, SimConfig, simulate
    from sim.batched import BatchState, flops_per_step
    from sim.frozen import AutoState
    from sim.frozen_lanes import advance_together
    from sim.simulate import resolve
    from sim.span import SpanState

    mc = machine(args.core)
    lo, hi = (0.05, 0.15) if args.quick else (0.2, 0.5)
    ns, ms = (QUICK_N, QUICK_M) if args.quick else (FULL_N, FULL_M)
    mc["allowed_cores"] = allowed
    versions = ", ".join(f"{k} {v}" for k, v in mc["versions"].items())
    print(f"# {mc['cpu']}; LLVM: {mc['llvm_cpu']}, AVX-512 {'yes' if mc['avx512f'] else 'no'}; pinned to core "
          f"{args.core} of {allowed}; {versions}; XLA_FLAGS={os.environ['XLA_FLAGS']!r}", flush=True)

    def base(n: int, m: int) -> SimConfig:
        return SimConfig(activation="leaky_relu", gamma=GAMMA, n=n, d=D, m=m, eta=ETA, sigma0=SIGMA0, seed=0,
                         checkpoints=[], num_checkpoints=2, data=DataSpec(virtual=False))

    def timed_state(cfg: SimConfig, data: Any, init: Any,
                    extra: dict[int, Any] | None = None) -> Callable[[int], float]:
        """Seconds of ``advance(steps)`` of a fresh span state (``extra`` None) or auto state over it."""
        def run(steps: int) -> float:
            st = SpanState(cfg, data, init) if extra is None else AutoState(SpanState(cfg, data, init))
            t0 = time.perf_counter()
            bad = st.advance(steps)
            dt = time.perf_counter() - t0
            if bad is not None:
                raise RuntimeError(f"diverged at step {bad} (n={cfg.n}, m={cfg.m}, {cfg.data.kind})")
            if extra is not None:
                extra[steps] = {"frozen_steps": st.frozen_steps, "free_max": st.free_max,
                                "handbacks": st.handbacks}
            return dt
        return run

    def timed_jax(fn: Any, data: Any, carry: Any) -> Callable[[int], float]:
        def run(steps: int) -> float:
            jax.block_until_ready(fn(data, carry, steps=steps))  # compile (once per step count) and warm
            t0 = time.perf_counter()
            jax.block_until_ready(fn(data, carry, steps=steps))
            return time.perf_counter() - t0
        return run

    # warm-up: numba's kernels (compile or cache load), span and auto, both data kinds
    w = base(10, 50)
    for cfg in (w.with_(engine="span"), w, w.with_(data=DataSpec(kind="nearly_orthogonal", p_ratio=1e-6))):
        data, init = resolve(cfg)
        simulate(cfg.with_(steps=3000), data=data, init=init)

    cells: list[dict[str, Any]] = []
    runs: list[tuple[dict[str, Any], str, Callable[[int], float]]] = []
    t_cal = time.perf_counter()
    for n in ns:
        for m in ms:
            cfg = base(n, m)
            regime = cfg.with_(data=DataSpec(kind="nearly_orthogonal", p_ratio=1e-6))
            d6, i6 = resolve(cfg)
            dr, ir = resolve(regime)
            jdata = jp.data_of(SpanState(cfg, d6, i6))
            cell: dict[str, Any] = {"n": n, "m": m, "steps": {}, "rate": {}, "rounds": {},
                                    "auto_extra": {"regime": {}, "s6": {}}}
            fns = {"span": timed_state(cfg, d6, i6), "span_again": timed_state(cfg, d6, i6),
                   "auto_regime": timed_state(regime, dr, ir, cell["auto_extra"]["regime"]),
                   "auto_s6": timed_state(cfg, d6, i6, cell["auto_extra"]["s6"]),
                   "jax_same": timed_jax(jp.same_work, jdata, jp.init_same(jdata)),
                   "jax_plain": timed_jax(jp.plain, jdata, jp.init_plain(jdata))}
            fl = flops_per_step(2 * m, n)
            guess = {"span": 15e9 / fl, "jax_same": 4e9 / fl, "jax_plain": 6e9 / fl}
            for eng in ENGINES:
                if eng.startswith("auto") or eng == "span_again":  # the span engine's horizon: equal work
                    cell["steps"][eng] = cell["steps"]["span"]
                else:
                    cell["steps"][eng] = calibrate(fns[eng], nice(guess[eng] * lo / 2), lo, hi)
                cell["rate"][eng] = 0.0
                cell["rounds"][eng] = []
                runs.append((cell, eng, fns[eng]))
            cells.append(cell)
            print(f"# calibrated n={n:>3} m={m:>4}: " + ", ".join(f"{e} {cell['steps'][e]}" for e in ENGINES),
                  flush=True)
    # checkpoints at the largest m: one observation (norms by the secular equation, sim.gram.GramSpectrum)
    # on the span engine's state and inside a frozen-pattern segment (sim.frozen_checkpoint), against forming
    # W W^T and its M x M eigensolves (what a checkpoint cost before); the direct projection's floor at this
    # run's one-thread dgemm rate.  Measured in every round, the best of each across the rounds (the first
    # observation on a fresh state each round; the segment's state carried from round to round)
    from sim.gram import fro2_spec2, weight_gram
    sq = np.random.default_rng(0).standard_normal((2, 1000, 1000))

    def seconds(fn: Callable[[], object]) -> float:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    def best_observe(st: Any, between: Callable[[], object]) -> float:
        each = []
        for _ in range(5):
            between()
            t0 = time.perf_counter()
            st.observe()
            each.append(time.perf_counter() - t0)
        return min(each)

    segments: dict[int, Any] = {}
    for n in ns:  # a frozen-pattern segment per n, past its first two checkpoints
        rc = base(n, max(ms)).with_(data=DataSpec(kind="nearly_orthogonal", p_ratio=1e-6))
        au = AutoState(SpanState(rc, *resolve(rc)))
        while au.frozen is None and au.t < 20 * FROZEN_AFTER:
            au.advance(FROZEN_AFTER)
        if au.frozen is None:
            raise RuntimeError(f"n = {n}: no frozen pattern after {au.t} steps")
        for _ in range(2):  # the segment's first two checkpoints: the direct projection, then Q (once)
            au.advance(10)
            au.observe()
        segments[n] = (au, au.segment, au.handbacks)
    checkpoints = [{"n": n, "m": max(ms), "first_s": np.inf, "each_s": np.inf, "dense_s": np.inf,
                    "segment_s": np.inf, "proj_flops": 0, "dgemm_flops": 0.0} for n in ns]

    def checkpoint_round() -> None:
        """One round of the checkpoint figures, each kept at its best."""
        dgemm = max(2e9 / seconds(lambda: sq[0] @ sq[1]) for _ in range(3))
        for ck in checkpoints:
            n = ck["n"]
            cfg = base(n, max(ms))
            st = SpanState(cfg, *resolve(cfg))
            st.advance(100)
            first = seconds(st.observe)
            each = best_observe(st, lambda: None)
            dense = seconds(lambda st=st, cfg=cfg: fro2_spec2(weight_gram(st.init.K0, st.init.P0, st.Z + st.Zc,
                                                                        st.G), cfg.widths))
            au, segment, handbacks = segments[n]
            seg = best_observe(au, lambda au=au: au.advance(10))
            if not (au.segment is segment and au.handbacks == handbacks and segment.worth
                    and segment.Q is not None):
                raise RuntimeError(f"n = {n}: the frozen-segment timing did not run on the updated projections")
            ck.update(first_s=min(ck["first_s"], first), each_s=min(ck["each_s"], each),
                      dense_s=min(ck["dense_s"], dense), segment_s=min(ck["segment_s"], seg),
                      proj_flops=2 * st.spectrum().projection_flops(n), dgemm_flops=max(ck["dgemm_flops"], dgemm))

    checkpoint_round()
    for ck in checkpoints:
        print(f"# checkpoint n={ck['n']} m={ck['m']}: {1e3 * ck['each_s']:.1f} ms each (first {ck['first_s']:.2f} s; "
              f"projection floor {1e3 * ck['proj_flops'] / ck['dgemm_flops']:.1f} ms), in a frozen segment "
              f"{1e3 * ck['segment_s']:.1f} ms, forming W W^T + eigensolves {1e3 * ck['dense_s']:.0f} ms", flush=True)
    # batched: B seeds of the n = 10, m = 100 cell
    bcfgs = [base(BATCH_N, BATCH_M).with_(seed=s) for s in range(BATCH_B)]
    brs = [resolve(c) for c in bcfgs]

    def batch_state() -> Any:
        return BatchState(bcfgs, [r[0] for r in brs], [r[1] for r in brs])

    def run_batched(steps: int) -> float:
        st = batch_state()
        t0 = time.perf_counter()
        st.advance(steps)
        dt = time.perf_counter() - t0
        if np.any(st.diverged >= 0):
            raise RuntimeError("the batched span engine diverged")
        return dt

    def run_single(steps: int) -> float:
        sts = [SpanState(c, *r) for c, r in zip(bcfgs, brs, strict=True)]
        t0 = time.perf_counter()
        for st in sts:
            if st.advance(steps) is not None:
                raise RuntimeError("the span engine diverged")
        return time.perf_counter() - t0

    # batched auto's frozen-pattern steps: in-regime configurations whose patterns froze
    frozen0 = []
    for c in bcfgs:
        rc = c.with_(data=DataSpec(kind="nearly_orthogonal", p_ratio=1e-6))
        a = AutoState(SpanState(rc, *resolve(rc)))
        a.advance(FROZEN_AFTER)
        if not a.lane_ready:
            raise RuntimeError(f"seed {rc.seed}: no fully frozen pattern after {FROZEN_AFTER} steps")
        frozen0.append(a)

    def run_frozen(together: bool) -> Callable[[int], float]:
        def run(steps: int) -> float:
            sts = copy.deepcopy(frozen0)
            before = [st.frozen_steps for st in sts]
            t0 = time.perf_counter()
            if together:
                bad = advance_together(sts, FROZEN_AFTER + steps)
            else:
                bad = {j: b for j, st in enumerate(sts) if (b := st.advance(steps)) is not None}
            dt = time.perf_counter() - t0
            if bad or any(st.frozen_steps - b0 != steps for st, b0 in zip(sts, before, strict=True)):
                raise RuntimeError("a frozen pattern handed back or diverged in the frozen-lanes benchmark")
            return dt
        return run

    def run_threads(steps: int) -> float:
        """The batched span engine on one thread per allowed core, unpinned for the call."""
        os.sched_setaffinity(0, set(allowed))
        try:
            st = BatchState(bcfgs, [r[0] for r in brs], [r[1] for r in brs], threads=len(allowed))
            t0 = time.perf_counter()
            st.advance(steps)
            dt = time.perf_counter() - t0
        finally:
            os.sched_setaffinity(0, {args.core})
        if np.any(st.diverged >= 0):
            raise RuntimeError("the batched span engine diverged")
        return dt

    batch_state().advance(2)  # numba warm-up
    run_frozen(True)(10)
    if len(allowed) > 1:
        run_threads(2)  # compiles, and starts numba's threads while unpinned
    bstates = batch_state().states
    bdata = jp.stack([jp.data_of(s) for s in bstates])
    bcarry = jp.stack([jp.init_same(jp.data_of(s)) for s in bstates])
    bfl = flops_per_step(2 * BATCH_M, BATCH_N) * BATCH_B
    batched: dict[str, Any] = {"B": BATCH_B, "n": BATCH_N, "m": BATCH_M, "steps": {}, "rate": {}, "rounds": {}}
    bfns = {"span": run_batched, "span_single": run_single, "jax_vmap": timed_jax(jp.batched, bdata, bcarry),
            "frozen_lanes": run_frozen(True), "frozen_alone": run_frozen(False)}
    guesses = [("span", 15e9), ("span_single", 15e9), ("jax_vmap", 4e9), ("frozen_lanes", 1.6e12),
               ("frozen_alone", 6e11)]
    if len(allowed) > 1:
        bfns["span_threads"] = run_threads
        guesses.append(("span_threads", 25e9))
    batched["threads"] = len(allowed)
    for eng, g in guesses:
        batched["steps"][eng] = calibrate(bfns[eng], nice(g / bfl * lo / 2), lo, hi)
        batched["rate"][eng] = 0.0
        batched["rounds"][eng] = []
    print(f"# calibration and compiles: {time.perf_counter() - t_cal:.0f} s; agreement check ...", flush=True)
    agreement = jp.agreement(base(BATCH_N, BATCH_M), AGREE_STEPS, BATCH_B)

    t_rounds = time.perf_counter()
    by_cell: dict[int, list[tuple[dict[str, Any], str, Callable[[int], float]]]] = {}
    for run in runs:
        by_cell.setdefault(id(run[0]), []).append(run)
    for r in range(repeats):
        # each cell's engines one after the other, their order rotated round by round, so that every engine
        # takes every place (a place's advantage, such as a cell's first run being faster, is shared out)
        for group in by_cell.values():
            for cell, eng, fn in group[r % len(group):] + group[:r % len(group)]:
                steps = cell["steps"][eng]
                cell["rounds"][eng].append(steps / fn(steps))
                cell["rate"][eng] = max(cell["rounds"][eng])
        for eng, fn in bfns.items():
            steps = batched["steps"][eng]
            batched["rounds"][eng].append(BATCH_B * steps / fn(steps))
            batched["rate"][eng] = max(batched["rounds"][eng])
        if r > 0:  # (the first round's ran above, with the calibration)
            checkpoint_round()
        print(f"# round {r + 1}/{repeats} done ({time.perf_counter() - t_rounds:.0f} s)", flush=True)
    mc["load_end"] = os.getloadavg()[0]
    for cell in cells:  # only the timed step counts' frozen-pattern shares
        for key, eng in (("regime", "auto_regime"), ("s6", "auto_s6")):
            cell["auto_extra"][key] = cell["auto_extra"][key].get(cell["steps"][eng], {})
    res = {"date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"), "quick": args.quick,
           "repeats": repeats, "rotated": True, "window_s": [lo, hi], "machine": mc, "cells": cells,
           "batched": batched,
           "agreement": agreement, "checkpoints": checkpoints, "argv": sys.argv[1:]}
    if args.json is not None:
        with open(args.json, "x") as fh:  # "x": never overwrite (checked above too)
            json.dump(res, fh, indent=1)
        print(f"# wrote {args.json}")
    emit(render(res), args.readme)


def emit(block: str, readme: Path | None) -> None:
    """Print the block; with ``readme``, rewrite that file's scaling block with it (``rewrite_block``)."""
    print()
    print(block)
    if readme is not None:
        try:
            rewrite_block(readme, block)
        except (OSError, ValueError) as e:
            sys.exit(f"--readme {readme}: {e}")
        print(f"# rewrote the scaling block of {readme}")


if __name__ == "__main__":
    main()
