"""Pure-math lemmas on sequences and functions: KCG Lemma 5.3 (both OCR readings), H.1, H.2 and H.4.

These lemmas carry the whole "logarithmic growth" argument of KCG: the coefficients rho satisfy a
recursion x_{t+1} - x_t ~ C e^{-x_t}, and Lemma 5.3 (= H.1 + H.2) turns it into
log(e^{x_0} + C1 t) <= x_t <= log(e^{x_0} + C2 e^{C2} t).  They are checked on numbers, not on GD runs.

Encoded (seeds/003, lines 302-306 for Lemma 5.3, 3235-3300 for H.1/H.2, 3372-3378 for H.4):

* ``KCG-5.3``     x_t >= 0 and C1 e^{-x_t} <= x_{t+1} - x_t <= C2 e^{-x_t} for all t  ==>
                  log(e^{x_0} + C1 t) <= x_t <= log(e^{x_0} + C2 e^{C2} t) for all t >= 0.
* ``KCG-5.3-ocr`` the same with e^{-x_0} in place of e^{x_0}, as the OCR of (5.7) prints it.  This reading
                  is false (already at t = 0 the upper bound reads x_0 <= -x_0); it is registered with
                  expected="fails" and a counterexample is searched for and shrunk by the tests.
* ``KCG-H1``      x_t >= 0 and x_{t+1} - x_t <= C e^{-x_t}  ==>  x_t <= log(e^{x_0} + C e^{C} t).
* ``KCG-H2``      x_{t+1} - x_t >= C e^{-x_t}  ==>  x_t >= log(e^{x_0} + C t)   (no sign condition).
* ``KCG-H4``      b > a > 0  ==>  t -> log(1 + a t) / log(1 + b t) is nondecreasing on t > 0.

Hypothesis of a lemma.  A sequence is checked through its realized constants
c_t = (x_{t+1} - x_t) e^{x_t}: the difference of two floats that close is exact (Sterbenz), exp and the
product add one rounding each, so c_t is measured to a relative ``SEQ_RTOL`` (tolerance.sum_bound(3, 1)).
The check reports whether the hypothesis held (``where["hypothesis"]``) next to the conclusion's margin:
a property test asserts both, a counterexample must have the hypothesis held and the conclusion failed.

Margins are log-space gaps (natural-log units, the units of x itself), the smallest over t and over both
sides, plus the float tolerance: ``margin = min_t (bound_t - x_t + tol_t)`` for an upper bound and the
mirror for a lower bound.  tol_t = sum_bound(8, max(1, |x_t|, |bound_t|)) (evaluating the bound and x_t)
+ (1 + C) SEQ_RTOL (the conclusion moves by at most that when the constant moves by its measurement error:
d/dC log(e^{x_0} + C e^{C} t) <= 1 + 1/C times dC = C SEQ_RTOL).  Bounds are evaluated as
logaddexp(x_0, log K + log t), so no e^{x} is ever formed and any |x| < 700 works.

Implied constants: the smallest K with x_t <= log(e^{x_0} + K t) for all t >= 1 is
K_up = max_t (e^{x_t} - e^{x_0}) / t; K_lo = min_t (...) is the largest K for the lower bound.  The
checks report K_up / (C2 e^{C2}) (<= 1 when the upper bound holds; how much of the e^{C2} factor the
sequence uses) and K_lo / C1 (>= 1 when the lower bound holds).

H.4 margin: min_k (f(t_{k+1}) - f(t_k) + tol_k) / (f(t_k) log(t_{k+1} / t_k)) over the sorted grid t_k,
f = log1p(a t)/log1p(b t): a discrete d log f / d log t, so it does not depend on how fine the grid is
(in-regime it is >= 0 and tends to 0 at both ends, where f flattens to a/b and to 1).
tol_k = sum_bound(6, f_k + f_{k+1}) (a t and b t: one rounding each, log1p: one ulp, the quotient: one
more; each f is good to 5 eps relative, the difference to 5 eps (f_k + f_{k+1}) + eps).
"""

from __future__ import annotations

import math

import numpy as np

from .._internal.claim import Claim, check, register
from .._internal.result import CheckResult
from .._internal.tolerance import EPS, sum_bound

SEQ_RTOL = sum_bound(3, 1.0)
READINGS = ("e^{x0}", "e^{-x0}")

# ---- registration ------------------------------------------------------------------------------

