"""Compiled loops of the frozen-pattern engine (``sim.frozen`` states the mathematics).

State: S (n) and A (|C|), each with its compensation (Sc, Ac), both nondecreasing; the slope
``s_e = sigma'(P_e)`` of every free entry (1 or ``slope``: a float, so that the loops over the entries are
branch-free and vectorize), its change count ``chg_e`` and last change ``last_e`` (merged into the span
state's arrays by ``sim.frozen``).  The free entries come sorted by class -- same a_k, same frozen
slope row, same data point i_c -- and class c holds the entries ``cls_ptr[c] : cls_ptr[c + 1]``.
Entries of one class share their S term, their A term in the margins and their point, so one step at t is

    margins(t) = m0 + Mm S + sum_c MA[c] sumA_c + (ya_c sum_{e in c} sigma(Pe_e)) at i_c,
    inc_i      = -(eta / n) l'(margins_i)                                  (>= 0)
    S_i       += inc_i,   A_e += s_e inc_{i_c},
    Pe(t + 1)  = PT + qs_c + self_e A_e + sum_{cross pairs (e, e')} coef A_e',   qs_c = sum_i QS[i, c] S_i

with the loops over the entries of a class in explicit vector code (``sim.simd.free_update``,
``free_flips``; their class sums in a fixed lane order).  Every free entry whose sign changed is counted
at t + 1, as the span engine counts it.  The frozen entries are certified block by block
(``frozen_steps``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import kernel
from .simd import free_flips, free_update, lane_sum
from .simd_wide import frozen_margins
from .vexp import padded, vexp


@njit(cache=True)
def free_preacts(PT: np.ndarray, QS: np.ndarray, cls_ptr: np.ndarray, selfc: np.ndarray, cross: np.ndarray,
                 cross_coef: np.ndarray, Seff: np.ndarray, Aeff: np.ndarray, qs: np.ndarray,
                 out: np.ndarray) -> None:
    """out[e] = PT[e] + sum_i QS[i, c] S_i + self_e A_e + the same neuron's other free entries' terms."""
    nc = QS.shape[1]
    for c in range(nc):
        qs[c] = 0.0
    for i in range(QS.shape[0]):
        s = Seff[i]
        for c in range(nc):
            qs[c] += QS[i, c] * s
    for c in range(nc):
        q = qs[c]
        for e in range(cls_ptr[c], cls_ptr[c + 1]):
            out[e] = (PT[e] + q) + selfc[e] * Aeff[e]
    for j in range(cross.shape[0]):
        out[cross[j, 0]] += cross_coef[j] * Aeff[cross[j, 1]]


@njit(cache=True)
def _certified(B: np.ndarray, E: np.ndarray, active: np.ndarray, check: np.ndarray, rowscale: np.ndarray,
               gf_ptr: np.ndarray, gf_e: np.ndarray, gf_coef: np.ndarray, S_lo: np.ndarray, S_hi: np.ndarray,
               A_lo: np.ndarray, A_hi: np.ndarray) -> bool:
    """No frozen pre-activation changes sign for any (S, A) in the box [S_lo, S_hi] x [A_lo, A_hi].

    Group g's extreme pre-activation on x_i is P = E[g, i] + sum_i' B[g, i, i'] S_i'
    + sum_{e of g} gf_coef[e, i] A_e, affine, so its extremes over the box are at corners chosen term by
    term.  Entries with ``check[g, i]`` False are free (they may change).  Every point must clear 0 by a
    float64 rounding bound.
    """
    ng, n, _ = B.shape
    for g in range(ng):
        for i in range(n):
            if not check[g, i]:
                continue
            lo = E[g, i]
            hi = E[g, i]
            mag = abs(E[g, i]) + rowscale[i]
            for ip in range(n):
                b0 = B[g, i, ip] * S_lo[ip]
                b1 = B[g, i, ip] * S_hi[ip]
                lo += min(b0, b1)
                hi += max(b0, b1)
                mag += max(abs(b0), abs(b1))
            for j in range(gf_ptr[g], gf_ptr[g + 1]):
                e = gf_e[j]
                b0 = gf_coef[j, i] * A_lo[e]
                b1 = gf_coef[j, i] * A_hi[e]
                lo += min(b0, b1)
                hi += max(b0, b1)
                mag += max(abs(b0), abs(b1))
            clear = 64.0 * (n + 2) * 2.220446049250313e-16 * mag
            if active[g, i]:
                if lo < clear:
                    return False
            elif hi > -clear:
                return False
    return True


@njit(cache=True)
def _steps(m0: np.ndarray, Mm: np.ndarray, MA: np.ndarray, PT: np.ndarray, QS: np.ndarray, cls_ptr: np.ndarray,
           cls_i: np.ndarray, ya: np.ndarray, selfc: np.ndarray, cross: np.ndarray, cross_coef: np.ndarray,
           slope: float, eta: float, loss_kind: int, S: np.ndarray, Sc: np.ndarray, A: np.ndarray, Ac: np.ndarray,
           s_e: np.ndarray, chg_e: np.ndarray, last_e: np.ndarray, absinc: np.ndarray, t0: int,
           n_steps: int) -> int:
    """Up to ``n_steps`` uncertified steps from step t0; returns the count done before a non-finite margin.

    S and A are compensated sums (Neumaier's correction for S, the same exact error computed branch-free
    with Knuth's TwoSum for A).  The n loss derivatives are ``kernel.dloss``'s formulas with the exps
    computed together (``sim.vexp``, within 1 ulp of libm's): GD to rounding, as before."""
    n = S.shape[0]
    nC = PT.shape[0]
    nc = QS.shape[1]
    Seff = np.empty(n)
    Aeff = np.empty(nC)
    Pe = np.empty(nC)
    qs = np.empty(nc)
    sumA = np.empty(nc)
    sumsig = np.empty(nc)
    sig = np.empty(nC)
    marg = np.empty(n)
    part = np.empty((4, n))
    inc = np.empty(n)
    xe, ex = np.zeros(padded(n)), np.empty(padded(n))  # sim.vexp's scratch, padded to 8 entries
    for i in range(n):
        Seff[i] = S[i] + Sc[i]
    for e in range(nC):
        Aeff[e] = A[e] + Ac[e]
    free_preacts(PT, QS, cls_ptr, selfc, cross, cross_coef, Seff, Aeff, qs, Pe)
    for e in range(nC):
        sig[e] = Pe[e] * s_e[e]
    for c in range(nc):
        sumA[c] = lane_sum(Aeff, cls_ptr[c], cls_ptr[c + 1])
        sumsig[c] = lane_sum(sig, cls_ptr[c], cls_ptr[c + 1])
    for s in range(n_steps):
        part[:, :] = 0.0  # the A term in four partial sums over c (c mod 4): independent chains
        for c in range(nc):
            sa = sumA[c]
            row = part[c & 3]
            for i in range(n):
                row[i] += MA[c, i] * sa
        for i in range(n):
            acc = m0[i]
            for ip in range(n):
                acc += Mm[i, ip] * Seff[ip]
            marg[i] = acc + ((part[0, i] + part[1, i]) + (part[2, i] + part[3, i]))
        for c in range(nc):
            marg[cls_i[c]] += ya[c] * sumsig[c]
        for i in range(n):  # the loss derivatives: exp(-|z|) (logistic) or exp(-z), vectorized (sim.vexp)
            if not math.isfinite(marg[i]):
                return s
            xe[i] = -abs(marg[i]) if loss_kind == kernel.LOGISTIC else -marg[i]
        vexp(xe, ex)
        for i in range(n):
            e = ex[i]
            if loss_kind == kernel.LOGISTIC:  # kernel.dloss's two branches
                lp = -(e if marg[i] >= 0.0 else 1.0) / (1.0 + e)
            else:
                lp = -e
            if not math.isfinite(lp):
                return s
            inc[i] = -(eta / n) * lp
        for i in range(n):
            kernel.kahan_add(S, Sc, (i,), inc[i])
            absinc[i] += abs(inc[i])
            Seff[i] = S[i] + Sc[i]
        qs[:] = 0.0  # i outer, classes inner: vectorizes over the classes (each sum still in i order)
        for i in range(n):
            si = Seff[i]
            for c in range(nc):
                qs[c] += QS[i, c] * si
        for c in range(nc):  # A += s_e inc, then P_e (vector code, sim.simd)
            sumA[c] = free_update(A, Ac, Aeff, Pe, PT, selfc, s_e, cls_ptr[c], cls_ptr[c + 1], inc[cls_i[c]],
                                  qs[c])
        if cross.shape[0]:
            for j in range(cross.shape[0]):
                Pe[cross[j, 0]] += cross_coef[j] * Aeff[cross[j, 1]]
        for c in range(nc):  # the pattern bookkeeping at t + 1 and the sum of sigma(P_e)
            sumsig[c] = free_flips(Pe, s_e, chg_e, last_e, cls_ptr[c], cls_ptr[c + 1], slope, t0 + s + 1)
    return n_steps


@njit(cache=True)
def _steps_frozen(m0: np.ndarray, Mm: np.ndarray, eta: float, loss_kind: int, S: np.ndarray, Sc: np.ndarray,
                  absinc: np.ndarray, n_steps: int) -> int:
    """``_steps`` with no free entries (the whole pattern frozen: in the regime), the same numbers bit for
    bit: margins(t) = m0 + Mm S, each summed in the same i' order, the n sums advancing together in vector
    registers (``sim.simd_wide.frozen_margins``); no class loops."""
    n = S.shape[0]
    MmT = np.ascontiguousarray(Mm.T).reshape(n * n)
    Seff = np.empty(n)
    marg = np.empty(n)
    lp = np.empty(n)
    xe, ex = np.zeros(padded(n)), np.empty(padded(n))
    logistic = loss_kind == kernel.LOGISTIC
    for i in range(n):
        Seff[i] = S[i] + Sc[i]
    for s in range(n_steps):
        # m0 + Mm Seff summed in i' order, + 0.0 (_steps adds the (empty) A terms: -0.0 -> 0.0), with
        # the n partial sums in vector registers (sim.simd_wide.frozen_margins)
        frozen_margins(m0, MmT, Seff, marg)
        for i in range(n):  # branch-free loops (vectorized); the finiteness test after them
            xe[i] = -abs(marg[i]) if logistic else -marg[i]
        vexp(xe, ex)
        for i in range(n):
            e = ex[i]
            if logistic:
                lp[i] = -(e if marg[i] >= 0.0 else 1.0) / (1.0 + e)  # kernel.dloss, one division
            else:
                lp[i] = -e
        bad = 0
        for i in range(n):  # an integer reduction: vectorized
            bad |= not (math.isfinite(marg[i]) and math.isfinite(lp[i]))
        if bad:
            return s
        for i in range(n):  # S += inc compensated: Knuth's TwoSum, the exact error kahan_add's branches give
            x = -(eta / n) * lp[i]
            s0 = S[i]
            t = s0 + x
            bv = t - s0
            Sc[i] += (s0 - (t - bv)) + (x - bv)
            S[i] = t
            absinc[i] += abs(x)
            Seff[i] = t + Sc[i]
    return n_steps


@njit(cache=True)
def frozen_steps(m0: np.ndarray, Mm: np.ndarray, MA: np.ndarray, PT: np.ndarray, QS: np.ndarray,
                 cls_ptr: np.ndarray, cls_i: np.ndarray, ya: np.ndarray, selfc: np.ndarray, cross: np.ndarray,
                 cross_coef: np.ndarray, slope: float, B: np.ndarray, E: np.ndarray, active: np.ndarray,
                 check: np.ndarray, rowscale: np.ndarray, gf_ptr: np.ndarray, gf_e: np.ndarray,
                 gf_coef: np.ndarray, eta: float, loss_kind: int, S: np.ndarray, Sc: np.ndarray, A: np.ndarray,
                 Ac: np.ndarray, s_e: np.ndarray, chg_e: np.ndarray, last_e: np.ndarray, absinc: np.ndarray,
                 t0: int, n_steps: int, work: np.ndarray, costs: np.ndarray, block: int,
                 max_block: int) -> tuple[int, int]:
    """Advance by up to ``n_steps`` certified steps from step t0, in place.

    Steps run in blocks; S and A are nondecreasing, so a block is certified at once on the box spanned
    by its first and last state.  The block length doubles after each certified block, up to
    ``max_block`` (a certificate costs about as much as ten steps with many free entries; a longer block
    costs more steps to redo when it fails).  A block that fails is redone at half the length, down to
    the single step that would change a frozen sign (or turn a margin non-finite): O(log) certificates
    and at most twice the block's steps.  Returns (steps done, status): 0 all done,
    1 the next step would change a frozen sign (or bring it within rounding of 0) -- the state is left
    before it --, 2 a margin or l' became non-finite, 3 the run stopped paying: with ``costs`` (int64) =
    (ns per step, ns per certificate, ns per span step, allowance x scale, scale), the predicted time of
    the steps computed (redone ones included) and the certificates exceeds that of the span steps done
    by more than the allowance (the auto engine then hands back; ``sim.cost``; integers, so that the
    decision does not depend on how the caller splits the steps).  ``work`` (int64, 2) counts the steps
    computed and the certificates.
    """
    n = S.shape[0]
    nC = A.shape[0]
    keep_f = np.empty((5, n))  # S, Sc, absinc, and the box corners of S
    keep_c = np.empty((4, nC))  # A, Ac, and the box corners of A
    keep_b = np.empty(nC)
    keep_i = np.empty((2, nC), dtype=np.int64)

    def save() -> None:
        keep_f[0], keep_f[1], keep_f[2] = S, Sc, absinc
        keep_c[0], keep_c[1] = A, Ac
        keep_b[:] = s_e
        keep_i[0], keep_i[1] = chg_e, last_e

    def restore() -> None:
        S[:], Sc[:], absinc[:] = keep_f[0], keep_f[1], keep_f[2]
        A[:], Ac[:] = keep_c[0], keep_c[1]
        s_e[:] = keep_b
        chg_e[:], last_e[:] = keep_i[0], keep_i[1]

    def corner(r: int) -> None:
        for i in range(n):
            keep_f[3 + r, i] = S[i] + Sc[i]
        for e in range(nC):
            keep_c[2 + r, e] = A[e] + Ac[e]

    def certified() -> bool:
        work[1] += 1
        return _certified(B, E, active, check, rowscale, gf_ptr, gf_e, gf_coef, keep_f[3], keep_f[4],
                          keep_c[2], keep_c[3])

    def steps(t: int, k: int) -> int:
        work[0] += k
        if nC == 0:
            return _steps_frozen(m0, Mm, eta, loss_kind, S, Sc, absinc, k)
        return _steps(m0, Mm, MA, PT, QS, cls_ptr, cls_i, ya, selfc, cross, cross_coef, slope, eta, loss_kind,
                      S, Sc, A, Ac, s_e, chg_e, last_e, absinc, t, k)

    done = 0
    length = block
    w0, w1 = work[0], work[1]
    while done < n_steps:
        if costs[4] * ((work[0] - w0) * costs[0] + (work[1] - w1) * costs[1] - done * costs[2]) > costs[3]:
            return done, 3
        k = min(length, n_steps - done)
        save()
        corner(0)
        got = steps(t0 + done, k)
        corner(1)
        if k == 1:  # one step: its end state is the only new state, certify that point
            corner(0)
        if got == k and certified():
            done += k
            length = min(2 * length, max_block)
            continue
        restore()
        if got < k and k == 1:
            return done, 2
        if k == 1:
            return done, 1
        length = k // 2  # bisect towards the first step that fails
    return done, 0
