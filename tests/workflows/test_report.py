"""The report is written whole or not at all: a failed stage says what failed with pytest's own message,
leaves the previous report as it was, leaves no half-written directory, and ends its pytest children."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from invariants.workflows import report
from invariants.workflows.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _previous_report(out: Path) -> dict[str, bytes]:
    out.mkdir()
    (out / "report.json").write_text('{"claims": {}}')
    (out / "report.md").write_text("# the previous report\n")
    (out / "margins.json").write_text('{"claims": {}, "results": []}')
    return {p.name: p.read_bytes() for p in out.iterdir()}


def _leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if ".partial-" in p.name or ".old-" in p.name]


def test_a_failed_test_stage_writes_nothing_and_shows_pytests_message(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """An unknown Hypothesis profile: pytest stops with the plugin's usage error (exit 4); the report used to
    print the previous claim table as if fresh."""
    out = tmp_path / "report"
    before = _previous_report(out)
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "no-such-profile")
    assert main(["report", "--out", str(out), "--steps", "100"]) == 2
    err = capsys.readouterr().err
    assert "pytest exit 4" in err and "HYPOTHESIS_PROFILE='no-such-profile' is not a registered" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _leftovers(tmp_path) == []


def test_a_directory_that_is_not_a_report_is_never_replaced(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main(["report", "--out", str(out), "--no-tests", "--steps", "100"]) == 2
    assert "holds no previous report" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "keep me" and _leftovers(tmp_path) == []


def test_a_new_report_replaces_the_previous_one_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No stale file survives (the old margins.json used to stay beside a report that ran no tests)."""
    out = tmp_path / "report"
    _previous_report(out)

    def build(stage: Path, *args: object) -> tuple[int, list[str]]:
        (stage / "report.json").write_text('{"claims": {"new": 1}}')
        return 0, [f"wrote {stage / 'report.json'}"]

    monkeypatch.setattr(report, "build_report", build)
    lines: list[str] = []
    assert report.main_report(out, 10, 10, 1, tests=False, echo=lines.append) == 0
    assert sorted(p.name for p in out.iterdir()) == ["report.json"]
    assert lines == [f"wrote {out / 'report.json'}"]  # the staging path is never shown
    assert _leftovers(tmp_path) == []


def test_an_error_in_a_late_stage_leaves_the_previous_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "report"
    before = _previous_report(out)

    def build(stage: Path, *args: object) -> tuple[int, list[str]]:
        (stage / "report.md").write_text("half")
        raise RuntimeError("a plot failed")

    monkeypatch.setattr(report, "build_report", build)
    with pytest.raises(RuntimeError, match="a plot failed"):
        report.main_report(out, 10, 10, 1, tests=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _leftovers(tmp_path) == []


def _pytest_children(marker: str) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if marker in (d / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(d.name))
            except OSError:
                continue
    return pids


def _group(pgid: int) -> list[int]:
    """The live processes of process group ``pgid`` (pytest's own: it and its xdist workers)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                out.append(int(d.name))
    return out


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find the child processes")
def test_a_killed_report_ends_its_pytest_and_workers(tmp_path: Path) -> None:
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "invariants", "report", "--out", str(out), "--steps", "100"],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, HYPOTHESIS_PROFILE="ci"))
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert "running the property tests" in line
    marker = str(tmp_path / ".killed.partial-")
    deadline = time.monotonic() + 60
    while not _pytest_children(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _pytest_children(marker), "pytest never started"
    (pytest_pid,) = _pytest_children(marker)
    deadline = time.monotonic() + 30
    while len(_group(pytest_pid)) < 2 and time.monotonic() < deadline:  # let xdist start its workers
        time.sleep(0.2)
    assert len(_group(pytest_pid)) >= 2, "no xdist worker started"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 130
    time.sleep(0.5)
    assert _group(pytest_pid) == []  # pytest and its workers are gone
    assert not out.exists() and _leftovers(tmp_path) == []
