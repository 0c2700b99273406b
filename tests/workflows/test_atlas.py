"""``python -m invariants atlas``: tasks, the resumable store, the aggregation, the fits, Dask.

A tiny grid (one claim along one axis, n in {4, 8}, one gamma, one seed, short walks) keeps these fast;
the full atlas is an opt-in command.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from invariants.workflows.atlas import (
    Task,
    _fit,
    _store_done,
    _store_put,
    aggregate,
    execute,
    run_task,
    tasks_for,
)
from invariants.workflows.cli import main

TINY = {"n": (4, 8), "gamma": (0.5,), "seeds": 1, "steps": 2_000, "iters": 2}
PAIR = [("KCG-5.6", "init scale")]


def test_a_task_is_one_boundary_walk_with_its_seed() -> None:
    from invariants.workflows.hunt import boundary

    t = tasks_for(PAIR, TINY, 1e3)[0]
    rec = run_task(t)
    row = boundary("KCG-5.6", "init scale", seeds=1, first_seed=0, steps=2_000, hi=1e3, iters=2, n=4, gamma=0.5)
    assert rec["critical"] == row.threshold and rec["task"]["n"] == 4
    assert (rec["cap"] is None) == (rec["critical"] is not None)


def test_the_store_resumes_and_never_writes_a_task_twice(tmp_path: Path) -> None:
    tasks = tasks_for(PAIR, TINY, 1e3)
    first = execute(tasks[:1], tmp_path, workers=0, scheduler=None)  # "killed" after one task
    assert first["run"] == 1
    again = execute(tasks, tmp_path, workers=0, scheduler=None)  # resumed: only the missing one runs
    assert again["run"] == len(tasks) - 1 and again["skipped"] == 1
    assert set(_store_done(tmp_path)) == {t.key for t in tasks}
    assert not _store_put(tmp_path, tasks[0].key, {"other": 1})  # the name is taken: refused
    assert "other" not in json.loads((tmp_path / "tasks" / f"{tasks[0].key}.json").read_text())


def test_aggregate_reports_caps_as_caps() -> None:
    def rec(n: int, seed: int, critical: float | None) -> dict:
        t = Task("KCG-B1", "step size", n, 0.5, seed, 100, 2, 1e3, "random")
        return {"task": t.__dict__ | {}, "critical": critical, "last_held": 1e3 if critical is None else 2.0,
                "cap": None if critical is not None else "max", "tried": [], "outcome_at_critical": ""}

    from dataclasses import asdict

    recs = []
    for r in (rec(4, 0, 5.0), rec(4, 1, 3.0), rec(8, 0, None), rec(8, 1, None)):
        r["task"] = asdict(Task(**r["task"]))
        recs.append(r)
    cells = aggregate(recs)["KCG-B1"]["step size"]["cells"]
    by_n = {c["n"]: c for c in cells}
    assert by_n[4]["critical"] == 3.0 and by_n[4]["cap"] is None  # the smallest over the seeds
    assert by_n[8]["critical"] is None and by_n[8]["cap"] == 1e3 and by_n[8]["cap_kind"] == ["max"]


def test_the_fit_recovers_a_planted_scaling() -> None:
    """critical = 3 n^-1 gamma^2 exactly on a 3 x 3 grid: slopes -1 and 2, intervals of zero width; a cap is
    left out of the fit."""
    cells = [{"n": n, "gamma": g, "critical": 3.0 * n**-1 * g**2} for n in (4, 8, 16) for g in (0.2, 0.4, 0.8)]
    cells.append({"n": 32, "gamma": 0.2, "critical": None})
    f = _fit(cells)
    assert f["fitted"] and f["cells_used"] == 9
    assert f["log n"]["slope"] == pytest.approx(-1.0) and f["log gamma"]["slope"] == pytest.approx(2.0)
    assert math.exp(f["intercept"]["slope"]) == pytest.approx(3.0)
    assert f["log n"]["ci95"][1] - f["log n"]["ci95"][0] < 1e-9
    assert not _fit(cells[:2])["fitted"]


def test_atlas_command_on_dask(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The command end to end on a 1-worker LocalCluster: atlas.json (fixed layout) and one plot."""
    pytest.importorskip("dask.distributed")
    import invariants.workflows.atlas as atlas

    old = atlas.QUICK
    atlas.QUICK = TINY
    try:
        code = main(["atlas", "--quick", "--claim", "KCG-5.6", "--axis", "init scale", "--workers", "1",
                     "--out", str(tmp_path)])
    finally:
        atlas.QUICK = old
    assert code == 0
    body = json.loads((tmp_path / "atlas.json").read_text())
    assert set(body) == {"grid", "run", "claims"} and body["run"]["workers"] == 1
    axis = body["claims"]["KCG-5.6"]["init scale"]
    assert {"grid", "cells", "fit", "theorem"} <= set(axis) and len(axis["cells"]) == 2
    assert (tmp_path / "atlas-KCG-5.6-init_scale.png").exists()
    assert "tasks run" in capsys.readouterr().out


