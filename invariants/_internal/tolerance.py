"""Float64 error bounds for exact claims (identities that hold up to rounding).

A quantity computed as a sum of ``terms`` products, each of magnitude at most ``scale``, carries a
rounding error of at most ``terms * eps * scale`` (eps = 2^-52, standard a-priori bound for recursive
summation, gamma_k = k eps / (1 - k eps) ~ k eps).  An accumulated state (GD's coefficients after t
steps) adds one such error per step.  The checks use these bounds with a safety factor of 8 rather
than a magic 1e-6.
"""

from __future__ import annotations

import numpy as np

EPS = float(np.finfo(np.float64).eps)
SAFETY = 8.0


def sum_bound(terms: int, scale: float) -> float:
    """A-priori bound on the rounding error of a float64 sum of ``terms`` terms of size <= ``scale``."""
    return SAFETY * max(terms, 1) * EPS * scale


def accumulated_bound(steps: int, terms_per_step: int, scale: float) -> float:
    """Bound for a state accumulated over ``steps`` updates, each a sum of ``terms_per_step`` terms."""
    return sum_bound(max(steps, 1) * max(terms_per_step, 1), scale)
