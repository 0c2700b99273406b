"""The frozen-pattern engine (notes §4) against the span engine: same numbers, whichever ran."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim import Dataset, DataSpec, SimConfig, Trajectory, nearly_orthogonal_gram, simulate
from sim.driver import drive
from sim.frozen import AutoState
from sim.simulate import resolve
from sim.span import SpanState

from .test_engines import FIELDS, REL, rel_err


@st.composite
def configs(draw: st.DrawFn) -> tuple[SimConfig, Dataset]:
    act = draw(st.sampled_from(["relu", "leaky_relu"]))
    n = draw(st.integers(2, 7))
    m = draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**20)))
    # from nearly orthogonal to strongly correlated: the latter keeps switching late
    p_ratio = draw(st.sampled_from([0.0, 1e-3, 0.05, 0.3])) / max(1, n - 1)
    d = 10 ** draw(st.integers(2, 9))
    G = nearly_orthogonal_gram(n, rng, p_ratio, draw(st.sampled_from([1.0, 1.5])), np.sqrt(d))
    y = rng.permutation(np.array([1.0, -1.0] * n)[:n])
    data = Dataset.virtual(G, y, d)
    cfg = SimConfig(activation=act, gamma=None if act == "relu" else draw(st.floats(0.05, 0.95)), n=n, d=d,
                    m=m, eta=draw(st.floats(0.05, 2.0)) * n * m / data.R_max**2,
                    sigma0=draw(st.sampled_from([1e-3, 0.1, 1.0])) / np.sqrt(d),
                    steps=draw(st.integers(100, 20_000)), seed=draw(st.integers(0, 99)), num_checkpoints=20)
    return cfg, data


def run_with_quiet(cfg: SimConfig, data: Dataset, quiet: int):
    data, init = resolve(cfg, data=data)
    state = AutoState(SpanState(cfg, data, init), quiet=quiet, gate=False)
    return drive(cfg, data, init, state, "auto"), state


@given(configs(), st.sampled_from([1, 8, 64]))
def test_frozen_engine_matches_span_engine(case: tuple[SimConfig, Dataset], quiet: int) -> None:
    """quiet = 1 enters the frozen engine during the transient too, so hand-backs are exercised."""
    cfg, data = case
    span = simulate(cfg.with_(engine="span"), data=data)
    auto, state = run_with_quiet(cfg, data, quiet)
    for f in FIELDS:
        assert rel_err(getattr(auto, f), getattr(span, f)) <= REL, f
    np.testing.assert_array_equal(auto.changes_flat, span.changes_flat)
    np.testing.assert_array_equal(auto.last_change_flat, span.last_change_flat)
    assert auto.diverged_at == span.diverged_at
    assert state.frozen_steps <= cfg.steps


def test_hand_back_happens_and_is_exact() -> None:
    """KCG's section 6 data (p / R_min^2 ~ 0.1, far outside the regime): the pattern keeps changing, so
    the frozen engine is entered and must hand back, again and again."""
    cfg = SimConfig(activation="relu", n=10, d=784, m=3, eta=0.1, sigma0=1e-4, steps=20_000, seed=0,
                    num_checkpoints=20, data=DataSpec(virtual=False))
    data, _ = resolve(cfg)
    span = simulate(cfg.with_(engine="span"), data=data)
    auto, state = run_with_quiet(cfg, data, 1)
    assert state.handbacks >= 3 and state.frozen_steps > 0
    for f in FIELDS:
        assert rel_err(getattr(auto, f), getattr(span, f)) <= REL, f
    np.testing.assert_array_equal(auto.changes_flat, span.changes_flat)


def test_auto_engine_reports_its_bookkeeping() -> None:
    cfg = SimConfig(activation="leaky_relu", gamma=0.2, n=6, d=10**7, m=10, eta=0.5 * 6 * 10 / (4e7),
                    sigma0=1e-5, steps=100_000, seed=1, data=DataSpec(kind="nearly_orthogonal", p_ratio=1e-5))
    tr = simulate(cfg)
    assert tr.engine == "auto"
    assert tr.extra["frozen_steps"] > 0.9 * cfg.steps
    assert 0 <= tr.extra["S_rounding_bound"] < 1e-12
    smooth = simulate(SimConfig(network="fvb", activation="smoothed_leaky", gamma=0.5, n=4, d=50, m=4,
                                steps=300, data=DataSpec(virtual=False)))
    assert smooth.extra["frozen_steps"] == 0  # no pattern to freeze: the span engine ran throughout


@st.composite
def paper_like(draw: st.DrawFn) -> tuple[SimConfig, Dataset]:
    """KCG's section 6 mixture (far outside the regime) at small sizes: some pre-activations slide along the
    kink of the activation and flip at every step while the rest of the pattern freezes."""
    act = draw(st.sampled_from(["relu", "leaky_relu"]))
    n = draw(st.integers(3, 8))
    cfg = SimConfig(activation=act, gamma=None if act == "relu" else draw(st.sampled_from([0.1, 0.3])), n=n,
                    d=draw(st.sampled_from([100, 784])), m=draw(st.integers(2, 12)), eta=0.1, sigma0=1e-4,
                    steps=draw(st.integers(2_000, 20_000)), seed=draw(st.integers(0, 99)), num_checkpoints=15,
                    data=DataSpec(virtual=False))
    data, _ = resolve(cfg)
    return cfg, data


def assert_engines_agree(auto: Trajectory, span: Trajectory) -> None:
    for f in FIELDS:
        assert rel_err(getattr(auto, f), getattr(span, f)) <= REL, f
    np.testing.assert_array_equal(auto.changes_flat, span.changes_flat)
    np.testing.assert_array_equal(auto.last_change_flat, span.last_change_flat)
    assert auto.diverged_at == span.diverged_at


@given(paper_like(), st.sampled_from([1, 8, 64]))
def test_free_entries_match_span_engine(case: tuple[SimConfig, Dataset], quiet: int) -> None:
    """The frozen-pattern engine with free entries (entries still switching) against the span engine."""
    cfg, data = case
    span = simulate(cfg.with_(engine="span"), data=data)
    auto, state = run_with_quiet(cfg, data, quiet)
    assert_engines_agree(auto, span)
    assert state.info()["free_ties"] == 0


@given(st.sampled_from(["relu", "leaky_relu"]), st.sampled_from(["logistic", "exponential"]),
       st.integers(3, 8), st.integers(2, 9), st.integers(0, 99), st.sampled_from([1, 16]))
def test_fvb_network_on_the_frozen_pattern_engine(act: str, loss: str, n: int, m: int, seed: int,
                                                   quiet: int) -> None:
    """FVB's network (m1 != m2 neurons, second layer +-1/sqrt(m), either loss) on correlated data, where
    entries keep switching: the frozen-pattern engine with free entries against the span engine."""
    cfg = SimConfig(network="fvb", activation=act, gamma=None if act == "relu" else 0.3, loss=loss, n=n, d=200,
                    m=m, eta=0.2, sigma0=0.05, steps=5_000, seed=seed, num_checkpoints=12,
                    data=DataSpec(sigma_mu=0.3, virtual=False))
    data, _ = resolve(cfg)
    span = simulate(cfg.with_(engine="span"), data=data)
    auto, state = run_with_quiet(cfg, data, quiet)
    assert_engines_agree(auto, span)
    assert state.info()["free_ties"] == 0


def test_paper_data_run_on_free_entries() -> None:
    """KCG section 6 at its own sizes (n = 10, m = 100, leaky ReLU 0.1): about one entry per neuron keeps
    flipping (j != y_i, sliding on the kink), the rest freezes; the frozen-pattern engine runs nearly every
    step with those entries free, and equals the span engine."""
    cfg = SimConfig(activation="leaky_relu", gamma=0.1, steps=20_000, num_checkpoints=15)
    data, _ = resolve(cfg)
    span = simulate(cfg.with_(engine="span"), data=data)
    auto, state = run_with_quiet(cfg, data, 64)
    assert_engines_agree(auto, span)
    info = state.info()
    assert info["frozen_steps"] > 0.95 * cfg.steps
    assert 50 <= info["free_max"] <= 0.25 * 2 * cfg.m * cfg.n
    assert int(span.changes_flat.sum()) > 10 * cfg.steps  # the free entries really flip, many per step


@given(st.sampled_from(["relu", "leaky_relu"]), st.integers(0, 20), st.lists(st.integers(1, 29_999), max_size=6))
def test_free_entries_do_not_depend_on_where_the_checkpoints_fall(act: str, seed: int, cks: list[int]) -> None:
    """The blocks of the frozen-pattern engine end at every checkpoint, and its block-start values
    (free pre-activations, class sums) are computed by other code than its in-loop ones: they must agree
    bit for bit, so the end state must not depend on the checkpoints.  (With the cost gate on, *where* the
    auto engine hands over may depend on them -- its accounting counts the certificates, whose blocks
    restart at each call --, so the engine runs here with ``gate=False``: every switch the pattern allows.)"""
    cfg = SimConfig(activation=act, gamma=None if act == "relu" else 0.1, n=10, m=8, steps=30_000, seed=seed,
                    checkpoints=[])
    data, init = resolve(cfg)

    def run(cks: list[int]) -> Trajectory:
        c = cfg.with_(checkpoints=cks)
        return drive(c, data, init, AutoState(SpanState(c, data, init), gate=False), "auto")

    ends = [run(c) for c in ([], sorted(set(cks)))]
    assert ends[0].extra["frozen_steps"] > 0  # the frozen-pattern engine ran (with or without free entries)
    for f in ("margins", "rho_flat", "preact_flat"):
        np.testing.assert_array_equal(getattr(ends[0], f)[-1], getattr(ends[1], f)[-1])
    np.testing.assert_array_equal(ends[0].changes_flat, ends[1].changes_flat)


def test_certificate_refuses_a_pattern_that_is_not_frozen() -> None:
    """Planted violation: entering with no free entries on data whose pattern keeps flipping.  The
    certificate must refuse within a few steps and leave the state before the refused step."""
    cfg = SimConfig(activation="leaky_relu", gamma=0.1, steps=1, n=10, m=8)
    data, init = resolve(cfg)
    span = SpanState(cfg, data, init)
    span.advance(2_000)
    state = AutoState(span)
    state._enter(np.zeros_like(span.P, dtype=bool))
    fp = state.frozen
    assert fp is not None and fp.n_free == 0
    done, status = state.run_frozen(10_000)
    assert status == 1
    # sound: the state is left before the first step at which the span engine sees a sign change, and
    # a single step is refused only when its own end point changes a sign (or comes within rounding of 0)
    ref = SpanState(cfg, data, init)
    ref.advance(2_000)
    while int(ref.last_change.max()) < 2_000:
        ref.advance(1)
    assert 2_000 + done == ref.t - 1


def test_write_back_tie_takes_the_span_engines_sign() -> None:
    """A free entry on which the closed form and the recomputed pre-activation disagree in sign (planted
    by flipping its tracked slope) takes the span engine's sign, is counted as a change and as a tie."""
    cfg = SimConfig(activation="leaky_relu", gamma=0.1, steps=1, n=10, m=8)
    data, init = resolve(cfg)
    span = SpanState(cfg, data, init)
    span.advance(2_000)
    state = AutoState(span)
    state._enter(span.last_change > span.t - 64)
    fp = state.frozen
    assert fp is not None and fp.n_free > 0
    e = 0
    k, i = fp.ke[e], fp.ie[e]
    truth = bool(span.P[k, i] >= 0)
    state.s_e[e] = fp.slope if truth else 1.0  # the wrong sign
    before = int(span.changes[k, i])
    state.observe()
    assert state.info()["free_ties"] == 1
    assert bool(span.act[k, i]) == truth and state.s_e[e] == (1.0 if truth else fp.slope)
    assert int(span.changes[k, i]) == before + 1 and int(span.last_change[k, i]) == span.t


