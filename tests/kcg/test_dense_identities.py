"""KCG's exact identities judged where they test the theorem, not the engine's algebra.

On the span and frozen-pattern engines rho *is* the state, so Lemma 5.2's update rule, Lemma 5.7's equal
increments and F.2's equal coefficients hold by construction there.  Here the weights come from the dense
oracle (``engine="dense"``: an ``nn.Module``, autograd, ``torch.optim.SGD``; no rho anywhere) or from a plain
torch loop recorded with ``sim.Recorder``, and rho is read off W(t) by projecting on the span of the x_i
(``sim.external.span_basis``, with its rounding bound ``tolerance.rho_rounding``): the identities then hold
because GD on this network obeys them, and a kick of 1e-9 (relative) to one neuron after the freeze, which
no GD step makes, is caught.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from invariants.kcg.decomposition import (
    check_equal_increments,
    check_monotone,
    check_sign_structure,
    check_update_rule,
)
from invariants.kcg.pattern import check_orthogonal_relu_pattern, check_relu_class_neurons_stay_active
from invariants.kcg.regime import fixed_case
from sim import Dataset, Recorder, Trajectory, simulate
from sim.dense import TwoLayerNet

D = 64  # the dense oracle's cost grows with d; the identities do not depend on it
EARLY = list(range(0, 12))


def concrete(data: Dataset) -> Dataset:
    """A concrete X (n, D) with the virtual data's Gram matrix: X = [chol(G), 0]."""
    L = np.linalg.cholesky(data.G)
    return Dataset.from_X(np.hstack([L, np.zeros((data.n, D - data.n))]), data.y)


def dense_run(activation: str, steps: int, orthogonal: bool = False) -> Trajectory:
    case = fixed_case(activation, gamma=0.5 if activation == "leaky_relu" else None, n=6, m=8, d=D, u=0.5,
                      steps=steps, sigma_frac=0.01, orthogonal=orthogonal)
    ck = sorted(set(EARLY) | {int(v) for v in np.unique(np.geomspace(12, steps, 40).astype(int))})
    return simulate(case.cfg.with_(engine="dense", checkpoints=ck), data=concrete(case.data))


@pytest.fixture(scope="module")
def leaky_dense() -> Trajectory:
    return dense_run("leaky_relu", 3000)


@pytest.mark.claim("KCG-5.2")
def test_lemma_5_2_on_the_dense_oracle(leaky_dense: Trajectory) -> None:
    assert leaky_dense.engine == "dense" and "rho_kappa" in leaky_dense.extra
    for chk in (check_update_rule, check_monotone, check_sign_structure):
        res = chk(leaky_dense)
        assert res.held and res.margin >= 0, res
    assert check_update_rule(leaky_dense).implied["pairs"] >= len(EARLY) - 1


@pytest.mark.claim("KCG-5.7")
def test_lemma_5_7_on_the_dense_oracle(leaky_dense: Trajectory) -> None:
    assert leaky_dense.pattern_frozen_at < leaky_dense.times[-1] // 2
    res = check_equal_increments(leaky_dense)
    assert res.held and res.margin > 0, res


@pytest.mark.claim("KCG-F2", "KCG-5.8")
def test_lemma_f2_and_5_8_on_the_dense_oracle() -> None:
    traj = dense_run("relu", 3000, orthogonal=True)
    parts = {r.claim: r for r in check_orthogonal_relu_pattern(traj)}
    for part in ("KCG-F2:dead", "KCG-F2:active", "KCG-F2:equal"):
        assert parts[part].held, parts[part]
    assert check_relu_class_neurons_stay_active(traj).held


def kicked_loop(kick: float, steps: int = 3000, at: int = 2000) -> Trajectory:
    """The leaky dense case as a plain torch GD loop recorded with ``sim.Recorder``; at step ``at`` one neuron's
    weight vector is multiplied by (1 + kick): no GD step does that."""
    case = fixed_case("leaky_relu", gamma=0.5, n=6, m=8, d=D, u=0.5, steps=steps, sigma_frac=0.01)
    data = concrete(case.data)
    cfg = case.cfg
    ref = simulate(cfg.with_(engine="dense", steps=1, checkpoints=[0, 1]), data=data)  # the same W(0)
    net = TwoLayerNet(ref.init.W0, cfg.second_layer, cfg.activation, cfg.slope)
    opt = torch.optim.SGD(net.parameters(), lr=cfg.eta)
    Xt, yt = torch.tensor(data.X), torch.tensor(data.y)
    rec = Recorder(data.X, data.y, network="kcg", activation="leaky_relu", gamma=cfg.gamma, eta=cfg.eta,
                   sigma0=cfg.sigma0)
    for t in range(steps + 1):
        rec.step(t, net.W)
        if t == steps:
            break
        opt.zero_grad()
        torch.nn.functional.softplus(-yt * net(Xt)).mean().backward()
        opt.step()
        if t + 1 == at and kick:
            with torch.no_grad():
                net.W[0] *= 1 + kick
    return rec.trajectory()


@pytest.mark.falsify
@pytest.mark.claim("KCG-5.7")
def test_a_kick_after_the_freeze_breaks_lemma_5_7_on_recorded_weights() -> None:
    clean = check_equal_increments(kicked_loop(0.0))
    assert clean.held, clean
    res = check_equal_increments(kicked_loop(1e-9))
    assert res.outcome == "failed" and res.margin < -10, res
    assert res.where["t"] >= 2000
