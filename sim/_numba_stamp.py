"""numba's on-disk cache, made to notice edits in the files a compiled function draws code from.

numba judges a cached function stale by its own source file's stamp only, yet the machine code it caches
includes what the function calls and inlines from other files: the vector code of ``sim.simd`` and
``sim.simd_wide``, the kernels of ``sim.kernel``.  After an edit there, a caller in another file would go
on running the old code (seen: a planted bug in ``sim.simd_wide`` passed the tests of
``tests/sim/test_lean.py``, whose compiled helpers came from the cache).  The locators here stamp every
function defined under ``sim/``, ``tests/`` and ``benchmarks/`` with its own file's stamp and those of all
of ``sim``'s sources, as they were when ``sim`` was imported: an edit in ``sim`` recompiles them all.
Functions elsewhere keep numba's own locators.  Installing them is idempotent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from numba.core import caching

_SIM = Path(__file__).resolve().parent
_ROOTS = tuple(f"{p}{os.sep}" for p in (_SIM, _SIM.parent / "tests", _SIM.parent / "benchmarks"))


def sources_stamp(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """(name, mtime in ns, size) of every ``*.py`` in ``directory``, sorted by name."""
    return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in directory.glob("*.py")))


SIM_STAMP = sources_stamp(_SIM)


class _SimStamped:
    """Mixin: the source stamp of numba's locator, with ``SIM_STAMP``; only for files under ``_ROOTS``."""

    def get_source_stamp(self) -> Any:
        return (super().get_source_stamp(), SIM_STAMP)  # type: ignore[misc]

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> Any:
        if not os.path.realpath(py_file).startswith(_ROOTS):  # _SIM is resolved too (symlinks followed)
            return None
        return super().from_function(py_func, py_file)  # type: ignore[misc]


class SimUserProvidedLocator(_SimStamped, caching.UserProvidedCacheLocator):
    pass


class SimInTreeLocator(_SimStamped, caching.InTreeCacheLocator):
    pass


class SimUserWideLocator(_SimStamped, caching.UserWideCacheLocator):
    pass


def install() -> None:
    """Put the stamped locators ahead of numba's, in numba's order (a user's ``NUMBA_CACHE_DIR`` first)."""
    ours = [SimUserProvidedLocator, SimInTreeLocator, SimUserWideLocator]
    rest = [c for c in caching.CacheImpl._locator_classes if c not in ours]
    caching.CacheImpl._locator_classes = ours + rest


install()
