"""Strict JSON for every file the suite writes: no bare ``Infinity``/``NaN`` (JSON has no such numbers).

Non-finite floats become the strings ``"inf"``, ``"-inf"``, ``"nan"`` (``float()`` reads them back, as the
verdict code does); numpy scalars and arrays become plain numbers and lists; tuples become lists.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, float) and not math.isfinite(x):
        return repr(x)  # "inf", "-inf", "nan"
    if x is None or isinstance(x, bool | int | float | str):
        return x
    return str(x)


def dumps(obj: Any, indent: int | None = 1) -> str:
    """``json.dumps`` of :func:`jsonable` (obj), refusing anything that would not be strict JSON."""
    return json.dumps(jsonable(obj), indent=indent, allow_nan=False)
