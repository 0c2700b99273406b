"""Probabilistic lemmas on the random initialization: KCG Lemmas A.1 and A.2.

Every entry of W(0) is i.i.d. N(0, sigma0^2) (KCG section 3); neurons w_{j,r}(0), j in {+1, -1},
r in [m].  Encoded (seeds/003, lines 554-600):

* ``KCG-A1a``  sigma0^2 d / 2 <= ||w_{j,r}(0)||^2 <= 3 sigma0^2 d / 2 for all j, r;
* ``KCG-A1b``  |<w_{j,r}(0), x_i>| <= sqrt(2 log(8 m n / delta)) sigma0 R_max for all j, r, i;
  (A.1: both with probability >= 1 - delta when d = Omega(log(m n / delta)), m = Omega(log(1/delta));
  the proof spends delta/2 on each; each ID is tested against delta, the lemma's joint statement.)
* ``KCG-A2``   0.4 m <= |S_i(0)| <= 0.6 m for all i, S_i(0) = {r : <w_{y_i,r}(0), x_i> > 0}, with
  probability >= 1 - delta when m >= 50 log(2 n / delta).

Declared constants for the Omega(.) of A.1 (``DECLARED``): d >= C_dim log(m n / delta) with C_dim = 48,
and m >= log(1/delta) (C = 1; the proof never uses it).  C_dim = 48 is provably sufficient: by
Laurent-Massart, P(chi^2_d > 3d/2) <= e^{-d/23.3} and P(chi^2_d < d/2) <= e^{-d/16}, so a union bound over
the 2m neurons needs d >= 23.3 log(4m/delta), and log(4m/delta) <= 2 log(mn/delta) for n >= 2.  The
exact law is known (||w||^2 = sigma0^2 chi^2_d), so the checks also report the constant the exact
failure probability needs (``implied_dimension_constant``, about 6-15 where C_dim = 48).  A.2's
constant 50 is the paper's own (Hoeffding), with the exact counterpart ``implied_width_constant``
(about 15-36).

Two levels of check:

* per draw (``check_init_norms``, ``check_init_correlations``, ``check_init_activation_counts``): one
  initialization, margin = the fraction of the allowed band left at the worst neuron / point:
  A1a min((q_min - 1/2) / (1/2), (3/2 - q_max) / (1/2)) with q = ||w||^2 / (sigma0^2 d); A1b
  1 - max |<w, x_i>| / bound; A2 min((f_min - 0.4) / 0.1, (0.6 - f_max) / 0.1) with f = |S_i(0)| / m.
* over draws (``probability_check``): the per-draw check on N initializations (the ones ``simulate``
  would use for seeds cfg.seed, ..., cfg.seed + N - 1, on fixed data) and a one-sided exact binomial
  test of H0 "P(failure) <= delta": with k failures, p = P(Binom(N, delta) >= k); the claim is rejected
  when p < level (declared level 0.01).  margin = log10(p / level): >= 0 iff not rejected, at most
  log10(1 / level) = 2 (no failure), about -N log10(1/delta) when every draw fails.  Reported: the
  failure frequency k/N, the one-sided Clopper-Pearson upper bound at confidence 1 - level, and where
  the law is known the exact failure probability.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from sim import Dataset, Init, SimConfig, Trajectory, resolve

from .._internal.claim import Claim, check, register
from .._internal.result import CheckResult
from .._internal.tolerance import sum_bound
from .regime import KCG_CONSTANTS, describe

DECLARED = {"C_dim": 48.0, "C_m_A1": 1.0, "C_width_A2": 50.0, "level": 0.01, "delta": KCG_CONSTANTS.delta}
#: Where each ``DECLARED`` constant comes from (``Claim.sources``; module docstring).
SOURCES = {
    "C_dim": "choice: A.1's d = Omega(log(mn/delta)) has no constant in the paper (Bernstein, O(.)); 48 is the "
             "suite's provably sufficient value (Laurent-Massart + union bound need 23.3 log(4m/delta))",
    "C_m_A1": "choice: A.1's m = Omega(log(1/delta)) read with C = 1; the proof never uses this condition",
    "C_width_A2": "paper: Lemma A.2 states m >= 50 log(2n/delta) (Hoeffding and a union bound over the n points)",
    "level": "choice: significance level of the one-sided exact binomial test of H0 P(failure) <= delta over N draws",
    "delta": "choice: the failure probability delta = KCG_CONSTANTS.delta, one of the round values the suite "
             "declares for KCG's regime",
}
A1A_BAND = (0.5, 1.5)
A2_BAND = (0.4, 0.6)


# ---- regimes -----------------------------------------------------------------------------------

def a1_conditions(m: int, n: int, d: int, delta: float) -> bool:
    """Lemma A.1's d = Omega(log(mn/delta)), m = Omega(log(1/delta)) with the declared constants."""
    return d >= DECLARED["C_dim"] * math.log(m * n / delta) and m >= DECLARED["C_m_A1"] * math.log(1 / delta)


