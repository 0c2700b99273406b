"""benchmarks/scaling.py's README rewrite: only the block between the markers changes, and a file without
(exactly one pair of) markers is an error that says so.  Loads the script's pure helpers by path; neither
jax nor the benchmark's measurement is imported."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

from ._scripts import BENCHMARKS
from ._scripts import load as load_script

SCRIPT = BENCHMARKS / "scaling.py"


def load() -> ModuleType:
    return load_script("scaling")


@pytest.fixture(scope="module")
def scaling() -> ModuleType:
    return load()


def test_loading_the_script_imports_no_jax() -> None:
    had = {name for name in ("jax", "jax_peers") if name in sys.modules}
    mod = load()
    assert {name for name in ("jax", "jax_peers") if name in sys.modules} == had
    assert callable(mod.replace_block) and callable(mod.main)


def test_replaces_only_between_markers(scaling: ModuleType) -> None:
    b, e = scaling.BEGIN, scaling.END
    text = f"# Title\n\nintro\n{b}\nold 1\nold 2\n{e}\ntail\n"
    out = scaling.replace_block(text, "| n | m |\n|---|---|\n")
    assert out == f"# Title\n\nintro\n{b}\n| n | m |\n|---|---|\n{e}\ntail\n"
    # idempotent, and a second rewrite replaces the first one's block entirely
    assert scaling.replace_block(out, "| n | m |\n|---|---|\n") == out
    assert scaling.replace_block(out, "new") == f"# Title\n\nintro\n{b}\nnew\n{e}\ntail\n"
    assert scaling.replace_block(out, "") == f"# Title\n\nintro\n{b}\n{e}\ntail\n"


def test_the_projects_readme_has_one_block(scaling: ModuleType) -> None:
    readme = (SCRIPT.parents[1] / "README.md").read_text()
    out = scaling.replace_block(readme, "X")
    i, j = readme.index(scaling.BEGIN), readme.index(scaling.END)
    assert out.startswith(readme[: i + len(scaling.BEGIN)]) and out.endswith(readme[j:])


@pytest.mark.parametrize("text, problem", [
    ("no markers at all\n", "missing"),
    ("{b}\nonly the start\n", "missing"),
    ("only the end\n{e}\n", "missing"),
    ("{b}\n{b}\nx\n{e}\n", "present 2 times"),
    ("{e}\nx\n{b}\n", "comes before"),
])
def test_errors_name_the_marker(scaling: ModuleType, text: str, problem: str) -> None:
    text = text.format(b=scaling.BEGIN, e=scaling.END)
    with pytest.raises(ValueError, match=problem) as info:
        scaling.replace_block(text, "new")
    assert "scaling:" in str(info.value)


def _result() -> tuple[dict, dict]:
    """A run's result dict as ``main`` saves it (``--json``), and its first cell."""
    cell = {"n": 10, "m": 50, "steps": {"span": 1000, "auto_regime": 200000, "auto_s6": 50000, "jax_same": 100,
                                        "jax_plain": 300},
            "rate": {"span": 8e5, "span_again": 7.6e5, "auto_regime": 4e6, "auto_s6": 2e6, "jax_same": 1e5,
                     "jax_plain": 3e5},
            "auto_extra": {"regime": {"frozen_steps": 199000}, "s6": {}}}
    res = {"date": "2026-12-06", "quick": False, "repeats": 3, "window_s": [0.2, 0.5],
           "machine": {"cpu": "cpu", "logical_cores": 2, "llvm_cpu": "x", "avx512f": False, "core": 1,
                       "load_start": 0.1, "load_end": 0.2,
                       "versions": {k: "1" for k in ("python", "numpy", "numba", "jax", "jaxlib")}},
            "cells": [cell, {**cell, "n": 20}],
            "batched": {"B": 32, "n": 10, "m": 100, "rate": {"span": 3e5, "span_single": 2e5, "jax_vmap": 5e4,
                                                             "frozen_lanes": 3e7, "frozen_alone": 1e7}},
            "agreement": {"steps": 1000, "B": 32, "same_work": 4e-16, "vmap": 6e-16, "plain": 2e-15,
                          "counts_identical": True}}
    return res, cell


def test_render_gives_one_row_per_cell(scaling: ModuleType) -> None:
    res, cell = _result()
    block = scaling.render(res)
    rows = [line for line in block.splitlines() if line.startswith("| ")]
    assert rows[1:] == ["| 10 | 50 | 800,000 | – | 0.95 | 5.00 @ 2.0e5 (99.5% frozen) | 2.50 @ 5.0e4 | 8.00 | 2.67 |",
                        "| 20 | 50 | 800,000 | – | 0.95 | 5.00 @ 2.0e5 (99.5% frozen) | 2.50 @ 5.0e4 | 8.00 | 2.67 |"]
    # a result without the A/A measurement (an older json) renders a dash there
    old = {**cell, "rate": {k: v for k, v in cell["rate"].items() if k != "span_again"}}
    row = [line for line in scaling.render({**res, "cells": [old]}).splitlines() if line.startswith("| 10")]
    assert row == ["| 10 | 50 | 800,000 | – | – | 5.00 @ 2.0e5 (99.5% frozen) | 2.50 @ 5.0e4 | 8.00 | 2.67 |"]
    # with the run's dgemm rate: P = P0 + Z G's 2 n^2 M flops a step at the span engine's rate, as a share
    ck = {"n": 10, "m": 1000, "first_s": 0.5, "each_s": 0.002, "dense_s": 0.6, "segment_s": 0.001,
          "proj_flops": 5e7, "dgemm_flops": 8e10}
    rows = [line for line in scaling.render({**res, "checkpoints": [ck]}).splitlines() if line.startswith("| ")]
    assert rows[1].startswith("| 10 | 50 | 800,000 | 20% |")  # 2 * 10^2 * 100 * 8e5 / 8e10
    assert rows[2].startswith("| 20 | 50 | 800,000 | 80% |")
    flat = " ".join(block.split())
    assert "batched ÷ single = 1.50" in flat and "lanes ÷ alone = 3.00" in flat
    assert all(len(line) <= 105 for line in block.splitlines() if not line.startswith("|"))
    assert scaling.BEGIN not in block and scaling.END not in block


