"""What a span engine with configurations in vector lanes could gain on one core: an estimate, measured.

Issue 14 asks the batched span engine for 1.5x the single engine's configuration-steps per second at
B = 32 and proposes configurations in vector lanes.  The single engine's step is already 8 lanes wide,
on its own entries (``sim.simd_wide``), so lanes over configurations change which entries share an
instruction more than how many instructions an entry costs.  This measures what they gain in practice:
``lanes_estimate.c``, the span step hand-written and tuned in AVX-512 intrinsics with 8 configurations in
the 8 lanes, with advantages the project's engines do not have (the list is in its header: n a
compile-time constant with every loop over the points unrolled, no bit-for-bit summation order, P not
stored, a 1-bit pattern, no running sum S, no finiteness checks, and the layout conversion outside the
timing), against the single span engine (each configuration's ``SpanState.advance`` in turn) and the
batched one (``sim.batched.BatchState``, one compiled call), in rounds whose order rotates, on one pinned
core.  It is an estimate, not a bound: a faster kernel may exist.  After the first round's steps the
outputs of the C kernel and of the span engine agree to rounding and their activation-change counts and
last-change steps are compared entry by entry: the same work.

It needs a C compiler (``--cc``, default ``$CC`` or ``cc``) and a host with AVX-512; without them it says so
and exits 0 (nothing measured).  Leaky ReLU, logistic loss, KCG section 6 data, ``benchmarks/scaling.py``'s
configuration, seeds 0 .. B - 1.

    .venv/bin/python benchmarks/lanes_estimate.py [--sizes 10x50,10x100,10x400,10x1000] [--batch 32]
                                                  [--repeats R] [--seconds S] [--core C] [--cc CC]
                                                  [--readme README.md]

``--readme PATH`` rewrites only the block between ``<!-- lanes_estimate:begin -->`` and
``<!-- lanes_estimate:end -->`` of PATH (``scaling.replace_block``).
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling import check_core_json, check_readme, machine_line, pin, rewrite_block

BEGIN, END = "<!-- lanes_estimate:begin -->", "<!-- lanes_estimate:end -->"
SOURCE = Path(__file__).resolve().with_suffix(".c")
LANES = 8
GAMMA, ETA, SIGMA0, D = 0.1, 0.1, 1e-4, 784  # benchmarks/scaling.py's configuration
ENGINES = ("single", "batched", "lanes")
CFLAGS = ("-O3", "-march=native", "-mprefer-vector-width=512", "-ffp-contract=fast", "-shared", "-fPIC")


MAX_N = 12  # the kernel keeps n factors, n sums and the neuron's n entries of Z + Zc in 32 registers


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """``"10x100,10x400"`` -> [(10, 100), (10, 400)]; n from 1 to ``MAX_N``, m from 8 to 2000 (``ValueError``
    naming the bad item otherwise).  Above ``MAX_N`` the kernel's registers spill and the P pass would need
    register blocking over (neurons, points) that it does not have (unblocked, a first version measured
    0.75-0.85x the single engine at n = 20): no longer an estimate of the lanes' gain."""
    sizes = []
    for item in text.split(","):
        try:
            n, m = (int(v) for v in item.strip().lower().split("x"))
        except ValueError:
            raise ValueError(f"{item!r} is not NxM (two integers, e.g. 10x100)") from None
        if not (1 <= n <= MAX_N and 8 <= m <= 2000):
            raise ValueError(f"{item!r}: n must be in [1, {MAX_N}] and m in [8, 2000]")
        sizes.append((n, m))
    return sizes


class CompileError(RuntimeError):
    """The C compiler failed on ``lanes_estimate.c`` (its message included)."""