def a2_conditions(m: int, n: int, delta: float) -> bool:
    """Lemma A.2's m >= 50 log(2n/delta)."""
    return m >= DECLARED["C_width_A2"] * math.log(2 * n / delta)


def in_a1_regime(cfg: SimConfig, data: Dataset) -> bool:
    return cfg.network == "kcg" and a1_conditions(cfg.m, data.n, data.d, KCG_CONSTANTS.delta)


def in_a2_regime(cfg: SimConfig, data: Dataset) -> bool:
    return cfg.network == "kcg" and a2_conditions(cfg.m, data.n, KCG_CONSTANTS.delta)


_A1_ASSUME = ("W(0) entries i.i.d. N(0, sigma0^2); d >= C_dim log(mn/delta), C_dim = 48 (declared, "
              "provably sufficient); m >= log(1/delta); probability >= 1 - delta (one-sided binomial test, "
              "level 0.01)")
register(Claim(
    network="kcg",
    id="KCG-A1a", paper="KCG", where="Lemma A.1 (first display)", kind="probabilistic",
    statement="sigma0^2 d/2 <= ||w_{j,r}(0)||_2^2 <= 3 sigma0^2 d/2 for all j in {+-1}, r in [m]",
    assumptions=_A1_ASSUME, in_regime=in_a1_regime, declared=dict(DECLARED),
    sources=dict(SOURCES),
))
register(Claim(
    network="kcg",
    id="KCG-A1b", paper="KCG", where="Lemma A.1 (second display)", kind="probabilistic",
    statement="|<w_{j,r}(0), x_i>| <= sqrt(2 log(8mn/delta)) sigma0 R_max for all j, r, i",
    assumptions=_A1_ASSUME, in_regime=in_a1_regime, declared=dict(DECLARED),
    sources=dict(SOURCES),
    reading="the OCR prints sqrt(2 log(8mn/6)) . 59 R_max; read as sqrt(2 log(8mn/delta)) sigma0 R_max "
            "(Gaussian tail 2 e^{-s^2/2} <= delta/(4mn) over the 2mn pairs: exactly this constant)",
))
register(Claim(
    network="kcg",
    id="KCG-A2", paper="KCG", where="Lemma A.2", kind="probabilistic",
    statement="0.4 m <= |S_i(0)| <= 0.6 m for all i in [n], S_i(0) = {r in [m] : <w_{y_i,r}(0), x_i> > 0}",
    assumptions="W(0) entries i.i.d. N(0, sigma0^2); m >= 50 log(2n/delta); probability >= 1 - delta "
                "(one-sided binomial test, level 0.01)",
    in_regime=in_a2_regime, declared=dict(DECLARED),
    sources=dict(SOURCES),
))


# ---- per-draw quantities -----------------------------------------------------------------------

