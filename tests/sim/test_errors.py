"""Every invalid input raises ConfigError naming the parameter and the allowed range."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import ConfigError, Dataset, DataSpec, SimConfig, simulate


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        (dict(activation="leaky_relu", gamma=1.5), ["gamma", "(0, 1)"]),
        (dict(activation="leaky_relu", gamma=0.0), ["gamma", "(0, 1)"]),
        (dict(activation="leaky_relu", gamma=None), ["gamma", "(0, 1)"]),
        (dict(activation="leaky_relu", gamma=math.nan), ["gamma"]),
        (dict(activation="relu", gamma=0.1), ["gamma", "None"]),
        (dict(activation="tanh"), ["activation", "relu"]),
        (dict(eta=0.0), ["eta", "> 0"]),
        (dict(eta=-1.0), ["eta", "> 0"]),
        (dict(eta=math.inf), ["eta", "finite"]),
        (dict(sigma0=0.0), ["sigma0", "> 0"]),
        (dict(n=1), ["n", ">= 2"]),
        (dict(n=10, d=5), ["d", ">= n"]),
        (dict(m=0), ["m", ">= 1"]),
        (dict(steps=-1), ["steps", ">= 0"]),
        (dict(seed=-3), ["seed", ">= 0"]),
        (dict(n=2.5), ["n", "integer"]),
        (dict(loss="hinge"), ["loss", "logistic"]),
        (dict(network="cnn"), ["network", "kcg"]),
        (dict(engine="gpu"), ["engine", "span"]),
        (dict(steps=10, checkpoints=[3, 11]), ["checkpoints", "[0, steps = 10]"]),
        (dict(m1=3), ["m1/m2", "kcg"]),
        (dict(network="fvb", m=4, m1=3, m2=3), ["m1/m2", "m1 + m2 = m"]),
        (dict(num_checkpoints=1), ["num_checkpoints", ">= 2"]),
        # wrong types are named errors too, not a bare TypeError / AttributeError
        (dict(eta="0.1"), ["eta", "'0.1'"]),
        (dict(eta=None), ["eta", "None"]),
        (dict(eta=True), ["eta", "True"]),
        (dict(sigma0="1e-4"), ["sigma0"]),
        (dict(gamma="0.1"), ["gamma", "(0, 1)"]),
        (dict(steps=True), ["steps", "integer"]),
        (dict(data={"kind": "orthogonal"}), ["data", "DataSpec"]),
        (dict(network="fvb", m=4, m1=2.0), ["m1", "integer"]),
    ],
)
def test_config_errors(kwargs: dict, names: list[str]) -> None:
    base = dict(activation="leaky_relu", gamma=0.1)
    base.update(kwargs)
    with pytest.raises(ConfigError) as e:
        SimConfig(**base)
    for name in names:
        assert name in str(e.value)


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        (dict(kind="spiral"), ["DataSpec.kind"]),
        (dict(sigma_p=0.0), ["DataSpec.sigma_p", "> 0"]),
        (dict(p_ratio=1.2), ["DataSpec.p_ratio", "[0, 1)"]),
        (dict(norm_ratio=0.5), ["DataSpec.norm_ratio", ">= 1"]),
        (dict(labels="skewed"), ["DataSpec.labels"]),
        (dict(p_ratio="0.1"), ["DataSpec.p_ratio"]),
        (dict(virtual="yes"), ["DataSpec.virtual"]),
    ],
)
def test_dataspec_errors(kwargs: dict, names: list[str]) -> None:
    with pytest.raises(ConfigError) as e:
        DataSpec(**kwargs)
    for name in names:
        assert name in str(e.value)


def _X(n: int = 4, d: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, d)), np.array([1.0, -1.0] * (n // 2))


CFG = SimConfig(activation="relu", n=4, d=6, m=3, steps=3)


def test_single_class_rejected() -> None:
    X, _ = _X()
    with pytest.raises(ConfigError, match=r"y must be labels of both classes"):
        simulate(CFG, X=X, y=np.ones(4))


def test_labels_must_be_pm1() -> None:
    X, _ = _X()
    with pytest.raises(ConfigError, match=r"y must be labels in \{\+1, -1\}"):
        simulate(CFG, X=X, y=np.array([0.0, 1.0, 0.0, 1.0]))


def test_nonfinite_data_rejected() -> None:
    X, y = _X()
    X[1, 2] = np.nan
    with pytest.raises(ConfigError, match=r"X must be finite"):
        simulate(CFG, X=X, y=y)


def test_w0_wrong_shape() -> None:
    X, y = _X()
    with pytest.raises(ConfigError, match=r"W0 must be of shape \(6, 6\) or \(2, 3, 6\)"):
        simulate(CFG, X=X, y=y, W0=np.zeros((2, 3, 5)))


def test_w0_nonfinite() -> None:
    X, y = _X()
    W0 = np.zeros((2, 3, 6))
    W0[0, 0, 0] = np.inf
    with pytest.raises(ConfigError, match=r"W0 must be finite"):
        simulate(CFG, X=X, y=y, W0=W0)


def test_gram_not_positive_definite() -> None:
    G = np.ones((4, 4))  # rank one
    with pytest.raises(ConfigError, match=r"G must be positive definite"):
        Dataset.virtual(G, np.array([1.0, -1, 1, -1]), d=10)


def test_gram_asymmetric_and_nonfinite() -> None:
    G = np.eye(3)
    G[0, 1] = 0.1
    with pytest.raises(ConfigError, match=r"G must be symmetric"):
        Dataset.virtual(G, np.array([1.0, -1, 1]), d=10)
    G = np.eye(3)
    G[2, 2] = np.inf
    with pytest.raises(ConfigError, match=r"G must be finite"):
        Dataset.virtual(G, np.array([1.0, -1, 1]), d=10)


def test_virtual_dimension_below_n() -> None:
    with pytest.raises(ConfigError, match=r"d must be an integer >= n = 3"):
        Dataset.virtual(np.eye(3), np.array([1.0, -1, 1]), d=2)


def test_data_must_match_config() -> None:
    data = Dataset.virtual(np.eye(5), np.array([1.0, -1, 1, -1, 1]), d=100)
    with pytest.raises(ConfigError, match=r"n must be equal to the data's n = 5"):
        simulate(CFG, data=data)


def test_dense_engine_needs_concrete_data() -> None:
    data = Dataset.virtual(np.eye(4), np.array([1.0, -1, 1, -1]), d=10**9)
    with pytest.raises(ConfigError, match=r"engine must be 'span' or 'auto' for virtual data"):
        simulate(CFG.with_(d=10**9, engine="dense"), data=data)


def test_y_without_x() -> None:
    with pytest.raises(ConfigError, match=r"X must be given together with y"):
        simulate(CFG, y=np.array([1.0, -1, 1, -1]))


def test_sim_command_prints_a_summary(capsys: pytest.CaptureFixture) -> None:
    from sim.__main__ import main

    assert main(["--steps", "50", "--m", "5", "--rows", "4"]) == 0
    out = capsys.readouterr().out
    assert "leaky_relu gamma=0.1" in out and "== relu" in out and "activation changes" in out


def test_sim_command_rejects_bad_input_with_exit_2(capsys: pytest.CaptureFixture) -> None:
    from sim.__main__ import main

    assert main(["--activation", "leaky_relu", "--gamma", "1.5", "--steps", "5"]) == 2
    assert "gamma must be in (0, 1)" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs", [dict(eta=1e160), dict(eta=1e300), dict(sigma0=1e200),
                                    dict(sigma0=1e200, data=DataSpec(virtual=True))],
                         ids=["eta=1e160", "eta=1e300", "sigma0=1e200", "sigma0=1e200-virtual"])
def test_overflow_is_reported_as_divergence(kwargs: dict) -> None:
    """Weights that overflow make a diverged run (with its step), never an eigensolver's LinAlgError (nor,
    on virtual data, an OverflowError from sigma0 ** 2: a boundary walk at --max-factor 1e308 hit it)."""
    traj = simulate(SimConfig(activation="leaky_relu", gamma=0.1, n=6, d=50, m=4, steps=100, **kwargs))
    assert traj.diverged and traj.diverged_at is not None and traj.diverged_at <= 1


def test_sim_command_prints_a_run_that_diverged_at_step_0(capsys: pytest.CaptureFixture) -> None:
    """sigma0 = 1e200: W(0) itself overflows, the run has no checkpoint; the command once failed on
    ``traj.times[-1]`` with an IndexError instead of printing it as diverged."""
    from sim.__main__ import main

    assert main(["--sigma0", "1e200", "--steps", "10", "--activation", "relu", "--m", "5"]) == 0
    out = capsys.readouterr().out
    assert "no checkpoint recorded" in out and "DIVERGED at step 0" in out


def test_importing_the_simulator_does_not_import_torch() -> None:
    """torch is imported only where the dense engine runs (it costs ~1 s at start-up: --help was slow)."""
    import subprocess
    import sys

    code = "import sys, sim, invariants.workflows.cli as c; c.build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
