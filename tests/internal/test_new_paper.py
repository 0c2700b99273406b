"""Adding a claim of a new paper is three files and no edit elsewhere (``docs/adding-a-claim.md``).

A made-up paper ``toypaper`` lives in a temporary directory: its regime (one axis, ``step size``), one
claim with its check, and one property test.  Named in ``NEARORTH_PAPERS``, it reaches the margins table
of a pytest run, a hunt and a boundary walk -- each in a subprocess, so the registry of this process
never sees the toy claim.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

REGIME = '''
"""Toy paper: GD on the KCG network, leaky ReLU; one assumption, the step size eta <= n m / (100 R_max^2)."""
import math

import numpy as np
from hypothesis import strategies as st

from invariants import Case, Regime, register_regime
from sim import Dataset, SimConfig

AXES = ("step size",)


def eta_bound(n, m, data):
    return n * m / (100 * data.R_max**2)


def build(seed, frac, steps=300):
    data = Dataset.virtual(100.0 * np.eye(4), np.array([1.0, -1.0, 1.0, -1.0]), 100)
    cfg = SimConfig(activation="leaky_relu", gamma=0.5, n=4, d=100, m=4, eta=frac * eta_bound(4, 4, data),
                    sigma0=1e-3, steps=steps, seed=seed, num_checkpoints=30)
    return Case(cfg, data, placement={"step size": frac}, regime="toy")


def in_toy_regime(cfg, data):
    return cfg.eta <= eta_bound(cfg.n, cfg.m, data)


@st.composite
def cases(draw, activation="leaky_relu", orthogonal=False, past=None, factor=(1.0, 1e3), steps=300, gram="random",
          scale_horizon=True):
    seed = draw(st.integers(0, 100), label="seed")
    frac = draw(st.floats(0.1, 1.0), label="eta fraction")
    if past == "step size":
        frac = 10 ** draw(st.floats(0.0, 3.0), label="factor")
    return build(seed, frac, steps)


register_regime(Regime(
    name="toy", paper="TOY", axes=AXES, grams=("random",), applies=lambda cfg: False,
    slack=lambda cfg, data: {"step size": math.log10(eta_bound(cfg.n, cfg.m, data) / cfg.eta)}, cases=cases,
    baseline=lambda activation, *, n, gamma, d, seed, steps, gram="random", orthogonal=False: build(seed, 0.5, steps),
    with_factor=lambda case, axis, f: build(case.cfg.seed, f, case.cfg.steps)))
'''

CLAIMS = '''
"""Toy Lemma 1 (made up): with eta <= n m / (100 R_max^2), after T steps the loss is still >= 1% of L(0)."""
import math

from invariants import CheckResult, Claim, check, register

from . import AXES, in_toy_regime


@check("TOY-1", hunt=True)
def check_loss_floor(traj):
    """Margin log10(L(T) / (0.01 L(0))): >= 0 exactly when the loss kept 1% of its initial value."""
    floor = 0.01 * float(traj.loss[0])
    return CheckResult("TOY-1", margin=math.log10(float(traj.loss[-1]) / floor), measured=float(traj.loss[-1]),
                       bound=floor, where={"t": int(traj.times[-1])})


register(Claim(
    id="TOY-1", paper="TOY", where="Toy Lemma 1", kind="explicit",
    statement="L(W(T)) >= 0.01 L(W(0)) for eta <= n m / (100 R_max^2), T = 300", in_regime=in_toy_regime,
    network="kcg", activation="leaky_relu", regime="toy", axes=AXES, walks=(("step size", "random"),)))
'''

TEST = '''
import pytest
from hypothesis import HealthCheck, given, settings

from invariants import cases_for
from toypaper.claims import check_loss_floor


@pytest.mark.claim("TOY-1")
@settings(max_examples=4, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases_for("TOY-1"))
def test_loss_never_increases(case, record_check):
    assert record_check(check_loss_floor(case.run())).held
'''


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("toy")
    pkg = root / "toypaper"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent(REGIME))
    (pkg / "claims.py").write_text(textwrap.dedent(CLAIMS))
    (root / "test_toy.py").write_text(textwrap.dedent(TEST))
    env = dict(os.environ, NEARORTH_PAPERS="toypaper",
               PYTHONPATH=os.pathsep.join([str(root), str(REPO), os.environ.get("PYTHONPATH", "")]))
    return root, env


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_toy_claim_reaches_the_margins_table(toy: tuple[Path, dict[str, str]]) -> None:
    root, env = toy
    res = _run(["-m", "pytest", "test_toy.py", "-p", "invariants.plugin", "-p", "no:cacheprovider",
                "--margins-json", "m.json", "-q"], root, env)
    assert res.returncode == 0, res.stdout + res.stderr
    row = next(line for line in res.stdout.splitlines() if line.startswith("TOY-1"))
    assert "explicit" in row and "held" in row
    agg = json.loads((root / "m.json").read_text())["claims"]["TOY-1"]
    assert agg["tried"] == 4 and agg["held"] == 4 and agg["worst_margin"] >= 0


def test_toy_claim_is_hunted_and_walked(toy: tuple[Path, dict[str, str]]) -> None:
    root, env = toy
    hunt = _run(["-m", "invariants", "hunt", "--claim", "TOY-1", "--axis", "step size", "--budget", "15",
                 "--steps", "300"], root, env)
    assert hunt.returncode == 1, hunt.stdout + hunt.stderr  # a counterexample past the step-size bound
    assert "claim TOY-1; assumption broken: step size" in hunt.stdout
    walk = _run(["-m", "invariants", "boundary", "--claim", "TOY-1", "--axis", "step size", "--steps", "300",
                 "--seeds", "2"], root, env)
    assert walk.returncode == 0, walk.stdout + walk.stderr
    assert walk.stdout.startswith("TOY-1 along step size: fails from factor"), walk.stdout
    page = _run(["-m", "invariants", "claims", "TOY-1"], root, env)
    assert "checks:" in page.stdout and "check_loss_floor" in page.stdout, page.stdout + page.stderr
