"""Command line of the suite: the theory report, counterexample hunts, boundary walks, corpus replays.

    python -m invariants report [--out DIR]            the main job: claim table, plots, boundaries
    python -m invariants hunt --claim KCG-5.8 --axis near-orthogonality --gram ones [--save]
    python -m invariants boundary --claim KCG-5.6 --axis "step size"
    python -m invariants replay tests/corpus/*.json
    python -m invariants check run.npz [--claim ID] [--json PATH]   judge a saved run (yours or simulated)
    python -m invariants power [--claim ID] [--json PATH]   the smallest planted deviation each check detects
    python -m invariants atlas [--claim ID] [--axis AXIS] [--quick] [--scheduler ADDRESS] [--out DIR]
                                                          where each claim stops holding, over n and gamma
    python -m invariants implied --margins JSON           is each implied constant absolute across the regime?
    python -m invariants claims [ID]                    the registry; one claim in full with path:line

Exit codes: 0 success (report: every asserted claim held as declared; hunt: no counterexample;
replay: every verdict reproduced), 1 a claim broke / a counterexample was found / a replay differs,
2 bad usage (a flag, claim ID or file; the message names it), 3 an internal error (a defect of the
suite: the traceback is printed), 4 a hunt found only a run too short to show the claim, 5 only
diverged runs, 130 interrupted (Ctrl-C; nothing half-written is left behind).
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
import traceback
from collections.abc import Callable
from datetime import date
from pathlib import Path

EXIT_OK, EXIT_FOUND, EXIT_USAGE, EXIT_INTERNAL, EXIT_TOO_SHORT, EXIT_DIVERGED = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a command whose reader closed the pipe


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nearorth-theory-suite")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"


def int_at_least(lo: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``lo``; anything else is a usage error naming the flag."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {lo}; got {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"must be an integer >= {lo}; got {value}")
        return value

    parse.__name__ = f"integer >= {lo}"
    return parse


def factor_above_one(text: str) -> float:
    """An argparse type: a finite factor > 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 1; got {text!r}") from None
    if not (math.isfinite(value) and value > 1):
        raise argparse.ArgumentTypeError(f"must be a finite number > 1 (factor 1 is the declared bound); got {text}")
    return value


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The description as written, and every option's default (when it has one) in its help."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.option_strings and not any(action.default is v for v in (None, False, argparse.SUPPRESS)):
            text += " (default: %(default)s)"
        return text


def replay_command(path: Path) -> str:
    """The replay command for a saved example, runnable as printed (this interpreter, shell-quoted)."""
    return shlex.join([sys.executable, "-m", "invariants", "replay", str(path)])


def cmd_report(a: argparse.Namespace) -> int:
    from .report import main_report

    return main_report(Path(a.out), steps=a.steps, boundary_steps=a.boundary_steps, seeds=a.seeds,
                       tests=not a.no_tests)


