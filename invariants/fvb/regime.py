"""FVB's regimes: Thm 4.2 (GD, smoothed leaky ReLU, logistic loss) and Thm 3.2 (gradient flow on data
meeting (7), approximated by GD with a small step), with their declared constants and the one case
strategy of each (``fvb_gd_cases``, ``fvb_gf_cases``).

Encoded (FVB Thm 4.2): (7) p <= gamma^3 R_min^2 / (3 R^2 n); alpha <= gamma^2 (5 n R_max^2 R^2 C_R
max(1, H))^{-1}; omega_init <= alpha gamma^2 R_min (72 R C_R n sqrt(m d log(4m/delta)))^{-1}
(``invariants.fvb.bounds`` explains each declared constant).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from sim import Dataset, SimConfig, equicorrelated_gram, nearly_orthogonal_gram
from sim.data import labels

from .._internal.adversarial import adversarial_grams
from .._internal.assumptions import Assumption, describe
from .._internal.profiles import horizon
from .._internal.regimes import Case, Regime, draw_factor, register_regime


@dataclass(frozen=True)
class FVBConstants:
    """The suite's declared constants for FVB Thm 4.2 (module docstring for each derivation).

    C_R = C_LR R^2 / gamma^2; C1 = C1_factor R^2 / gamma^2; C2 absolute; delta the failure probability
    in the init condition's log(4m/delta).
    """

    C_LR: float = 2.0
    C1_factor: float = 64.0
    C2: float = 4.0
    delta: float = 0.1


FVB_CONSTANTS = FVBConstants()


def smoothness_H(cfg: SimConfig) -> float:
    """|phi''| <= H: (1 - gamma)/4 for the smoothed leaky activation; inf for the kinked ones."""
    if cfg.activation == "smoothed_leaky":
        return (1.0 - cfg.slope) / 4.0
    return math.inf


def declared_C_R(data: Dataset, gamma: float, c: FVBConstants = FVB_CONSTANTS) -> float:
    """C_R = C_LR R^2 / gamma^2 (module docstring)."""
    return c.C_LR * data.R**2 / gamma**2


def declared_C1(data: Dataset, gamma: float, c: FVBConstants = FVB_CONSTANTS) -> float:
    """C1 = 64 R^2 / gamma^2 (module docstring: the proof chain (15) + L <= 2 G_hat)."""
    return c.C1_factor * data.R**2 / gamma**2


def step_size_bound(cfg: SimConfig, data: Dataset, c: FVBConstants = FVB_CONSTANTS) -> float:
    """alpha <= gamma^2 (5 n R_max^2 R^2 C_R max(1, H))^{-1}."""
    g = cfg.slope
    return g**2 / (5 * data.n * data.R_max**2 * data.R**2 * declared_C_R(data, g, c)
                   * max(1.0, smoothness_H(cfg)))


def init_scale_bound(cfg: SimConfig, data: Dataset, c: FVBConstants = FVB_CONSTANTS) -> float:
    """omega_init <= alpha gamma^2 R_min (72 R C_R n sqrt(m d log(4m/delta)))^{-1}, alpha = cfg.eta."""
    g, m = cfg.slope, cfg.m
    return (cfg.eta * g**2 * data.R_min
            / (72 * data.R * declared_C_R(data, g, c) * data.n
               * math.sqrt(m * data.d * math.log(4 * m / c.delta))))


def fvb_near_orthogonality(cfg: SimConfig, data: Dataset) -> Assumption:
    """Condition (7): p <= gamma^3 R_min^2 / (3 R^2 n)."""
    g = cfg.slope
    return Assumption("near-orthogonality (7)", value=data.p,
                      limit=g**3 * data.R_min**2 / (3 * data.R**2 * data.n))


def fvb_gd_assumptions(cfg: SimConfig, data: Dataset, c: FVBConstants = FVB_CONSTANTS) -> list[Assumption]:
    """Thm 4.2's assumptions with the declared constants: (7), step size, init scale."""
    return [
        fvb_near_orthogonality(cfg, data),
        Assumption("step size", value=cfg.eta, limit=step_size_bound(cfg, data, c)),
        Assumption("init scale", value=cfg.sigma0, limit=init_scale_bound(cfg, data, c)),
    ]


