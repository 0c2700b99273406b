"""pytest plugin: claim markers and selection, and the margins report.

* ``@pytest.mark.claim("KCG-5.6")`` names the claim(s) a test checks; ``--claim KCG-5.6`` (repeatable,
  prefix match: ``--claim KCG-4.1``) selects them.
* The ``record_check`` fixture records a :class:`~invariants.result.CheckResult`.  Results made in
  pytest-xdist workers travel to the controller through ``config.workeroutput`` and
  ``pytest_testnodedown``; only the controller (or a run without xdist) prints the table in the
  terminal summary and writes the JSON (``--margins-json``, default ``margins-report.json``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .result import CheckResult

_KEY = "margins_results"


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("margins", "theory margins report")
    g.addoption("--claim", action="append", default=[], metavar="ID",
                help="run only tests marked with this claim ID (prefix match; repeatable)")
    g.addoption("--margins-json", default="margins-report.json", metavar="PATH",
                help="where to write the margins report as JSON ('' to skip)")
    g.addoption("--no-margins-table", action="store_true", help="do not print the margins table")
    g.addoption("--run-slow", action="store_true", help="also run tests marked slow (long horizons)")


_STASH = pytest.StashKey[list[dict[str, Any]]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "claim(*ids): the catalogue claim IDs a test checks")
    config.stash[_STASH] = []


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def claim_ids(item: pytest.Item) -> list[str]:
    return [str(a) for m in item.iter_markers("claim") for a in m.args]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.getoption("claim")
    run_slow = config.getoption("run_slow") or _profile_name() == "deep"
    keep, drop = [], []
    for item in items:
        ids = claim_ids(item)
        if wanted and not any(i.startswith(w) for i in ids for w in wanted):
            drop.append(item)
        else:
            keep.append(item)
        if item.get_closest_marker("slow") and not run_slow:
            item.add_marker(pytest.mark.skip(reason="slow: use --run-slow or --hypothesis-profile=deep"))
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _profile_name() -> str:
    try:
        from hypothesis import settings

        return str(settings._current_profile)
    except Exception:  # pragma: no cover
        return ""


@pytest.fixture
def record_check(request: pytest.FixtureRequest) -> Callable[[CheckResult], CheckResult]:
    """Record a check result for the margins report; returns it unchanged."""
    store = request.config.stash[_STASH]

    def _record(result: CheckResult) -> CheckResult:
        row = result.to_json()
        row["test"] = request.node.nodeid
        store.append(row)
        return result

    return _record


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if _is_worker(config):
        config.workeroutput[_KEY] = json.dumps(config.stash[_STASH])  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    rows = json.loads(node.workeroutput.get(_KEY, "[]"))
    node.config.stash[_STASH].extend(rows)


# ---- aggregation and printing ------------------------------------------------------------------

def _num(x: Any) -> float:
    return float(x)  # also parses the "inf"/"nan" strings that CheckResult.to_json writes


def aggregate(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per claim: tried, held, outcomes, worst margin with its configuration, implied-constant ranges."""
    from .registry import CLAIMS, load_all, verdict_kind

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
        if r["outcome"] != "too_short" and not math.isnan(m) and (a["worst"] is None or m < a["worst_margin"]):
            a["worst_margin"], a["worst"] = m, {k: r[k] for k in ("where", "config", "test", "note")}
        for k, v in r.get("implied", {}).items():
            lo, hi = a["implied"].get(k, (math.inf, -math.inf))
            a["implied"][k] = (min(lo, _num(v)), max(hi, _num(v)))
    for cid, a in out.items():
        c = CLAIMS.get(cid.split(":")[0])
        a["kind"] = c.kind if c else "?"
        a["expected"] = c.expected if c else "?"
        a["verdict"] = verdict(a["outcomes"], "measured" if verdict_kind(cid) == "measured" else a["expected"])
    return out


def verdict(outcomes: dict[str, int], expected: str) -> str:
    """A claim's verdict from its results' outcomes.

    ``too_short`` results (the run cannot show the claim, e.g. W still dominated by its initialization)
    neither hold nor break a claim: an asserted claim is BROKEN when a result failed or diverged, held
    when none did and at least one held, and "too short" when every result was too short.  A claim
    declared to fail is "fails (declared)" when a result failed, else "HOLDS (declared to fail)"."""
    if expected == "measured":
        return "measured"
    bad = outcomes.get("failed", 0) + outcomes.get("diverged", 0)
    if expected == "fails":
        return "fails (declared)" if outcomes.get("failed", 0) else (
            "HOLDS (declared to fail)" if outcomes.get("held", 0) else "too short")
    if bad:
        return "BROKEN"
    return "held" if outcomes.get("held", 0) else "too short"


MAX_IMPLIED = 3  # implied constants shown per row in the terminal; the JSON has all of them


def format_table(agg: dict[str, dict[str, Any]]) -> list[str]:
    head = (f"{'claim':<26} {'kind':<16} {'verdict':<10} {'tried':>5} {'held':>5} {'worst margin':>13}  "
            "implied constants / worst at")
    lines = [head, "-" * len(head)]
    for cid in sorted(agg):
        a = agg[cid]
        items = sorted(a["implied"].items())
        imp = ", ".join(f"{k} in [{lo:.3g}, {hi:.3g}]" for k, (lo, hi) in items[:MAX_IMPLIED])
        imp += ", ..." if len(items) > MAX_IMPLIED else ""
        w = a["worst"] or {}
        where = ",".join(f"{k}={v}" for k, v in (w.get("where") or {}).items())
        lines.append(f"{cid:<26} {a['kind']:<16} {a['verdict']:<10} {a['tried']:>5} {a['held']:>5} "
                     f"{a['worst_margin']:>+13.4g}  {imp}{' | ' if imp and where else ''}"
                     f"{'at ' + where if where else ''}")
    return lines


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _is_worker(config):
        return
    rows = config.stash[_STASH]
    if not rows:
        return
    agg = aggregate(rows)
    if not config.getoption("no_margins_table"):
        terminalreporter.section("theory margins (>= 0: held)")
        for line in format_table(agg):
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"{len(rows)} check results from {len(agg)} claims")
    path = config.getoption("margins_json")
    if path:
        Path(path).write_text(json.dumps({"claims": agg, "results": rows}, indent=1, default=str))
        terminalreporter.write_line(f"margins report written to {path}")
