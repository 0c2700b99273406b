"""``python -m invariants implied``: the implied constants regressed on the configuration."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from invariants.workflows.cli import main
from invariants.workflows.constants import regress


def rows(dep: float, noise: float = 0.0, seed: int = 0) -> list[dict]:
    """12 runs with c = 2 gamma^dep (n, m, eta fraction varying too, no dependence on them)."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(12):
        g = [0.2, 0.4, 0.6, 0.8][k % 4]
        n, m = [3, 5, 8][k % 3], [4, 8][k % 2]
        slack = {"step size": float(rng.uniform(0, 2)), "init scale": 0.0, "near-orthogonality": "inf"}
        c = 2 * g**dep * math.exp(noise * rng.standard_normal())
        out.append({"claim": "KCG-B1", "outcome": "held", "implied": {"c1": c},
                    "config": {"n": n, "m": m, "gamma": g, "d": 1000, "R": 1.0, "slack": slack}})
    return out


def test_a_planted_dependence_is_found_and_only_it() -> None:
    reg = regress(rows(-1.5, noise=0.01), "c1")
    assert reg["fitted"] and reg["not_absolute_in"] == ["log gamma"]
    s = reg["slopes"]["log gamma"]
    assert s["ci95"][0] < -1.5 < s["ci95"][1] and abs(s["slope"] + 1.5) < 0.05
    assert "log R" not in reg["regressors"] and "log d" not in reg["regressors"]  # constant over the runs


def test_an_absolute_constant_has_no_significant_slope() -> None:
    reg = regress(rows(0.0, noise=0.05, seed=1), "c1")
    assert reg["fitted"] and reg["not_absolute_in"] == []


def test_too_few_runs_is_said_not_fitted() -> None:
    reg = regress(rows(0.0)[:4], "c1")
    assert not reg["fitted"] and "runs" in reg["why"]


def test_the_command(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    m = tmp_path / "margins.json"
    m.write_text(json.dumps({"results": rows(-1.5, noise=0.01)}))
    out = tmp_path / "implied.json"
    assert main(["implied", "--margins", str(m), "--json", str(out)]) == 0
    assert "| KCG-B1 | c1 | 12 | log gamma -1." in capsys.readouterr().out
    assert json.loads(out.read_text())["KCG-B1"]["not_absolute_in"] == ["log gamma"]
    assert main(["implied", "--margins", str(tmp_path / "nope.json")]) == 2