def _fvb_network(cfg: SimConfig) -> bool:
    return (cfg.network == "fvb" and cfg.loss == "logistic" and cfg.activation == "smoothed_leaky"
            and cfg.gamma is not None)


def in_fvb_gd_regime(cfg: SimConfig, data: Dataset, c: FVBConstants = FVB_CONSTANTS) -> bool:
    """FVB network, smoothed leaky, logistic loss, and (7), the step-size and init conditions of Thm 4.2."""
    return _fvb_network(cfg) and all(a.holds for a in fvb_gd_assumptions(cfg, data, c))


def in_fvb_pl_regime(cfg: SimConfig, data: Dataset) -> bool:
    """The proxy-PL inequality needs only a gamma-leaky activation and (7); it holds at every W."""
    return (cfg.network == "fvb" and cfg.loss == "logistic" and cfg.activation in ("smoothed_leaky",
                                                                                  "leaky_relu")
            and fvb_near_orthogonality(cfg, data).holds)


def describe_fvb(cfg: SimConfig, data: Dataset) -> dict[str, object]:
    """``regime.describe`` plus the FVB widths and the slack (log10) of each Thm 4.2 assumption."""
    out = describe(cfg, data)
    out["m1/m2"] = list(cfg.widths)
    if cfg.network == "fvb" and cfg.gamma is not None:
        out["slack"] = {a.name: round(a.slack, 3) for a in fvb_gd_assumptions(cfg, data)}
    return out


C_GF_STEP = 1.0   # GD "approximates GF": eta <= C_GF_STEP * n / R_max^2 (stability needs < 8 n / R_max^2)


def fvb7_ratio(data: Dataset, gamma: float) -> float:
    """gamma^3 R_min^2 / (3 R^2 n p): condition (7) holds iff >= 1."""
    return data.implied_C(gamma)["FVB-7"]


def in_fvb_gf_regime(cfg: SimConfig, data: Dataset) -> bool:
    """Thm 3.2's setting as GD approximates it: FVB network, leaky ReLU, logistic or exponential loss,
    condition (7), and a small step eta <= C_GF_STEP n / R_max^2."""
    return (cfg.network == "fvb" and cfg.activation == "leaky_relu" and cfg.gamma is not None
            and cfg.loss in ("logistic", "exponential") and fvb7_ratio(data, cfg.gamma) >= 1.0
            and cfg.eta <= C_GF_STEP * data.n / data.R_max**2)




# ---- Thm 4.2's placements and cases ------------------------------------------------------------

FVB_GD_AXES = ("near-orthogonality", "step size", "init scale")
FVB_GF_AXES = ("near-orthogonality", "step size")  # Thm 3.2: (7), and GD's step as gradient flow's proxy
GRAMS = ("random", "ones", "adversarial")


def _gd_gram(n: int, rng: np.random.Generator, p_ratio: float, R: float, d: int, gram: str) -> np.ndarray:
    """Thm 4.2's virtual Gram matrix (R_min = sqrt(d)): ``ones`` (every pair +p, positive definite up to
    p / R_min^2 < 1, capped at 0.95) or random signs (capped at 0.9 / (n - 1); inside (7) the caps never bind)."""
    if gram == "ones":
        return equicorrelated_gram(np.ones(n), math.sqrt(d), min(p_ratio, 0.95), pattern="ones")
    return nearly_orthogonal_gram(n, rng, min(p_ratio, 0.9 / max(n - 1, 1)), R, math.sqrt(d))


