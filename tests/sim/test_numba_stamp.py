"""``sim._numba_stamp``: cached compiled functions of the project are stamped with all of ``sim``'s sources."""

from __future__ import annotations

import os
import time
from pathlib import Path

from numba.core import caching

from sim import _numba_stamp, kernel
from sim._numba_stamp import SIM_STAMP, SimInTreeLocator, SimUserWideLocator, sources_stamp


def _locator(fn):  # type: ignore[no-untyped-def]
    """The locator numba chose for a compiled function's on-disk cache."""
    return fn._cache._impl._locator


def test_sim_and_test_functions_carry_the_sim_stamp() -> None:
    from tests.sim.test_lean import _pieces

    for fn in (kernel.run_steps, _pieces):
        loc = _locator(fn)
        assert isinstance(loc, SimInTreeLocator | SimUserWideLocator | _numba_stamp.SimUserProvidedLocator)
        own, sim = loc.get_source_stamp()
        assert sim == SIM_STAMP and own is not None
        assert any(name == "simd_wide.py" for name, _, _ in sim)


def test_functions_elsewhere_keep_numbas_locators(tmp_path: Path) -> None:
    src = tmp_path / "elsewhere.py"
    src.write_text("def f(x):\n    return x + 1\n")
    namespace: dict = {}
    exec(compile(src.read_text(), str(src), "exec"), namespace)
    assert SimInTreeLocator.from_function(namespace["f"], str(src)) is None
    loc = caching.CompileResultCacheImpl(namespace["f"])._locator
    assert not isinstance(loc, _numba_stamp._SimStamped)


def test_an_edit_changes_the_stamp(tmp_path: Path) -> None:
    """A new mtime or size of any source makes a new stamp (numba then finds the cache index stale)."""
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("y = 2\n")
    before = sources_stamp(tmp_path)
    assert [name for name, _, _ in before] == ["a.py", "b.py"]
    later = time.time_ns() + 10**9
    os.utime(tmp_path / "b.py", ns=(later, later))
    assert sources_stamp(tmp_path) != before
    touched = sources_stamp(tmp_path)
    (tmp_path / "a.py").write_text("x = 10\n")
    os.utime(tmp_path / "a.py", ns=(touched[0][1], touched[0][1]))  # the same mtime, another size
    assert sources_stamp(tmp_path) != touched


def test_installing_twice_changes_nothing() -> None:
    first = list(caching.CacheImpl._locator_classes)
    _numba_stamp.install()
    assert caching.CacheImpl._locator_classes == first
    assert first[:3] == [_numba_stamp.SimUserProvidedLocator, SimInTreeLocator, SimUserWideLocator]


def test_a_checkout_reached_through_a_symlink_keeps_the_stamp(tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(Path(kernel.__file__).resolve().parent.parent, target_is_directory=True)
    loc = SimInTreeLocator.from_function(kernel.run_steps.py_func, str(link / "sim" / "kernel.py"))
    assert loc is not None and loc.get_source_stamp()[1] == SIM_STAMP