register(Claim(
    uses=("KCG-H1", "KCG-H2"),
    id="KCG-5.3", paper="KCG", where="Lemma 5.3, eq. (5.6)-(5.7); = Lemmas H.1 + H.2", kind="pure-math",
    statement="x_t >= 0, C1 e^{-x_t} <= x_{t+1} - x_t <= C2 e^{-x_t} for all t  ==>  "
              "log(e^{x_0} + C1 t) <= x_t <= log(e^{x_0} + C2 e^{C2} t) for all t >= 0",
    assumptions="C1, C2 > 0; x_t >= 0 (non-negative sequence); |x_t| < 700 (float64 range of e^{x})",
    reading="e^{x_0} inside the logs, as Lemmas H.1/H.2 print it (their proofs sum e^{x} dx from x_0). "
            "The OCR of (5.7) prints e^{-x_0}; that reading is KCG-5.3-ocr and is false.",
))
register(Claim(
    uses=("KCG-H1", "KCG-H2"),
    id="KCG-5.3-ocr", paper="KCG", where="Lemma 5.3, eq. (5.7) as the OCR prints it", kind="pure-math",
    statement="x_t >= 0, C1 e^{-x_t} <= x_{t+1} - x_t <= C2 e^{-x_t}  ==>  "
              "log(e^{-x_0} + C1 t) <= x_t <= log(e^{-x_0} + C2 e^{C2} t) for all t >= 0",
    assumptions="as KCG-5.3", expected="fails",
    reading="the e^{-x_0} reading of (5.7).  False: at t = 0 the upper bound is x_0 <= -x_0, false for "
            "every x_0 > 0; for t >= 1 it fails e.g. at x_0 = 1, C1 = C2 = 1, t = 1.  The lower bound "
            "is implied by the e^{x_0} one (e^{-x_0} <= e^{x_0}) and holds; large t washes x_0 out.",
))
register(Claim(
    id="KCG-H1", paper="KCG", where="Lemma H.1", kind="pure-math",
    statement="x_t >= 0, x_{t+1} - x_t <= C e^{-x_t} for all t  ==>  x_t <= log(e^{x_0} + C e^{C} t)",
    assumptions="C > 0; x_t >= 0 (used: x_{t+1} - x_t <= C e^{-x_t} <= C); decreasing steps allowed",
    reading="the OCR prints the bound as log(e^{x0} + C e^C t) in the statement and the proof",
))
register(Claim(
    id="KCG-H2", paper="KCG", where="Lemma H.2", kind="pure-math",
    statement="x_{t+1} - x_t >= C e^{-x_t} for all t  ==>  x_t >= log(e^{x_0} + C t)",
    assumptions="C > 0; no sign condition on x_t (the proof only uses convexity of e^x)",
))
register(Claim(
    id="KCG-H4", paper="KCG", where="Lemma H.4", kind="pure-math",
    statement="b > a > 0, t > s > 0  ==>  log(1 + a t)/log(1 + b t) >= log(1 + a s)/log(1 + b s)",
    assumptions="b > a > 0",
))


# ---- sequences ---------------------------------------------------------------------------------

def exp_recursion(x0: float, c: np.ndarray, floor: float | None = None) -> np.ndarray:
    """x_{t+1} = x_t + c_t e^{-x_t} from x_0 (the recursion of (5.6)); ``floor`` clamps from below."""
    c = np.asarray(c, dtype=np.float64).reshape(-1)
    x = np.empty(c.size + 1)
    x[0] = x0
    for t in range(c.size):
        v = x[t] + c[t] * math.exp(-x[t])
        x[t + 1] = v if floor is None else max(v, floor)
    return x


def realized_constants(x: np.ndarray) -> np.ndarray:
    """c_t = (x_{t+1} - x_t) e^{x_t}, t = 0..T-1: the constants the sequence realizes in (5.6)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.diff(x) * np.exp(x[:-1])


def _log_bound(x0: float, logK: float, t: np.ndarray) -> np.ndarray:
    """log(e^{x0} + K t) for t >= 0 (t = 0 gives x0; K <= 0 handled as -inf where the argument is <= 0)."""
    with np.errstate(divide="ignore"):
        logt = np.log(t.astype(np.float64))
    return np.logaddexp(x0, logK + logt)


def _implied_K(x: np.ndarray, x0_eff: float, t: np.ndarray) -> np.ndarray:
    """(e^{x_t} - e^{x0_eff}) / t for t >= 1, formed as e^{x_t} (1 - e^{x0_eff - x_t}) / t in logs."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return np.exp(x) * -np.expm1(x0_eff - x) / t


