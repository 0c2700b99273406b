"""Generation ignores constants harvested from loaded modules (``invariants._internal.generation``)."""

from __future__ import annotations

import sys
import types

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import providers

from invariants._internal.generation import generation_is_fixed


def test_the_hook_is_installed() -> None:
    assert generation_is_fixed()
    assert len(providers._get_local_constants().integers) == 0


def _draws() -> list[int]:
    seen: list[int] = []

    @settings(max_examples=400, derandomize=True, database=None)
    @given(st.integers(0, 10**6))
    def inner(k: int) -> None:
        seen.append(k)

    inner()
    return seen


def test_a_newly_loaded_module_does_not_change_derandomized_draws(tmp_path) -> None:
    before = _draws()
    path = tmp_path / "planted_constants.py"
    path.write_text("".join(f"PLANTED_{k} = {v}\n" for k, v in enumerate(range(123_457, 123_462))))
    mod = types.ModuleType("planted_constants")
    mod.__file__ = str(path)  # a local file: Hypothesis would harvest its integers
    exec(compile(path.read_text(), str(path), "exec"), mod.__dict__)
    sys.modules["planted_constants"] = mod
    try:
        assert _draws() == before
    finally:
        del sys.modules["planted_constants"]
