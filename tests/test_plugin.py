"""The margins-report plugin: no result is lost between xdist workers, selection by claim works."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from invariants import CheckResult
from invariants._internal.verdicts import aggregate, format_table

pytest_plugins = ["pytester"]

INNER = """
import pytest
from invariants import CheckResult

@pytest.mark.claim("KCG-H4")
@pytest.mark.parametrize("k", range(7))
def test_many(record_check, k):
    record_check(CheckResult("KCG-H4", margin=0.5 - k / 10, measured=k, bound=5, where={"k": k}))

@pytest.mark.claim("KCG-5.8")
@pytest.mark.parametrize("k", range(5))
def test_other(record_check, k):
    record_check(CheckResult("KCG-5.8", margin=1.0, measured=0, bound=1, implied={"c": k}))
"""


@pytest.mark.parametrize("workers", [None, "2"])
def test_counts_add_up_across_workers(pytester: pytest.Pytester, workers: str | None) -> None:
    pytester.makepyfile(test_inner=INNER)
    args = ["-p", "invariants.plugin", "--margins-json", "out.json", "-p", "no:cacheprovider"]
    if workers:
        args += ["-n", workers]
    res = pytester.runpytest_subprocess(*args)
    res.assert_outcomes(passed=12)
    out = json.loads((pytester.path / "out.json").read_text())
    assert len(out["results"]) == 12
    h4 = out["claims"]["KCG-H4"]
    assert (h4["tried"], h4["held"]) == (7, 6)
    assert h4["worst_margin"] == pytest.approx(-0.1)
    assert h4["worst"]["where"] == {"k": 6}
    assert out["claims"]["KCG-5.8"]["implied"]["c"] == [0, 4]
    res.stdout.fnmatch_lines(["*theory margins*", "KCG-H4*7*6*-0.1*"])
    assert res.stdout.str().count("theory margins") == 1  # printed by the controller only


def test_claim_option_selects(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=INNER)
    res = pytester.runpytest_subprocess("-p", "invariants.plugin", "--claim", "KCG-5.8", "--margins-json", "")
    res.assert_outcomes(passed=5)


def test_table_marks_expected_failures() -> None:
    rows = [CheckResult("KCG-5.3", margin=-1.0, measured=2, bound=1).to_json() | {"test": "t"}]
    lines = format_table(aggregate(rows))
    assert lines[2].startswith("KCG-5.3") and "-1" in lines[2]


def test_nonfinite_numbers_survive_json() -> None:
    r = CheckResult("KCG-5.6", margin=float("inf"), measured=float("nan"), bound=1.0)
    js = json.loads(json.dumps(r.to_json()))
    assert js["margin"] == "inf" and js["measured"] == "nan"
    assert r.held


@pytest.mark.parametrize(("outcomes", "expected", "verdict"), [
    ({"held": 3}, "holds", "held"),
    ({"held": 2, "too_short": 1}, "holds", "held"),  # a run that cannot show the claim breaks nothing
    ({"too_short": 2}, "holds", "too short"),
    ({"held": 2, "failed": 1}, "holds", "BROKEN"),
    ({"held": 2, "diverged": 1}, "holds", "BROKEN"),
    ({"failed": 1, "held": 1}, "fails", "fails (declared)"),
    ({"held": 2, "too_short": 1}, "fails", "HOLDS (declared to fail)"),
    ({"failed": 1}, "measured", "measured"),
])
def test_verdict_from_outcomes(outcomes: dict[str, int], expected: str, verdict: str) -> None:
    from invariants._internal.verdicts import verdict as verdict_of

    assert verdict_of(outcomes, expected) == verdict


def test_a_too_short_result_does_not_break_its_claim() -> None:
    """Planted: a too_short result with a negative margin next to a held one (the vacuous-bound case of
    KCG-4.1b at the sigma0 bound): the claim stays held, and its worst margin is the held one's."""
    rows = [CheckResult("KCG-4.1b", margin=0.5, measured=1, bound=2).to_json() | {"test": "t"},
            CheckResult("KCG-4.1b", margin=-1.4, measured=3, bound=2, outcome="too_short").to_json()
            | {"test": "t"}]
    agg = aggregate(rows)["KCG-4.1b"]
    assert agg["verdict"] == "held" and agg["outcomes"] == {"held": 1, "too_short": 1}
    assert agg["worst_margin"] == pytest.approx(0.5)