@given(st.lists(configs(), min_size=1, max_size=11))
def test_batched_engine_matches_single_runs(cases: list[tuple[SimConfig, Dataset]]) -> None:
    """Configurations of one shape advanced together equal their single runs (ragged tiles included)."""
    from sim.batched import simulate_batch

    c0, _ = cases[0]
    cfgs, datas = [], []
    for cfg, data in cases:
        if cfg.n != c0.n:
            continue
        gamma = None if c0.gamma is None else (cfg.gamma or c0.gamma)  # same family, own slope
        cfgs.append(cfg.with_(activation=c0.activation, gamma=gamma, m=c0.m, steps=c0.steps))
        datas.append(data)
    batch = simulate_batch(cfgs, datas)
    for cfg, data, tb in zip(cfgs, datas, batch, strict=True):
        ts = simulate(cfg.with_(engine="span"), data=data)
        for f in FIELDS:
            assert rel_err(getattr(tb, f), getattr(ts, f)) <= REL, f
        np.testing.assert_array_equal(tb.changes_flat, ts.changes_flat)
        assert tb.diverged_at == ts.diverged_at


@given(st.lists(paper_like(), min_size=2, max_size=6), st.sampled_from([8, 64]))
def test_batched_auto_engine_matches_single_runs(cases: list[tuple[SimConfig, Dataset]], quiet: int) -> None:
    """engine="auto": configurations leave the batched span engine for the frozen-pattern engine as
    their patterns quiet down (section 6 data: with free entries); each equals its span run."""
    from sim.batched import simulate_batch

    c0, _ = cases[0]
    cfgs = [cfg.with_(activation=c0.activation, gamma=c0.gamma, m=c0.m, n=c0.n, steps=c0.steps, d=cfg.d)
            for cfg, _ in cases]
    batch = simulate_batch(cfgs, engine="auto", quiet=quiet)
    for cfg, tb in zip(cfgs, batch, strict=True):
        assert tb.engine == "batched-auto"
        assert_engines_agree(tb, simulate(cfg.with_(engine="span")))


