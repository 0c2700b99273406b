"""Float64 error bounds for exact claims (identities that hold up to rounding).

A quantity computed as a sum of ``terms`` products, each of magnitude at most ``scale``, carries a
rounding error of at most ``terms * eps * scale`` (eps = 2^-52, standard a-priori bound for recursive
summation, gamma_k = k eps / (1 - k eps) ~ k eps).  An accumulated state (GD's coefficients after t
steps) adds one such error per step.  The checks use these bounds with a safety factor of 8 rather
than a magic 1e-6.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim import Trajectory

EPS = float(np.finfo(np.float64).eps)
SAFETY = 8.0


def sum_bound(terms: int, scale: float) -> float:
    """A-priori bound on the rounding error of a float64 sum of ``terms`` terms of size <= ``scale``."""
    return SAFETY * max(terms, 1) * EPS * scale


def accumulated_bound(steps: int, terms_per_step: int, scale: float) -> float:
    """Bound for a state accumulated over ``steps`` updates, each a sum of ``terms_per_step`` terms."""
    return sum_bound(max(steps, 1) * max(terms_per_step, 1), scale)


def rho_rounding(traj: Trajectory, steps: np.ndarray | int = 1) -> np.ndarray | float:
    """Absolute bound on the rounding in rho (T, 2, m, n) when rho was read off recorded weights (0.0 for
    simulated runs, whose rho is the engine's own state and whose checks bound its arithmetic directly).

    A recorded rho_i = G_ii (Z)_i with Z X = W - W0 solved by least squares (``sim.external``): a
    perturbation dw of w_k moves rho_{k,i} by at most kappa_i ||dw|| (kappa_i = G_ii sqrt((G^{-1})_ii)); the
    weights carry one rounding of relative size eps per GD step (``steps`` of them between the two states
    compared), the subtraction and the d-term products with Q add (d + n) more, and the triangular solve
    a relative n cond(X) eps of rho itself:

        SAFETY eps [(steps + d + n) kappa_i (||w_k(t)|| + ||w_k(0)||) + n cond(X) |rho_{k,i}(t)|].

    ``steps`` broadcasts over T (an array of per-checkpoint step counts, or one int).
    """
    kappa = traj.extra.get("rho_kappa")
    if kappa is None:
        return 0.0
    d, n = int(traj.data.d), int(traj.data.n)
    k = np.asarray(kappa, dtype=np.float64)
    norms = np.sqrt(traj.norms2_flat)  # (T, M)
    reach = (norms + norms[0][None])[:, :, None] * k[None, None, :]  # (T, M, n)
    s = np.asarray(steps, dtype=np.float64).reshape(-1, 1, 1) if np.ndim(steps) else float(steps)
    flat = SAFETY * EPS * ((s + d + n) * reach + n * float(traj.extra.get("rho_cond", 1.0)) * np.abs(traj.rho_flat))
    return flat.reshape(traj.rho.shape) if flat.shape == traj.rho_flat.shape else flat