def cmd_hunt(a: argparse.Namespace) -> int:
    from .corpus import CORPUS_DIR, Example, save
    from .hunt import hunt

    def tick(k: int) -> None:
        where = a.axis or "(inside the regime)"
        sys.stderr.write(f"\rhunting {a.claim} past {where}: example {k}/{a.budget}")
        sys.stderr.flush()

    if a.out and Path(a.out).exists() and not Path(a.out).is_dir():  # checked before the hunt, not after it
        from .._internal.errors import UsageError

        raise UsageError(f"--out {a.out}: exists and is not a directory (the corpus folder to save into)")
    rep = hunt(a.claim, a.axis, budget=a.budget, seed=a.seed, steps=a.steps, gram=a.gram, on_example=tick)
    sys.stderr.write("\n")
    s = rep.summary()
    print(f"claim {rep.claim}; assumption broken: {rep.axis or 'none'}; data: {rep.gram}; "
          f"{rep.tried} examples tried, {rep.diverged_seen} diverged")
    if rep.closest is not None:
        c = rep.closest
        print(f"closest call: {c.claim} margin {c.margin:+.4g} (where {c.where}; data "
              f"{c.config.get('origin') or rep.gram})")
    if rep.case is None:
        print("no counterexample found in what was tried (outcome: none_found)")
        return 0
    from .._internal.claim import get

    if get(rep.claim.split(":")[0]).status == "measured":
        print(f"note: {rep.claim} is measured, not asserted (an open question or a figure): a failure here is a "
              f"data point, not a counterexample to a theorem")
    print(f"outcome: {rep.outcome}\nminimal example: {s['case']}\nmargin: {s.get('margin')}\n"
          f"where: {s.get('where')}\nnote: {s.get('note')}\n"
          f"assumption slack (log10, < 0 = past it): {s['slack']}\n"
          f"inside the claim's own regime (registry predicate): {s['in_claim_regime']}")
    if a.save or a.out:
        ex = Example(claim=rep.claim, config=rep.case.cfg, data=rep.case.data, outcome=rep.outcome,
                     margin=rep.result.margin if rep.result else float("nan"),
                     assumption={"axis": rep.axis, "slack": s["slack"], "gram": rep.gram},
                     found_by={"suite_version": _version(), "date": date.today().isoformat(),
                               "command": shlex.join([sys.executable, "-m", "invariants", *sys.argv[1:]])},
                     note=s.get("note") or "")
        directory = Path(a.out) if a.out else CORPUS_DIR
        existing = set(directory.glob("*.json")) if directory.exists() else set()
        path = save(ex, directory)
        known = path in existing
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            pass
        print(f"the same counterexample is already in the corpus: {path} (nothing written)" if known
              else f"saved to {path}")
        print(f"replay: {replay_command(path)}")
    return {"failed": EXIT_FOUND, "too_short": EXIT_TOO_SHORT, "diverged": EXIT_DIVERGED}.get(rep.outcome, EXIT_OK)


