"""Verdicts: check results aggregated per claim, the claim's verdict, and the margins table.

The pytest plugin, the report and corpus replays all call these; none of them is tied to pytest.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .claim import CLAIMS, load_all, verdict_kind

UNDECIDED = ("too_short", "cannot_judge")  # outcomes that neither hold nor break a claim


def _num(x: Any) -> float:
    return float(x)  # also parses the "inf"/"nan" strings that CheckResult.to_json writes


def _tie_key(r: dict[str, Any]) -> tuple[str, str, str]:
    """Order of results with equal margins: test id, then where and configuration (as sorted JSON)."""
    return (str(r.get("test") or ""), json.dumps(r.get("where"), sort_keys=True, default=str),
            json.dumps(r.get("config"), sort_keys=True, default=str))


def aggregate(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per claim: tried, held, outcomes, worst margin with its configuration, implied-constant ranges, the
    reach (log10 slack range of each assumption over the runs that judged the claim), and the evidence by
    data origin (``adversarial``: worst-case data inside the assumptions; ``random``: everything else),
    each with its tried / held counts and worst margin."""
    load_all()
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        a = out.setdefault(r["claim"], {"claim": r["claim"], "tried": 0, "held": 0, "outcomes": {},
                                        "worst_margin": math.inf, "worst": None, "implied": {}})
        a["tried"] += 1
        a["held"] += r["outcome"] == "held"
        a["outcomes"][r["outcome"]] = a["outcomes"].get(r["outcome"], 0) + 1
        m = _num(r["margin"])
        # too_short results (the run cannot show the claim) and diverged ones (no margin: nan) never
        # become the worst: the worst margin is >= 0 exactly when the claim held where it could be shown
        # equal margins (exact checks: 0 tolerance; the same run reached by two tests) are broken by the
        # test's name and the place, not by arrival order, which differs under xdist
        if r["outcome"] not in UNDECIDED and not math.isnan(m) and (
                a["worst"] is None or m < a["worst_margin"]
                or (m == a["worst_margin"] and _tie_key(r) < _tie_key(a["worst"]))):
            a["worst_margin"], a["worst"] = m, {k: r[k] for k in ("where", "config", "test", "note")}
        for k, v in r.get("implied", {}).items():
            lo, hi = a["implied"].get(k, (math.inf, -math.inf))
            a["implied"][k] = (min(lo, _num(v)), max(hi, _num(v)))
        # evidence by data origin: worst-case (adversarial) data vs random draws
        origin = "adversarial" if str((r.get("config") or {}).get("origin", "")).startswith("adversarial") \
            else "random"
        e = a.setdefault("evidence", {}).setdefault(origin, {"tried": 0, "held": 0, "worst_margin": math.inf})
        e["tried"] += 1
        e["held"] += r["outcome"] == "held"
        if r["outcome"] not in UNDECIDED and not math.isnan(m):
            e["worst_margin"] = min(e["worst_margin"], m)
        slack = (r.get("config") or {}).get("slack") or {}
        if r["outcome"] in ("held", "failed") and isinstance(slack, dict):
            # reach: the log10 slack of each assumption over the runs that judged the claim (0: at the bound,
            # 2: at 1% of it), the part of the regime the evidence comes from
            reach = a.setdefault("reach", {})
            for k, v in slack.items():
                x = _num(v)
                if math.isfinite(x):
                    lo, hi = reach.get(k, (math.inf, -math.inf))
                    reach[k] = (min(lo, x), max(hi, x))
    for cid, a in out.items():
        c = CLAIMS.get(cid.split(":")[0])
        a["kind"] = c.kind if c else "?"
        a["expected"] = c.expected if c else "?"
        a["verdict"] = verdict(a["outcomes"], "measured" if verdict_kind(cid) == "measured" else a["expected"])
    return out


def verdict(outcomes: dict[str, int], expected: str) -> str:
    """A claim's verdict from its results' outcomes.

    ``too_short`` results (the run cannot show the claim, e.g. W still dominated by its initialization) and
    ``cannot_judge`` ones (a solver the check needs did not converge) neither hold nor break a claim: an
    asserted claim is BROKEN when a result failed or diverged, held when none did and at least one held,
    "too short" when none held and one was too short, else "cannot judge".  A claim
    declared to fail is "fails (declared)" when a result failed, else "HOLDS (declared to fail)"."""
    if expected == "measured":
        return "measured"
    bad = outcomes.get("failed", 0) + outcomes.get("diverged", 0)
    if expected == "fails":
        return "fails (declared)" if outcomes.get("failed", 0) else (
            "HOLDS (declared to fail)" if outcomes.get("held", 0) else
            "too short" if outcomes.get("too_short", 0) else "cannot judge")
    if bad:
        return "BROKEN"
    if outcomes.get("held", 0):
        return "held"
    return "too short" if outcomes.get("too_short", 0) else "cannot judge"


MAX_IMPLIED = 3  # implied constants shown per row in the terminal; the JSON has all of them


def format_table(agg: dict[str, dict[str, Any]], detects: dict[str, str] | None = None) -> list[str]:
    """The margins table; with ``detects`` (result ID -> the smallest planted deviation its check detects,
    from ``python -m invariants power``) a "detects" column beside the worst margin."""
    col = detects is not None
    vw = max([10] + [len(str(a["verdict"])) for a in agg.values()])
    head = (f"{'claim':<26} {'kind':<16} {'verdict':<{vw}} {'tried':>5} {'held':>5} {'worst margin':>13} "
            f"{'adversarial':>16}  " + (f"{'detects':>9}  " if col else "") + "implied constants / worst at")
    lines = [head, "-" * len(head)]
    for cid in sorted(agg):
        a = agg[cid]
        items = sorted(a["implied"].items())
        imp = ", ".join(f"{k} in [{lo:.3g}, {hi:.3g}]" for k, (lo, hi) in items[:MAX_IMPLIED])
        imp += ", ..." if len(items) > MAX_IMPLIED else ""
        w = a["worst"] or {}
        where = ",".join(f"{k}={v}" for k, v in (w.get("where") or {}).items())
        det = f"{(detects or {}).get(cid, '-'):>9}  " if col else ""
        adv = (a.get("evidence") or {}).get("adversarial")
        adv_cell = "-" if not adv else (f"{adv['held']}/{adv['tried']} " + (
            f"{adv['worst_margin']:+.3g}" if math.isfinite(adv["worst_margin"]) else "n/a"))
        lines.append(f"{cid:<26} {a['kind']:<16} {a['verdict']:<{vw}} {a['tried']:>5} {a['held']:>5} "
                     f"{a['worst_margin']:>+13.4g} {adv_cell:>16}  {det}{imp}{' | ' if imp and where else ''}"
                     f"{'at ' + where if where else ''}")
    return lines


