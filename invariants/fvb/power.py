"""FVB's deviation families for ``python -m invariants power``: one run inside Thm 3.2's regime (the
fixed case of the tests: n = 5, gamma = 0.4, m = 7 with m1 = 3, data meeting (7) at 90%)."""

from __future__ import annotations

import dataclasses
import math
from functools import lru_cache

import numpy as np

from sim import Dataset, SimConfig, Trajectory, nearly_orthogonal_gram, simulate
from sim.data import labels

from .._internal.limit import limit_direction
from .._internal.power import deviation
from .limits import check_program_is_gd_limit
from .maxmargin import check_gd_limit, limit_series, solution_for


@lru_cache(maxsize=8)
def gf_reference(steps: int) -> Trajectory:
    rng = np.random.default_rng(3)
    n, gamma, R = 5, 0.4, 1.5
    y = labels(n, rng)
    data = Dataset.virtual(nearly_orthogonal_gram(n, rng, 0.9 * gamma**3 / (3 * R**2 * n), R, 1.0), y, 1000)
    cfg = SimConfig(network="fvb", activation="leaky_relu", gamma=gamma, n=n, d=data.d, m=7, m1=3,
                    eta=0.5 * n / data.R_max**2, sigma0=1e-6, steps=steps, num_checkpoints=40)


    return simulate(cfg, data=data)


@deviation("FVB-3.2d:limit", "GD's limit direction rotated by eps radians off the program's W*", "limit",
           gf_reference)
def _rotated(tr: Trajectory, eps: float) -> object:
    lim = limit_direction(tr)
    G = tr.data.G
    E = np.zeros_like(lim.Z)
    E[0, 0] = 1.0
    E -= (np.sum((E @ G) * lim.Z) / lim.norm**2) * lim.Z
    E *= lim.norm / math.sqrt(np.sum((E @ G) * E))
    return check_program_is_gd_limit(tr, dataclasses.replace(lim, Z=math.cos(eps) * lim.Z + math.sin(eps) * E))


@deviation("FVB-3.2d:gd", "angle(W(t), W*) -> eps + angle(t): a nonzero limit eps", "limit", gf_reference)
def _angle_offset(tr: Trajectory, eps: float) -> object:
    s = dict(limit_series(tr, solution_for(tr.config, tr.data)))
    s["angle"] = s["angle"] + eps
    return check_gd_limit(tr, series=s)
