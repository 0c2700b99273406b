"""The data-correlated decomposition of KCG (Def. 5.1) and the coefficient dynamics built on it:
sign structure, monotonicity and one-step updates (Lemma 5.2/A.3), equal increments after the pattern
froze (Lemma 5.7/D.1) and the bounded within-class spread (Lemmas C.1/C.2).

Notation.  w_{j,r}(t) = w_{j,r}(0) + sum_i rho_{j,r,i}(t) x_i / ||x_i||^2 with rho_bar = rho 1(rho >= 0) and
rho_und = rho 1(rho <= 0); ``Trajectory.rho`` is (T, 2, m, n), index 0 for j = +1.  GD (KCG (3.2)) gives

    rho_{j,r,i}(t+1) - rho_{j,r,i}(t) = -(eta / (n m)) l'_i(t) sigma'(<w_{j,r}(t), x_i>) ||x_i||^2 * (j y_i),

which is (5.4) for j = y_i and (5.5) for j = -y_i (l' < 0, sigma' >= 0), so rho_{j,r,i} has the sign of
j y_i and moves monotonically.

Float64 tolerances (``invariants.tolerance``).  The sign structure is exact in floating point: the state
is a (compensated) running sum of increments of one sign, and rounding a sum of same-sign terms never
changes its sign; that check uses tolerance 0 and its margin is -(worst violation) / max |rho| (0 when
held).  Monotonicity allows a few ulps per entry (``sum_bound(4, |rho|)``: the compensated sum Z + Zc is
read out with two roundings); margin min (tol - backward move) / max |rho|.  The one-step identity is
compared with ``sum_bound(8, |rho(t)| + |rho(t+1)| + |increment|)`` per entry (a handful of roundings in
the increment, one in the accumulation, one in rho = Z ||x_i||^2); equal increments after T with
``accumulated_bound(t - T, 2, max |rho|)`` (one rounding of size eps |rho| per step in each of the two
compared accumulations), divided by gamma for the gamma relation.  Those margins are the fraction of the
tolerance left, 1 - error / tolerance.
"""

from __future__ import annotations

import math

import numpy as np

from sim import Trajectory

from .._internal.bounded import with_trend
from .._internal.claim import Claim, check, register
from .._internal.result import CheckResult
from .._internal.tolerance import accumulated_bound, rho_rounding, sum_bound
from .pattern import (
    C_FREEZE,
    SOURCES,
    class_sign,
    in_kcg_leaky_appendix_regime,
    own_block,
    sign_pattern,
)
from .regime import AXES, describe, in_kcg_regime, step_fraction

TINY = np.finfo(float).tiny


def _not_run(claim: str, traj: Trajectory, bound: float, why: str, outcome: str = "too_short") -> CheckResult:
    return CheckResult(claim, math.nan, math.nan, bound, config=describe(traj.config, traj.data), note=why,
                       outcome=outcome)


def _where(idx: tuple[int, ...], times: np.ndarray) -> dict[str, int]:
    k, j, r, i = (int(v) for v in idx)
    return {"t": int(times[k]), "j": 1 - 2 * j, "r": r, "i": i}


def sigma_prime(traj: Trajectory, P: np.ndarray) -> np.ndarray:
    """sigma'(P) with sigma'(0) = 1: 1 where P >= 0, gamma (leaky) or 0 (ReLU) elsewhere."""
    return np.where(P >= 0, 1.0, traj.config.slope)


# ---- KCG-5.2 -----------------------------------------------------------------------------------

register(Claim(
    network="kcg", activation="leaky_relu", regime="kcg", axes=AXES, uses=("KCG-A1a"),
    id="KCG-5.2", paper="KCG", where="Def 5.1, Lemma 5.2 / A.3", kind="exact",
    statement="KCG-5.2:sign: rho_bar_{j,r,i} = 0 unless j = y_i and rho_und_{j,r,i} = 0 unless j = -y_i; "
              "KCG-5.2:monotone: rho_bar nondecreasing and rho_und nonincreasing across checkpoints; "
              "KCG-5.2:update: between recorded steps t, t+1, rho_{j,r,i}(t+1) - rho_{j,r,i}(t) = "
              "-(eta/(nm)) l'_i(t) sigma'(<w_{j,r}(t), x_i>) ||x_i||^2 (j y_i), i.e. (5.3)-(5.5)",
    assumptions="x_i linearly independent (uniqueness of rho); any KCG network (the identities are algebra "
                "of GD); asserted on Thm 4.1 / 4.3 configurations", in_regime=in_kcg_regime,
    reading="(5.3) rho_bar^{(0)} = rho_und^{(0)} = 0; (5.4) rho_bar grows by -(eta/nm) l'_i sigma'(.) "
            "||x_i||^2 1(y_i = j); (5.5) rho_und grows by +(eta/nm) l'_i sigma'(.) ||x_i||^2 1(y_i = -j).  "
            "sigma'(0) = 1.  KCG-5.2:reconstruct (Def. 5.1, eq. 5.1): W(t) = W(0) + sum_i rho_i x_i / ||x_i||^2 "
            "with nothing left outside the span of the x_i; the span engines hold it by construction, so it "
            "is judged on runs recorded from outside (sim.Recorder: a torch GD loop), where it can fail."))


