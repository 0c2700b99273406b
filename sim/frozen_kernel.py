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

with every loop over the entries of a class elementwise (vectorized) but the two class sums, which run in
e order.  Every free entry whose sign changed is counted at t + 1, as the span engine counts it.
The frozen entries are certified block by block (``frozen_steps``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import kernel


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


@njit(cache=True, inline="always")
def _class_sums(cls_ptr: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    """out[c] = sum of x over class c, in four interleaved partial sums (e - start mod 4) combined as
    (s0 + s1) + (s2 + s3): a fixed order, a quarter of the add latency of one chain."""
    for c in range(cls_ptr.shape[0] - 1):
        lo, hi = cls_ptr[c], cls_ptr[c + 1]
        s0 = s1 = s2 = s3 = 0.0
        e = lo
        while e + 4 <= hi:
            s0 += x[e]
            s1 += x[e + 1]
            s2 += x[e + 2]
            s3 += x[e + 3]
            e += 4
        while e < hi:
            s0 += x[e]
            e += 1
        out[c] = (s0 + s1) + (s2 + s3)


@njit(cache=True)
def _steps(m0: np.ndarray, Mm: np.ndarray, MA: np.ndarray, PT: np.ndarray, QS: np.ndarray, cls_ptr: np.ndarray,
           cls_i: np.ndarray, ya: np.ndarray, selfc: np.ndarray, cross: np.ndarray, cross_coef: np.ndarray,
           slope: float, eta: float, loss_kind: int, S: np.ndarray, Sc: np.ndarray, A: np.ndarray, Ac: np.ndarray,
           s_e: np.ndarray, chg_e: np.ndarray, last_e: np.ndarray, absinc: np.ndarray, t0: int,
           n_steps: int) -> int:
    """Up to ``n_steps`` uncertified steps from step t0; returns the count done before a non-finite margin.

    S and A are compensated sums (Neumaier's correction for S, the same exact error computed branch-free
    with Knuth's TwoSum for A)."""
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
    inc = np.empty(n)
    for i in range(n):
        Seff[i] = S[i] + Sc[i]
    for e in range(nC):
        Aeff[e] = A[e] + Ac[e]
    free_preacts(PT, QS, cls_ptr, selfc, cross, cross_coef, Seff, Aeff, qs, Pe)
    for e in range(nC):
        sig[e] = Pe[e] * s_e[e]
    _class_sums(cls_ptr, Aeff, sumA)
    _class_sums(cls_ptr, sig, sumsig)
    for s in range(n_steps):
        for i in range(n):
            acc = m0[i]
            for ip in range(n):
                acc += Mm[i, ip] * Seff[ip]
            for c in range(nc):
                acc += MA[c, i] * sumA[c]
            marg[i] = acc
        for c in range(nc):
            marg[cls_i[c]] += ya[c] * sumsig[c]
        for i in range(n):
            lp = kernel.dloss(marg[i], loss_kind)
            if not (math.isfinite(marg[i]) and math.isfinite(lp)):
                return s
            inc[i] = -(eta / n) * lp
        for i in range(n):
            kernel.kahan_add(S, Sc, (i,), inc[i])
            absinc[i] += abs(inc[i])
            Seff[i] = S[i] + Sc[i]
        for c in range(nc):
            q = 0.0
            for i in range(n):
                q += QS[i, c] * Seff[i]
            qs[c] = q
        for c in range(nc):  # elementwise over the class's entries: A += s_e inc, then P_e
            x1 = inc[cls_i[c]]
            q = qs[c]
            for e in range(cls_ptr[c], cls_ptr[c + 1]):
                x = x1 * s_e[e]
                a = A[e]
                t = a + x
                bv = t - a
                ac = Ac[e] + ((a - (t - bv)) + (x - bv))
                A[e] = t
                Ac[e] = ac
                ae = t + ac
                Aeff[e] = ae
                Pe[e] = (PT[e] + q) + selfc[e] * ae
        for j in range(cross.shape[0]):
            Pe[cross[j, 0]] += cross_coef[j] * Aeff[cross[j, 1]]
        t_next = t0 + s + 1
        for e in range(nC):  # elementwise: the pattern bookkeeping and sigma(P_e)
            p = Pe[e]
            now = 1.0 if p >= 0.0 else slope
            d = now != s_e[e]
            s_e[e] = now
            chg_e[e] += d
            last_e[e] = t_next if d else last_e[e]
            sig[e] = p * now
        _class_sums(cls_ptr, Aeff, sumA)
        _class_sums(cls_ptr, sig, sumsig)
    return n_steps


@njit(cache=True)
def frozen_steps(m0: np.ndarray, Mm: np.ndarray, MA: np.ndarray, PT: np.ndarray, QS: np.ndarray,
                 cls_ptr: np.ndarray, cls_i: np.ndarray, ya: np.ndarray, selfc: np.ndarray, cross: np.ndarray,
                 cross_coef: np.ndarray, slope: float, B: np.ndarray, E: np.ndarray, active: np.ndarray,
                 check: np.ndarray, rowscale: np.ndarray, gf_ptr: np.ndarray, gf_e: np.ndarray,
                 gf_coef: np.ndarray, eta: float, loss_kind: int, S: np.ndarray, Sc: np.ndarray, A: np.ndarray,
                 Ac: np.ndarray, s_e: np.ndarray, chg_e: np.ndarray, last_e: np.ndarray, absinc: np.ndarray,
                 t0: int, n_steps: int, block: int = 256, max_block: int = 8192) -> tuple[int, int]:
    """Advance by up to ``n_steps`` certified steps from step t0, in place.

    Steps run in blocks; S and A are nondecreasing, so a block is certified at once on the box spanned
    by its first and last state.  The block length doubles after each certified block (up to
    ``max_block``: a certificate costs about as much as a few hundred steps with many free entries) and
    falls back to ``block`` after a failure.  A block that fails is redone step by step, each step
    certified on its own, up to the step that would change a frozen sign.  Returns (steps done, status): 0 all done,
    1 the next step would change a frozen sign (or bring it within rounding of 0) -- the state is left
    before it --, 2 a margin or l' became non-finite.
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
        return _certified(B, E, active, check, rowscale, gf_ptr, gf_e, gf_coef, keep_f[3], keep_f[4],
                          keep_c[2], keep_c[3])

    def steps(t: int, k: int) -> int:
        return _steps(m0, Mm, MA, PT, QS, cls_ptr, cls_i, ya, selfc, cross, cross_coef, slope, eta, loss_kind,
                      S, Sc, A, Ac, s_e, chg_e, last_e, absinc, t, k)

    done = 0
    length = block
    while done < n_steps:
        k = min(length, n_steps - done)
        save()
        corner(0)
        got = steps(t0 + done, k)
        corner(1)
        if got == k and certified():
            done += k
            length = min(2 * length, max_block)
            continue
        length = block
        restore()  # redo the block one certified step at a time
        for _ in range(k):
            if steps(t0 + done, 1) == 0:
                return done, 2
            corner(0)
            corner(1)
            if not certified():
                restore()
                return done, 1
            save()
            done += 1
    return done, 0
