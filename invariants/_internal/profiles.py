"""Budgets that depend on the Hypothesis profile (``ci``, ``dev``, ``deep``; see ``conftest.py``)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis.errors import InvalidArgument

HORIZON_SCALE = {"ci": 1, "dev": 3, "deep": 100}
PROFILES = ("ci", "dev", "deep")
PREFIX = "nearorth-"  # the names the pytest plugin registers them under in any project (nearorth-ci, ...)


def register_profiles(prefix: str = PREFIX) -> None:
    """Register the suite's Hypothesis profiles ``ci``, ``dev`` and ``deep`` (``conftest.py`` describes them) as
    ``prefix + name``.  The plugin registers them as ``nearorth-ci`` etc. in any project (Hypothesis has a
    built-in ``ci`` profile, which it loads by itself on CI machines: the plugin leaves it alone); this
    repository's ``conftest.py`` registers them under their plain names (prefix "") for its own session.  No
    per-example deadline (simulation time varies with load); ``function_scoped_fixture`` suppressed."""
    common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                        HealthCheck.filter_too_much,
                                                        HealthCheck.function_scoped_fixture],
                  print_blob=True)
    budgets = {"ci": dict(max_examples=6, derandomize=True, database=None), "dev": dict(max_examples=30),
               "deep": dict(max_examples=50)}
    for name in PROFILES:
        settings.register_profile(prefix + name, **budgets[name], **common)  # type: ignore[arg-type]


def is_registered(name: str) -> bool:
    """Whether a Hypothesis profile of that name is registered."""
    try:
        settings.get_profile(name)
    except InvalidArgument:
        return False
    return True


def profile_name() -> str:
    """The name of the active Hypothesis profile (public API), ``nearorth-`` dropped (``register_profiles``)."""
    name = str(settings.get_current_profile_name())
    return name[len(PREFIX):] if name.startswith(PREFIX) else name


def horizon(base: int) -> int:
    """Steps for a long-horizon check, scaled by the Hypothesis profile (deep: 100x)."""
    return base * HORIZON_SCALE.get(profile_name(), 1)

HUNT_BUDGET = {"ci": 6, "dev": 20, "deep": 60}  # examples per in-regime adversarial hunt (tests/.../test_adversarial)


def hunt_budget() -> int:
    """Examples per in-regime adversarial hunt under the active profile (ci 6, dev 20, deep 60)."""
    return HUNT_BUDGET.get(profile_name(), HUNT_BUDGET["ci"])