RECONSTRUCT_TERMS = 16  # rounding of W - W0 (n-term sums over t steps is the recorder's; 16 n per entry declared)


@check("KCG-5.2")
def check_reconstruction(traj: Trajectory) -> CheckResult:
    """KCG-5.2:reconstruct -- Def. 5.1's decomposition reconstructs W(t): the part of W(t) - W(0) outside the
    span of the x_i, relative to ||W(t) - W(0)||, is rounding (``extra["off_span"]``, recorded by
    ``sim.Recorder`` / ``Trajectory.from_weights``).  Tolerance: accumulated_bound(T, RECONSTRUCT_TERMS n, 1)
    (a GD step adds an n-term combination of the x_i).  Margin 1 - off / tol.  On simulated runs W lives in
    the span by construction: ``cannot_judge`` (nothing to test)."""
    off = traj.extra.get("off_span")
    cfg = describe(traj.config, traj.data)
    if off is None:
        return CheckResult("KCG-5.2:reconstruct", math.nan, math.nan, math.nan, config=cfg, outcome="cannot_judge",
                           note="simulated: W(t) is stored as its decomposition, so the reconstruction is an "
                                "identity; judged on recorded runs")
    tol = accumulated_bound(int(traj.times[-1]), RECONSTRUCT_TERMS * traj.data.n, 1.0)
    return CheckResult("KCG-5.2:reconstruct", margin=1.0 - float(off) / tol, measured=float(off), bound=tol,
                       config=cfg, note="||(W - W0) off the span of the x_i|| / ||W - W0||, max over checkpoints")


@check("KCG-5.2", hunt=True)
def check_sign_structure(traj: Trajectory) -> CheckResult:
    """KCG Lemma 5.2 / (A.1)-(A.2): rho_bar_{j,r,i} = 0 for j = -y_i and rho_und_{j,r,i} = 0 for j = y_i.

    Exact (tolerance 0 on simulated runs; on recorded ones, the rounding of rho read off the weights,
    ``tolerance.rho_rounding``).  Margin -max(wrong-sign magnitude beyond it) / max |rho| (0 when held).
    """
    if len(traj.times) == 0:
        return _not_run("KCG-5.2:sign", traj, 0.0, "no checkpoint", "diverged")
    own = np.broadcast_to(class_sign(traj) > 0, traj.rho.shape[1:])[None]
    # 0 when held; on a recorded run, rho read off the weights carries the projection's rounding
    wrong = np.maximum(np.abs(np.where(own, traj.rho_und, traj.rho_bar)) - rho_rounding(traj), 0.0)
    scale = max(float(np.abs(traj.rho).max()), TINY)
    idx = np.unravel_index(int(np.argmax(wrong)), wrong.shape)
    worst = float(wrong[idx])
    note = "exact: tolerance 0" + (f"; {int((wrong > 0).sum())} wrong-sign entries" if worst > 0 else "")
    return CheckResult("KCG-5.2:sign", margin=-worst / scale if worst > 0 else 0.0, measured=worst,
                       bound=0.0, where=_where(idx, traj.times) if worst > 0 else {},
                       config=describe(traj.config, traj.data), note=note)


