"""KCG's t -> infinity claims at the limit direction (``invariants.kcg.limits``): in-regime runs hold
to rounding, and near misses planted just past the tolerance fail with a margin of the planted size."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given

from invariants import Case, LimitDirection, limit_direction
from invariants.kcg.limits import (
    check_f3_at_limit,
    check_margins_at_limit,
    check_relu_stable_rank_at_limit,
    check_stable_rank_at_limit,
    sr_tol,
)
from invariants.kcg.regime import Placement, build_case, kcg_cases
from sim import Trajectory

_RUNS: dict[str, Trajectory] = {}


def fixed(activation: str = "leaky_relu", orthogonal: bool = False) -> Trajectory:
    key = f"{activation}-{orthogonal}"
    if key not in _RUNS:
        case = build_case(activation, 6, 8, 0.3 if activation != "relu" else None, d=1000, R=1.2, seed=1,
                          steps=10**5, place=Placement(p=0.5, eta=0.5, sigma0=0.02, width=0.5), checkpoints=40,
                          orthogonal=orthogonal)
        _RUNS[key] = case.run()
    return _RUNS[key]


def _decided(res: object) -> bool:
    assert res.outcome != "failed", res  # type: ignore[attr-defined]
    return res.outcome == "held"  # type: ignore[attr-defined]


@pytest.mark.claim("KCG-4.1b", "KCG-MRG")
@given(case=kcg_cases("leaky_relu"))
def test_leaky_limit_has_stable_rank_one_and_equal_margins(case: Case, record_check) -> None:
    tr = case.run()
    lim = limit_direction(tr)
    for res in (check_stable_rank_at_limit(tr, lim), check_margins_at_limit(tr, lim)):
        record_check(res)
        _decided(res)


@pytest.mark.claim("KCG-4.3a")
@given(case=kcg_cases("relu"))
def test_relu_limit_stable_rank_is_bounded(case: Case, record_check) -> None:
    res = record_check(check_relu_stable_rank_at_limit(case.run()))
    _decided(res)


@pytest.mark.claim("KCG-F3")
@given(case=kcg_cases("relu", orthogonal=True))
def test_orthogonal_relu_limit_is_the_closed_form(case: Case, record_check) -> None:
    res = record_check(check_f3_at_limit(case.run()))
    _decided(res)


# ---- planted near misses: just past the tolerance, and a 1 % offset ------------------------------------

def _planted_sr(tr: Trajectory, sr: list[float]) -> LimitDirection:
    return dataclasses.replace(limit_direction(tr), stable_rank=np.asarray(sr, dtype=float))


@pytest.mark.falsify
@pytest.mark.claim("KCG-4.1b")
@pytest.mark.parametrize(("offset_in_tol", "sign"), [(0.5, 1), (2.0, -1)])
def test_stable_rank_offset_near_the_tolerance(offset_in_tol: float, sign: int) -> None:
    tr = fixed()
    tol = sr_tol(tr.config.m, tr.data.n)
    lim = _planted_sr(tr, [1.0, 1.0 + offset_in_tol * tol, 1.3])
    res = check_stable_rank_at_limit(tr, lim)
    assert np.sign(res.margin) == sign and res.margin == pytest.approx(1.0 - offset_in_tol, rel=1e-6)
    assert res.where == {"j": -1}


@pytest.mark.falsify
@pytest.mark.claim("KCG-4.1b")
def test_a_stable_rank_limit_one_percent_off_fails() -> None:
    """The window check passed SR stuck at 1.10 (margin +0.02); at the limit 1.01 is 10^11 tolerances."""
    tr = fixed()
    res = check_stable_rank_at_limit(tr, _planted_sr(tr, [1.01, 1.0, 1.3]))
    assert res.outcome == "failed" and res.measured == pytest.approx(0.01)


@pytest.mark.falsify
@pytest.mark.claim("KCG-MRG")
@pytest.mark.parametrize("eps", [0.1, 0.01, 1e-6])
def test_one_margin_off_by_eps_at_the_limit_fails(eps: float) -> None:
    """One point's normalized margin held at (1 + eps) x the others used to pass at 1.2x (+0.24)."""
    tr = fixed()
    lim = limit_direction(tr)
    q = lim.margins.copy()
    q[2] *= 1 + eps
    res = check_margins_at_limit(tr, dataclasses.replace(lim, margins=q))
    assert res.outcome == "failed" and res.measured == pytest.approx(eps, rel=1e-6) and res.where == {"i": 2}


@pytest.mark.falsify
@pytest.mark.claim("KCG-F3")
@pytest.mark.parametrize("eps", [0.01, 1e-6])
def test_a_limit_off_the_closed_form_by_eps_fails(eps: float) -> None:
    tr = fixed("relu", orthogonal=True)
    lim = limit_direction(tr)
    assert check_f3_at_limit(tr, lim).held
    res = check_f3_at_limit(tr, dataclasses.replace(lim, stable_rank=lim.stable_rank * np.array([1, 1 + eps, 1])))
    assert res.outcome == "failed" and res.measured == pytest.approx(eps, rel=1e-6)


@pytest.mark.falsify
@pytest.mark.claim("KCG-4.3a")
def test_relu_limit_above_the_bound_fails() -> None:
    tr = fixed("relu", orthogonal=True)
    res = check_relu_stable_rank_at_limit(tr, _planted_sr(tr, [3.03, 1.0, 3.5]))
    assert res.outcome == "failed" and res.margin == pytest.approx(-0.01)


def test_an_uncertified_limit_is_too_short_not_failed() -> None:
    """ReLU with p > 0: the pattern at T disagrees with its own limit (GD will change it later)."""
    res = check_relu_stable_rank_at_limit(fixed("relu"))
    assert res.outcome == "too_short" and "disagrees" in res.note
