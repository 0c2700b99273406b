"""Exact GD for two-layer (leaky) ReLU networks on nearly-orthogonal data.

``simulate(SimConfig(...))`` returns a :class:`Trajectory`.  See ``../shared/notes/gram-space.md`` for the
mathematics of the span engine, and the module docstrings for the papers' formulas as encoded.
"""

from . import _threads  # noqa: F401  (first: one BLAS thread before numpy is imported; see the module)

# isort: split
from . import _numba_stamp  # noqa: F401  (before any compiled function: their cache notices edits in sim)

# isort: split
from .config import DataSpec, SimConfig
from .data import (
    Dataset,
    equicorrelated_gram,
    gaussian_mixture,
    iid_gaussian,
    make_dataset,
    nearly_orthogonal_gram,
    orthogonal,
    realize,
)
from .errors import ConfigError
from .init import Init, sample_init
from .recorder import Recorder, from_weights
from .simulate import resolve, simulate
from .trajectory import Trajectory

__all__ = [
    "ConfigError", "DataSpec", "Dataset", "Init", "Recorder", "SimConfig", "Trajectory", "equicorrelated_gram",
    "from_weights", "gaussian_mixture", "iid_gaussian", "make_dataset", "nearly_orthogonal_gram", "orthogonal",
    "realize", "resolve", "sample_init", "simulate",
]
