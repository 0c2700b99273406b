"""Hunts tell failed / too short / diverged apart; boundary walks and the report command work."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from invariants import CLAIMS, Case, load_all
from invariants._internal.claim import boundary_pairs, huntable
from invariants.kcg.regime import AXES, Placement, build_case, with_factor
from invariants.workflows.cli import main
from invariants.workflows.hunt import boundary, classify, hunt, huntable_or_replayable
from sim import DataSpec, SimConfig, resolve

# what hunt.RUNNERS and report.BOUNDARY_PAIRS listed by hand before the registry derived them
FORMER_RUNNERS = {"KCG-5.2", "KCG-5.7", "KCG-C12", "KCG-5.6", "KCG-5.8", "KCG-F2", "KCG-B1", "KCG-B4", "KCG-5.5",
                  "KCG-E3", "KCG-4.1a", "KCG-B3", "KCG-MRG", "KCG-4.1c", "KCG-4.3b", "KCG-4.1b", "KCG-4.3a", "KCG-F3",
                  "KCG-OQ1", "KCG-OQ2", "FVB-PL", "FVB-LR", "FVB-4.2c", "FVB-3.2d", "ST-2", "ST-3"}
FORMER_PAIRS = {("KCG-5.6", "near-orthogonality", "random"), ("KCG-5.6", "step size", "random"),
                ("KCG-5.6", "init scale", "random"), ("KCG-B1", "near-orthogonality", "random"),
                ("KCG-B1", "step size", "random"), ("KCG-MRG", "near-orthogonality", "random"),
                ("KCG-4.1c", "near-orthogonality", "random"), ("KCG-5.8", "near-orthogonality", "ones"),
                ("KCG-5.8", "step size", "random"), ("KCG-5.5", "near-orthogonality", "random"),
                ("KCG-5.5", "width", "random")}


def test_runners_and_boundary_pairs_are_derived_from_the_registry() -> None:
    load_all()
    assert set(huntable_or_replayable()) == FORMER_RUNNERS
    assert set(huntable()) == FORMER_RUNNERS - {"ST-2", "ST-3"}  # ST's cases are not a regime family
    assert set(boundary_pairs()) == FORMER_PAIRS
    for cid in huntable():
        c = CLAIMS[cid]
        assert c.activation and c.network and c.axes and all(s.takes == "trajectory" for s in c.hunt_checks), cid


def test_placement_inside_and_past_one_assumption() -> None:
    inside = build_case("leaky_relu", 5, 8, 0.3, d=10**6, R=1.2, seed=3, steps=100)
    assert all(v >= 0 for v in inside.slack().values())
    for axis in ("near-orthogonality", "step size", "init scale"):
        past = with_factor(inside, axis, 30.0)
        sl = past.slack()
        assert sl[axis] == pytest.approx(-np.log10(30.0), abs=1e-4), axis  # slack() rounds to 4 digits
        assert all(v >= 0 for k, v in sl.items() if k != axis)
    relu = build_case("relu", 5, None, None, d=10**6, R=1.0, seed=3, steps=100, place=Placement(width=3.0))
    assert relu.slack()["width"] < 0 and relu.placement.past() == ["width"]
    assert "label balance" in AXES


def test_outcome_failed() -> None:
    ticks: list[int] = []
    rep = hunt("KCG-5.8", "near-orthogonality", budget=12, seed=1, steps=2000, gram="ones", on_example=ticks.append)
    assert rep.outcome == "failed" and rep.result.margin < 0
    # the budget bounds the whole hunt, shrinking included, and the progress never shows k > budget
    assert rep.tried <= 12 and ticks == list(range(1, rep.tried + 1))
    # the found case meets the verdict's own condition: it still fails at 10x the horizon
    assert classify("KCG-5.8", rep.case).outcome == "failed"


def _fake_results(fail_below: int) -> Callable[[str, object], list]:
    """A hunt check that fails on runs shorter than ``fail_below`` steps and holds on longer ones."""
    from invariants import CheckResult

    def results(claim: str, traj: object) -> list[CheckResult]:
        m = -1.0 if traj.config.steps < fail_below else 1.0  # type: ignore[attr-defined]
        return [CheckResult(claim, margin=m, measured=0.0, bound=1.0)]

    return results


def test_a_hunt_shrinks_on_its_verdicts_condition(monkeypatch: pytest.MonkeyPatch) -> None:
    """A claim that fails at the horizon but holds at 10x is never reported as failed (shrinking used to
    minimize 'fails at the horizon' and could end in such a case); one that fails at both is."""
    import invariants.workflows.hunt as hunt_mod

    monkeypatch.setattr(hunt_mod, "results_of", _fake_results(fail_below=500))
    rep = hunt("KCG-5.6", None, budget=3, seed=0, steps=50)  # fails at 50 steps, holds at 500
    assert rep.outcome == "too_short" and rep.tried <= 3
    monkeypatch.setattr(hunt_mod, "results_of", _fake_results(fail_below=10**9))
    rep = hunt("KCG-5.6", None, budget=5, seed=0, steps=50)
    assert rep.outcome == "failed" and rep.tried <= 5 and rep.result.margin < 0


def test_outcome_too_short() -> None:
    """A leaky run stopped before its pattern froze: Lemma 5.6 cannot be judged, which is not a failure."""
    case = build_case("leaky_relu", 6, 8, 0.3, d=10**4, R=1.0, seed=0, steps=1,
                      place=Placement(eta=0.05, sigma0=0.5))
    assert case.run(steps=400).pattern_frozen_at > 1
    assert classify("KCG-5.6", case).outcome == "too_short"


def test_outcome_diverged() -> None:
    """The exponential loss overflows under a huge step: reported as diverged, not as a failure or a crash."""
    cfg = SimConfig(network="fvb", activation="leaky_relu", gamma=0.5, loss="exponential", n=4, d=8, m=4,
                    eta=1e6, sigma0=1.0, steps=200, seed=3, data=DataSpec(virtual=False))
    data, _ = resolve(cfg)
    assert classify("KCG-5.2", Case(cfg, data)).outcome == "diverged"


def test_boundary_walk_finds_the_step_size_threshold_of_lemma_5_6() -> None:
    row = boundary("KCG-5.6", "step size", seeds=1, steps=2000, iters=3)
    statuses = [s for _, _, s in row.tried]
    assert statuses[0] == "held"
    if row.threshold is not None:
        assert row.last_held < row.threshold
        assert any(s == "failed" for s in statuses)


def test_report_command_writes_its_files(tmp_path: Path) -> None:
    code = main(["report", "--no-tests", "--steps", "2000", "--boundary-steps", "300", "--seeds", "1",
                 "--out", str(tmp_path)])
    assert code == 0
    for name in ("report.md", "report.json", "stable_rank.png", "loss_rate.png", "margin_spread.png",
                 "pattern_freeze.png", "boundary.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    def refuse(name: str) -> object:
        raise ValueError(f"report.json holds the non-standard JSON constant {name}")

    rep = json.loads((tmp_path / "report.json").read_text(), parse_constant=refuse)  # strict JSON
    assert {r["name"] for r in rep["runs"]} >= {"relu", "leaky gamma=0.1"}
    assert {j for j in ("kcg_fig1.png", "st_fig.png", "fvb_direction.png")} <= set(rep["plots"])  # paper jobs
    assert len(rep["boundaries"]) > 0


def test_cli_usage_errors_exit_2(capsys: pytest.CaptureFixture) -> None:
    assert main(["hunt", "--claim", "KCG-NOPE", "--budget", "1"]) == 2
    assert "unknown claim ID 'KCG-NOPE'" in capsys.readouterr().err
    assert main(["hunt", "--claim", "KCG-H4", "--budget", "1"]) == 2
    assert "KCG-H4 has no hunt check" in capsys.readouterr().err


def test_a_hunt_past_one_axis_keeps_the_others_inside_the_claims_own_regime() -> None:
    """KCG-5.6 needs the appendix's init bound (B.2), gamma times Thm 4.1's: a hunt past the step size once
    reported a failure whose init scale sat at Thm 4.1's bound, past (B.2), and blamed the step size."""
    from invariants._internal.regimes import get_regime
    from invariants.kcg.regime import appendix_init_bound
    from invariants.workflows.hunt import others_inside

    load_all()
    c, regime = CLAIMS["KCG-5.6"], get_regime(CLAIMS["KCG-5.6"].regime)
    kw = {"d": 10**6, "R": 1.0, "seed": 0, "steps": 100}
    for sigma0, inside in ((1.0, False), (0.4, True)):  # fractions of Thm 4.1's bound; gamma = 0.5
        case = build_case("leaky_relu", 4, 8, 0.5, place=Placement(eta=3.0, sigma0=sigma0), **kw)
        assert (case.cfg.sigma0 <= appendix_init_bound(case.cfg, case.data)) is inside
        assert not c.in_regime(case.cfg, case.data)  # past the step size either way
        assert others_inside(c, regime, case, "step size") is inside
    # past the label balance: the others are checked on the same case with balanced labels, so a case past
    # (B.2) is not blamed on the labels (once kept whatever its init scale)
    case = build_case("leaky_relu", 4, 8, 0.5, place=Placement(sigma0=1.0, minority=1), **kw)
    assert not others_inside(c, regime, case, "label balance")
    case = build_case("leaky_relu", 4, 8, 0.5, place=Placement(sigma0=0.4, minority=1), **kw)
    assert others_inside(c, regime, case, "label balance")
    # past the init scale itself: (B.2) is stricter than the family's bound there too, so the hunted axis is
    # checked deep inside, not at the family's bound (at 1 every case was refused: Unsatisfiable)
    case = build_case("leaky_relu", 4, 8, 0.5, place=Placement(eta=0.5, sigma0=5.0), **kw)
    assert others_inside(c, regime, case, "init scale")
    case = build_case("leaky_relu", 4, 8, 0.5, place=Placement(eta=2.0, sigma0=5.0), **kw)
    assert not others_inside(c, regime, case, "init scale")  # the step size is past too


