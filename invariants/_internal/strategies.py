"""The strategy of a claim's cases: its regime family's strategy, asserted inside the claim's own regime."""

from __future__ import annotations

from typing import Any

from .claim import get
from .regimes import Case, get_regime


def _assert_inside(claim_id: str, pred: Any) -> Any:
    def inside(case: Case) -> Case:
        assert pred(case.cfg, case.data), f"{claim_id}: a case outside the claim's own regime: {case!r}"
        return case

    return inside


def cases_for(claim_id: str, *, past: str | None = None, **ranges: Any) -> Any:
    """Hypothesis strategy of :class:`Case` for ``claim_id``: its regime family's ``cases`` with the claim's
    activation and data (orthogonal or not) and ``ranges``.  Inside (``past=None``) every case is
    asserted to meet the claim's own ``in_regime`` (which may be stricter than the family's); with
    ``past=AXIS`` the cases sit past exactly that assumption (hunts), which must be one of the claim's axes.
    """
    claim = get(claim_id)
    if claim.regime is None:
        raise ValueError(f"{claim_id} names no regime family: its cases are not simulated runs")
    if past is not None and past not in claim.axes:
        raise ValueError(f"{claim_id} is hunted along {claim.axes}; got {past!r}")
    regime = get_regime(claim.regime)
    kw: dict[str, Any] = {"orthogonal": claim.orthogonal, **ranges}
    if claim.activation is not None:
        kw.setdefault("activation", claim.activation)
    strategy = regime.cases(past=past, **kw)
    if past is None and claim.in_regime is not None:
        strategy = strategy.map(_assert_inside(claim_id, claim.in_regime))
    return strategy
