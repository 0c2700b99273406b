"""Trajectories from outside the simulator: a user's own training loop, judged by the same checks.

* :func:`from_weights` builds a :class:`~sim.trajectory.Trajectory` from weights recorded at some steps
  (``Trajectory.from_weights`` calls it);
* :class:`Recorder` is called by the user's loop (``rec.step(t, W)``) at every step or only at
  checkpoints; it counts activation changes itself when it sees every step and keeps the weights only at
  log-spaced checkpoints (or the ones asked for), so a long run costs little memory.

rho (KCG Def. 5.1) comes from projecting W(t) - W(0) on the span of the x_i, Z = (W - W0) X^T G^{-1}, as the
dense engine does; the part of W(t) - W(0) outside the span (which GD never creates, but SGD with weight
decay or another optimizer may) is reported as ``extra["off_span"]`` (its largest relative size).  What a
recorded run does not have is said in ``extra``: ``every_step`` (False: activation changes are counted
between checkpoints only, a lower bound, and the checks that need every step cannot judge),
``estimated`` (nominal values, such as sigma0, estimated from W(0)), ``step_rule`` ("gd" unless the user
says otherwise: "sgd", "momentum", "schedule", ...: the checks then report that the theorem's step rule is
not met).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .config import NETWORKS, SimConfig
from .data import Dataset
from .errors import ConfigError, require
from .gram import fro2_spec2
from .init import Init
from .trajectory import Trajectory

STEP_RULES = ("gd", "sgd", "momentum", "schedule", "other")


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


def from_weights(times: Sequence[int] | np.ndarray, W: np.ndarray, X: np.ndarray, y: np.ndarray, *,
                 network: str = "kcg", activation: str = "relu", gamma: float | None = None,
                 eta: float = 0.1, sigma0: float | None = None, loss: str = "logistic", m1: int | None = None,
                 step_rule: str = "gd", changes: tuple[np.ndarray, np.ndarray] | None = None,
                 every_step: bool | None = None, n_changes: np.ndarray | None = None) -> Trajectory:
    """A Trajectory from recorded weights.

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
    Ginv = np.linalg.inv(data.G)
    D = np.einsum("tkd,id->tki", Wf - Wf[0][None], X64)
    Z = D @ Ginv
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
        lc = np.where(flips.any(axis=0), t[1:][::-1][np.argmax(flips[::-1], axis=0)], -1).astype(np.int64)
    if n_changes is None:
        pat = _slope_pattern(P)
        n_changes = np.concatenate([[0], np.cumsum((pat[1:] != pat[:-1]).sum(axis=(1, 2)))])
    n_changes = np.asarray(n_changes, dtype=np.int64)
    require(n_changes.shape == t.shape, "n_changes", f"of shape {t.shape}", n_changes.shape)
    extra: dict[str, object] = {"every_step": every_step, "estimated": estimated, "step_rule": step_rule,
                                "off_span": float(np.max(off / scale)), "recorded": True}
    if not every_step:
        extra["note"] = ("activation changes counted between checkpoints only (a lower bound): claims about "
                         "every step cannot judge this trajectory")
    return Trajectory(config=cfg, data=data, init=Init.from_weights(Wf[0], data), engine="external", times=t,
                      loss=per.mean(axis=1), margins=margins, lprime=lprime, rho_flat=rho, preact_flat=P,
                      norms2_flat=np.sum(Wf**2, axis=2), fro2=np.array([a for a, _ in f2s]),
                      spec2=np.array([b for _, b in f2s]), changes_flat=ch, last_change_flat=lc,
                      n_changes=n_changes, diverged_at=None, extra=extra)


def log_grid_keep(t: int, per_decade: int = 12) -> int:
    """The index of t's log-spaced bin (steps 0..10 each their own; then ``per_decade`` bins per decade)."""
    if t <= 10:
        return t
    return 10 + math.floor(per_decade * (math.log10(t) - 1.0))


