"""``python -m invariants check run.npz``, the example scripts, and the suite installed like a library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from invariants.workflows.cli import main
from sim import DataSpec, SimConfig, simulate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = SimConfig(activation="leaky_relu", gamma=0.3, n=6, d=1000, m=8, steps=20_000, eta=0.5, sigma0=1e-4,
                    data=DataSpec(kind="orthogonal"))
    return simulate(cfg).save(tmp_path_factory.mktemp("runs") / "run.npz")


def test_check_prints_the_claims_table_and_writes_json(saved_run: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "verdicts.json"
    code = main(["check", str(saved_run), "--claim", "KCG-4.1b", "--claim", "KCG-MRG", "--json", str(out)])
    text = capsys.readouterr().out
    assert "KCG-4.1b:limit" in text and "KCG-MRG:ratio" in text
    data = json.loads(out.read_text())
    assert {r["claim"] for r in data["results"]} >= {"KCG-4.1b", "KCG-4.1b:limit", "KCG-MRG:limit"}
    assert code == (1 if any(r["outcome"] == "failed" and not r["config"].get("assumptions_unmet")
                             for r in data["results"]) else 0)


def test_check_usage_errors(saved_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["check", str(saved_run), "--claim", "NOPE-1"]) == 2
    assert "unknown claim ID 'NOPE-1'" in capsys.readouterr().err
    bad = tmp_path / "bad.npz"
    bad.write_text("not a run")
    assert main(["check", str(bad)]) == 2
    assert str(bad) in capsys.readouterr().err
    assert main(["check", str(saved_run), "--claim", "FVB-3.2d"]) == 2  # an FVB claim on a KCG run
    assert "cannot judge this run" in capsys.readouterr().err


def test_check_takes_result_ids_as_the_tables_print_them(saved_run: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["check", str(saved_run), "--claim", "KCG-5.2:update"]) in (0, 1)
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("KCG-")]
    assert rows and set(rows) == {"KCG-5.2:update"}
    assert main(["check", str(saved_run), "--claim", "KCG-5.2:nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown result ID 'KCG-5.2:nope'" in err and "KCG-5.2:update" in err
    assert main(["check", str(saved_run), "--claim", ""]) == 2
    assert "an empty claim ID names no claim" in capsys.readouterr().err
    assert main(["claims", "KCG-F2:active"]) == 0
    assert capsys.readouterr().out.startswith("KCG-F2:active is a result of KCG-F2")


@pytest.mark.parametrize("script", ["torch_sgd.py", "digits.py"])
def test_an_example_refuses_an_existing_out_before_training(script: str, tmp_path: Path) -> None:
    mine = tmp_path / "mine.npz"
    mine.write_text("a user's file")
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / script), "--out", str(tmp_path / "mine")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2 and f"--out {mine} exists" in proc.stderr and "Traceback" not in proc.stderr
    assert mine.read_text() == "a user's file"


def test_the_torch_example_runs_and_prints_its_table(tmp_path: Path) -> None:
    out = tmp_path / "example.npz"
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "torch_sgd.py"), "--steps", "300", "--batch",
                           "5", "--out", str(out)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "KCG-4.1b" in proc.stdout and ("fails outside" in proc.stdout or "held" in proc.stdout)
    assert out.exists()
    again = subprocess.run([sys.executable, "-m", "invariants", "check", str(out), "--claim", "KCG-MRG"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert again.returncode in (0, 1) and "step rule: the run used 'sgd'" in again.stdout


def test_a_non_editable_install_works_outside_the_repository(tmp_path: Path, saved_run: Path) -> None:
    """pip install (no deps: the venv has them) into a target directory; from another directory the console
    script and check on a saved run work, and the pytest plugin loads from its entry point."""
    import shutil

    src = tmp_path / "src"  # a copy: building in place would leave build/ in the checkout
    src.mkdir()
    shutil.copy(ROOT / "pyproject.toml", src)
    for pkg in ("sim", "invariants"):
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                          "--target", str(target), str(src)], capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stderr[-2000:]
    env = dict(os.environ, PYTHONPATH=str(target))
    work = tmp_path / "elsewhere"
    work.mkdir()
    code = "import invariants, sys; print(invariants.__file__)"
    where = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=work, env=env)
    assert where.stdout.strip().startswith(str(target)), where.stdout
    script = target / "bin" / "nearorth"
    assert script.exists()
    run = subprocess.run([sys.executable, str(script), "check", str(saved_run), "--claim", "KCG-4.1b"],
                         capture_output=True, text=True, cwd=work, env=env, timeout=300)
    assert run.returncode in (0, 1) and "KCG-4.1b:limit" in run.stdout, run.stderr[-2000:]
    assert sorted(p.name for p in work.iterdir()) == []  # nothing written where it ran
    (work / "test_x.py").write_text("def test_x(record_check):\n    assert record_check is not None\n")
    plug = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_x.py"],
                          capture_output=True, text=True, cwd=work, env=env, timeout=300)
    assert plug.returncode == 0, plug.stdout[-2000:]
    assert sorted(p.name for p in work.iterdir()) == ["test_x.py"]  # the plugin wrote nothing


def test_the_digits_example_runs_on_real_data(tmp_path: Path) -> None:
    """examples/digits.py: 20 of scikit-learn's digits (shipped in the package), centered; the data are not
    nearly orthogonal, so every result lists that assumption as unmet and nothing reads BROKEN."""
    pytest.importorskip("sklearn", reason="scikit-learn is in the dev extra (./run.sh installs it)")
    out = tmp_path / "digits.npz"
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "digits.py"), "--n", "20", "--steps", "400",
                           "--center", "--out", str(out)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "near-orthogonality constant these data meet" in proc.stdout
    assert "KCG-5.2:update" in proc.stdout and "BROKEN" not in proc.stdout
    assert "fails outside" in proc.stdout  # some conclusion gives way off the theorem's data
    again = subprocess.run([sys.executable, "-m", "invariants", "check", str(out), "--json", str(tmp_path / "v.json")],
                           capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    results = json.loads((tmp_path / "v.json").read_text())["results"]
    unmet = [r["config"].get("assumptions_unmet", []) for r in results if r["claim"].startswith("KCG-4.1")]
    assert unmet and all(any("near-orthogonality" in str(u) for u in x) for x in unmet), unmet


@pytest.mark.parametrize("argv, message", [
    (["--batch", "0"], "--batch must be in [1, --n = 10]"), (["--batch", "-3"], "--batch must be in [1, --n = 10]"),
    (["--batch", "50"], "--batch must be in [1, --n = 10]"), (["--gamma", "1.5"], "--gamma must be in (0, 1)"),
    (["--n", "7"], "--n must be even"),
])
def test_the_torch_example_refuses_bad_flags_before_training(argv: list[str], message: str) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "torch_sgd.py"), *argv], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
