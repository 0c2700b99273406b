"""Frozen-pattern engine (notes §4): exact GD in O(n^2 + n |C|) per step while no frozen activation can
change; C is a set of *free* entries (k, i) whose activation may keep changing.

With the pattern s[k, i] = sigma'(P[k, i]) fixed from step T on for every entry outside C (ReLU or leaky
ReLU, so sigma(P) = s P there), every frozen coefficient moves by a neuron-independent amount times s,
and every free coefficient by its own accumulated increment:

    Z[k, i](t) = Z[k, i](T) + a_k y_i D[k, i](t),
    D[k, i]    = s[k, i] S_i(t)       (frozen),   S_i(t) = -(eta / n) sum_{tau=T}^{t-1} l'_i(tau) >= 0,
    D[k, i]    = A_e(t)               (free, e = (k, i)),   A_e(t) = -(eta / n) sum_tau s_e(tau) l'_i(tau),

with s_e(tau) = sigma'(P_e(tau)) the free entry's current slope.  The pre-activations are affine in
(S, A), P[k, i'](t) = P[k, i'](T) + a_k sum_i y_i G[i, i'] D[k, i](t), and so are the margins but for the
free entries' own terms:

    y_i' f_i'(t) = m0_i' + sum_i Mm[i', i] S_i + sum_e MA[i', e] A_e + y_i' sum_{e = (k, i')} a_k sigma(P_e),
    Mm[i', i]    = y_i' y_i G[i, i'] sum_{k: (k, i'), (k, i) frozen} a_k^2 s[k, i'] s[k, i],
    MA[i', e]    = y_i' y_i G[i, i'] a_k^2 s[k, i']   for e = (k, i) and (k, i') frozen (0 otherwise),
    P_e(t)       = P_e(T) + sum_{i frozen in k} a_k s[k, i] y_i G[i, i_e] S_i
                          + sum_{e' = (k, i) free} a_k y_i G[i, i_e] A_e'.

(With KCG's a_k = +-1/m and C empty this is the note's formula with its S scaled by 1/m.)  C is empty
once the whole pattern froze (KCG Lemma 5.6 for leaky ReLU); on data outside the regime, such as KCG's
section 6 mixture, a few entries per neuron keep sliding along the kink of the activation and flip at
every step while the rest of the pattern is frozen -- those are C, and a step costs O(n^2 + n |C|)
instead of the span engine's O(M n^2).

Certificate: neurons without free entries and with the same sign and pattern row move their
pre-activations by the same amount, so the extreme neuron of each such group on each x_i decides (the
minimum where s = 1 must stay >= 0, the maximum where s < 1 must stay < 0); a neuron with free entries is
a group of its own, its frozen entries affine in S and its A's.  S and A are nondecreasing, so a block of
steps is certified at once on the box spanned by its first and last state.  The certificate demands a
clearance of a float64 rounding bound, so a frozen pre-activation within rounding of 0 hands the step back
to the span engine, which decides it exactly as it always does.  S and A are compensated sums (Neumaier's
correction, for A computed branch-free with Knuth's TwoSum).
"""

from __future__ import annotations

import numpy as np

from . import cost, kernel
from .frozen_checkpoint import SegmentProjections
from .frozen_kernel import frozen_steps

EPS = float(np.finfo(np.float64).eps)
FIRST_BLOCK = 8  # a frozen segment's first certified block: a pattern that fails at once costs little
BLOCK, MAX_BLOCK = 256, 2048  # a later call's first block, and the longest (``frozen_kernel.frozen_steps``)
# the share of the span engine's predicted time the auto engine may spend on hand-overs (``AutoState._pays``)
BUDGET_SHARE = 32  # as 1 / BUDGET_SHARE; the budget is an integer in ns / BUDGET_SHARE, so that its sums are
# exact and a run's hand-overs do not depend on where its checkpoints split the steps


