"""Command line of the suite: the theory report, counterexample hunts, boundary walks, corpus replays.

    python -m invariants report [--out DIR]            the main job: claim table, plots, boundaries
    python -m invariants hunt --claim KCG-5.8 --axis near-orthogonality --gram ones [--save]
    python -m invariants boundary --claim KCG-5.6 --axis "step size"
    python -m invariants replay tests/corpus/*.json
    python -m invariants claims [ID]                    the registry; one claim in full with path:line

Exit codes: 0 success (report: every asserted claim held as declared; hunt: no counterexample;
replay: every verdict reproduced), 1 a claim broke / a counterexample was found / a replay differs,
2 bad usage, 4 a hunt found only a run too short to show the claim, 5 only diverged runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # small matrices: BLAS threads only contend


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nearorth-theory-suite")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"


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

    rep = hunt(a.claim, a.axis, budget=a.budget, seed=a.seed, steps=a.steps, gram=a.gram, on_example=tick)
    sys.stderr.write("\n")
    s = rep.summary()
    print(f"claim {rep.claim}; assumption broken: {rep.axis or 'none'}; data: {rep.gram}; "
          f"{rep.tried} examples tried, {rep.diverged_seen} diverged")
    if rep.case is None:
        print("no counterexample found in what was tried (outcome: none_found)")
        return 0
    print(f"outcome: {rep.outcome}\nminimal example: {s['case']}\nmargin: {s.get('margin')}\n"
          f"where: {s.get('where')}\nnote: {s.get('note')}\n"
          f"assumption slack (log10, < 0 = past it): {s['slack']}\n"
          f"inside the claim's own regime (registry predicate): {s['in_claim_regime']}")
    if a.save or a.out:
        ex = Example(claim=rep.claim, config=rep.case.cfg, data=rep.case.data, outcome=rep.outcome,
                     margin=rep.result.margin if rep.result else float("nan"),
                     assumption={"axis": rep.axis, "slack": s["slack"], "gram": rep.gram},
                     found_by={"suite_version": _version(), "date": date.today().isoformat(),
                               "command": " ".join(sys.argv)},
                     note=s.get("note") or "")
        directory = Path(a.out) if a.out else CORPUS_DIR
        existing = set(directory.glob("*.json")) if directory.exists() else set()
        path = save(ex, directory)
        if path in existing:
            print(f"the same counterexample is already in the corpus: {path}")
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            pass
        print(f"saved to {path}\nreplay: python -m invariants replay {path}")
    return {"failed": 1, "too_short": 4, "diverged": 5}.get(rep.outcome, 0)


def cmd_replay(a: argparse.Namespace) -> int:
    from .._internal.regimes import Case
    from .corpus import CorpusError, load
    from .hunt import classify

    bad = 0
    for f in a.files:
        try:
            ex = load(f)
        except CorpusError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        v = classify(ex.claim, Case(ex.config, ex.data))
        margin = v.result.margin if v.result else float("nan")
        same = v.outcome == ex.outcome and (margin >= 0) == (ex.margin >= 0)
        bad += not same
        print(f"{'same' if same else 'DIFFERS'}: {f}: {ex.claim} expected {ex.outcome} "
              f"(margin {ex.margin:+.4g}), got {v.outcome} (margin {margin:+.4g})")
    return 1 if bad else 0


def cmd_boundary(a: argparse.Namespace) -> int:
    from .hunt import boundary
    from .report import threshold_as_C

    row = boundary(a.claim, a.axis, seeds=a.seeds, steps=a.steps, gram=a.gram, hi=a.max_factor)
    print(f"{row.claim} along {row.axis}: {threshold_as_C(row)}; last factor that held {row.last_held:.4g}")
    for f, e, s in row.tried:
        print(f"  factor {f:10.4g} (effective {e:10.4g}): {s}")
    return 0


def cmd_claims(a: argparse.Namespace) -> int:
    from .claims_page import claim_page, claims_table

    if a.id:
        print(claim_page(a.id))
    else:
        print(claims_table())
    return 0


def main(argv: list[str] | None = None) -> int:
    from ..kcg.regime import AXES, GRAMS

    ap = argparse.ArgumentParser(prog="python -m invariants", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("report", help="the theory report (main job)")
    r.add_argument("--out", default="report", help="output directory (default: report/)")
    r.add_argument("--steps", type=int, default=10_000_000, help="horizon of the default sweep's long runs")
    r.add_argument("--boundary-steps", type=int, default=5_000, help="horizon of each boundary-walk run")
    r.add_argument("--seeds", type=int, default=3, help="seeds per boundary-walk point")
    r.add_argument("--no-tests", action="store_true", help="skip the property tests (no claim table)")
    r.set_defaults(fn=cmd_report)
    h = sub.add_parser("hunt", help="hunt for a counterexample past one assumption")
    h.add_argument("--claim", required=True, help="the claim ID (python -m invariants claims lists them; hunts run "
                   "on the claims with a regime family and a hunt check)")
    h.add_argument("--axis", default=None, help="the assumption to break, one of the claim's axes (KCG: "
                   f"{', '.join(AXES)}; default: none, i.e. inside the regime)")
    h.add_argument("--gram", default="random",
                   help=f"data: one of the regime family's Gram kinds ({', '.join(GRAMS)}: off-diagonal signs random, "
                   "or all positive)")
    h.add_argument("--budget", type=int, default=40, help="examples to try")
    h.add_argument("--seed", type=int, default=0, help="seed of the search (the same seed gives the same hunt)")
    h.add_argument("--steps", type=int, default=20_000, help="GD horizon of each example tried")
    h.add_argument("--save", action="store_true", help="add the found example to tests/corpus/")
    h.add_argument("--out", default=None, help="save into this directory instead")
    h.set_defaults(fn=cmd_hunt)
    b = sub.add_parser("boundary", help="walk one assumption outward and report where a claim first fails")
    b.add_argument("--claim", required=True, help="a claim ID whose regime family builds walk cases, e.g. KCG-5.6")
    b.add_argument("--axis", required=True, help="the assumption to walk along, one of the claim's axes but "
                   "label balance")
    b.add_argument("--gram", default="random", help=f"data ({', '.join(GRAMS)})")
    b.add_argument("--seeds", type=int, default=3)
    b.add_argument("--steps", type=int, default=5_000)
    b.add_argument("--max-factor", type=float, default=1e3)
    b.set_defaults(fn=cmd_boundary)
    p = sub.add_parser("replay", help="replay corpus files and compare verdicts")
    p.add_argument("files", nargs="+")
    p.set_defaults(fn=cmd_replay)
    c = sub.add_parser("claims", help="list the claim registry, or print one claim in full")
    c.add_argument("id", nargs="?", default=None, help="a claim ID: print its statement, reading, regime, declared "
                   "constants, proof dependencies, and path:line of its checks and tests")
    c.set_defaults(fn=cmd_claims)
    a = ap.parse_args(argv)
    try:
        return a.fn(a)
    except (KeyError, ValueError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