@check("KCG-5.2", hunt=True)
def check_monotone(traj: Trajectory) -> CheckResult:
    """KCG Lemma 5.2: rho_bar nondecreasing and rho_und nonincreasing between consecutive checkpoints.

    Tolerance per entry sum_bound(4, max(|rho(t_k)|, |rho(t_k+1)|)) (the coefficients are a compensated
    sum Z + Zc of same-sign increments, read out as fl(fl(Z + Zc) ||x_i||^2): a few ulps; on a
    recorded run plus ``tolerance.rho_rounding`` at both ends).  Margin
    min over entries of (tol - backward move) / max |rho|: >= 0 when held (~0 for entries still at 0).
    """
    if len(traj.times) < 2:
        return _not_run("KCG-5.2:monotone", traj, 0.0, "fewer than 2 checkpoints")
    rho = traj.rho
    back = np.maximum(traj.rho_bar[:-1] - traj.rho_bar[1:], traj.rho_und[1:] - traj.rho_und[:-1])
    gaps = np.concatenate([[1], np.diff(traj.times)])
    rr = rho_rounding(traj, gaps)  # recorded runs: the projection's rounding at both ends (0 when simulated)
    tol = sum_bound(4, 1.0) * np.maximum(np.abs(rho[:-1]), np.abs(rho[1:]))
    if np.ndim(rr):
        tol = tol + rr[1:] + rr[:-1]
    scale = max(float(np.abs(rho).max()), TINY)
    slack = (tol - back) / scale
    idx = np.unravel_index(int(np.argmin(slack)), slack.shape)
    worst = float(back[idx])
    return CheckResult("KCG-5.2:monotone", margin=float(slack[idx]), measured=max(worst, 0.0),
                       bound=float(tol[idx]), where=_where(idx, traj.times[1:]),
                       config=describe(traj.config, traj.data),
                       note=f"max backward move {max(float(back.max()), 0.0):.3g} (a few ulps allowed)")


@check("KCG-5.2")
def check_update_rule(traj: Trajectory) -> CheckResult:
    """KCG (5.3)-(5.5): the increment of rho between every pair of recorded consecutive steps t, t+1 is
    -(eta/(nm)) l'_i(t) sigma'(P_{j,r,i}(t)) ||x_i||^2 (j y_i), from the recorded l'(t) and P(t).

    Margin: min over entries of 1 - |error| / tol, tol = sum_bound(8, |rho(t)| + |rho(t+1)| + |increment|),
    plus ``tolerance.rho_rounding`` of both states on a recorded run.
    ``too_short`` when the run recorded no consecutive steps (ask for ``checkpoints=range(...)``).
    """
    times = traj.times
    ks = np.flatnonzero(np.diff(times) == 1)
    if len(ks) == 0:
        return _not_run("KCG-5.2:update", traj, 0.0, "no consecutive recorded steps")
    cfg, data = traj.config, traj.data
    js = class_sign(traj)[None]                                  # (1, 2, 1, n)
    coef = -(cfg.eta / (data.n * cfg.m)) * data.norms2            # (n,)
    rho, P, lp = traj.rho, traj.preact, traj.lprime
    pred = coef[None, None, None, :] * lp[ks][:, None, None, :] * sigma_prime(traj, P[ks]) * js
    got = rho[ks + 1] - rho[ks]
    err = np.abs(got - pred)
    rr = rho_rounding(traj)  # recorded runs: the projection's rounding of both states (0 when simulated)
    extra_tol = (rr[ks] + rr[ks + 1]) if np.ndim(rr) else 0.0
    tol = np.maximum(sum_bound(8, 1.0) * (np.abs(rho[ks]) + np.abs(rho[ks + 1]) + np.abs(pred)) + extra_tol, TINY)
    frac = 1.0 - err / tol
    idx = np.unravel_index(int(np.argmin(frac)), frac.shape)
    k = int(ks[idx[0]])
    where = {"t": int(times[k]), "j": 1 - 2 * int(idx[1]), "r": int(idx[2]), "i": int(idx[3])}
    return CheckResult("KCG-5.2:update", margin=float(frac[idx]), measured=float(err[idx]),
                       bound=float(tol[idx]), where=where, implied={"pairs": float(len(ks))},
                       config=describe(cfg, data),
                       note=f"{len(ks)} consecutive step pairs; fraction of the float64 tolerance left")


# ---- KCG-5.7 -----------------------------------------------------------------------------------

