"""The limit oracle: the direction GD converges to once the activation pattern is frozen
(``../shared/notes/limit-oracle.md``).

With the pattern D[k, i] = sigma'(<w_k, x_i>) fixed (1 or gamma for leaky ReLU, 1 or 0 for ReLU; the papers'
sigma'(0) = 1), the network is linear in W, q_i(W) = y_i f(W, x_i) = <W, A_i> with row k of A_i equal to
y_i a_k D[k, i] x_i, and GD on the logistic (or exponential) loss of a linear model converges in direction
to the hard-margin solution (Soudry, Hoffer, Nacson, Gunasekar, Srebro, JMLR 2018):

    W* = argmin 1/2 ||W||_F^2  s.t.  q_i(W) >= 1,      ||W(t)/||W(t)|| - W*/||W*|| || = O(1 / log t).

In Gram space W* = sum_i lambda_i A_i with lambda >= 0 the solution of the n-dimensional dual
max 1/2-form with K = (y y^T) o G o (D^T diag(a^2) D) (note §3), solved exactly by the active set of
``kkt.solve_nnqp``: the raw coefficients are Z*[k, i] = lambda_i y_i a_k D[k, i] (w*_k = sum_i Z*[k, i] x_i),
the margins q = K lambda (= 1 on the support), the neurons' Gram matrix Z* G Z*^T gives the stable ranks,
and <W(t), W*> = sum_{k,i} <w_k(t), x_i> Z*[k, i] gives GD's angle to W* at every checkpoint exactly, from
the recorded pre-activations, on virtual data too.

``certified`` (note §4): the run did not diverge, no activation changed after ``frozen_since`` < T / 2 (the
engines record every step's changes; at least half the steps without a change), every point has an active
feature (K_ii > 0), the dual solver converged to a finite solution, and W*'s own pattern agrees with D
(D = 1 where <w*_k, x_i> >= 0; for leaky ReLU <w*_k, x_i> <= 0 where D = gamma; for ReLU <= 0 where D = 0),
to rounding.  Then W* is a KKT point of the network's own
max-margin problem and the frozen pattern is self-consistent in the limit.  It is not a proof that no
activation changes after T; it is what the run and the limit together can show.

Networks: KCG's (a_k = +-1/m) and FVB's (+-1/sqrt(m)); ReLU and leaky ReLU.  The simulator has no biases
(a bias would be an appended constant coordinate of x_i: the same dual with G + 1 1^T).  The smoothed
leaky activation is not piecewise linear: no limit of this kind, ``certified`` False with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim import Trajectory
from sim.gram import fro2_spec2

from .fitting import fit_linear, late_window
from .kkt import SolverNotConverged, solve_nnqp
from .tolerance import sum_bound

TINY = np.finfo(float).tiny


@dataclass(frozen=True)
class LimitDirection:
    """GD's limit direction on a trajectory's last frozen pattern (module docstring).

    certified: the pattern was frozen over (frozen_since, T], frozen_since < T / 2, and W* agrees with it
        (else ``why`` says which condition failed and the array fields are empty or nan).
    pattern: (M, n) the slopes D[k, i] at T.  lam: (n,) dual multipliers.  Z: (M, n) raw coefficients of W*.
    stable_rank: (3,) of W*_{+1}, W*_{-1} and the stacked W*.  margins: (n,) q_i(W*) = y_i f(W*, x_i) >= 1.
    angle: (T,) angle (radians) between W(t) and W* at ``traj.times``.
    agreement: min over entries of the signed, normalized pre-activation of W* in the direction D assumes
        (>= -tol: agrees).  kkt: residuals of the dual's KKT conditions (feasibility, complementarity,
        stationarity is exact by construction: W* = sum lambda_i A_i).  frozen_since: the last step at
        which any activation changed (-1: never).  tol: the rounding tolerance used.
    """

    certified: bool
    why: str
    frozen_since: int
    pattern: np.ndarray = field(repr=False)
    lam: np.ndarray = field(repr=False)
    Z: np.ndarray = field(repr=False)
    stable_rank: np.ndarray
    margins: np.ndarray = field(repr=False)
    angle: np.ndarray = field(repr=False)
    agreement: float = math.nan
    kkt: dict[str, float] = field(default_factory=dict)
    tol: float = math.nan
    norm: float = math.nan  # ||W*||_F
    kkt_point: bool = False  # W* agrees with its own pattern: a KKT point of the network's max-margin problem
    settled: int = 0  # pattern rounds ``settle`` needed to reach it (0: the run's own pattern)
    kinks: tuple[tuple[int, int], ...] = ()  # (neuron, point) entries W* holds on the kink, <w*_k, x_i> = 0

    @property
    def support(self) -> np.ndarray:
        """(n,) points with lambda_i > 0 (their margins equal 1)."""
        return self.lam > 0



def _empty(why: str, traj: Trajectory, frozen_since: int, pattern: np.ndarray | None = None) -> LimitDirection:
    M, n = traj.preact_flat.shape[1:] if traj.preact_flat.size else (0, traj.data.n)
    nan3 = np.full(3, np.nan)
    return LimitDirection(False, why, frozen_since, np.zeros((M, n)) if pattern is None else pattern,
                          np.full(n, np.nan), np.zeros((M, n)), nan3, np.full(n, np.nan),
                          np.full(len(traj.times), np.nan))


def slopes(P: np.ndarray, activation: str, gamma: float | None) -> np.ndarray:
    """D = sigma'(P) with the papers' sigma'(0) = 1: 1 where P >= 0, else gamma (leaky) or 0 (ReLU)."""
    low = 0.0 if activation == "relu" else float(gamma)
    return np.where(P >= 0, 1.0, low)


