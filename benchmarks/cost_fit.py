"""Measure what ``sim.cost`` predicts and fit its constants again: the span step, the frozen-pattern steps,
certificates and entries, over shapes.

It times the span engine's step (ReLU and leaky ReLU on KCG section 6 data, n in {10, 20, 50, 100}, m from
5 to 1000: 56 sizes).  Then for every configuration (ReLU and leaky ReLU, section 6 and in-regime data, n in
{10, 20, 50, 100}, m in {25, 100, 400, 1000} -- M = 2 m neurons), at two points of a span run and two quiet
windows, it builds the frozen pattern of the entries that changed in the window (an entry, timed)
and times its steps (``frozen_kernel._steps``, or ``_steps_frozen`` with no free entries) and a certificate
(``_certified``), each the best of a few.  It prints, for each quantity, the declared model's
predicted / measured range, then a least-squares fit of the relative error (non-negative constants) in the
model's form and that fit's range.  ``sim.cost`` declares such a fit, scaled to the safe side (its
docstring); this script does not edit it.

    .venv/bin/python benchmarks/cost_fit.py [--quick] [--core C] [--json out.json]

One pinned core, one BLAS thread; numba's kernels compiled or loaded before the first timing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from auto_sweep import config
from scaling import check_core_json, pin

FULL_N, FULL_M = (10, 20, 50, 100), (25, 100, 400, 1000)
SPAN_M = (5, 25, 50, 100, 200, 400, 1000)  # the span step's sizes (M = 2 m from 10)
QUICK_N, QUICK_M = (10, 50), (25, 400)


def best(fn: Callable[[], object], reps: int = 3) -> float:
    b = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        b = min(b, time.perf_counter() - t0)
    return b


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help=f"n in {QUICK_N}, m in {QUICK_M} only")
    ap.add_argument("--core", type=int, help="the core to pin to (default: the last allowed)")
    ap.add_argument("--json", type=Path, help="save every measurement here (a new file)")
    args = ap.parse_args()
    core = check_core_json(ap, args.core, args.json)
    pin(core)

    import numpy as np
    from scipy.optimize import nnls

    from sim import cost, simulate
    from sim.frozen import AutoState
    from sim.frozen_kernel import _certified, _steps, _steps_frozen
    from sim.simulate import resolve
    from sim.span import SpanState

    for kind in ("s6", "regime"):  # warm-up: every kernel compiled or loaded
        simulate(config("relu", "logistic", kind, 10, 25).with_(steps=3000))
    ns, ms = (QUICK_N, QUICK_M) if args.quick else (FULL_N, FULL_M)
    span_rows: list[dict[str, Any]] = []
    for act in ("relu", "leaky_relu"):  # the span step on section 6 data, the state built outside the timing
        for n in ns:
            for m in (QUICK_M if args.quick else SPAN_M):
                cfg = config(act, "logistic", "s6", n, m)
                data, init = resolve(cfg)
                k = max(10, int(0.15e9 / cost.span_ns(2 * m, n)))
                states = [SpanState(cfg, data, init) for _ in range(3)]
                sp_t = min(best(lambda st=st, k=k: st.advance(k), 1) for st in states) / k
                span_rows.append({"act": act, "n": n, "M": 2 * m, "ns": sp_t * 1e9})
        print(f"# measured the span step, {act}", flush=True)
    rows: list[dict[str, Any]] = []
    for act in ("relu", "leaky_relu"):
        for kind in ("s6", "regime"):
            for n in ns:
                for m in ms:
                    cfg = config(act, "logistic", kind, n, m)
                    data, init = resolve(cfg)
                    sp = SpanState(cfg, data, init)
                    for T in (400, 2000):
                        sp.advance(T - sp.t)
                        for quiet in (64, 1024):
                            free = sp.last_change > sp.t - quiet
                            if free.sum() > 0.25 * free.size:
                                continue
                            rows.append(measure(sp, free, cfg, act, kind, AutoState, _steps, _steps_frozen,
                                                _certified, np))
                    print(f"# measured {act} {kind} n={n} m={m}", flush=True)
    report(span_rows, rows, cost, nnls, np)
    if args.json is not None:
        with open(args.json, "x") as fh:  # "x": never overwrite (checked above too)
            json.dump({"span": span_rows, "frozen": rows}, fh, indent=1)


def measure(sp: Any, free: Any, cfg: Any, act: str, kind: str, AutoState: Any, _steps: Any, _steps_frozen: Any,
            _certified: Any, np: Any) -> dict[str, Any]:
    """One entry, its frozen-pattern step and a certificate, timed, with the shapes the model reads."""
    n = sp.data.n
    au = AutoState(sp, gate=False)
    t0 = time.perf_counter()
    au._enter(free)
    entry = time.perf_counter() - t0
    fp = au.frozen
    k = int(max(50, min(5000, 2e7 / (1 + 10 * n * n + 10 * fp.n_free))))

    def steps() -> int:
        S, Sc, ab = au.S.copy(), au.Sc.copy(), np.zeros(n)
        if fp.n_free == 0:
            return _steps_frozen(fp.m0, fp.Mm, float(cfg.eta), sp.loss_code, S, Sc, ab, k)
        return _steps(fp.m0, fp.Mm, fp.MA, fp.PT, fp.QS, fp.cls_ptr, fp.cls_i, fp.ya, fp.selfc, fp.cross,
                      fp.cross_coef, fp.slope, float(cfg.eta), sp.loss_code, S, Sc, au.A.copy(), au.Ac.copy(),
                      au.s_e.copy(), au.chg_e.copy(), au.last_e.copy(), ab, sp.t, k)

    step = best(steps) / k
    lo, alo = au.S + au.Sc, au.A + au.Ac
    cert = best(lambda: _certified(fp.B, fp.E, fp.active, fp.check, fp.rowscale, fp.gf_ptr, fp.gf_e, fp.gf_coef,
                                   lo, lo + 1e-9, alo, alo + 1e-9), 5)
    per_neuron = free.sum(axis=1)
    return {"act": act, "kind": kind, "n": n, "M": int(free.shape[0]), "n_free": int(fp.n_free),
            "classes": len(fp.cls_i), "pairs": len(fp.cross), "groups": int(fp.B.shape[0]),
            "pairs_gate": int(np.sum(per_neuron * (per_neuron - 1))),
            "entry_ns": entry * 1e9, "step_ns": step * 1e9, "cert_ns": cert * 1e9}


def report(span_rows: list[dict[str, Any]], rows: list[dict[str, Any]], cost: Any, nnls: Any, np: Any) -> None:
    def fit(name: str, X: list[list[float]], y: list[float], terms: list[str], declared: list[float]) -> None:
        X_, y_ = np.asarray(X, float), np.asarray(y, float)
        c, _ = nnls(X_ / y_[:, None], np.ones_like(y_))
        r, d = X_ @ c / y_, np.asarray(declared) / y_
        print(f"{name} ({len(y_)}): declared pred/meas {d.min():.2f}-{d.max():.2f} (median {np.median(d):.2f}); "
              f"fit " + " + ".join(f"{v:.4g} {t}" for v, t in zip(c, terms, strict=True))
              + f", pred/meas {r.min():.2f}-{r.max():.2f} (median {np.median(r):.2f})")

    fit("span step", [[1, r["n"] ** 2, r["M"] * r["n"], r["M"] * r["n"] ** 2] for r in span_rows],
        [r["ns"] for r in span_rows], ["", "n^2", "M n", "M n^2"], [cost.span_ns(r["M"], r["n"]) for r in span_rows])
    fast = [r for r in rows if r["n_free"] == 0]
    gen = [r for r in rows if r["n_free"] > 0]
    if fast:
        fit("fully frozen step", [[1, r["n"], r["n"] ** 2] for r in fast], [r["step_ns"] for r in fast],
            ["", "n", "n^2"], [cost.frozen_ns(r["n"], 0, 0, 0) for r in fast])
    if gen:
        fit("frozen step, free entries",
            [[1, r["n"] ** 2, r["n_free"], r["n"] * r["classes"], r["pairs"]] for r in gen],
            [r["step_ns"] for r in gen], ["", "n^2", "|C|", "n classes", "pairs"],
            [cost.frozen_ns(r["n"], r["n_free"], r["classes"], r["pairs"]) for r in gen])
    fit("certificate", [[1, r["groups"] * r["n"] ** 2, r["n"] * r["n_free"]] for r in rows],
        [r["cert_ns"] for r in rows], ["", "groups n^2", "n |C|"],
        [cost.certificate_ns(r["n"], r["groups"], r["n_free"]) for r in rows])
    fit("entry", [[1, r["M"] * r["n"], r["groups"] * r["n"] ** 2, r["pairs"], r["n_free"]] for r in rows],
        [r["entry_ns"] for r in rows], ["", "M n", "groups n^2", "pairs", "|C|"],
        [cost.entry_ns(r["M"], r["n"], r["n_free"], r["groups"], r["pairs_gate"]) for r in rows])


if __name__ == "__main__":
    main()