def _sequence_check(claim: str, x: np.ndarray, *, lower: float | None,
                    upper: float | None, x0_sign: float, C_tol: float,
                    hyp_ok: bool, hyp_where: dict[str, object], t_min: int, note: str,
                    config: dict[str, object]) -> CheckResult:
    """Common core: lower = K1 means x_t >= log(e^{s x0} + K1 t); upper = K2: x_t <= log(e^{s x0} + K2 t).

    C_tol: the lemma's constant, whose measurement error moves the bound by (1 + C_tol) SEQ_RTOL."""
    x = np.asarray(x, dtype=np.float64)
    t = np.arange(x.size)
    sel = t >= t_min
    x0e = x0_sign * float(x[0])
    rows: list[tuple[float, int, str, float, float]] = []  # (margin, t, side, x_t, bound)
    implied: dict[str, float] = {}
    tpos = t >= 1
    K = _implied_K(x[tpos], x0e, t[tpos]) if tpos.any() else np.array([])
    for side, Kc in (("lower", lower), ("upper", upper)):
        if Kc is None:
            continue
        B = _log_bound(x0e, math.log(Kc) if Kc > 0 else -math.inf, t)
        scale = np.maximum(1.0, np.maximum(np.abs(x), np.where(np.isfinite(B), np.abs(B), 0.0)))
        tol = sum_bound(8, 1.0) * scale + (1.0 + abs(C_tol)) * SEQ_RTOL
        gap = (x - B) if side == "lower" else (B - x)
        mg = np.where(sel, gap + tol, np.inf)
        k = int(np.argmin(mg))
        rows.append((float(mg[k]), k, side, float(x[k]), float(B[k])))
        if K.size and Kc > 0:
            if side == "upper":
                implied["K_up/K_declared"] = float(np.max(K) / Kc)
            else:
                implied["K_lo/K_declared"] = float(np.min(K) / Kc)
    margin, k, side, xt, bt = min(rows, key=lambda r: r[0])
    where = {"t": k, "side": side, "hypothesis": hyp_ok, **hyp_where}
    return CheckResult(claim, margin=margin, measured=xt, bound=bt, where=where, implied=implied,
                       config=config, note=note)


def _hypothesis_lemma(x: np.ndarray, C_lo: float | None, C_hi: float | None,
                      nonneg: bool) -> tuple[bool, dict[str, object]]:
    """Whether C_lo <= c_t <= C_hi (the bounds given) and x_t >= 0 (if ``nonneg``) for every t."""
    c = realized_constants(x)
    bad: list[str] = []
    where: dict[str, object] = {}
    if c.size:
        where["c_min"], where["c_max"] = float(np.nanmin(c)), float(np.nanmax(c))
    if not np.all(np.isfinite(np.asarray(x))):
        bad.append("non-finite x")
    if C_lo is not None and c.size and not np.all(c >= C_lo):
        bad.append(f"c_t < C_lo at t={int(np.argmin(c))}")
    if C_hi is not None and c.size and not np.all(c <= C_hi):
        bad.append(f"c_t > C_hi at t={int(np.nanargmax(c))}")
    if nonneg and not np.all(np.asarray(x) >= 0):
        bad.append(f"x_t < 0 at t={int(np.argmin(x))}")
    if bad:
        where["hypothesis_violated"] = "; ".join(bad)
    return not bad, where


@check("KCG-5.3", takes="sequence")
def check_lemma_5_3(x: np.ndarray, C1: float, C2: float, reading: str = "e^{x0}",
                    t_min: int = 1) -> CheckResult:
    """KCG Lemma 5.3: (5.6) x_t >= 0, C1 e^{-x_t} <= x_{t+1} - x_t <= C2 e^{-x_t}  ==>  (5.7).

    (5.7) read as log(e^{s x_0} + C1 t) <= x_t <= log(e^{s x_0} + C2 e^{C2} t), s = +1 for
    ``reading="e^{x0}"`` (claim KCG-5.3, Lemmas H.1/H.2) and s = -1 for ``reading="e^{-x0}"`` (claim
    KCG-5.3-ocr, the OCR of (5.7)).  Checked for t_min <= t <= T.  Margin: log-space gap (module doc).
    t = 0 is skipped by default: in the e^{x0} reading both sides are then the identity x_0 = x_0 (margin
    = tolerance, uninformative); pass t_min=0 to include it (the e^{-x0} reading fails there for x_0 > 0).
    """
    if reading not in READINGS:
        raise ValueError(f"reading must be one of {READINGS}; got {reading!r}")
    if not (C1 > 0 and C2 > 0):
        raise ValueError(f"Lemma 5.3 needs C1, C2 > 0; got C1={C1}, C2={C2}")
    ok, hw = _hypothesis_lemma(x, C1, C2, nonneg=True)
    claim = "KCG-5.3" if reading == "e^{x0}" else "KCG-5.3-ocr"
    return _sequence_check(claim, x, lower=C1, upper=C2 * math.exp(C2),
                           x0_sign=1.0 if reading == "e^{x0}" else -1.0, C_tol=C2, hyp_ok=ok, hyp_where=hw,
                           t_min=t_min, note=f"reading {reading}",
                           config={"C1": C1, "C2": C2, "T": len(x) - 1, "x0": float(x[0]), "t_min": t_min})