def test_render_writes_a_saved_run_into_the_readme(tmp_path: Path) -> None:
    """``--render`` measures nothing: the block of a saved run, into the README's markers only; a file that is
    not a saved run is refused by name, and the README is left as it was."""
    import json
    import subprocess

    res, _ = _result()
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(res))
    readme = tmp_path / "README.md"
    readme.write_text("before\n<!-- scaling:begin -->\nOLDBLOCK\n<!-- scaling:end -->\nafter\n")
    cmd = [sys.executable, str(SCRIPT), "--render"]
    done = subprocess.run([*cmd, str(saved), "--readme", str(readme)], capture_output=True, text=True, check=True)
    text = readme.read_text()
    assert text.startswith("before\n<!-- scaling:begin -->\nGenerated by")
    assert text.endswith("<!-- scaling:end -->\nafter\n")
    assert "| 10 | 50 | 800,000 | – | 0.95 |" in text and "OLDBLOCK" not in text
    assert "| 10 | 50 | 800,000 |" in done.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"cells": []}))
    readme.write_text("x\n<!-- scaling:begin -->\nkept\n<!-- scaling:end -->\n")
    refused = subprocess.run([*cmd, str(bad), "--readme", str(readme)], capture_output=True, text=True)
    assert refused.returncode == 2 and "--render" in refused.stderr and "bad.json" in refused.stderr
    assert "kept" in readme.read_text()
    for extra in (["--quick"], ["--core", "0"], ["--repeats", "2"]):
        mixed = subprocess.run([*cmd, str(saved), *extra], capture_output=True, text=True)
        assert mixed.returncode == 2 and "takes only --readme" in mixed.stderr, extra
    # results that are not a run: a zero rate, an infinite horizon, a list where a dict belongs
    for broken in ({**res, "cells": [{**res["cells"][0], "rate": {**res["cells"][0]["rate"], "span": 0}}]},
                   {**res, "cells": [{**res["cells"][0], "steps": {**res["cells"][0]["steps"], "auto_regime": 1e400}}]},
                   {**res, "cells": [{**res["cells"][0], "auto_extra": []}]}):
        bad.write_text(json.dumps(broken))
        refused = subprocess.run([*cmd, str(bad)], capture_output=True, text=True)
        assert refused.returncode == 2 and "not a run saved by --json" in refused.stderr, refused.stderr
    # a README without the markers is refused before anything is printed, and left as it was
    plain = tmp_path / "PLAIN.md"
    plain.write_text("no markers\n")
    refused = subprocess.run([*cmd, str(saved), "--readme", str(plain)], capture_output=True, text=True)
    assert refused.returncode == 2 and "scaling:begin" in refused.stderr and refused.stdout == ""
    assert plain.read_text() == "no markers\n" and sorted(p.name for p in tmp_path.iterdir()) == [
        "PLAIN.md", "README.md", "bad.json", "run.json"]


def test_ratios_are_medians_of_the_rounds_ratios(scaling: ModuleType) -> None:
    """With every round's rates saved, a ratio is the median over the rounds of the ratio within a round (here
    1.5, 2.5, 2.5 -> 2.50), not the best rate over the best rate (1.5e6 / 8e5 = 1.88); rates stay the best."""
    res, cell = _result()
    rounds = {eng: [v, v, v] for eng, v in cell["rate"].items()}
    rounds["span"], rounds["auto_s6"] = [8e5, 5e5, 6e5], [1.2e6, 1.25e6, 1.5e6]
    rated = {**cell, "rate": {**cell["rate"], "span": 8e5, "auto_s6": 1.5e6}, "rounds": rounds}
    row = [line for line in scaling.render({**res, "cells": [rated]}).splitlines() if line.startswith("| 10")]
    assert row[0].split(" | ")[2] == "800,000"  # the best of the rounds
    assert row[0].split(" | ")[6].startswith("2.50 @")
    assert scaling._pair(rated, "auto_s6", "span") == pytest.approx(2.5)
    assert scaling._pair({**rated, "rounds": {}}, "auto_s6", "span") == pytest.approx(1.875)


def test_rewrite_block_leaves_the_file_whole_on_failure(scaling: ModuleType, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """``rewrite_block`` writes beside the file and replaces it: a text without markers, or a failure of the
    replacement itself, leaves the file as it was and no temporary file behind; success rewrites the block."""
    readme = tmp_path / "R.md"
    readme.write_text(f"a\n{scaling.BEGIN}\nold\n{scaling.END}\nb\n")
    scaling.rewrite_block(readme, "new")
    assert readme.read_text() == f"a\n{scaling.BEGIN}\nnew\n{scaling.END}\nb\n"
    plain = tmp_path / "P.md"
    plain.write_text("no markers\n")
    with pytest.raises(ValueError, match="missing"):
        scaling.rewrite_block(plain, "new")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(scaling.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        scaling.rewrite_block(readme, "newer")
    assert readme.read_text() == f"a\n{scaling.BEGIN}\nnew\n{scaling.END}\nb\n" and plain.read_text() == "no markers\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["P.md", "R.md"]
