"""``invariants.check(traj)``: every claim that can judge a run, on any run -- simulated or recorded from a
user's own training loop (``sim.Recorder``, ``Trajectory.from_weights``, ``Trajectory.load``).

A claim judges a run when it has trajectory checks and its network (and activation, when it names one)
is the run's.  Each result says which of the theorem's assumptions the run does not meet, the way
out-of-regime runs are reported elsewhere: ``config["assumptions_unmet"]`` lists them (the regime family's
assumptions with a negative log10 slack, the claim's own predicate, the step rule when the run was not
full-batch GD with a constant step, nominal values that were estimated), and the note starts with them.
A check that needs every step's activation records reports ``cannot_judge`` on a checkpoint-only
trajectory; a check that raises on an input it was not written for reports ``cannot_judge`` with the
error (never a crash of the whole table).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any

from sim import Trajectory

from .claim import Claim, load_all
from .errors import UnknownClaim, UsageError
from .regimes import get_regime
from .result import CheckResult


def applies(claim: Claim, traj: Trajectory) -> bool:
    cfg = traj.config
    return (any(s.takes == "trajectory" for s in claim.checks)
            and (claim.network is None or claim.network == cfg.network)
            and (claim.activation is None or claim.activation == cfg.activation))


def unmet(claim: Claim, traj: Trajectory) -> list[str]:
    """The theorem's assumptions this run does not meet (empty: inside, as far as the registry can tell)."""
    cfg, data = traj.config, traj.data
    out: list[str] = []
    if claim.regime is not None:
        try:
            slack = get_regime(claim.regime).slack(cfg, data)
        except (KeyError, ValueError, ZeroDivisionError) as e:
            slack = {}
            out.append(f"regime {claim.regime}: its slack cannot be evaluated ({e})")
        out += [f"{axis} (log10 slack {v:+.2f})" for axis, v in slack.items() if v < 0]
    if claim.in_regime is not None:
        try:
            inside = bool(claim.in_regime(cfg, data))
        except Exception as e:  # a predicate written for simulated runs only
            inside, out = False, [*out, f"{claim.in_regime.__name__} cannot be evaluated ({type(e).__name__})"]
        if not inside and not out:
            out.append(f"the claim's own predicate {claim.in_regime.__name__}")
    rule = traj.extra.get("step_rule", "gd")
    if rule != "gd":
        out.append(f"step rule: the run used {rule!r}; the theorem assumes full-batch GD with a constant step")
    est = traj.extra.get("estimated") or []
    if est:
        out.append(f"estimated from the run, not given: {', '.join(map(str, est))}")
    return out


def _annotate(r: CheckResult, missing: list[str]) -> CheckResult:
    if not missing:
        return r
    config = dict(r.config) | {"assumptions_unmet": missing}
    note = f"outside: {'; '.join(missing)}" + (f" | {r.note}" if r.note else "")
    return dataclasses.replace(r, config=config, note=note)


