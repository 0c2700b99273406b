"""Trajectories from outside the simulator: a user's own training loop, judged by the same checks.

* :func:`build` makes a :class:`~sim.trajectory.Trajectory` from weights recorded at some steps
  (``Trajectory.from_weights`` calls it);
* :class:`~sim.recorder.Recorder` is called by the user's loop (``rec.step(t, W)``) at every step or only at
  checkpoints; it counts activation changes itself when it sees every step and keeps the weights only at
  log-spaced checkpoints (or the ones asked for), so a long run costs little memory.

rho (KCG Def. 5.1) comes from projecting W(t) - W(0) on the span of the x_i (least squares through a QR of
X^T, Z = (W - W0) Q R^{-T}: ill-conditioned data cost cond(X), not cond(G) = cond(X)^2); the rounding this
leaves in rho is bounded from ``extra["rho_kappa"]`` and ``extra["rho_cond"]`` (see ``span_basis``) and the
exact checks add it to their tolerance.  The part of W(t) - W(0) outside the span (which GD never creates,
but SGD with weight decay or another optimizer may) is reported as ``extra["off_span"]`` (its largest
relative size).  What a recorded run does not have is said in ``extra``: ``every_step`` (False: activation
changes are counted between checkpoints only, a lower bound, and the checks that need every step cannot judge),
``estimated`` (nominal values, such as sigma0, estimated from W(0)), ``step_rule`` ("gd" unless the user
says otherwise: "sgd", "momentum", "schedule", ...: the checks then report that the theorem's step rule is
not met).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .config import NETWORKS, SimConfig
from .data import Dataset
from .errors import require
from .gram import fro2_spec2
from .init import Init

STEP_RULES = ("gd", "sgd", "momentum", "schedule", "other")


def span_basis(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(Q, R^{-1}, kappa, cond(X)) of X^T = Q R, for least-squares projections on the span of the x_i (G = R^T R):
    Z = (A Q) R^{-T} solves Z X = A with an error governed by cond(X) = sqrt(cond(G)); going through G^{-1}
    squares it (on 40 of scikit-learn's digits, cond(G) = 2.6e5 made Lemma 5.2's exact update fail by 2666
    tolerances).  kappa_i = G_ii sqrt((G^{-1})_ii) is the norm of the map from a perturbation of w to rho_i;
    with cond(X) it gives the rounding bound the exact checks add (``invariants._internal.tolerance.rho_rounding``).
    """
    Q, R = np.linalg.qr(X.T)  # (d, n), (n, n) upper triangular
    Rinv = np.linalg.solve(R, np.eye(R.shape[0]))  # G^{-1} = R^{-1} R^{-T}
    kappa = np.einsum("id,id->i", X, X) * np.linalg.norm(Rinv, axis=1)  # ||row i of R^{-1}|| = sqrt((G^{-1})_ii)
    sv = np.linalg.svd(R, compute_uv=False)
    return Q, Rinv, kappa, float(sv[0] / sv[-1])


