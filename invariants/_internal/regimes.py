"""Regime families: how a paper's assumptions are evaluated and how its cases are built.

A paper's regime module registers one :class:`Regime` per family of configurations (KCG Thm 4.1/4.3,
FVB Thm 4.2, ...).  Its ``cases`` strategy draws *placements* -- each assumption as a fraction of its
bound, <= 1 inside, > 1 past it -- and maps them to :class:`Case` objects; ``past=AXIS`` raises exactly
one fraction above 1 (hunts).  ``baseline`` and ``with_factor`` build the deterministic cases of a
boundary walk.  Claims name their family (``Claim.regime``); hunts, walks and replays look it up here,
so no workflow imports a paper.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from sim import Dataset, SimConfig, Trajectory, simulate


@dataclass(frozen=True)
class Case:
    """A configuration and its (virtual) data set; ``placement`` says where it sits in its regime."""

    cfg: SimConfig
    data: Dataset
    placement: Any = None
    gram: str = "random"
    regime: str | None = None  # the family that built it (None: the first whose ``applies`` accepts the config)

    def run(self, steps: int | None = None) -> Trajectory:
        cfg = self.cfg if steps is None else self.cfg.with_(steps=steps)
        return simulate(cfg, data=self.data)

    def slack(self) -> dict[str, float]:
        """log10 slack of each assumption of the regime family the configuration belongs to (>= 0 inside)."""
        family = get_regime(self.regime) if self.regime is not None else regime_of(self.cfg)
        return family.slack(self.cfg, self.data)

    def __repr__(self) -> str:
        c = self.cfg
        return (f"Case(activation={c.activation!r}, gamma={c.gamma}, n={c.n}, d={c.d}, m={c.m}, "
                f"eta={c.eta:.6g}, sigma0={c.sigma0:.6g}, steps={c.steps}, seed={c.seed}, "
                f"p/R_min^2={self.data.p_ratio:.4g}, R={self.data.R:.4g})")


@dataclass(frozen=True)
class Regime:
    """One family of configurations and the assumptions that place them.

    applies: whether a configuration belongs to this family (used to evaluate a case's slack).
    slack: ``(cfg, data) -> {axis: log10 slack}``.
    cases: ``cases(activation=..., orthogonal=..., past=None, factor=(lo, hi), steps=..., gram=...,
        scale_horizon=...)`` -> a Hypothesis strategy of :class:`Case`.
    baseline: ``baseline(activation, *, n, gamma, d, seed, steps, gram, orthogonal)`` -> the walk's start.
    with_factor: ``(case, axis, factor) -> case`` with that assumption's fraction set to ``factor``.
    declared: axis -> the declared constant C of that assumption (a walk's factor f implies C / f).
    """

    name: str
    paper: str
    axes: tuple[str, ...]
    grams: tuple[str, ...]
    applies: Callable[[SimConfig], bool]
    slack: Callable[[SimConfig, Dataset], dict[str, float]]
    cases: Callable[..., Any]
    baseline: Callable[..., Case] | None = None
    with_factor: Callable[[Case, str, float], Case] | None = None
    declared: dict[str, float] = field(default_factory=dict)


def draw_factor(draw: st.DrawFn, past: str, factor: tuple[float, float]) -> float:
    """A factor past an assumption's bound, drawn on a log scale in ``factor`` (hunts' ``past=AXIS``)."""
    return 10 ** draw(st.floats(math.log10(factor[0]), math.log10(factor[1])), label=f"{past} factor")


REGIMES: dict[str, Regime] = {}


def register_regime(regime: Regime) -> Regime:
    if regime.name in REGIMES and REGIMES[regime.name] != regime:
        raise ValueError(f"regime {regime.name} registered twice with different contents")
    REGIMES[regime.name] = regime
    return regime


def get_regime(name: str) -> Regime:
    from .claim import load_all

    load_all()
    try:
        return REGIMES[name]
    except KeyError:
        raise KeyError(f"unknown regime {name!r}; known: {sorted(REGIMES)}") from None


def regime_of(cfg: SimConfig) -> Regime:
    """The first registered family that the configuration belongs to."""
    from .claim import load_all

    load_all()
    for r in REGIMES.values():
        if r.applies(cfg):
            return r
    raise ValueError(f"no regime family applies to network={cfg.network!r}, activation={cfg.activation!r}")
