"""The outcome of one check: a signed, normalized violation margin and where it is worst."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .jsonout import jsonable


@dataclass(frozen=True)
class CheckResult:
    """One claim checked on one run (or one set of numbers).

    margin: signed and normalized, >= 0 exactly when the claim held; its size is comparable across runs
        (each check's docstring says how it is normalized, typically (bound - measured) / scale).
    measured, bound: the raw numbers compared.
    where: the worst case, e.g. {"t": 1000, "j": 1, "r": 3, "i": 2}.
    implied: for "there is a constant" claims, the constant the run implies (name -> value).
    config: a short description of the configuration the check ran on.
    outcome: "held", "failed", "diverged", "too_short" (the run cannot show the claim yet: too short, or W
        still dominated by its initialization) or "cannot_judge" (the check cannot decide on this input: a
        solver it needs did not converge, or the trajectory lacks what it needs).
    """

    claim: str
    margin: float
    measured: float
    bound: float
    where: dict[str, Any] = field(default_factory=dict)
    implied: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    outcome: str = ""

    def __post_init__(self) -> None:
        if not self.outcome:
            held = bool(self.margin >= 0) if not math.isnan(self.margin) else False
            object.__setattr__(self, "outcome", "held" if held else "failed")

    @property
    def held(self) -> bool:
        return self.outcome == "held"

    def to_json(self) -> dict[str, Any]:
        return jsonable(asdict(self))

    def __str__(self) -> str:
        imp = ", ".join(f"{k}={v:.4g}" for k, v in self.implied.items())
        return (f"{self.claim}: {self.outcome} margin={self.margin:+.4g} measured={self.measured:.6g} "
                f"bound={self.bound:.6g} where={self.where}" + (f" implied[{imp}]" if imp else "")
                + (f" ({self.note})" if self.note else ""))


def relative_margin(measured: float, bound: float, upper: bool = True, scale: float | None = None) -> float:
    """(bound - measured) / scale for an upper bound (measured <= bound), the mirror for a lower bound.

    The default scale is max(|bound|, tiny), so the margin is "the fraction of the bound left".
    """
    s = scale if scale is not None else max(abs(bound), np.finfo(float).tiny)
    return (bound - measured) / s if upper else (measured - bound) / s


def argworst(a: np.ndarray, names: tuple[str, ...]) -> dict[str, int]:
    """Index of the minimum of ``a`` as a dict named by axis (``names`` label the axes)."""
    idx = np.unravel_index(int(np.nanargmin(a)), a.shape)
    return {k: int(v) for k, v in zip(names, idx, strict=True)}