def cmd_replay(a: argparse.Namespace) -> int:
    """Replay every file (a broken one is reported and the others still run); exit 2 if any file could not
    be replayed, else 1 if any verdict differs, else 0."""
    from sim import ConfigError

    from .._internal.errors import UsageError
    from .._internal.regimes import Case
    from .corpus import CorpusError, load
    from .hunt import classify

    broken = differs = 0
    for f in a.files:
        try:
            ex = load(f)
            v = classify(ex.claim, Case(ex.config, ex.data))
        except (CorpusError, UsageError, ConfigError) as e:
            msg = str(e) if str(e).startswith(str(f)) else f"{f}: {e}"
            print(f"error: {msg}", file=sys.stderr)
            broken += 1
            continue
        margin = v.result.margin if v.result else float("nan")
        same = v.outcome == ex.outcome and (math.isnan(ex.margin) or (margin >= 0) == (ex.margin >= 0))
        differs += not same
        print(f"{'same' if same else 'DIFFERS'}: {f}: {ex.claim} expected {ex.outcome} "
              f"(margin {ex.margin:+.4g}), got {v.outcome} (margin {margin:+.4g})")
    if broken:
        print(f"{broken} of {len(a.files)} files could not be replayed", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_FOUND if differs else EXIT_OK


def cmd_boundary(a: argparse.Namespace) -> int:
    from .hunt import boundary
    from .report import threshold_as_C

    row = boundary(a.claim, a.axis, seeds=a.seeds, steps=a.steps, gram=a.gram, hi=a.max_factor)
    print(f"{row.claim} along {row.axis}: {threshold_as_C(row)}; last factor that held {row.last_held:.4g}")
    for f, e, s in row.tried:
        print(f"  factor {f:10.4g} (effective {e:10.4g}): {s}")
    return 0


def cmd_check(a: argparse.Namespace) -> int:
    """Judge a saved run: the claims table, then one line per result; exit 1 if a claim failed on a run that
    meets that theorem's assumptions (a failure outside them is reported, not an error)."""
    from sim import Trajectory

    from .._internal.jsonout import dumps
    from .._internal.judge import judge, verdict_table
    from .._internal.outputs import new_file, write_new

    if a.json:
        new_file("--json", a.json)
    traj = Trajectory.load(a.run)
    results = judge(traj, a.claim)
    rows = [r.to_json() | {"test": str(a.run)} for r in results]
    agg, lines = verdict_table(results, str(a.run))
    c = traj.config
    print(f"{a.run}: network {c.network}, {c.activation}" + (f" gamma={c.gamma}" if c.gamma is not None else "")
          + f", n={c.n}, d={c.d}, m={c.m}, {len(traj.times)} checkpoints up to t={int(traj.times[-1])}, "
          f"engine {traj.engine}" + ("" if traj.extra.get("every_step", True) else ", checkpoints only"))
    for line in lines:
        print(line)
    print()
    for r in results:
        margin = f"{r.margin:+10.4g}" if not math.isnan(r.margin) else f"{'-':>10}"  # no margin (too short, ...)
        print(f"{r.claim:<18} {r.outcome:<12} {margin}  {r.note}")
    if a.json:
        write_new("--json", a.json, dumps({"run": str(a.run), "claims": agg, "results": rows}))
        print(f"written to {a.json}")
    inside_failed = [r for r in results if r.outcome == "failed" and not r.config.get("assumptions_unmet")]
    return EXIT_FOUND if inside_failed else EXIT_OK


def cmd_atlas(a: argparse.Namespace) -> int:
    from .._internal.errors import UsageError
    from .atlas import main_atlas, main_chain

    if a.chain:
        if a.claim or a.axis or a.quick:
            raise UsageError("--chain tables fixed theorems (KCG Thm 4.1, 4.3, FVB Thm 4.2): no --claim, --axis, "
                             "--quick")
        return main_chain(a.out, a.workers, a.scheduler, a.max_factor)
    return main_atlas(a.claim, a.axis, a.quick, a.scheduler, a.out, a.workers, a.max_factor, a.steps)


def cmd_implied(a: argparse.Namespace) -> int:
    from .constants import main_constants

    return main_constants(a.margins, a.json)


def cmd_power(a: argparse.Namespace) -> int:
    from .power import main_power

    return main_power(a.claim, a.json, a.deep, a.md)


def cmd_claims(a: argparse.Namespace) -> int:
    from .._internal.errors import UsageError
    from .claims_page import claim_page, claims_table, constants_table

    if a.constants:
        if a.id:
            raise UsageError("claims --constants takes no claim ID (it tables every declared constant)")
        print(constants_table(), end="")
    elif a.id:
        print(claim_page(a.id))
    else:
        print(claims_table(Path(a.found) if a.found else None))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from ..kcg.regime import AXES, GRAMS

    # the console script is ``nearorth``; ``python -m invariants`` otherwise (argv[0] is then __main__.py)
    prog = "nearorth" if Path(sys.argv[0]).name == "nearorth" else "python -m invariants"
    ap = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=HelpFormatter)
    ap.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = ap.add_subparsers(dest="cmd", required=True,
                            metavar="{report,hunt,boundary,replay,check,power,atlas,implied,claims}")
    r = sub.add_parser("report", help="the theory report (main job)", formatter_class=HelpFormatter,
                       description="Run the property tests, the long default sweep, the boundary walks and the "
                       "papers' figure reruns; write report.md, report.json, margins.json and the plots into "
                       "--out, whole or not at all (a previous report there is replaced only once the new one "
                       "is complete).")
    r.add_argument("--out", default="report", help="output directory")
    r.add_argument("--steps", type=int_at_least(1), default=10_000_000,
                   help="horizon of the default sweep's long runs (GD steps)")
    r.add_argument("--boundary-steps", type=int_at_least(1), default=5_000, help="horizon of each boundary-walk run")
    r.add_argument("--seeds", type=int_at_least(1), default=3, help="seeds per boundary-walk point")
    r.add_argument("--no-tests", action="store_true", help="skip the property tests (no claim table)")
    r.set_defaults(fn=cmd_report)
    h = sub.add_parser("hunt", help="hunt for a counterexample past one assumption", formatter_class=HelpFormatter,
                       description="Search configurations past one assumption (the others held) for a case "
                       "where the claim fails at --steps and still fails at 10x --steps; shrink it to a "
                       "minimal one. The whole hunt, shrinking included, simulates at most --budget examples.")
    h.add_argument("--claim", required=True, help="the claim ID (python -m invariants claims lists them; hunts run "
                   "on the claims with a regime family and a hunt check)")
    h.add_argument("--axis", default=None, help="the assumption to break, one of the claim's axes (KCG: "
                   f"{', '.join(AXES)}); none: inside the regime")
    h.add_argument("--gram", default="random",
                   help=f"data: one of the regime family's Gram kinds ({', '.join(GRAMS)}: off-diagonal signs random, "
                   "or all positive)")
    h.add_argument("--budget", type=int_at_least(1), default=40,
                   help="examples simulated in all, shrinking included")
    h.add_argument("--seed", type=int_at_least(0), default=0,
                   help="seed of the search (the same seed gives the same hunt)")
    h.add_argument("--steps", type=int_at_least(1), default=20_000, help="GD horizon of each example tried")
    h.add_argument("--save", action="store_true", help="add the found example to tests/corpus/ (never overwrites)")
    h.add_argument("--out", default=None, metavar="DIR",
                   help="save the example into DIR instead of tests/corpus/ (implies --save)")
    h.set_defaults(fn=cmd_hunt)
    b = sub.add_parser("boundary", help="walk one assumption outward and report where a claim first fails",
                       formatter_class=HelpFormatter,
                       description="Start inside (factor 1: the assumption holds with equality at the declared "
                       "constant) and bisect on a log scale up to --max-factor for the smallest factor at which "
                       "the claim fails on any seed (n = 4, gamma = 0.5).")
    b.add_argument("--claim", required=True, help="a claim ID whose regime family builds walk cases, e.g. KCG-5.6")
    b.add_argument("--axis", required=True, help="the assumption to walk along, one of the claim's axes but "
                   f"label balance (KCG: {', '.join(a for a in AXES if a != 'label balance')})")
    b.add_argument("--gram", default="random", help=f"data ({', '.join(GRAMS)})")
    b.add_argument("--seeds", type=int_at_least(1), default=3, help="seeds per factor (the claim must hold on all)")
    b.add_argument("--steps", type=int_at_least(1), default=5_000, help="GD horizon of each run")
    b.add_argument("--max-factor", type=factor_above_one, default=1e3,
                   help="the largest factor past the declared bound to try")
    b.set_defaults(fn=cmd_boundary)
    p = sub.add_parser("replay", help="replay corpus files and compare verdicts", formatter_class=HelpFormatter,
                       description="Replay each file (a broken file is reported and the rest still run). Exit 0: "
                       "every verdict reproduced; 1: one differs; 2: a file could not be replayed.")
    p.add_argument("files", nargs="+", help="corpus JSON files (tests/corpus/*.json)")
    p.set_defaults(fn=cmd_replay)
    k = sub.add_parser("check", help="judge a saved run (Trajectory.save) by every claim that can",
                       formatter_class=HelpFormatter,
                       description="Load a run saved with Trajectory.save (from simulate or from your own loop via "
                       "sim.Recorder) and print the claims table for it. Each result says which of the theorem's "
                       "assumptions the run does not meet. Exit 0: no claim failed on a run inside its "
                       "assumptions; 1: one did; 2: a bad file or claim ID.")
    k.add_argument("run", help="a .npz file written by Trajectory.save")
    k.add_argument("--claim", action="append", default=None, metavar="ID",
                   help="judge only this claim (ID or prefix; repeatable)")
    k.add_argument("--json", default=None, metavar="PATH", help="write the claims and every result to PATH")
    k.set_defaults(fn=cmd_check)
    w = sub.add_parser("power", help="the smallest planted deviation each check detects",
                       formatter_class=HelpFormatter,
                       description="Plant near misses of size eps (a limit offset, an exponent off by eps, a "
                       "spread violated by a factor 1 + eps, one activation change after T) into real in-regime "
                       "runs and report the smallest eps the real check detects, against the suite's targets.")
    w.add_argument("--claim", action="append", default=None, metavar="ID",
                   help="a claim or result ID (prefix match; repeatable); default: every deviation family")
    w.add_argument("--json", default=None, metavar="PATH",
                   help='write {claim: {"deviation", "epsilon", "horizon", ...}} to PATH')
    w.add_argument("--deep", action="store_true", help="also at the deep profile's horizon (100x)")
    w.add_argument("--md", default=None, metavar="PATH",
                   help="write the table as Markdown to PATH (docs/power.md is this output, with --deep)")
    w.set_defaults(fn=cmd_power)
    t = sub.add_parser("atlas", help="where each claim stops holding, over a grid of n and gamma, on Dask",
                       formatter_class=HelpFormatter,
                       description="Boundary walks for every asserted walkable claim along every axis, over a grid "
                       "of n and gamma with several seeds per cell, run as tasks on dask.distributed; each "
                       "finished task is stored at once (resumable), then atlas.json (critical factors or caps, "
                       "fitted n- and gamma-slopes with 95% intervals) and one plot per claim and axis.")
    t.add_argument("--claim", action="append", default=None, metavar="ID", help="a claim ID (repeatable); "
                   "default: every asserted claim a boundary walk can decide")
    t.add_argument("--axis", action="append", default=None, metavar="AXIS", help="an assumption axis (repeatable)")
    t.add_argument("--quick", action="store_true", help="the small grid (n 4, 6, 8; gamma 0.3, 0.5, 0.7; 2 seeds; "
                   "5e3 steps) on three claim-axis pairs unless --claim/--axis name others")
    t.add_argument("--scheduler", default=None, metavar="ADDRESS", help="an existing Dask scheduler (default: a "
                   "LocalCluster sized to the machine)")
    t.add_argument("--workers", type=int, default=None, help="LocalCluster workers (default: the CPU count; 0: "
                   "no Dask, run in this process)")
    t.add_argument("--max-factor", type=float, default=1e3, help="the largest factor past the bound a walk tries")
    t.add_argument("--steps", type=int, default=None, metavar="N", help="the walks' horizon (default: the grid's, "
                   "2e4, or 5e3 with --quick)")
    t.add_argument("--chain", action="store_true", help="the proof-chain tables instead: along every axis, which "
                   "lemma of KCG Thm 4.1 / 4.3 (and FVB Thm 4.2) gives way first, and whether the conclusions "
                   "hold there")
    t.add_argument("--out", default="atlas", metavar="DIR", help="the store and outputs (resumed if it exists)")
    t.set_defaults(fn=cmd_atlas)
    i = sub.add_parser("implied", help="regress each implied constant on log n, m, gamma, d, eta, sigma0, R",
                       formatter_class=HelpFormatter,
                       description="For every 'there is a constant' claim, regress the implied constant of each run "
                       "in a margins JSON on log n, log m, log gamma, log d, log(eta/eta_max), log(sigma0/sigma0_max) "
                       "and log R; a slope whose 95% interval excludes 0 means the constant is not absolute there.")
    i.add_argument("--margins", required=True, metavar="JSON", help="a margins JSON (./run.sh test --margins-json "
                   "PATH, or a report's margins.json)")
    i.add_argument("--json", default=None, metavar="PATH", help="also write the regressions to PATH")
    i.set_defaults(fn=cmd_implied)
    c = sub.add_parser("claims", help="list the claim registry, or print one claim in full",
                       formatter_class=HelpFormatter,
                       description="Without an ID: one row per claim, what the registry declares beside what "
                       "the last report found. With an ID: the claim's whole entry.")
    c.add_argument("id", nargs="?", default=None, help="a claim ID: print its statement, reading, regime, declared "
                   "constants, proof dependencies, and path:line of its checks and tests")
    c.add_argument("--found", default=None, metavar="JSON",
                   help="the report or margins JSON whose verdicts fill the 'found' column (default: "
                   "report/report.json when it exists)")
    c.add_argument("--constants", action="store_true",
                   help="print every declared constant with its value and where it comes from (the paper's proof, "
                   "measured here, or a choice of the suite) as Markdown: docs/constants.md is this output")
    c.set_defaults(fn=cmd_claims)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Parse, run, and map what escapes to an exit code: a usage error (a flag, an ID, a file) is 2 with
    its message, Ctrl-C is 130 with one line, anything else is an internal error, 3, with its traceback."""
    from sim import ConfigError

    from .._internal.errors import StageError, UsageError
    from .corpus import CorpusError

    a = build_parser().parse_args(argv)
    try:
        return a.fn(a)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`... | head`): quiet, as a command killed by SIGPIPE
        try:  # stdout to /dev/null, so that the interpreter's final flush does not raise again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (AttributeError, OSError, ValueError):  # not a real file (captured): nothing to flush there
            pass
        return EXIT_BROKEN_PIPE
    except (UsageError, ConfigError, CorpusError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except StageError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except Exception:  # anything else is a defect of the suite, reported as one
        print("internal error (a defect of the suite, not of your input; please report it with the command "
              "and this traceback):", file=sys.stderr)
        traceback.print_exc()
        return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
