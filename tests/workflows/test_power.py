"""``python -m invariants power``: the smallest planted deviation each check detects.

Each deviation family plants a near miss into a real in-regime run and asks the real check: the unplanted
reference holds, the reported eps is detected and a slightly smaller one is not (the edge is measured,
not assumed), the limit checks meet the suite's targets, and the command writes the fixed JSON format.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from invariants._internal.power import DEVIATIONS, TARGETS, detected, smallest_detected
from invariants.workflows.cli import main
from invariants.workflows.power import BASE_HORIZON, selected

IDS = selected(None)


def test_every_deviation_family_is_registered_for_a_known_result() -> None:
    assert {"KCG-4.1b", "KCG-4.1b:limit", "KCG-MRG:limit", "KCG-F3:limit", "FVB-3.2d:limit", "KCG-5.6"} <= set(IDS)
    assert all(DEVIATIONS[i].kind in TARGETS for i in IDS)


@pytest.mark.parametrize("cid", IDS)
def test_the_reported_edge_is_where_detection_starts(cid: str) -> None:
    dev = DEVIATIONS[cid]
    p = smallest_detected(dev, BASE_HORIZON)
    assert p.baseline == "held"  # the unplanted reference holds
    assert math.isfinite(p.epsilon)
    ref = dev.reference(BASE_HORIZON * dev.scale)  # the horizon smallest_detected used
    assert detected(dev.plant(ref, p.epsilon))
    if dev.kind == "pattern":
        assert not detected(dev.plant(ref, 0.0))
    else:
        assert not detected(dev.plant(ref, p.epsilon / 1.5))


@pytest.mark.parametrize("cid", [i for i in IDS if i.endswith(":limit") or DEVIATIONS[i].kind == "pattern"])
def test_the_limit_and_pattern_checks_meet_their_targets(cid: str) -> None:
    """At the limit direction a 1% offset is many orders of magnitude past the tolerance; a single
    activation change after T is caught."""
    assert smallest_detected(DEVIATIONS[cid], BASE_HORIZON).meets_target


def test_power_command_writes_the_fixed_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "power.json"
    assert main(["power", "--claim", "KCG-4.1b", "--json", str(path)]) == 0
    out = json.loads(path.read_text())
    assert set(out) == {"KCG-4.1b", "KCG-4.1b:limit"}
    row = out["KCG-4.1b:limit"]
    assert {"deviation", "epsilon", "horizon"} <= set(row) and row["horizon"] == BASE_HORIZON
    assert "KCG-4.1b:limit" in capsys.readouterr().out
    assert main(["power", "--claim", "NOPE"]) == 2
