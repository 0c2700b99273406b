"""An assumption of a theorem, evaluated on one configuration: its value, its limit and its log10 slack."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Assumption:
    """``value <= limit`` (``upper``) or ``value >= limit``; ``slack`` is log10 of the room left."""

    name: str
    value: float
    limit: float
    upper: bool = True  # True: value <= limit is required

    @property
    def slack(self) -> float:
        """log10(limit / value) for an upper limit, log10(value / limit) for a lower one (>= 0: holds)."""
        num, den = (self.limit, self.value) if self.upper else (self.value, self.limit)
        if den == 0:
            return math.inf if num > 0 else -math.inf
        r = num / den
        return math.log10(r) if r > 0 else -math.inf

    @property
    def holds(self) -> bool:
        return self.slack >= 0


def describe(cfg: object, data: object, slack: list[Assumption] | None = None) -> dict[str, object]:
    """A short, JSON-able description of a configuration for a ``CheckResult`` (with the log10 slack of
    ``slack``'s assumptions when given)."""
    out: dict[str, object] = {
        "activation": cfg.activation, "gamma": cfg.gamma, "n": cfg.n, "d": cfg.d, "m": cfg.m,  # type: ignore[attr-defined]
        "eta": cfg.eta, "sigma0": cfg.sigma0, "steps": cfg.steps, "seed": cfg.seed,  # type: ignore[attr-defined]
        "data": "virtual" if data.is_virtual else "concrete", "p/R_min^2": data.p_ratio,  # type: ignore[attr-defined]
        "R": data.R,  # type: ignore[attr-defined]
    }
    origin = getattr(data, "origin", "")
    if origin:  # e.g. "adversarial:aligned": the margins table splits its evidence by it
        out["origin"] = origin
    if slack is not None:
        out["slack"] = {a.name: round(a.slack, 3) for a in slack}
    return out