@st.composite
def fvb_gd_cases(draw: st.DrawFn, *, n: tuple[int, int] = (2, 6), m: tuple[int, int] = (2, 20),
                 gamma: tuple[float, float] = (0.3, 0.9), steps: int = 1_000_000, checkpoints: int = 80,
                 every_step: bool = False, log10_d: tuple[int, int] = (2, 6),
                 eta_frac: tuple[float, float] = (0.25, 1.0), sigma_frac: tuple[float, float] = (0.25, 1.0),
                 R_choices: tuple[float, ...] = (1.0, 1.2, 1.5), unbalanced: bool = True,
                 in_regime: bool = True, past: str | None = None, factor: tuple[float, float] = (1.0, 1e3),
                 gram: str = "mixed", scale_horizon: bool = True) -> Case:
    """An FVB configuration inside Thm 4.2 (smoothed leaky, logistic, (7), alpha and omega_init bounds).

    Virtual data: ``nearly_orthogonal_gram`` with R_min = sqrt(d), R in ``R_choices`` and
    p / R_min^2 = u gamma^3 / (3 R^2 n), u in [0, 1) (so (7) holds with ratio 1/u); alpha and sigma0 are
    fractions of their bounds (``step_size_bound``, ``init_scale_bound``); m1 in [1, m - 1] when
    ``unbalanced``.  The default horizon is 10^6 steps (0.3-2.3 s each on the span engine), where the loss
    has fallen to ~1e-2-1e-4 and the late phase that C_R governs is reached; S(t) = sum_{s<t} G_hat comes
    from the engine (``traj.cum_G``).  ``every_step`` records every step on a horizon capped at 2*10^4.
    ``in_regime=False`` skips the regime assertion (fractions above 1 leave Thm 4.2).
    ``past=AXIS`` (one of ``FVB_GD_AXES``) draws that assumption's fraction on a log scale in ``factor``
    instead (hunts); ``gram="ones"``: every pair correlated +p (``equicorrelated_gram``);
    ``gram="adversarial"``: worst-case data with p exactly at (7)'s bound (``_internal.adversarial``);
    ``gram="mixed"`` (default): random and adversarial, half and half (recorded in ``Dataset.origin``).  The one
    strategy of FVB Thm 4.2 configurations, for tests and hunts alike.
    """
    if past is not None and past not in FVB_GD_AXES:
        raise ValueError(f"FVB hunts go past one of {FVB_GD_AXES}; got {past!r}")
    if gram not in (*GRAMS, "mixed"):
        raise ValueError(f"gram must be one of {GRAMS} or 'mixed'; got {gram!r}")
    nn = draw(st.integers(*n), label="n")
    mm = draw(st.integers(*m), label="m")
    g = draw(st.floats(*gamma), label="gamma")
    d = 10 ** draw(st.integers(*log10_d), label="log10 d")
    R = draw(st.sampled_from(R_choices), label="R")
    u = draw(st.floats(0.0, 1.0), label="p fraction") * (1 - 1e-9)
    m1 = draw(st.integers(1, mm - 1), label="m1") if unbalanced else None
    seed = draw(st.integers(0, 2**31 - 1), label="seed")
    rng = np.random.default_rng(seed)
    y = labels(nn, rng)
    if past == "near-orthogonality":
        u = draw_factor(draw, past, factor) * (1 - 1e-9)
    p_ratio = u * g**3 / (3 * R**2 * nn)
    origin = ""
    if gram == "mixed":  # the property tests' default: random draws and worst-case data, half and half
        gram = draw(st.sampled_from(["random", "adversarial"]), label="gram") if past is None else "random"
    if gram == "adversarial":  # worst-case data with p exactly at (7)'s bound (_internal.adversarial)
        if past == "near-orthogonality":
            raise ValueError("gram='adversarial' stays inside (7) (past= another axis)")
        p_bound = (1 - 1e-9) * g**3 / (3 * R**2 * nn) * d
        G, family = draw(adversarial_grams(y, p_bound, float(d), R**2 * d), label="adversarial gram")
        origin = f"adversarial:{family}"
    else:
        G = _gd_gram(nn, rng, p_ratio, R, d, gram)
    data = Dataset.virtual(G, y, d, origin=origin)
    steps = horizon(steps) if scale_horizon else steps
    T = min(steps, 20_000) if every_step else steps
    ck = list(range(T + 1)) if every_step else None
    cfg = SimConfig(network="fvb", activation="smoothed_leaky", gamma=g, loss="logistic", n=nn, d=d, m=mm,
                    m1=m1, eta=1.0, sigma0=1.0, steps=T, seed=seed, checkpoints=ck,
                    num_checkpoints=checkpoints)
    e_frac = draw(st.floats(*eta_frac), label="eta fraction")
    if past == "step size":
        e_frac = draw_factor(draw, past, factor)
    cfg = cfg.with_(eta=e_frac * step_size_bound(cfg, data))
    s_frac = draw(st.floats(*sigma_frac), label="sigma0 fraction")
    if past == "init scale":
        s_frac = draw_factor(draw, past, factor)
    cfg = cfg.with_(sigma0=s_frac * init_scale_bound(cfg, data))
    case = Case(cfg, data)
    assert in_fvb_gd_regime(cfg, data) or not in_regime or past is not None, case
    return case



