"""Hypothesis generation that depends on the test (or hunt) and its seed only.

Hypothesis (>= 6.131) mixes constants harvested from every *local* module loaded so far (``sys.modules``)
into generation (``providers._get_local_constants``).  Which modules a process has loaded depends on what
it ran before (lazy imports; under xdist, which tests a worker happened to get), so a derandomized
profile drew different examples from run to run (issue 11: one test drew seed 784 in some runs, 1000 in
others).  :func:`fix_generation` fixes the local pool to empty; ``conftest.py`` and the hunts call it.
It patches a private function, hence Hypothesis is pinned exactly (``constraints.txt``) and
``tests/internal/test_generation.py`` fails if the hook disappears.
"""

from __future__ import annotations

from hypothesis.internal.conjecture import providers as _providers

_EMPTY = _providers.Constants()


def _no_local_constants() -> _providers.Constants:
    return _EMPTY


def fix_generation() -> None:
    """Make Hypothesis ignore constants harvested from loaded modules (idempotent)."""
    _providers._get_local_constants = _no_local_constants


def generation_is_fixed() -> bool:
    return _providers._get_local_constants is _no_local_constants