register(Claim(
    network="kcg", activation="leaky_relu", regime="kcg", axes=AXES, uses=("KCG-5.6", "KCG-5.2"),
    id="KCG-5.7", paper="KCG", where="Lemma 5.7 / D.1", kind="exact",
    statement="for t >= T (pattern frozen into j y_i; T = the run's last every-step change): "
              "rho_bar_{y_i,r,i}(t) - rho_bar_{y_i,r,i}(T) is the same for every r; so is "
              "rho_und_{-y_i,r,i}(t) - rho_und_{-y_i,r,i}(T); and rho_bar_{y_i,r,i}(t) - "
              "rho_bar_{y_i,r,i}(T) = (|rho_und_{-y_i,r,i}(t)| - |rho_und_{-y_i,r,i}(T)|) / gamma",
    assumptions="after the pattern of Lemma 5.6 froze; leaky ReLU", in_regime=in_kcg_leaky_appendix_regime,
    reading="Lemma D.1 (the legible restatement of 5.7): after T_1, sigma' = 1 for j = y_i and gamma for "
            "j = -y_i, so by (D.1)-(D.2) both increments are (eta ||x_i||^2/(nm)) sum_s |l'_i(s)|, times "
            "gamma for rho_und; same r on both sides of the gamma relation.  T is taken as the run's freeze "
            "step (<= the lemma's T when KCG-5.6 holds), the strongest form; the base is the first "
            "checkpoint at or after it."))


@check("KCG-5.7", hunt=True, every_step=True)
def check_equal_increments(traj: Trajectory) -> CheckResult:
    """KCG Lemma 5.7 / D.1: after the pattern froze into j y_i, the increments of rho_bar_{y_i,r,i} and of
    rho_und_{-y_i,r,i} since T do not depend on r, and the first is the second's magnitude over gamma.

    Margin: min over checkpoints t > T, i and the three identities of 1 - error / tol, with
    tol = accumulated_bound(t - T, 2, max |rho| up to t) (divided by gamma for the gamma relation), plus
    ``tolerance.rho_rounding`` of the four states compared on a recorded run.
    ``too_short`` when the final pattern is not j y_i or fewer than two checkpoints follow the freeze.
    """
    if traj.diverged:
        return _not_run("KCG-5.7", traj, 0.0, f"diverged at step {traj.diverged_at}", "diverged")
    gamma = traj.config.slope
    if gamma <= 0:
        return _not_run("KCG-5.7", traj, 0.0, "leaky ReLU only (gamma > 0)", "too_short")
    final = sign_pattern(traj.preact[-1])
    if np.any(final != class_sign(traj)):
        return _not_run("KCG-5.7", traj, 0.0, "pattern not frozen into j y_i by the horizon")
    T = traj.pattern_frozen_at
    times = traj.times
    k0 = int(np.searchsorted(times, T))
    if len(times) - k0 < 2:
        return _not_run("KCG-5.7", traj, 0.0, f"fewer than 2 checkpoints after the freeze at step {T}")
    n = traj.data.n
    b = own_block(traj)
    cols = np.arange(n)
    rb = np.moveaxis(traj.rho_bar[k0:, b, :, cols], 0, -1)        # (K, m, n): rho_bar_{y_i, r, i}
    ru = np.moveaxis(traj.rho_und[k0:, 1 - b, :, cols], 0, -1)    # rho_und_{-y_i, r, i}
    A = rb[1:] - rb[0]
    B = ru[1:] - ru[0]
    spread_A = A.max(axis=1) - A.min(axis=1)                        # (K-1, n)
    spread_B = B.max(axis=1) - B.min(axis=1)
    gam_err = np.abs(A - (np.abs(ru[1:]) - np.abs(ru[0])) / gamma).max(axis=1)
    dt = times[k0 + 1:] - times[k0]
    scale = np.maximum.accumulate(np.maximum(np.abs(rb), np.abs(ru)).max(axis=(1, 2)))[1:]
    tol = np.array([max(accumulated_bound(int(s), 2, float(c)), TINY)
                    for s, c in zip(dt, scale, strict=True)])
    rr = rho_rounding(traj, np.maximum(traj.times - T, 1))  # recorded runs: rho's rounding at both ends
    if np.ndim(rr):
        tol = tol + 2 * (rr[k0 + 1:].max(axis=(1, 2, 3)) + rr[k0].max())
    fr = np.stack([1 - spread_A / tol[:, None], 1 - spread_B / tol[:, None],
                   1 - gam_err / (tol[:, None] / gamma)])          # (3, K-1, n)
    part, k, i = np.unravel_index(int(np.argmin(fr)), fr.shape)
    names = ("rho_bar increments equal across r", "rho_und increments equal across r", "gamma relation")
    errs = (spread_A, spread_B, gam_err)
    bound = float(tol[k] / (gamma if part == 2 else 1.0))
    return CheckResult("KCG-5.7", margin=float(fr[part, k, i]), measured=float(errs[part][k, i]), bound=bound,
                       where={"t": int(times[k0 + 1 + k]), "i": int(i), "T": int(T), "part": names[part]},
                       implied={"T_freeze": float(T)}, config=describe(traj.config, traj.data),
                       note=f"{len(dt)} checkpoints after the freeze; fraction of the float64 tolerance left")


