"""Batched span engine: many configurations advanced together, for sweeps and hunts.

The B configurations share the shapes (M neurons, n points), the activation family (ReLU or leaky
ReLU) and the loss; everything else (data G and y, second layer, eta, gamma, initialization) is per
configuration.  Their states are stacked on a leading axis and advanced by one compiled call
(``kernel.run_batch``), which runs the span engine's own step (``kernel.run_steps``) on each: the
results equal the single-configuration engine's bit for bit, and the Python overhead per checkpoint is
paid once for the whole batch.  A configuration whose margins turn non-finite is left at that step and
reported as diverged.

Floating-point work per configuration-step (``flops_per_step``), counted as the vector code of
``sim.simd`` executes it: the pre-activations P = P0 + Z G, 2 M n^2 (one fused multiply-add per term);
the outputs, 3 M n (slope * z and one multiply-add); the coefficient update, 10 M n (two products,
the sum, Knuth's TwoSum for its rounding error, the compensation and Z + Zc).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import kernel
from .config import SimConfig
from .data import Dataset
from .driver import drive
from .init import Init
from .simulate import resolve
from .span import ACT_CODES, LOSS_CODES, SpanState
from .trajectory import Trajectory


def flops_per_step(M: int, n: int) -> int:
    """Floating-point operations of one configuration-step, as counted in the module docstring."""
    return 2 * M * n * n + 3 * M * n + 10 * M * n


class BatchState:
    """B span states stacked on a leading axis; ``view(b)`` is configuration b as a :class:`SpanState`."""

    def __init__(self, cfgs: Sequence[SimConfig], datas: Sequence[Dataset], inits: Sequence[Init]) -> None:
        self.states = [SpanState(c, d, i) for c, d, i in zip(cfgs, datas, inits, strict=True)]
        st = self.states
        self.B = len(st)

        def stack(name: str) -> np.ndarray:
            return np.ascontiguousarray(np.stack([getattr(s, name) for s in st]))

        self.P0t, self.G, self.a, self.y = stack("P0t"), stack("G"), stack("a"), stack("y")
        self.Zt, self.Zct, self.Pt = stack("Zt"), stack("Zct"), stack("Pt")
        self.actt, self.changest, self.last_changet = stack("actt"), stack("changest"), stack("last_changet")
        self.eta = np.array([s.cfg.eta for s in st], dtype=np.float64)
        self.gamma = np.array([s.gamma for s in st], dtype=np.float64)
        self.act_code, self.loss_code = st[0].act_code, st[0].loss_code
        self.diverged = np.full(self.B, -1, dtype=np.int64)
        self.t = 0

    def advance(self, n_steps: int) -> None:
        kernel.run_batch(self.P0t, self.G, self.a, self.y, self.eta, self.gamma, self.act_code,
                         self.loss_code, self.Zt, self.Zct, self.Pt, self.actt, self.changest,
                         self.last_changet, self.diverged, self.t, n_steps)
        self.t += n_steps

    def diverged_at(self, b: int) -> int:
        return int(self.diverged[b])

    def view(self, b: int) -> SpanState:
        s = self.states[b]
        for name in ("Zt", "Zct", "Pt", "actt", "changest", "last_changet"):
            getattr(s, name)[:] = getattr(self, name)[b]
        s.t = self.diverged_at(b) if self.diverged_at(b) >= 0 else self.t
        return s


class _Replay:
    """Feeds the observations recorded for one configuration to :func:`drive`."""

    def __init__(self, obs: dict[int, dict | None], state: SpanState, diverged: int) -> None:
        self.obs, self.state, self.div = obs, state, diverged
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


def simulate_batch(cfgs: Sequence[SimConfig], datas: Sequence[Dataset | None] | None = None,
                   inits: Sequence[Init | None] | None = None) -> list[Trajectory]:
    """Run many configurations together; returns one :class:`Trajectory` per configuration.

    All must share activation (``relu`` or ``leaky_relu``), loss, network widths, n, ``steps`` and
    checkpoints.  Each trajectory equals ``simulate(cfg, data=..., init=...)`` with ``engine="span"``
    to rounding.
    """
    cfgs = list(cfgs)
    if not cfgs:
        return []
    c0 = cfgs[0]
    for c in cfgs:
        same = (c.activation, c.loss, c.widths, c.n, c.steps, tuple(c.checkpoint_steps()))
        ref = (c0.activation, c0.loss, c0.widths, c0.n, c0.steps, tuple(c0.checkpoint_steps()))
        if same != ref:
            raise ValueError("simulate_batch: configurations must share activation, loss, widths, n, "
                             f"steps and checkpoints; {c} differs from {c0}")
    if c0.activation not in ("relu", "leaky_relu"):
        raise ValueError(f"simulate_batch: activation must be 'relu' or 'leaky_relu'; got {c0.activation!r}")
    datas = list(datas) if datas is not None else [None] * len(cfgs)
    inits = list(inits) if inits is not None else [None] * len(cfgs)
    resolved = [resolve(c, data=d, init=i) for c, d, i in zip(cfgs, datas, inits, strict=True)]
    batch = BatchState(cfgs, [r[0] for r in resolved], [r[1] for r in resolved])
    B = len(cfgs)
    obs: list[dict[int, dict | None]] = [{} for _ in range(B)]
    for t_ck in c0.checkpoint_steps():
        if t_ck > batch.t:
            batch.advance(int(t_ck - batch.t))
        for b in range(B):
            if batch.diverged_at(b) < 0:
                obs[b][int(t_ck)] = batch.view(b).observe()
    out = []
    for b in range(B):
        st = batch.view(b)
        tr = drive(cfgs[b], st.data, st.init, _Replay(obs[b], st, batch.diverged_at(b)), "batched")
        out.append(tr)
    return out


__all__ = ["ACT_CODES", "LOSS_CODES", "flops_per_step", "simulate_batch"]
