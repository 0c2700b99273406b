"""The strategy of a claim's cases: its regime family's strategy, asserted inside the claim's own regime."""

from __future__ import annotations

from typing import Any

from .claim import get
from .regimes import Case, get_regime


def _inside(pred: Any) -> Any:
    def inside(case: Case) -> bool:
        return bool(pred(case.cfg, case.data))

    return inside


def cases_for(claim_id: str, *, past: str | None = None, **ranges: Any) -> Any:
    """Hypothesis strategy of :class:`Case` for ``claim_id``: its regime family's ``cases`` with the claim's
    activation and data (orthogonal or not) and ``ranges``.  Inside (``past=None``) only the cases that meet
    the claim's own ``in_regime`` are drawn: it may be stricter than the family's (KCG-5.6, 5.7 and C12 ask
    the appendix's init bound (B.2), gamma times Thm 4.1's; E3 asks p > 0), and the cases outside it are
    filtered out (pass ``ranges`` that keep most inside, or Hypothesis' health check says the filter rejects
    too many; until 2026-12-07 they were an AssertionError on the first draw); with ``past=AXIS`` the cases
    sit past exactly that assumption (hunts), which must be one of the claim's axes.
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
        strategy = strategy.filter(_inside(claim.in_regime))
    return strategy
