"""Project-wide pytest configuration: Hypothesis profiles and the margins-report plugin.

Profiles (select with ``--hypothesis-profile=NAME`` or ``HYPOTHESIS_PROFILE=NAME``):

* ``ci`` (the default): derandomized, few examples, no per-example deadline -- the same command gives
  the same verdicts, on any machine, under xdist.
* ``dev``: random exploration with the example database, more examples.
* ``deep``: 50 examples per property, horizons x100 (``invariants.kcg.regime.horizon``): the long-horizon tests of
  the rate claims (KCG-4.1a/b/c, B1/B4, B3, MRG, 5.5, F2, F3; 3e5 - 1e7 steps in every profile) then run
  3e7 - 1e9 steps; slow tests on.  Hours on 2 cores: for a dedicated run, not for CI.

No profile has a per-example deadline: simulation time varies with machine load, and a slow replay
must not turn into ``Flaky``.
"""

from __future__ import annotations

import os

# One BLAS thread: the simulator's linear algebra is on small matrices (an M x M eigvalsh per
# checkpoint), where threads only contend -- 4x slower on 2 cores -- and xdist already uses every core.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from hypothesis import settings  # noqa: E402

from invariants._internal.generation import fix_generation  # noqa: E402
from invariants._internal.profiles import is_registered, register_profiles  # noqa: E402

# Generation depends on the test and the profile only, not on which modules a worker happened to load
# (see ``invariants._internal.generation``).
fix_generation()

# the profiles live in ``invariants._internal.profiles`` (the plugin registers them as nearorth-* in any
# project); an unknown HYPOTHESIS_PROFILE is a usage error (``pytest_configure`` below), not an import error
register_profiles(prefix="")  # ci, dev, deep here (over Hypothesis' built-in ci)
_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if is_registered(_PROFILE):
    settings.load_profile(_PROFILE)

pytest_plugins = ["invariants.plugin"]


def pytest_configure(config: object) -> None:
    """An unknown HYPOTHESIS_PROFILE is a usage error naming the known ones (not a run under another)."""
    import pytest

    name = os.environ.get("HYPOTHESIS_PROFILE")
    if name is not None and not is_registered(name):
        raise pytest.UsageError(f"HYPOTHESIS_PROFILE={name!r} is not a registered Hypothesis profile; this "
                                f"repository's are ci, dev, deep (nearorth-ci, -dev, -deep in any project)")
