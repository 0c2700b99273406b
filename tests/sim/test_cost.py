"""The auto engine's cost model (``sim.cost``) where it decides: the first block of a frozen-pattern segment,
and the certificate groups the entry gate counts before building the pattern."""

from __future__ import annotations

import numpy as np
import pytest

from sim import DataSpec, SimConfig, cost, kernel
from sim.frozen import FIRST_BLOCK, MAX_BLOCK, AutoState, FrozenPattern, class_count, group_count
from sim.simulate import resolve
from sim.span import SpanState


@pytest.mark.parametrize("span, frozen, cert, want", [
    (1000, 100, 7200, 8),     # 8 steps save 7200: the shortest block pays its certificate
    (1000, 100, 7201, 16),    # one ns more: doubled once
    (1000, 1, 1e9, MAX_BLOCK),  # never pays: capped
    (1000, 500, 10000, 16),   # 20 steps would pay, but 32 steps cost more than a certificate
    (10000, 9900, 4e5, 32),   # little saved per step: the steps' cap, not the certificate, ends the doubling
    (11354, 11378, 4e5, 8),   # nothing saved (leaky ReLU, exponential loss, section 6, n = 50, m = 50: it was 2048)
    (100, 200, 10**6, 8),
])
def test_first_block_is_the_shortest_that_pays_its_certificate(span: int, frozen: int, cert: float,
                                                               want: int) -> None:
    got = cost.first_block(span, frozen, int(cert), FIRST_BLOCK, MAX_BLOCK)
    assert got == want
    assert got == MAX_BLOCK or got * (span - frozen) >= cert or 2 * got * frozen > cert or span <= frozen
    assert got == FIRST_BLOCK or ((got // 2) * (span - frozen) < cert and got * frozen <= cert)


def _span(act: str, kind: str, n: int, m: int, steps: int) -> SpanState:
    cfg = SimConfig(activation=act, gamma=None if act == "relu" else 0.1, n=n, d=200, m=m, eta=0.1, sigma0=1e-4,
                    seed=1, checkpoints=[], num_checkpoints=2,
                    data=DataSpec(virtual=False) if kind == "s6" else DataSpec(kind="nearly_orthogonal", p_ratio=1e-6))
    sp = SpanState(cfg, *resolve(cfg))
    assert sp.advance(steps) is None
    return sp


@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
@pytest.mark.parametrize("kind", ["s6", "regime"])
@pytest.mark.parametrize("n, m, quiet", [(10, 25, 64), (20, 60, 16), (60, 30, 200)])
def test_group_count_is_the_patterns(act: str, kind: str, n: int, m: int, quiet: int) -> None:
    """The gate's count (rows packed 52 bits to a float: n = 60 takes two) against the groups
    ``FrozenPattern`` builds, with and without free entries."""
    sp = _span(act, kind, n, m, 300)
    for free in (sp.last_change > sp.t - quiet, np.zeros_like(sp.P, dtype=bool)):
        f = np.empty(n)
        kernel.outputs(sp.Pt, sp.a, sp.act_code, sp.gamma, f)
        fp = FrozenPattern(sp.P, sp.a, sp.y, sp.G, sp.act_code, sp.gamma, sp.y * f, free)
        assert group_count(sp.P, sp.a, free) == fp.B.shape[0]
        assert class_count(sp.P, sp.a, free, fp.slope) == len(fp.cls_i)  # (leaky ReLU: slope gamma, not 0)


def test_group_count_tells_apart_rows_that_differ_in_their_last_bit() -> None:
    """Rows equal but for the last of 60 entries (the second packed float) are two groups; a sign apart, too."""
    P = np.ones((4, 60))
    P[1, 59] = -1.0
    a = np.array([1.0, 1.0, 1.0, -1.0])
    assert group_count(P, a, np.zeros_like(P, dtype=bool)) == 3
    free = np.zeros_like(P, dtype=bool)
    free[1, 0] = True  # a neuron with a free entry is a group of its own, out of the rows' count: 2 + 1
    assert group_count(P, a, free) == 3
    free[1, 0], free[0, 3], free[2, 5] = False, True, True  # 0 and 2 (equal rows) free: 1 and 3 left, 2 + 2
    assert group_count(P, a, free) == 4
    assert group_count(P, a, np.ones_like(P, dtype=bool)) == 4  # every neuron free: one group each


def _entered(first_block: int | None) -> AutoState:
    """A ReLU pattern in the regime that holds (n = 10, m = 50), entered with the gate on and the budget
    spent, as an entry leaves it; ``first_block`` forces the segment's first block."""
    sp = _span("relu", "regime", 10, 50, 3000)
    au = AutoState(sp)
    free = sp.last_change > sp.t - 64
    assert not free.any()
    au._enter(free)
    au.budget = 0
    if first_block is not None:
        au.first_block = first_block
    return au


def test_a_pattern_that_holds_pays_from_its_first_block() -> None:
    """With the budget spent by the entry, a first block too short to pay its certificate stops the segment
    after it (status 3: what ``auto`` did at n = 50, m = 400 on ReLU in-regime data, 0.86-0.95x the span
    engine); the rule's first block pays, and the segment runs on."""
    au = _entered(None)
    assert au.first_block > FIRST_BLOCK  # this pattern's certificate outweighs 8 span steps
    done, status = au.run_frozen(2000)
    assert done > 1000 and status != 3  # ran on (until its pattern changed: status 1)
    short = _entered(FIRST_BLOCK)
    done, status = short.run_frozen(2000)
    assert (done, status) == (FIRST_BLOCK, 3)


def test_a_refusal_for_the_budget_alone_waits_for_the_budget() -> None:
    """Refused only because the budget is short, the gate looks again once span steps have earned the
    shortfall, the quiet period kept (it used to double: ReLU in-regime data at n = 20, m = 400 then entered
    at step 8160 instead of 4530, and ran 28% of its steps frozen instead of 59%)."""
    au = AutoState(_span("relu", "regime", 10, 50, 3000))
    au.budget, au.span_run = 0, au.quiet  # the quiet period is over, the budget spent
    quiet = au.quiet
    assert au.advance(1) is None
    assert au.entries == 0 and au.shortfall > 0 and au.quiet == quiet
    wait = -(-au.shortfall // au.span_ns)
    assert wait > 2 * quiet  # a doubled quiet period would have looked again sooner, and been refused again
    assert au.advance(wait - 2) is None
    assert au.entries == 0  # one step short of the shortfall
    assert au.advance(5) is None
    assert au.entries == 1 and au.frozen is not None
