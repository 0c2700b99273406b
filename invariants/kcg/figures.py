"""Figures and open questions of KCG (Kou, Chen, Gu 2023): measured and reported, never asserted.

Every claim here has status ``measured``: the suite runs the experiment, reports a signed margin that is
>= 0 exactly when what the figure shows (or the answer the suite tests for an open question) held on
the runs tried, and never fails a test on it.

Figures (KCG section 6)
-----------------------
* ``KCG-FIG1`` (Fig. 1): on the synthetic mixture (n = 10, d = 784, mu ~ N(0, 1e-4 I), sigma_p = 1,
  m = 100, lr 0.1) the stable rank "decreases faster for larger leaky ReLU slopes and has a smaller value
  as t -> infinity".  Two sub-claims: ``KCG-FIG1:ends-lower`` (stable rank at the horizon decreases
  with gamma) and ``KCG-FIG1:decreases-faster`` (its log-time mean, below, decreases with gamma).
* ``KCG-FIG23`` (Figs. 2-3, MNIST; the synthetic analogue): smaller sigma0 gives a lower stable rank.
  ``KCG-FIG23:ends-lower`` and ``KCG-FIG23:lower-throughout`` (the log-time mean).

Both are sweeps (:func:`run_sweep`) over one parameter and several seeds (paired: a seed fixes the data
and the standard-normal draw of W(0), ``sim.simulate``), compared by :func:`ordering_margin`.

Open questions (KCG section 7)
------------------------------
* ``KCG-OQ1``: does W(t)/||W(t)||_F converge in direction (ReLU)?  :func:`direction_angles` computes the
  angle between W(t_k) and W(t_{k+1}) at successive checkpoints from the Gram matrix alone
  (no W needed, so virtual data work); :func:`check_direction_convergence` fits the angular speed
  s = dtheta / dln t ~ c (ln t)^{-beta} on the late window and reports beta - 1 (>= 0: the remaining
  rotation int s dln t is finite, consistent with directional convergence).
* ``KCG-OQ2``: do ReLU neurons switch activation infinitely often?  :func:`check_activation_switching`
  reads the every-step records (``activation_changes``, ``last_change``, ``n_changes``) and reports the
  decades of log t with no switch at the end of the run, minus one (>= 0: no switch in the last decade).
* ``KCG-OQ3``: can the ReLU stable-rank limit on orthogonal data be other than ~2?
  :func:`check_relu_orthogonal_stable_rank` reports SR(W_j) at the horizon and the limit that KCG's own
  Lemma F.3 formula gives on the run's initial activation pattern, each against the band |SR - 2| <= 2 b.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim import SimConfig, Trajectory, orthogonal, resolve, sample_init
from sim.batched import simulate_batch

from .._internal.claim import Claim, check, register
from .._internal.fitting import fit_power, late_window
from .._internal.ordering import ordering_margin
from .._internal.result import CheckResult
from .regime import AXES, describe, in_kcg_orthogonal_relu_regime, in_kcg_relu_regime

PAPER = "KCG"

# ---- the paper's settings (section 6) --------------------------------------------------------------

#: Fig. 1's slopes.  The OCR of the figure does not carry its legend; the caption says "a slope of 1 is
#: linear, a slope of 0 is ReLU".  The suite uses 0 (ReLU) and 0.1 .. 0.9 (the simulator has gamma in (0, 1)).
FIG1_GAMMAS: tuple[float, ...] = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9)
#: Figs. 2-3 (MNIST): sigma0 in {1e-5, 5e-5, 1e-4, 5e-4, 1e-3}; Fig. 3 uses leaky slope 0.1.
FIG23_SIGMAS: tuple[float, ...] = (1e-5, 5e-5, 1e-4, 5e-4, 1e-3)
FIG23_GAMMA = 0.1
#: "SGD with batch size 64 ... for 50 epochs" on n = 10 points is 50 full-batch GD steps.
PAPER_STEPS = 50
#: OQ3's band: "approximately 2" read as |SR - 2| <= 2 * OQ3_BAND, i.e. SR in [1.5, 2.5].
OQ3_BAND = 0.25
#: Where each declared constant comes from (``Claim.sources``), by constant name.
SOURCES = {
    "FIG1_GAMMAS": "choice: the OCR of Fig. 1 lacks its legend (caption: slope 1 is linear, 0 is ReLU); the suite "
                   "sweeps 6 slopes 0, 0.1, 0.3, 0.5, 0.7, 0.9 (the simulator has gamma in (0, 1))",
    "PAPER_STEPS": "paper: Sec. 6 trains with batch size 64 for 50 epochs on n = 10 points, i.e. 50 full-batch GD "
                   "steps",
    "FIG23_SIGMAS": "paper: Sec. 6 (MNIST, Figs. 2-3): sigma0 in {1e-5, 5e-5, 1e-4, 5e-4, 1e-3}, five values",
    "FIG23_GAMMA": "paper: Fig. 3's caption: leaky ReLU activation with slope 0.1",
    "OQ2_QUIET": "choice: 'switches infinitely often' read off a finite run as 'no switch in the last decade of t' "
                 "(margin log10(T / t_last) - 1)",
    "OQ3_BAND": "choice: 'approximately 2' read as abs(SR - 2) <= 2 x 0.25, i.e. SR in [1.5, 2.5]",
}


def paper_config(**changes: object) -> SimConfig:
    """KCG section 6's synthetic experiment: the simulator's defaults (mixture, n=10, d=784, m=100,
    eta=0.1, sigma_mu=1e-2, sigma_p=1, sigma0=1e-4), leaky slope 0.1 unless ``changes`` say otherwise."""
    kw: dict[str, object] = {"activation": "leaky_relu", "gamma": FIG23_GAMMA}
    kw.update(changes)
    if kw["activation"] == "relu":
        kw["gamma"] = None
    return SimConfig(**kw)  # type: ignore[arg-type]


def log_checkpoints(steps: int, count: int = 24, extra: Sequence[int] = (PAPER_STEPS,)) -> list[int]:
    """``count`` log-spaced steps in [1, steps] plus ``extra`` (those <= steps)."""
    ck = set(np.round(np.geomspace(1, max(steps, 1), count)).astype(int).tolist())
    ck |= {int(e) for e in extra if 0 < e <= steps}
    return sorted(ck)


# ---- sweeps (FIG1, FIG23) ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Sweep:
    """Stable-rank curves of a one-parameter sweep.

    values: the swept parameter, ascending; seeds: the paired seeds; times: (T,) common checkpoints;
    stacked: (K, S, T) SR of the whole first layer W (both signs stacked);
    per_sign: (K, S, T) mean over j of SR(W_j) (the theorems' object).  NaN where a run diverged.
    """

    param: str
    values: tuple[float, ...]
    seeds: tuple[int, ...]
    times: np.ndarray
    stacked: np.ndarray
    per_sign: np.ndarray
    config: dict[str, object]

    def curves(self, which: str) -> np.ndarray:
        if which == "stacked":
            return self.stacked
        if which == "per_sign":
            return self.per_sign
        raise ValueError(f"which must be 'stacked' or 'per_sign'; got {which!r}")


def with_param(cfg: SimConfig, param: str, value: float) -> SimConfig:
    """``cfg`` with ``param`` set; ``gamma = 0`` means ReLU (KCG Fig. 1: "a slope of 0 is ReLU")."""
    if param == "gamma":
        if value == 0:
            return cfg.with_(activation="relu", gamma=None)
        return cfg.with_(activation="leaky_relu", gamma=float(value))
    return cfg.with_(**{param: value})


def run_sweep(base: SimConfig, param: str, values: Sequence[float], seeds: Sequence[int]) -> Sweep:
    """Simulate ``base`` for every (value, seed); the checkpoints are ``base``'s."""
    vals = tuple(sorted(float(v) for v in values))
    times = base.checkpoint_steps()
    K, S, T = len(vals), len(seeds), len(times)
    stacked = np.full((K, S, T), np.nan)
    per_sign = np.full((K, S, T), np.nan)
    for k, v in enumerate(vals):
        cfgs = [with_param(base, param, v).with_(seed=int(seed)) for seed in seeds]
        # the seeds of one value advance together (batched span engine, each leaving the batch for the
        # frozen-pattern engine as its pattern quiets down); the same trajectories as simulate() per seed
        for s, tr in enumerate(simulate_batch(cfgs, engine="auto")):
            idx = np.searchsorted(times, tr.times)
            stacked[k, s, idx] = tr.stable_rank_stacked
            per_sign[k, s, idx] = tr.stable_rank.mean(axis=1)
    cfg = {"base": {kk: vv for kk, vv in describe(base, resolve(base)[0]).items()
                    if kk not in ("seed", "slack", param)}, "param": param}
    return Sweep(param, vals, tuple(int(s) for s in seeds), times, stacked, per_sign, cfg)


def horizon_index(times: np.ndarray, t_end: int | None) -> int:
    """Index of the last checkpoint <= t_end (the last one if None)."""
    if t_end is None:
        return len(times) - 1
    k = int(np.searchsorted(times, t_end, side="right")) - 1
    if k < 0:
        raise ValueError(f"no checkpoint <= {t_end}")
    return k


def log_time_mean(times: np.ndarray, values: np.ndarray, t_end: int | None = None) -> np.ndarray:
    """Mean of ``values`` over ln t on [1, t_end] (trapezoid on the checkpoints t >= 1).

    The "decreases faster" statistic: two curves that start and end at the same values differ in it
    exactly by how early they come down.  ``values`` (..., T); returns (...).
    """
    k = horizon_index(times, t_end)
    t = np.asarray(times[: k + 1], dtype=float)
    v = values[..., : k + 1]
    keep = t >= 1
    lt, v = np.log(t[keep]), v[..., keep]
    if lt.size < 2 or lt[-1] <= lt[0]:
        return v[..., -1]
    return np.trapezoid(v, lt, axis=-1) / (lt[-1] - lt[0])






def check_sweep_ordering(sweep: Sweep, claim: str, expect: str, names: tuple[str, str],
                         t_end: int | None = None, which: str = "stacked") -> list[CheckResult]:
    """Two results: the order of SR at the horizon (``names[0]``) and of its log-time mean (``names[1]``).

    ``which`` picks the curve compared (``stacked`` W or the ``per_sign`` mean); the other one's
    margins are reported in ``implied`` so both readings are visible.
    """
    other = "per_sign" if which == "stacked" else "stacked"
    k = horizon_index(sweep.times, t_end)
    t_used = int(sweep.times[k])
    out = []
    for name, stat_of in ((names[0], lambda c: c[:, :, k]),
                          (names[1], lambda c: log_time_mean(sweep.times, c, t_used))):
        cur, alt = stat_of(sweep.curves(which)), stat_of(sweep.curves(other))
        cfg = dict(sweep.config, steps=t_used, seeds=list(sweep.seeds), values=list(sweep.values),
                   curve=which)
        if not (np.all(np.isfinite(cur)) and np.all(np.isfinite(alt))):
            out.append(CheckResult(f"{claim}:{name}", math.nan, math.nan, 0.0, config=cfg,
                                   outcome="diverged", note="a run of the sweep diverged"))
            continue
        o, o_alt = ordering_margin(cur, expect), ordering_margin(alt, expect)
        implied: dict[str, float] = {"frac seeds ordered": o.frac_seeds, "frac pairs ordered": o.frac_pairs,
                                     f"margin ({other})": o_alt.margin,
                                     f"frac seeds ordered ({other})": o_alt.frac_seeds}
        implied.update({f"SR[{sweep.param}={v:g}]": float(mu) for v, mu in zip(sweep.values, o.means,
                                                                                strict=True)})
        v0, v1 = sweep.values[o.worst], sweep.values[o.worst + 1]
        out.append(CheckResult(
            f"{claim}:{name}", margin=o.margin, measured=o.gap, bound=0.0,
            where={"pair": [v0, v1], "t": t_used}, implied=implied, config=cfg,
            note=f"SR ({which}) expected {expect} in {sweep.param}; pair margins "
                 + ", ".join(f"{x:+.3g}" for x in o.pair_margins)))
    return out


@check("KCG-FIG1", takes="sweep")
def check_fig1(sweep: Sweep, t_end: int | None = None, which: str = "stacked") -> list[CheckResult]:
    """KCG §6, Fig. 1: SR ends lower and decreases faster for larger leaky slope gamma (0 = ReLU).

    Encoded on a gamma sweep: SR(t_end) and the log-time mean of SR on [1, t_end] are decreasing in gamma;
    margins from :func:`ordering_margin` (normalized gaps, in [-1, 1]).
    """
    if sweep.param != "gamma":
        raise ValueError(f"check_fig1 needs a gamma sweep; got {sweep.param!r}")
    return check_sweep_ordering(sweep, "KCG-FIG1", "decreasing", ("ends-lower", "decreases-faster"),
                                t_end, which)


@check("KCG-FIG23", takes="sweep")
def check_fig23(sweep: Sweep, t_end: int | None = None, which: str = "stacked") -> list[CheckResult]:
    """KCG §6, Figs. 2-3 (synthetic analogue): smaller sigma0 gives a lower SR.

    Encoded on a sigma0 sweep: SR(t_end) and the log-time mean of SR are increasing in sigma0.
    """
    if sweep.param != "sigma0":
        raise ValueError(f"check_fig23 needs a sigma0 sweep; got {sweep.param!r}")
    return check_sweep_ordering(sweep, "KCG-FIG23", "increasing", ("ends-lower", "lower-throughout"),
                                t_end, which)


# ---- OQ1: directional convergence --------------------------------------------------------------------

def frobenius_inner(rho_a: np.ndarray, rho_b: np.ndarray, G: np.ndarray, P0: np.ndarray,
                    K0: np.ndarray) -> float:
    """<W_a, W_b>_F for W = W0 + Z X, Z = rho / diag(G) (KCG Def. 5.1), from the Gram alone:
    tr K0 + <P0, Z_b> + <Z_a, P0> + <Z_a G, Z_b>  (P0 = W0 X^T, K0 = W0 W0^T)."""
    D = np.diag(G)
    Za, Zb = rho_a / D, rho_b / D
    return float(np.trace(K0) + np.sum(P0 * Zb) + np.sum(Za * P0) + np.sum((Za @ G) * Zb))


def direction_angles(rho: np.ndarray, G: np.ndarray, P0: np.ndarray, K0: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Angles between W(t_k) and W(t_{k+1}) for consecutive checkpoints, and ||W(t_k)||_F^2.

    rho (T, M, n).  With dW = W_{k+1} - W_k = dZ X computed exactly (no cancellation),
    a = ||W_k||^2, c = <W_k, dW>, e = ||dW||^2:  theta = atan2(sqrt(a e - c^2), a + c), the angle in the
    plane of W_k and dW.  Returns (theta (T-1,), norms2 (T,)).
    """
    D = np.diag(G)
    Z = rho / D[None, None, :]
    trK = float(np.trace(K0))
    ZG = Z @ G
    n2 = trK + 2 * np.sum(P0[None] * Z, axis=(1, 2)) + np.sum(ZG * Z, axis=(1, 2))
    dZ = np.diff(Z, axis=0)
    a = n2[:-1]
    c = np.sum(P0[None] * dZ, axis=(1, 2)) + np.sum(ZG[:-1] * dZ, axis=(1, 2))
    e = np.sum((dZ @ G) * dZ, axis=(1, 2))
    theta = np.arctan2(np.sqrt(np.maximum(a * e - c**2, 0.0)), a + c)
    return theta, n2


@check("KCG-OQ1", hunt=True)
def check_direction_convergence(traj: Trajectory, window: float = 0.5, min_points: int = 4) -> CheckResult:
    """KCG §7 (open question): does W(t)/||W(t)||_F converge in direction?

    On checkpoints t_k >= 1: angular speed s_k = theta_k / ln(t_{k+1}/t_k) (theta from
    :func:`direction_angles`, stacked W), fitted on the late window (last ``window`` of ln T, by
    :func:`invariants.fitting.late_window`) as s ~ c (ln t)^{-beta} (fit_power on ln t).  If
    W(t) = A ln t + B + o(1) (the leaky case of Thm 4.1), s ~ |B_perp|/|A| (ln t)^{-2}: beta = 2.
    margin = beta - 1 (>= 0: the remaining rotation c (ln T)^{1-beta} / (beta - 1) is finite).
    implied: beta, the estimated remaining rotation (rad), the angle between W(sqrt T) and W(T), the
    fraction of late speeds that decreased.
    """
    t = traj.times.astype(float)
    keep = t >= 1
    rho = traj.rho_flat[keep]
    times = t[keep]
    theta, _ = direction_angles(rho, traj.data.G, traj.init.P0, traj.init.K0)
    dl = np.diff(np.log(times))
    speed = theta / dl
    tm = np.sqrt(times[:-1] * times[1:])  # geometric midpoints
    late = late_window(tm, window, t_min=2) & (speed > 0)
    cfg = describe(traj.config, traj.data)
    if late.sum() < min_points:
        return CheckResult("KCG-OQ1", math.nan, math.nan, 1.0, config=cfg, outcome="too_short",
                           note=f"{int(late.sum())} late checkpoints with motion (< {min_points})")
    logc, beta = fit_power(np.log(tm[late]), speed[late])
    lnT = math.log(times[-1])
    remaining = (math.exp(logc) * lnT ** (1 - beta) / (beta - 1)) if beta > 1 else math.inf
    # angle between W(~sqrt T) and W(T), directly
    k_mid = int(np.argmin(np.abs(np.log(times) - 0.5 * lnT)))
    th_mid, _ = direction_angles(rho[[k_mid, -1]], traj.data.G, traj.init.P0, traj.init.K0)
    sl = speed[late]
    dec = float(np.mean(np.diff(sl) < 0)) if sl.size > 1 else math.nan
    return CheckResult(
        "KCG-OQ1", margin=beta - 1.0, measured=beta, bound=1.0,
        where={"t_window": [float(tm[late][0]), float(tm[late][-1])]},
        implied={"beta": beta, "remaining rotation (rad)": remaining,
                 "angle W(sqrtT)-W(T) (rad)": float(th_mid[0]),
                 "last speed (rad per ln t)": float(sl[-1]), "frac late speeds decreasing": dec},
        config=cfg,
        note="angular speed per unit ln t ~ (ln t)^-beta on the late window")


# ---- OQ2: activation switching -----------------------------------------------------------------------

def switches_per_decade(traj: Trajectory) -> list[tuple[int, int]]:
    """(10^k, switches in checkpoints' (10^{k-1}, 10^k] approx.) from the cumulative ``n_changes``.

    Each decade boundary is rounded down to the nearest checkpoint, so with log-spaced checkpoints the
    bins are decades up to the checkpoint spacing.
    """
    if traj.n_changes is None:
        return []
    t = traj.times
    out, prev = [], 0
    T = int(t[-1])
    k = 0
    while True:
        edge = min(10**k, T)
        i = int(np.searchsorted(t, edge, side="right")) - 1
        out.append((int(edge), int(traj.n_changes[i]) - prev))
        prev = int(traj.n_changes[i])
        if edge >= T:
            return out
        k += 1


@check("KCG-OQ2", hunt=True, every_step=True)
def check_activation_switching(traj: Trajectory, quiet_decades: float = 1.0) -> CheckResult:
    """KCG §7 (open question): do ReLU neurons switch activation infinitely often?

    The suite tests the "stabilizes" answer on the run: with t_last the last step at which any
    1(<w_{j,r}(t), x_i> >= 0) changed (``pattern_frozen_at``; 1 if none did) and T the horizon,
        margin = log10(T / t_last) - quiet_decades   (>= 0: no switch in the last ``quiet_decades``).
    measured: switches in the last decade (cumulative ``n_changes`` between the last checkpoint <= T/10
    and T).  implied: max switches of one (j, r, i), pairs still switching in the last decade, the late
    switch rate per step, kappa of rate ~ t^-kappa over the late checkpoints (0: a constant rate,
    chattering; 1: a constant count per decade -- still infinitely many; > 1: finitely many).
    """
    cfg = describe(traj.config, traj.data)
    T = int(traj.times[-1])
    if T < 10 ** (quiet_decades + 1):
        return CheckResult("KCG-OQ2", math.nan, math.nan, 0.0, config=cfg, outcome="too_short",
                           note=f"horizon {T} < 10^{quiet_decades + 1:g}")
    t_last = max(traj.pattern_frozen_at, 1)
    margin = math.log10(T / t_last) - quiet_decades
    ch = traj.changes_flat
    lc = traj.last_change_flat
    t_q = T / 10 ** quiet_decades
    late_pairs = int(np.sum(lc >= t_q))
    k_max = np.unravel_index(int(np.argmax(ch)), ch.shape)
    m1, _ = traj.widths
    kk, i = int(k_max[0]), int(k_max[1])
    where = {"t_last": int(traj.pattern_frozen_at), "j": 1 if kk < m1 else -1,
             "r": kk if kk < m1 else kk - m1, "i": i, "y_i": int(traj.data.y[i])}
    implied: dict[str, float] = {"max switches per pair": float(ch.max(initial=0)),
                                 "pairs switching late": float(late_pairs),
                                 "t_last / T": traj.pattern_frozen_at / T}
    late_switches = math.nan
    note = ""
    if traj.n_changes is not None:
        t = traj.times.astype(float)
        iq = int(np.searchsorted(t, t_q, side="right")) - 1
        late_switches = float(traj.n_changes[-1] - traj.n_changes[iq])
        implied["late switch rate per step"] = late_switches / max(T - t[iq], 1.0)
        rate = np.diff(traj.n_changes.astype(float)) / np.maximum(np.diff(t), 1.0)
        tm = np.sqrt(np.maximum(t[:-1], 1) * t[1:])
        w = late_window(tm, 0.5, t_min=2) & (rate > 0)
        if w.sum() >= 3:
            implied["kappa"] = fit_power(tm[w], rate[w])[1]
        note = "switches per decade (t<=10^k: count): " + ", ".join(
            f"{e}:{c}" for e, c in switches_per_decade(traj))
    return CheckResult("KCG-OQ2", margin=margin, measured=late_switches, bound=0.0, where=where,
                       implied=implied, config=cfg, note=note)


# ---- OQ3: the ReLU stable-rank limit on orthogonal data -----------------------------------------------

def f3_limit(P0: np.ndarray, y: np.ndarray, norms: np.ndarray, widths: tuple[int, int]) -> np.ndarray:
    """(2,) the t -> infinity limit of SR(W_j) by KCG Lemmas F.2-F.3 from the initial pattern.

    P0 (M, n) initial pre-activations (positive block first), y (n,), norms (n,) = ||x_i||.
    W_j(t) / ln t -> sum_{i: y_i = j} A_{r,i} x_i / ||x_i||, A_{r,i} = 1(r in S_i) m_j / (|S_i| ||x_i||),
    S_i = {r : <w_{y_i,r}(0), x_i> > 0} (Lemma F.2: rho_{y_i,r,i} / ln t -> m / |S_i|; the other
    coefficients stay bounded).  For orthonormal directions x_i/||x_i||, SR = ||A||_F^2 / ||A||_2^2.
    NaN for a sign whose points all have empty S_i.
    """
    m1, m2 = widths
    out = np.full(2, np.nan)
    for s, (j, sl, m) in enumerate(((1, slice(0, m1), m1), (-1, slice(m1, m1 + m2), m2))):
        cols = np.flatnonzero(y == j)
        active = P0[sl][:, cols] > 0  # (m_j, n_j)
        size = active.sum(axis=0)
        ok = size > 0
        if not np.any(ok):
            continue
        A = active[:, ok] * (m / (size[ok] * norms[cols][ok]))[None, :]
        sv = np.linalg.svd(A, compute_uv=False)
        out[s] = float(np.sum(sv**2) / sv[0] ** 2)
    return out


def relu_orthogonal_limit(traj: Trajectory) -> np.ndarray:
    """(2,) :func:`f3_limit` on a run's own initialization and data."""
    return f3_limit(traj.init.P0, traj.data.y, np.sqrt(traj.data.norms2), traj.widths)


def large_m_limit(n_j: int) -> float:
    """E-limit of Lemma F.3's formula for m -> infinity and equal norms: 2 n_j / (n_j + 1).

    (Columns of A are 2 * Bernoulli(1/2) vectors: A^T A ~ m (I + 1 1^T), trace 2 m n_j, top m (n_j + 1).)
    It is < 2 for every finite n_j and -> 2 as n_j -> infinity: the paper's "2 + o(1)".
    """
    return 2.0 * n_j / (n_j + 1.0)


@check("KCG-OQ3")
def check_relu_orthogonal_stable_rank(traj: Trajectory, band: float = OQ3_BAND) -> list[CheckResult]:
    """KCG §7 / Remark 4.4 / Lemma F.3: the ReLU SR(W_j) on orthogonal data converges to ~2.

    Encoded as |SR - 2| / 2 <= ``band`` (declared 0.25, SR in [1.5, 2.5]); margin = band - max_j |SR_j - 2|/2.
    Two results: ``KCG-OQ3:horizon`` (SR(W_j(T)) as simulated) and ``KCG-OQ3:limit`` (Lemma F.3's limit
    on this run's initial pattern, :func:`relu_orthogonal_limit`).  implied: both per sign, the
    large-m value 2 n_j/(n_j + 1), n_j.
    """
    cfg = describe(traj.config, traj.data)
    sr_T = traj.stable_rank[-1] if traj.widths[0] == traj.widths[1] else \
        traj.fro2[-1, :2] / traj.spec2[-1, :2]
    lim = relu_orthogonal_limit(traj)
    y = traj.data.y
    n_j = [int(np.sum(y == 1)), int(np.sum(y == -1))]
    implied = {"SR(W+1, T)": float(sr_T[0]), "SR(W-1, T)": float(sr_T[1]),
               "max |SR(T) - limit|": float(np.max(np.abs(sr_T - lim))),
               "SR limit (F.3) W+1": float(lim[0]), "SR limit (F.3) W-1": float(lim[1]),
               "2n/(n+1) W+1": large_m_limit(n_j[0]), "2n/(n+1) W-1": large_m_limit(n_j[1]),
               "n_+": float(n_j[0]), "n_-": float(n_j[1])}
    note = "" if traj.data.p == 0 and traj.config.activation == "relu" else \
        "outside OQ3's setting (ReLU on orthogonal data)"
    out = []
    for name, sr in (("horizon", sr_T), ("limit", lim)):
        dev = np.abs(np.asarray(sr, dtype=float) - 2.0) / 2.0
        if not np.all(np.isfinite(dev)):
            out.append(CheckResult(f"KCG-OQ3:{name}", math.nan, math.nan, 2.0, implied=implied, config=cfg,
                                   outcome="diverged" if traj.diverged else "too_short",
                                   note="non-finite stable rank (a sign with no active neuron?)"))
            continue
        s = int(np.argmax(dev))
        out.append(CheckResult(f"KCG-OQ3:{name}", margin=float(band - dev[s]), measured=float(sr[s]),
                               bound=2.0, where={"j": 1 if s == 0 else -1, "t": int(traj.times[-1])},
                               implied=implied, config=cfg, note=note))
    return out


def oq3_limit_survey(n: int, m: int, seeds: Sequence[int], band: float = OQ3_BAND) -> CheckResult:
    """``KCG-OQ3:limit`` over many initializations at once: Lemma F.3's limit needs only the signs of
    P(0), which on orthogonal data are i.i.d. fair coins whatever sigma0 and d are, so no GD run is
    needed.  Balanced labels, equal norms.  measured: the limit farthest from 2 over seeds and signs;
    margin = band - |measured - 2| / 2; implied: min, mean, max of the limits and 2 n_j/(n_j + 1)."""
    lims = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        data = orthogonal(n, max(n, 16), rng, norms=1.0, virtual=True)
        init = sample_init(data, (m, m), 1.0, rng)
        lims.append(f3_limit(init.P0, data.y, np.ones(n), (m, m)))
    L = np.asarray(lims)  # (S, 2)
    fin = L[np.isfinite(L)]
    cfg = {"activation": "relu", "data": "orthogonal", "n": n, "m": m, "seeds": len(seeds)}
    if fin.size == 0:
        return CheckResult("KCG-OQ3:limit", math.nan, math.nan, 2.0, config=cfg, outcome="too_short",
                           note="no sign with an active neuron")
    dev = np.abs(fin - 2.0) / 2.0
    worst = float(fin[int(np.argmax(dev))])
    return CheckResult("KCG-OQ3:limit", margin=float(band - dev.max()), measured=worst, bound=2.0,
                       where={"n": n, "m": m}, config=cfg,
                       implied={"SR limit min": float(fin.min()), "SR limit mean": float(fin.mean()),
                                "SR limit max": float(fin.max()), "2n/(n+1) (n_j = n/2)":
                                large_m_limit(n // 2)},
                       note="Lemma F.3's limit on initial patterns alone (no GD run)")


# ---- registration ------------------------------------------------------------------------------------

def _always(cfg: SimConfig, data: object) -> bool:
    return True


register(Claim(
    network="kcg",
    id="KCG-FIG1", paper=PAPER, where="§6, Fig. 1", kind="figure",
    statement="gamma sweep on the §6 mixture (n=10, d=784, mu~N(0,1e-4 I), sigma_p=1, m=100, eta=0.1): "
              "ends-lower: SR(T) decreasing in gamma; decreases-faster: mean of SR over ln t in [0, ln T] "
              "decreasing in gamma; margin = min over consecutive gammas of (SR_k - SR_{k+1}) / "
              "(max - 1) of seed means",
    assumptions="none (the paper's experiment; outside Thm 4.1's regime with the declared C)",
    in_regime=_always, status="measured",
    declared={"gammas": float(len(FIG1_GAMMAS)), "paper steps": float(PAPER_STEPS)},
    sources={"gammas": SOURCES["FIG1_GAMMAS"], "paper steps": SOURCES["PAPER_STEPS"]},
    reading="SGD batch 64 on n=10 for 50 epochs = 50 full-batch GD steps (checked at t=50 and longer); "
            "gamma legend not in the OCR: 0 (ReLU), 0.1, 0.3, 0.5, 0.7, 0.9; sigma0 not given: the "
            "simulator's 1e-4; 'stable rank' read as the whole first layer (both signs stacked), "
            "the per-sign mean of SR(W_j) reported alongside"))

register(Claim(
    network="kcg", activation="leaky_relu",
    id="KCG-FIG23", paper=PAPER, where="§6, Figs. 2-3", kind="figure",
    statement="sigma0 sweep {1e-5, 5e-5, 1e-4, 5e-4, 1e-3} on the §6 mixture (ReLU and leaky 0.1): "
              "SR(T) and its ln-t mean increasing in sigma0; margin as KCG-FIG1",
    assumptions="none (synthetic analogue of the MNIST figures)", in_regime=_always, status="measured",
    declared={"sigmas": float(len(FIG23_SIGMAS)), "gamma (Fig. 3)": FIG23_GAMMA},
    sources={"sigmas": SOURCES["FIG23_SIGMAS"], "gamma (Fig. 3)": SOURCES["FIG23_GAMMA"]},
    reading="MNIST (m=1000, SGD) replaced by the §6 mixture with m=100 and full-batch GD"))

register(Claim(
    network="kcg", activation="relu", regime="kcg", axes=AXES,
    id="KCG-OQ1", paper=PAPER, where="§7", kind="open-question",
    statement="angular speed s = dtheta/dln t of W(t)/||W(t)||_F between checkpoints ~ (ln t)^-beta on "
              "the late window; margin = beta - 1 (>= 0: finite remaining rotation)",
    assumptions="ReLU (the question's case); leaky reported as a control", in_regime=in_kcg_relu_regime,
    status="measured",
    reading="directional convergence read off a finite horizon: beta > 1 is consistent with it, not a "
            "proof; the KKT half of the question is not checked"))

register(Claim(
    network="kcg", activation="relu", regime="kcg", axes=AXES,
    id="KCG-OQ2", paper=PAPER, where="§7", kind="open-question",
    statement="the activation pattern stabilizes: margin = log10(T / t_last) - 1 with t_last the last "
              "step any 1(<w_{j,r}(t), x_i> >= 0) changed (>= 0: no switch in the last decade)",
    assumptions="ReLU", in_regime=in_kcg_relu_regime, status="measured",
    declared={"quiet decades": 1.0},
    sources={"quiet decades": SOURCES["OQ2_QUIET"]},
    reading="'infinitely often' read off a finite run: switches in every late decade (kappa <= 1) "
            "suggest yes, a long quiet tail suggests no"))

register(Claim(
    network="kcg", activation="relu", orthogonal=True,
    id="KCG-OQ3", paper=PAPER, where="§7, Remark 4.4, Lemma F.3", kind="open-question",
    statement="ReLU on orthogonal data: |SR(W_j) - 2| / 2 <= 0.25 at the horizon (OQ3:horizon) and for "
              "Lemma F.3's limit ||A||_F^2/||A||_2^2 on the run's initial pattern (OQ3:limit)",
    assumptions="ReLU, orthogonal data, Thm 4.3's regime", in_regime=in_kcg_orthogonal_relu_regime,
    status="measured", declared={"band": OQ3_BAND},
    sources={"band": SOURCES["OQ3_BAND"]},
    reading="Lemma F.3 says 2 + o(1); its formula averages to 2 n_j / (n_j + 1) for large m, so the "
            "o(1) is in the number n_j of points of the sign (n_j = 1 gives exactly 1)"))
