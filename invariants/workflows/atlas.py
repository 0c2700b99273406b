"""``python -m invariants atlas``: where each claim really stops holding, over a grid of (n, gamma), on Dask.

A *task* is one boundary walk (``hunt.boundary`` with one seed): claim x assumption axis x n x gamma x seed.
It bisects, on a log scale, the factor past the declared bound at which the claim first fails on that seed
(the critical factor), or reports the largest factor tried as a *cap* (held up to it; "pd" when the walk was
capped by positive definiteness of the Gram matrix, "max" at ``--max-factor``, "undecided" when past some
factor the claim's check could no longer judge at the walk's horizon -- e.g. no certified limit because an
entry keeps sliding along the kink -- so that it held up to the cap and nothing is known beyond it).
A *cell* is claim x axis x n x gamma; its critical factor is the smallest over its seeds (the claim fails
there for some seed), or a cap when every seed held.  Caps are never drawn or fitted as boundaries.

Fits: per claim x axis, log(critical factor) = a + b log n + c log gamma by least squares over the cells
with a boundary, with 95% Student-t intervals (``_fit``).  The factor is relative to the declared bound,
which already carries the theorem's dependence (KCG Thm 4.1's gamma^4 / n for near-orthogonality, Thm 4.3's
1 / n), so slopes of 0 mean "the theorem's dependence is the real one"; the critical *constant* is the
factor times the declared constant, and its slopes are the same.

Store: ``--out DIR`` (default ``atlas/``) holds ``tasks/<key>.json``, one strict-JSON file per finished task,
written by the client (one writer) to a temporary name and linked into place only if absent (``os.link``
fails on an existing name), so a killed atlas resumes where it stopped (finished tasks are skipped) and two
runs never write the same task twice; JSON because a task is a small record a person can read and the
directory listing is the index (no database to lock or repair).  ``atlas.json`` (fixed: claims -> axes ->
{"grid", "cells", "fit"}) and the plots are written at the end.

Dask: tasks go to a ``dask.distributed`` cluster: a ``LocalCluster`` sized to the machine by default
(processes, one thread each), or the scheduler at ``--scheduler ADDRESS`` (SLURM: start one with
dask-jobqueue, README).  ``--workers 0`` runs the tasks in this process (no Dask).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._internal.errors import UsageError
from .._internal.jsonout import dumps

QUICK = {"n": (4, 6, 8), "gamma": (0.3, 0.5, 0.7), "seeds": 2, "steps": 5_000, "iters": 4}
FULL = {"n": (4, 8, 16), "gamma": (0.2, 0.4, 0.8), "seeds": 5, "steps": 20_000, "iters": 6}
QUICK_PAIRS = (("KCG-5.6", "init scale"), ("KCG-5.8", "near-orthogonality"), ("KCG-B1", "step size"))


@dataclass(frozen=True)
class Task:
    claim: str
    axis: str
    n: int
    gamma: float | None  # None for ReLU claims (gamma does not apply)
    seed: int
    steps: int
    iters: int
    max_factor: float
    gram: str

    @property
    def key(self) -> str:
        raw = json.dumps(asdict(self), sort_keys=True)
        return f"{self.claim}-{self.axis.replace(' ', '_')}-n{self.n}-g{self.gamma}-s{self.seed}-" \
               + hashlib.sha256(raw.encode()).hexdigest()[:12]


def run_task(task: Task) -> dict[str, Any]:
    """One boundary walk (runs on a Dask worker): the task, its critical factor or cap, and its time."""
    from .hunt import boundary

    t0 = time.perf_counter()
    row = boundary(task.claim, task.axis, seeds=1, first_seed=task.seed, steps=task.steps, hi=task.max_factor,
                   iters=task.iters, n=task.n, gamma=task.gamma if task.gamma is not None else 0.5,
                   gram=task.gram)
    capped_pd = bool(row.tried) and any(eff < req * (1 - 1e-9) for req, eff, _ in row.tried)
    undecided = row.outcome_at_threshold == "undecided"  # held up to last_held, then the check could not judge
    critical = None if undecided else row.threshold
    held = row.last_held if math.isfinite(row.last_held) else None  # None: not even the baseline held
    out: dict[str, Any] = {"task": asdict(task), "critical": critical,
                           "last_held": held, "outcome_at_critical": row.outcome_at_threshold,
                           "undecided_from": row.threshold if undecided else None,
                           "cap": None if critical is not None else (
                               "undecided" if undecided else ("pd" if capped_pd else "max")),
                           "tried": [list(t) for t in row.tried], "seconds": time.perf_counter() - t0}
    return out


def gram_for(axis: str, gram: str | None) -> str:
    """The data a walk uses: near-orthogonality walks on all-positive correlations ("ones": positive definite
    up to p / R_min^2 < 1), which go past the cap random signs hit at p / R_min^2 = 0.9 / (n - 1)."""
    if gram is not None:
        return gram
    return "ones" if axis == "near-orthogonality" else "random"


def walk_axes(claim: str) -> list[str]:
    """The axes a boundary walk can take for ``claim``: its axes but label balance (a count, not a factor),
    for leaky ReLU claims the width (Thm 4.3's condition), and for claims stated on orthogonal data the
    near-orthogonality (their p is 0 by hypothesis)."""
    from .._internal.claim import get

    c = get(claim)
    return [a for a in c.axes if a != "label balance" and (a != "width" or c.activation == "relu")
            and not (a == "near-orthogonality" and c.orthogonal)]  # stated for p = 0: nothing to walk past


def _warm() -> None:
    """Import the engines and run one tiny walk step on a worker (numba loads its cached kernels once)."""
    run_task(Task("KCG-B1", "step size", 3, 0.5, 0, 10, 1, 2.0, "random"))


def tasks_for(claims: Iterable[tuple[str, str]], grid: dict[str, Any], max_factor: float,
              gram: str | None = None) -> list[Task]:
    from .._internal.claim import get

    out = []
    for claim, axis in claims:
        relu = get(claim).activation == "relu"
        for n in grid["n"]:
            for g in ((None,) if relu else grid["gamma"]):
                for s in range(grid["seeds"]):
                    out.append(Task(claim, axis, int(n), g, s, grid["steps"], grid["iters"], max_factor,
                                    gram_for(axis, gram)))
    return out


def pairs(claims: list[str] | None, axes: list[str] | None, quick: bool) -> list[tuple[str, str]]:
    """(claim, axis) pairs: every asserted walkable claim along every axis a walk can take, or the quick set."""
    from .._internal.claim import verdict_kind
    from .hunt import walkable

    if quick and not claims and not axes:
        return list(QUICK_PAIRS)
    known = [c for c in walkable() if verdict_kind(c) == "asserted"]
    chosen = known if not claims else [c for c in known if any(c == x or c.startswith(x) for x in claims)]
    if claims and not chosen:
        raise UsageError(f"--claim {', '.join(claims)}: no asserted claim a boundary walk can decide; atlas runs "
                         f"on: {', '.join(known)}")
    out = [(c, a) for c in chosen for a in walk_axes(c) if not axes or a in axes]
    if not out:
        have = sorted({a for c in chosen for a in walk_axes(c)})
        raise UsageError(f"--axis {axes}: none of the chosen claims' axes ({', '.join(have)})")
    return out


# ---- the store ------------------------------------------------------------------------------------

def _store_put(out: Path, key: str, record: dict[str, Any]) -> bool:
    """Write one finished task; False (and nothing written) when another run already wrote it."""
    final = out / "tasks" / f"{key}.json"
    tmp = out / "tasks" / f".{key}.{os.getpid()}.partial"
    tmp.write_text(dumps(record))
    try:
        os.link(tmp, final)  # atomic, and refuses an existing name: a task is never written twice
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def _store_done(out: Path) -> dict[str, dict[str, Any]]:
    done = {}
    for p in (out / "tasks").glob("*.json"):
        try:
            done[p.stem] = json.loads(p.read_text())
        except (OSError, ValueError) as e:
            raise UsageError(f"{p}: an unreadable task record in the atlas store ({e}); remove it to recompute "
                             "that task") from None
    return done


# ---- running --------------------------------------------------------------------------------------

def execute(tasks: list[Task], out: Path, workers: int | None, scheduler: str | None,
            progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Run the tasks not yet in the store; returns timing facts (tasks run, skipped, seconds, workers)."""
    (out / "tasks").mkdir(parents=True, exist_ok=True)
    done = _store_done(out)
    todo = [t for t in tasks if t.key not in done]
    total, k = len(tasks), len(tasks) - len(todo)
    t0 = time.perf_counter()
    n_workers = 0
    startup = 0.0  # starting the cluster and connecting (not part of the tasks' throughput)
    if progress:
        progress(k, total)
    if todo and (workers == 0 and scheduler is None):
        for t in todo:
            _store_put(out, t.key, run_task(t))
            k += 1
            if progress:
                progress(k, total)
    elif todo:
        from dask.distributed import Client, LocalCluster, as_completed

        cluster = None
        if scheduler is None:
            w = workers or os.cpu_count() or 1
            cluster = LocalCluster(n_workers=w, threads_per_worker=1, processes=True,
                                   dashboard_address=":0")  # any free port: never collides with a running cluster
            client = Client(cluster)
        else:
            client = Client(scheduler)
        try:
            n_workers = len(client.scheduler_info()["workers"])
            client.run(_warm)  # load the compiled kernels in every worker before the clock starts
            startup = time.perf_counter() - t0
            futures = {client.submit(run_task, t, key=f"atlas-{t.key}", pure=False): t for t in todo}
            for fut in as_completed(futures):
                t = futures[fut]
                _store_put(out, t.key, fut.result())
                k += 1
                if progress:
                    progress(k, total)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    seconds = time.perf_counter() - t0
    return {"tasks": total, "run": len(todo), "skipped": total - len(todo), "seconds": seconds,
            "startup_seconds": startup, "compute_seconds": seconds - startup, "workers": n_workers}


# ---- aggregation and fits -------------------------------------------------------------------------

def _fit(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """log critical = a + b log n (+ c log gamma): least squares over the cells with a boundary, 95% t intervals."""
    from scipy.stats import t as student_t

    pts = [c for c in cells if c["critical"] is not None]
    with_gamma = len({c["gamma"] for c in pts if c["gamma"] is not None}) >= 2
    cols = ["log n"] + (["log gamma"] if with_gamma else [])
    k = 1 + len(cols)
    if len(pts) <= k or len({c["n"] for c in pts}) < 2:
        return {"fitted": False, "why": f"{len(pts)} cells with a boundary (caps are not boundaries); need > {k} "
                                        "over at least 2 values of n", "cells_used": len(pts)}
    A = np.array([[1.0, math.log(c["n"])] + ([math.log(c["gamma"])] if with_gamma else []) for c in pts])
    v = np.log(np.array([c["critical"] for c in pts]))
    coef, *_ = np.linalg.lstsq(A, v, rcond=None)
    resid = v - A @ coef
    dof = len(pts) - k
    s2 = float(resid @ resid) / dof if dof > 0 else math.inf
    cov = s2 * np.linalg.pinv(A.T @ A)
    half = float(student_t.ppf(0.975, dof)) * np.sqrt(np.maximum(np.diag(cov), 0.0))
    out: dict[str, Any] = {"fitted": True, "cells_used": len(pts), "dof": dof}
    for name, b, h in zip(["intercept", *cols], coef, half, strict=True):
        out[name] = {"slope": float(b), "ci95": [float(b - h), float(b + h)]}
    return out


THEOREM_SLOPES = {  # the declared bound's own dependence, for the plots' reference lines (factor slopes 0)
    "near-orthogonality": "p / R_min^2 <= gamma^4 / (C R^2 n) (Thm 4.1; Thm 4.3 without gamma^4)",
    "step size": "eta <= n m / (C R_max^2)",
    "init scale": "sigma0 <= 1 / (C R_max sqrt(log(m n / delta)))",
    "width": "m >= C log(n / delta) (ReLU)",
}


def aggregate(records: list[dict[str, Any]]) -> dict[str, Any]:
    """atlas.json's body: claims -> axes -> {grid, cells (critical or cap, per seed), fit}."""
    by: dict[tuple[str, str], dict[tuple[int, Any], list[dict[str, Any]]]] = {}
    for r in records:
        t = r["task"]
        by.setdefault((t["claim"], t["axis"]), {}).setdefault((t["n"], t["gamma"]), []).append(r)
    out: dict[str, Any] = {}
    for (claim, axis), cells in sorted(by.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        rows = []
        for (n, g), rs in sorted(cells.items(), key=lambda kv: (kv[0][0], -1 if kv[0][1] is None else kv[0][1])):
            crit = [r["critical"] for r in rs if r["critical"] is not None]
            seeds = {str(r["task"]["seed"]): (r["critical"] if r["critical"] is not None
                                              else {"cap": r["cap"], "held_up_to": r["last_held"]}) for r in rs}
            held = [r["last_held"] for r in rs if isinstance(r["last_held"], int | float)]  # (old stores: "nan")
            held = [h for h in held if math.isfinite(h)]
            rows.append({"n": n, "gamma": g, "critical": min(crit) if crit else None,
                         "cap": None if crit or not held else max(held),
                         "cap_kind": None if crit else sorted({r["cap"] for r in rs}), "seeds": seeds})
        out.setdefault(claim, {})[axis] = {
            "grid": {"n": sorted({c["n"] for c in rows}), "gamma": sorted({c["gamma"] for c in rows if c["gamma"]})},
            "theorem": THEOREM_SLOPES.get(axis, ""), "cells": rows, "fit": _fit(rows)}
    return out


def plot(atlas: dict[str, Any], out: Path) -> list[Path]:
    """One PNG per claim x axis, two log-log panels: the critical factor against n (one series per gamma) and
    against gamma (one series per n); caps as open gray triangles at their cap, never joined to boundaries;
    the theorem's dependence (slope 0 in the factor: the declared bound already scales with n and gamma) as a
    dashed horizontal line through the boundaries' geometric mean; the fitted slopes and intervals in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for claim, axes in atlas.items():
        for axis, body in axes.items():
            cells = body["cells"]
            has_gamma = any(c["gamma"] is not None for c in cells)
            fig, panels = plt.subplots(1, 2 if has_gamma else 1, figsize=(9 if has_gamma else 5, 3.6), squeeze=False)
            for ax, (x, series) in zip(panels[0], (("n", "gamma"), ("gamma", "n")), strict=False):
                keys = sorted({c[series] for c in cells}, key=lambda v: -1 if v is None else v)
                for kv in keys:
                    cs = sorted((c for c in cells if c[series] == kv), key=lambda c: c[x] or 0)
                    lab = "ReLU" if kv is None else f"{series}={kv}"
                    b = [c for c in cs if c["critical"] is not None]
                    if b:
                        ax.plot([c[x] for c in b], [c["critical"] for c in b], "o-", label=lab)
                    caps = [c for c in cs if c["critical"] is None]
                    if caps:
                        ax.plot([c[x] for c in caps], [c["cap"] for c in caps], "^", fillstyle="none",
                                color="gray", label=f"{lab}: held up to (cap)")
                crit = [c["critical"] for c in cells if c["critical"] is not None]
                if crit:
                    ax.axhline(math.exp(float(np.mean(np.log(crit)))), ls="--", color="k", lw=0.8,
                               label="theorem's dependence (slope 0)")
                ys = [c["critical"] if c["critical"] is not None else c["cap"] for c in cells]
                ys = [v for v in ys if v is not None and v > 0]
                if ys and min(ys) == max(ys):  # one level only: give the log axis some room
                    ax.set_ylim(min(ys) / 2, max(ys) * 2)
                if not ys:  # every walk undecided at its baseline: nothing to draw
                    ax.set_ylim(0.5, 2e3)
                    ax.text(0.5, 0.5, "undecided: the check cannot judge\nat the walk's horizon",
                            transform=ax.transAxes, ha="center", va="center", fontsize=8)
                xs = [c[x] for c in cells if c[x] is not None]
                if xs and (min(xs) == max(xs) or not ys):  # one level, or nothing drawn: set the range
                    ax.set_xlim(min(xs) / 2, max(xs) * 2)
                ax.set_xscale("log")
                ax.set_yscale("log")
                ax.set_xlabel(x)
                ax.set_ylabel("critical factor past the declared bound")
                ax.legend(fontsize=6)
            fit = body["fit"]
            if fit.get("fitted"):
                t = f"{claim} along {axis}: slope in n {fit['log n']['slope']:+.2f} " \
                    f"[{fit['log n']['ci95'][0]:+.2f}, {fit['log n']['ci95'][1]:+.2f}]"
                if "log gamma" in fit:
                    t += f", in gamma {fit['log gamma']['slope']:+.2f} [{fit['log gamma']['ci95'][0]:+.2f}, " \
                         f"{fit['log gamma']['ci95'][1]:+.2f}]"
            else:
                t = f"{claim} along {axis} (no fit: {fit.get('why', '')[:70]})"
            fig.suptitle(t, fontsize=9)
            fig.tight_layout()
            p = out / f"atlas-{claim}-{axis.replace(' ', '_')}.png"
            fig.savefig(p, dpi=110)
            plt.close(fig)
            paths.append(p)
    return paths


def quick_section(out: Path) -> list[str]:
    """The report's atlas: the ``--quick`` grid run in this process into ``out`` (atlas.json and plots), as
    Markdown lines (one row per claim and axis)."""
    facts, atlas = _run_grid(tasks_for(pairs(None, None, True), QUICK, 1e3), out, 0, None, None)
    (out / "atlas.json").write_text(dumps({"grid": _grid_json(QUICK), "run": facts, "claims": atlas}))
    pngs = plot(atlas, out)
    lines = ["| claim | axis | cells with a boundary | slope in n (95%) | slope in gamma (95%) | caps |",
             "|---|---|---|---|---|---|"]
    for claim, axes in atlas.items():
        for axis, b in axes.items():
            f = b["fit"]

            def sl(name: str, fit: dict[str, Any] = f) -> str:
                if not fit.get("fitted") or name not in fit:
                    return "-"
                return f"{fit[name]['slope']:+.2f} [{fit[name]['ci95'][0]:+.2f}, {fit[name]['ci95'][1]:+.2f}]"

            caps = [c for c in b["cells"] if c["critical"] is None]
            cap_text = ", ".join(f"n={c['n']}, gamma={c['gamma']}: " + (
                f"held up to {c['cap']:.3g} ({'/'.join(c['cap_kind'])})" if c["cap"] is not None
                else "undecided at the baseline (the check cannot judge at the walk's horizon)")
                for c in caps) or "-"
            lines.append(f"| {claim} | {axis} | {len(b['cells']) - len(caps)}/{len(b['cells'])} | {sl('log n')} | "
                         f"{sl('log gamma')} | {cap_text} |")
    lines += ["", f"{facts['run']} walks in {facts['seconds']:.1f} s; plots: " + ", ".join(p.name for p in pngs)]
    return lines


THEOREMS = {  # the proof chains the atlas tables: a theorem's conclusions and the lemmas their proofs use
    "KCG Thm 4.1": ("KCG-4.1a", "KCG-4.1b", "KCG-4.1c"),
    "KCG Thm 4.3": ("KCG-4.3a", "KCG-4.3b"),
    "FVB Thm 4.2": ("FVB-4.2a", "FVB-4.2b", "FVB-4.2c"),
}
CHAIN = {"n": (4,), "gamma": (0.5,), "seeds": 2, "steps": 5_000, "iters": 4}


def chain_members(theorem: str) -> tuple[list[str], list[str]]:
    """(conclusions, lemmas their proofs use: one level of ``Claim.uses``)."""
    from .._internal.claim import get

    concl = list(THEOREMS[theorem])
    lemmas = sorted({u for c in concl for u in get(c).uses if u not in concl})
    return concl, lemmas


def chain_pairs(theorem: str) -> list[tuple[str, str]]:
    """Every (claim, axis) of the chain a boundary walk can decide."""
    from .hunt import walkable

    concl, lemmas = chain_members(theorem)
    walk = set(walkable())
    return [(c, a) for c in concl + lemmas if c in walk for a in walk_axes(c)]


def proof_chain(theorem: str, atlas: dict[str, Any]) -> dict[str, Any]:
    """Along every axis: each link's critical factor (smallest over the cells) or cap, the first link to fail,
    and whether the theorem's conclusions still hold there ("the proof is loose here")."""

    concl, lemmas = chain_members(theorem)
    axes = sorted({a for c in concl + lemmas for a in walk_axes(c)})
    out: dict[str, Any] = {"conclusions": concl, "lemmas": lemmas, "axes": {}}
    for axis in axes:
        rows: dict[str, Any] = {}
        for c in concl + lemmas:
            body = atlas.get(c, {}).get(axis)
            if body is None:
                rows[c] = {"status": "no walk" if axis in walk_axes(c) else "not along this axis"}
                continue
            crit = [x["critical"] for x in body["cells"] if x["critical"] is not None]
            caps = [x["cap"] for x in body["cells"] if x["cap"] is not None]
            rows[c] = ({"status": "fails", "critical": min(crit)} if crit else
                       {"status": "cap", "held_up_to": max(caps)} if caps else {"status": "undecided"})
        failing = {c: r["critical"] for c, r in rows.items() if r["status"] == "fails"}
        first_lemma = min((c for c in failing if c in lemmas), key=lambda c: failing[c], default=None)
        first_concl = min((failing[c] for c in failing if c in concl), default=None)
        entry: dict[str, Any] = {"links": rows, "first_link": first_lemma,
                                 "first_link_at": failing.get(first_lemma) if first_lemma else None,
                                 "first_conclusion_at": first_concl}
        if first_lemma is not None:
            at = failing[first_lemma]
            fails = first_concl is not None and first_concl <= at
            walked = [c for c in concl if rows[c]["status"] in ("fails", "cap", "undecided")]
            known = bool(walked) and all((rows[c]["status"] == "cap" and rows[c]["held_up_to"] >= at)
                                         or (rows[c]["status"] == "fails" and rows[c]["critical"] > at)
                                         for c in walked)
            entry["conclusions_at_first_link"] = "fail" if fails else ("hold" if known else "undecided")
            entry["reading"] = ("a conclusion fails no later than the first link" if fails else
                                "the proof is loose here: its first link gives way before any conclusion does"
                                if known else "the conclusions could not be judged there on these walks")
        out["axes"][axis] = entry
    return out


def chain_lines(theorem: str, chain: dict[str, Any]) -> list[str]:
    lines = [f"{theorem}: conclusions {', '.join(chain['conclusions'])}; lemmas used {', '.join(chain['lemmas'])}",
             "| axis | first link to fail (factor) | first conclusion to fail (factor) | conclusions there | links |",
             "|---|---|---|---|---|"]
    for axis, e in chain["axes"].items():
        def fmt(c: str, r: dict[str, Any]) -> str:
            if r["status"] == "fails":
                return f"{c} {r['critical']:.3g}"
            if r["status"] == "cap":
                return f"{c} >{r['held_up_to']:.3g}"
            return f"{c} ({r['status']})"

        if all(r["status"] in ("no walk", "not along this axis") for r in e["links"].values()):
            lines.append(f"| {axis} | - | - | - | no boundary walk in this regime yet |")
            continue
        links = "; ".join(fmt(c, r) for c, r in e["links"].items())
        fl = f"{e['first_link']} ({e['first_link_at']:.3g})" if e["first_link"] else "none failed"
        fc = f"{e['first_conclusion_at']:.3g}" if e["first_conclusion_at"] is not None else "none failed"
        lines.append(f"| {axis} | {fl} | {fc} | {e.get('conclusions_at_first_link', '-')} | {links} |")
    return lines


def _grid_json(grid: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in grid.items()}


def _run_grid(tasks: list[Task], out: Path, workers: int | None, scheduler: str | None,
              label: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run (or resume) the tasks into the store at ``out``, a progress line on stderr when ``label`` is given;
    returns (timing facts, the aggregated atlas of these tasks)."""
    def progress(k: int, total: int) -> None:
        sys.stderr.write(f"\r{label}: {k}/{total} walks")
        sys.stderr.flush()

    facts = execute(tasks, out, workers, scheduler, progress if label else None)
    if label:
        sys.stderr.write("\n")
    done = _store_done(out)
    return facts, aggregate([done[t.key] for t in tasks])


def check_run_flags(out_dir: str, workers: int | None, scheduler: str | None, max_factor: float,
                    steps: int | None = None) -> Path:
    """The flags of ``atlas`` (and ``--chain``) checked before anything is created or run: ``--out`` new, empty
    or an earlier atlas's store (``tasks/``), ``--workers`` >= 0, ``--steps`` >= 1, ``--max-factor`` a finite
    number > 1, ``--scheduler`` a host:port address.  ``UsageError`` naming the flag otherwise."""
    from .._internal.outputs import output_dir

    out = output_dir("--out", out_dir, "tasks", "atlas")
    if workers is not None and workers < 0:
        raise UsageError(f"--workers must be >= 0 (0: no Dask, in this process); got {workers}")
    if steps is not None and steps < 1:
        raise UsageError(f"--steps must be an integer >= 1 (the walks' horizon); got {steps}")
    if not (math.isfinite(max_factor) and max_factor > 1):
        raise UsageError(f"--max-factor must be a finite number > 1 (the largest factor past a bound a walk "
                         f"tries); got {max_factor}")
    if scheduler is not None:
        from distributed.comm.addressing import parse_address, parse_host_port

        try:
            parse_host_port(parse_address(scheduler)[1])
        except ValueError as e:
            raise UsageError(f"--scheduler {scheduler!r}: not a Dask scheduler address such as "
                             f"tcp://127.0.0.1:8786 ({e})") from None
    return out


def main_chain(out_dir: str, workers: int | None, scheduler: str | None, max_factor: float) -> int:
    """``atlas --chain``: the proof-chain tables of KCG Thm 4.1, Thm 4.3 and FVB Thm 4.2 (CHAIN grid)."""
    out = check_run_flags(out_dir, workers, scheduler, max_factor)
    pairs_all = sorted({p for th in THEOREMS for p in chain_pairs(th)})
    facts, atlas = _run_grid(tasks_for(pairs_all, CHAIN, max_factor), out, workers, scheduler, "proof chains")
    chains = {th: proof_chain(th, atlas) for th in THEOREMS}
    (out / "proof_chain.json").write_text(dumps({"grid": _grid_json(CHAIN), "chains": chains}))
    for th, ch in chains.items():
        print("\n".join(chain_lines(th, ch)) + "\n")
    print(f"{facts['run']} walks run ({facts['skipped']} already in the store); wrote {out / 'proof_chain.json'}")
    return 0


def main_atlas(claims: list[str] | None, axes: list[str] | None, quick: bool, scheduler: str | None,
               out_dir: str, workers: int | None, max_factor: float, steps: int | None = None) -> int:
    from .._internal.claim import load_all

    load_all()
    out = check_run_flags(out_dir, workers, scheduler, max_factor, steps)
    grid = QUICK if quick else FULL
    if steps is not None:  # a task's key holds its steps: walks at another horizon never collide in the store
        grid = {**grid, "steps": steps}
    facts, atlas = _run_grid(tasks_for(pairs(claims, axes, quick), grid, max_factor), out, workers, scheduler,
                             "atlas")
    body = {"grid": _grid_json(grid), "run": facts, "claims": atlas}
    (out / "atlas.json").write_text(dumps(body))
    pngs = plot(atlas, out)
    for claim, axes_ in atlas.items():
        for axis, b in axes_.items():
            f = b["fit"]
            bounds = sum(c["critical"] is not None for c in b["cells"])
            slope = (f"slope in n {f['log n']['slope']:+.2f} [{f['log n']['ci95'][0]:+.2f}, "
                     f"{f['log n']['ci95'][1]:+.2f}]" if f.get("fitted") else "no fit")
            if f.get("fitted") and "log gamma" in f:
                slope += (f", in gamma {f['log gamma']['slope']:+.2f} [{f['log gamma']['ci95'][0]:+.2f}, "
                          f"{f['log gamma']['ci95'][1]:+.2f}]")
            print(f"{claim:<10} {axis:<20} {bounds}/{len(b['cells'])} cells with a boundary; {slope}")
    rate = facts["run"] / facts["compute_seconds"] * 3600 if facts["compute_seconds"] > 0 else math.nan
    print(f"{facts['run']} tasks run ({facts['skipped']} already in the store) in {facts['seconds']:.1f} s "
          f"({facts['startup_seconds']:.1f} s starting the cluster; {rate:,.0f} walks per hour) on "
          f"{facts['workers'] or 'no'} Dask workers; wrote {out / 'atlas.json'} and {len(pngs)} plots")
    return 0
