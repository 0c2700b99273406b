"""Ordering of a statistic over a swept parameter (figure claims: 'larger gamma, lower stable rank')."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Ordering:
    """How well a statistic s[k, seed] follows the expected order in the swept parameter.

    pair_margins: (K-1,) normalized gaps of the seed means (see :func:`ordering_margin`);
    margin: their minimum; worst: its index k (the pair values[k], values[k+1]);
    frac_seeds: fraction of seeds whose own s[:, seed] is ordered over all pairs;
    frac_pairs: fraction of (pair, seed) in the expected order.
    """

    pair_margins: np.ndarray
    margin: float
    worst: int
    gap: float
    frac_seeds: float
    frac_pairs: float
    means: np.ndarray


def ordering_margin(stat: np.ndarray, expect: str) -> Ordering:
    """Normalized ordering margin of stable-rank statistics ``stat`` (K, S), K >= 2.

    expect ``"decreasing"``: s should fall as the parameter grows (FIG1), ``"increasing"``: rise (FIG23).
    For consecutive values with seed means a = s_k, b = s_{k+1} (a stable rank is >= 1):
        decreasing: (a - b) / (max(a, b) - 1),   increasing: (b - a) / (max(a, b) - 1),
    which lies in [-1, 1]: the gap as a fraction of the larger excess over the minimum stable rank 1;
    +1 when the lower one sits at 1, -1 when the order is fully reversed.  The margin is the minimum
    over pairs.
    """
    s = np.asarray(stat, dtype=float)
    if s.ndim != 2 or s.shape[0] < 2:
        raise ValueError(f"stat must be (K >= 2, S); got shape {s.shape}")
    if expect not in ("decreasing", "increasing"):
        raise ValueError(f"expect must be 'decreasing' or 'increasing'; got {expect!r}")
    sign = 1.0 if expect == "decreasing" else -1.0
    mean = s.mean(axis=1)
    a, b = mean[:-1], mean[1:]
    scale = np.maximum(np.maximum(a, b) - 1.0, 1e-12)
    pm = sign * (a - b) / scale
    worst = int(np.nanargmin(pm)) if np.any(np.isfinite(pm)) else 0
    per_seed = sign * (s[:-1] - s[1:]) > 0  # (K-1, S)
    return Ordering(pair_margins=pm, margin=float(pm[worst]), worst=worst,
                    gap=float(sign * (a[worst] - b[worst])),
                    frac_seeds=float(np.mean(np.all(per_seed, axis=0))),
                    frac_pairs=float(np.mean(per_seed)), means=mean)


