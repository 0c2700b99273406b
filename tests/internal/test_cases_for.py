"""``invariants.cases_for``: a claim's cases from its regime family, inside the claim's own regime."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from invariants import Case, cases_for
from invariants._internal.claim import get


@pytest.mark.parametrize("cid", ["KCG-5.6", "KCG-E3"])
def test_cases_for_draws_inside_a_claims_stricter_regime(cid: str) -> None:
    """KCG-5.6, 5.7, C12 (the appendix's init bound) and E3 (p > 0) are stricter than their family: a user's
    cases_for(ID) with its defaults once raised an AssertionError on the first draw; the cases outside are
    now filtered out, and every case drawn is inside."""
    seen: list[bool] = []

    @settings(max_examples=5, deadline=None, database=None, derandomize=True)
    @given(case=cases_for(cid, steps=10))
    def draw(case: Case) -> None:
        seen.append(bool(get(cid).in_regime(case.cfg, case.data)))

    draw()
    assert seen and all(seen)


def test_cases_for_refuses_an_axis_the_claim_does_not_have() -> None:
    with pytest.raises(ValueError, match="is hunted along"):
        cases_for("KCG-5.6", past="no such axis")