def _project_on_span(A: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Z with Z X = A (least squares on the span of the x_i, :func:`span_basis`), kappa and cond(X)."""
    Q, Rinv, kappa, cond = span_basis(X)
    return (A @ Q) @ Rinv.T, kappa, cond


def _loss_and_derivative(z: np.ndarray, loss: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-example loss and l'(z): logistic log(1 + e^-z), -1/(1 + e^z); exponential e^-z, -e^-z."""
    if loss == "logistic":
        return np.logaddexp(0.0, -z), -0.5 * (1.0 - np.tanh(0.5 * z))  # -1/(1+e^z) without overflow
    e = np.exp(-z)
    return e, -e


def _flat_weights(W: np.ndarray, network: str, param: str = "W") -> np.ndarray:
    """(T, M, d) from (T, 2, m, d) (KCG's notation, j = +1 first) or (T, M, d)."""
    W = np.asarray(W, dtype=np.float64)
    if W.ndim == 4:
        require(W.shape[1] == 2, param, "of shape (T, 2, m, d) or (T, M, d)", W.shape)
        return W.reshape(W.shape[0], 2 * W.shape[2], W.shape[3])
    require(W.ndim == 3, param, "of shape (T, 2, m, d) or (T, M, d)", W.shape)
    return W


def _slope_pattern(P: np.ndarray) -> np.ndarray:
    return P >= 0  # the papers' sigma'(0) = 1


def build(cls: Any, times: Sequence[int] | np.ndarray, W: np.ndarray, X: np.ndarray, y: np.ndarray, *,
                 network: str = "kcg", activation: str = "relu", gamma: float | None = None,
                 eta: float = 0.1, sigma0: float | None = None, loss: str = "logistic", m1: int | None = None,
                 step_rule: str = "gd", changes: tuple[np.ndarray, np.ndarray] | None = None,
                 every_step: bool | None = None, n_changes: np.ndarray | None = None) -> Any:
    """A trajectory of class ``cls`` (``Trajectory``) from recorded weights (``Trajectory.from_weights``).

    times: (T,) strictly increasing integer steps starting at 0 (W(0) is the initialization).
    W: (T, 2, m, d) for KCG's network (j = +1 first), or (T, M, d) (KCG: M = 2m, the positive half first;
        FVB: M = m1 + m2 with ``m1`` positive neurons, default ceil(M/2)).
    X: (n, d) data, y: (n,) labels in {-1, +1}.  network, activation, gamma, loss: as in :class:`SimConfig`.
    eta: the (nominal) step size.  sigma0: the init scale of the theorem; None estimates it as the standard
        deviation of W(0)'s entries (``extra["estimated"]`` says so).
    step_rule: "gd" (full-batch GD with the constant step eta, as the theorems assume) or what the run did.
    changes: ``(changes_flat, last_change_flat)`` counted by a recorder that saw every step; None counts
        them from ``W`` (exactly when ``times`` are every step 0, 1, ..., T, else between checkpoints only).
    """
    t = np.asarray(times)
    require(t.ndim == 1 and t.size >= 1 and np.issubdtype(t.dtype, np.integer), "times",
            "a 1-d sequence of integer steps", getattr(t, "shape", t))
    t = t.astype(np.int64)
    require(int(t[0]) == 0, "times", "starting at 0 (W(0) is the initialization)", int(t[0]))
    require(bool(np.all(np.diff(t) > 0)), "times", "strictly increasing", t[:10].tolist())
    require(network in NETWORKS, "network", f"one of {NETWORKS}", network)
    require(step_rule in STEP_RULES, "step_rule", f"one of {STEP_RULES}", step_rule)
    Wf = _flat_weights(W, network)
    require(Wf.shape[0] == t.size, "W", f"with one weight matrix per time (T = {t.size})", Wf.shape)
    require(bool(np.all(np.isfinite(Wf))), "W", "finite", "non-finite entries")
    data = Dataset.from_X(np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64))
    _, M, d = Wf.shape
    require(d == data.d, "W", f"with d = {data.d} columns (the data's dimension)", Wf.shape)
    estimated = []
    if sigma0 is None:
        sigma0 = float(np.std(Wf[0]))
        estimated.append("sigma0")
        require(sigma0 > 0, "W", "with a nonzero W(0) (or give sigma0)", sigma0)
    if network == "kcg":
        require(M % 2 == 0, "W", "with an even number of neurons for network='kcg' (m of each sign)", M)
        widths = {"m": M // 2}
    else:
        widths = {"m": M, "m1": m1 if m1 is not None else M - M // 2}
    cfg = SimConfig(activation=activation, gamma=gamma, n=data.n, d=d, eta=eta, sigma0=sigma0,
                    steps=int(t[-1]), checkpoints=tuple(int(v) for v in t), network=network, loss=loss,
                    engine="span", **widths)
    a = cfg.second_layer
    slope = cfg.slope
    X64, y64 = data.X, data.y
    assert X64 is not None
    P = np.einsum("tkd,id->tki", Wf, X64)  # (T, M, n)
    with np.errstate(over="ignore", invalid="ignore"):
        f = np.einsum("k,tki->ti", a, np.where(P >= 0, P, slope * P) if activation != "smoothed_leaky"
                      else slope * P + (1 - slope) * np.logaddexp(0.0, P))
        margins = y64[None, :] * f
        per, lprime = _loss_and_derivative(margins, loss)
    Z, kappa, cond_X = _project_on_span(Wf - Wf[0][None], X64)
    rho = Z * np.diag(data.G)[None, None, :]
    inside = np.einsum("tki,id->tkd", Z, X64)
    off = np.linalg.norm((Wf - Wf[0][None]) - inside, axis=(1, 2))
    scale = np.maximum(np.linalg.norm(Wf - Wf[0][None], axis=(1, 2)), np.finfo(float).tiny)
    K = np.einsum("tkd,tld->tkl", Wf, Wf)
    f2s = [fro2_spec2(0.5 * (Kt + Kt.T), cfg.widths) for Kt in K]
    consecutive = bool(np.all(np.diff(t) == 1))
    if every_step is None:
        every_step = consecutive if changes is None else True
    if changes is not None:
        ch, lc = (np.asarray(c, dtype=np.int64) for c in changes)
        require(ch.shape == (M, data.n) and lc.shape == (M, data.n), "changes",
                f"(changes_flat, last_change_flat) of shape {(M, data.n)}", (ch.shape, lc.shape))
    else:
        pat = _slope_pattern(P)
        flips = pat[1:] != pat[:-1]  # (T-1, M, n): a change seen at times[1:]
        ch = flips.sum(axis=0).astype(np.int64)
        if len(t) > 1:
            lc = np.where(flips.any(axis=0), t[1:][::-1][np.argmax(flips[::-1], axis=0)], -1).astype(np.int64)
        else:  # a single checkpoint (W(0) alone): nothing changed
            lc = np.full(ch.shape, -1, dtype=np.int64)
    if n_changes is None:
        pat = _slope_pattern(P)
        n_changes = np.concatenate([[0], np.cumsum((pat[1:] != pat[:-1]).sum(axis=(1, 2)))])
    n_changes = np.asarray(n_changes, dtype=np.int64)
    require(n_changes.shape == t.shape, "n_changes", f"of shape {t.shape}", n_changes.shape)
    extra: dict[str, object] = {"every_step": every_step, "estimated": estimated, "step_rule": step_rule,
                                "off_span": float(np.max(off / scale)), "recorded": True,
                                "rho_kappa": [float(v) for v in kappa], "rho_cond": float(cond_X)}
    if not every_step:
        extra["note"] = ("activation changes counted between checkpoints only (a lower bound): claims about "
                         "every step cannot judge this trajectory")
    return cls(config=cfg, data=data, init=Init.from_weights(Wf[0], data), engine="external", times=t,
                      loss=per.mean(axis=1), margins=margins, lprime=lprime, rho_flat=rho, preact_flat=P,
                      norms2_flat=np.sum(Wf**2, axis=2), fro2=np.array([a for a, _ in f2s]),
                      spec2=np.array([b for _, b in f2s]), changes_flat=ch, last_change_flat=lc,
                      n_changes=n_changes, diverged_at=None, extra=extra)