def _blocks(init: Init, cfg: SimConfig) -> tuple[int, np.ndarray, np.ndarray]:
    m1, m2 = cfg.widths
    if m1 != m2:
        raise ValueError("KCG's lemmas A.1/A.2 need m neurons of each sign")
    return m1, np.diag(init.K0).reshape(2, m1), init.P0.reshape(2, m1, -1)


def init_norms2(cfg: SimConfig, init: Init) -> np.ndarray:
    """(2, m) ||w_{j,r}(0)||^2, index 0 = j = +1."""
    return _blocks(init, cfg)[1]


def activation_counts(cfg: SimConfig, data: Dataset, init: Init) -> np.ndarray:
    """(n,) |S_i(0)| = #{r : <w_{y_i,r}(0), x_i> > 0}."""
    _, _, P = _blocks(init, cfg)
    jidx = np.where(data.y > 0, 0, 1)
    own = P[jidx, :, np.arange(data.n)]  # (n, m): <w_{y_i, r}, x_i>
    return (own > 0).sum(axis=1)


def a1b_factor(m: int, n: int, delta: float) -> float:
    """sqrt(2 log(8 m n / delta)), Lemma A.1's factor."""
    return math.sqrt(2.0 * math.log(8.0 * m * n / delta))


def _band_margin(v: np.ndarray, band: tuple[float, float], center: float) -> tuple[float, int, float, float]:
    """min((v_min - lo) / (center - lo), (hi - v_max) / (hi - center)), worst flat index, value, bound."""
    lo, hi = band
    flat = v.reshape(-1)
    m_lo = (flat - lo) / (center - lo)
    m_hi = (hi - flat) / (hi - center)
    mm = np.minimum(m_lo, m_hi)
    k = int(np.argmin(mm))
    return float(mm[k]), k, float(flat[k]), (lo if m_lo[k] <= m_hi[k] else hi)


@check("KCG-A1a", takes="init")
def check_init_norms(cfg: SimConfig, data: Dataset, init: Init,
                     band: tuple[float, float] = A1A_BAND) -> CheckResult:
    """KCG Lemma A.1 (first display), one draw: sigma0^2 d/2 <= ||w_{j,r}(0)||^2 <= 3 sigma0^2 d/2.

    q = ||w_{j,r}(0)||^2 / (sigma0^2 d); margin = min((q_min - lo)/(1 - lo), (hi - q_max)/(hi - 1)),
    band (lo, hi) = (1/2, 3/2) (``band`` is a falsification hook).
    """
    m, n2, _ = _blocks(init, cfg)
    q = n2 / (cfg.sigma0**2 * data.d)
    margin, k, qv, b = _band_margin(q, band, 1.0)
    j, r = divmod(k, m)
    return CheckResult("KCG-A1a", margin=margin, measured=qv, bound=b, where={"j": 1 - 2 * j, "r": r},
                       implied={"q_min": float(q.min()), "q_max": float(q.max())},
                       config=describe(cfg, data), note=f"||w||^2/(sigma0^2 d), band {band}")


@check("KCG-A1b", takes="init")
def check_init_correlations(cfg: SimConfig, data: Dataset, init: Init, delta: float = KCG_CONSTANTS.delta,
                            factor: float | None = None) -> CheckResult:
    """KCG Lemma A.1 (second display), one draw: |<w_{j,r}(0), x_i>| <= sqrt(2 log(8mn/delta)) sigma0 R_max.

    margin = 1 - max |<w, x_i>| / bound; ``factor`` replaces sqrt(2 log(8mn/delta)) (falsification hook).
    implied: z_max = max |<w_{j,r}(0), x_i>| / (sigma0 R_max), the normalized Gaussian maximum.
    """
    m, _, P = _blocks(init, cfg)
    s = a1b_factor(m, data.n, delta) if factor is None else factor
    bound = s * cfg.sigma0 * data.R_max
    a = np.abs(P)
    k = int(np.argmax(a))
    j, r, i = np.unravel_index(k, a.shape)
    z = float(a.reshape(-1)[k])
    return CheckResult("KCG-A1b", margin=1.0 - z / bound, measured=z, bound=bound,
                       where={"j": 1 - 2 * int(j), "r": int(r), "i": int(i)},
                       implied={"z_max": z / (cfg.sigma0 * data.R_max), "factor": s},
                       config=describe(cfg, data), note=f"delta={delta:g}")


