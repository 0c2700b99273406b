"""benchmarks/auto_sweep.py without measuring: its table, its ratio, and the flags it refuses before any
timing starts.  Loads the script by path."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

from ._scripts import BENCHMARKS, load

SCRIPT = BENCHMARKS / "auto_sweep.py"


@pytest.fixture(scope="module")
def sweep() -> ModuleType:
    return load("auto_sweep")


def _cell(act: str, loss: str, data: str, n: int, m: int, auto: float, again: float) -> dict:
    return {"act": act, "loss": loss, "data": data, "n": n, "m": m, "steps": 1000, "frozen": 250,
            "auto_over_span": auto, "again_over_span": again}


def test_median_ratio_is_a_speed_ratio_within_rounds(sweep: ModuleType) -> None:
    # auto took half the span engine's time in two rounds of three: the median says 2x as fast
    assert sweep.median_ratio([1.0, 1.0, 4.0], [2.0, 2.0, 2.0]) == 2.0
    assert sweep.median_ratio([3.0], [1.5]) == 0.5


def test_bracketed_cancels_a_drift_within_the_round(sweep: ModuleType) -> None:
    # the machine slows by 10% a run: span 1.0, auto (as fast as span) 1.1, span again 1.2 -> 1.0, not 0.91
    assert sweep.bracketed([1.0, 1.0, 1.0], [1.1, 1.1, 1.1], [1.2, 1.2, 1.2]) == pytest.approx(1.0)
    assert sweep.bracketed([2.0], [1.0], [2.0]) == 2.0


def test_render_has_a_row_per_configuration_and_a_column_per_size(sweep: ModuleType) -> None:
    cells = [_cell("relu", "logistic", "s6", 10, 50, 1.234, 0.97),
             _cell("relu", "logistic", "s6", 20, 400, 0.991, 1.04),
             _cell("leaky_relu", "exponential", "regime", 10, 50, 9.5, 1.01)]
    out = sweep.render(cells, 5, 0.25)
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("| activation"))
    assert lines[head] == "| activation, loss, data | n = 10, m = 50 | n = 20, m = 400 |"
    rows = lines[head + 2:]
    assert rows == ["| relu, logistic, §6 | 1.23 (25%) | 0.99 (25%) |",
                    "| leaky_relu, exponential, in-regime | 9.50 (25%) | – |"]
    assert "0.97-1.04" in out and "5 rounds" in out
    assert "cells below it: 0 of 3 (the lowest 0.99)" in out.replace("\n", " ")


def _main(sweep: ModuleType, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["auto_sweep.py", *argv])
    sweep.main()


@pytest.mark.parametrize("argv, message", [
    (["--repeats", "0"], "--repeats must be >= 1"),
    (["--seconds", "0"], "--seconds must be in [0.01, 60]"),
    (["--core", "4096"], "--core 4096 is not among"),
])
def test_bad_flags_are_refused_by_name(sweep: ModuleType, argv: list[str], message: str,
                                       monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as e:
        _main(sweep, argv, monkeypatch)
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_an_existing_json_is_never_overwritten(sweep: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture) -> None:
    saved = tmp_path / "run.json"
    saved.write_text("{}")
    with pytest.raises(SystemExit) as e:
        _main(sweep, ["--json", str(saved)], monkeypatch)
    assert e.value.code == 2 and "refusing to overwrite" in capsys.readouterr().err
    assert saved.read_text() == "{}"


def test_a_readme_without_the_markers_is_refused_before_measuring(sweep: ModuleType, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# no block here\n")
    with pytest.raises(SystemExit) as e:
        _main(sweep, ["--readme", str(readme)], monkeypatch)
    assert e.value.code == 2 and "--readme" in capsys.readouterr().err
    assert readme.read_text() == "# no block here\n"


def test_the_projects_readme_has_the_block(sweep: ModuleType) -> None:
    readme = (SCRIPT.parents[1] / "README.md").read_text()
    assert readme.count(sweep.BEGIN) == 1 and readme.count(sweep.END) == 1
