"""Worst-case data inside the assumptions: Hypothesis strategies over Gram matrices that satisfy a
near-orthogonality assumption exactly at its declared constant.

The theorems hold for *every* data set with max_{i != k} |<x_i, x_k>| <= p and R_min^2 <= ||x_i||^2 <=
R_max^2 (p at its bound); random Gram matrices are benign on average.  A Gram matrix is all the simulator
needs (``Dataset.virtual``, exact in law at any d), and inside these regimes (n - 1) p < R_min^2, so every
symmetric matrix with such a diagonal and off-diagonal entries bounded by p is diagonally dominant, hence
positive definite: the strategies below never leave the set the theorem quantifies over, and every entry is
a Hypothesis draw, so a failure shrinks toward a minimal Gram matrix (fewest nonzero entries, simplest
signs, norms at R_min).

Families (``FAMILIES``), each with entries at +-p (the bound) unless drawn:

* ``free``: every off-diagonal entry drawn in [-p, p], every norm in [R_min^2, R_max^2];
* ``aligned``: same class +p, cross class -p (labels help each other: the easy direction for GD, the hard
  one for balance and freeze claims, whose proofs bound cross terms);
* ``reverse``: same class -p, cross class +p (labels work against each other);
* ``clusters``: a drawn assignment of points to 2-3 clusters, +p inside a cluster, 0 across;
* ``pair``: one near-parallel pair (i, k) at +-p (drawn), every other pair orthogonal;
* ``low_rank``: G = diag + p u u^T off the diagonal, u in {-1, +1}^n drawn (a rank-one correlation);
* ``norms``: the off-diagonal of ``aligned`` or ``reverse`` with every norm at R_min^2 or R_max^2 (drawn per
  point: unequal norms up to R).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

FAMILIES = ("free", "aligned", "reverse", "clusters", "pair", "low_rank", "norms")


def _norms(draw: st.DrawFn, n: int, R_min2: float, R_max2: float, extreme: bool) -> np.ndarray:
    if R_max2 <= R_min2:
        return np.full(n, R_min2)
    if extreme:
        return np.array([R_max2 if draw(st.booleans(), label="norm at R_max") else R_min2 for _ in range(n)])
    return np.array([draw(st.floats(R_min2, R_max2), label="norm^2") for _ in range(n)])


def adversarial_grams(y: np.ndarray, p: float, R_min2: float, R_max2: float,
                      families: tuple[str, ...] = FAMILIES) -> st.SearchStrategy[tuple[np.ndarray, str]]:
    """(G, family): a Gram matrix with norms in [R_min2, R_max2] and every |G_ik| <= p (i != k).

    ``p`` must satisfy (n - 1) p < R_min2 (diagonal dominance: positive definite whatever the signs); a
    ``ValueError`` names it otherwise, when the strategy is built.
    """
    n = len(y)
    if not (n - 1) * p < R_min2:
        raise ValueError(f"p = {p:g} too large for a diagonally dominant Gram matrix ((n - 1) p < R_min^2 = "
                         f"{R_min2:g}); the near-orthogonality regimes are far below this")
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown or not families:
        raise ValueError(f"families must be a non-empty subset of {FAMILIES}; got {families!r}")
    return _grams(np.asarray(y, dtype=float), float(p), float(R_min2), float(R_max2), tuple(families))


@st.composite
def _grams(draw: st.DrawFn, y: np.ndarray, p: float, R_min2: float, R_max2: float,
           families: tuple[str, ...]) -> tuple[np.ndarray, str]:
    n = len(y)
    fam = draw(st.sampled_from(families), label="gram family")
    S = np.outer(y, y)  # +1 same class, -1 cross
    off = np.zeros((n, n))
    if fam == "free":
        for i in range(n):
            for k in range(i + 1, n):
                off[i, k] = off[k, i] = draw(st.floats(-1.0, 1.0), label="entry / p") * p
    elif fam in ("aligned", "reverse"):
        off = p * S * (1.0 if fam == "aligned" else -1.0)
    elif fam == "clusters":
        c = np.array([draw(st.integers(0, 2), label="cluster") for _ in range(n)])
        off = p * (c[:, None] == c[None, :]).astype(float)
    elif fam == "pair":
        i = draw(st.integers(0, n - 1), label="pair i")
        k = draw(st.integers(0, n - 1).filter(lambda v: v != i), label="pair k")
        off[i, k] = off[k, i] = p * (1.0 if draw(st.booleans(), label="pair sign +") else -1.0)
    elif fam == "low_rank":
        u = np.array([1.0 if draw(st.booleans(), label="u_i = +1") else -1.0 for _ in range(n)])
        off = p * np.outer(u, u)
    elif fam == "norms":
        off = p * S * (1.0 if draw(st.booleans(), label="aligned") else -1.0)
    np.fill_diagonal(off, 0.0)
    G = off + np.diag(_norms(draw, n, R_min2, R_max2, extreme=fam == "norms"))
    return G, fam
