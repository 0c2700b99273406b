"""The command line: every bad flag is a usage error naming it (exit 2), an internal error is reported as
one (exit 3), Ctrl-C ends quietly (exit 130), help shows defaults, printed commands run as printed."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from invariants.workflows import cli
from invariants.workflows.cli import main, replay_command


@pytest.mark.parametrize(
    ("argv", "flag", "allowed"),
    [
        (["hunt", "--claim", "KCG-5.8", "--budget", "0"], "--budget", "integer >= 1"),
        (["hunt", "--claim", "KCG-5.8", "--steps", "0"], "--steps", "integer >= 1"),
        (["hunt", "--claim", "KCG-5.8", "--seed", "-1"], "--seed", "integer >= 0"),
        (["hunt", "--claim", "KCG-5.8", "--budget", "ten"], "--budget", "integer >= 1"),
        (["boundary", "--claim", "KCG-5.6", "--axis", "step size", "--steps", "0"], "--steps", "integer >= 1"),
        (["boundary", "--claim", "KCG-5.6", "--axis", "step size", "--seeds", "0"], "--seeds", "integer >= 1"),
        (["boundary", "--claim", "KCG-5.6", "--axis", "step size", "--max-factor", "-1"], "--max-factor", "> 1"),
        (["boundary", "--claim", "KCG-5.6", "--axis", "step size", "--max-factor", "inf"], "--max-factor", "> 1"),
        (["report", "--steps", "0"], "--steps", "integer >= 1"),
        (["report", "--seeds", "0"], "--seeds", "integer >= 1"),
        (["report", "--boundary-steps", "0"], "--boundary-steps", "integer >= 1"),
    ],
    ids=lambda v: v if isinstance(v, str) else " ".join(v[:1] + v[-2:]),
)
def test_bad_flags_are_usage_errors_naming_the_flag(argv: list[str], flag: str, allowed: str,
                                                    capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err and allowed in err


def test_hunt_and_boundary_reject_bad_values_from_the_api_too() -> None:
    from invariants._internal.errors import UsageError
    from invariants.workflows.hunt import boundary, hunt

    with pytest.raises(UsageError, match="budget must be an integer >= 1"):
        hunt("KCG-5.8", None, budget=0)
    with pytest.raises(UsageError, match="steps must be an integer >= 1"):
        hunt("KCG-5.8", None, steps=0)
    with pytest.raises(UsageError, match="seeds must be an integer >= 1"):
        boundary("KCG-5.6", "step size", seeds=0)
    with pytest.raises(UsageError, match=r"--max-factor\) must be a finite number > 1"):
        boundary("KCG-5.6", "step size", hi=-1.0)


def test_an_internal_error_is_not_a_usage_error(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture) -> None:
    """A defect of the suite (here a KeyError deep inside a command) exits 3 with its traceback; it used to
    be printed as 'error: ...' with exit 2, as if the user had typed something wrong."""
    def broken(a: object) -> int:
        raise KeyError("some internal key")

    monkeypatch.setattr(cli, "cmd_claims", broken)
    assert main(["claims"]) == 3
    err = capsys.readouterr().err
    assert "internal error" in err and "Traceback" in err and "some internal key" in err


def test_ctrl_c_ends_a_hunt_without_a_traceback(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture) -> None:
    import invariants.workflows.hunt as hunt_mod

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(hunt_mod, "hunt", interrupted)
    assert main(["hunt", "--claim", "KCG-5.8", "--budget", "3"]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err


def test_unknown_claim_is_a_usage_error_listing_the_nearest_ids(capsys: pytest.CaptureFixture) -> None:
    assert main(["claims", "kcg-5.6"]) == 2
    err = capsys.readouterr().err
    assert "unknown claim ID 'kcg-5.6'" in err and "KCG-5.6" in err


def test_help_shows_every_default_and_version_is_there(capsys: pytest.CaptureFixture) -> None:
    for sub, expected in (("boundary", ["(default: 5000)", "(default: 3)", "(default: 1000.0)"]),
                          ("hunt", ["(default: 40)", "(default: 0)", "(default: 20000)"]),
                          ("report", ["(default: report)", "(default: 10000000)"])):
        with pytest.raises(SystemExit) as e:
            main([sub, "--help"])
        assert e.value.code == 0
        out = capsys.readouterr().out
        assert all(x in out for x in expected), (sub, out)
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("python -m invariants ")


def test_the_printed_replay_command_runs_as_printed(tmp_path: Path) -> None:
    """Recorded with shlex.join and this interpreter: it works outside the venv and with spaces in paths."""
    path = tmp_path / "a dir" / "KCG-5.8-failed-s0-relu.json"
    argv = shlex.split(replay_command(path))
    assert argv == [sys.executable, "-m", "invariants", "replay", str(path)]


def test_claims_shows_declared_beside_found(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """ST-2 is declared 'measured' (never asserted), not 'holds'; the found column comes from a report."""
    import json

    found = tmp_path / "report.json"
    found.write_text(json.dumps({"claims": {"KCG-5.6": {"verdict": "held"}, "KCG-F2:equal": {"verdict": "held"},
                                            "KCG-F2:dead": {"verdict": "BROKEN"},
                                            "ST-2": {"verdict": "measured"}}}))
    assert main(["claims", "--found", str(found)]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line[:1].isupper()}
    assert rows["KCG-5.6"][2:4] == ["holds", "held"]
    assert rows["KCG-F2"][2:4] == ["holds", "BROKEN/held"]
    assert rows["ST-2"][2:4] == ["measured", "measured"]
    assert rows["KCG-5.3-ocr"][2:4] == ["fails", "-"]  # a misreading the suite shows false
    assert main(["claims", "--found", str(tmp_path / "none.json")]) == 2


# ---- what a user saved is never overwritten; bad values are refused before anything runs ----------------

def _refused(argv: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("flag_argv", [
    ["power", "--claim", "KCG-5.6", "--md"], ["power", "--claim", "KCG-5.6", "--json"],
    ["implied", "--margins", "nowhere.json", "--json"], ["check", "nowhere.npz", "--claim", "KCG-5.6", "--json"],
], ids=lambda v: f"{v[0]} {v[-1]}")
def test_an_existing_output_file_is_refused_untouched(flag_argv: list[str], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    mine = tmp_path / "mine.txt"
    mine.write_text("a user's file")
    _refused([*flag_argv, str(mine)], f"{flag_argv[-1]} {mine} exists; refusing to overwrite it", capsys)
    assert mine.read_text() == "a user's file"
    _refused([*flag_argv, str(tmp_path)], f"{flag_argv[-1]} {tmp_path} is a directory", capsys)


def test_the_atlas_refuses_a_folder_it_did_not_write_and_bad_flags_before_creating_anything(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "atlas.json").write_text("a user's file")
    base = ["atlas", "--claim", "KCG-5.6", "--axis", "init scale", "--quick", "--workers", "0"]
    _refused([*base, "--out", str(mine)], "holds no earlier atlas (tasks/ of *.json records)", capsys)
    assert (mine / "atlas.json").read_text() == "a user's file" and sorted(p.name for p in mine.iterdir()) == [
        "atlas.json"]
    (mine / "tasks").mkdir()  # a project's own tasks/ folder is not an atlas store
    (mine / "tasks" / "todo.txt").write_text("a user's file")
    _refused([*base, "--out", str(mine)], "holds no earlier atlas", capsys)
    new = tmp_path / "new"
    _refused([*base, "--out", str(new), "--scheduler", "notanaddress"], "--scheduler 'notanaddress'", capsys)
    _refused([*base, "--out", str(new), "--max-factor", "0.5"], "--max-factor must be a finite number > 1", capsys)
    _refused(["atlas", "--chain", "--out", str(new), "--max-factor", "nan"], "--max-factor must be", capsys)
    assert not new.exists()


def test_hunt_out_that_is_a_file_is_refused_before_the_hunt(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "run.npz"
    f.write_text("a user's file")
    monkeypatch.setattr("invariants.workflows.hunt.hunt", lambda *a, **k: pytest.fail("the hunt ran"))
    _refused(["hunt", "--claim", "KCG-5.6", "--out", str(f)], "is not a directory", capsys)


def test_a_closed_pipe_ends_quietly(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """`./run.sh claims | head -2` once printed a BrokenPipeError traceback as an internal error."""
    import subprocess

    def closed(a: object) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli, "cmd_claims", closed)
    assert main(["claims"]) == cli.EXIT_BROKEN_PIPE
    assert "internal error" not in capsys.readouterr().err
    # and for real: a reader that takes one line and closes the pipe
    p = subprocess.run(f"{shlex.quote(sys.executable)} -m invariants claims | head -1", shell=True,
                       capture_output=True, text=True, timeout=120)
    assert p.stdout.startswith("claim") and "Traceback" not in p.stderr and "internal error" not in p.stderr