def test_unknown_claim_is_a_usage_error_naming_the_nearest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=INNER)
    res = pytester.runpytest_subprocess("-p", "invariants.plugin", "--claim", "kcg-5.6", "--margins-json", "")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    err = res.stderr.str()
    assert "--claim kcg-5.6: unknown claim ID 'kcg-5.6'" in err and "KCG-5.6" in err


def test_testnodedown_tolerates_a_crashed_worker_and_a_second_call() -> None:
    """A crashed worker has no ``workeroutput``; on Ctrl-C xdist calls the hook twice for one worker."""
    from types import SimpleNamespace

    from invariants import plugin

    config = SimpleNamespace(stash={plugin._STASH: [], plugin._SEEN: set()})
    rows = [CheckResult("KCG-H4", margin=1.0, measured=0, bound=1).to_json()]
    node = SimpleNamespace(config=config, gateway=SimpleNamespace(id="gw0"),
                           workeroutput={plugin._KEY: json.dumps(rows)})
    plugin.pytest_testnodedown(node, None)
    plugin.pytest_testnodedown(node, None)
    crashed = SimpleNamespace(config=config, gateway=SimpleNamespace(id="gw1"))
    plugin.pytest_testnodedown(crashed, "worker crashed")
    assert len(config.stash[plugin._STASH]) == 1


def _strict(text: str) -> object:
    def refuse(name: str) -> object:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_margins_json_is_opt_in_and_strict(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner='''
import math
import pytest
from invariants import CheckResult

@pytest.mark.claim("KCG-H4")
def test_nonfinite(record_check):
    record_check(CheckResult("KCG-H4", margin=math.nan, measured=math.inf, bound=-math.inf, outcome="too_short",
                             implied={"c": math.inf}))
''')
    res = pytester.runpytest_subprocess("-p", "invariants.plugin", "-p", "no:cacheprovider")
    res.assert_outcomes(passed=1)
    assert not list(pytester.path.glob("*.json")), "written without --margins-json"
    res = pytester.runpytest_subprocess("-p", "invariants.plugin", "-p", "no:cacheprovider", "--margins-json", "m.json")
    out = _strict((pytester.path / "m.json").read_text())
    assert out["claims"]["KCG-H4"]["worst_margin"] == "inf"  # no result could show the claim
    assert out["results"][0]["margin"] == "nan" and out["claims"]["KCG-H4"]["implied"]["c"] == ["inf", "inf"]


DUPLICATES = """
import pytest
from invariants import CheckResult

@pytest.mark.claim("KCG-H4")
def test_replayed(record_check):
    r = CheckResult("KCG-H4", margin=0.5, measured=1, bound=5, config={"seed": 0})
    for _ in range(3):  # Hypothesis replaying the same example (e.g. after shrinking)
        record_check(r)
    record_check(CheckResult("KCG-H4", margin=0.5, measured=1, bound=5, config={"seed": 1}))
"""


def test_the_same_configuration_is_counted_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=DUPLICATES)
    res = pytester.runpytest_subprocess("-p", "invariants.plugin", "--margins-json", "out.json")
    res.assert_outcomes(passed=1)
    out = json.loads((pytester.path / "out.json").read_text())
    assert out["claims"]["KCG-H4"]["tried"] == 2 and len(out["results"]) == 2


