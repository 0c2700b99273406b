"""The regression corpus: found counterexamples and pinned examples as human-readable JSON files.

One file per example under ``tests/corpus/``.  A file holds the configuration (``SimConfig.to_dict``),
the data set exactly (the Gram matrix, labels and d: a replay does not depend on a generator), the
claim, the expected outcome and margin sign, which assumption it sits past and by how much, and the
suite version that found it.  Files are validated against ``SCHEMA`` when loaded (never pickled); a
corrupt or unknown file is a :class:`CorpusError` naming the file.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim import ConfigError, Dataset, SimConfig

FORMAT = "nearorth-corpus/1"
_ROOT = Path(__file__).resolve().parents[2]
# the repository's corpus in a checkout; ./corpus in the working directory for an installed package
CORPUS_DIR = _ROOT / "tests" / "corpus" if (_ROOT / "pyproject.toml").exists() else Path.cwd() / "corpus"
OUTCOMES = ("held", "failed", "too_short", "cannot_judge", "diverged")

# field -> (type(s), required)
SCHEMA: dict[str, tuple[tuple[type, ...], bool]] = {
    "format": ((str,), True),
    "claim": ((str,), True),
    "config": ((dict,), True),
    "data": ((dict,), True),
    "expected": ((dict,), True),
    "assumption": ((dict, type(None)), False),
    "found_by": ((dict,), True),
    "note": ((str,), False),
}
EXPECTED_SCHEMA = {"outcome": (str,), "margin_sign": (int,), "margin": (float, int, type(None))}
NO_MARGIN = ("diverged", "too_short", "cannot_judge")  # outcomes whose margin may be null (the run gave no number)
DATA_SCHEMA = {"G": (list,), "y": (list,), "d": (int,)}


class CorpusError(ValueError):
    """A corpus file that does not meet the schema; the message names the file."""


@dataclass(frozen=True)
class Example:
    claim: str
    config: SimConfig
    data: Dataset
    outcome: str
    margin: float
    assumption: dict[str, Any] | None = None
    found_by: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def margin_sign(self) -> int:
        return 1 if self.margin >= 0 else -1

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "claim": self.claim,
            # the data set is stored exactly below, so the config's data recipe is left out
            "config": {k: v for k, v in self.config.to_dict().items() if k != "data"},
            "data": {"G": self.data.G.tolist(), "y": [int(v) for v in self.data.y], "d": int(self.data.d)},
            "expected": {"outcome": self.outcome, "margin_sign": self.margin_sign, "margin": _stored(self.margin)},
            "assumption": self.assumption,
            "found_by": self.found_by,
            "note": self.note,
        }


def _stored(margin: float) -> float | None:
    """A margin as the file stores it: finite as is, +-inf as the largest finite float of its sign (strict
    JSON has no infinity; the sign is what replays compare), nan as null."""
    if math.isnan(margin):
        return None
    return float(margin) if math.isfinite(margin) else math.copysign(sys.float_info.max, margin)


def _check_fields(obj: dict[str, Any], schema: dict, where: str, path: Path) -> None:
    for key, spec in schema.items():
        types, required = spec if isinstance(spec[0], tuple) else (spec, True)
        if key not in obj:
            if required:
                raise CorpusError(f"{path}: missing field {where}{key!r}")
            continue
        if not isinstance(obj[key], types) or (isinstance(obj[key], bool) and bool not in types):
            raise CorpusError(f"{path}: field {where}{key!r} must be {'/'.join(t.__name__ for t in types)}; "
                              f"got {type(obj[key]).__name__}")
    unknown = set(obj) - set(schema)
    if unknown:
        raise CorpusError(f"{path}: unknown field(s) {where}{sorted(unknown)}")


def validate(obj: Any, path: Path) -> Example:
    """Check a parsed file against the schema and build the :class:`Example`."""
    from .._internal.claim import CLAIMS, load_all

    if not isinstance(obj, dict):
        raise CorpusError(f"{path}: top level must be an object")
    _check_fields(obj, SCHEMA, "", path)
    if obj["format"] != FORMAT:
        raise CorpusError(f"{path}: format must be {FORMAT!r}; got {obj['format']!r}")
    load_all()
    if obj["claim"] not in CLAIMS:
        raise CorpusError(f"{path}: unknown claim {obj['claim']!r}")
    _check_fields(obj["expected"], EXPECTED_SCHEMA, "expected.", path)
    _check_fields(obj["data"], DATA_SCHEMA, "data.", path)
    exp = obj["expected"]
    if exp["outcome"] not in OUTCOMES:
        raise CorpusError(f"{path}: expected.outcome must be one of {OUTCOMES}; got {exp['outcome']!r}")
    if exp["margin_sign"] not in (-1, 1):
        raise CorpusError(f"{path}: expected.margin_sign must be -1 or 1; got {exp['margin_sign']!r}")
    if exp["margin"] is None:
        if exp["outcome"] not in NO_MARGIN:
            raise CorpusError(f"{path}: expected.margin may be null only for outcomes {NO_MARGIN}; "
                              f"this one is {exp['outcome']!r}")
        margin = math.nan
    else:
        margin = float(exp["margin"])
        if not math.isfinite(margin):  # json.loads accepts NaN and Infinity; the format does not
            raise CorpusError(f"{path}: expected.margin must be a finite number or null; got {exp['margin']!r}")
    if not math.isnan(margin) and (1 if margin >= 0 else -1) != exp["margin_sign"]:
        raise CorpusError(f"{path}: expected.margin_sign {exp['margin_sign']:+d} contradicts expected.margin "
                          f"{margin:+.6g}")
    try:
        cfg = SimConfig.from_dict(obj["config"])
        dd = obj["data"]
        data = Dataset.virtual(np.array(dd["G"], dtype=float), np.array(dd["y"], dtype=float), dd["d"])
    except (ConfigError, TypeError, ValueError) as e:
        raise CorpusError(f"{path}: invalid configuration or data: {e}") from None
    for name in ("n", "d"):
        if getattr(cfg, name) != getattr(data, name):
            raise CorpusError(f"{path}: config.{name} = {getattr(cfg, name)} does not match the data set's "
                              f"{name} = {getattr(data, name)} (data.G is {data.n} x {data.n}, data.d = {data.d})")
    return Example(claim=obj["claim"], config=cfg, data=data, outcome=exp["outcome"],
                   margin=margin, assumption=obj.get("assumption"), found_by=obj["found_by"],
                   note=obj.get("note", ""))


def load(path: Path | str) -> Example:
    path = Path(path)
    try:
        obj = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise CorpusError(f"{path}: not readable as JSON: {e}") from None
    return validate(obj, path)


def load_all_examples(directory: Path = CORPUS_DIR) -> list[tuple[Path, Example]]:
    return [(p, load(p)) for p in sorted(directory.glob("*.json"))]


def same_example(a: Example, b: Example) -> bool:
    """The same counterexample: claim, configuration and data set (found-by metadata aside)."""
    ja, jb = a.to_json(), b.to_json()
    return all(ja[k] == jb[k] for k in ("claim", "config", "data"))


def save(example: Example, directory: Path = CORPUS_DIR, name: str | None = None) -> Path:
    """Write an example as ``<claim>-<outcome>-s<seed>-<activation>.json`` (or ``name``); returns the path.

    Nothing in the corpus is ever overwritten: when the name is taken by a *different* example the new one
    gets the first free suffix ``-2``, ``-3``, ...; when the same example (claim, configuration, data) is
    already stored under that name or a suffixed one, that file is returned untouched
    (:func:`saved_before` tells the caller).
    """
    directory.mkdir(parents=True, exist_ok=True)
    stem = (name or f"{example.claim}-{example.outcome}-s{example.config.seed}-{example.config.activation}"
            ).replace("/", "_")
    k = 1
    while True:
        path = directory / (f"{stem}.json" if k == 1 else f"{stem}-{k}.json")
        if not path.exists():
            break
        try:
            if same_example(load(path), example):
                return path
        except CorpusError:
            pass  # an unreadable file under that name is left alone, never overwritten
        k += 1
    with path.open("x") as fh:  # "x": fail rather than overwrite if another process took the name meanwhile
        fh.write(json.dumps(example.to_json(), indent=1) + "\n")
    load(path)  # what we write must load
    return path