def test_atlas_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["atlas", "--claim", "KCG-5.3", "--out", str(tmp_path)]) == 2
    assert "boundary walk" in capsys.readouterr().err
    assert main(["atlas", "--workers", "-1", "--out", str(tmp_path)]) == 2
    assert main(["atlas", "--steps", "0", "--out", str(tmp_path)]) == 2
    assert "--steps must be an integer >= 1" in capsys.readouterr().err


def test_the_proof_chain_names_the_first_link_and_whether_the_conclusions_survive() -> None:
    """A synthetic atlas for Thm 4.1 along the step size: B1 (a lemma) fails at 3, conclusion 4.1c at 10:
    the first link is B1 and the conclusions still hold there (the proof is loose); with 4.1c failing at 2
    the conclusions fail no later than the first link."""
    from invariants.workflows.atlas import proof_chain

    def body(critical: float | None) -> dict:
        return {"cells": [{"n": 4, "gamma": 0.5, "critical": critical, "cap": None if critical else 1e3}]}

    atlas = {"KCG-B1": {"step size": body(3.0)}, "KCG-4.1c": {"step size": body(10.0)},
             "KCG-4.1a": {"step size": body(None)}}
    e = proof_chain("KCG Thm 4.1", atlas)["axes"]["step size"]
    assert e["first_link"] == "KCG-B1" and e["first_link_at"] == 3.0 and e["conclusions_at_first_link"] == "hold"
    assert e["links"]["KCG-4.1a"] == {"status": "cap", "held_up_to": 1e3}
    atlas["KCG-4.1a"] = {"step size": {"cells": [{"n": 4, "gamma": 0.5, "critical": None, "cap": None}]}}
    e = proof_chain("KCG Thm 4.1", atlas)["axes"]["step size"]  # 4.1a's check could not judge on its walks
    assert e["links"]["KCG-4.1a"] == {"status": "undecided"} and e["conclusions_at_first_link"] == "undecided"
    atlas["KCG-4.1c"] = {"step size": body(2.0)}
    e = proof_chain("KCG Thm 4.1", atlas)["axes"]["step size"]
    assert e["conclusions_at_first_link"] == "fail" and e["first_conclusion_at"] == 2.0


def test_a_walk_the_check_cannot_judge_is_undecided_not_a_boundary() -> None:
    """FVB-3.2d:limit past (7) on all-positive correlations: the pattern keeps sliding along the kink, so
    there is no certified limit direction to compare; the walk held at the baseline and reports where
    the check stopped deciding, and the atlas records an "undecided" cap, never a critical factor."""
    rec = run_task(Task("FVB-3.2d", "near-orthogonality", 4, 0.8, 0, 20_000, 4, 1e3, "ones"))
    assert rec["critical"] is None and rec["cap"] == "undecided"
    assert 1.0 <= rec["last_held"] < rec["undecided_from"] <= 1e3
    statuses = {s for _, _, s in rec["tried"]}
    assert statuses == {"held", "undecided"}
    cells = aggregate([rec])["FVB-3.2d"]["near-orthogonality"]["cells"]
    assert cells[0]["critical"] is None and cells[0]["cap_kind"] == ["undecided"]


def test_boundary_text_says_undecided_not_fails() -> None:
    """The report's and the ``boundary`` command's text for walks whose check could not judge."""
    from invariants.workflows.hunt import BoundaryRow
    from invariants.workflows.report import threshold_as_C

    assert threshold_as_C(BoundaryRow("KCG-4.1b", "step size", 1.0, math.nan, 1, "undecided")).startswith(
        "undecided at the baseline")
    assert threshold_as_C(BoundaryRow("FVB-3.2d", "near-orthogonality", 40.0, 20.0, 1, "undecided")) == \
        "held up to factor 20, undecided from 40"
    assert threshold_as_C(BoundaryRow("KCG-5.8", "near-orthogonality", 20.5, 10.0, 1, "failed")).startswith(
        "fails from factor 20.5")