def dual_matrix(G: np.ndarray, y: np.ndarray, a: np.ndarray, D: np.ndarray) -> np.ndarray:
    """K_ik = y_i y_k G_ik sum_k' a_k'^2 D[k', i] D[k', k] (note §3)."""
    H = D.T @ (a[:, None] ** 2 * D)
    K = np.outer(y, y) * G * H
    return 0.5 * (K + K.T)


def limit_from_pattern(G: np.ndarray, y: np.ndarray, a: np.ndarray, D: np.ndarray,
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lambda, Z*, q): the hard-margin solution on the fixed pattern D; raises SolverNotConverged or
    numpy's LinAlgError when the dual cannot be solved (a point without active features)."""
    K = dual_matrix(G, y, a, D)
    lam = solve_nnqp(K)
    Z = lam[None, :] * y[None, :] * a[:, None] * D
    return lam, Z, K @ lam


def limit_with_kinks(G: np.ndarray, y: np.ndarray, a: np.ndarray, D: np.ndarray, kinks: list[tuple[int, int]],
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(lambda, Z*, q, c): the hard-margin solution on the pattern D with the entries ``kinks`` held on the
    kink, <w_k, x_i> = 0 (note section 5).  Their terms vanish from the margins, so their slope is set to 0
    in the features A_i; the equality constraints are eliminated by projecting onto the complement of the
    B_e = e_k x_i^T: the dual matrix is the Schur complement K - C Bg^+ C^T (C_ie = <A_i, B_e>, Bg = <B, B>),
    and W* = sum_i lambda_i A_i - sum_e mu_e B_e with mu = Bg^+ C^T lambda.  c: (len(kinks),) the slope each
    kink entry takes in W*'s stationarity, -mu_e / (lambda_i y_i a_k) (nan where lambda_i = 0): a KKT point of
    the network needs it in the Clarke subdifferential [low, 1] (and mu_e = 0 where lambda_i = 0)."""
    Dk = D.copy()
    for k, i in kinks:
        Dk[k, i] = 0.0
    K = dual_matrix(G, y, a, Dk)
    if not kinks:
        lam = solve_nnqp(K)
        return lam, lam[None, :] * y[None, :] * a[:, None] * Dk, K @ lam, np.zeros(0)
    ks = np.array([k for k, _ in kinks])
    iis = np.array([i for _, i in kinks])
    C = (y[:, None] * a[ks][None, :] * Dk[ks, :].T) * G[:, iis]  # (n, E): <A_i, B_e>
    Bg = (ks[:, None] == ks[None, :]) * G[np.ix_(iis, iis)]
    Bp = np.linalg.pinv(Bg, hermitian=True)
    Ks = K - C @ Bp @ C.T
    if np.any(np.diag(Ks) <= sum_bound(4 * len(kinks), float(np.max(np.abs(np.diag(K)))))):
        raise np.linalg.LinAlgError("a point's active features lie in the span of the kink entries (its "
                                    "diagonal of the Schur complement vanishes)")
    lam = solve_nnqp(0.5 * (Ks + Ks.T))
    mu = Bp @ (C.T @ lam)
    Z = lam[None, :] * y[None, :] * a[:, None] * Dk
    np.subtract.at(Z, (ks, iis), mu)
    q = Ks @ lam
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(lam[iis] > 0, -mu / (lam[iis] * y[iis] * a[ks]), np.nan)
    return lam, Z, q, c


def _signed_agreement(Z: np.ndarray, G: np.ndarray, D: np.ndarray) -> np.ndarray:
    """W*'s pre-activations signed in the direction D assumes (>= 0: agrees), normalized by the largest."""
    Ps = Z @ G
    scale = max(float(np.max(np.abs(Ps))), TINY)
    return np.where(D == 1.0, Ps, -Ps) / scale


def limit_direction(traj: Trajectory, index: int = -1, settle: int = 0) -> LimitDirection:
    """The limit direction W* of GD on ``traj``'s pattern at checkpoint ``index`` (default: the last).

    ``settle`` > 0: when W* disagrees with the run's pattern (GD will still change it), flip the most
    disagreeing entry and solve again, up to ``settle`` rounds, until W* agrees with its own pattern: a KKT point of
    the network's max-margin problem near the run's last pattern (``kkt_point``; ``settled`` counts the
    rounds).  Such a point is what the run's region leads to, not a certified limit of GD (``certified``
    stays False: whether GD reaches it is a measured question)."""
    if isinstance(settle, bool) or not isinstance(settle, int | np.integer) or settle < 0:
        raise ValueError(f"settle must be an integer >= 0 (rounds of flipping a disagreeing entry); got {settle!r}")
    T_n = len(traj.times)
    if isinstance(index, bool) or not isinstance(index, int | np.integer) or (T_n and not -T_n <= index < T_n):
        raise ValueError(f"index must be an integer checkpoint index in [-{T_n}, {T_n - 1}]; got {index!r}")
    cfg, data = traj.config, traj.data
    frozen_since = int(traj.last_change_flat.max()) if traj.last_change_flat.size else -1
    if cfg.activation not in ("relu", "leaky_relu"):
        return _empty(f"activation {cfg.activation!r} is not piecewise linear: no fixed-pattern limit", traj,
                      frozen_since)
    if traj.diverged or len(traj.times) == 0:
        return _empty("the run diverged", traj, frozen_since)
    T = int(traj.times[index])
    D = slopes(traj.preact_flat[index], cfg.activation, cfg.gamma)
    a = np.asarray(cfg.second_layer, dtype=float)
    G, y = data.G, data.y
    M, n = D.shape
    tol = sum_bound(4 * M * n, 1.0)
    low = 0.0 if cfg.activation == "relu" else float(cfg.gamma)
    rounds = 0
    first_disagreement = ""
    flipped: set[tuple[int, int]] = set()
    kinks: list[tuple[int, int]] = []  # entries that disagree with either slope: held on the kink (note §5)
    clarke = 0.0
    while True:
        Dk = D.copy()
        for k, i in kinks:
            Dk[k, i] = 0.0
        if np.any(np.diag(dual_matrix(G, y, a, Dk)) <= 0):
            dead = np.flatnonzero(np.diag(dual_matrix(G, y, a, Dk)) <= 0).tolist()
            return _empty(f"points {dead} have no active feature on the pattern at t = {T}"
                          f"{f' after {rounds} settling rounds' if rounds else ''} (ReLU: every neuron is off on "
                          "them): no margin can grow there", traj, frozen_since, D)
        try:
            lam, Z, q, c = limit_with_kinks(G, y, a, D, kinks)
        except (SolverNotConverged, np.linalg.LinAlgError) as e:
            return _empty(f"the dual could not be solved: {e}", traj, frozen_since, D)
        if not (np.all(np.isfinite(lam)) and np.all(np.isfinite(Z)) and np.all(np.isfinite(q))):
            return _empty("the dual's solution is not finite", traj, frozen_since, D)
        signed = _signed_agreement(Z, G, D)
        for k, i in kinks:
            signed[k, i] = np.inf
        agreement = float(signed.min())
        # a kink entry's slope must lie in the Clarke subdifferential [low, 1]; where lambda_i = 0 its
        # coefficient Z[k, i] = -mu_e must vanish (stationarity: w_k = sum_i lambda_i y_i a_k c_ki x_i)
        zscale = max(float(np.max(np.abs(Z))), TINY)
        viol = np.array([max(low - ce, ce - 1.0) if not np.isnan(ce) else abs(Z[k, i]) / zscale
                         for ce, (k, i) in zip(c, kinks, strict=True)])
        clarke = float(np.max(viol, initial=0.0))
        if agreement < -tol and not first_disagreement:
            k, i = np.unravel_index(int(np.argmin(signed)), signed.shape)
            first_disagreement = (f"W*'s own pattern disagrees with D at neuron {int(k)}, point {int(i)} "
                                  f"(normalized pre-activation {agreement:+.3g})")
        if (agreement >= -tol and clarke <= tol) or rounds >= settle:
            break
        rounds += 1
        if agreement < -tol:
            k, i = (int(v) for v in np.unravel_index(int(np.argmin(signed)), signed.shape))  # the worst entry
            if (k, i) in flipped:
                kinks.append((k, i))  # it disagrees with either slope: hold it on the kink
            else:
                flipped.add((k, i))
                D = D.copy()
                D[k, i] = low if D[k, i] == 1.0 else 1.0
        else:  # release the kink entry whose slope left [low, 1] (or is nonzero off the support)
            e = int(np.argmax(viol))
            k, i = kinks.pop(e)
            points_up = c[e] > 1.0 if not np.isnan(c[e]) else -Z[k, i] * y[i] * a[k] < 0  # the sign it points to
            D = D.copy()
            D[k, i] = 1.0 if points_up else low
    Kw = Z @ G @ Z.T
    Kw = 0.5 * (Kw + Kw.T)
    fro2, spec2 = fro2_spec2(Kw, cfg.widths)
    with np.errstate(divide="ignore", invalid="ignore"):
        sr = fro2 / spec2
    norm2 = float(fro2[2])
    # GD's angle to W*: <W(t), W*> = sum_{k,i} P(t)[k, i] Z*[k, i]
    inner = np.einsum("tki,ki->t", traj.preact_flat, Z)
    cos = inner / np.sqrt(np.maximum(traj.fro2[:, 2], TINY) * max(norm2, TINY))
    angle = np.arccos(np.clip(cos, -1.0, 1.0))
    qscale = max(float(np.max(np.abs(q))), 1.0)
    kkt = {"feasibility": float(max(0.0, 1.0 - q.min())), "clarke": clarke,
           "complementarity": float(np.max(np.abs(lam * (q - 1.0)))) / qscale,
           "support": int((lam > 0).sum()), "low_slope": low}
    reasons = []
    if traj.extra.get("every_step") is False:
        reasons.append("the run was recorded at checkpoints only: a change between checkpoints may be missed, so "
                       "the pattern cannot be certified frozen")
    if frozen_since >= T // 2:  # frozen for at least the second half of the steps, not one step
        reasons.append(f"an activation changed at step {frozen_since}, in the second half of the run "
                       f"(T = {T}): not frozen long enough to certify")
    is_kkt = agreement >= -tol and clarke <= tol
    if first_disagreement:
        if is_kkt:
            tail = (f"; settled after {rounds} rounds to a KKT point of the network's max-margin problem"
                    + (f" with {len(kinks)} entries on the kink" if kinks else ""))
        else:
            tail = f"; not settled in {rounds} rounds" if settle else ""
        reasons.append(first_disagreement + tail)
    tol_kkt = sum_bound(4 * n, qscale)
    if kkt["feasibility"] > tol_kkt or kkt["complementarity"] > tol_kkt:
        reasons.append(f"the dual's KKT conditions fail: {kkt}")
    return LimitDirection(certified=not reasons, why="; ".join(reasons) or
                          f"pattern frozen since step {frozen_since} < T = {T}; W* agrees with it",
                          frozen_since=frozen_since, pattern=D, lam=lam, Z=Z, stable_rank=sr, margins=q,
                          angle=angle, agreement=agreement, kkt=kkt, tol=tol,
                          norm=math.sqrt(max(norm2, 0.0)), kkt_point=is_kkt, settled=rounds,
                          kinks=tuple(kinks))


def approach(traj: Trajectory, lim: LimitDirection) -> dict[str, float]:
    """GD's approach to W*: the angle at T and the fitted exponent of angle ~ (log t)^{-beta} late."""
    w = late_window(traj.times, frac=0.5, t_min=2) & np.isfinite(lim.angle) & (lim.angle > 0)
    out = {"angle(T)": float(lim.angle[-1])}
    if w.sum() >= 4:
        out["beta(angle)"] = -fit_linear(np.log(np.log(traj.times[w].astype(float))), np.log(lim.angle[w]))[1]
    return out
