"""benchmarks/lanes_estimate.py: the flags it refuses before measuring, and its C kernel doing the span
engine's work (run where a C compiler and AVX-512 are there; skipped otherwise)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from sim import DataSpec, SimConfig
from sim.kernel import outputs
from sim.simd_wide import WIDE
from sim.simulate import resolve
from sim.span import SpanState

from ._scripts import load


@pytest.fixture(scope="module")
def est() -> ModuleType:
    return load("lanes_estimate")


def test_sizes_are_parsed_and_bounded(est: ModuleType) -> None:
    assert est.parse_sizes("10x100, 12X50") == [(10, 100), (12, 50)]
    for bad, message in (("10", "not NxM"), ("13x100", "n must be in [1, 12]"), ("10x4", "m in [8, 2000]")):
        with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
            est.parse_sizes(bad)


@pytest.mark.parametrize("argv, message", [
    (["--sizes", "20x100"], "--sizes: '20x100': n must be in [1, 12]"),
    (["--batch", "12"], "--batch must be a multiple of 8 from 8 to 256; got 12"),
    (["--repeats", "0"], "--repeats must be in [1, 100]; got 0"),
    (["--seconds", "100"], "--seconds must be in [0.01, 60]; got 100.0"),
    (["--readme", "no/such/README.md"], "--readme no/such/README.md"),
    (["--core", "99"], "--core 99 is not among"),
])
def test_bad_flags_are_refused_by_name(est: ModuleType, argv: list[str], message: str,
                                       monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(sys, "argv", ["lanes_estimate.py", *argv])
    with pytest.raises(SystemExit) as exc:
        est.main()
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("cc") is None or not WIDE, reason="needs a C compiler and AVX-512")
def test_the_c_kernel_does_the_span_engines_steps(est: ModuleType, tmp_path: Path) -> None:
    # 8 configurations, 300 steps from the same start: the outputs agree with the span engine's to rounding
    # (the kernel sums in another order), and so do the activation-change counts
    n, m = 6, 20
    cfgs = [SimConfig(activation="leaky_relu", gamma=est.GAMMA, n=n, d=50, m=m, eta=est.ETA,
                      sigma0=est.SIGMA0, seed=s, checkpoints=[], num_checkpoints=2,
                      data=DataSpec(virtual=False)) for s in range(8)]
    states = [SpanState(c, *resolve(c)) for c in cfgs]
    lanes = est.LaneGroups(states, est.compile_kernel("cc", n, tmp_path))
    lanes.advance(300)
    for b, st in enumerate(states):
        st.advance(300)
        f = np.empty(n)
        outputs(st.Pt, st.a, st.act_code, st.gamma, f)
        assert np.max(np.abs(lanes.outputs(b) - f)) <= 1e-12 * np.max(np.abs(f))
        assert np.array_equal(lanes.groups[0][7][:, :, b], st.changest.T)
        assert np.array_equal(lanes.groups[0][8][:, :, b], st.last_changet.T)
        assert lanes.counts_equal(b, st)
        assert st.changest.sum() > 0  # the patterns moved: the bookkeeping was exercised


@pytest.mark.skipif(not WIDE, reason="the compiler is reached only on an AVX-512 host")
def test_a_compiler_that_fails_is_named_with_its_message(est: ModuleType, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture) -> None:
    # `false` exists and exits 1 without a word: refused by name (--cc), exit 2, not a traceback
    monkeypatch.setattr(est, "pin", lambda core: None)  # the test process stays on its cores
    monkeypatch.setattr(sys, "argv", ["lanes_estimate.py", "--cc", "false", "--sizes", "2x8", "--repeats", "1"])
    with pytest.raises(SystemExit) as exc:
        est.main()
    assert exc.value.code == 2
    assert "--cc false could not build lanes_estimate.c for n = 2 (exit 1)" in capsys.readouterr().err


def test_no_compiler_is_a_skip_that_measures_nothing(est: ModuleType, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(est, "pin", lambda core: None)  # the test process stays on its cores
    monkeypatch.setattr(sys, "argv", ["lanes_estimate.py", "--cc", "/no/such/cc"])
    est.main()
    assert "skipped (" in capsys.readouterr().out