def _gd_slack(cfg: SimConfig, data: Dataset) -> dict[str, float]:
    return {a.name.split(" (")[0]: round(a.slack, 4) for a in fvb_gd_assumptions(cfg, data)}


def _gd_case(n: int, gamma: float, d: int, seed: int, steps: int, gram: str, p_frac: float, eta_frac: float,
             sigma_frac: float, m: int = 8, R: float = 1.0) -> Case:
    """A Thm 4.2 configuration with each assumption at the given fraction of its bound (walks)."""
    rng = np.random.default_rng(seed)
    y = labels(n, rng)
    data = Dataset.virtual(_gd_gram(n, rng, p_frac * gamma**3 / (3 * R**2 * n), R, d, gram), y, d)
    cfg = SimConfig(network="fvb", activation="smoothed_leaky", gamma=gamma, loss="logistic", n=n, d=d, m=m,
                    m1=m // 2, eta=1.0, sigma0=1.0, steps=steps, seed=seed, num_checkpoints=60)
    cfg = cfg.with_(eta=eta_frac * step_size_bound(cfg, data))
    cfg = cfg.with_(sigma0=sigma_frac * init_scale_bound(cfg, data))
    return Case(cfg, data, {"near-orthogonality": p_frac, "step size": eta_frac, "init scale": sigma_frac}, gram)


def gd_baseline(activation: str, *, n: int, gamma: float, d: int, seed: int, steps: int, gram: str = "random",
                orthogonal: bool = False) -> Case:
    """A boundary walk's starting case for Thm 4.2: every fraction 1/2, R = 1, m = 8 (m1 = m2 = 4)."""
    return _gd_case(n, gamma, d, seed, steps, gram, 0.0 if orthogonal else 0.5, 0.5, 0.5)


def _placed(case: Case, axis: str, factor: float, axes: tuple[str, ...], theorem: str) -> dict[str, float]:
    """A walk case's fractions with ``axis`` set to ``factor``."""
    if axis not in axes:
        raise ValueError(f"a {theorem} walk goes along one of {axes}; got {axis!r}")
    if not isinstance(case.placement, dict):  # a hunt's case: built from data, not from fractions
        raise ValueError(f"this {theorem} case carries no placement (fractions of its bounds) to rebuild it from")
    return {**case.placement, axis: factor}


def gd_with_factor(case: Case, axis: str, factor: float) -> Case:
    """The same Thm 4.2 case rebuilt with one assumption's fraction set to ``factor`` (boundary walks)."""
    frac, c = _placed(case, axis, factor, FVB_GD_AXES, "Thm 4.2"), case.cfg
    return _gd_case(c.n, float(c.gamma), c.d, c.seed, c.steps, case.gram, frac["near-orthogonality"],
                    frac["step size"], frac["init scale"], m=c.m)


register_regime(Regime(
    name="fvb-gd", paper="FVB", axes=FVB_GD_AXES, grams=GRAMS,
    applies=lambda cfg: cfg.network == "fvb" and cfg.activation == "smoothed_leaky", slack=_gd_slack,
    cases=lambda activation="smoothed_leaky", orthogonal=False, **kw: fvb_gd_cases(**kw),
    baseline=gd_baseline, with_factor=gd_with_factor))


# ---- Thm 3.2 (gradient flow, approximated by GD): data meeting (7) and its cases ------------------

@st.composite
def fvb7_data(draw: st.DrawFn, n: tuple[int, int] = (2, 10), gamma: tuple[float, float] = (0.1, 0.95),
              R_choices: tuple[float, ...] = (1.0, 1.2, 1.5, 2.0), power: float = 3.0,
              u: tuple[float, float] = (0.0, 1.0), kinds: tuple[str, ...] | None = None) -> tuple[Dataset, float]:
    """Data meeting (7) (``power`` = 3; other powers build the planted 'wrong gamma power' data).

    Gram kinds: random nearly-orthogonal; worst-case data with p exactly at (7)'s bound (``adversarial``,
    ``_internal.adversarial``; power 3 only); equicorrelated with same-class (``labels``), all-positive
    (``ones``) or opposite-class (``neg``) correlations, rescaled to norms in [R_min, R R_min] (the two
    ends attained), so p = u gamma^power R_min^2 / (3 R^2 n) exactly up to the rescaling.  R_min = 1 or
    sqrt(d) (the claims are scale-free; both are exercised).  ``kinds`` restricts the Gram kinds; ``u`` > 1
    places the data past (7) (capped where the Gram matrix would stop being positive definite)."""
    nn = draw(st.integers(*n), label="n")
    g = draw(st.floats(*gamma), label="gamma")
    R = draw(st.sampled_from(R_choices), label="R")
    uu = draw(st.floats(*u), label="p fraction") * (1 - 1e-9)
    allowed = ["random", "labels", "ones", "neg"] + (["adversarial"] if power == 3.0 else [])
    kind = draw(st.sampled_from([k for k in allowed if kinds is None or k in kinds]), label="gram")
    d = 10 ** draw(st.integers(2, 6), label="log10 d")
    r_min = draw(st.sampled_from([1.0, math.sqrt(d)]), label="R_min")
    seed = draw(st.integers(0, 2**31 - 1), label="seed")
    rng = np.random.default_rng(seed)
    y = labels(nn, rng, draw(st.sampled_from(["balanced", "random"]), label="labels"))
    pr = uu * g**power / (3 * R**2 * nn)
    if kind == "adversarial":  # worst-case data with p exactly at (7)'s bound (_internal.adversarial)
        p_bound = (1 - 1e-9) * g**3 / (3 * R**2 * nn) * r_min**2
        G, family = draw(adversarial_grams(y, p_bound, r_min**2, (R * r_min) ** 2), label="adversarial gram")
        return Dataset.virtual(G, y, max(d, nn), origin=f"adversarial:{family}"), g
    if kind == "random":
        G = nearly_orthogonal_gram(nn, rng, min(pr, 0.9 / max(nn - 1, 1)), R, r_min)
    else:
        pr_eq = min(pr, 0.9 / max(nn - 1, 1)) / R**2  # after rescaling by norms up to R: p <= pr R_min^2
        S = {"labels": np.outer(y, y), "ones": np.ones((nn, nn)), "neg": -np.outer(y, y)}[kind]
        G = (1 - pr_eq) * np.eye(nn) + pr_eq * S
        sc = np.sqrt(rng.uniform(1.0, R**2, size=nn))
        sc[0], sc[-1] = 1.0, R
        sc = rng.permutation(sc) * r_min
        G = G * np.outer(sc, sc)
    return Dataset.virtual(G, y, max(d, nn)), g


@st.composite
def fvb_gf_cases(draw: st.DrawFn, steps: int = 1_000_000, checkpoints: int = 40, past: str | None = None,
                 factor: tuple[float, float] = (1.0, 1e3), gram: str = "mixed", scale_horizon: bool = True) -> Case:
    """GD proxies of gradient flow inside Thm 3.2: leaky ReLU, logistic or exponential loss, data meeting
    (7), eta = f n / R_max^2 with f in [0.1, 1] (``C_GF_STEP``), sigma0 = 10^-k / sqrt(m d) with k in [1, 4]
    (||W(0)||_F ~ 10^-k R_min^0: small next to ||W*|| log t), m in [2, 12], m1 in [1, m - 1].
    ``past=AXIS`` puts that assumption's fraction at a factor in ``factor`` (hunts); ``gram``: "mixed"
    (every kind of ``fvb7_data``), or one kind."""
    if past is not None and past not in FVB_GF_AXES:
        raise ValueError(f"past must be one of {FVB_GF_AXES} or None; got {past!r}")
    kinds = None if gram == "mixed" else (gram,)
    if past == "near-orthogonality":
        if gram == "adversarial":
            raise ValueError("gram='adversarial' stays inside (7) (past= another axis)")
        f = draw_factor(draw, past, factor)
        data, g = draw(fvb7_data(n=(2, 8), gamma=(0.2, 0.9), u=(f, f), kinds=kinds or ("random",)))
    else:
        data, g = draw(fvb7_data(n=(2, 8), gamma=(0.2, 0.9), kinds=kinds))
    m = draw(st.integers(2, 12), label="m")
    m1 = draw(st.integers(1, m - 1), label="m1")
    loss = draw(st.sampled_from(["logistic", "exponential"]), label="loss")
    e_frac = draw_factor(draw, past, factor) if past == "step size" else draw(st.floats(0.1, 1.0),
                                                                               label="eta fraction")
    eta = e_frac * C_GF_STEP * data.n / data.R_max**2
    k = draw(st.floats(1.0, 4.0), label="-log10 init")
    sigma0 = 10**-k / (math.sqrt(m * data.d) * data.R_min)  # ||W(0)||_F ~ 10^-k / R_min, ||W*|| ~ 1 / R_min
    cfg = SimConfig(network="fvb", activation="leaky_relu", gamma=g, loss=loss, n=data.n, d=data.d, m=m,
                    m1=m1, eta=eta, sigma0=sigma0, steps=horizon(steps) if scale_horizon else steps,
                    num_checkpoints=checkpoints, seed=draw(st.integers(0, 2**31 - 1), label="seed"))
    case = Case(cfg, data, regime="fvb-gf")
    assert in_fvb_gf_regime(cfg, data) or past is not None, case
    return case


def _gf_case(n: int, gamma: float, d: int, seed: int, steps: int, gram: str, p_frac: float, eta_frac: float,
             m: int = 6, R: float = 1.0) -> Case:
    """A Thm 3.2 configuration (GD as gradient flow's proxy) with (7) and the step size at the given
    fractions of their bounds (walks): logistic loss, m1 = m2, sigma0 = 10^-2 / sqrt(m d R_min^2)."""
    rng = np.random.default_rng(seed)
    y = labels(n, rng)
    data = Dataset.virtual(_gd_gram(n, rng, p_frac * gamma**3 / (3 * R**2 * n), R, d, gram), y, d)
    cfg = SimConfig(network="fvb", activation="leaky_relu", gamma=gamma, loss="logistic", n=n, d=d, m=m,
                    m1=m // 2, eta=eta_frac * C_GF_STEP * n / data.R_max**2,
                    sigma0=1e-2 / (math.sqrt(m * d) * data.R_min), steps=steps, seed=seed, num_checkpoints=40)
    return Case(cfg, data, {"near-orthogonality": p_frac, "step size": eta_frac}, gram, regime="fvb-gf")


def gf_baseline(activation: str, *, n: int, gamma: float, d: int, seed: int, steps: int, gram: str = "random",
                orthogonal: bool = False) -> Case:
    """A boundary walk's starting case for Thm 3.2: (7) and the step size at half their bounds, R = 1."""
    return _gf_case(n, gamma, d, seed, steps, gram, 0.0 if orthogonal else 0.5, 0.5)


def gf_with_factor(case: Case, axis: str, factor: float) -> Case:
    """The same Thm 3.2 case rebuilt with one assumption's fraction set to ``factor`` (boundary walks)."""
    frac, c = _placed(case, axis, factor, FVB_GF_AXES, "Thm 3.2"), case.cfg
    return _gf_case(c.n, float(c.gamma), c.d, c.seed, c.steps, case.gram, frac["near-orthogonality"],
                    frac["step size"], m=c.m)



def _gf_slack(cfg: SimConfig, data: Dataset) -> dict[str, float]:
    step = Assumption("step size", cfg.eta, C_GF_STEP * data.n / data.R_max**2)
    return {"near-orthogonality": round(math.log10(max(fvb7_ratio(data, cfg.gamma), 1e-300)), 4),
            "step size": round(step.slack, 4)}


register_regime(Regime(
    name="fvb-gf", paper="FVB", axes=FVB_GF_AXES, grams=(*GRAMS, "mixed"),
    applies=lambda cfg: cfg.network == "fvb" and cfg.activation == "leaky_relu", slack=_gf_slack,
    cases=lambda activation="leaky_relu", orthogonal=False, **kw: fvb_gf_cases(**kw),
    baseline=gf_baseline, with_factor=gf_with_factor))