@check("KCG-A2", takes="init")
def check_init_activation_counts(cfg: SimConfig, data: Dataset, init: Init,
                                 band: tuple[float, float] = A2_BAND) -> CheckResult:
    """KCG Lemma A.2, one draw: 0.4 m <= |S_i(0)| <= 0.6 m for every i.

    f_i = |S_i(0)| / m; margin = min((f_min - 0.4)/0.1, (0.6 - f_max)/0.1) (``band`` is a hook).
    """
    m = cfg.widths[0]
    cnt = activation_counts(cfg, data, init)
    f = cnt / m
    margin, i, fv, b = _band_margin(f, band, 0.5)
    return CheckResult("KCG-A2", margin=margin, measured=fv, bound=b, where={"i": i, "count": int(cnt[i])},
                       implied={"frac_min": float(f.min()), "frac_max": float(f.max())},
                       config=describe(cfg, data), note=f"|S_i(0)|/m, band {band}")


def init_checks(traj: Trajectory) -> list[CheckResult]:
    """The three per-draw checks on a trajectory's initialization (``traj.config``, ``.data``, ``.init``)."""
    cfg, data, init = traj.config, traj.data, traj.init
    return [check_init_norms(cfg, data, init), check_init_correlations(cfg, data, init),
            check_init_activation_counts(cfg, data, init)]


# ---- exact laws --------------------------------------------------------------------------------

def a1a_failure_probability(d: int | np.ndarray, m: int, band: tuple[float, float] = A1A_BAND) -> np.ndarray:
    """Exact P(some ||w_{j,r}(0)||^2 / (sigma0^2 d) outside band): 2m independent chi^2_d / d."""
    d = np.asarray(d, dtype=np.float64)
    p1 = stats.chi2.cdf(band[0] * d, d) + stats.chi2.sf(band[1] * d, d)
    return -np.expm1(2 * m * np.log1p(-np.minimum(p1, 1.0)))


def a1b_failure_bound(m: int, n: int, factor: float) -> float:
    """P(max_{j,r,i} |<w, x_i>| > factor sigma0 R_max) <= 1 - (1 - 2 Phi(-factor))^{2mn}.

    Equality for orthogonal x_i of equal norms; an upper bound for any data (Sidak's inequality for the
    correlated Gaussians <w_{j,r}, x_i> across i, norms ||x_i|| <= R_max, neurons independent).
    """
    p1 = 2.0 * stats.norm.sf(factor)
    return float(-np.expm1(2 * m * n * np.log1p(-p1)))


def a2_failure_probability(m: int | np.ndarray, n: int, band: tuple[float, float] = A2_BAND) -> np.ndarray:
    """Exact P(some |S_i(0)| outside [lo m, hi m]) when the <w_{y_i,r}, x_i> are independent across i
    (orthogonal data): |S_i(0)| ~ Binom(m, 1/2) i.i.d. over i."""
    m = np.asarray(m)
    k_lo = np.ceil(band[0] * m - 1e-9)
    k_hi = np.floor(band[1] * m + 1e-9)
    q = stats.binom.cdf(k_hi, m, 0.5) - stats.binom.cdf(k_lo - 1, m, 0.5)
    with np.errstate(divide="ignore"):
        return -np.expm1(n * np.log(q))


def _threshold(values: np.ndarray, fail: np.ndarray, delta: float) -> int:
    """The smallest value from which on every failure probability is <= delta."""
    bad = np.nonzero(fail > delta)[0]
    if bad.size == values.size:
        raise ValueError("no threshold within the scanned range")
    return int(values[bad[-1] + 1]) if bad.size else int(values[0])