def test_batched_auto_engine_leaves_the_batch() -> None:
    from sim.batched import simulate_batch

    cfgs = [SimConfig(activation="leaky_relu", gamma=0.1, n=10, m=8, steps=20_000, seed=s, num_checkpoints=10)
            for s in range(3)]
    out = simulate_batch(cfgs, engine="auto")
    for cfg, tr in zip(cfgs, out, strict=True):
        # left the batch for the frozen-pattern engine (how long it stays is the cost gate's decision)
        assert tr.extra["frozen_entries"] >= 1 and tr.extra["frozen_steps"] > 0, tr.extra
        assert_engines_agree(tr, simulate(cfg.with_(engine="span")))
    with pytest.raises(ValueError, match="engine must be 'span' or 'auto'"):
        simulate_batch(cfgs, engine="dense")
    smooth = [SimConfig(network="fvb", activation="smoothed_leaky", gamma=0.5, n=4, d=50, m=4, steps=300, seed=s,
                        data=DataSpec(virtual=False)) for s in range(2)]
    for cfg, tr in zip(smooth, simulate_batch(smooth, engine="auto"), strict=True):  # no batched kernel
        np.testing.assert_array_equal(tr.margins, simulate(cfg).margins)
    with pytest.raises(ValueError, match="activation must be 'relu' or 'leaky_relu'"):
        simulate_batch(smooth)


