"""Power: the smallest planted deviation each check detects.

A :class:`Deviation` is a family of near-miss alternatives of size eps for one result ID: ``plant(ref,
eps)`` applies it to a real in-regime reference (a trajectory of the claim's regime) and returns what the
*real* check says about the planted input (never a re-implementation).  ``smallest_detected`` scans eps on
a log grid from 1 down to 1e-16 and bisects the edge: the smallest eps at which the check fails, with
every larger grid value failing too (eps = 0, the unplanted reference, must hold).

Kinds and the targets the suite sets (issue "verdicts with teeth"): ``limit`` (an offset of the limit,
target 1%), ``rate`` (the exponent off by a fraction eps, 5%), ``spread`` (a spread or balance ratio
violated by a factor 1 +- eps, 10%), ``bound`` (a bound exceeded by a fraction eps, 1%), ``pattern`` (eps
planted activation changes after T; target: a single change), ``exact`` (an identity broken by a relative
eps in one entry; target 1e-9: far below any modelling error, far above float64 rounding), ``law`` (a
distribution's parameter off by a factor 1 + eps, as a probabilistic claim's statistical test sees it on the
suite's sample sizes; target 10%).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .result import CheckResult

TARGETS = {"limit": 0.01, "rate": 0.05, "spread": 0.10, "bound": 0.01, "pattern": 1.0, "exact": 1e-9, "law": 0.10}
GRID = [10.0 ** (-k / 2) for k in range(0, 33)]  # 1 ... 1e-16


@dataclass(frozen=True)
class Deviation:
    claim: str  # the result ID the check reports, e.g. "KCG-4.1b:limit"
    text: str  # what is planted, in words
    kind: str  # one of TARGETS
    reference: Callable[[int], Any]  # horizon (steps) -> the in-regime reference input
    plant: Callable[[Any, float], list[CheckResult]]  # (reference, eps) -> the real check's results
    scale: int = 1  # the claim's property tests run scale x the base horizon (FVB Thm 4.2: 10^6 = 50 x 2*10^4)

    @property
    def target(self) -> float:
        return TARGETS[self.kind]


DEVIATIONS: dict[str, Deviation] = {}


def deviation(claim: str, text: str, kind: str, reference: Callable[[int], Any], scale: int = 1
              ) -> Callable[[Callable[[Any, float], Any]], Callable[[Any, float], Any]]:
    """Register ``plant`` as the deviation family of ``claim`` (next to the check, in the paper package);
    ``scale``: its reference runs at ``scale`` x the horizon asked for (the claim's own default horizon)."""
    if kind not in TARGETS:
        raise ValueError(f"kind must be one of {sorted(TARGETS)}; got {kind!r}")

    def register(plant: Callable[[Any, float], Any]) -> Callable[[Any, float], Any]:
        def results(ref: Any, eps: float) -> list[CheckResult]:
            out = plant(ref, eps)
            out = list(out) if isinstance(out, list | tuple) else [out]
            return [r for r in out if r.claim == claim]

        DEVIATIONS[claim] = Deviation(claim, text, kind, reference, results, scale)
        return plant

    return register


def detected(results: list[CheckResult]) -> bool:
    return any(r.outcome == "failed" for r in results)


@dataclass(frozen=True)
class Power:
    claim: str
    deviation: str
    kind: str
    epsilon: float  # smallest eps detected (inf: not even eps = 1; nan: the reference itself fails)
    target: float
    horizon: int
    baseline: str  # the unplanted reference's outcome

    @property
    def meets_target(self) -> bool:
        return self.epsilon <= self.target

    def to_json(self) -> dict[str, Any]:
        return {"deviation": self.deviation, "kind": self.kind, "epsilon": self.epsilon, "target": self.target,
                "meets_target": self.meets_target, "horizon": self.horizon, "baseline": self.baseline}


def smallest_detected(dev: Deviation, horizon: int, bisect: int = 8) -> Power:
    """The smallest eps the check detects on the reference at ``horizon`` x ``dev.scale`` (module docstring)."""
    horizon = horizon * dev.scale
    ref = dev.reference(horizon)
    base = dev.plant(ref, 0.0)
    baseline = ",".join(sorted({r.outcome for r in base})) or "no result"
    if detected(base) or not base or all(r.outcome != "held" for r in base):
        return Power(dev.claim, dev.text, dev.kind, math.nan, dev.target, horizon, baseline)
    if dev.kind == "pattern":
        eps = 1.0 if detected(dev.plant(ref, 1.0)) else math.inf
        return Power(dev.claim, dev.text, dev.kind, eps, dev.target, horizon, baseline)
    hi = None  # smallest grid eps detected with every larger one detected
    lo = 0.0
    for e in GRID:
        if detected(dev.plant(ref, e)):
            hi = e
        else:
            lo = e
            break
    if hi is None:
        return Power(dev.claim, dev.text, dev.kind, math.inf, dev.target, horizon, baseline)
    if lo > 0:
        for _ in range(bisect):
            mid = math.sqrt(lo * hi)
            if detected(dev.plant(ref, mid)):
                hi = mid
            else:
                lo = mid
    return Power(dev.claim, dev.text, dev.kind, hi, dev.target, horizon, baseline)


def eps_text(eps: float, kind: str) -> str:
    """The smallest detected eps as the tables print it."""
    if math.isnan(eps):
        return "ref fails"
    if math.isinf(eps):
        return "> 1"
    if kind == "pattern":
        return "1 change"
    return f"{eps:.2g}"