def exact_dimension_threshold(m: int, n: int, delta: float, d_max: int = 20_000) -> int:
    """Smallest d* with a1a_failure_probability(d, m) <= delta for all d in [d*, d_max]."""
    d = np.arange(1, d_max + 1)
    return _threshold(d, a1a_failure_probability(d, m), delta)


def implied_dimension_constant(m: int, n: int, delta: float) -> float:
    """d* / log(m n / delta): the Omega-constant of Lemma A.1 the exact law needs at (m, n, delta)."""
    return exact_dimension_threshold(m, n, delta) / math.log(m * n / delta)


def exact_width_threshold(n: int, delta: float, m_max: int = 20_000) -> int:
    """Smallest m* with a2_failure_probability(m, n) <= delta for all m in [m*, m_max] (orthogonal data)."""
    m = np.arange(1, m_max + 1)
    return _threshold(m, a2_failure_probability(m, n), delta)


def implied_width_constant(n: int, delta: float) -> float:
    """m* / log(2n / delta): the constant of Lemma A.2 the exact law needs (paper: 50)."""
    return exact_width_threshold(n, delta) / math.log(2 * n / delta)


# ---- the probabilistic claim -------------------------------------------------------------------

@dataclass(frozen=True)
class BinomialTest:
    """One-sided exact binomial test of H0 "P(failure) <= delta" from k failures in N draws."""

    k: int
    N: int
    delta: float
    level: float

    @property
    def log10_p(self) -> float:
        """log10 P(Binom(N, delta) >= k) (via logsf: no underflow when every draw fails)."""
        if self.k <= 0:
            return 0.0
        return float(stats.binom.logsf(self.k - 1, self.N, self.delta)) / math.log(10)

    @property
    def p_value(self) -> float:
        return 10.0**self.log10_p

    @property
    def rejected(self) -> bool:
        return self.log10_p < math.log10(self.level)

    @property
    def margin(self) -> float:
        """log10(p / level): >= 0 iff H0 survives."""
        return self.log10_p - math.log10(self.level)

    @property
    def frequency(self) -> float:
        return self.k / self.N

    @property
    def cp_upper(self) -> float:
        """One-sided Clopper-Pearson upper bound on P(failure) at confidence 1 - level."""
        if self.k >= self.N:
            return 1.0
        return float(stats.beta.ppf(1.0 - self.level, self.k + 1, self.N - self.k))


PerDraw = Callable[[SimConfig, Dataset, Init], CheckResult]


def draw_inits(cfg: SimConfig, data: Dataset, n_draws: int,
               seeds: Sequence[int] | None = None) -> list[tuple[int, Init]]:
    """The initializations ``simulate`` uses for seeds cfg.seed .. cfg.seed + n_draws - 1 on fixed data."""
    seeds = list(range(cfg.seed, cfg.seed + n_draws)) if seeds is None else list(seeds)
    return [(s, resolve(cfg.with_(seed=s, steps=0), data=data)[1]) for s in seeds]


def probability_check(check: PerDraw, cfg: SimConfig, data: Dataset, n_draws: int = 200,
                      delta: float = KCG_CONSTANTS.delta, level: float = DECLARED["level"],
                      exact: float | None = None, implied: dict[str, float] | None = None) -> CheckResult:
    """A per-draw check over ``n_draws`` initializations, then the binomial test (module doc).

    ``check`` is one of the per-draw checks (bind extra arguments with functools.partial).  ``exact``:
    the known failure probability (or a bound on it), reported as ``p_fail_exact``.
    """
    draws = [(s, check(cfg, data, init)) for s, init in draw_inits(cfg, data, n_draws)]
    return binomial_claim(draws, delta, level, config=describe(cfg, data), exact=exact, implied=implied)


