"""``python -m invariants power``: the smallest planted deviation each check detects, at the default
profile's horizon and (``--deep``) at the deep profile's (``invariants._internal.power``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._internal.claim import load_all
from .._internal.errors import UsageError
from .._internal.jsonout import dumps
from .._internal.power import DEVIATIONS, Power, eps_text, smallest_detected
from .._internal.profiles import HORIZON_SCALE

BASE_HORIZON = 20_000  # the property tests' horizon under the ci profile (kcg_cases' default steps)


def selected(claims: list[str] | None) -> list[str]:
    load_all()
    ids = sorted(DEVIATIONS)
    if not claims:
        return ids
    out = [i for i in ids if any(i == c or i.startswith(c + ":") or i.startswith(c) for c in claims)]
    if not out:
        raise UsageError(f"--claim {', '.join(claims)}: no deviation family; power is measured for: {', '.join(ids)}")
    return out


def measure(claims: list[str] | None = None, deep: bool = False) -> list[Power]:
    horizons = [BASE_HORIZON] + ([BASE_HORIZON * HORIZON_SCALE["deep"]] if deep else [])
    return [smallest_detected(DEVIATIONS[cid], h) for cid in selected(claims) for h in horizons]


def as_json(rows: list[Power]) -> dict[str, Any]:
    """{claim: {"deviation", "epsilon", "horizon", ...}}; with --deep, "deep" holds the longer horizon's row."""
    out: dict[str, Any] = {}
    for p in rows:
        if p.claim in out:
            out[p.claim]["deep"] = p.to_json()
        else:
            out[p.claim] = p.to_json()
    return out


def table(rows: list[Power]) -> list[str]:
    head = f"{'result':<16} {'horizon':>9} {'detects eps >=':>16} {'target':>7} {'met':>4}  deviation planted"
    lines = [head, "-" * len(head)]
    for p in rows:
        lines.append(f"{p.claim:<16} {p.horizon:>9} {eps_text(p.epsilon, p.kind):>16} {p.target:>7g} "
                     f"{'yes' if p.meets_target else 'NO':>4}  {p.deviation}")
    return lines


def main_power(claims: list[str] | None, json_path: str | None, deep: bool) -> int:
    if json_path:
        parent = Path(json_path).resolve().parent
        if not parent.is_dir():
            raise UsageError(f"--json {json_path}: the directory {parent} does not exist")
    rows = measure(claims, deep)
    for line in table(rows):
        print(line)
    if json_path:
        Path(json_path).write_text(dumps(as_json(rows)))
        print(f"written to {json_path}")
    return 0


def detects(rows: list[Power]) -> dict[str, str]:
    """Result ID -> the table's "detects" cell (the default horizon's row)."""
    out: dict[str, str] = {}
    for p in rows:
        out.setdefault(p.claim, eps_text(p.epsilon, p.kind) + ("" if p.meets_target else " (!)"))
    return out
