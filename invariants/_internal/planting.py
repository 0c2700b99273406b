"""Planted violations: copies of a trajectory with some of its arrays replaced (falsification tests)."""

from __future__ import annotations

import dataclasses

import numpy as np

from sim import Trajectory


def with_arrays(traj: Trajectory, **arrays: np.ndarray) -> Trajectory:
    """A copy of ``traj`` with some arrays replaced (the originals are never modified)."""
    return dataclasses.replace(traj, **arrays)