def binomial_claim(draws: Sequence[tuple[int, CheckResult]], delta: float, level: float = DECLARED["level"],
                   config: dict[str, object] | None = None, exact: float | None = None,
                   implied: dict[str, float] | None = None) -> CheckResult:
    """Aggregate per-draw results (seed, CheckResult) of one claim into its probabilistic verdict."""
    if not draws:
        raise ValueError("no draws")
    claims = {r.claim for _, r in draws}
    if len(claims) != 1:
        raise ValueError(f"draws of several claims: {sorted(claims)}")
    margins = np.array([r.margin for _, r in draws])
    k = int(np.sum(~np.array([r.held for _, r in draws])))
    bt = BinomialTest(k=k, N=len(draws), delta=delta, level=level)
    w = int(np.argmin(margins))
    seed, worst = draws[w]
    imp = {"fail_freq": bt.frequency, "cp_upper": bt.cp_upper, "p_value": bt.p_value,
           "worst_draw_margin": float(margins[w]), "median_draw_margin": float(np.median(margins))}
    if exact is not None:
        imp["p_fail_exact"] = float(exact)
    imp.update(implied or {})
    return CheckResult(claims.pop(), margin=bt.margin, measured=bt.frequency, bound=delta,
                       where={"k_fail": k, "N": bt.N, "worst_seed": seed, **worst.where}, implied=imp,
                       config=dict(config or {}),
                       note=f"binomial H0 P(fail) <= {delta:g}, level {level:g}; margin log10(p/level)")


def a1a_probability(cfg: SimConfig, data: Dataset, n_draws: int = 200, delta: float = KCG_CONSTANTS.delta,
                    band: tuple[float, float] = A1A_BAND, level: float = DECLARED["level"]) -> CheckResult:
    """KCG-A1a over draws, with the exact failure probability and the implied Omega-constant."""
    m, n, d = cfg.m, data.n, data.d
    imp = {"C_dim_run": d / math.log(m * n / delta)}
    if band == A1A_BAND:
        imp["C_dim_exact"] = implied_dimension_constant(m, n, delta)
    return probability_check(lambda c, x, i: check_init_norms(c, x, i, band), cfg, data, n_draws, delta,
                             level, exact=float(a1a_failure_probability(d, m, band)), implied=imp)


def a1b_probability(cfg: SimConfig, data: Dataset, n_draws: int = 200, delta: float = KCG_CONSTANTS.delta,
                    factor: float | None = None, level: float = DECLARED["level"]) -> CheckResult:
    """KCG-A1b over draws; ``p_fail_exact`` is the Sidak bound (equality for orthogonal equal-norm data),
    ``factor_exact/factor``: the factor that bound needs for failure probability delta over the paper's."""
    m, n = cfg.m, data.n
    s = a1b_factor(m, n, delta) if factor is None else factor
    p1 = -math.expm1(math.log1p(-delta) / (2 * m * n))  # per-pair failure allowed by the Sidak bound
    s_exact = float(stats.norm.isf(p1 / 2))
    return probability_check(lambda c, x, i: check_init_correlations(c, x, i, delta, factor), cfg, data,
                             n_draws, delta, level, exact=a1b_failure_bound(m, n, s),
                             implied={"factor_exact/factor": s_exact / a1b_factor(m, n, delta)})


def a2_probability(cfg: SimConfig, data: Dataset, n_draws: int = 200, delta: float = KCG_CONSTANTS.delta,
                   band: tuple[float, float] = A2_BAND, level: float = DECLARED["level"]) -> CheckResult:
    """KCG-A2 over draws; the exact failure probability is reported for orthogonal data (G diagonal up to
    the rounding of X X^T, p / R_min^2 <= 8 d eps), where the |S_i(0)| are independent across i."""
    m, n = cfg.m, data.n
    diag = data.p_ratio <= sum_bound(data.d, 1.0)  # orthogonal up to the rounding of a realized X X^T
    imp = {"C_width_run": m / math.log(2 * n / delta)}
    if band == A2_BAND:
        imp["C_width_exact"] = implied_width_constant(n, delta)
    return probability_check(lambda c, x, i: check_init_activation_counts(c, x, i, band), cfg, data,
                             n_draws, delta, level,
                             exact=float(a2_failure_probability(m, n, band)) if diag else None, implied=imp)
