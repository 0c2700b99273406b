"""``python -m invariants claims [ID]``: the registry as a table, or one claim in full.

The page of a claim shows what its hub entry knows (statement, reading, regime, declared constants,
axes, walks, proof dependencies, checks with ``path:line``) and the tests that carry its marker, found by
reading the test files (``@pytest.mark.claim(...)`` decorators and module-level ``pytestmark``).
"""

from __future__ import annotations

import ast
import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

from .._internal.claim import get, load_all

TESTS_DIR = Path(__file__).resolve().parents[2] / "tests"


@dataclass(frozen=True)
class MarkedTest:
    claim: str
    name: str
    path: Path
    line: int
    falsify: bool

    @property
    def location(self) -> str:
        try:
            p = os.path.relpath(self.path)
        except ValueError:  # pragma: no cover
            p = str(self.path)
        return f"{p}:{self.line}"


def _marks(decorators: list[ast.expr]) -> tuple[list[str], bool]:
    """(claim IDs, falsify?) of ``@pytest.mark.claim(...)`` / ``@pytest.mark.falsify`` decorators."""
    ids, falsify = [], False
    for d in decorators:
        call = d if isinstance(d, ast.Call) else None
        target = call.func if call else d
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Attribute) \
                and target.value.attr == "mark":
            if target.attr == "claim" and call:
                ids += [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            elif target.attr == "falsify":
                falsify = True
    return ids, falsify


def marked_tests(root: Path = TESTS_DIR) -> list[MarkedTest]:
    """Every test function under ``root`` with its claim markers (module-level ``pytestmark`` included)."""
    out: list[MarkedTest] = []
    for path in sorted(root.rglob("test_*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        module_ids: list[str] = []
        module_falsify = False
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark"
                                                    for t in node.targets):
                vals = node.value.elts if isinstance(node.value, ast.List | ast.Tuple) else [node.value]
                ids, fz = _marks(list(vals))
                module_ids += ids
                module_falsify |= fz
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                ids, fz = _marks(node.decorator_list)
                line = min([node.lineno] + [d.lineno for d in node.decorator_list])
                for cid in dict.fromkeys(module_ids + ids):
                    out.append(MarkedTest(cid, node.name, path, line, fz or module_falsify))
    return out


DEFAULT_FOUND = Path("report") / "report.json"


def found_verdicts(path: Path | None) -> tuple[dict[str, str], str]:
    """Per claim ID, the verdicts a report (or ``--margins-json`` file) found, joined over the claim's parts
    (``KCG-F2:equal`` and ``KCG-F2:dead`` both count for KCG-F2); and a line saying where they came from."""
    import json
    import time

    from .._internal.errors import UsageError

    explicit = path is not None
    path = path or DEFAULT_FOUND
    if not path.exists():
        if explicit:
            raise UsageError(f"--found {path}: no such file")
        return {}, (f"found: no report at {path} yet (./run.sh report writes one; ./run.sh test --margins-json "
                    "PATH writes the table's source, then: claims --found PATH)")
    try:
        agg = json.loads(path.read_text())["claims"]
        by_claim: dict[str, set[str]] = {}
        for rid, a in agg.items():
            by_claim.setdefault(rid.split(":")[0], set()).add(str(a["verdict"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise UsageError(f"--found {path}: not a report or margins JSON ({type(e).__name__}: {e})") from None
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
    return {cid: "/".join(sorted(v)) for cid, v in by_claim.items()}, f"found: from {path} (written {stamp})"


def declared(c: object) -> str:
    """What the registry declares: 'holds' or 'fails' for an asserted claim, 'measured' for one the suite
    measures and never asserts (figures, open questions, conjectures)."""
    return "measured" if c.status == "measured" else c.expected if c.status == "checked" else "unchecked"  # type: ignore[attr-defined]


def claims_table(found_path: Path | None = None) -> str:
    """One row per claim: what is declared beside what the last report found, and where it is in the paper."""
    found, source = found_verdicts(found_path)
    head = (f"{'claim':<14} {'kind':<16} {'declared':<9} {'found':<20} {'regime':<7} {'checks':>6}  where")
    lines = [head, "-" * len(head)]
    for cid, c in sorted(load_all().items()):
        lines.append(f"{cid:<14} {c.kind:<16} {declared(c):<9} {found.get(cid, '-'):<20} {c.regime or '-':<7} "
                     f"{len(c.checks):>6}  {c.where}")
    lines += ["declared: holds / fails (asserted; a reading the suite shows false is declared 'fails'), measured "
              "(reported, never asserted), unchecked (the reason is on the claim's page).", source]
    return "\n".join(lines)


def claim_page(claim_id: str) -> str:
    """Everything the hub knows about one claim, with ``path:line`` of its checks and tests.  A result ID
    (``KCG-F2:active``, as the tables print them) shows its claim's page, which says so first."""
    head: list[str] = []
    if ":" in claim_id:
        head = [f"{claim_id} is a result of {claim_id.split(':')[0]} (its checks return it); the claim:", ""]
        claim_id = claim_id.split(":")[0]
    c = get(claim_id)

    def para(label: str, text: str) -> list[str]:
        if not text:
            return []
        return [f"{label}:", *textwrap.wrap(text, 100, initial_indent="  ", subsequent_indent="  ")]

    out = [f"{c.id}  ({c.paper}, {c.where})", f"kind: {c.kind}; status: {c.status}; expected: {c.expected}"]
    out += para("statement (as encoded)", c.statement)
    out += para("reading", c.reading)
    out += para("assumptions", c.assumptions)
    if c.reason:
        out += para("why unchecked", c.reason)
    pred = getattr(c.in_regime, "__name__", None)
    out.append(f"network: {c.network or '-'}; activation: {c.activation or '-'}; regime family: "
               f"{c.regime or '-'}{'; orthogonal data' if c.orthogonal else ''}; in_regime: {pred or '-'}")
    if c.declared:
        out.append("declared constants:")
        for k, v in c.declared.items():
            out += textwrap.wrap(f"{k} = {v:g}  ({c.sources.get(k, 'source not recorded')})", 100,
                                 initial_indent="  ", subsequent_indent="    ")
    out.append(f"axes: {', '.join(c.axes) or '-'}")
    out.append("report walks: " + (", ".join(f"{a} ({g})" for a, g in c.walks) or "-"))
    out.append(f"proof uses: {', '.join(c.uses) or '-'}")
    used_by = sorted(k for k, v in load_all().items() if c.id in v.uses)
    out.append(f"used by: {', '.join(used_by) or '-'}")
    out.append("checks:")
    out += [f"  {s.location}  {s.name}  (takes {s.takes}{'; decides hunts' if s.hunt else ''})"
            for s in c.checks] or ["  (none registered)"]
    tests = [t for t in marked_tests() if t.claim == c.id]
    out.append("tests:")
    out += [f"  {t.location}  {t.name}{'  [falsify]' if t.falsify else ''}" for t in tests] or ["  (none)"]
    return "\n".join(head + out)


def constants_table() -> str:
    """Every declared constant of every claim, its value and where it comes from (``Claim.sources``), as the
    Markdown table of ``docs/constants.md`` (``python -m invariants claims --constants`` writes it)."""
    rows = ["| claim | constant | value | from | how |", "|---|---|---|---|---|"]
    counts = {"paper": 0, "measured": 0, "choice": 0, "not recorded": 0}
    for cid, c in sorted(load_all().items()):
        for k, v in c.declared.items():
            src = c.sources.get(k, "")
            tag, _, how = src.partition(":") if src else ("not recorded", "", "")
            counts[tag] += 1
            rows.append(f"| {cid} | {k} | {v:g} | {tag} | {how.strip().replace('|', '/')} |")
    summary = ", ".join(f"{n} {t}" for t, n in counts.items() if n)
    return "\n".join(["# Declared constants and where they come from", "",
                      "Generated by `python -m invariants claims --constants` from the registry "
                      "(`Claim.sources`); do not edit by hand. `paper`: stated in, or derived from, the paper's "
                      "proof; `measured`: set here after measuring runs (the implied values are in the margins "
                      "table); `choice`: a convention of the suite (a tolerance, a window, a round value).", "",
                      f"{sum(counts.values())} constants: {summary}.", "", *rows, ""])
