"""Fully frozen patterns stepped in vector lanes (``sim.frozen_lanes``): every lane is the single kernel,
bit for bit, and the driver's runs equal the runs alone."""

from __future__ import annotations

import numpy as np
import pytest

from sim import DataSpec, SimConfig
from sim.frozen import AutoState
from sim.frozen_kernel import _steps_frozen
from sim.frozen_lanes import advance_together, from_lanes, steps_frozen_lanes, to_lanes
from sim.simulate import resolve
from sim.span import SpanState


def frozen_state(n: int, seed: int, loss: str = "logistic", eta: float = 0.1, m: int = 6,
                 p_ratio: float = 1e-6) -> AutoState:
    cfg = SimConfig(network="kcg" if loss == "logistic" else "fvb", activation="leaky_relu", gamma=0.3, n=n,
                    d=200, m=m, loss=loss, eta=eta, steps=1, seed=seed,
                    data=DataSpec(kind="nearly_orthogonal", p_ratio=p_ratio))
    data, init = resolve(cfg)
    return AutoState(SpanState(cfg, data, init), gate=False)


def run_lanes(m0s: list, Mms: list, etas: list, logistic: bool, steps: int) -> tuple[np.ndarray, ...]:
    n, L = len(m0s[0]), len(m0s)
    m0 = to_lanes(np.stack(m0s, axis=1))
    MmT = to_lanes(np.stack([Mm.T for Mm in Mms], axis=2))
    stepv = to_lanes(np.broadcast_to(np.array([-(e / n) for e in etas]), (n, L)))
    S, Sc, absinc = (to_lanes(np.zeros((n, L))) for _ in range(3))
    done = np.empty((S.shape[0], 8), dtype=np.int64)
    steps_frozen_lanes(m0, MmT, stepv, logistic, S, Sc, absinc, steps, done)
    return from_lanes(S, n, L), from_lanes(Sc, n, L), from_lanes(absinc, n, L), done.reshape(-1)[:L]


@pytest.mark.parametrize("loss", ["logistic", "exponential"])
@pytest.mark.parametrize(("n", "L"), [(3, 5), (10, 8), (10, 11), (17, 3)])
def test_each_lane_is_the_single_kernel_bit_for_bit(loss: str, n: int, L: int) -> None:
    """Lanes of different configurations (own data, initialization and eta; L not a multiple of 8: padding
    lanes) give ``_steps_frozen``'s S, compensation and rounding-bound sums, bit for bit."""
    fps, etas = [], []
    for b in range(L):
        state = frozen_state(n, seed=b, loss=loss, eta=0.05 * (1 + b % 3))
        state.span.advance(40)
        state._enter(np.zeros_like(state.span.P, dtype=bool))
        assert state.frozen is not None and state.frozen.n_free == 0
        fps.append(state.frozen)
        etas.append(state.span.cfg.eta)
    S, Sc, absinc, done = run_lanes([fp.m0 for fp in fps], [fp.Mm for fp in fps], etas, loss == "logistic", 2000)
    assert np.all(done == 2000)
    code = 0 if loss == "logistic" else 1
    for b, fp in enumerate(fps):
        s, sc, ab = np.zeros(n), np.zeros(n), np.zeros(n)
        assert _steps_frozen(fp.m0, fp.Mm, etas[b], code, s, sc, ab, 2000) == 2000
        np.testing.assert_array_equal(S[:, b], s)
        np.testing.assert_array_equal(Sc[:, b], sc)
        np.testing.assert_array_equal(absinc[:, b], ab)
    assert S.min() > 0


def test_a_lane_turning_non_finite_stops_alone_where_the_single_kernel_stops() -> None:
    """Planted: lane 2's margins fall with S (negative Mm), so exp(-z) overflows after some steps under the
    exponential loss.  It stops at the single kernel's step, its state left before it; the others run on."""
    n, L = 4, 9
    rng = np.random.default_rng(0)
    m0s = [1.0 + rng.random(n) for _ in range(L)]
    Mms = [1e-3 * rng.random((n, n)) for _ in range(L)]
    Mms[2] = -50.0 * np.ones((n, n))
    etas = [0.1] * L
    S, Sc, _, done = run_lanes(m0s, Mms, etas, False, 500)
    s, sc, ab = np.zeros(n), np.zeros(n), np.zeros(n)
    stop = _steps_frozen(m0s[2], Mms[2], 0.1, 1, s, sc, ab, 500)
    assert 0 < stop < 500
    assert done[2] == stop and all(done[b] == 500 for b in range(L) if b != 2)
    np.testing.assert_array_equal(S[:, 2], s)
    np.testing.assert_array_equal(Sc[:, 2], sc)
    for b in (0, 8):  # the others are unaffected
        s, sc, ab = np.zeros(n), np.zeros(n), np.zeros(n)
        assert _steps_frozen(m0s[b], Mms[b], 0.1, 1, s, sc, ab, 500) == 500
        np.testing.assert_array_equal(S[:, b], s)


