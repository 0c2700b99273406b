"""``python -m invariants implied``: is each "absolute constant" absolute across the regime?

For every "there is a constant" claim, the implied constant of each in-regime run (from a margins JSON:
``./run.sh test --margins-json PATH`` or a report's ``margins.json``) is regressed by least squares:

    log K = a + b_n log n + b_m log m + b_gamma log gamma + b_d log d + b_eta log(eta/eta_max)
            + b_sigma log(sigma0/sigma0_max) + b_R log R

(the step-size and init-scale fractions come from the runs' log10 slack; regressors that do not vary
over the runs are left out).  Each slope is reported with its 95% Student-t interval; a slope whose
interval excludes 0 means the constant depends on that quantity over the range tried: it is not
absolute there (as C_R ~ R^2 / gamma^2 is not for FVB).  Too few runs for the regressors that vary
(fewer than their number + 3) is said, not fitted.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from .._internal.errors import UsageError

PRIMARY = {  # result ID -> the implied constant its claim declares
    "KCG-B1": "c1", "KCG-B4": "c1", "KCG-B4:gamma1": "c1_gamma1", "KCG-5.5": "c1", "KCG-5.6": "C",
    "KCG-C12": "C'", "KCG-E3": "c", "KCG-4.3a": "c_implied", "FVB-4.2a": "C1", "FVB-4.2c": "C2", "FVB-LR": "C_R",
}
LN10 = math.log(10.0)


def _regressors(cfg: dict[str, Any]) -> dict[str, float]:
    slack = cfg.get("slack") or {}
    out: dict[str, float] = {}
    for name in ("n", "m", "gamma", "d", "R"):
        v = cfg.get(name)
        if isinstance(v, int | float) and v and v > 0:
            out[f"log {name}"] = math.log(float(v))
    for axis, label in (("step size", "log(eta/eta_max)"), ("init scale", "log(sigma0/sigma0_max)")):
        v = slack.get(axis)
        try:
            x = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(x):
            out[label] = -x * LN10  # slack = log10(bound / value)
    return out


def regress(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The regression of log(implied[key]) over the rows (held or failed results with a positive value)."""
    from scipy.stats import t as student_t

    pts = []
    for r in rows:
        v = (r.get("implied") or {}).get(key)
        try:
            v = float(v)
        except (TypeError, ValueError):
            continue
        if r.get("outcome") in ("held", "failed") and math.isfinite(v) and v > 0:
            pts.append((math.log(v), _regressors(r.get("config") or {})))
    names = sorted({k for _, x in pts for k in x})
    names = [k for k in names if all(k in x for _, x in pts) and len({round(x[k], 12) for _, x in pts}) > 1]
    out: dict[str, Any] = {"key": key, "runs": len(pts), "regressors": names}
    if len(pts) < len(names) + 3:
        out["fitted"] = False
        out["why"] = f"{len(pts)} runs for {len(names)} varying regressors (need >= {len(names) + 3})"
        return out
    A = np.array([[1.0] + [x[k] for k in names] for _, x in pts])
    v = np.array([y for y, _ in pts])
    coef, *_ = np.linalg.lstsq(A, v, rcond=None)
    dof = len(pts) - A.shape[1]
    resid = v - A @ coef
    s2 = float(resid @ resid) / dof
    cov = s2 * np.linalg.pinv(A.T @ A)
    half = float(student_t.ppf(0.975, dof)) * np.sqrt(np.maximum(np.diag(cov), 0.0))
    out["fitted"] = True
    out["dof"] = dof
    out["slopes"] = {k: {"slope": float(b), "ci95": [float(b - h), float(b + h)],
                         "significant": bool(b - h > 0 or b + h < 0)}
                     for k, b, h in zip(names, coef[1:], half[1:], strict=True)}
    out["not_absolute_in"] = [k for k, s in out["slopes"].items() if s["significant"]]
    return out


def table(margins: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    results = margins.get("results")
    if not isinstance(results, list):
        raise UsageError("the margins JSON has no 'results' list (write one with ./run.sh test --margins-json PATH)")
    out = {}
    lines = ["| result | constant | runs | significant dependence (slope, 95% interval) | other slopes |",
             "|---|---|---|---|---|"]
    for rid, key in PRIMARY.items():
        rows = [r for r in results if r.get("claim") == rid]
        if not rows:
            continue
        reg = regress(rows, key)
        out[rid] = reg
        if not reg["fitted"]:
            lines.append(f"| {rid} | {key} | {reg['runs']} | not fitted: {reg['why']} | |")
            continue

        def fmt(k: str, reg: dict[str, Any] = reg) -> str:
            s = reg["slopes"][k]
            return f"{k} {s['slope']:+.2f} [{s['ci95'][0]:+.2f}, {s['ci95'][1]:+.2f}]"

        sig = ", ".join(fmt(k) for k in reg["not_absolute_in"]) or "none"
        other = ", ".join(fmt(k) for k in reg["slopes"] if k not in reg["not_absolute_in"])
        lines.append(f"| {rid} | {key} | {reg['runs']} | {sig} | {other} |")
    return out, lines


def main_constants(margins_path: str, json_path: str | None) -> int:
    from .._internal.jsonout import dumps
    from .._internal.outputs import new_file, write_new

    if json_path:
        new_file("--json", json_path)
    p = Path(margins_path)
    try:
        margins = json.loads(p.read_text())
    except (OSError, ValueError) as e:
        raise UsageError(f"--margins {p}: not a readable margins JSON ({type(e).__name__}: {e})") from None
    out, lines = table(margins)
    print("\n".join(lines))
    if json_path:
        write_new("--json", json_path, dumps(out))
        print(f"written to {json_path}")
    return 0