class Results(list):
    """The results of :func:`judge`: a list of :class:`CheckResult` that shows as a table in a notebook
    (``_repr_html_``) and exports plain records (``to_records``) or, when pandas is installed, a DataFrame
    (``to_frame``; pandas is not a dependency)."""

    COLUMNS = ("claim", "outcome", "margin", "measured", "bound", "note")

    def to_records(self) -> list[dict[str, Any]]:
        return [{k: getattr(r, k) for k in self.COLUMNS} | {"where": r.where, "implied": r.implied} for r in self]

    def to_frame(self) -> Any:
        try:
            import pandas as pd
        except ImportError as e:  # pragma: no cover - pandas is optional
            raise ImportError("Results.to_frame needs pandas (pip install pandas); to_records() does not") from e
        return pd.DataFrame(self.to_records())

    def _repr_html_(self) -> str:
        import html

        def cell(v: Any) -> str:
            return html.escape(f"{v:+.4g}" if isinstance(v, float) else str(v))

        head = "".join(f"<th>{c}</th>" for c in self.COLUMNS)
        rows = "".join("<tr>" + "".join(f"<td>{cell(getattr(r, c))}</td>" for c in self.COLUMNS) + "</tr>"
                       for r in self)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def judge(traj: Trajectory, claims: Iterable[str] | None = None) -> Results:
    """Every result of every claim that can judge ``traj`` (or of ``claims``: IDs or prefixes)."""
    registry = load_all()
    if not isinstance(traj, Trajectory):
        raise TypeError(f"check/judge takes a sim.Trajectory (simulate(...), Recorder(...).trajectory() or "
                        f"Trajectory.load(path)); got {type(traj).__name__}")
    if isinstance(claims, str):  # one ID, not its characters
        claims = [claims]
    wanted: list[str] = []
    if claims is not None:
        wanted = list(claims)
        for w in wanted:
            if not w.strip():
                raise UsageError("an empty claim ID names no claim (python -m invariants claims lists every ID)")
            base = w.split(":")[0]  # a result ID (KCG-5.2:update) names its claim's results
            if not any(cid == base or (":" not in w and cid.startswith(w)) for cid in registry):
                raise UnknownClaim(f"unknown claim ID {w!r} (python -m invariants claims lists every ID)")
        bases = [w.split(":")[0] if ":" in w else w for w in wanted]
        pool = {cid: c for cid, c in registry.items()
                if any(cid == b or (":" not in w and cid.startswith(b)) for w, b in zip(wanted, bases, strict=True))}
    else:
        pool = dict(registry)
    every = traj.extra.get("every_step", True) is not False
    out = Results()
    for cid in sorted(pool):
        c = pool[cid]
        if not applies(c, traj):
            if claims is not None:
                raise UsageError(f"{cid} cannot judge this run (network {traj.config.network!r}, activation "
                                 f"{traj.config.activation!r}; the claim is about network {c.network!r}, "
                                 f"activation {c.activation!r}, and needs a trajectory check)")
            continue
        missing = unmet(c, traj)
        for spec in c.checks:
            if spec.takes != "trajectory":
                continue
            if spec.every_step and not every:
                res: list[CheckResult] = [CheckResult(cid, math.nan, math.nan, math.nan, outcome="cannot_judge",
                                                      note="needs every step's activation records; this run "
                                                           "was recorded at checkpoints only")]
            else:
                try:
                    got: Any = spec.fn(traj)
                    res = list(got) if isinstance(got, list | tuple) else [got]
                except (ValueError, ArithmeticError, IndexError) as e:
                    res = [CheckResult(cid, math.nan, math.nan, math.nan, outcome="cannot_judge",
                                       note=f"{spec.name} cannot judge this run: {type(e).__name__}: {e}")]
            res = [r for r in res if r.claim.split(":")[0] == cid]  # a check shared by several claims
            out += [_annotate(r, missing) for r in res]
    results = [w for w in wanted if ":" in w]
    if results:  # result IDs: only their results (with the whole claims the other IDs name)
        def kept(r: CheckResult) -> bool:
            return any((r.claim == w or r.claim.startswith(w)) if ":" in w else r.claim.split(":")[0].startswith(w)
                       for w in wanted)
        for w in results:
            if not any(r.claim == w or r.claim.startswith(w) for r in out):
                have = sorted({r.claim for r in out if r.claim.split(":")[0] == w.split(":")[0]})
                raise UnknownClaim(f"unknown result ID {w!r}: on this run {w.split(':')[0]} gives "
                                   f"{', '.join(have) or 'no result'}")
        filtered = Results()
        filtered += [r for r in out if kept(r)]
        return filtered
    return out


def verdict_table(results: list[CheckResult], source: str = "run") -> tuple[dict[str, Any], list[str]]:
    """The claims table of a judged run: aggregated per result ID, with a claim whose every failure came on
    a run outside its theorem's assumptions labelled "fails outside" rather than BROKEN."""
    from .verdicts import aggregate, format_table

    rows = [r.to_json() | {"test": source} for r in results]
    agg = aggregate(rows)
    for cid, row in agg.items():
        failing = [r for r in rows if r["claim"] == cid and r["outcome"] in ("failed", "diverged")]
        if row["verdict"] == "BROKEN" and all(r["config"].get("assumptions_unmet") for r in failing):
            row["verdict"] = "fails outside"
    return agg, format_table(agg)
