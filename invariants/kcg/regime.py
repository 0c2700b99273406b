"""The theorems' assumptions, evaluated with the constants the suite declares.

KCG leaves "a sufficiently large constant C" unspecified.  The suite declares one value per assumption
(``KCG_CONSTANTS``) and builds in-regime configurations with it; hunts then walk each assumption outward
and report where a claim first breaks.  Each :class:`Assumption` reports its slack as
``log10(limit / value)`` for "value <= limit" (mirrored for ">="): >= 0 inside, and how far past outside.

Encoded (KCG Thm 4.1 and 4.3, text around lines 180-215 of seeds/003):
  * near-orthogonality  R_min^2 >= C R^2 gamma^{-4} n p   (leaky; ReLU: gamma^{-4} dropped)
  * step size           eta <= (C R_max^2 / (n m))^{-1}
  * init scale          sigma0 <= (C R_max sqrt(log(m n / delta)))^{-1}
  * width (ReLU only)   m >= C log(n / delta)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from hypothesis import strategies as st

from sim import Dataset, SimConfig, equicorrelated_gram, nearly_orthogonal_gram
from sim.data import labels

from .._internal.adversarial import adversarial_grams
from .._internal.assumptions import Assumption
from .._internal.assumptions import describe as _describe
from .._internal.profiles import horizon
from .._internal.regimes import Case, Regime, draw_factor, register_regime


@dataclass(frozen=True)
class KCGConstants:
    """The suite's declared constants for KCG's "sufficiently large C" (one per assumption).

    C_orth = 10, C_eta = 4, C_sigma = 4, C_width = 4, delta = 0.1.  Chosen as round values that the
    paper's own synthetic experiment nearly meets (eta = 0.1 at n = 10, m = 100, d = 784 is C_eta ~ 13)
    while keeping in-regime runs short; the boundary table of a hunt reports the empirical C.
    """

    C_orth: float = 10.0
    C_eta: float = 4.0
    C_sigma: float = 4.0
    C_width: float = 4.0
    delta: float = 0.1


KCG_CONSTANTS = KCGConstants()


def kcg_assumptions(cfg: SimConfig, data: Dataset, c: KCGConstants = KCG_CONSTANTS) -> list[Assumption]:
    """Thm 4.1 (leaky ReLU) or Thm 4.3 (ReLU) assumptions for a KCG configuration."""
    n, m = data.n, cfg.m
    leaky = cfg.activation == "leaky_relu"
    g4 = cfg.gamma**4 if leaky else 1.0
    rhs = c.C_orth * data.R**2 * n * data.p / g4  # R_min^2 >= rhs
    out = [
        Assumption("near-orthogonality", value=data.R_min**2, limit=rhs, upper=False),
        Assumption("step size", value=cfg.eta, limit=n * m / (c.C_eta * data.R_max**2)),
        Assumption("init scale", value=cfg.sigma0,
                   limit=1.0 / (c.C_sigma * data.R_max * math.sqrt(math.log(m * n / c.delta)))),
    ]
    if not leaky:
        out.append(Assumption("width", value=m, limit=c.C_width * math.log(n / c.delta), upper=False))
    return out


def step_fraction(cfg: SimConfig, data: Dataset) -> float:
    """f = min(1, eta / eta_max), eta_max = n m / (C_eta R_max^2) Thm 4.1/4.3's step-size bound: the unit of the
    rate checks' effective time tau = f t (steps at the bound; GD's dynamics depend on eta t to first order)."""
    bound = next(a.limit for a in kcg_assumptions(cfg, data) if a.name == "step size")
    return min(1.0, float(cfg.eta) / bound) if bound > 0 else 1.0


def in_kcg_regime(cfg: SimConfig, data: Dataset, c: KCGConstants = KCG_CONSTANTS) -> bool:
    """All of Thm 4.1's (leaky) or Thm 4.3's (ReLU) assumptions hold with the declared constants."""
    return (cfg.network == "kcg" and cfg.loss == "logistic"
            and cfg.activation in ("relu", "leaky_relu")
            and all(a.holds for a in kcg_assumptions(cfg, data, c)))


def in_kcg_leaky_regime(cfg: SimConfig, data: Dataset) -> bool:
    return cfg.activation == "leaky_relu" and in_kcg_regime(cfg, data)


def in_kcg_relu_regime(cfg: SimConfig, data: Dataset) -> bool:
    return cfg.activation == "relu" and in_kcg_regime(cfg, data)


def in_kcg_orthogonal_relu_regime(cfg: SimConfig, data: Dataset) -> bool:
    return in_kcg_relu_regime(cfg, data) and data.p == 0.0


def describe(cfg: SimConfig, data: Dataset) -> dict[str, object]:
    """A short, JSON-able description of a configuration for a :class:`CheckResult` (KCG slack included)."""
    kcg = cfg.network == "kcg" and cfg.activation in ("relu", "leaky_relu")
    return _describe(cfg, data, kcg_assumptions(cfg, data) if kcg else None)


# ---- the appendix's init bound (KCG (B.2)) -----------------------------------------------------

def appendix_init_bound(cfg: SimConfig, data: Dataset) -> float:
    """KCG (B.2): sigma0 <= gamma (C_sigma R_max sqrt(log(m n / delta)))^{-1} (declared C_sigma, delta)."""
    c = KCG_CONSTANTS
    g = cfg.gamma if cfg.gamma is not None else 1.0
    return g / (c.C_sigma * data.R_max * math.sqrt(math.log(cfg.m * data.n / c.delta)))


def in_kcg_leaky_appendix_regime(cfg: SimConfig, data: Dataset) -> bool:
    """Thm 4.1's assumptions (declared constants) plus the appendix's gamma-scaled init bound (B.2)."""
    return in_kcg_leaky_regime(cfg, data) and cfg.sigma0 <= appendix_init_bound(cfg, data)


# ---- placements and cases ----------------------------------------------------------------------
# A configuration is described by the fraction of each assumption's bound it uses (``Placement``):
# ``p`` (p / R_min^2 as a fraction of its largest allowed value gamma^4 / (C_orth R^2 n)), ``eta`` and
# ``sigma0`` (fractions of their bounds), ``width`` (m_min / m: > 1 means fewer neurons than
# C_width log(n / delta)).  Every fraction <= 1 is inside Thm 4.1 / 4.3 with the declared constants; a
# hunt raises one of them above 1 and keeps the rest inside, so the assumption that is broken is part of
# the result.  Data are virtual Gram matrices (exact at any d).

AXES = ("near-orthogonality", "step size", "init scale", "width", "label balance")
GRAMS = ("random", "ones", "adversarial")
_KEY = {"near-orthogonality": "p", "step size": "eta", "init scale": "sigma0", "width": "width"}
INSIDE = 1 - 1e-9  # a fraction of exactly 1 is equality, which rounding may tip outside


@dataclass(frozen=True)
class Placement:
    """Fractions of each assumption's bound; all <= 1 is inside the regime."""

    p: float = 0.5
    eta: float = 0.5
    sigma0: float = 0.5
    width: float = 0.5
    minority: int | None = None  # number of points of the minority class (None: balanced)

    def past(self) -> list[str]:
        out = [name for name, v in (("near-orthogonality", self.p), ("step size", self.eta),
                                    ("init scale", self.sigma0), ("width", self.width)) if v > 1]
        return out + (["label balance"] if self.minority is not None else [])


