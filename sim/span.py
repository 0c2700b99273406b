"""Span engine: exact GD on the coefficients (notes §1-3); cost O(M n^2) per step, independent of d."""

from __future__ import annotations

import numpy as np

from . import kernel
from .config import SimConfig
from .data import Dataset
from .driver import drive
from .gram import GramSpectrum, fro2_spec2, weight_gram
from .init import Init
from .simd_wide import HOST_LANES
from .trajectory import Trajectory

ACT_CODES = {"relu": kernel.RELU, "leaky_relu": kernel.LEAKY_RELU, "smoothed_leaky": kernel.SMOOTH_LEAKY}
LOSS_CODES = {"logistic": kernel.LOGISTIC, "exponential": kernel.EXPONENTIAL}


class SpanState:
    """The mutable state of a span-engine run: Z, P and the pattern bookkeeping.

    The kernel's arrays are stored transposed, (n, M) with the neurons innermost (``Zt``, ``Pt``, ...);
    ``Z``, ``Zc``, ``P``, ``act``, ``changes`` and ``last_change`` are (M, n) views of them.
    """

    def __init__(self, cfg: SimConfig, data: Dataset, init: Init) -> None:
        self.cfg, self.data, self.init = cfg, data, init
        M, n = init.P0.shape
        self.a = np.ascontiguousarray(cfg.second_layer)
        self.y = np.ascontiguousarray(data.y)
        self.G = np.ascontiguousarray(data.G)
        self.P0 = init.P0
        self.P0t = np.ascontiguousarray(init.P0.T)
        self.Zt = np.zeros((n, M))
        self.Zct = np.zeros((n, M))  # compensation of the Neumaier sum; the coefficients are Z + Zc
        self.Pt = np.empty((n, M))
        self.lanes = HOST_LANES  # vector width of the step (sim.simd_wide): the numbers do not depend on it
        kernel.preactivations(self.P0t, self.Zt, self.Zct, self.G, self.Pt, self.lanes)
        self.actt = np.empty((n, M), dtype=np.bool_)
        kernel.pattern(self.Pt, self.actt)
        self.changest = np.zeros((n, M), dtype=np.int64)
        self.last_changet = np.full((n, M), -1, dtype=np.int64)
        self.acc = np.zeros(2)  # S = sum_{s<t} G_hat(W(s)), compensated (kernel.run_steps)
        self.t = 0
        self.act_code = ACT_CODES[cfg.activation]
        self.loss_code = LOSS_CODES[cfg.loss]
        self.gamma = cfg.slope
        self._spectrum: GramSpectrum | bool | None = None  # built at the first checkpoint; False: none

    # (M, n) views, in KCG's index order
    Z = property(lambda self: self.Zt.T)
    Zc = property(lambda self: self.Zct.T)
    P = property(lambda self: self.Pt.T)
    act = property(lambda self: self.actt.T)
    changes = property(lambda self: self.changest.T)
    last_change = property(lambda self: self.last_changet.T)

    def refresh(self) -> None:
        """Recompute P from Z (after Z was written from outside, e.g. by the frozen-pattern engine)."""
        kernel.preactivations(self.P0t, self.Zt, self.Zct, self.G, self.Pt, self.lanes)

    def advance(self, n_steps: int) -> int | None:
        """Run ``n_steps`` GD steps; return the divergence step or None."""
        bad = kernel.run_steps(self.P0t, self.G, self.a, self.y, float(self.cfg.eta), self.act_code,
                               self.gamma, self.loss_code, self.Zt, self.Zct, self.Pt, self.actt,
                               self.changest, self.last_changet, self.acc, self.t, n_steps, self.lanes, -1)
        if bad >= 0:
            self.t = int(bad)
            return self.t
        self.t += n_steps
        return None

    def spectrum(self) -> GramSpectrum | None:
        """The checkpoint spectrum helper (built at the first call, one O(M^3) diagonalization), or None
        where G is not positive definite (checkpoints then form W W^T)."""
        if self._spectrum is None:
            self._spectrum = GramSpectrum.from_init(self.init.K0, self.init.P0, self.G, self.cfg.widths) or False
        return self._spectrum or None

    def weight_norms(self, Z: np.ndarray, projections: list[np.ndarray] | None = None,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fro2, spec2, ||w_k||^2) of W = W(0) + Z X: through ``GramSpectrum`` (O(r M n) per checkpoint,
        or less given its ``projections``, after one O(M^3) diagonalization at the first), or by forming
        W W^T where G is not positive definite."""
        spec = self.spectrum()
        if spec is not None:
            return spec.norms(Z, projections)
        K = weight_gram(self.init.K0, self.init.P0, Z, self.G)
        fro2, spec2 = fro2_spec2(K, self.cfg.widths)
        return fro2, spec2, np.diag(K).copy()

    def observe(self, check: bool = True, projections: list[np.ndarray] | None = None,
                ) -> dict[str, np.ndarray] | None:
        """Every checkpoint quantity at the current step, or None if ``check`` and it is not finite.
        ``projections``: as ``weight_norms`` takes them."""
        f = np.empty(self.data.n)
        kernel.outputs(self.Pt, self.a, self.act_code, self.gamma, f)
        margins = self.y * f
        if check and not np.all(np.isfinite(margins)):
            return None
        lo, lp = np.empty_like(margins), np.empty_like(margins)
        kernel.losses(margins, self.loss_code, lo, lp)
        Z = self.Z + self.Zc
        fro2, spec2, norms2 = self.weight_norms(Z, projections)
        obs = {
            "loss": lo.mean(), "margins": margins, "lprime": lp,
            "rho_flat": Z * np.diag(self.G)[None, :], "preact_flat": self.Pt.copy().T,  # P, copied in Pt's order
            "norms2_flat": norms2, "fro2": fro2, "spec2": spec2,
            "n_changes": self.changest.sum(), "cum_G": self.acc[0] + self.acc[1],
        }
        if check and not all(np.all(np.isfinite(v)) for v in obs.values()):
            return None
        return obs


def run_span(cfg: SimConfig, data: Dataset, init: Init) -> Trajectory:
    """The span engine alone, every step."""
    return drive(cfg, data, init, SpanState(cfg, data, init), "span")


def run_auto(cfg: SimConfig, data: Dataset, init: Init) -> Trajectory:
    """The span engine, handing over to the frozen-pattern engine while the pattern stays frozen."""
    from .frozen import AutoState

    return drive(cfg, data, init, AutoState(SpanState(cfg, data, init)), "auto")
