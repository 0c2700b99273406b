"""No compiled function of ``sim`` has a default argument.

numba's dispatcher folds omitted arguments on a slow path: on 2026-12-07 a call of
``frozen_kernel.frozen_steps`` that left ``max_block`` to its default took 300-480 us to dispatch (0 steps),
against 7-12 us with every argument passed -- a frozen-pattern segment's whole cost at small n.  With no
defaults every caller passes every argument, and a caller that forgets one fails at once.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from numba.core.registry import CPUDispatcher

import sim


def compiled_functions() -> list[tuple[str, CPUDispatcher]]:
    out = []
    for info in pkgutil.walk_packages(sim.__path__, prefix="sim."):
        mod = importlib.import_module(info.name)
        out += [(f"{mod.__name__}.{name}", obj) for name, obj in vars(mod).items()
                if isinstance(obj, CPUDispatcher) and obj.__module__ == mod.__name__]
    return sorted(out, key=lambda kv: kv[0])


def test_the_survey_finds_the_engines_kernels() -> None:
    names = {name for name, _ in compiled_functions()}
    assert {"sim.kernel.run_steps", "sim.frozen_kernel.frozen_steps", "sim.kernel.preactivations"} <= names


@pytest.mark.parametrize("name,fn", compiled_functions(), ids=lambda v: v if isinstance(v, str) else "")
def test_no_defaults(name: str, fn: CPUDispatcher) -> None:
    params = inspect.signature(fn.py_func).parameters.values()
    defaults = [p.name for p in params if p.default is not inspect.Parameter.empty]
    assert not defaults, f"{name} has default arguments {defaults}: pass them at every call instead"


def test_a_default_is_caught() -> None:
    """The check above sees a default where there is one."""
    from numba import njit

    @njit
    def f(x: float, k: int = 2) -> float:
        return x * k

    with pytest.raises(AssertionError, match=r"\['k'\]"):
        test_no_defaults("f", f)