def build_case(activation: str, n: int, m: int | None, gamma: float | None, *, d: int, R: float, seed: int,
               steps: int, place: Placement = Placement(), consts: KCGConstants = KCG_CONSTANTS,
               checkpoints: int | list[int] = 60, gram: str = "random", orthogonal: bool = False,
               inside: float = INSIDE, G: np.ndarray | None = None, y: np.ndarray | None = None,
               origin: str = "") -> Case:
    """The configuration a :class:`Placement` describes (``m=None``: from the width fraction).

    gram: ``random`` -- off-diagonal entries uniform in [-p, p] (``nearly_orthogonal_gram``; p / R_min^2
    capped at 0.9 / (n - 1) to stay positive definite); ``ones`` -- every pair correlated +p
    (``equicorrelated_gram`` with the all-ones pattern, positive definite up to p / R_min^2 < 1, capped
    at 0.95): the correlated data that break the ReLU pattern claims; ``adversarial`` -- the Gram matrix
    ``G`` (and labels ``y``) given, drawn by ``kcg_cases`` from ``_internal.adversarial`` (worst-case
    data inside the assumption, p at its bound).  ``orthogonal``: p = 0 whatever
    the placement says (claims stated for orthogonal data).  ``checkpoints``: their number, or the list.
    ``inside``: the factor applied to every fraction (default 1 - 1e-9, so that a fraction of 1 stays
    inside after rounding; 1.0 reproduces the bounds exactly).
    """
    relu = activation == "relu"
    g4 = 1.0 if relu else gamma**4
    m_min = consts.C_width * math.log(n / consts.delta)
    if m is None:
        m = max(1, math.ceil(m_min / place.width)) if relu else 8
    rng = np.random.default_rng(seed)
    y = labels(n, rng) if y is None else np.asarray(y, dtype=float)
    if place.minority is not None and gram != "adversarial":
        k = min(max(1, place.minority), n - 1)
        y = rng.permutation(np.array([-1.0] * k + [1.0] * (n - k)))
    p_ratio = 0.0 if orthogonal else place.p * inside * g4 / (consts.C_orth * R**2 * n)
    if gram == "adversarial":
        if G is None:
            raise ValueError("gram='adversarial' needs the Gram matrix G (kcg_cases draws it)")
    elif gram == "ones":
        G = equicorrelated_gram(np.ones(n), math.sqrt(d), min(p_ratio, 0.95), pattern="ones")
    elif gram == "random":
        G = nearly_orthogonal_gram(n, rng, min(p_ratio, 0.9 / max(n - 1, 1)), R, math.sqrt(d))
    else:
        raise ValueError(f"gram must be one of {GRAMS}; got {gram!r}")
    data = Dataset.virtual(G, y, d, origin=origin)
    eta = place.eta * inside * n * m / (consts.C_eta * data.R_max**2)
    sigma0 = place.sigma0 * inside / (consts.C_sigma * data.R_max * math.sqrt(math.log(m * n / consts.delta)))
    ck = {"checkpoints": list(checkpoints)} if isinstance(checkpoints, list | tuple) else \
        {"num_checkpoints": checkpoints}
    cfg = SimConfig(activation=activation, gamma=None if relu else gamma, n=n, d=d, m=m, eta=eta,
                    sigma0=sigma0, steps=steps, seed=seed, **ck)
    return Case(cfg, data, place, gram)


