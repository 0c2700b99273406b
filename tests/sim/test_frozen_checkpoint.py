"""``sim.frozen_checkpoint``: a frozen segment's checkpoint projections, updated from the segment's first,
equal the direct projection."""

from __future__ import annotations

import numpy as np
import pytest

from sim import SimConfig
from sim.frozen import AutoState
from sim.frozen_checkpoint import SegmentProjections
from sim.gram import GramSpectrum
from sim.simulate import resolve
from sim.span import SpanState

REL = 1e-12


@pytest.mark.parametrize("seed", range(6))
def test_updated_projections_equal_the_direct_ones(seed: int) -> None:
    """Synthetic segment: Z(t) = Z(T) + diag(a) (s diag(S) + E) diag(y) with free entries in both sign
    blocks, three checkpoints; the second and third come from the first by the update formula."""
    rng = np.random.default_rng(seed)
    # d = 40: rank K_R <= d - n = 36 < M = 56 cuts the stacked block's null space (not the sign blocks',
    # of 30 and 26 rows); d = 200 cuts none
    n, m1, m2, d = 4, 30, 26, 40 if seed % 2 else 200
    M = m1 + m2
    X = rng.standard_normal((n, d))
    W0 = rng.standard_normal((M, d)) * 0.1
    spec = GramSpectrum(W0 @ W0.T, W0 @ X.T, X @ X.T, (m1, m2))
    assert [c for *_, c in spec.eig] == [False, False, seed % 2 == 1]
    a = np.concatenate([np.full(m1, 1 / m1), np.full(m2, -1 / m2)])
    y = rng.choice([-1.0, 1.0], n)
    s = np.where(rng.random((M, n)) < 0.5, 1.0, 0.1)
    ke = np.array([2, 5, 5, m1 + 1, M - 1])
    ie = np.array([0, 1, 3, 2, 0])
    Z_T = rng.standard_normal((M, n))
    seg = SegmentProjections(spec, s, ke, ie, a, y)
    assert seg.worth
    S, A = np.zeros(n), np.zeros(len(ke))
    for k in range(3):
        S = S + rng.uniform(0, 5, n)
        A = A + rng.uniform(0, 5, len(ke))
        D = s * S[None, :]
        D[ke, ie] = A
        Z = Z_T + a[:, None] * y[None, :] * D
        direct = spec.project(spec.update(Z))
        got = seg.projections(S, A)
        assert (got is None) == (k == 0)
        if got is None:
            seg.remember(direct, S, A)
            continue
        for g, w in zip(got, direct, strict=True):
            np.testing.assert_allclose(g, w, rtol=0, atol=REL * np.abs(w).max())
    # a free entry's own increment matters: dropping it (E = 0) is caught
    seg.C = [(on, 0 * C, Lr) for on, C, Lr in seg.C]
    bad = seg.projections(S, A)
    assert max(np.abs(g - w).max() / np.abs(w).max() for g, w in zip(bad, direct, strict=True)) > 1e-6


def test_too_many_free_entries_project_directly() -> None:
    """n + |C| above half a block's rows: the update would cost more than the projection."""
    rng = np.random.default_rng(0)
    n, m = 3, 8
    W0, X = rng.standard_normal((2 * m, 20)), rng.standard_normal((n, 20))
    spec = GramSpectrum(W0 @ W0.T, W0 @ X.T, X @ X.T, (m, m))
    ke, ie = np.arange(2), np.zeros(2, dtype=int)
    seg = SegmentProjections(spec, np.ones((2 * m, n)), ke, ie, np.ones(2 * m), np.ones(n))
    assert not seg.worth
    seg.remember(spec.project(spec.update(np.zeros((2 * m, n)))), np.zeros(n), np.zeros(2))
    assert seg.ref is None  # nothing kept
    seg.ref = ([np.zeros((Ut.shape[0], n)) for _, Ut, _ in spec.eig], np.zeros(n), np.zeros(2))
    assert seg.projections(np.ones(n), np.ones(2)) is None  # and no update, even with a reference


def test_auto_engine_checkpoints_in_a_frozen_segment_equal_direct_norms(monkeypatch: pytest.MonkeyPatch) -> None:
    """Leaky ReLU in the regime (n = 6, m = 40): the pattern freezes, the engine runs one long frozen
    segment, and its checkpoints from the second on use the updated projections (the second also projects
    Q, once); each checkpoint's spectral norms equal those computed directly from its Z."""
    cfg = SimConfig(activation="leaky_relu", gamma=0.1, n=6, m=40, d=2000, steps=20_000, seed=3, checkpoints=[])
    data, init = resolve(cfg)
    state = AutoState(SpanState(cfg, data, init), gate=False)
    used = []
    orig = SegmentProjections.projections

    def counted(self: SegmentProjections, S: np.ndarray, A: np.ndarray) -> list[np.ndarray] | None:
        out = orig(self, S, A)
        used.append(out is not None)
        return out

    monkeypatch.setattr(SegmentProjections, "projections", counted)
    spec = state.span.spectrum()
    assert spec is not None
    for _ in range(8):
        assert state.advance(2_500) is None
        obs = state.observe()
        assert obs is not None
        Z = state.span.Z + state.span.Zc
        _, spec2, _ = GramSpectrum(init.K0, init.P0, data.G, cfg.widths).norms(Z)
        np.testing.assert_allclose(obs["spec2"], spec2, rtol=REL)
    assert state.frozen is not None and state.handbacks == 0
    assert sum(used) >= 5, used