def test_batched_engine_reports_divergence_per_configuration() -> None:
    from sim.batched import simulate_batch

    base = SimConfig(network="fvb", activation="leaky_relu", gamma=0.5, loss="exponential", n=4, d=8, m=4,
                     steps=200, seed=3, data=DataSpec(virtual=False))
    cfgs = [base.with_(eta=0.5), base.with_(eta=1e6, sigma0=1.0), base.with_(eta=0.1, seed=4)]
    out = simulate_batch(cfgs)
    singles = [simulate(c.with_(engine="span")) for c in cfgs]
    assert [o.diverged_at for o in out] == [s.diverged_at for s in singles]
    assert out[1].diverged and not out[0].diverged and not out[2].diverged


@pytest.mark.parametrize("loss", ["logistic", "exponential"])
@pytest.mark.parametrize("n", [3, 10, 17])
def test_fully_frozen_fast_path_equals_the_general_loop(loss: str, n: int) -> None:
    """``frozen_kernel._steps_frozen`` (no free entries: vectorized margins, exps and TwoSum) gives the
    general loop's numbers bit for bit, S, its compensation and the rounding bound's sums alike."""
    from sim.frozen_kernel import _steps, _steps_frozen

    cfg = SimConfig(network="kcg" if loss == "logistic" else "fvb", activation="leaky_relu", gamma=0.3, n=n,
                    d=200, m=6, loss=loss, eta=0.05, steps=1, seed=n, data=DataSpec(kind="nearly_orthogonal",
                                                                                   p_ratio=1e-6))
    data, init = resolve(cfg)
    span = SpanState(cfg, data, init)
    span.advance(50)
    state = AutoState(span, gate=False)
    state._enter(np.zeros_like(span.P, dtype=bool))
    fp = state.frozen
    assert fp is not None and fp.n_free == 0
    runs = []
    for fast in (False, True):
        S, Sc, absinc = np.zeros(n), np.zeros(n), np.zeros(n)
        if fast:
            done = _steps_frozen(fp.m0, fp.Mm, cfg.eta, span.loss_code, S, Sc, absinc, 3000)
        else:
            e = np.zeros(0)
            ei = np.zeros(0, dtype=np.int64)
            done = _steps(fp.m0, fp.Mm, fp.MA, fp.PT, fp.QS, fp.cls_ptr, fp.cls_i, fp.ya, fp.selfc, fp.cross,
                          fp.cross_coef, fp.slope, cfg.eta, span.loss_code, S, Sc, e.copy(), e.copy(), e.copy(),
                          ei.copy(), ei.copy(), absinc, 0, 3000)
        assert done == 3000
        runs.append((S, Sc, absinc))
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)
    assert runs[0][0].min() > 0  # the loss derivatives moved S