def unique_rows(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, inverse) as ``np.unique(key, axis=0, return_index=True, return_inverse=True)`` gives them for
    a 2-D float array without NaNs: the distinct rows in lexicographic order (column 0 first), the first
    index of each in ``key``, and each row's rank among them.  The same arrays, bit for bit (tested), from
    one stable lexsort of the columns instead of a sort of the rows as structured values, which took
    about 5 ms at 1000 rows of 22 (a hand-over's ``FrozenPattern`` at n = 20, m = 400)."""
    rows = len(key)
    if rows == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    order = np.lexsort(key.T[::-1])  # stable: equal rows stay in index order
    srt = key[order]
    new = np.empty(rows, dtype=bool)
    new[0] = True
    new[1:] = np.any(srt[1:] != srt[:-1], axis=1)
    rank = np.cumsum(new) - 1
    inverse = np.empty(rows, dtype=np.intp)
    inverse[order] = rank
    return order[new], inverse


def group_count(P: np.ndarray, a: np.ndarray, free: np.ndarray) -> int:
    """How many certificate groups ``FrozenPattern`` would form: neurons without free entries by (sign of a_k,
    pattern row), each neuron with free entries on its own.  The pattern rows are packed 52 to a float
    (exact integers), so counting costs O(M n) and a sort of M rows of ceil(n / 52) + 1 keys."""
    M, n = P.shape
    has_free = free.any(axis=1)
    if has_free.all():
        return M
    bits = (P[~has_free] >= 0.0).astype(np.float64)
    cols = [np.sign(a[~has_free])]
    for j in range(0, n, 52):
        cols.append(bits[:, j:j + 52] @ np.exp2(np.arange(min(52, n - j))))
    return len(unique_rows(np.stack(cols, axis=1))[0]) + int(has_free.sum())


def class_key(s: np.ndarray, a: np.ndarray, free: np.ndarray) -> np.ndarray:
    """One row per free entry (in ``np.nonzero(free)``'s order): a_k, the neuron's frozen slope row (the
    slopes ``s`` = sigma' on its frozen entries, 0 on its free ones) and the point i.  Entries with equal rows
    form a class: they share their S term, their A row in the margins and their point (``FrozenPattern``)."""
    ke, ie = np.nonzero(free)
    return np.concatenate([a[ke][:, None], (s * ~free)[ke], ie[:, None].astype(float)], axis=1)


def class_count(P: np.ndarray, a: np.ndarray, free: np.ndarray, slope: float) -> int:
    """How many classes ``FrozenPattern`` would sort the free entries into (``class_key``)."""
    return len(unique_rows(class_key(np.where(P >= 0.0, 1.0, slope), a, free))[0])


class FrozenPattern:
    """The precomputed quantities of a frozen pattern with free entries ``free`` (M, n), from a span state
    at step T (module docstring for the formulas)."""

    def __init__(self, P: np.ndarray, a: np.ndarray, y: np.ndarray, G: np.ndarray, act_kind: int,
                 gamma: float, margins: np.ndarray, free: np.ndarray) -> None:
        M, n = P.shape
        active = P >= 0.0
        self.slope = 0.0 if act_kind == kernel.RELU else gamma
        s = np.where(active, 1.0, self.slope)
        self.s, self.free = s, free
        fr = (~free).astype(float)  # 1 on frozen entries
        ke, ie = np.nonzero(free)
        first, cls = unique_rows(class_key(s, a, free))  # the free entries' classes; sorted by class below
        order = np.argsort(cls, kind="stable")
        ke, ie, cls = ke[order], ie[order], cls[order]
        first = order.argsort()[first] if len(first) else first  # first entry of each class, sorted
        self.ke, self.ie = ke.astype(np.int64), ie.astype(np.int64)
        nC = len(ke)
        self.cls_ptr = np.searchsorted(cls, np.arange(len(first) + 1)).astype(np.int64)
        self.cls_i = self.ie[first] if nC else np.zeros(0, dtype=np.int64)
        self.act_e = active[ke, ie].copy()
        self.PT = np.ascontiguousarray(P[ke, ie])
        kf, i_f = ke[first], ie[first]
        self.ya = y[i_f] * a[kf]  # per class
        # P_e: the S term per class, QS[i, c] = a_k s[k, i] y_i G[i, i_c] on frozen (k, i); the A terms
        self.QS = np.ascontiguousarray((a[kf][None, :] * (s * fr)[kf].T * y[:, None]) * G[:, i_f])
        self.selfc = a[ke] * y[ie] * G[ie, ie]
        # pairs (e, e2) of distinct free entries on one neuron, in (e, e2) order
        by_neuron = np.argsort(ke, kind="stable")  # entries grouped by neuron, in entry order within
        cnt = np.bincount(ke, minlength=M)
        start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
        rep = cnt[ke]
        e_rep = np.repeat(np.arange(nC), rep)
        within = np.arange(int(rep.sum())) - np.repeat(np.cumsum(rep) - rep, rep)
        e2 = by_neuron[start[ke[e_rep]] + within] if nC else e_rep
        keep = e2 != e_rep
        self.cross = np.ascontiguousarray(np.stack([e_rep[keep], e2[keep]], axis=1).astype(np.int64))
        ce, ce2 = self.cross[:, 0], self.cross[:, 1]
        self.cross_coef = np.ascontiguousarray((a[ke[ce]] * y[ie[ce2]] * G[ie[ce2], ie[ce]]).astype(np.float64))
        # margins: m0 + Mm S + MA sumA + the free entries' own terms (m0 so that the margins at T are the span's)
        self.Mm = np.outer(y, y) * G.T * ((a[:, None] ** 2 * s * fr).T @ (s * fr))
        self.MA = np.ascontiguousarray(y[None, :] * y[i_f][:, None] * G[i_f, :] * (a[kf] ** 2)[:, None]
                                       * (s * fr)[kf])
        own = np.zeros(n)
        np.add.at(own, ie, y[ie] * a[ke] * np.where(self.PT >= 0, self.PT, self.slope * self.PT))
        self.m0 = margins - own
        # certificate groups: (sign, pattern row) for neurons without free entries, one per free neuron
        has_free = free.any(axis=1)
        keys = np.concatenate([np.sign(a)[:, None], active.astype(float)], axis=1)
        keys = np.concatenate([keys, np.where(has_free, np.arange(M), -1)[:, None]], axis=1)
        gfirst, group = unique_rows(keys)
        ng = len(gfirst)
        gorder = np.argsort(group, kind="stable")  # neurons by group, ascending within
        gstart = np.searchsorted(group[gorder], np.arange(ng))
        k0 = gorder[gstart]  # each group's first neuron
        sf = s * fr * y[None, :]
        self.B = a[k0][:, None, None] * (G.T[None, :, :] * sf[k0][:, None, :])  # B[g, i, i'] = a_g s y G[i', i]
        self.active = np.ascontiguousarray(active[k0])
        self.check = np.ascontiguousarray(~free[k0])
        Ps = P[gorder]
        self.E = np.where(self.active, np.minimum.reduceat(Ps, gstart, axis=0),
                          np.maximum.reduceat(Ps, gstart, axis=0))  # extreme pre-activation of the group at T
        # the free entries of each group's (single) neuron, in entry order, group by group
        ge = np.lexsort((np.arange(nC), group[ke])) if nC else np.zeros(0, dtype=np.int64)
        self.gf_ptr = np.concatenate([[0], np.cumsum(cnt[k0])]).astype(np.int64)
        self.gf_e = ge.astype(np.int64)
        self.gf_coef = np.ascontiguousarray((a[ke[ge]] * y[ie[ge]])[:, None] * G[ie[ge], :]).reshape(len(ge), n)
        self.rowscale = np.abs(P).max(axis=0)  # per i, for the rounding clearance

    @property
    def n_free(self) -> int:
        return len(self.ke)


class AutoState:
    """The engine ``simulate`` picks by default: the span engine, switching to the frozen-pattern engine
    once it has run ``quiet`` steps and few enough entries changed in them, and back the moment a frozen
    entry would change.

    The entries that changed within the last ``quiet`` span steps become the free set C; the switch is
    made when |C| <= ``max_free`` * M n (the frozen engine's step costs O(n^2 + n |C|) against the span
    engine's O(M n^2)); with C empty this is a fully frozen pattern.  Results do not depend on which
    engine ran (to rounding): the frozen engine is the same GD written in closed form, and every one of
    its steps is certified.  After a hand-back the quiet period doubles (up to ``max_quiet``), so a
    pattern that keeps switching costs few wasted entries, and one whose free set keeps growing slowly
    (ReLU outside the regime) is not left to the span engine for long.  A switch is also made only when
    the cost model of ``sim.cost`` says it pays (``_pays``): the hand-overs' predicted overhead stays
    within 1 / ``BUDGET_SHARE`` of the span engine's predicted time, so ``auto`` is never much slower than
    ``span`` (``gate=False`` switches whenever the pattern allows, for tests of the frozen engine).  The
    accounting counts the certificates, whose blocks restart at every ``advance`` call, so with the gate
    on, where the engine hands over can depend on where the checkpoints split the steps (the numbers then
    agree to rounding, as any two engines do); without it they are the same bit for bit.

    On a free entry sliding along the kink the two engines' numbers agree to rounding until the entry's
    pre-activation lands within rounding of 0; from there each engine's floating-point trajectory may
    take the kink on its own side (each is GD to rounding).  A free entry whose sign the two disagree on
    at a write-back is counted in ``info()["free_ties"]`` and takes the span engine's sign.
    """

    def __init__(self, span: object, quiet: int = 64, max_free: float = 0.25, max_quiet: int = 16384,
                 gate: bool = True) -> None:
        # ``span`` is a ``sim.span.SpanState``; not imported here (sim.span imports this module).
        self.span = span
        self.gate = gate
        M, n = span.P0.shape
        self.span_ns = round(cost.span_ns(M, n))
        self.budget = BUDGET_SHARE * round(cost.INITIAL_BUDGET_NS)  # predicted ns it may still spend, x SHARE
        self.frozen_est = 0  # predicted ns per step of the current frozen pattern
        self.cert_ns = 0  # predicted ns per certificate of the current frozen pattern
        self.declined = 0
        self.shortfall = 0  # budget missing at the last refused entry (x SHARE, ns), 0 if refused for another reason
        self.stopped = 0  # frozen runs stopped because they no longer paid (frozen_steps' status 3)
        self.work = np.zeros(2, dtype=np.int64)  # frozen-pattern steps computed, certificates (frozen_steps)
        self.quiet = quiet
        self.max_free = max_free
        self.max_quiet = max(quiet, max_quiet)
        self.frozen: FrozenPattern | None = None
        self.segment: SegmentProjections | None = None
        self.frozen_steps = 0
        self.handbacks = 0
        self.entries = 0
        self.free_max = 0
        self.free_ties = 0
        self.span_run = 0  # span-engine steps since the start or the last hand-back
        self.absinc_total = 0.0
        self.eligible_kind = span.act_code in (kernel.RELU, kernel.LEAKY_RELU)

    # the EngineState protocol -------------------------------------------------------------------
    @property
    def t(self) -> int:
        return self.span.t

    @property
    def changes(self) -> np.ndarray:
        return self.span.changes

    @property
    def last_change(self) -> np.ndarray:
        return self.span.last_change

    def advance(self, n_steps: int, until_lanes: bool = False) -> int | None:
        """Advance by ``n_steps`` steps; returns the step at which the run diverged, or None.

        ``until_lanes``: return early (before ``n_steps``) as soon as the state runs a fully frozen pattern
        that has passed its first certified block and may join other configurations' lanes
        (``lane_ready``; ``sim.frozen_lanes.advance_together`` steps those together)."""
        sp = self.span
        target = sp.t + n_steps
        while sp.t < target:
            if self.frozen is None and self.eligible_kind and self.span_run >= self.quiet:
                since = sp.t - self.quiet
                if kernel.changed_since(sp.last_changet, since) > self.max_free * sp.last_changet.size:
                    self.span_run = 0  # too many entries still changing: another quiet period on the span engine
                elif self._pays(free := sp.last_change > since):
                    self._enter(free)
                elif self.shortfall > 0:  # only the budget was short: look again once span steps earned it
                    self.span_run = min(0, self.quiet - -(-self.shortfall // self.span_ns))
                else:  # not worth it yet: check again after a longer quiet period
                    self.span_run = 0
                    self.quiet = min(2 * self.quiet, self.max_quiet)
            if self.frozen is not None:
                if until_lanes and self.lane_ready:
                    return None
                k = target - sp.t
                if until_lanes and self.frozen.n_free == 0 and self.seg_steps == 0:
                    k = min(k, self.first_block)  # the segment's first block alone, then the lanes
                work0 = self.work.copy()
                done, status = self.run_frozen(k)
                computed, certificates = (int(v) for v in self.work - work0)
                bad = self.settle(done, computed, certificates, status)
            else:
                left = target - sp.t
                k = min(left, max(1, self.quiet - self.span_run)) if self.eligible_kind else left
                bad = sp.advance(k)
                self.span_run += k
                self.budget += k * self.span_ns
            if bad is not None:
                return bad
        return None

    @property
    def lane_ready(self) -> bool:
        """Running a fully frozen pattern (no free entries) past its first certified block: its steps may run
        in other configurations' lanes (``sim.frozen_lanes``)."""
        return self.frozen is not None and self.frozen.n_free == 0 and self.seg_steps > 0

    def settle(self, done: int, computed: int, certificates: int, status: int) -> int | None:
        """Book a frozen-pattern run of ``done`` certified steps that computed ``computed`` steps and
        ``certificates`` certificates, ended with ``frozen_kernel.frozen_steps``' ``status``: move the
        clock, charge the budget, and on a hand-back leave the frozen engine (status 1: the span engine
        takes the refused step).  Returns the step at which the run diverged, or None."""
        sp = self.span
        sp.t += int(done)
        self.frozen_steps += int(done)
        # the span steps these replaced, less what they cost (redone steps and certificates too)
        self.budget += BUDGET_SHARE * (done * self.span_ns - computed * self.frozen_est
                                       - certificates * self.cert_ns)
        if status == 0:
            return None
        self._exit()
        self.handbacks += 1
        self.quiet = min(2 * self.quiet, self.max_quiet)
        if status == 2:
            return sp.t
        if status == 3:  # stopped paying (sim.cost): back to the span engine, no step refused
            self.span_run = 0
            self.stopped += 1
            return None
        bad = sp.advance(1)  # the span engine takes the step the certificate refused
        self.span_run = 1
        return bad

    def run_frozen(self, n_steps: int) -> tuple[int, int]:
        """Up to ``n_steps`` certified frozen-pattern steps from the current step (the clock is the
        caller's to move); (steps done, status) as ``frozen_kernel.frozen_steps`` returns them."""
        sp, fp = self.span, self.frozen
        assert fp is not None
        done, status = frozen_steps(
            fp.m0, fp.Mm, fp.MA, fp.PT, fp.QS, fp.cls_ptr, fp.cls_i, fp.ya, fp.selfc, fp.cross, fp.cross_coef,
            fp.slope, fp.B, fp.E, fp.active, fp.check, fp.rowscale, fp.gf_ptr, fp.gf_e, fp.gf_coef,
            float(sp.cfg.eta), sp.loss_code, self.S, self.Sc, self.A, self.Ac, self.s_e, self.chg_e, self.last_e,
            self.absinc, sp.t, n_steps, self.work, self._costs(),
            self.first_block if self.seg_steps == 0 else BLOCK, MAX_BLOCK)
        self.seg_steps += int(done)
        return int(done), int(status)

    def _costs(self) -> np.ndarray:
        """(ns per frozen step, per certificate, per span step, allowance) for ``frozen_steps``: a run
        may spend at most the budget beyond the span steps it replaces (integers: ns, the budget x SHARE)."""
        return np.array([self.frozen_est, self.cert_ns, self.span_ns, max(self.budget, 0), BUDGET_SHARE],
                        dtype=np.int64)

    def observe(self, check: bool = True) -> dict[str, np.ndarray] | None:
        if self.frozen is None:
            return self.span.observe(check)
        self._write_back()
        sp, S, A = self.span, self.S + self.Sc, self.A + self.Ac
        if self.segment is None and (spec := sp.spectrum()) is not None:
            self.segment = SegmentProjections(spec, self.frozen.s, self.frozen.ke, self.frozen.ie, sp.a, sp.y)
        if self.segment is None:
            return sp.observe(check)
        proj = self.segment.projections(S, A)
        obs = sp.observe(check, projections=proj)
        if proj is None and obs is not None:  # (None: a non-finite checkpoint, nothing to keep)
            self.segment.remember(sp.spectrum().last_projections, S, A)
        return obs

    def info(self) -> dict[str, object]:
        return {"frozen_steps": self.frozen_steps, "frozen_entries": self.entries,
                "handbacks": self.handbacks, "declined": self.declined, "stopped": self.stopped,
                "free_max": self.free_max, "free_ties": self.free_ties,
                # Neumaier: |error of S_i| <= 2 eps sum |increments| (+ O(N eps^2)), summed over entries;
                # every A_e has increments s_e inc_i <= inc_i, so the same bound holds for it
                "S_rounding_bound": 2 * EPS * (self.absinc_total
                                               + (float(self.absinc.max()) if self.frozen else 0.0))}

    # internals ------------------------------------------------------------------------------------
    def _pays(self, free: np.ndarray) -> bool:
        """The cost gate (``sim.cost``): enter only if a frozen-pattern step is predicted faster than a
        span step and the predicted cost of entering is covered by the budget, which starts at
        ``cost.INITIAL_BUDGET_NS`` and earns
        1 / ``BUDGET_SHARE`` of every span step's predicted time and what the frozen-pattern engine saved: the
        span steps it replaced less the steps it computed (failed blocks redone included) and its
        certificates, all at their predicted costs.
        So the hand-overs' predicted overhead stays within 1 / ``BUDGET_SHARE`` of the span engine's time;
        a pattern that keeps failing its certificate at once (KCG section 6 data at n >= 20) is
        retried ever more rarely.  A refusal for the budget alone leaves the missing amount in
        ``shortfall``: ``advance`` looks again after the longer of the quiet period and the span steps that
        earn it (the quiet period kept), not a doubled quiet period later.  Decided from the shapes and the
        pattern (its certificate groups, ``group_count``, and classes), never from a clock, so a seed still
        fixes every number."""
        if not self.gate:
            return True
        sp = self.span
        M, n = free.shape
        per_neuron = free.sum(axis=1)
        n_free = int(per_neuron.sum())
        n_pairs = int(np.sum(per_neuron * (per_neuron - 1)))
        self.shortfall = 0
        if cost.frozen_ns(n, n_free, 0, n_pairs) > self.span_ns:
            self.declined += 1  # (the class count only raises the estimate: not needed to decline)
            return False
        entry = BUDGET_SHARE * round(cost.entry_ns(M, n, n_free, group_count(sp.P, sp.a, free), n_pairs))
        if entry > self.budget:
            self.declined += 1
            self.shortfall = entry - self.budget  # what span steps must earn first (``advance`` waits for it)
            return False
        if cost.frozen_ns(n, n_free, n_free, n_pairs) > self.span_ns:  # at most one class per entry: count
            self.budget -= BUDGET_SHARE * round(cost.CLASSES_NS_PER_ENTRY * n_free)
            # (sp.gamma is the config's slope: 0 for ReLU, as FrozenPattern's)
            if cost.frozen_ns(n, n_free, class_count(sp.P, sp.a, free, sp.gamma), n_pairs) > self.span_ns:
                self.declined += 1
                return False
        self.budget -= entry
        return True

    def _enter(self, free: np.ndarray) -> None:
        sp = self.span
        f = np.empty(sp.data.n)
        kernel.outputs(sp.Pt, sp.a, sp.act_code, sp.gamma, f)
        self.frozen = fp = FrozenPattern(sp.P, sp.a, sp.y, sp.G, sp.act_code, sp.gamma, sp.y * f, free)
        # Z(T) and the products a_k y_i, in the kernel's (n, M) layout (``_write_back``)
        self.Z_Tt = sp.Zt + sp.Zct
        self.ay_t = np.ascontiguousarray((sp.a[:, None] * sp.y[None, :]).T)
        self.s_t = np.ascontiguousarray(fp.s.T)
        self.acc_T = float(sp.acc[0] + sp.acc[1])  # S = sum_s G_hat(W(s)) at entry
        n = sp.data.n
        self.S, self.Sc, self.absinc = np.zeros(n), np.zeros(n), np.zeros(n)
        self.A, self.Ac = np.zeros(fp.n_free), np.zeros(fp.n_free)
        self.s_e = np.where(fp.act_e, 1.0, fp.slope)
        self.chg0 = sp.changest[fp.ie, fp.ke].copy()  # the free entries' counts, merged at write-back
        self.chg_e = np.zeros(fp.n_free, dtype=np.int64)
        self.last_e = sp.last_changet[fp.ie, fp.ke].copy()
        self.entries += 1
        self.frozen_est = round(cost.frozen_ns(sp.data.n, fp.n_free, len(fp.cls_i), len(fp.cross)))
        self.cert_ns = round(cost.certificate_ns(sp.data.n, fp.B.shape[0], fp.n_free))
        self.seg_steps = 0  # the segment's first block is short: a pattern that fails at once costs little,
        # but long enough, with the gate on, that its predicted saving pays its certificate (``cost.first_block``)
        self.first_block = (cost.first_block(self.span_ns, self.frozen_est, self.cert_ns, FIRST_BLOCK, MAX_BLOCK)
                            if self.gate else FIRST_BLOCK)
        self.segment = None  # its checkpoints' projections (sim.frozen_checkpoint), made at the first
        self.free_max = max(self.free_max, fp.n_free)

    def _write_back(self) -> None:
        """Put Z(t) = Z(T) + a y D(t) into the span state and recompute P from it."""
        sp, fp = self.span, self.frozen
        assert fp is not None
        # Z = Z(T) + (a_k y_i) D[k, i], written transposed into the kernel's arrays
        Dt = self.s_t * (self.S + self.Sc)[:, None]
        Dt[fp.ie, fp.ke] = self.A + self.Ac
        np.multiply(self.ay_t, Dt, out=sp.Zt)
        sp.Zt += self.Z_Tt
        sp.Zct[:] = 0.0
        # frozen steps accumulated S_i = sum_s -(eta/n) l'_i(s) per point, so sum_s G_hat = sum_i S_i / eta
        sp.acc[:] = (self.acc_T + float(np.sum(self.S + self.Sc)) / float(sp.cfg.eta), 0.0)
        sp.refresh()
        sp.changest[fp.ie, fp.ke] = self.chg0 + self.chg_e
        sp.last_changet[fp.ie, fp.ke] = self.last_e
        act = np.empty_like(sp.actt)
        kernel.pattern(sp.Pt, act)
        act_now = sp.actt.copy()
        act_now[fp.ie, fp.ke] = self.s_e == 1.0
        differ = act != act_now
        if np.any(differ & ~fp.free.T):  # the certificate's clearance makes this impossible
            raise RuntimeError(f"frozen-pattern engine: pattern changed at step {sp.t} "
                               "despite the certificate")
        ties = np.flatnonzero(differ[fp.ie, fp.ke])
        if len(ties):  # within rounding of 0: the span engine's sign, counted as a change now
            self.free_ties += len(ties)
            self.chg_e[ties] += 1
            self.last_e[ties] = sp.t
            self.s_e[ties] = np.where(act[fp.ie[ties], fp.ke[ties]], 1.0, fp.slope)
            sp.changest[fp.ie, fp.ke] = self.chg0 + self.chg_e
            sp.last_changet[fp.ie, fp.ke] = self.last_e
        sp.actt[:] = act

    def _exit(self) -> None:
        self._write_back()
        self.absinc_total += float(self.absinc.max())
        self.frozen = None
