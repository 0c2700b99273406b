"""Fully frozen patterns of many configurations stepped together, one configuration per vector lane.

A frozen-pattern step with no free entries (``sim.frozen_kernel._steps_frozen``) is a short dependent
chain -- the margins of step t need S(t), S(t + 1) needs the margins' n loss derivatives -- so one
configuration leaves most of the core idle: it runs at about 40% of its latency floor
(``benchmarks/frozen_floor.py``).  L configurations of the same n and loss have independent chains;
laid out in chunks of 8 with the configuration innermost (entry (i, lane) of a chunk at 8 i + lane),
every operation of the step is one 8-wide vector operation over a chunk's lanes, and the core overlaps
the chains.

Per lane the operations are ``_steps_frozen``'s, in its order and without fused multiply-adds (neither
kernel allows contraction):

    margins_i = (m0_i + sum_i' Mm[i, i'] Seff_i') + 0.0        (i' in order),
    l'_i      = -(exp(-|z|) if z >= 0 else 1) / (1 + exp(-|z|))  (logistic; -exp(-z) exponential),
    x_i       = -(eta / n) l'_i,   S_i += x_i by Knuth's TwoSum into Sc_i,   Seff_i = S_i + Sc_i,

with the exps by ``sim.vexp`` (lane-wise: the same bits whatever lane an entry sits in), so every lane
is bit for bit the single-configuration kernel on that configuration (tested).  A lane whose margins or
loss derivatives turn non-finite stops there, its state left before that step, as ``_steps_frozen``
leaves it; the others go on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from . import kernel
from .frozen import BLOCK as MIN_BLOCK
from .frozen import MAX_BLOCK, AutoState
from .frozen_kernel import _certified
from .simd import _F64, _I64, _c, _require_c_arrays, _vptr
from .vexp import LIMIT, _vexp8

_V8 = ir.VectorType(_F64, 8)


W = 8  # lanes per chunk: one 8-wide vector (two 4-wide ones where the machine has no AVX-512)


@intrinsic
def _margins8(typingctx, m0, MmT, Seff, marg, n):  # type: ignore[no-untyped-def]
    """marg[i] = (m0[i] + sum_i' MmT[i', i] * Seff[i']) + 0.0 for the 8 lanes of one chunk, each entry
    an 8-vector (flat, entry (i, lane) at 8 i + lane); the sum over i' in order, a product then an
    add (no fused multiply-add: ``_steps_frozen``'s operations).  Rows i run four at a time (four
    independent chains)."""
    _require_c_arrays("_margins8", m0=m0, MmT=MmT, Seff=Seff, marg=marg)

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        m0p, mp, sp, op = (context.make_array(sig.args[j])(context, builder, args[j]).data for j in range(4))
        nn = args[4]

        def at(i: ir.Value) -> ir.Value:
            return builder.mul(i, _c(_I64, W))

        def rows(i0: ir.Value, g: int) -> None:
            ii = [builder.add(i0, _c(_I64, r)) for r in range(g)]
            accs = [cgutils.alloca_once_value(builder, builder.load(_vptr(builder, m0p, at(i), _V8), align=8))
                    for i in ii]
            with cgutils.for_range(builder, nn) as loop:
                ip = loop.index
                sv = builder.load(_vptr(builder, sp, at(ip), _V8), align=8)
                base = builder.mul(ip, nn)
                for acc, i in zip(accs, ii, strict=True):
                    mm = builder.load(_vptr(builder, mp, at(builder.add(base, i)), _V8), align=8)
                    builder.store(builder.fadd(builder.load(acc), builder.fmul(mm, sv)), acc)
            for acc, i in zip(accs, ii, strict=True):
                z = builder.fadd(builder.load(acc), ir.Constant(_V8, [0.0] * W))
                builder.store(z, _vptr(builder, op, at(i), _V8), align=8)

        groups = builder.udiv(nn, _c(_I64, 4))
        with cgutils.for_range(builder, groups) as loop:
            rows(builder.mul(loop.index, _c(_I64, 4)), 4)
        with cgutils.for_range_slice(builder, builder.mul(groups, _c(_I64, 4)), nn, _c(_I64, 1), inc=True) as (i, _):
            rows(i, 1)
        return context.get_dummy_value()

    return types.void(m0, MmT, Seff, marg, types.intp), codegen


@njit(cache=True)
def _chunk_steps(m0: np.ndarray, MmT: np.ndarray, stepv: np.ndarray, logistic: bool, S: np.ndarray,
                 Sc: np.ndarray, absinc: np.ndarray, n_steps: int, done: np.ndarray) -> None:
    """``n_steps`` steps of one chunk of 8 lanes (flat arrays, entry (i, lane) at 8 i + lane; ``stepv``
    holds each lane's -(eta / n) at its entries, 0 on padding lanes, which never step).  ``done`` (8)
    receives the steps each lane did.  A stopped lane computes zeros from then on (finite, and never
    through exp's scalar fix-up) and is never written back."""
    N = S.shape[0]
    n = N // W
    Seff = np.empty(N)
    marg = np.empty(N)
    lp = np.empty(N)
    xe = np.empty(N)
    ex = np.empty(N)
    live = np.ones(N, dtype=np.bool_)
    stopped = 0
    for b in range(W):
        done[b] = n_steps
        if stepv[b] == 0.0:  # a padding lane (eta > 0 for every configuration): stopped from the start
            stopped += 1
    for e in range(N):
        Seff[e] = S[e] + Sc[e]
        live[e] = stepv[e % W] != 0.0
    for s in range(n_steps):
        _margins8(m0, MmT, Seff, marg, n)
        outside = False
        for e in range(N):  # branch-free loops (vectorized); NaN fails every comparison
            z = marg[e] if live[e] else 0.0  # a stopped lane computes zeros (finite, inside [-700, 700])
            marg[e] = z
            x = -abs(z) if logistic else -z
            xe[e] = x
            outside |= not ((x >= -LIMIT) & (x <= LIMIT))
        for lo in range(0, N, W):
            _vexp8(xe, ex, lo)
        if outside:  # sim.vexp's fix-up: libm's exp outside [-700, 700]
            for e in range(N):
                if not (-LIMIT <= xe[e] <= LIMIT):
                    ex[e] = math.exp(xe[e])
        bad = False
        for e in range(N):
            x = ex[e]
            z = marg[e]
            v = -(x if z >= 0.0 else 1.0) / (1.0 + x) if logistic else -x  # kernel.dloss, one division
            lp[e] = v
            bad |= live[e] & (((z - z) != 0.0) | ((v - v) != 0.0))  # a non-finite margin or l'
        if bad:  # rare: stop those lanes here (their state is the one before this step)
            for e in range(N):
                b = e % W
                if live[e] and not (math.isfinite(marg[e]) and math.isfinite(lp[e])):
                    if done[b] == n_steps:
                        done[b] = s
                        stopped += 1
            for e in range(N):
                live[e] = live[e] and done[e % W] == n_steps
            if stopped == W:
                return
        for e in range(N):  # S += inc compensated (Knuth's TwoSum), as _steps_frozen
            x = stepv[e] * lp[e]
            s0 = S[e]
            t = s0 + x
            bv = t - s0
            c = Sc[e] + ((s0 - (t - bv)) + (x - bv))
            ok = live[e]
            S[e] = t if ok else s0
            Sc[e] = c if ok else Sc[e]
            absinc[e] += abs(x) if ok else 0.0
            Seff[e] = S[e] + Sc[e] if ok else 0.0  # a stopped lane's inputs stay finite


@njit(cache=True)
def steps_frozen_lanes(m0: np.ndarray, MmT: np.ndarray, stepv: np.ndarray, logistic: bool, S: np.ndarray,
                       Sc: np.ndarray, absinc: np.ndarray, n_steps: int, done: np.ndarray) -> None:
    """Up to ``n_steps`` frozen-pattern steps of 8 C configurations, in place, chunk by chunk (the
    chunks are independent: each runs all its steps while its arrays sit in the level-1 cache).

    Chunk c, lane b holds configuration 8 c + b: ``m0[c, 8 i + b] = m0_i``,
    ``MmT[c, 8 (n i' + i) + b] = Mm[i, i']``, ``stepv[c, 8 i + b] = -(eta / n)``, and likewise ``S``,
    ``Sc``, ``absinc`` (C, 8 n).  ``done[c, b]`` receives the steps the lane did: ``n_steps``, or the
    step at which its margins or l' turned non-finite (its state is left before it).
    """
    for c in range(S.shape[0]):
        _chunk_steps(m0[c], MmT[c], stepv[c], logistic, S[c], Sc[c], absinc[c], n_steps, done[c])


# the lanes' certified blocks (MIN_BLOCK, MAX_BLOCK) are ``frozen_kernel.frozen_steps``'s lengths (``sim.frozen``)


def to_lanes(x: np.ndarray) -> np.ndarray:
    """(..., L) per-configuration arrays to the kernel's chunks: (C, 8 * prod(...)), lane b of chunk c
    holding configuration 8 c + b; L is padded with zeros to a multiple of 8 (padding lanes compute zeros)."""
    L = x.shape[-1]
    C = -(-L // W)
    pad = np.zeros((*x.shape[:-1], C * W))
    pad[..., :L] = x
    lead = x.ndim - 1
    y = pad.reshape((*x.shape[:-1], C, W))
    return np.ascontiguousarray(np.moveaxis(y, lead, 0).reshape(C, -1))


def from_lanes(y: np.ndarray, n: int, L: int) -> np.ndarray:
    """The inverse of ``to_lanes`` for (n, L) arrays."""
    return np.moveaxis(y.reshape(y.shape[0], n, W), 0, 1).reshape(n, -1)[:, :L]


class _Lanes:
    """The lanes' copy of their members' fixed arrays (m0, Mm^T, -(eta / n)), rebuilt when the members or
    their patterns change (patterns compared as objects: an id can be reused once a pattern is freed)."""

    def __init__(self, autos: Sequence[AutoState], members: list[int]) -> None:
        self.fps = [autos[j].frozen for j in members]
        self.members = list(members)
        n = autos[members[0]].span.data.n
        self.m0 = to_lanes(np.stack([fp.m0 for fp in self.fps], axis=1))
        self.MmT = to_lanes(np.stack([fp.Mm.T for fp in self.fps], axis=2))
        step = np.array([-(float(autos[j].span.cfg.eta) / n) for j in members])
        self.stepv = to_lanes(np.broadcast_to(step, (n, len(members))))

    def serves(self, autos: Sequence[AutoState], members: list[int]) -> bool:
        return self.members == members and all(autos[j].frozen is fp for j, fp in zip(members, self.fps,
                                                                                      strict=True))


def advance_together(autos: Sequence[AutoState], target: int) -> dict[int, int]:
    """Advance every state to step ``target`` (each by its own ``AutoState.advance``), running the steps
    of fully frozen patterns in lanes: configurations that are ``lane_ready`` at once step together in
    certified blocks (``steps_frozen_lanes``; 256 steps, doubling up to ``MAX_BLOCK`` while every member
    passes, halving after a refusal), each block certified per configuration as
    ``frozen_kernel.frozen_steps`` certifies it, and booked by ``AutoState.settle`` as its own run would
    be.  A block of k steps takes the members with at least k steps left (k = the block length, or the
    most steps any member has left); the others follow in later rounds.  A member whose block fails its
    certificate (or turns non-finite) is put back before the block and redoes the block's steps alone,
    where its own certified blocks bisect to the step that fails, if one does (a hand-back); then it
    rejoins.  All states must share n and the loss.  Returns {index: step at which that configuration
    diverged}.

    Every step is the single engine's, bit for bit; only the block boundaries differ from a run alone,
    which can move a hand-back (a certificate is taken on a block's box) and so the numbers after it, to
    rounding.  In the regime (no hand-backs) the runs equal their single runs bit for bit (tested)."""
    diverged: dict[int, int] = {}
    if not autos:
        return diverged
    n, loss = autos[0].span.data.n, autos[0].span.loss_code
    if any(a.span.data.n != n or a.span.loss_code != loss for a in autos):
        raise ValueError("advance_together: the states must share n and the loss")
    lanes: _Lanes | None = None
    length = MIN_BLOCK
    while True:
        for j, a in enumerate(autos):  # alone until the target, or until it may join the lanes
            if j not in diverged and a.t < target and not a.lane_ready:
                bad = a.advance(target - a.t, until_lanes=True)
                if bad is not None:
                    diverged[j] = bad
        ready = [j for j, a in enumerate(autos) if j not in diverged and a.t < target and a.lane_ready]
        if not ready:
            return diverged
        k = min(length, max(target - autos[j].t for j in ready))
        members = [j for j in ready if target - autos[j].t >= k]
        if lanes is None or not lanes.serves(autos, members):
            lanes = _Lanes(autos, members)
        L = len(members)
        lo = np.stack([autos[j].S + autos[j].Sc for j in members], axis=1)
        S = to_lanes(np.stack([autos[j].S for j in members], axis=1))
        Sc = to_lanes(np.stack([autos[j].Sc for j in members], axis=1))
        absinc = to_lanes(np.stack([autos[j].absinc for j in members], axis=1))
        done = np.empty((S.shape[0], W), dtype=np.int64)
        steps_frozen_lanes(lanes.m0, lanes.MmT, lanes.stepv, loss == kernel.LOGISTIC, S, Sc, absinc, k, done)
        S, Sc, absinc = from_lanes(S, n, L), from_lanes(Sc, n, L), from_lanes(absinc, n, L)
        hi = S + Sc
        if k == 1:  # one step: its end state is the only new state (frozen_steps certifies that point)
            lo = hi
        done = done.reshape(-1)[:L]
        refused = []
        for b, j in enumerate(members):
            a = autos[j]
            fp = a.frozen
            finite = done[b] == k
            ok = finite and _certified(fp.B, fp.E, fp.active, fp.check, fp.rowscale, fp.gf_ptr, fp.gf_e,
                                       fp.gf_coef, lo[:, b], hi[:, b], _NONE, _NONE)
            a.work += (k, int(finite))
            if ok:
                a.S[:], a.Sc[:], a.absinc[:] = S[:, b], Sc[:, b], absinc[:, b]
                a.seg_steps += k
                a.settle(k, k, 1, 0)
            else:
                a.settle(0, k, int(finite), 0)
                refused.append(j)
        for j in refused:  # left before the block: it redoes the block's steps alone (its own certified
            bad = autos[j].advance(k)  # blocks bisect to the step that fails, if one does), then rejoins
            if bad is not None:
                diverged[j] = bad
        length = max(MIN_BLOCK, length // 2) if refused else min(2 * length, MAX_BLOCK)


_NONE = np.zeros(0)
