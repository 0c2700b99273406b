"""The regression corpus: every file replays to its recorded verdict; bad files are named errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from invariants import Case
from invariants.workflows.cli import main
from invariants.workflows.corpus import CORPUS_DIR, CorpusError, Example, load, save
from invariants.workflows.hunt import classify, hunt
from sim import Dataset

FILES = sorted(CORPUS_DIR.glob("*.json"))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_example_replays_to_its_verdict(path: Path) -> None:
    ex = load(path)
    v = classify(ex.claim, Case(ex.config, ex.data))
    assert v.outcome == ex.outcome
    assert v.result is not None and (v.result.margin >= 0) == (ex.margin >= 0)


def test_corpus_is_not_empty() -> None:
    assert FILES, "the corpus should hold at least the pinned KCG-5.8 counterexample"


def test_hunt_file_replay_round_trip(tmp_path: Path) -> None:
    """hunt -> file -> pytest-style replay -> same verdict (KCG-5.8 on all-positive correlated data)."""
    rep = hunt("KCG-5.8", "near-orthogonality", budget=12, seed=1, steps=2000, gram="ones")
    assert rep.outcome == "failed" and rep.case is not None and rep.result is not None
    assert rep.slack["near-orthogonality"] < 0 <= min(v for k, v in rep.slack.items()
                                                     if k != "near-orthogonality")
    ex = Example(claim=rep.claim, config=rep.case.cfg, data=rep.case.data, outcome=rep.outcome,
                 margin=rep.result.margin, assumption={"axis": rep.axis, "slack": rep.slack},
                 found_by={"suite_version": "test", "date": "2026-11-23", "command": "test"})
    path = save(ex, tmp_path)
    again = load(path)
    v = classify(again.claim, Case(again.config, again.data))
    assert (v.outcome, v.result.margin < 0) == ("failed", True)
    assert v.result.margin == pytest.approx(rep.result.margin, rel=1e-12)
    assert main(["replay", str(path)]) == 0


def _write(tmp_path: Path, obj: object, name: str = "bad.json") -> Path:
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return p


def _valid() -> dict:
    return json.loads(FILES[0].read_text())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda o: "{not json", "not readable as JSON"),
        (lambda o: [1, 2], "top level must be an object"),
        (lambda o: {**o, "claim": "KCG-99"}, "unknown claim 'KCG-99'"),
        (lambda o: {**o, "format": "v0"}, "format must be"),
        (lambda o: {k: v for k, v in o.items() if k != "config"}, "missing field 'config'"),
        (lambda o: {**o, "extra": 1}, "unknown field(s) ['extra']"),
        (lambda o: {**o, "expected": {**o["expected"], "outcome": "maybe"}}, "expected.outcome must be one of"),
        (lambda o: {**o, "expected": {**o["expected"], "margin_sign": True}}, "expected.'margin_sign'"),
        (lambda o: {**o, "config": {**o["config"], "eta": -1.0}}, "eta must be a finite number > 0"),
        (lambda o: {**o, "config": {**o["config"], "colour": 1}}, "config must be keys among"),
        (lambda o: {**o, "data": {**o["data"], "G": [[1.0, 2.0], [2.0, 1.0]]}}, "invalid configuration or data"),
        (lambda o: {**o, "expected": {**o["expected"], "margin": float("nan")}}, "expected.margin must be a finite"),
        (lambda o: {**o, "expected": {**o["expected"], "margin": float("-inf")}}, "expected.margin must be a finite"),
        (lambda o: {**o, "expected": {**o["expected"], "margin": None}}, "may be null only for outcomes"),
        (lambda o: {**o, "expected": {**o["expected"], "margin_sign": -o["expected"]["margin_sign"]}},
         "contradicts expected.margin"),
        (lambda o: {**o, "data": {**o["data"], "d": o["data"]["d"] + 1}}, "does not match the data set's d"),
    ],
    ids=["json", "top", "claim", "format", "missing", "extra", "outcome", "sign-type", "eta", "config-key",
         "G-not-pd", "margin-nan", "margin-inf", "margin-null", "sign-contradiction", "d-mismatch"],
)
def test_bad_corpus_files_are_named_errors(tmp_path: Path, mutate, message: str) -> None:
    path = _write(tmp_path, mutate(_valid()))
    with pytest.raises(CorpusError) as e:
        load(path)
    assert str(path) in str(e.value) and message in str(e.value)


def test_replay_continues_over_broken_files_and_exits_nonzero(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """replay a.json broken.json b.json: both good files are replayed, the broken one is named, exit 2."""
    good = _write(tmp_path, _valid(), "a.json")
    broken = _write(tmp_path, "{not json", "broken.json")
    also = _write(tmp_path, _valid(), "b.json")
    assert main(["replay", str(good), str(broken), str(also)]) == 2
    out, err = capsys.readouterr()
    assert out.count("same: ") == 2 and str(good) in out and str(also) in out
    assert str(broken) in err and "1 of 3 files could not be replayed" in err


def test_replay_names_the_file_of_a_claim_no_hunt_check_decides(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:
    path = _write(tmp_path, {**_valid(), "claim": "KCG-H4"})
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "KCG-H4 has no hunt check" in err


def test_replay_of_a_huge_step_reports_divergence_not_a_solver_error(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    """eta = 1e300 used to end in 'Eigenvalues did not converge' with no file named."""
    o = _valid()
    path = _write(tmp_path, {**o, "config": {**o["config"], "eta": 1e300}})
    assert main(["replay", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"DIFFERS: {path}" in out and "got diverged" in out


def test_an_infinite_or_missing_margin_is_stored_with_its_sign(tmp_path: Path) -> None:
    """Strict JSON has no inf/nan: -inf is stored as the most negative float (the sign is what a replay
    compares), nan as null (only for outcomes without a margin)."""
    first = load(FILES[0])
    p = save(dataclasses.replace(first, margin=float("-inf")), tmp_path, name="inf")
    assert load(p).margin < -1e300 and load(p).margin_sign == -1
    p = save(dataclasses.replace(first, margin=float("nan"), outcome="diverged"), tmp_path, name="nan")
    assert json.loads(p.read_text())["expected"]["margin"] is None and load(p).outcome == "diverged"


def test_replay_command_reports_a_corrupt_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = _write(tmp_path, "[]")
    assert main(["replay", str(path)]) == 2
    assert str(path) in capsys.readouterr().err


def test_save_never_overwrites_a_different_example_and_recognizes_the_same_one(tmp_path: Path) -> None:
    """A second counterexample with the same file name gets a suffix; the same one found again is the
    file already there, untouched (hunts along different axes used to overwrite each other)."""
    first = load(FILES[0])
    p1 = save(first, tmp_path)
    before = p1.read_bytes()
    other = dataclasses.replace(first, data=Dataset.virtual(first.data.G * 1.01, first.data.y, first.data.d))
    p2 = save(other, tmp_path)
    assert p2 != p1 and p2.name.endswith("-2.json") and p1.read_bytes() == before
    again = dataclasses.replace(first, found_by={"suite_version": "later", "date": "2027-01-01", "command": "x"})
    assert save(again, tmp_path) == p1 and p1.read_bytes() == before
    assert save(other, tmp_path) == p2
    assert sorted(p.name for p in tmp_path.glob("*.json")) == sorted([p1.name, p2.name])
