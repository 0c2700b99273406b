"""Worst-case data inside the assumptions (issue "worst cases", part 1).

* ``_internal.adversarial.adversarial_grams`` draws Gram matrices that satisfy the near-orthogonality
  assumption exactly at its declared constant (p at its bound), in structured families that stress the
  proofs; every draw is a valid Gram matrix inside the regime, and each family has its structure.
* Every asserted KCG trajectory claim is hunted inside its own regime on such data, steered by
  ``hypothesis.target`` toward negative margins; the closest call each hunt saw is recorded, so the margins
  table's "adversarial" column carries it.  A failure here is a counterexample to the theorem as encoded:
  it must be pinned in the corpus (``hunt --save``), not hidden.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invariants._internal.adversarial import FAMILIES, adversarial_grams
from invariants._internal.claim import get, load_all, verdict_kind
from invariants._internal.profiles import hunt_budget
from invariants.kcg.regime import KCG_CONSTANTS, in_kcg_regime, kcg_cases
from invariants.workflows.hunt import hunt, huntable


@st.composite
def _setting(draw: st.DrawFn) -> tuple[np.ndarray, float, float, float]:
    n = draw(st.integers(2, 9))
    y = np.array([1.0, -1.0] + [1.0 if draw(st.booleans()) else -1.0 for _ in range(n - 2)])
    R_min2 = draw(st.floats(1.0, 1e6))
    R2 = draw(st.floats(1.0, 2.25))
    p = draw(st.floats(0.0, 0.99)) * R_min2 / (n - 1)
    return y, p, R_min2, R2 * R_min2


@given(setting=_setting(), data=st.data())
def test_every_draw_is_a_gram_matrix_inside_its_bounds(setting, data) -> None:
    y, p, R_min2, R_max2 = setting
    G, fam = data.draw(adversarial_grams(y, p, R_min2, R_max2))
    n = len(y)
    off = G - np.diag(np.diag(G))
    assert fam in FAMILIES and np.allclose(G, G.T)
    assert np.all(np.abs(off) <= p * (1 + 1e-15)) and np.all(np.diag(G) >= R_min2 * (1 - 1e-15))
    assert np.all(np.diag(G) <= R_max2 * (1 + 1e-15))
    assert np.linalg.eigvalsh(G)[0] >= R_min2 - (n - 1) * p - 1e-9 * R_min2  # Gershgorin: positive definite


@pytest.mark.parametrize("family", ["aligned", "reverse", "low_rank", "pair", "clusters"])
def test_each_family_has_its_structure(family: str) -> None:
    y = np.array([1.0, -1.0, 1.0, -1.0, 1.0])
    p, R_min2 = 0.01, 1.0

    @settings(max_examples=5, database=None)
    @given(gd=adversarial_grams(y, p, R_min2, R_min2, families=(family,)))
    def check(gd: tuple[np.ndarray, str]) -> None:
        G, fam = gd
        off = G - np.eye(len(y))
        S = np.outer(y, y)
        iu = np.triu_indices(len(y), 1)
        if fam == "aligned":
            assert np.array_equal(np.sign(off[iu]), S[iu]) and np.allclose(np.abs(off[iu]), p)
        elif fam == "reverse":
            assert np.array_equal(np.sign(off[iu]), -S[iu]) and np.allclose(np.abs(off[iu]), p)
        elif fam == "low_rank":
            assert np.linalg.matrix_rank(off + p * np.eye(len(y))) == 1
        elif fam == "pair":
            assert np.count_nonzero(off[iu]) == 1 and np.isclose(np.abs(off[iu]).max(), p)
        elif fam == "clusters":
            assert set(np.round(off[iu] / p, 12)) <= {0.0, 1.0}

    check()


def test_a_too_large_p_or_an_unknown_family_is_refused() -> None:
    with pytest.raises(ValueError, match="diagonally dominant"):
        adversarial_grams(np.array([1.0, -1.0, 1.0]), 0.6, 1.0, 1.0)
    with pytest.raises(ValueError, match="families"):
        adversarial_grams(np.array([1.0, -1.0, 1.0]), 0.1, 1.0, 1.0, families=("nope",))


@settings(max_examples=20, database=None)
@given(case=kcg_cases("leaky_relu", gram="adversarial", steps=100, scale_horizon=False))
def test_adversarial_cases_sit_on_the_near_orthogonality_bound(case) -> None:
    """Inside Thm 4.1 with the declared constants, p at (1 - 1e-9) of its bound unless the family zeroes it."""
    d = case.data
    assert in_kcg_regime(case.cfg, d) and d.origin.startswith("adversarial:")
    bound = case.cfg.gamma**4 * d.R_min**2 / (KCG_CONSTANTS.C_orth * d.R**2 * d.n)
    assert d.p <= bound


HORIZON = {"kcg": 20_000, "fvb-gd": 1_000_000, "fvb-gf": 100_000}  # the regimes' property-test horizons
ASSERTED = sorted(c for c in huntable() if get(c).regime in HORIZON and verdict_kind(c) == "asserted")


@pytest.mark.parametrize("claim", ASSERTED)
def test_adversarial_hunt_inside_the_regime(claim: str, record_check) -> None:
    """A hunt inside the claim's own regime on worst-case data, steered toward negative margins: no
    counterexample (one found would be pinned in the corpus), and the closest call is recorded."""
    load_all()
    rep = hunt(claim, None, budget=hunt_budget(), seed=0, steps=HORIZON[get(claim).regime], gram="adversarial")
    assert rep.tried >= 1
    if rep.closest is not None:
        closest = rep.closest
        cfg = dict(closest.config)
        cfg["origin"] = f"{cfg.get('origin', 'adversarial')} (hunt)"
        record_check(dataclasses.replace(closest, config=cfg))
    assert rep.outcome in ("none_found", "too_short"), rep.summary()