@pytest.mark.parametrize(("path", "message"), [("no/such/dir/m.json", "does not exist"), (".", "is a directory")])
def test_margins_json_path_is_checked_before_the_run(pytester: pytest.Pytester, path: str, message: str) -> None:
    """A bad --margins-json used to run the whole suite, then crash while writing."""
    pytester.makepyfile(test_inner=INNER)
    res = pytester.runpytest_subprocess("-p", "invariants.plugin", "--margins-json", path)
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines([f"*--margins-json {path}*{message}*"])
    assert "passed" not in res.stdout.str()


def test_power_option_adds_a_detects_column(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner="""
import pytest
from invariants import CheckResult

@pytest.mark.claim("KCG-5.6")
def test_one(record_check):
    record_check(CheckResult("KCG-5.6", margin=0.5, measured=1, bound=2))
""")
    res = pytester.runpytest_subprocess("-p", "invariants.plugin", "--power")
    res.assert_outcomes(passed=1)
    res.stdout.fnmatch_lines(["*worst margin*detects*", "KCG-5.6*+0.5*1 change*"])


def test_equal_worst_margins_are_broken_by_name_not_by_arrival() -> None:
    """Two tests reaching the same exact margin (0 tolerance, or the same run): the claims table's worst is
    the same whichever arrives first (under xdist the order differs from run to run)."""

    def row(test: str) -> dict:
        return {"claim": "KCG-5.2:sign", "outcome": "held", "margin": 1.0, "where": {}, "config": {"n": 3},
                "test": test, "note": "", "implied": {}}

    a, b = row("tests/kcg/test_b.py::t"), row("tests/a.py::t")
    worst = [aggregate(rows)["KCG-5.2:sign"]["worst"]["test"] for rows in ([a, b], [b, a])]
    assert worst == ["tests/a.py::t", "tests/a.py::t"]


def test_outside_the_repository_the_profiles_and_record_check_work(tmp_path: Path) -> None:
    """A user's project (no conftest.py): HYPOTHESIS_PROFILE=nearorth-ci loads the suite's ci budget, an unknown
    name is a usage error, and a @given test may take record_check (once a FailedHealthCheck outside the
    repository, whose conftest suppressed it)."""
    import subprocess
    import sys

    (tmp_path / "test_mine.py").write_text(
        "import pytest\nfrom hypothesis import given, settings, strategies as st\n"
        "from invariants._internal.result import CheckResult\n\n"
        "@pytest.mark.claim('KCG-5.6')\n@given(x=st.floats(0, 1))\n"
        "def test_rec(x, record_check):\n"
        "    record_check(CheckResult('KCG-5.6', margin=x, measured=x, bound=1.0))\n\n"
        "def test_budget():\n    assert settings.default.max_examples == 6\n")
    env = {**os.environ, "HYPOTHESIS_PROFILE": "nearorth-ci"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                          "--margins-json", "m.json"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    rows = json.loads((tmp_path / "m.json").read_text())["results"]
    assert len(rows) == 6 and {r["test"] for r in rows} == {"test_mine.py::test_rec"}
    env["HYPOTHESIS_PROFILE"] = "nearorth-nosuch"  # a typo in this plugin's names: refused
    bad = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 4 and "'nearorth-nosuch' is not one of this plugin's profiles" in bad.stdout + bad.stderr
    # a project's own profile, registered by a conftest pytest loads only at collection: not this plugin's business
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "conftest.py").write_text(
        "from hypothesis import settings\nsettings.register_profile('mine', max_examples=2)\n"
        "settings.load_profile('mine')\n")
    (tmp_path / "sub" / "test_sub.py").write_text("def test_ok():\n    assert True\n")
    own = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "sub"], cwd=tmp_path,
                         env={**env, "HYPOTHESIS_PROFILE": "mine"}, capture_output=True, text=True, timeout=300)
    assert own.returncode == 0, own.stdout + own.stderr
    again = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--margins-json",
                            "m.json"], cwd=tmp_path, env={**env, "HYPOTHESIS_PROFILE": "nearorth-ci"},
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 4 and "m.json exists; refusing to overwrite it" in again.stdout + again.stderr
