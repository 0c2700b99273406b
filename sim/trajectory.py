"""What a run records: a :class:`Trajectory`.

Arrays over checkpoints have a leading axis T (``times``).  Neurons are stored flat (M = m1 + m2,
positive block first); the ``(…, 2, m, …)`` views used in KCG's notation (index 0 is j = +1, index 1 is
j = -1) exist when both signs have the same width, which is always the case for ``network="kcg"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .data import Dataset
from .init import Init

if TYPE_CHECKING:
    from .config import SimConfig


@dataclass
class Trajectory:
    """A GD run at its checkpoints plus every-step activation-change records.

    Attributes
    ----------
    times: (T,) recorded steps; 0 and ``config.steps`` unless the run diverged.
    loss: (T,) L_S(W(t)).
    margins: (T, n) y_i f(W(t), x_i).
    lprime: (T, n) l'_i(t) = l'(y_i f(W(t), x_i)).
    rho_flat: (T, M, n) signed coefficients of Def. 5.1: w_k(t) = w_k(0) + sum_i rho[k, i] x_i / ||x_i||^2.
    preact_flat: (T, M, n) <w_k(t), x_i>.
    norms2_flat: (T, M) ||w_k(t)||^2.
    fro2, spec2: (T, 3) squared Frobenius and spectral norms of W_{+1}, W_{-1} and the stacked W.
    changes_flat: (M, n) number of steps t at which 1(<w_k(t), x_i> >= 0) differed from step t - 1.
    last_change_flat: (M, n) the last such step, -1 if the pattern of (k, i) never changed.
    n_changes: (T,) total number of activation changes over all (k, i) in steps 1..t.
    cum_G: (T,) S(t) = sum_{s<t} G_hat(W(s)), G_hat = (1/n) sum_i -l'(y_i f_i), accumulated at every step
        inside the span and frozen-pattern engines (compensated); None for runs that do not record it.
    diverged_at: the step at which a margin or l' became non-finite, else None.
    """

    config: SimConfig
    data: Dataset
    init: Init
    engine: str
    times: np.ndarray
    loss: np.ndarray
    margins: np.ndarray
    lprime: np.ndarray
    rho_flat: np.ndarray
    preact_flat: np.ndarray
    norms2_flat: np.ndarray
    fro2: np.ndarray
    spec2: np.ndarray
    changes_flat: np.ndarray
    last_change_flat: np.ndarray
    n_changes: np.ndarray | None = None
    cum_G: np.ndarray | None = None
    diverged_at: int | None = None
    extra: dict[str, object] = field(default_factory=dict)

    # ---- shape helpers -------------------------------------------------------------------------
    @property
    def widths(self) -> tuple[int, int]:
        return self.config.widths

    @property
    def m(self) -> int:
        m1, m2 = self.widths
        if m1 != m2:
            raise ValueError(f"the (2, m, ...) views need m1 == m2; this run has m1={m1}, m2={m2}: "
                             "use the *_flat arrays and Trajectory.sign_slice(j)")
        return m1

    def sign_slice(self, j: int) -> slice:
        """Neuron indices of sign j in the flat arrays."""
        m1, m2 = self.widths
        if j == 1:
            return slice(0, m1)
        if j == -1:
            return slice(m1, m1 + m2)
        raise ValueError(f"j must be +1 or -1; got {j!r}")

    def _by_sign(self, a: np.ndarray, axis: int) -> np.ndarray:
        m = self.m
        shape = (*a.shape[:axis], 2, m, *a.shape[axis + 1:])
        return a.reshape(shape)

    # ---- the interface of issue 2 ----------------------------------------------------------------
    @property
    def rho(self) -> np.ndarray:
        """(T, 2, m, n) signed coefficients rho_{j,r,i}(t)."""
        return self._by_sign(self.rho_flat, 1)

    @property
    def rho_bar(self) -> np.ndarray:
        """rho * 1(rho >= 0) (Def. 5.1)."""
        r = self.rho
        return np.where(r >= 0, r, 0.0)

    @property
    def rho_und(self) -> np.ndarray:
        """rho * 1(rho <= 0) (Def. 5.1)."""
        r = self.rho
        return np.where(r <= 0, r, 0.0)

    @property
    def preact(self) -> np.ndarray:
        """(T, 2, m, n) <w_{j,r}(t), x_i>."""
        return self._by_sign(self.preact_flat, 1)

    @property
    def neuron_norms(self) -> np.ndarray:
        """(T, 2, m) ||w_{j,r}(t)||_2."""
        return np.sqrt(self._by_sign(self.norms2_flat, 1))

    @property
    def stable_rank(self) -> np.ndarray:
        """(T, 2) ||W_j||_F^2 / ||W_j||_2^2 per sign (index 0: j = +1)."""
        return self.fro2[:, :2] / self.spec2[:, :2]

    @property
    def stable_rank_stacked(self) -> np.ndarray:
        """(T,) stable rank of the whole first layer W (both signs stacked)."""
        return self.fro2[:, 2] / self.spec2[:, 2]

    @property
    def activation_changes(self) -> np.ndarray:
        """(2, m, n) number of steps at which the activation of (j, r) on x_i changed."""
        return self._by_sign(self.changes_flat, 0)

    @property
    def last_change(self) -> np.ndarray:
        """(2, m, n) last step at which the activation of (j, r) on x_i changed (-1: never)."""
        return self._by_sign(self.last_change_flat, 0)

    @property
    def pattern_frozen_at(self) -> int:
        """The first step from which no activation changed up to ``times[-1]`` (0 if none ever did)."""
        return int(max(0, self.last_change_flat.max(initial=-1)))

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def outputs(self) -> np.ndarray:
        """(T, n) f(W(t), x_i)."""
        return self.margins * self.data.y[None, :]

    def weights(self, index: int) -> np.ndarray:
        """W(t) at checkpoint ``index`` as (M, d), reconstructed by Def. 5.1 (concrete data only)."""
        if self.data.X is None or self.init.W0 is None:
            raise ValueError("weights() needs concrete data X and W0; this run is virtual")
        Z = self.rho_flat[index] / self.data.norms2[None, :]
        return self.init.W0 + Z @ self.data.X

    # ---- runs from outside, and saved runs ---------------------------------------------------------
    @classmethod
    def from_weights(cls, times: np.ndarray, W: np.ndarray, X: np.ndarray, y: np.ndarray,
                     **kwargs: object) -> Trajectory:
        """A trajectory from weights recorded by the user's own loop (arguments: :func:`sim.external.build`)."""
        from .external import build

        return build(cls, times, W, X, y, **kwargs)  # type: ignore[arg-type]

    def save(self, path: str, overwrite: bool = False) -> object:
        """Write the run as ``.npz`` + JSON metadata (never pickle; never overwrites): :func:`sim.storage.save`."""
        from .storage import save

        return save(self, path, overwrite)

    @classmethod
    def load(cls, path: str) -> Trajectory:
        """Read a run written by :meth:`save`; a truncated or altered file is an error naming it."""
        from .storage import load

        return load(cls, path)

    def summary_rows(self) -> list[dict[str, float]]:
        """One row per checkpoint: the figures the main command prints."""
        rows = []
        for k, t in enumerate(self.times):
            rows.append({
                "t": int(t),
                "loss": float(self.loss[k]),
                "min margin": float(self.margins[k].min()),
                "max/min margin": float(self.margins[k].max() / self.margins[k].min())
                if self.margins[k].min() > 0 else float("nan"),
                "SR(W+1)": float(self.fro2[k, 0] / self.spec2[k, 0]),
                "SR(W-1)": float(self.fro2[k, 1] / self.spec2[k, 1]),
                "SR(W)": float(self.fro2[k, 2] / self.spec2[k, 2]),
                "activation changes <= t": int(self.n_changes[k]) if self.n_changes is not None else -1,
            })
        return rows