class Recorder:
    """Record a run from the user's own training loop, then judge it.

        rec = Recorder(X, y, network="kcg", activation="leaky_relu", gamma=0.1, eta=0.1)
        for t in range(steps + 1):
            rec.step(t, W)          # W as (2, m, d) or (M, d), a numpy array or a torch tensor
            ... one optimizer step ...
        traj = rec.trajectory()

    Called at every step (t = 0, 1, 2, ...), it counts every activation change exactly and keeps W at
    log-spaced checkpoints (about ``per_decade`` per decade, plus the last step), or at ``checkpoints`` when
    given; called only at checkpoints, the trajectory says so (``extra["every_step"]`` False) and the
    claims about every step report that they cannot judge it.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, *, network: str = "kcg", activation: str = "relu",
                 gamma: float | None = None, eta: float = 0.1, sigma0: float | None = None,
                 loss: str = "logistic", m1: int | None = None, step_rule: str = "gd",
                 checkpoints: Sequence[int] | None = None, per_decade: int = 12) -> None:
        self.X = np.asarray(X, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        Dataset.from_X(self.X, self.y)  # validates X and y now, naming them
        self.kw = dict(network=network, activation=activation, gamma=gamma, eta=eta, sigma0=sigma0, loss=loss,
                       m1=m1, step_rule=step_rule)
        require(network in NETWORKS, "network", f"one of {NETWORKS}", network)
        require(step_rule in STEP_RULES, "step_rule", f"one of {STEP_RULES}", step_rule)
        self.wanted = None if checkpoints is None else {int(c) for c in checkpoints}
        self.per_decade = per_decade
        self.times: list[int] = []
        self.weights: list[np.ndarray] = []
        self.last_t: int | None = None
        self.last_W: np.ndarray | None = None
        self.every_step = True
        self.pattern: np.ndarray | None = None
        self.changes: np.ndarray | None = None
        self.last_change: np.ndarray | None = None
        self.total = 0  # activation changes seen so far
        self.totals: list[int] = []  # at the kept checkpoints

    def step(self, t: int, W: object) -> None:
        """Record the weights W(t) (numpy array or torch tensor, (2, m, d) or (M, d))."""
        require(isinstance(t, int | np.integer) and not isinstance(t, bool) and t >= 0, "t", "an integer >= 0", t)
        if hasattr(W, "detach"):  # a torch tensor: no torch import needed here
            W = W.detach().cpu().double().numpy()  # type: ignore[union-attr]
        Wf = _flat_weights(np.asarray(W, dtype=np.float64)[None], str(self.kw["network"]), "W")[0]
        require(Wf.shape[1] == self.X.shape[1], "W", f"with d = {self.X.shape[1]} columns", Wf.shape)
        require(bool(np.all(np.isfinite(Wf))), "W", f"finite at step {t}", "non-finite entries")
        if self.last_t is None:
            require(t == 0, "t", "0 at the first call (W(0) is the initialization)", t)
        else:
            require(t > self.last_t, "t", f"increasing (the last step recorded was {self.last_t})", t)
            require(Wf.shape == self.last_W.shape, "W", f"of the same shape at every step {self.last_W.shape}",
                    Wf.shape)
            if t != self.last_t + 1:
                self.every_step = False
        pat = Wf @ self.X.T >= 0
        if self.pattern is None:
            self.changes = np.zeros(pat.shape, dtype=np.int64)
            self.last_change = np.full(pat.shape, -1, dtype=np.int64)
        else:
            flip = pat != self.pattern
            self.changes += flip
            self.last_change[flip] = t
            self.total += int(flip.sum())
        self.pattern = pat
        keep = (t in self.wanted) if self.wanted is not None else (
            not self.times or log_grid_keep(t, self.per_decade) != log_grid_keep(self.times[-1], self.per_decade))
        if keep:
            self.times.append(int(t))
            self.weights.append(Wf.copy())
            self.totals.append(self.total)
        self.last_t, self.last_W = int(t), Wf.copy()

    def trajectory(self) -> Trajectory:
        """The recorded run as a :class:`Trajectory` (the last step is always a checkpoint)."""
        if self.last_t is None:
            raise ConfigError("Recorder: no step recorded (call rec.step(t, W) from the training loop)")
        times, weights, totals = list(self.times), list(self.weights), list(self.totals)
        if times[-1] != self.last_t:
            times.append(self.last_t)
            weights.append(self.last_W)
            totals.append(self.total)
        every = self.every_step
        return from_weights(np.array(times, dtype=np.int64), np.stack(weights), self.X, self.y,
                            changes=(self.changes, self.last_change) if every else None, every_step=every,
                            n_changes=np.array(totals) if every else None, **self.kw)  # type: ignore[arg-type]