def test_a_hunt_past_the_init_scale_of_an_appendix_regime_claim_runs() -> None:
    rep = hunt("KCG-5.6", "init scale", budget=2, steps=200)
    assert rep.tried >= 1


def test_a_hunt_refuses_the_width_axis_for_a_leaky_claim() -> None:
    from invariants._internal.errors import UsageError

    with pytest.raises(UsageError, match="no width condition to hunt past"):
        hunt("KCG-5.6", "width", budget=1, steps=10)


def test_with_factor_keeps_an_adversarial_gram_and_refuses_to_move_its_p() -> None:
    base = build_case("leaky_relu", 4, 8, 0.5, d=10**6, R=1.0, seed=0, steps=100)
    G, y = base.data.G.copy(), base.data.y.copy()
    adv = build_case("leaky_relu", 4, 8, 0.5, d=10**6, R=1.0, seed=0, steps=100, gram="adversarial", G=G, y=y)
    moved = with_factor(adv, "step size", 2.0)
    assert np.array_equal(moved.data.G, G) and np.array_equal(moved.data.y, y)
    assert moved.cfg.eta == pytest.approx(4 * adv.cfg.eta)  # fraction 0.5 -> 2.0
    with pytest.raises(ValueError, match="adversarial Gram matrix has p at its bound"):
        with_factor(adv, "near-orthogonality", 2.0)


def test_a_hunt_on_a_measured_claim_says_its_failure_is_a_data_point(capsys: pytest.CaptureFixture) -> None:
    """KCG-OQ1 (an open question, measured): a 100-step hunt finds its margin negative, and the report says
    that is not a counterexample to a theorem."""
    code = main(["hunt", "--claim", "KCG-OQ1", "--budget", "2", "--steps", "100"])
    out = capsys.readouterr().out
    assert code == 1 and "outcome: failed" in out
    assert "KCG-OQ1 is measured, not asserted" in out


def test_hunts_past_each_axis_run_where_a_margin_is_infinite_or_a_case_has_no_placement() -> None:
    """Two internal errors a sweep of every (claim, axis) hunt found: KCG-E3 past the label balance gave a
    margin of -inf, which Hypothesis' target() refuses; FVB's hunt cases carry no placement to rebuild."""
    rep = hunt("KCG-E3", "label balance", budget=1, steps=100)
    assert rep.tried == 1
    rep = hunt("FVB-PL", "step size", budget=1, steps=100)
    assert rep.tried == 1
