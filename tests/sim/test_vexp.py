"""``sim.vexp.vexp``: within 1 ulp of the exact exponential; libm's exp outside its range."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.vexp import LIMIT, padded, vexp


def _run(x: np.ndarray) -> np.ndarray:
    xp = np.zeros(padded(len(x)))
    xp[: len(x)] = x
    out = np.empty(padded(len(x)))
    vexp(xp, out)
    return out[: len(x)]


def test_within_one_ulp_of_libm_on_the_range() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([-rng.random(20000) * LIMIT, rng.standard_normal(20000) * 3, rng.random(20000) * LIMIT,
                        [0.0, -0.0, 1e-300, -1e-300, LIMIT, -LIMIT, math.log(2), -math.log(2) / 2]])
    got, ref = _run(x), np.exp(x)
    assert np.max(np.abs(got - ref) / np.spacing(ref)) <= 1.0


@given(st.lists(st.floats(-LIMIT, LIMIT), min_size=1, max_size=20))
@settings(max_examples=300)
def test_within_one_ulp_of_the_exact_value(xs: list[float]) -> None:
    """Against the correctly rounded value (exp of a float in exact rational arithmetic is not available,
    so mpmath's 40 digits stand in for it)."""
    import mpmath

    mpmath.mp.dps = 40
    got = _run(np.array(xs))
    for x, g in zip(xs, got, strict=True):
        exact = float(mpmath.exp(mpmath.mpf(x)))
        assert abs(g - exact) <= np.spacing(exact), (x, g, exact)


def test_outside_the_range_and_non_finite_are_libms() -> None:
    x = np.array([-800.0, -745.5, 710.0, 709.5, np.inf, -np.inf, np.nan])
    got = _run(x)
    with np.errstate(over="ignore"):
        ref = np.exp(x)
    np.testing.assert_array_equal(got, ref)