# ---- KCG-C12 -----------------------------------------------------------------------------------

register(Claim(
    network="kcg", activation="leaky_relu", regime="kcg", axes=AXES, uses=("KCG-5.7", "KCG-5.6", "KCG-B4"),
    id="KCG-C12", paper="KCG", where="Lemmas C.1 / C.2", kind="implied-constant",
    statement="|rho_bar_{y_i,r,i}(t) - rho_bar_{y_i,r',i}(t)| <= C' and |rho_und_{-y_i,r,i}(t) - "
              "rho_und_{-y_i,r',i}(t)| <= C' for all t, r, r', i; implied C' = the run's max spread, "
              "compared with C'_declared = C_FREEZE R^2 (R = R_max/R_min)",
    assumptions="Thm 4.1 with the appendix's (B.2) init bound (as KCG-5.6)",
    in_regime=in_kcg_leaky_appendix_regime, declared={"C_FREEZE": C_FREEZE},
    sources={"C_FREEZE": SOURCES["C_FREEZE"]},
    reading="Proof of C.1: for t <= T_1 every |rho| <= eta R_max^2 t/(nm) <= eta R_max^2 T_1/(nm) = C' "
            "(|l'|, sigma' <= 1), and for t >= T_1 the spread is frozen at its value at T_1 (C.2, equal "
            "increments).  "
            "With T_1 written as C eta^{-1} n m R_min^{-2} (Lemma 5.6), C' = C R^2; the suite declares "
            "C' = C_FREEZE R^2, so C12 is the quantitative consequence of KCG-5.6 + KCG-5.7."))


@check("KCG-C12", hunt=True)
def check_within_class_spread(traj: Trajectory, C_declared: float | None = None) -> CheckResult:
    """KCG Lemmas C.1/C.2: the within-class spreads of rho_bar_{y_i,.,i} and rho_und_{-y_i,.,i} are bounded.

    Implied C' = max over checkpoints t, points i, of max_{r,r'} |rho_bar_{y_i,r,i}(t) -
    rho_bar_{y_i,r',i}(t)| and the same for rho_und_{-y_i}.  Declared (default) C' = C_FREEZE R^2 (see the
    claim's reading).
    Margin (C'_declared - C'_implied) / C'_declared, or the trend test's if smaller
    (``_internal.bounded.with_trend``: C'(t) extrapolated to t = T^2 must stay within the declared C').
    """
    if len(traj.times) == 0:
        return _not_run("KCG-C12", traj, math.nan, "no checkpoint", "diverged")
    bound = C_FREEZE * traj.data.R**2 if C_declared is None else float(C_declared)
    n = traj.data.n
    b = own_block(traj)
    cols = np.arange(n)
    rb = np.moveaxis(traj.rho_bar[:, b, :, cols], 0, -1)          # (T, m, n)
    ru = np.moveaxis(traj.rho_und[:, 1 - b, :, cols], 0, -1)
    sp = np.stack([rb.max(axis=1) - rb.min(axis=1), ru.max(axis=1) - ru.min(axis=1)])   # (2, T, n)
    part, k, i = np.unravel_index(int(np.argmax(sp)), sp.shape)
    C_impl = float(sp[part, k, i])
    outcome = "" if not traj.diverged else "diverged"
    res = CheckResult("KCG-C12", margin=(bound - C_impl) / bound, measured=C_impl, bound=bound,
                      where={"t": int(traj.times[k]), "i": int(i),
                             "part": ("rho_bar_{y_i}", "rho_und_{-y_i}")[part]},
                      implied={"C'": C_impl, "C'/R^2": C_impl / traj.data.R**2},
                      config=describe(traj.config, traj.data), outcome=outcome)
    unit = step_fraction(traj.config, traj.data)  # steps at the step-size bound
    return with_trend(res, traj.times, sp.max(axis=(0, 2)), bound, "C'", upper=True, unit=unit)
