"""``python -m sim``: run one GD simulation and print a readable summary over log-spaced t.

Defaults are KCG's section 6 synthetic experiment (n = 10, d = 784, m = 100, eta = 0.1, Gaussian
mixture with mu ~ N(0, 1e-4 I), sigma_p = 1), sigma0 = 1e-4, leaky ReLU with gamma = 0.1, and the
same network with ReLU beside it.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from .config import DataSpec, SimConfig
from .errors import ConfigError
from .simulate import simulate
from .trajectory import Trajectory


def _fmt(v: float) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def print_summary(traj: Trajectory, every: int = 1, out: TextIO | None = None) -> None:
    out = sys.stdout if out is None else out  # looked up at the call: a bound default would miss a redirection
    cfg, data = traj.config, traj.data
    print(f"\n== {cfg.activation}" + (f" gamma={cfg.gamma}" if cfg.gamma is not None else "")
          + f", n={cfg.n}, d={cfg.d}, m={cfg.m}, eta={cfg.eta}, sigma0={cfg.sigma0}, seed={cfg.seed}, "
          f"engine={traj.engine} ==", file=out)
    print("data: " + ", ".join(f"{k}={_fmt(v)}" for k, v in data.summary(cfg.gamma).items()), file=out)
    rows = traj.summary_rows()[::every]
    if rows:
        keys = list(rows[0])
        print("  ".join(f"{k:>14}" for k in keys), file=out)
        for r in rows:
            print("  ".join(f"{_fmt(r[k]):>14}" for k in keys), file=out)
    if len(traj.times) == 0:  # diverged before its first checkpoint (at step 0: W(0) itself is not finite)
        print("no checkpoint recorded", file=out)
    else:
        frozen = traj.pattern_frozen_at
        print(f"activation changes: {int(traj.changes_flat.sum())} in total; last at step {frozen}"
              + (" (pattern unchanged since)" if frozen < traj.times[-1] else ""), file=out)
    ex = traj.extra
    if "frozen_steps" in ex and len(traj.times) and traj.times[-1] > 0:
        print(f"engine: {traj.engine}; {ex['frozen_steps']:,} frozen-pattern steps "
              f"({ex['frozen_steps'] / traj.times[-1]:.1%}), at most {ex['free_max']} free entries, "
              f"{ex['handbacks']} hand-backs", file=out)
    if traj.diverged:
        print(f"DIVERGED at step {traj.diverged_at}: margins or loss became non-finite", file=out)


def main(argv: list[str] | None = None) -> int:
    """Exit 0 after printing the runs (a diverged run is printed as diverged), 2 on a bad flag (the message
    names it and its range), 130 on Ctrl-C."""
    ap = argparse.ArgumentParser(prog="python -m sim", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Exit codes: 0 done, 2 a bad flag, 130 interrupted.")
    ap.add_argument("--activation", choices=["leaky_relu", "relu", "both"], default="both",
                    help="the activation(s) to run (default: both)")
    ap.add_argument("--gamma", type=float, default=0.1, help="leaky slope in (0, 1) (default: 0.1)")
    ap.add_argument("--n", type=int, default=10, help="number of data points, >= 2 (default: 10)")
    ap.add_argument("--d", type=int, default=784, help="input dimension, >= n (default: 784)")
    ap.add_argument("--m", type=int, default=100, help="neurons of each sign, >= 1 (default: 100)")
    ap.add_argument("--eta", type=float, default=0.1, help="GD step size, > 0 (default: 0.1)")
    ap.add_argument("--sigma0", type=float, default=1e-4, help="std of every entry of W(0), > 0 (default: 1e-4)")
    ap.add_argument("--steps", type=int, default=100_000, help="GD steps, >= 0 (default: 100000)")
    ap.add_argument("--seed", type=int, default=0, help="seed of data and init, >= 0 (default: 0)")
    ap.add_argument("--rows", type=int, default=16, help="log-spaced checkpoints to print, >= 2 (default: 16)")
    args = ap.parse_args(argv)
    acts = ["leaky_relu", "relu"] if args.activation == "both" else [args.activation]
    try:
        for act in acts:
            try:
                cfg = SimConfig(activation=act, gamma=args.gamma if act != "relu" else None, n=args.n, d=args.d,
                                m=args.m, eta=args.eta, sigma0=args.sigma0, steps=args.steps, seed=args.seed,
                                num_checkpoints=args.rows, data=DataSpec())
            except ConfigError as e:
                flag = str(e).split(" ", 1)[0]
                print(f"error: --{flag if flag != 'num_checkpoints' else 'rows'}: {e}", file=sys.stderr)
                return 2
            t0 = time.perf_counter()
            traj = simulate(cfg)
            print_summary(traj)
            print(f"({cfg.steps} GD steps in {time.perf_counter() - t0:.2f} s)")
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
