"""Checkpoints inside a frozen-pattern segment in O(r n^2 + r n |C|) instead of O(r M n) (``sim.gram``).

A checkpoint's cost is the projection U_j^T Y of Y = P0' + Z L (M x n) on the r_j kept eigenvectors of each
block's K_R (``GramSpectrum.project``).  Within a segment of the frozen-pattern engine (``sim.frozen``'s
docstring) the coefficients move as

    Z(t) = Z(T) + diag(a) (s diag(S(t)) + E(t)) diag(y),   E[k_e, i_e] = A_e(t) - s[k_e, i_e] S_{i_e}(t)

(s the pattern at entry, E nonzero on the free entries e only), exactly as ``AutoState._write_back``
writes it.  Between two checkpoints t1 < t2 of one segment, with dS = S(t2) - S(t1) and dE likewise,

    U_j^T Y(t2) = U_j^T Y(t1) + (Q_j diag(y dS)) L + (C_j diag(y_{i_e} dE_e)) L[i_e, :],
    Q_j = U_j^T (diag(a) s)_j  (r_j x n),   C_j = U_j^T[:, k_e] diag(a_{k_e})  (r_j x |C_j|),

so after the segment's first checkpoint (projected directly, kept as the reference) and one projection of
diag(a) s (at the second), each checkpoint costs O(r n^2 + r n |C|).  A segment with one or two checkpoints
costs what it did; the saving starts at the third.  The sums differ from the direct projection by
rounding only (tested against it at <= 1e-12), but they do depend, to rounding, on where the segment's
first checkpoint fell: the same command gives the same numbers; two runs checkpointed differently agree
to rounding only (as two engines do).  Where n + |C| is not small against a block's rows the direct
projection is cheaper and is used throughout.
"""

from __future__ import annotations

import numpy as np

from .gram import GramSpectrum


class SegmentProjections:
    """The projections of one frozen-pattern segment's checkpoints (module docstring)."""

    def __init__(self, spec: GramSpectrum, s: np.ndarray, ke: np.ndarray, ie: np.ndarray, a: np.ndarray,
                 y: np.ndarray) -> None:
        self.spec, self.s, self.ke, self.ie, self.a, self.y = spec, s, ke, ie, a, y
        M, n = s.shape
        rows = [len(range(M)[b]) for b in spec.blocks]
        self.worth = n + len(ke) <= min(rows) // 2  # O(r (n + |C|) n) against O(r M_j n)
        self.ref: tuple[list[np.ndarray], np.ndarray, np.ndarray] | None = None
        self.Q: list[np.ndarray] | None = None
        self.C: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def _E(self, S: np.ndarray, A: np.ndarray) -> np.ndarray:
        """E at the free entries: A_e - s[k_e, i_e] S_{i_e}."""
        return A - self.s[self.ke, self.ie] * S[self.ie]

    def projections(self, S: np.ndarray, A: np.ndarray) -> list[np.ndarray] | None:
        """U_j^T Y for the current (S, A) from the reference, or None: project directly, then ``remember``."""
        if not self.worth or self.ref is None:
            return None
        spec = self.spec
        if self.Q is None:
            self.Q = spec.project(self.a[:, None] * self.s)
            for (_, Ut, _), b in zip(spec.eig, spec.blocks, strict=True):
                lo, hi, _ = b.indices(self.s.shape[0])
                on = (self.ke >= lo) & (self.ke < hi)
                self.C.append((on, Ut[:, self.ke[on] - lo] * self.a[self.ke[on]],
                               spec.L[self.ie[on], :]))
        ref, S1, A1 = self.ref
        ydS = self.y * (S - S1)
        ydE = self.y[self.ie] * (self._E(S, A) - self._E(S1, A1))
        out = []
        for Yt1, Q, (on, C, Lr) in zip(ref, self.Q, self.C, strict=True):
            Yt = Yt1 + (Q * ydS[None, :]) @ spec.L
            if C.shape[1]:
                Yt += (C * ydE[on][None, :]) @ Lr
            out.append(Yt)
        return out

    def remember(self, projections: list[np.ndarray] | None, S: np.ndarray, A: np.ndarray) -> None:
        """Keep a directly computed checkpoint's projections as the reference (the first one of the segment)."""
        if self.worth and self.ref is None and projections is not None:
            self.ref = ([p.copy() for p in projections], S.copy(), A.copy())