@check("KCG-H1", takes="sequence")
def check_lemma_h1(x: np.ndarray, C: float, factor: float | None = None, t_min: int = 1) -> CheckResult:
    """KCG Lemma H.1: x_t >= 0, x_{t+1} - x_t <= C e^{-x_t}  ==>  x_t <= log(e^{x_0} + C e^{C} t).

    ``factor`` replaces e^{C} (default) -- a falsification hook: factor=1 is the bound without the e^{C}
    the proof pays for x_{t+1} <= x_t + C.  Margin: log-space gap (module doc); t >= t_min (t = 0 is
    the identity x_0 = x_0).
    """
    if not C > 0:
        raise ValueError(f"Lemma H.1 needs C > 0; got {C}")
    f = math.exp(C) if factor is None else factor
    ok, hw = _hypothesis_lemma(x, None, C, nonneg=True)
    return _sequence_check("KCG-H1", x, lower=None, upper=C * f, x0_sign=1.0, C_tol=C, hyp_ok=ok,
                           hyp_where=hw, t_min=t_min, note="" if factor is None else f"factor={factor:g}",
                           config={"C": C, "T": len(x) - 1, "x0": float(x[0])})


@check("KCG-H2", takes="sequence")
def check_lemma_h2(x: np.ndarray, C: float, factor: float = 1.0, t_min: int = 1) -> CheckResult:
    """KCG Lemma H.2: x_{t+1} - x_t >= C e^{-x_t}  ==>  x_t >= log(e^{x_0} + C t).

    ``factor`` multiplies C in the conclusion (default 1; a falsification hook, e.g. factor=e^{C}).
    """
    if not C > 0:
        raise ValueError(f"Lemma H.2 needs C > 0; got {C}")
    ok, hw = _hypothesis_lemma(x, C, None, nonneg=False)
    return _sequence_check("KCG-H2", x, lower=C * factor, upper=None, x0_sign=1.0, C_tol=C, hyp_ok=ok,
                           hyp_where=hw, t_min=t_min, note="" if factor == 1.0 else f"factor={factor:g}",
                           config={"C": C, "T": len(x) - 1, "x0": float(x[0])})


# ---- Lemma H.4 ---------------------------------------------------------------------------------

def log_ratio(a: float, b: float, t: np.ndarray) -> np.ndarray:
    """f(t) = log(1 + a t) / log(1 + b t), through log1p."""
    t = np.asarray(t, dtype=np.float64)
    return np.log1p(a * t) / np.log1p(b * t)


@check("KCG-H4", takes="numbers")
def check_lemma_h4(a: float, b: float, t: np.ndarray) -> CheckResult:
    """KCG Lemma H.4: for b > a > 0, f(t) = log(1+at)/log(1+bt) is nondecreasing on t > 0.

    Checked on the sorted grid ``t`` (> 0, distinct).  Margin: min_k (f_{k+1} - f_k + tol_k) / (f_k dlog t_k),
    a discrete d log f / d log t (module doc for tol_k).  A pair (a, b) outside b > a > 0 is still
    evaluated (falsification: a > b makes f decreasing) and flagged in ``where["assumption"]``.
    """
    t = np.unique(np.asarray(t, dtype=np.float64).reshape(-1))
    if t.size < 2 or not np.all(t > 0):
        raise ValueError("t must hold at least two distinct points, all > 0")
    if not (a > 0 and b > 0):
        raise ValueError(f"a, b must be > 0; got a={a}, b={b}")
    f = log_ratio(a, b, t)
    df = np.diff(f)
    tol = sum_bound(6, 1.0) * (f[:-1] + f[1:])
    rel = (df + tol) / (f[:-1] * np.diff(np.log(t)))
    k = int(np.argmin(rel))
    return CheckResult("KCG-H4", margin=float(rel[k]), measured=float(df[k]), bound=0.0,
                       where={"k": k, "s": float(t[k]), "t": float(t[k + 1]), "assumption": bool(b > a)},
                       implied={"f_min": float(f.min()), "f_max": float(f.max())},
                       config={"a": a, "b": b, "t_min": float(t[0]), "t_max": float(t[-1]), "grid": t.size},
                       note=f"step tolerance {tol[k]:.2g} (eps={EPS:.2g})")
