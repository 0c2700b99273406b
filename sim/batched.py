"""Batched span engine: many configurations advanced together, for sweeps and hunts.

The B configurations share the shapes (M neurons, n points), the activation family (ReLU or leaky
ReLU) and the loss; everything else (data G and y, second layer, eta, gamma, initialization) is per
configuration.  Their states are stacked on a leading axis and advanced by one compiled call
(``kernel.run_batch``), which runs the span engine's own step (``kernel.run_steps``) on each: the
results equal the single-configuration engine's bit for bit, and the Python overhead per checkpoint is
paid once for the whole batch.  With ``threads`` > 1 the configurations are shared among numba's threads
(``kernel.run_batch_threads``), one configuration per thread at a time: the same numbers.  A
configuration whose margins turn non-finite is left at that step and reported as diverged.  (On one core the
batch does the same arithmetic as the configurations one after the other, at about the same rate: the
README's scaling block measures both.)

Floating-point work per configuration-step (``flops_per_step``), counted as the vector code of
``sim.simd`` executes it: the pre-activations P = P0 + Z G, 2 M n^2 (one fused multiply-add per term);
the outputs, 3 M n (slope * z and one multiply-add); the coefficient update, 10 M n (two products,
the sum, Knuth's TwoSum for its rounding error, the compensation and Z + Zc).
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np

from . import kernel
from .config import SimConfig
from .data import Dataset
from .driver import drive
from .frozen import AutoState
from .frozen_lanes import advance_together
from .init import Init
from .simd_wide import HOST_LANES
from .simulate import resolve, simulate
from .span import ACT_CODES, LOSS_CODES, SpanState
from .trajectory import Trajectory


def check_threads(threads: int) -> int:
    """``threads`` must be an integer from 1 to numba's thread count (``NUMBA_NUM_THREADS``)."""
    top = numba.config.NUMBA_NUM_THREADS
    if isinstance(threads, bool) or not isinstance(threads, int | np.integer) or not 1 <= threads <= top:
        raise ValueError(f"threads must be an integer from 1 to {top} (NUMBA_NUM_THREADS); got {threads!r}")
    return int(threads)


def flops_per_step(M: int, n: int) -> int:
    """Floating-point operations of one configuration-step, as counted in the module docstring."""
    return 2 * M * n * n + 3 * M * n + 10 * M * n


class BatchState:
    """B span states stacked on a leading axis; ``view(b)`` is configuration b as a :class:`SpanState`."""

    def __init__(self, cfgs: Sequence[SimConfig], datas: Sequence[Dataset], inits: Sequence[Init],
                 threads: int = 1) -> None:
        self.threads = check_threads(threads)
        self.states = [SpanState(c, d, i) for c, d, i in zip(cfgs, datas, inits, strict=True)]
        st = self.states
        self.B = len(st)

        def stack(name: str) -> np.ndarray:
            return np.ascontiguousarray(np.stack([getattr(s, name) for s in st]))

        self.P0t, self.G, self.a, self.y = stack("P0t"), stack("G"), stack("a"), stack("y")
        self.Zt, self.Zct, self.Pt = stack("Zt"), stack("Zct"), stack("Pt")
        self.actt, self.changest, self.last_changet = stack("actt"), stack("changest"), stack("last_changet")
        self.acc = stack("acc")
        self.eta = np.array([s.cfg.eta for s in st], dtype=np.float64)
        self.gamma = np.array([s.gamma for s in st], dtype=np.float64)
        self.act_code, self.loss_code = st[0].act_code, st[0].loss_code
        self.diverged = np.full(self.B, -1, dtype=np.int64)
        self.skip = np.zeros(self.B, dtype=np.bool_)  # configurations taken out of the batch
        self.lanes = HOST_LANES  # vector width (sim.simd_wide); the numbers do not depend on it
        self.t = 0

    def advance(self, n_steps: int) -> None:
        args = (self.P0t, self.G, self.a, self.y, self.eta, self.gamma, self.act_code, self.loss_code, self.Zt,
                self.Zct, self.Pt, self.actt, self.changest, self.last_changet, self.acc, self.diverged,
                self.skip, self.t, n_steps, self.lanes)
        if self.threads == 1:  # numba's thread pool is not touched (nor started)
            kernel.run_batch(*args)
        else:
            before = numba.get_num_threads()
            numba.set_num_threads(self.threads)
            try:
                kernel.run_batch_threads(*args)
            finally:
                numba.set_num_threads(before)
        self.t += n_steps

    def quiet_enough(self, window: int, max_free: float) -> np.ndarray:
        """Per configuration: at most ``max_free`` of its (k, i) entries changed in the last ``window``
        steps (the frozen-pattern engine's entry test, ``sim.frozen.AutoState``)."""
        changed = self.last_changet > self.t - window
        return changed.mean(axis=(1, 2)) <= max_free

    def diverged_at(self, b: int) -> int:
        return int(self.diverged[b])

    def view(self, b: int) -> SpanState:
        s = self.states[b]
        for name in ("Zt", "Zct", "Pt", "actt", "changest", "last_changet", "acc"):
            getattr(s, name)[:] = getattr(self, name)[b]
        s.t = self.diverged_at(b) if self.diverged_at(b) >= 0 else self.t
        return s