def test_batched_engine_on_threads_gives_the_same_numbers() -> None:
    """``threads=2`` shares the configurations among numba's threads: the same numbers, bit for bit, as
    one thread; a thread count outside 1..NUMBA_NUM_THREADS is refused, naming the parameter."""
    import numba

    from sim.batched import simulate_batch

    cfgs = [SimConfig(activation="leaky_relu", gamma=0.2, n=5, d=300, m=12, steps=400, seed=s, num_checkpoints=4)
            for s in range(5)]
    one = simulate_batch(cfgs)
    two = simulate_batch(cfgs, threads=min(2, numba.config.NUMBA_NUM_THREADS))
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a.margins, b.margins)
        np.testing.assert_array_equal(a.changes_flat, b.changes_flat)
    for bad in (0, numba.config.NUMBA_NUM_THREADS + 1, 1.5, True):
        with pytest.raises(ValueError, match="threads must be an integer from 1 to"):
            simulate_batch(cfgs, threads=bad)


@given(st.integers(0, 60), st.integers(1, 5), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_unique_rows_is_numpys_unique_of_the_rows(rows: int, cols: int, levels: int, seed: int) -> None:
    """``frozen.unique_rows`` gives ``np.unique(axis=0)``'s first indices and ranks, bit for bit, on keys
    with many repeated rows (few levels per column), signed zeros included (equal, as np.unique has it)."""
    from sim.frozen import unique_rows

    rng = np.random.default_rng(seed)
    values = np.array([-0.0, 0.0, 1.0, -2.5, 0.1])[: levels + 1]
    key = rng.choice(values, size=(rows, cols))
    first, inverse = unique_rows(key)
    _, efirst, einverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    np.testing.assert_array_equal(first, efirst)
    np.testing.assert_array_equal(inverse, einverse.reshape(-1))


@given(st.integers(1, 12), st.integers(1, 40), st.integers(-3, 60), st.integers(0, 2**32 - 1))
def test_changed_since_counts_the_recent_changes(n: int, M: int, since: int, seed: int) -> None:
    """``kernel.changed_since`` (the auto engine's quiet-period test) is the count of last_change > since,
    the never-changed entries (-1) included as never recent."""
    from sim import kernel

    last = np.random.default_rng(seed).integers(-1, 60, size=(n, M))
    assert kernel.changed_since(last, since) == int(np.sum(last > since))
