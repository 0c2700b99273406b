"""``simulate``: draw (or take) data and initialization, pick the engine, run GD."""

from __future__ import annotations

import math
import os

import numpy as np

from .config import SimConfig
from .data import Dataset, make_dataset
from .errors import require
from .init import Init, sample_init
from .span import run_auto, run_span
from .trajectory import Trajectory


def rngs(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent generators for the data and the initialization, fixed by the seed alone."""
    sd, si = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(sd), np.random.default_rng(si)


def resolve(cfg: SimConfig, X: np.ndarray | None = None, y: np.ndarray | None = None,
            W0: np.ndarray | None = None, data: Dataset | None = None,
            init: Init | None = None) -> tuple[Dataset, Init]:
    """The data set and initialization a run uses: given, or drawn from the config's seed."""
    rng_data, rng_init = rngs(cfg.seed)
    require(not (data is not None and X is not None), "X", "None when data= is given", "both")
    if X is not None:
        require(y is not None, "y", "given together with X", None)
        data = Dataset.from_X(X, y)
    elif y is not None and data is None:
        require(False, "X", "given together with y", None)
    if data is None:
        data = make_dataset(cfg.data, cfg.n, cfg.d, rng_data)
    require(data.n == cfg.n, "n", f"equal to the data's n = {data.n}", cfg.n)
    require(data.d == cfg.d, "d", f"equal to the data's d = {data.d}", cfg.d)
    M = sum(cfg.widths)
    _require_memory(M, cfg)
    if W0 is not None:
        require(init is None, "W0", "None when init= is given", "both")
        W0 = np.asarray(W0, dtype=np.float64)
        m1, m2 = cfg.widths
        shapes = [(M, cfg.d)] + ([(2, m1, cfg.d)] if m1 == m2 else [])
        require(W0.shape in shapes, "W0", f"of shape {' or '.join(map(str, shapes))}", W0.shape)
        init = Init.from_weights(W0.reshape(M, cfg.d), data)
    if init is None:
        init = sample_init(data, cfg.widths, cfg.sigma0, rng_init)
    require(init.P0.shape == (M, data.n) and init.K0.shape == (M, M), "init",
            f"of M = {M} neurons on n = {data.n} points", (init.P0.shape, init.K0.shape))
    return data, init


GRAM_COPIES = 4  # M x M float64 arrays alive at once at the worst moment (K0 and its parts, K_R's eigensolve)


def _require_memory(M: int, cfg: SimConfig) -> None:
    """The simulator keeps M x M Gram matrices (K0 = W(0) W(0)^T, its eigenvectors at the first checkpoint):
    a width whose ``GRAM_COPIES`` of them exceed this machine's memory is a ConfigError naming m, not a
    MemoryError deep inside (m = 10^6 asked for 29 TiB)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not a POSIX system
        return
    if total <= 0:  # pragma: no cover - an odd platform or sandbox: nothing to compare with
        return
    need = GRAM_COPIES * 8 * M * M
    if need > total:
        top = math.isqrt(total // (GRAM_COPIES * 8))
        top_m = top if cfg.network == "fvb" else top // 2
        require(False, "m", f"<= {top_m} on this machine (M = {'m' if cfg.network == 'fvb' else '2 m'} <= {top}; "
                f"{total / 2**30:.0f} GiB: the simulator keeps M x M Gram matrices, {GRAM_COPIES} x 8 M^2 bytes, "
                f"{need / 2**30:.3g} GiB here)", cfg.m)


def simulate(cfg: SimConfig, X: np.ndarray | None = None, y: np.ndarray | None = None,
             W0: np.ndarray | None = None, *, data: Dataset | None = None,
             init: Init | None = None) -> Trajectory:
    """Run GD as ``cfg`` describes.

    Data and initialization are drawn from ``cfg`` and its seed unless given: ``X`` (n, d) with ``y``
    (n,) in {+-1}, or a :class:`Dataset` (possibly virtual); ``W0`` as (2, m, d) or (M, d), or an
    :class:`Init`.  ``cfg.engine``: ``"auto"`` (the span engine, handing over to the exact
    frozen-pattern engine while no activation can change), ``"span"`` (the span engine at every step) or
    ``"dense"`` (torch autograd, concrete data only).  A run whose margins or loss turn non-finite
    stops there and is returned with ``diverged_at`` set.
    """
    data, init = resolve(cfg, X, y, W0, data, init)
    if cfg.engine == "dense":
        from .dense import run_dense  # torch is imported only where the dense engine runs

        return run_dense(cfg, data, init)
    if cfg.engine == "span":
        return run_span(cfg, data, init)
    return run_auto(cfg, data, init)
