"""Budgets that depend on the Hypothesis profile (``ci``, ``dev``, ``deep``; see ``conftest.py``)."""

from __future__ import annotations

from hypothesis import settings

HORIZON_SCALE = {"ci": 1, "dev": 3, "deep": 100}


def profile_name() -> str:
    """The name of the active Hypothesis profile (public API)."""
    return str(settings.get_current_profile_name())


def horizon(base: int) -> int:
    """Steps for a long-horizon check, scaled by the Hypothesis profile (deep: 100x)."""
    return base * HORIZON_SCALE.get(profile_name(), 1)

HUNT_BUDGET = {"ci": 6, "dev": 20, "deep": 60}  # examples per in-regime adversarial hunt (tests/.../test_adversarial)


def hunt_budget() -> int:
    """Examples per in-regime adversarial hunt under the active profile (ci 6, dev 20, deep 60)."""
    return HUNT_BUDGET.get(profile_name(), HUNT_BUDGET["ci"])
