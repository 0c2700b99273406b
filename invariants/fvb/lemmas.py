"""FVB's pure-math facts about the logistic/sigmoid losses (FVB-GZ) and Lemma 3.3 on Gaussian data (FVB-L3.3).

Frei, Vardi, Bartlett, Srebro, Hu (ICLR 2023), as the review ``seeds/002_a29d7c58ad28228a.txt`` reports
them (section 4.1, proof of Thm 4.2; lemma 3.3 is named in its section 3.1).

FVB-GZ.  l(z) = log(1 + e^{-z}), g(z) = -l'(z) = 1/(1 + e^z).  Three inequalities the proof of Thm 4.2 uses:

* (a) g(z1)/g(z2) <= max(2, 2 e^{-z1}/e^{-z2}) for all real z1, z2.  Holds everywhere; the sharp constant is 1
  (attained at z1 = z2): with a = e^{z1}, b = e^{z2}, (1 + b)/(1 + a) <= 1 for b <= a and < b/a for b > a.
* (b) e^{-z1}/e^{-z2} <= 2 g(z1)/g(z2) for z1, z2 > 0.  In logs the slack is log 2 + sp(-z2) - sp(-z1)
  (sp = softplus), so it holds exactly on the region sp(-z1) - sp(-z2) <= log 2, i.e. for every z1 >= 0 and
  any z2, and for z1 < 0 iff z2 <= z1 + log 2 - log(1 - e^{z1}).  On the stated domain the constant 2 is sharp
  (z1 -> 0+, z2 -> inf).
* (c) l(z) <= 2 g(z) ("L <= 2 G_hat").  l/g = log(1 + e^{-z}) (1 + e^z) decreases from +inf to 1, so it holds
  exactly for z >= z* = -1.36648791063111... (``Z_STAR``, bisection to 1e-13) and fails below.  The claim's
  domain is declared as z >= z*; the dataset form L <= 2 G_hat then holds whenever every margin is >= z*
  (``check_loss_vs_sigmoid`` on GD runs; in Thm 4.2's regime the margins start near 0 and increase).

Margins are log-space slacks: log(RHS) - log(LHS) computed in cancellation-free forms (above), plus a
rounding tolerance sum_bound(4, max(1, |z1|, |z2|)) (each softplus carries a few ulps of its argument).

FVB-L3.3 (probabilistic).  x_i i.i.d. N(0, I_d) (virtual Gram data, exact in law at any d): condition (7),
p <= gamma^3 R_min^2 / (3 R^2 n), holds with probability >= 1 - delta once
d >= C gamma^{-6} n^2 log(4 n^2 / delta) (``l33_dimension``).  Derivation of the declared C = 18: each
<x_i, x_k> is N(0, ~d), so a union bound over the n(n-1)/2 pairs gives p <= sqrt(2 d log(4 n^2/delta)) w.p.
>= 1 - delta/2, while R_min^2 ~ d and R ~ 1 (chi-square concentration, the other delta/2); (7) then needs
sqrt(2 d log(4n^2/delta)) <= gamma^3 d / (3 n), i.e. d >= 18 gamma^{-6} n^2 log(4 n^2/delta).  The catalogue
asks for the frequency against (n, d); the suite's form of the lemma is this threshold.  The check runs
``trials`` independent data sets, counts failures k of (7) and applies the exact one-sided binomial test of
H0: P(fail) <= delta at ``level``: margin = (delta - L)/delta with L the one-sided Clopper-Pearson lower
confidence bound on P(fail) (L > delta iff the test rejects), so margin >= 0 iff the data do not show
P(fail) > delta.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from sim import Dataset, SimConfig, Trajectory, iid_gaussian

from .._internal.claim import Claim, check, register
from .._internal.logloss import log_ell, log_mean, log_mean_loss, softplus
from .._internal.result import CheckResult
from .._internal.tolerance import sum_bound

LOG2 = math.log(2.0)

# ---- the losses, in logs -----------------------------------------------------------------------


def log_g(z: float | np.ndarray) -> np.ndarray:
    """log g(z) = -log(1 + e^z)."""
    return -softplus(z)


def log_ell_over_g(z: float | np.ndarray) -> np.ndarray:
    """log(l(z) / g(z)) = log l(z) + softplus(z)."""
    return log_ell(z) + softplus(z)


def _bisect_z_star(tol: float = 1e-13) -> float:
    """The root of l(z) = 2 g(z): log(l/g) - log 2 is decreasing; bracket [-3, 0]."""
    lo, hi = -3.0, 0.0
    assert log_ell_over_g(lo) > LOG2 > log_ell_over_g(hi)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if log_ell_over_g(mid) > LOG2:
            lo = mid
        else:
            hi = mid
        if hi - lo <= tol:
            break
    return 0.5 * (lo + hi)


Z_STAR = _bisect_z_star()
#: Where each declared constant of this module's claims comes from (``Claim.sources``), by constant name.
SOURCES = {
    "Z_STAR": "paper: the exact domain of 'L <= 2 G_hat' (proof of Thm 4.2; the review states no domain): root of "
              "l(z) = 2 g(z), l/g decreasing, bisection to 1e-13; the inequality fails for z < z*",
}


def gz_b_boundary(z1: float) -> float:
    """The largest z2 for which (b) holds at this z1 < 0: z1 + log 2 - log(1 - e^{z1}) (+inf for z1 >= 0)."""
    if z1 >= 0:
        return math.inf
    return z1 + LOG2 - math.log(-math.expm1(z1))


def _tol(*z: float) -> float:
    return sum_bound(4, max(1.0, *(abs(v) for v in z)))


# ---- registration --------------------------------------------------------------------------------

register(Claim(
    id="FVB-GZ", paper="FVB", where="proof of Thm 4.2 (loss-ratio argument and L <= 2 G_hat)",
    kind="pure-math",
    statement="(a) g(z1)/g(z2) <= max(2, 2 e^{-z1}/e^{-z2}) for all z1, z2; "
              "(b) e^{-z1}/e^{-z2} <= 2 g(z1)/g(z2) for z1, z2 > 0; "
              f"(c) l(z) <= 2 g(z) for z >= z* = {Z_STAR:.13f}",
    assumptions="l(z) = log(1 + e^{-z}), g = -l'. Domains: (a) all reals; (b) z1, z2 > 0 (holds exactly on "
                "z1 >= 0 or z2 <= z1 + log 2 - log(1 - e^{z1})); (c) z >= z* (fails for z < z*)",
    declared={"z_star": Z_STAR},
    sources={"z_star": SOURCES["Z_STAR"]},
    reading="sub-results FVB-GZ:a, FVB-GZ:b, FVB-GZ:c on numbers and FVB-GZ:traj (L <= 2 G_hat) on GD runs. "
            "The review states (c) without a domain ('L <= 2 G_hat'); it is false for margins below z*",
))

L33_C = 18.0
L33_DELTA = 0.1
L33_LEVEL = 0.01
SOURCES.update({
    "L33_C": "choice: the lemma's constant is not in the review; 18 is the suite's union-bound derivation: "
             "p <= sqrt(2 d log(4n^2/delta)), R_min^2 ~ d, R ~ 1, so (7) needs d >= 18 gamma^-6 n^2 log(4n^2/delta)",
    "L33_DELTA": "choice: the failure probability delta the binomial test is run at, a round value",
    "L33_LEVEL": "choice: significance level of the one-sided exact binomial test of P(fail) <= delta "
                 "(Clopper-Pearson lower bound)",
})


def l33_dimension(n: int, gamma: float, delta: float = L33_DELTA, C: float = L33_C) -> int:
    """d* = ceil(C gamma^{-6} n^2 log(4 n^2 / delta)) (module docstring)."""
    return math.ceil(C * gamma**-6 * n**2 * math.log(4 * n**2 / delta))


def in_l33_regime(cfg: SimConfig, data: Dataset | None = None) -> bool:
    """i.i.d. Gaussian data with d >= d*(n, gamma, delta = 0.1)."""
    return (cfg.data.kind == "iid_gaussian" and cfg.gamma is not None
            and cfg.d >= l33_dimension(cfg.n, cfg.gamma))


register(Claim(
    id="FVB-L3.3", paper="FVB", where="Lemma 3.3", kind="probabilistic",
    statement="x_i ~ N(0, I_d) i.i.d., d >= C gamma^{-6} n^2 log(4n^2/delta)  ==>  "
              "P[(7): p <= gamma^3 R_min^2 "
              "/ (3 R^2 n)] >= 1 - delta; one-sided exact binomial test of P(fail) <= delta at level 0.01",
    assumptions="Gaussian data (virtual Gram: Wishart, exact in law); delta = 0.1",
    in_regime=in_l33_regime, declared={"C": L33_C, "delta": L33_DELTA, "level": L33_LEVEL},
    sources={"C": SOURCES["L33_C"], "delta": SOURCES["L33_DELTA"], "level": SOURCES["L33_LEVEL"]},
    reading="the lemma's exact constant is not in the review; C = 18 is derived from a union bound over "
            "pairs (module docstring).  The measured crossing of 1 - delta lies near C ~ 8-16",
))


# ---- FVB-GZ checks ---------------------------------------------------------------------------------

@check("FVB-GZ", takes="numbers")
def check_gz_sigmoid_ratio(z1: float, z2: float, factor: float = 2.0) -> CheckResult:
    """FVB-GZ (a): g(z1)/g(z2) <= max(factor, factor e^{-z1}/e^{-z2}) (the paper: factor = 2).

    Margin log(factor) + [sp(-z1) - sp(-z2) if z2 >= z1 else sp(z1) - sp(z2)] + tol (>= log factor: the
    bracket is >= 0).  ``implied["ratio"]`` = g(z1)/g(z2) / max(1, e^{z2 - z1}) <= 1 (the sharp constant).
    """
    z1, z2 = float(z1), float(z2)
    br = float(softplus(-z1) - softplus(-z2)) if z2 >= z1 else float(softplus(z1) - softplus(z2))
    margin = math.log(factor) + br + _tol(z1, z2)
    log_lhs = float(softplus(z2) - softplus(z1))
    log_rhs = math.log(factor) + max(0.0, z2 - z1)
    return CheckResult("FVB-GZ:a", margin=margin, measured=log_lhs, bound=log_rhs,
                       where={"z1": z1, "z2": z2}, implied={"ratio": math.exp(-br)},
                       config={"factor": factor}, note="log-space: measured = log g(z1)/g(z2)")


@check("FVB-GZ", takes="numbers")
def check_gz_exp_ratio(z1: float, z2: float, factor: float = 2.0) -> CheckResult:
    """FVB-GZ (b): e^{-z1}/e^{-z2} <= factor g(z1)/g(z2), claimed for z1, z2 > 0 (the paper: factor = 2).

    Margin log(factor) + sp(-z2) - sp(-z1) + tol.  ``where`` says whether (z1, z2) is in the stated domain
    and in the exact region (module docstring) for factor 2; ``implied["ratio"]`` = LHS / (g(z1)/g(z2)),
    whose sup over the domain is 2.
    """
    z1, z2 = float(z1), float(z2)
    br = float(softplus(-z2) - softplus(-z1))
    margin = math.log(factor) + br + _tol(z1, z2)
    return CheckResult("FVB-GZ:b", margin=margin, measured=z2 - z1,
                       bound=math.log(factor) + float(softplus(z2) - softplus(z1)),
                       where={"z1": z1, "z2": z2, "domain": bool(z1 > 0 and z2 > 0),
                              "region": bool(z2 <= gz_b_boundary(z1))},
                       implied={"ratio": math.exp(-br)}, config={"factor": factor},
                       note="log-space: measured = z2 - z1 = log(e^{-z1}/e^{-z2})")


@check("FVB-GZ", takes="numbers")
def check_gz_loss(z: float, factor: float = 2.0) -> CheckResult:
    """FVB-GZ (c): l(z) <= factor g(z); declared domain z >= z* (factor 2).

    Margin log(factor) - log(l(z)/g(z)) + tol; ``implied["z_star"]`` is the boundary (bisection, 1e-13).
    """
    z = float(z)
    lr = float(log_ell_over_g(z))
    return CheckResult("FVB-GZ:c", margin=math.log(factor) - lr + _tol(z), measured=lr,
                       bound=math.log(factor),
                       where={"z": z, "domain": bool(z >= Z_STAR)}, implied={"z_star": Z_STAR},
                       config={"factor": factor}, note="log-space: measured = log(l(z)/g(z))")


@check("FVB-GZ")
def check_loss_vs_sigmoid(traj: Trajectory) -> CheckResult:
    """FVB-GZ on a run: L(W(t)) <= 2 G_hat(W(t)) at every checkpoint whose margins are all >= z* (logistic).

    (c) holds pointwise on z >= z*, so the average does on such checkpoints; margin min over them of
    log(2 G_hat / L) + tol.  Checkpoints with a margin below z* are outside the declared domain: their
    number and whether L <= 2 G_hat held there anyway are reported in ``where``.  (With the smoothed leaky
    activation phi(0) = (1 - gamma) log 2 != 0, so unequal widths m1 != m2 give every output the offset
    (m1 - m2) phi(0) / sqrt(m) at a small init: margins of -2 at t = 0 occur in Thm 4.2's regime.)
    """
    g = -np.asarray(traj.lprime)
    Gh = g.mean(axis=1)
    loss = np.asarray(traj.loss, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        lm = np.log(2.0 * Gh / loss)
    # where the recorded L and G_hat underflowed to 0 (every margin beyond ~745: a run at eta = 1e6 reached
    # 1.5e5, and L / G_hat was 0 / 0), the same ratio in log space from the margins
    gone = ~((loss > 0) & (Gh > 0) & np.isfinite(lm))
    if gone.any():
        z = np.asarray(traj.margins[gone], dtype=np.float64)
        lm[gone] = LOG2 + log_mean(log_g(z)) - log_mean_loss(z)
    lm = lm + sum_bound(traj.data.n + 4, 1.0)
    dom = np.min(traj.margins, axis=1) >= Z_STAR
    where: dict[str, object] = {"min_margin": float(np.min(traj.margins)),
                                "outside_domain": int((~dom).sum()),
                                "held_outside": bool(np.all(lm[~dom] >= 0))}
    if not dom.any():
        return CheckResult("FVB-GZ:traj", margin=math.nan, measured=math.nan, bound=math.nan, where=where,
                           implied={"z_star": Z_STAR}, note="no checkpoint with every margin >= z*",
                           outcome="too_short")
    k = int(np.flatnonzero(dom)[np.argmin(lm[dom])])
    out_min = float(lm[~dom].min()) if (~dom).any() else math.inf
    return CheckResult("FVB-GZ:traj", margin=float(lm[k]), measured=float(traj.loss[k]),
                       bound=float(2 * Gh[k]),
                       where={"t": int(traj.times[k]), **where},
                       implied={"z_star": Z_STAR, "margin_outside_domain": out_min},
                       config={"n": traj.data.n, "m1/m2": list(traj.config.widths),
                               "gamma": traj.config.gamma, "steps": traj.config.steps},
                       note="L <= 2 G_hat at checkpoints with every margin >= z*")


# ---- FVB-L3.3 --------------------------------------------------------------------------------------

def fvb7_holds(data: Dataset, gamma: float) -> bool:
    """Condition (7) on a data set."""
    return data.implied_C(gamma)["FVB-7"] >= 1.0


def l33_successes(n: int, d: int, gamma: float, trials: int, seed: int = 0) -> int:
    """How many of ``trials`` i.i.d. N(0, I_d) data sets (virtual, exact in law) satisfy (7)."""
    rng = np.random.default_rng(seed)
    return sum(fvb7_holds(iid_gaussian(n, d, rng, virtual=True), gamma) for _ in range(trials))


def clopper_pearson(k: int, N: int, level: float) -> tuple[float, float]:
    """One-sided Clopper-Pearson bounds (lower, upper) on a binomial proportion, each at confidence
    1 - level."""
    lo = 0.0 if k == 0 else float(stats.beta.ppf(level, k, N - k + 1))
    hi = 1.0 if k == N else float(stats.beta.ppf(1 - level, k + 1, N - k))
    return lo, hi


@check("FVB-L3.3", takes="numbers")
def check_l33(n: int, d: int, gamma: float, delta: float = L33_DELTA, trials: int = 400,
              level: float = L33_LEVEL, seed: int = 0) -> CheckResult:
    """FVB Lemma 3.3 at (n, d, gamma): P[(7) fails] <= delta, exact one-sided binomial test at ``level``.

    Margin (delta - L) / delta, L the one-sided Clopper-Pearson lower bound on P(fail) at confidence
    1 - level (>= 0 iff the test does not reject; -9 means "fails almost always" at delta = 0.1).
    ``implied``: success frequency, the upper confidence bound on P(fail), the p-value, and
    C_eff = d / (gamma^{-6} n^2 log(4n^2/delta)) (the constant of the d threshold that d corresponds to).
    """
    ok = l33_successes(n, d, gamma, trials, seed)
    k = trials - ok
    lo, hi = clopper_pearson(k, trials, level)
    pval = float(stats.binomtest(k, trials, delta, alternative="greater").pvalue)
    base = gamma**-6 * n**2 * math.log(4 * n**2 / delta)
    return CheckResult(
        "FVB-L3.3", margin=(delta - lo) / delta, measured=k / trials, bound=delta,
        where={"n": n, "d": d, "gamma": gamma, "failures": k, "trials": trials},
        implied={"freq": ok / trials, "fail_upper": hi, "fail_lower": lo, "p_value": pval, "C_eff": d / base},
        config={"n": n, "d": d, "gamma": gamma, "delta": delta, "level": level, "seed": seed,
                "d_star": l33_dimension(n, gamma, delta)},
        note="measured = failure frequency of (7); bound = delta")


def l33_frequency_table(ns: tuple[int, ...] = (2, 4, 8, 16), gammas: tuple[float, ...] = (0.5, 0.9),
                        C_factors: tuple[float, ...] = (1, 2, 4, 8, 16, 32), trials: int = 200,
                        delta: float = L33_DELTA, level: float = 0.05,
                        seed: int = 0) -> list[dict[str, float]]:
    """Frequency of (7) on i.i.d. Gaussian data at d = ceil(C gamma^{-6} n^2 log(4n^2/delta)) per
    (n, gamma, C),
    with one-sided Clopper-Pearson bounds (confidence 1 - level) on the success probability."""
    rows = []
    for n in ns:
        for g in gammas:
            for C in C_factors:
                d = l33_dimension(n, g, delta, C)
                ok = l33_successes(n, d, g, trials, seed)
                lo, hi = clopper_pearson(ok, trials, level)
                rows.append({"n": n, "gamma": g, "C": C, "d": d, "successes": ok, "trials": trials,
                             "freq": ok / trials, "freq_lower": lo, "freq_upper": hi})
    return rows


__all__ = [
    "L33_C", "L33_DELTA", "L33_LEVEL", "Z_STAR", "check_gz_exp_ratio", "check_gz_loss",
    "check_gz_sigmoid_ratio",
    "check_l33", "check_loss_vs_sigmoid", "clopper_pearson", "fvb7_holds", "gz_b_boundary", "in_l33_regime",
    "l33_dimension", "l33_frequency_table", "l33_successes", "log_ell", "log_ell_over_g", "log_g", "softplus",
]
