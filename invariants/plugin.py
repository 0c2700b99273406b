"""pytest plugin: claim markers and selection, and the margins report.

* ``@pytest.mark.claim("KCG-5.6")`` names the claim(s) a test checks; ``--claim KCG-5.6`` (repeatable,
  prefix match: ``--claim KCG-4.1``) selects them.
* The ``record_check`` fixture records a :class:`~invariants.result.CheckResult`.  Results made in
  pytest-xdist workers travel to the controller through ``config.workeroutput`` and
  ``pytest_testnodedown``; only the controller (or a run without xdist) prints the table in the
  terminal summary and, with ``--margins-json PATH`` (opt-in), writes the JSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ._internal.claim import load_all, unknown_id_message
from ._internal.jsonout import dumps
from ._internal.profiles import PREFIX, PROFILES, is_registered, profile_name, register_profiles
from ._internal.result import CheckResult
from ._internal.verdicts import aggregate, format_table

_KEY = "margins_results"

register_profiles()  # nearorth-ci, -dev, -deep, before Hypothesis' own plugin reads --hypothesis-profile


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("margins", "theory margins report")
    g.addoption("--claim", action="append", default=[], metavar="ID",
                help="run only tests marked with this claim ID (prefix match; repeatable)")
    g.addoption("--margins-json", default="", metavar="PATH",
                help="write the margins report (claims and every result) as JSON to PATH (default: not written)")
    g.addoption("--no-margins-table", action="store_true", help="do not print the margins table")
    g.addoption("--power", action="store_true",
                help="add a 'detects' column: the smallest planted deviation each check detects (python -m "
                     "invariants power; a few seconds at the end of the run)")
    g.addoption("--run-slow", action="store_true", help="also run tests marked slow (long horizons)")


_STASH = pytest.StashKey[list[dict[str, Any]]]()
_SEEN = pytest.StashKey[set[str]]()  # workers whose rows were merged (xdist calls testnodedown twice on Ctrl-C)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "claim(*ids): the catalogue claim IDs a test checks")
    config.stash[_STASH] = []
    config.stash[_SEEN] = set()
    env = os.environ.get("HYPOTHESIS_PROFILE")
    if env is not None and env.startswith(PREFIX) and not is_registered(env):  # ours only: a project's own
        ours = ", ".join(PREFIX + p for p in PROFILES)  # profile may be registered by a conftest loaded later
        raise pytest.UsageError(f"HYPOTHESIS_PROFILE={env!r} is not one of this plugin's profiles ({ours})")
    if env is not None and env.startswith(PREFIX) and config.getoption("hypothesis_profile", None) is None:
        from hypothesis import settings

        settings.load_profile(env)  # one of ours, asked for by name: loaded in any project
    path = config.getoption("margins_json")
    if path and not _is_worker(config):  # checked before the run, not after it
        parent = Path(path).resolve().parent
        if not parent.is_dir():
            raise pytest.UsageError(f"--margins-json {path}: the directory {parent} does not exist")
        if Path(path).is_dir():
            raise pytest.UsageError(f"--margins-json {path}: is a directory (give a file path)")
        if Path(path).exists():
            raise pytest.UsageError(f"--margins-json {path} exists; refusing to overwrite it (name a new file)")
        if not os.access(parent, os.W_OK):
            raise pytest.UsageError(f"--margins-json {path}: the directory {parent} is not writable")
    wanted = config.getoption("claim")
    if wanted:
        known = load_all()
        for w in wanted:
            if not any(cid.startswith(w) for cid in known):
                raise pytest.UsageError(f"--claim {w}: {unknown_id_message(w)}")


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def claim_ids(item: pytest.Item) -> list[str]:
    return [str(a) for m in item.iter_markers("claim") for a in m.args]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.getoption("claim")
    run_slow = config.getoption("run_slow") or profile_name() == "deep"
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


@pytest.fixture(scope="session")
def record_check(request: pytest.FixtureRequest) -> Callable[[CheckResult], CheckResult]:
    """Record a check result for the margins report; returns it unchanged.

    A result identical to one the same test already recorded (the same claim, configuration and numbers:
    Hypothesis replaying an example, e.g. the final call after shrinking) is counted once, so ``tried``
    counts the distinct configurations a test tried.  Session-scoped, so that a ``@given`` test may take it
    under any Hypothesis profile (a function-scoped fixture fails Hypothesis' health check); the test a
    result belongs to is the one running when it is recorded (``PYTEST_CURRENT_TEST``)."""
    store = request.config.stash[_STASH]
    seen: dict[str, set[str]] = {}

    def _record(result: CheckResult) -> CheckResult:
        current = os.environ.get("PYTEST_CURRENT_TEST", "")
        test = current.rsplit(" (", 1)[0] if current else "?"
        row = result.to_json()
        key = dumps(row)
        if key in seen.setdefault(test, set()):
            return result
        seen[test].add(key)
        row["test"] = test
        store.append(row)
        return result

    return _record


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if _is_worker(config):
        config.workeroutput[_KEY] = json.dumps(config.stash[_STASH])  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    output = getattr(node, "workeroutput", None)  # absent for a crashed worker
    worker = str(getattr(node, "gateway", None) and node.gateway.id)
    seen = node.config.stash[_SEEN]
    if output is None or worker in seen:
        return
    seen.add(worker)
    node.config.stash[_STASH].extend(json.loads(output.get(_KEY, "[]")))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _is_worker(config):
        return
    rows = config.stash[_STASH]
    if not rows:
        return
    agg = aggregate(rows)
    det = None
    if config.getoption("power"):
        from .workflows.power import detects, measure

        det = detects(measure())
    if not config.getoption("no_margins_table"):
        terminalreporter.section("theory margins (>= 0: held)")
        for line in format_table(agg, det):
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"{len(rows)} check results from {len(agg)} claims")
    path = config.getoption("margins_json")
    if path:
        try:
            with Path(path).open("x") as fh:  # "x": a file that appeared during the run is not replaced
                fh.write(dumps({"claims": agg, "results": rows}))
        except FileExistsError:
            terminalreporter.write_line(f"margins report NOT written: {path} appeared during the run; "
                                        f"it is never overwritten", red=True)
            return
        terminalreporter.write_line(f"margins report written to {path}")
