"""The layout's rules, checked on the source: no import cycle inside ``invariants`` or ``sim`` (imports inside
functions included), paper packages import only the machinery, their own package and ``sim``, and the
machinery imports no paper and no workflow."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAPERS = ("kcg", "fvb", "st")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names), wherever the import statement sits."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}  # ``from pkg import module``
    return out


def graph(top: str) -> dict[str, set[str]]:
    files = {module_name(p): p for p in (REPO / top).rglob("*.py")}
    return {m: {i for i in imports_of(p) if i in files and i != m} for m, p in files.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def _parent_packages(g: dict[str, set[str]]) -> dict[str, set[str]]:
    """Importing ``a.b.c`` imports ``a`` and ``a.b`` too; a package's ``__init__`` is an edge target."""
    return {m: deps | {".".join(d.split(".")[:k]) for d in deps for k in range(1, d.count(".") + 1)} & set(g)
            for m, deps in g.items()}


@pytest.mark.parametrize("top", ["invariants", "sim"])
def test_no_import_cycle(top: str) -> None:
    g = _parent_packages(graph(top))
    # a package's own __init__ importing its children is not a cycle through the child
    g = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in g.items()}
    assert cycles(g) == []


def test_cycle_finder_finds_a_planted_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("paper", PAPERS)
def test_paper_packages_import_only_machinery_their_own_package_and_sim(paper: str) -> None:
    g = graph("invariants")
    for mod, deps in g.items():
        if not mod.startswith(f"invariants.{paper}"):
            continue
        bad = {d for d in deps if not d.startswith((f"invariants.{paper}", "invariants._internal"))}
        assert not bad, f"{mod} imports {bad}"


def test_machinery_imports_no_paper_and_no_workflow() -> None:
    g = graph("invariants")
    for mod, deps in g.items():
        if mod.startswith("invariants._internal"):
            assert all(d.startswith("invariants._internal") for d in deps), (mod, deps)