def compile_kernel(cc: str, n: int, folder: Path) -> Any:
    """``lanes_estimate.c`` built for n points into ``folder``; its ``lanes_steps`` with argument types."""
    lib = folder / f"lanes_n{n}.so"
    done = subprocess.run([cc, *CFLAGS, f"-DN={n}", str(SOURCE), "-o", str(lib), "-lm"], capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise CompileError(f"--cc {cc} could not build {SOURCE.name} for n = {n} (exit {done.returncode}):\n"
                           f"{done.stderr.strip()[-2000:]}")
    fn = ctypes.CDLL(str(lib)).lanes_steps
    p = ctypes.c_void_p
    fn.argtypes = [ctypes.c_int, *([p] * 10), ctypes.c_double, ctypes.c_double, ctypes.c_int64, ctypes.c_int]
    fn.restype = None
    return fn


class LaneGroups:
    """The B configurations' span states as groups of 8 in the C kernel's layout (``lanes_estimate.c``)."""

    def __init__(self, states: list[Any], kernel: Any) -> None:
        import numpy as np

        if len(states) % LANES:
            raise ValueError(f"the batch must be a multiple of {LANES}; got {len(states)}")
        self.kernel, self.M, self.t = kernel, states[0].Zt.shape[1], 0
        self.groups = []
        for g in range(0, len(states), LANES):
            sts = states[g:g + LANES]

            def lanes(f: Any, sts: list[Any] = sts) -> Any:
                return np.ascontiguousarray(np.stack([f(s) for s in sts], -1))

            P0 = lanes(lambda s: s.P0t.T)
            bits = (lanes(lambda s: s.Pt.T) >= 0).astype(np.uint8) << np.arange(LANES, dtype=np.uint8)
            pt = lanes(lambda s: s.Pt.T)
            f = np.einsum("kil,kl->il", np.where(pt >= 0, pt, GAMMA * pt), lanes(lambda s: s.a))
            self.groups.append([P0, lanes(lambda s: s.G), lanes(lambda s: s.a), lanes(lambda s: s.y),
                                lanes(lambda s: s.Zt.T), lanes(lambda s: s.Zct.T),
                                np.ascontiguousarray(bits.sum(-1, dtype=np.uint8)),
                                lanes(lambda s: s.changest.T), lanes(lambda s: s.last_changet.T),
                                np.ascontiguousarray(f)])

    def advance(self, steps: int) -> None:
        for g in self.groups:
            self.kernel(self.M, *(x.ctypes.data for x in g), GAMMA, ETA, self.t, steps)
        self.t += steps

    def outputs(self, b: int) -> Any:
        return self.groups[b // LANES][9][:, b % LANES]

    def counts_equal(self, b: int, state: Any) -> bool:
        """Configuration b's activation-change counts and last-change steps equal ``state``'s, entry by entry."""
        g, lane = self.groups[b // LANES], b % LANES
        return bool((g[7][:, :, lane] == state.changest.T).all() and (g[8][:, :, lane] == state.last_changet.T).all())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10x50,10x100,10x400,10x1000", help="(n, m) pairs NxM, comma-separated")
    ap.add_argument("--batch", type=int, default=32, help=f"configurations (a multiple of {LANES}, 8 to 256)")
    ap.add_argument("--repeats", type=int, default=7, help="rounds per size (1 to 100; default 7)")
    ap.add_argument("--seconds", type=float, default=0.2, help="the single engine's time per run (0.01 to 60)")
    ap.add_argument("--core", type=int, help="the core to pin to (default: the last allowed)")
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"), help="the C compiler (default $CC or cc)")
    ap.add_argument("--readme", type=Path, help="rewrite the block between the lanes_estimate markers")
    args = ap.parse_args()
    try:
        sizes = parse_sizes(args.sizes)
    except ValueError as e:
        ap.error(f"--sizes: {e}")
    if not (8 <= args.batch <= 256 and args.batch % LANES == 0):
        ap.error(f"--batch must be a multiple of {LANES} from 8 to 256; got {args.batch}")
    if not 1 <= args.repeats <= 100:
        ap.error(f"--repeats must be in [1, 100]; got {args.repeats}")
    if not 0.01 <= args.seconds <= 60:
        ap.error(f"--seconds must be in [0.01, 60]; got {args.seconds}")
    core = check_core_json(ap, args.core, None)
    check_readme(ap, args.readme, BEGIN, END)  # fail now, not after the measurement
    pin(core)

    from sim.simd_wide import WIDE

    if shutil.which(args.cc) is None or not WIDE:
        why = f"no C compiler {args.cc!r}" if shutil.which(args.cc) is None else "the host has no AVX-512"
        print(f"lanes_estimate: skipped ({why}); nothing measured")
        return

    import numpy as np

    from sim import DataSpec, SimConfig
    from sim.batched import BatchState
    from sim.kernel import outputs
    from sim.simulate import resolve
    from sim.span import SpanState

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, m in sizes:
            try:
                kernel = compile_kernel(args.cc, n, Path(tmp))
            except CompileError as e:
                ap.error(str(e))
            cfgs = [SimConfig(activation="leaky_relu", gamma=GAMMA, n=n, d=D, m=m, eta=ETA, sigma0=SIGMA0, seed=s,
                              checkpoints=[], num_checkpoints=2, data=DataSpec(virtual=False))
                    for s in range(args.batch)]
            res = [resolve(c) for c in cfgs]

            def fresh(which: str, cfgs: list[Any] = cfgs, res: list[Any] = res, kernel: Any = kernel) -> Any:
                sts = [SpanState(c, *r) for c, r in zip(cfgs, res, strict=True)]
                if which == "batched":
                    return BatchState(cfgs, [r[0] for r in res], [r[1] for r in res])
                return LaneGroups(sts, kernel) if which == "lanes" else sts

            def run(which: str, steps: int) -> tuple[float, Any]:
                st = fresh(which)
                t0 = time.perf_counter()
                if which == "single":
                    for s in st:
                        s.advance(steps)
                else:
                    st.advance(steps)
                return time.perf_counter() - t0, st

            for which in ENGINES:  # numba's kernels compiled or loaded, out of the timings
                run(which, 20)
            probe = 100
            while (dt := run("single", probe)[0]) < 0.05:
                probe *= 4
            steps = max(50, round(args.seconds / dt * probe))
            times: dict[str, list[float]] = {e: [] for e in ENGINES}
            agree, same_counts = 0.0, True
            for r in range(args.repeats):
                for which in ENGINES[r % 3:] + ENGINES[:r % 3]:
                    dt, st = run(which, steps)
                    times[which].append(dt)
                    if r == 0 and which == "single":
                        ref = st
                    if r == 0 and which == "lanes":
                        lane_state = st
                if r == 0:  # the same steps from the same start: the outputs agree to rounding
                    for b, s in enumerate(ref):
                        f = np.empty(n)
                        outputs(s.Pt, s.a, s.act_code, s.gamma, f)
                        agree = max(agree, float(np.max(np.abs(lane_state.outputs(b) - f)) / np.max(np.abs(f))))
                        same_counts &= lane_state.counts_equal(b, s)
            rate = {e: args.batch * steps / statistics.median(times[e]) for e in ENGINES}
            ratio = {e: statistics.median(s / x for s, x in zip(times["single"], times[e], strict=True))
                     for e in ENGINES}
            row = {"n": n, "m": m, "steps": steps, "rate": rate, "ratio": ratio, "agree": agree,
                   "same_counts": same_counts,
                   "lanes_range": (min(s / x for s, x in zip(times["single"], times["lanes"], strict=True)),
                                   max(s / x for s, x in zip(times["single"], times["lanes"], strict=True)))}
            rows.append(row)
            print(f"# n={n} m={m} steps={steps}: single {rate['single']:,.0f}, batched {rate['batched']:,.0f} "
                  f"({ratio['batched']:.2f}), lanes {rate['lanes']:,.0f} ({ratio['lanes']:.2f}, rounds "
                  f"{row['lanes_range'][0]:.2f}-{row['lanes_range'][1]:.2f}); agreement {agree:.1e}, counts "
                  f"{'identical' if same_counts else 'DIFFER'}", flush=True)
    block = table(rows, args)
    print(block)
    if args.readme is not None:
        rewrite_block(args.readme, block, BEGIN, END)
        print(f"# rewrote the lanes_estimate block of {args.readme}")


def compiler_version(cc: str) -> str:
    """The first line of ``cc --version`` (or the name alone where it says nothing)."""
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return cc
    return out.splitlines()[0].strip() if out.strip() else cc


def table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = textwrap.fill(
        f"Generated by `benchmarks/lanes_estimate.py --batch {args.batch} --repeats {args.repeats}` on {when}: "
        f"{machine_line()}; one pinned core; `{compiler_version(args.cc)}` with `{' '.join(CFLAGS[:4])}`. "
        f"B = {args.batch} configurations (leaky ReLU, logistic loss, KCG §6 data, seeds 0 .. B − 1), in "
        "configuration-steps/s from each engine's median time; the ratios are the median over rounds (order "
        "rotated) of the single engine's time over the other's within the round, with the lowest and highest "
        "round; agreement: the largest relative difference of the outputs between the C kernel and the span "
        "engine after the same steps, and whether their activation-change counts and last-change steps are "
        "identical.", 105)
    lines = [head, "", "| n | m | single span engine | batched span engine | ÷ single | C, configurations in "
             "lanes | ÷ single (rounds) | agreement |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lo, hi = r["lanes_range"]
        counts = "counts identical" if r["same_counts"] else "counts DIFFER"
        lines.append(f"| {r['n']} | {r['m']} | {r['rate']['single']:,.0f} | {r['rate']['batched']:,.0f} | "
                     f"{r['ratio']['batched']:.2f} | {r['rate']['lanes']:,.0f} | {r['ratio']['lanes']:.2f} "
                     f"({lo:.2f}–{hi:.2f}) | {r['agree']:.1e}, {counts} |")
    return "\n".join(lines)

if __name__ == "__main__":
    main()
