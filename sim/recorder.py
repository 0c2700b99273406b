"""``sim.Recorder``: record a run from the user's own training loop (``sim.external`` builds the trajectory)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .config import NETWORKS
from .data import Dataset
from .errors import ConfigError, require
from .external import STEP_RULES, _flat_weights
from .trajectory import Trajectory


def from_weights(times: Sequence[int] | np.ndarray, W: np.ndarray, X: np.ndarray, y: np.ndarray,
                 **kwargs: object) -> Trajectory:
    """``Trajectory.from_weights`` as a function (see :func:`sim.external.build` for the arguments)."""
    return Trajectory.from_weights(times, W, X, y, **kwargs)


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
        require(isinstance(per_decade, int | np.integer) and not isinstance(per_decade, bool) and per_decade >= 1,
                "per_decade", "an integer >= 1 (checkpoints per decade of t)", per_decade)
        if checkpoints is not None:
            bad = [c for c in checkpoints if not (isinstance(c, int | np.integer) and not isinstance(c, bool)
                                                  and c >= 0)]
            require(not bad, "checkpoints", "integers >= 0 (steps to keep; 0 and the last step always are)", bad)
        # t = 0 is always kept: W(0) is the initialization every trajectory starts from
        self.wanted = None if checkpoints is None else {0} | {int(c) for c in checkpoints}
        self.per_decade = int(per_decade)
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
        return Trajectory.from_weights(np.array(times, dtype=np.int64), np.stack(weights), self.X, self.y,
                            changes=(self.changes, self.last_change) if every else None, every_step=every,
                            n_changes=np.array(totals) if every else None, **self.kw)  # type: ignore[arg-type]