def draw_log_uniform(draw: st.DrawFn, bounds: tuple[float, float], label: str) -> float:
    """A fraction in [lo, hi] drawn uniformly in log10 (both ends > 0; lo == hi gives lo)."""
    lo, hi = bounds
    if not 0 < lo <= hi:
        raise ValueError(f"{label}: bounds must satisfy 0 < lo <= hi; got {bounds}")
    if lo == hi:
        return float(lo)
    return float(min(hi, max(lo, 10.0 ** draw(st.floats(math.log10(lo), math.log10(hi)), label=label))))


@st.composite
def kcg_cases(draw: st.DrawFn, activation: str = "leaky_relu", *, orthogonal: bool = False,
              n: tuple[int, int] = (3, 8), m: tuple[int, int] | None = None,
              gamma: tuple[float, float] = (0.2, 0.9), steps: int = 20_000,
              consts: KCGConstants = KCG_CONSTANTS, checkpoints: int = 60,
              log10_d: tuple[int, int] = (3, 12), eta_frac: tuple[float, float] = (0.01, 1.0),
              sigma_frac: tuple[float, float] = (0.01, 1.0), past: str | None = None,
              factor: tuple[float, float] = (1.0, 1e3), gram: str = "mixed",
              scale_horizon: bool = True) -> Case:
    """The one strategy of KCG Thm 4.1 (leaky) / Thm 4.3 (ReLU) configurations (tests and hunts alike).

    Inside (``past=None``): p / R_min^2 = u * gamma^4 / (C_orth R^2 n) with u in [0, 1] (0 for
    ``orthogonal``); eta and sigma0 are fractions (``eta_frac``, ``sigma_frac``, default [1e-2, 1], drawn
    log-uniformly, so the regime's interior -- small eta, where Lemma 5.6's T is long -- is covered as well as
    its edge; the margins table's "reach" says which part each claim's evidence came from) of their
    bounds; R = R_max / R_min in [1, 1.5]; d = 10^k with k in ``log10_d``; the case is asserted to be inside
    with the declared constants.  ``gram``: ``mixed`` (default) draws half the cases from ``random`` (entries
    uniform in [-p, p]) and half from ``adversarial`` (``_internal.adversarial``: worst-case families with p
    exactly at its bound: aligned or reversed class signs, clusters, one near-parallel pair, rank one,
    unequal norms up to R, or every entry drawn), so every property test meets both; the data's family is
    recorded (``Dataset.origin``) and the margins table splits its evidence by it.  ``past=AXIS`` (one of
    ``AXES``): that assumption's fraction is drawn on a
    log scale in ``factor`` instead (``width``: m = ceil(m_min / factor) for ReLU; ``label balance``: a
    minority class of 1 .. n/2 - 1 points), the others stay as drawn.  ``steps`` is scaled by the profile
    (``profiles.horizon``) unless ``scale_horizon=False``, and divided by the eta fraction when it is below 1
    (the same effective time eta t at every step size).

    Note on d: at the sigma0 bound, ||w(0)||^2 ~ sigma0^2 d ~ 1/(C^2 log(mn/delta)) does not shrink
    with d while the learned part ~ rho / R_min does, so at large d the weights stay dominated by the
    initialization for any feasible t (stable rank ~ m).  Claims about W itself (norms, stable rank)
    need small d or small ``sigma_frac``; claims about rho and the margins are d-free.
    """
    if past is not None and past not in AXES:
        raise ValueError(f"past must be one of {AXES} or None; got {past!r}")
    relu = activation == "relu"
    nn = draw(st.integers(*n), label="n")
    if m is None:
        m_lo = math.ceil(consts.C_width * math.log(nn / consts.delta)) if relu else 4
        m_rng = (m_lo, m_lo + 16)
    else:
        m_rng = m
    mm = None if (past == "width" and relu) else draw(st.integers(*m_rng), label="m")
    g = None if relu else draw(st.floats(*gamma), label="gamma")
    d = 10 ** draw(st.integers(*log10_d), label="log10 d")
    R = 1.0 if orthogonal else draw(st.sampled_from([1.0, 1.0, 1.2, 1.5]), label="R")
    u_p = 0.0 if orthogonal else draw(st.floats(0.0, 1.0), label="p fraction")
    seed = draw(st.integers(0, 2**31 - 1), label="seed")
    place = Placement(p=u_p, eta=draw_log_uniform(draw, eta_frac, "eta fraction"),
                      sigma0=draw_log_uniform(draw, sigma_frac, "sigma0 fraction"))
    if past == "label balance":
        place = replace(place, minority=draw(st.integers(1, max(1, nn // 2 - 1)), label="minority"))
    elif past is not None:
        place = replace(place, **{_KEY[past]: draw_factor(draw, past, factor)})
    extra: dict[str, object] = {}
    if gram == "mixed":  # the property tests' default: random draws and worst-case data, half and half
        inside_p = past not in ("near-orthogonality", "label balance") and not orthogonal
        gram = draw(st.sampled_from(["random", "adversarial"]), label="gram") if inside_p else "random"
    if gram == "adversarial":  # worst-case data with p exactly at its bound (the p fraction is not drawn)
        if past == "near-orthogonality":
            raise ValueError("gram='adversarial' stays inside near-orthogonality (past= another axis)")
        if place.minority is not None:
            raise ValueError("gram='adversarial' draws balanced labels (past='label balance' uses 'random')")
        y = labels(nn, np.random.default_rng(seed))
        g4 = 1.0 if relu else g**4
        p_ratio = 0.0 if orthogonal else INSIDE * g4 / (consts.C_orth * R**2 * nn)
        G, family = draw(adversarial_grams(y, p_ratio * d, float(d), R**2 * d), label="adversarial gram")
        place = replace(place, p=1.0)
        extra = {"G": G, "y": y, "origin": f"adversarial:{family}"}
    # GD's dynamics depend on eta t to first order: a run at a fraction f < 1 of the step-size bound gets
    # steps / f steps, so that every draw reaches the same effective time (the rate checks judge the late,
    # asymptotic phase; at 1% of the bound 2e4 steps would still be the transient)
    base = horizon(steps) if scale_horizon else steps
    n_steps = math.ceil(base / min(place.eta, 1.0)) if place.eta > 0 else base
    case = build_case(activation, nn, mm, g, d=d, R=R, seed=seed, steps=n_steps,
                      place=place, consts=consts, checkpoints=checkpoints, orthogonal=orthogonal, gram=gram,
                      **extra)  # type: ignore[arg-type]
    if past is None:
        assert in_kcg_regime(case.cfg, case.data, consts), case
    return case


@st.composite
def leaky_appendix_cases(draw: st.DrawFn, gamma: tuple[float, float] = (0.05, 0.9), **kw: object) -> Case:
    """KCG leaky cases inside Thm 4.1 *and* the appendix's (B.2) sigma0 <= gamma (C R_max sqrt(log))^{-1}.

    gamma is drawn first and sigma0 as a fraction in [gamma/4, 0.999 gamma] of Thm 4.1's bound.
    """
    g = draw(st.floats(*gamma), label="gamma")
    case = draw(kcg_cases("leaky_relu", gamma=(g, g), sigma_frac=(0.25 * g, 0.999 * g), **kw))
    assert in_kcg_leaky_appendix_regime(case.cfg, case.data), case
    return case


def fixed_case(activation: str = "leaky_relu", *, gamma: float | None = 0.5, n: int = 6, m: int | None = 8,
               d: int = 1000, u: float = 0.5, R: float = 1.2, steps: int = 20_000, seed: int = 3,
               eta_frac: float = 0.5, sigma_frac: float = 0.01, G: np.ndarray | None = None,
               y: np.ndarray | None = None, orthogonal: bool = False,
               checkpoints: int | list[int] | None = None, inside: float = INSIDE) -> Case:
    """A deterministic configuration placed like ``kcg_cases`` (u: the p fraction of the near-orthogonality
    bound; eta_frac, sigma_frac: fractions of their bounds; ``m=None``: twice the ReLU width bound).  With
    ``G`` and ``y`` given, that Gram matrix instead (scaled to R_min^2 = d, possibly out of the regime) --
    the falsification tests' planted data."""
    g = gamma if activation == "leaky_relu" else None
    if G is None:
        return build_case(activation, n, m, g, d=d, R=R, seed=seed, steps=steps,
                          place=Placement(p=u, eta=eta_frac, sigma0=sigma_frac), orthogonal=orthogonal,
                          checkpoints=60 if checkpoints is None else checkpoints, inside=inside)
    c = KCG_CONSTANTS
    data = Dataset.virtual(np.asarray(G, dtype=float) * d / float(np.min(np.diag(G))), y, d)
    n, m = data.n, 8 if m is None else m
    eta = eta_frac * n * m / (c.C_eta * data.R_max**2)
    sigma0 = sigma_frac / (c.C_sigma * data.R_max * math.sqrt(math.log(m * n / c.delta)))
    cfg = SimConfig(activation=activation, gamma=g, n=n, d=d, m=m, eta=eta, sigma0=sigma0, steps=steps,
                    seed=seed)
    return Case(cfg, data)


def with_factor(case: Case, axis: str, factor: float) -> Case:
    """The same case rebuilt with one assumption's fraction set to ``factor`` (for boundary walks).  The label
    balance has no fraction: ``factor`` <= 1 rebuilds the case with balanced labels (a hunt's ``others_inside``
    asks for that), > 1 is a ValueError (no walk goes along it)."""
    if axis == "label balance":
        if factor > 1 or case.gram == "adversarial":
            raise ValueError("the label balance has no fraction to walk along (and an adversarial data set's "
                             "labels are part of it)")
        place = replace(case.placement, minority=None)
    elif axis not in _KEY:
        raise ValueError(f"a boundary walk goes along one of {tuple(_KEY)}; got {axis!r}")
    else:
        place = replace(case.placement, **{_KEY[axis]: factor})
    c = case.cfg
    given: dict[str, Any] = {}
    if case.gram == "adversarial":  # its Gram matrix is the data: kept, unless p itself is what moves
        if axis == "near-orthogonality":
            raise ValueError("an adversarial Gram matrix has p at its bound by construction; it has no other "
                             "near-orthogonality fraction (walk with gram 'random' or 'ones')")
        given = {"G": case.data.G, "y": case.data.y, "origin": case.data.origin}
    return build_case(c.activation, c.n, None if c.activation == "relu" else c.m, c.gamma, d=c.d,
                      R=round(case.data.R, 12), seed=c.seed, steps=c.steps, place=place,
                      checkpoints=c.num_checkpoints, gram=case.gram, orthogonal=case.data.p == 0.0, **given)


def baseline(activation: str, *, n: int, gamma: float, d: int, seed: int, steps: int, gram: str = "random",
             orthogonal: bool = False) -> Case:
    """A boundary walk's starting case: every fraction 1/2, R = 1, m = 8 (leaky) or from the width."""
    relu = activation == "relu"
    return build_case(activation, n, None if relu else 8, None if relu else gamma, d=d, R=1.0, seed=seed,
                      steps=steps, place=Placement(), gram=gram, orthogonal=orthogonal)


def _slack(cfg: SimConfig, data: Dataset) -> dict[str, float]:
    return {a.name: round(a.slack, 4) for a in kcg_assumptions(cfg, data)}


REGIME = register_regime(Regime(
    name="kcg", paper="KCG", axes=AXES, grams=GRAMS,
    applies=lambda cfg: cfg.network == "kcg", slack=_slack, cases=kcg_cases, baseline=baseline,
    with_factor=with_factor,
    declared={"near-orthogonality": KCG_CONSTANTS.C_orth, "step size": KCG_CONSTANTS.C_eta,
              "init scale": KCG_CONSTANTS.C_sigma, "width": KCG_CONSTANTS.C_width}))


# Claims about W itself (norms, stable rank): small d and a small sigma0, so that the learned part can
# outgrow w(0) within a test's horizon (see the note on d in ``kcg_cases``).
SMALL_W = {"log10_d": (3, 4), "sigma_frac": (1e-3, 3e-2)}