def both(states_alone: list[AutoState], states_together: list[AutoState]) -> None:
    for a, b in zip(states_alone, states_together, strict=True):
        oa, ob = a.observe(), b.observe()
        assert oa is not None and ob is not None
        for key in ("margins", "weight_norms"):
            if key in oa:
                np.testing.assert_array_equal(np.asarray(oa[key]), np.asarray(ob[key]))
        np.testing.assert_array_equal(a.span.Z, b.span.Z)
        np.testing.assert_array_equal(a.span.changes, b.span.changes)
        np.testing.assert_array_equal(a.span.last_change, b.span.last_change)
        assert a.t == b.t and a.frozen_steps == b.frozen_steps


def make(seeds: range, n: int = 6, **kw: object) -> list[AutoState]:
    return [frozen_state(n, seed=s, **kw) for s in seeds]  # type: ignore[arg-type]


def test_advance_together_equals_each_run_alone_in_the_regime(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-regime configurations (all enter fully frozen patterns, no hand-backs) and one on strongly
    correlated data (free entries: never in the lanes), over several checkpoints: the same numbers, the
    same pattern bookkeeping, the same frozen steps as each ``AutoState.advance`` alone; and most of the
    frozen steps ran in the lanes."""
    import sim.frozen_lanes as fl

    lane_steps = []
    real = fl.steps_frozen_lanes

    def spy(*args: object) -> None:
        lane_steps.append(int(args[7]))
        real(*args)

    monkeypatch.setattr(fl, "steps_frozen_lanes", spy)
    alone = [*make(range(9)), frozen_state(6, seed=99, p_ratio=0.3)]
    together = [*make(range(9)), frozen_state(6, seed=99, p_ratio=0.3)]
    for t in (500, 3000, 20_000, 60_000):
        for a in alone:
            assert a.advance(t - a.t) is None
        assert advance_together(together, t) == {}
        both(alone, together)
    assert all(s.frozen_steps > 50_000 for s in together[:9])
    assert sum(lane_steps) >= 0.9 * min(s.frozen_steps for s in together[:9])  # each member in every call


def test_a_block_refused_in_the_lanes_is_put_back_and_redone_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Planted: the lanes' certificate refuses member 1's first block.  That member is left before the
    block, redoes its steps alone (its own certified blocks) and rejoins the lanes; every run still equals
    its run alone."""
    import sim.frozen_lanes as fl

    real = fl._certified
    calls = {"n": 0}
    members = []

    def refuse_second(*args: object) -> bool:
        calls["n"] += 1
        return False if calls["n"] == 2 else real(*args)

    real_steps = fl.steps_frozen_lanes

    def spy(*args: object) -> None:
        members.append(int(np.count_nonzero(args[2])))  # lanes with eta > 0: the members (padding has 0)
        real_steps(*args)

    monkeypatch.setattr(fl, "_certified", refuse_second)
    monkeypatch.setattr(fl, "steps_frozen_lanes", spy)
    alone, together = make(range(4)), make(range(4))
    for a in alone:
        a.advance(20_000)
    assert advance_together(together, 20_000) == {}
    assert calls["n"] > 4 and members[-1] == 4 * 6  # refused once, then all four lanes (x 6 points) again
    both(alone, together)


def test_advance_together_refuses_mixed_shapes() -> None:
    with pytest.raises(ValueError, match="share n and the loss"):
        advance_together([frozen_state(4, 0), frozen_state(5, 0)], 10)


def test_hand_backs_and_reentries_in_the_lanes_stay_exact_gd(monkeypatch: pytest.MonkeyPatch) -> None:
    """ReLU on correlated data (p / R_min^2 = 0.02-0.05): fully frozen patterns that break later, so
    members are refused in the lanes, hand back, and re-enter with new patterns (the lanes rebuilt for
    them).  Each run still agrees with the span engine to rounding, with identical change counts."""
    import sim.frozen_lanes as fl

    from .test_engines import REL, rel_err

    refused = []
    real = fl._certified

    def spy(*args: object) -> bool:
        ok = real(*args)
        refused.append(not ok)
        return ok

    monkeypatch.setattr(fl, "_certified", spy)
    cases = [(0.02, 1), (0.02, 2), (0.02, 4), (0.02, 5), (0.05, 1), (0.05, 2), (0.05, 4), (0.05, 5)]

    def state(p: float, seed: int) -> AutoState:
        cfg = SimConfig(network="kcg", activation="relu", n=6, d=200, m=6, eta=0.1, steps=1, seed=seed,
                        data=DataSpec(kind="nearly_orthogonal", p_ratio=p))
        return AutoState(SpanState(cfg, *resolve(cfg)), gate=False, quiet=8)

    together = [state(p, s) for p, s in cases]
    spans = [state(p, s).span for p, s in cases]
    for t in (2000, 7000, 20_000):
        assert advance_together(together, t) == {}
        for sp in spans:
            sp.advance(t - sp.t)
        for a, sp in zip(together, spans, strict=True):
            oa, osp = a.observe(), sp.observe()
            assert oa is not None and osp is not None
            assert rel_err(oa["margins"], osp["margins"]) <= REL
            np.testing.assert_array_equal(a.span.changes, sp.changes)
    assert any(refused)  # some lanes blocks were refused ...
    assert sum(a.entries for a in together) > len(cases) + 3  # ... and patterns re-entered


def test_a_run_diverging_in_the_lanes_is_reported_at_the_single_runs_step() -> None:
    """Planted in member 1's frozen pattern (alone and in the lanes alike): margins that fall with S
    (negative Mm) under the exponential loss, so l' overflows within a few steps, and no frozen entry to
    certify.  The driver reports the step at which that run alone diverges; the others are unaffected."""
    n = 5
    alone = [frozen_state(n, seed=s, loss="exponential") for s in range(3)]
    together = [frozen_state(n, seed=s, loss="exponential") for s in range(3)]
    for group in (alone, together):
        for a in group:
            a.advance(3000)
            assert a.lane_ready
        fp = group[1].frozen
        fp.m0, fp.Mm = np.ones(n), -50.0 * np.ones((n, n))
        fp.check = np.zeros_like(fp.check)
    bad_alone = alone[1].advance(10_000)
    assert bad_alone is not None and bad_alone < alone[0].t + 10_000
    assert advance_together(together, together[0].t + 10_000) == {1: bad_alone}
    for j in (0, 2):
        alone[j].advance(together[j].t - alone[j].t)
        np.testing.assert_array_equal(alone[j].S, together[j].S)


def test_members_at_different_distances_and_one_step_blocks() -> None:
    """Members that entered at different steps and a target one step past some of them: blocks of one
    step (certified at their end state, as ``frozen_steps`` does) and members held back to later
    rounds; every run still equals its run alone."""
    alone, together = make(range(5)), make(range(5))
    for group in (alone, together):
        for j, a in enumerate(group):
            a.advance(1000 + 333 * j)
    for a in alone:
        a.advance(3000 - a.t)
    assert advance_together(together, 3000) == {}
    both(alone, together)
    for a in alone:
        a.advance(1)
    assert advance_together(together, 3001) == {}
    both(alone, together)


def test_all_lanes_of_a_chunk_stop_and_padding_lanes_never_step() -> None:
    """Eight lanes that all turn non-finite stop the chunk at once (each at the single kernel's step); a
    chunk of three real lanes and five padding lanes leaves the padding at zero."""
    n = 3
    m0s = [np.ones(n) for _ in range(8)]
    Mms = [-(10.0 + b) * np.ones((n, n)) for b in range(8)]
    S, _, _, done = run_lanes(m0s, Mms, [0.1] * 8, False, 400)
    for b in range(8):
        s, sc, ab = np.zeros(n), np.zeros(n), np.zeros(n)
        assert done[b] == _steps_frozen(m0s[b], Mms[b], 0.1, 1, s, sc, ab, 400) < 400
        np.testing.assert_array_equal(S[:, b], s)
    m0 = to_lanes(np.ones((n, 3)))
    MmT = to_lanes(1e-3 * np.ones((n, n, 3)))
    stepv = to_lanes(np.full((n, 3), -0.1 / n))
    S, Sc, absinc = (to_lanes(np.zeros((n, 3))) for _ in range(3))
    done = np.empty((1, 8), dtype=np.int64)
    steps_frozen_lanes(m0, MmT, stepv, True, S, Sc, absinc, 100, done)
    assert np.all(S.reshape(n, 8)[:, 3:] == 0.0) and np.all(S.reshape(n, 8)[:, :3] > 0.0)
