"""Run configuration: network, activation, loss, step, init, horizon, data and seed.

Two parameterizations, exactly as the papers write them (``../shared/claims.md``, "Settings"):

* ``network="kcg"`` (Kou, Chen, Gu 2023, eq. 3.1): m positive and m negative neurons, second layer
  fixed at +-1/m; ReLU or leaky ReLU; logistic loss.
* ``network="fvb"`` (Frei, Vardi, Bartlett, Srebro, Hu 2023): m = m1 + m2 neurons, second layer
  +-1/sqrt(m); any activation (the GD theorem uses the smoothed leaky one); logistic or exponential.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .errors import require, require_real

ACTIVATIONS = ("relu", "leaky_relu", "smoothed_leaky")
LOSSES = ("logistic", "exponential")
NETWORKS = ("kcg", "fvb")
DATA_KINDS = ("gaussian_mixture", "iid_gaussian", "orthogonal", "equicorrelated", "nearly_orthogonal")
ENGINES = ("auto", "span", "dense")


@dataclass(frozen=True)
class DataSpec:
    """How ``simulate`` draws a data set when none is given.

    kind:
      * ``gaussian_mixture`` -- x = y mu + xi, mu ~ N(0, sigma_mu^2 I), xi ~ N(0, sigma_p^2 I)
        (KCG section 6; the defaults are its synthetic experiment: mu ~ N(0, 1e-4 I), sigma_p = 1);
      * ``iid_gaussian`` -- x ~ N(0, sigma_p^2 I);
      * ``orthogonal`` -- mutually orthogonal points of norm sqrt(d) * sigma_p (p = 0);
      * ``equicorrelated`` -- G = R^2 ((1 - c) I + c y y^T) with c = p_ratio, so p / R_min^2 = p_ratio;
      * ``nearly_orthogonal`` -- random Gram with norms in [R_min, norm_ratio R_min] and off-diagonal
        entries in [-p, p], one of them at exactly +-p, p = p_ratio * R_min^2.
    virtual: ``None`` draws X when d <= ``VIRTUAL_ABOVE_D`` and a Gram matrix otherwise (notes §3).
    labels: ``balanced`` (n//2 of each sign, shuffled) or ``random`` (i.i.d. signs, both present).
    """

    kind: str = "gaussian_mixture"
    sigma_mu: float = 1e-2
    sigma_p: float = 1.0
    p_ratio: float = 0.0
    norm_ratio: float = 1.0
    virtual: bool | None = None
    labels: str = "balanced"

    def __post_init__(self) -> None:
        for name in ("sigma_mu", "sigma_p", "p_ratio", "norm_ratio"):
            require_real(f"DataSpec.{name}", getattr(self, name))
        require(self.virtual is None or isinstance(self.virtual, bool), "DataSpec.virtual", "None, True or False",
                self.virtual)
        require(self.kind in DATA_KINDS, "DataSpec.kind", f"one of {DATA_KINDS}", self.kind)
        require(self.labels in ("balanced", "random"), "DataSpec.labels", "'balanced' or 'random'",
                self.labels)
        require(math.isfinite(self.sigma_mu) and self.sigma_mu >= 0, "DataSpec.sigma_mu",
                "a finite number >= 0", self.sigma_mu)
        require(math.isfinite(self.sigma_p) and self.sigma_p > 0, "DataSpec.sigma_p",
                "a finite number > 0", self.sigma_p)
        require(math.isfinite(self.p_ratio) and 0 <= self.p_ratio < 1, "DataSpec.p_ratio",
                "in [0, 1)", self.p_ratio)
        require(math.isfinite(self.norm_ratio) and self.norm_ratio >= 1, "DataSpec.norm_ratio",
                "a finite number >= 1", self.norm_ratio)


VIRTUAL_ABOVE_D = 4096


@dataclass(frozen=True)
class SimConfig:
    """One GD run.  Validated on construction; every error names the parameter and its range.

    ``m`` is the number of neurons of each sign for ``network="kcg"`` and the total width
    m = m1 + m2 for ``network="fvb"`` (default split m1 = ceil(m/2), m2 = floor(m/2)).
    ``sigma0`` is the standard deviation of every entry of W(0).  ``checkpoints`` names the steps
    to record (0 and ``steps`` are always added); ``None`` gives ``num_checkpoints`` log-spaced ones.
    """

    activation: str = "leaky_relu"
    gamma: float | None = None
    n: int = 10
    d: int = 784
    m: int = 100
    eta: float = 0.1
    sigma0: float = 1e-4
    steps: int = 10_000
    seed: int = 0
    checkpoints: Sequence[int] | None = None
    num_checkpoints: int = 60
    network: str = "kcg"
    loss: str = "logistic"
    m1: int | None = None
    m2: int | None = None
    data: DataSpec = field(default_factory=DataSpec)
    engine: str = "auto"

    def __post_init__(self) -> None:
        require(self.activation in ACTIVATIONS, "activation", f"one of {ACTIVATIONS}", self.activation)
        if self.activation == "relu":
            require(self.gamma is None, "gamma", "None for activation='relu' (ReLU has no slope)",
                    self.gamma)
        else:
            require_real("gamma", self.gamma, f"in (0, 1) for activation={self.activation!r}")
            require(self.gamma is not None and math.isfinite(self.gamma) and 0 < self.gamma < 1,
                    "gamma", f"in (0, 1) for activation={self.activation!r}", self.gamma)
        require(self.network in NETWORKS, "network", f"one of {NETWORKS}", self.network)
        require(self.loss in LOSSES, "loss", f"one of {LOSSES}", self.loss)
        require(self.engine in ENGINES, "engine", f"one of {ENGINES}", self.engine)
        for name in ("n", "d", "m", "steps", "seed", "num_checkpoints"):
            value = getattr(self, name)
            require(isinstance(value, int | np.integer) and not isinstance(value, bool), name, "an integer",
                    value)
        require(self.n >= 2, "n", "an integer >= 2", self.n)
        require(self.d >= self.n, "d", f"an integer >= n = {self.n} (the data must span n dimensions)",
                self.d)
        require(self.m >= 1, "m", "an integer >= 1", self.m)
        require(self.steps >= 0, "steps", "an integer >= 0", self.steps)
        require(self.seed >= 0, "seed", "an integer >= 0", self.seed)
        require(self.num_checkpoints >= 2, "num_checkpoints", "an integer >= 2", self.num_checkpoints)
        require_real("eta", self.eta, "a finite number > 0")
        require_real("sigma0", self.sigma0, "a finite number > 0")
        require(isinstance(self.data, DataSpec), "data", "a DataSpec (for instance DataSpec(kind='orthogonal'); "
                "SimConfig.from_dict takes a dict)", self.data)
        for name in ("m1", "m2"):
            value = getattr(self, name)
            require(value is None or (isinstance(value, int | np.integer) and not isinstance(value, bool)), name,
                    "None or an integer", value)
        require(math.isfinite(self.eta) and self.eta > 0, "eta", "a finite number > 0", self.eta)
        require(math.isfinite(self.sigma0) and self.sigma0 > 0, "sigma0", "a finite number > 0",
                self.sigma0)
        if self.network == "kcg":
            require(self.m1 is None and self.m2 is None, "m1/m2",
                    "None for network='kcg' (it has m neurons of each sign)", (self.m1, self.m2))
        else:
            require(self.m >= 2, "m", "an integer >= 2 for network='fvb' (m1, m2 >= 1)", self.m)
            m1, m2 = self.widths
            require(m1 >= 1 and m2 >= 1 and m1 + m2 == self.m, "m1/m2",
                    f"positive integers with m1 + m2 = m = {self.m}", (self.m1, self.m2))
        if self.checkpoints is not None:
            ck = np.asarray(self.checkpoints)
            require(ck.ndim == 1 and (ck.size == 0 or (np.issubdtype(ck.dtype, np.integer)
                    and bool(np.all((ck >= 0) & (ck <= self.steps))))),
                    "checkpoints", f"a sequence of integer steps in [0, steps = {self.steps}]",
                    self.checkpoints)
            object.__setattr__(self, "checkpoints", tuple(int(c) for c in ck.reshape(-1)))

    # ---- derived quantities -------------------------------------------------------------------
    @property
    def widths(self) -> tuple[int, int]:
        """(number of positive neurons, number of negative neurons)."""
        if self.network == "kcg":
            return self.m, self.m
        if self.m1 is not None and self.m2 is not None:
            return self.m1, self.m2
        if self.m1 is not None:
            return self.m1, self.m - self.m1
        if self.m2 is not None:
            return self.m - self.m2, self.m2
        return self.m - self.m // 2, self.m // 2

    @property
    def second_layer(self) -> np.ndarray:
        """a_k for every neuron, positive block first: +-1/m (KCG) or +-1/sqrt(m) (FVB)."""
        m1, m2 = self.widths
        scale = 1.0 / self.m if self.network == "kcg" else 1.0 / math.sqrt(self.m)
        return np.concatenate([np.full(m1, scale), np.full(m2, -scale)])

    @property
    def slope(self) -> float:
        """gamma, or 0.0 for ReLU."""
        return 0.0 if self.gamma is None else float(self.gamma)

    def checkpoint_steps(self) -> np.ndarray:
        """Sorted unique recorded steps; always contains 0 and ``steps``."""
        if self.checkpoints is not None:
            ck = np.asarray(self.checkpoints, dtype=np.int64).reshape(-1)
        elif self.steps <= 1:
            ck = np.arange(self.steps + 1)
        else:
            ck = np.round(np.geomspace(1, self.steps, self.num_checkpoints - 1)).astype(np.int64)
        return np.unique(np.concatenate([[0, self.steps], ck])).astype(np.int64)

    def with_(self, **changes: object) -> SimConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, object]:
        """A JSON-able dict that :meth:`from_dict` turns back into an equal config."""
        out = {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "data"}
        if out["checkpoints"] is not None:
            out["checkpoints"] = [int(c) for c in out["checkpoints"]]
        out["data"] = {f: getattr(self.data, f) for f in self.data.__dataclass_fields__}
        return out

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> SimConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error naming them."""
        d = dict(d)
        unknown = set(d) - set(cls.__dataclass_fields__)
        require(not unknown, "config", f"keys among {sorted(cls.__dataclass_fields__)}", sorted(unknown))
        data = d.pop("data", None)
        if isinstance(data, dict):
            bad = set(data) - set(DataSpec.__dataclass_fields__)
            allowed = sorted(DataSpec.__dataclass_fields__)
            require(not bad, "config.data", f"keys among {allowed}", sorted(bad))
            d["data"] = DataSpec(**data)
        return cls(**d)  # type: ignore[arg-type]