class _Replay:
    """Feeds the observations recorded for one configuration to :func:`drive`."""

    def __init__(self, obs: dict[int, dict | None], state: SpanState, diverged: int,
                 auto: AutoState | None = None) -> None:
        self.obs, self.state, self.div, self.auto = obs, state, diverged, auto
        self.t = 0
        self.changes, self.last_change = state.changes, state.last_change

    def advance(self, n_steps: int) -> int | None:
        if 0 <= self.div <= self.t + n_steps:
            self.t = self.div
            return self.div
        self.t += n_steps
        return None

    def observe(self, check: bool = True) -> dict | None:
        o = self.obs.get(self.t)
        return o if (o is not None or check) else self.state.observe(check=False)

    def info(self) -> dict[str, object]:
        return self.auto.info() if self.auto is not None else {}


def simulate_batch(cfgs: Sequence[SimConfig], datas: Sequence[Dataset | None] | None = None,
                   inits: Sequence[Init | None] | None = None, *, engine: str = "span",
                   quiet: int = 64, max_free: float = 0.25, threads: int = 1) -> list[Trajectory]:
    """Run many configurations together; returns one :class:`Trajectory` per configuration.

    All must share activation (``relu`` or ``leaky_relu``), loss, network widths, n, ``steps`` and
    checkpoints.  ``engine="span"``: every configuration on the batched span engine; each trajectory
    equals ``simulate(cfg, data=..., init=..., engine="span")`` bit for bit.  ``engine="auto"``: the
    batch runs on the batched span engine in windows of ``quiet`` steps (doubling, up to 2^14); a
    configuration in which at most ``max_free`` of the entries changed in the last window leaves the
    batch and goes on on the auto engine (``sim.frozen.AutoState``: frozen-pattern engine with
    free entries, hand-backs), the configurations whose patterns froze entirely stepping together, one per
    vector lane (``sim.frozen_lanes.advance_together``); other activations run one after the other
    through ``simulate``.  Either way each trajectory equals its single run to rounding (the lanes are
    the single frozen-pattern kernel bit for bit; a configuration leaves the batch when the batch's window
    ends, not when its single run would enter the frozen engine, hence rounding).

    ``threads`` (1 to ``NUMBA_NUM_THREADS``): the batched span engine shares the configurations among
    this many threads (``kernel.run_batch_threads``); the numbers do not depend on it.
    """
    cfgs = list(cfgs)
    if not cfgs:
        return []
    check_threads(threads)
    if engine not in ("span", "auto"):
        raise ValueError(f"simulate_batch: engine must be 'span' or 'auto'; got {engine!r}")
    c0 = cfgs[0]
    for c in cfgs:
        same = (c.activation, c.loss, c.widths, c.n, c.steps, tuple(c.checkpoint_steps()))
        ref = (c0.activation, c0.loss, c0.widths, c0.n, c0.steps, tuple(c0.checkpoint_steps()))
        if same != ref:
            raise ValueError("simulate_batch: configurations must share activation, loss, widths, n, "
                             f"steps and checkpoints; {c} differs from {c0}")
    datas = list(datas) if datas is not None else [None] * len(cfgs)
    inits = list(inits) if inits is not None else [None] * len(cfgs)
    if c0.activation not in ("relu", "leaky_relu"):
        if engine == "auto":  # no batched kernel (nor frozen pattern) for it: one run after the other
            return [simulate(c, data=d, init=i) for c, d, i in zip(cfgs, datas, inits, strict=True)]
        raise ValueError(f"simulate_batch: activation must be 'relu' or 'leaky_relu'; got {c0.activation!r}")
    resolved = [resolve(c, data=d, init=i) for c, d, i in zip(cfgs, datas, inits, strict=True)]
    batch = BatchState(cfgs, [r[0] for r in resolved], [r[1] for r in resolved], threads=threads)
    B = len(cfgs)
    obs: list[dict[int, dict | None]] = [{} for _ in range(B)]
    autos: dict[int, AutoState] = {}
    diverged = np.full(B, -1, dtype=np.int64)
    window = quiet
    for t_ck in c0.checkpoint_steps():
        while batch.t < t_ck and not np.all(batch.skip | (batch.diverged >= 0)):
            k = min(t_ck - batch.t, window) if engine == "auto" else t_ck - batch.t
            batch.advance(k)
            if engine == "auto" and batch.t >= quiet:
                leave = batch.quiet_enough(min(window, batch.t), max_free) & ~batch.skip & (batch.diverged < 0)
                for b in np.flatnonzero(leave):
                    autos[b] = AutoState(batch.view(b), quiet=quiet, max_free=max_free)
                    autos[b].span_run = quiet  # it has run a quiet window: enter at once
                    autos[b].budget += batch.t * autos[b].span_ns  # its span steps' share (x SHARE)
                    batch.skip[b] = True
                window = min(2 * window, 2**14)
        batch.t = max(batch.t, t_ck)  # all left the batch: its clock follows the checkpoints
        alive = [b for b in sorted(autos) if diverged[b] < 0]
        for idx, bad in advance_together([autos[b] for b in alive], int(t_ck)).items():
            diverged[alive[idx]] = bad
        for b in range(B):
            if b in autos:
                if diverged[b] < 0:
                    obs[b][int(t_ck)] = autos[b].observe()
            elif batch.diverged_at(b) < 0:
                obs[b][int(t_ck)] = batch.view(b).observe()
    out = []
    for b in range(B):
        st = autos[b].span if b in autos else batch.view(b)
        div = int(diverged[b]) if b in autos else batch.diverged_at(b)
        tr = drive(cfgs[b], st.data, st.init, _Replay(obs[b], st, div, autos.get(b)), f"batched-{engine}")
        out.append(tr)
    return out


__all__ = ["ACT_CODES", "LOSS_CODES", "flops_per_step", "simulate_batch"]
