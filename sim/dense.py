"""Dense reference engine: the weights themselves, gradients by autograd, plain ``torch.optim.SGD``.

Written the way the papers' experiments are (an ``nn.Module``, autograd, SGD), in float64.  It is the
oracle the span engine is tested against, and the baseline of the benchmark.

ReLU'(0): autograd's ``relu`` has derivative 0 at 0, while KCG takes sigma'(0) = 1 (section 3).  The
activations here are written as ``torch.where(z >= 0, z, slope * z)``, whose autograd derivative at
z = 0 is that of the selected branch, 1, so the oracle follows the papers' convention.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .config import SimConfig
from .data import Dataset
from .driver import drive
from .errors import require
from .external import span_basis
from .init import Init
from .trajectory import Trajectory

DTYPE = torch.float64


def activation(z: torch.Tensor, kind: str, gamma: float) -> torch.Tensor:
    if kind == "relu":
        return torch.where(z >= 0, z, torch.zeros_like(z))
    if kind == "leaky_relu":
        return torch.where(z >= 0, z, gamma * z)
    return gamma * z + (1.0 - gamma) * nn.functional.softplus(z)


def loss_fn(margins: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-example loss: logistic log(1 + e^{-z}) or exponential e^{-z}."""
    if kind == "logistic":
        return nn.functional.softplus(-margins)
    return torch.exp(-margins)


class TwoLayerNet(nn.Module):
    """f(W, x) = sum_k a_k sigma(<w_k, x>) with a fixed second layer a (KCG eq. 3.1 / FVB)."""

    def __init__(self, W0: np.ndarray, a: np.ndarray, kind: str, gamma: float) -> None:
        super().__init__()
        self.W = nn.Parameter(torch.tensor(W0, dtype=DTYPE))
        self.register_buffer("a", torch.tensor(a, dtype=DTYPE))
        self.kind, self.gamma = kind, gamma

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return activation(X @ self.W.T, self.kind, self.gamma) @ self.a


class DenseState:
    """A dense run: the module, its optimizer and the every-step pattern bookkeeping."""

    def __init__(self, cfg: SimConfig, data: Dataset, init: Init) -> None:
        require(data.X is not None and init.W0 is not None, "engine",
                "'span' or 'auto' for virtual data (the dense engine needs X and W0)", "dense")
        self.cfg, self.data, self.init = cfg, data, init
        self.net = TwoLayerNet(init.W0, cfg.second_layer, cfg.activation, cfg.slope)
        self.opt = torch.optim.SGD(self.net.parameters(), lr=cfg.eta)
        self.X = torch.tensor(data.X, dtype=DTYPE)
        self.y = torch.tensor(data.y, dtype=DTYPE)
        self.W0 = torch.tensor(init.W0, dtype=DTYPE)
        M, n = init.P0.shape
        self.act = self._pattern()
        self.changes = np.zeros((M, n), dtype=np.int64)
        self.last_change = np.full((M, n), -1, dtype=np.int64)
        self.t = 0
        self.Q, self.Rinv, self.kappa, self.cond_X = span_basis(data.X)

    def _pattern(self) -> np.ndarray:
        with torch.no_grad():
            return (self.net.W @ self.X.T >= 0).numpy().copy()

    def advance(self, n_steps: int) -> int | None:
        for _ in range(n_steps):
            self.opt.zero_grad()
            margins = self.y * self.net(self.X)
            loss = loss_fn(margins, self.cfg.loss).mean()
            if not bool(torch.isfinite(loss)) or not bool(torch.all(torch.isfinite(margins))):
                return self.t
            loss.backward()
            self.opt.step()
            self.t += 1
            act = self._pattern()
            changed = act != self.act
            self.changes += changed
            self.last_change[changed] = self.t
            self.act = act
        return None

    def info(self) -> dict[str, object]:
        """What the trajectory's ``extra`` records: the projection's rounding factors (``span_basis``)."""
        return {"rho_kappa": [float(v) for v in self.kappa], "rho_cond": self.cond_X}

    def observe(self, check: bool = True) -> dict[str, np.ndarray] | None:
        with torch.no_grad():
            W = self.net.W.detach()
            margins = (self.y * self.net(self.X)).numpy()
            if check and not np.all(np.isfinite(margins)):
                return None
            mt = torch.tensor(margins, dtype=DTYPE, requires_grad=True)
        with torch.enable_grad():
            per = loss_fn(mt, self.cfg.loss)
            (lp,) = torch.autograd.grad(per.sum(), mt)
        Wn = W.numpy()
        # Def. 5.1 coefficients by projection onto the data span: W - W0 = Z X, least squares through X^T = Q R
        # (sim.external.span_basis); the rounding it leaves is bounded from info()'s rho_kappa and rho_cond.
        Z = ((Wn - self.init.W0) @ self.Q) @ self.Rinv.T
        m1 = self.cfg.widths[0]
        blocks = (Wn[:m1], Wn[m1:], Wn)
        sv = [np.linalg.svd(b, compute_uv=False) for b in blocks]
        obs = {
            "loss": float(per.detach().mean()), "margins": margins, "lprime": lp.numpy(),
            "rho_flat": Z * np.diag(self.data.G)[None, :], "preact_flat": Wn @ self.data.X.T,
            "norms2_flat": np.sum(Wn**2, axis=1), "fro2": np.array([np.sum(s**2) for s in sv]),
            "spec2": np.array([s[0] ** 2 for s in sv]), "n_changes": self.changes.sum(),
        }
        if check and not all(np.all(np.isfinite(v)) for v in obs.values()):
            return None
        return obs


def run_dense(cfg: SimConfig, data: Dataset, init: Init) -> Trajectory:
    return drive(cfg, data, init, DenseState(cfg, data, init), "dense")
