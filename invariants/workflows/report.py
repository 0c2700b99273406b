"""The theory report: the claim table, long-horizon trajectories with plots, and the boundary table.

``python -m invariants report`` runs

1. the property tests of every claim (``pytest -m "not falsify"``, Hypothesis profile ``ci``:
   derandomized, so the same command gives the same table) and reads their margins;
2. an embedded default sweep of long runs (the exact frozen-pattern engine takes over once the pattern
   froze): stable rank against log t per activation, the loss on log-log axes with its fitted slope
   beside the theorem's rate, the margins' spread, and the pattern-freeze times against Lemma 5.6's T;
   the same table for KCG section 6's own data (outside the regime; measured, not asserted);
3. boundary walks: for each (claim, assumption) pair a claim declares (``Claim.walks``), the factor past the
   declared bound at which the claim first fails on any seed;

and writes ``report.md``, ``report.json`` and the PNG plots into the output directory.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from sim import Trajectory, simulate

from .._internal.claim import ReportBudget, ReportJob, boundary_pairs, get, report_jobs
from .._internal.errors import StageError, UsageError
from .._internal.fitting import fit_power, late_window
from .._internal.jsonout import dumps
from .._internal.limit import LimitDirection, limit_direction
from .._internal.plots import pyplot, save
from .._internal.regimes import get_regime
from .._internal.result import CheckResult
from .._internal.verdicts import aggregate, format_table
from ..kcg.figures import paper_config
from ..kcg.regime import Placement, build_case
from .hunt import BoundaryRow, boundary

T = TypeVar("T")

def progress(items: Iterable[T], label: str, total: int | None = None) -> Iterable[T]:
    """A minimal progress bar on stderr (no dependency): label, count, elapsed seconds."""
    items = list(items)
    total = total or len(items)
    t0 = time.perf_counter()
    for k, x in enumerate(items, 1):
        yield x
        bar = "#" * int(30 * k / total)
        sys.stderr.write(f"\r{label:<28} [{bar:<30}] {k}/{total} {time.perf_counter() - t0:6.1f}s")
        sys.stderr.flush()
    sys.stderr.write("\n")


# ---- 1. the claim table ------------------------------------------------------------------------

def _stop(proc: subprocess.Popen[str], grace: float = 5.0) -> None:
    """End pytest and its xdist workers (their own process group): SIGTERM, then SIGKILL after ``grace``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run_property_tests(out: Path, workers: str = "auto", extra: list[str] | None = None) -> dict[str, Any]:
    """Run the property tests (no falsify tests) and return the margins JSON they wrote.

    pytest runs in its own process group, so an interrupted report ends it and its workers at once.  Exit
    0 or 1 (tests failed: the claim table says which) is a result; any other exit (a usage error such as
    an unknown Hypothesis profile, a collection error, no tests) is a :class:`StageError` carrying pytest's
    own message."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "tests").is_dir():
        raise UsageError("the property tests live in the repository's tests/, which this install does not have: "
                         "run the report from a checkout, or pass --no-tests")
    path = out / "margins.json"
    cmd = [sys.executable, "-m", "pytest", "-m", "not falsify", "-q", "-n", workers, "--no-margins-table",
           f"--margins-json={path}", "-p", "no:cacheprovider", *(extra or [])]
    env = dict(os.environ, HYPOTHESIS_PROFILE=os.environ.get("HYPOTHESIS_PROFILE", "ci"))
    sys.stderr.write("running the property tests: " + " ".join(cmd[2:]) + "\n")
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = proc.communicate()
    except BaseException:
        _stop(proc)
        raise
    tail = "\n".join(output.strip().splitlines()[-3:])
    sys.stderr.write(tail + "\n")
    if proc.returncode not in (0, 1) or not path.exists():
        what = {2: "interrupted or a collection error", 3: "an internal error", 4: "a usage error",
                5: "no tests collected"}.get(proc.returncode, "no margins written")
        raise StageError(f"the property tests did not run to the end (pytest exit {proc.returncode}: {what}); "
                         f"no report was written. pytest said:\n{output.strip()[-4000:]}",
                         exit_code=2 if proc.returncode == 4 else 3)
    data = json.loads(path.read_text())
    data["pytest_exit"] = proc.returncode
    data["pytest_summary"] = tail
    return data


# ---- 2. the default sweep of long runs ---------------------------------------------------------

def default_sweep(steps: int) -> list[tuple[str, Trajectory]]:
    """Long in-regime runs: leaky ReLU at several slopes, ReLU, and ReLU on orthogonal data."""
    specs: list[tuple[str, dict[str, Any]]] = [
        (f"leaky gamma={g}", dict(activation="leaky_relu", gamma=g, gram="random"))
        for g in (0.1, 0.3, 0.6, 0.9)
    ] + [("relu", dict(activation="relu", gamma=None, gram="random")),
         ("relu orthogonal", dict(activation="relu", gamma=None, gram="random", orthogonal=True))]
    runs = []
    for name, kw in progress(specs, "default sweep"):
        relu = kw["activation"] == "relu"
        place = Placement(p=0.5, eta=0.5, sigma0=0.02, width=0.5)
        case = build_case(kw["activation"], 8, None if relu else 10, kw["gamma"], d=1000, R=1.2, seed=1,
                          steps=steps, place=place, checkpoints=80, gram=kw["gram"],
                          orthogonal=kw.get("orthogonal", False))
        runs.append((name, case.run()))
    return runs


def paper_data_runs(steps: int) -> list[tuple[str, Trajectory]]:
    """KCG section 6's own data (``SimConfig()``'s defaults), far outside Thm 4.1 / 4.3's regime, leaky
    ReLU 0.1 and ReLU: no pattern freezes there, some entries slide along the kink for good."""
    out = []
    for name, act in progress([("section 6 data, leaky 0.1", "leaky_relu"), ("section 6 data, relu", "relu")],
                              "paper data"):
        out.append((name, simulate(paper_config(activation=act, steps=steps, num_checkpoints=40))))
    return out


def lemma_5_6_T(traj: Trajectory) -> float:
    """T = eta^{-1} n m R_min^{-2} (KCG Lemma 5.6 up to its constant C)."""
    c = traj.config
    return c.n * c.m / (c.eta * traj.data.R_min**2)


def freeze_sweep(steps: int) -> list[dict[str, float]]:
    """Pattern-freeze times against Lemma 5.6's T over a grid of step sizes and slopes (leaky ReLU)."""
    rows = []
    grid = [(g, e, s) for g in (0.2, 0.5, 0.9) for e in (0.1, 0.3, 1.0) for s in (0, 1)]
    for g, e, s in progress(grid, "pattern-freeze sweep"):
        case = build_case("leaky_relu", 6, 8, g, d=10**4, R=1.2, seed=s, steps=steps,
                          place=Placement(p=0.5, eta=e, sigma0=0.5 * g))
        tr = case.run()
        rows.append({"gamma": g, "eta_frac": e, "seed": s, "T_emp": float(tr.pattern_frozen_at),
                     "T_lemma": lemma_5_6_T(tr)})
    return rows


SETTLE = 500  # settling rounds toward a KKT point for runs whose pattern is not final (limit_direction)


def theorem_alpha(tr: Trajectory) -> float:
    """Thm 4.1 / Lemma D.2's loss exponent with c = 1; only meaningful inside (q < 1): outside it the formula
    goes negative, so nan there."""
    c = tr.config
    q = tr.data.p * tr.data.n / tr.data.R_min**2 / (c.gamma**2 if c.gamma else 1.0)
    return (1 - q) / (1 + q) if q < 1 else math.nan


def trajectory_summary(name: str, tr: Trajectory, lim: LimitDirection | None = None) -> dict[str, Any]:
    """One run's row of the long-runs tables (``lim``: its limit direction, computed here if not given)."""
    w = late_window(tr.times) & (tr.times > 0)
    _, alpha = fit_power(tr.times[w], tr.loss[w])
    c = tr.config
    return {"name": name, "activation": c.activation, "gamma": c.gamma, "steps": c.steps,
            "final loss": float(tr.loss[-1]), "fitted alpha": alpha, "theorem alpha (c=1)": theorem_alpha(tr),
            "SR(W+1) end": float(tr.stable_rank[-1, 0]), "SR(W-1) end": float(tr.stable_rank[-1, 1]),
            "margin max/min end": float(tr.margins[-1].max() / tr.margins[-1].min()),
            "pattern frozen at": tr.pattern_frozen_at, "frozen-engine steps": tr.extra.get("frozen_steps", 0),
            "free entries": tr.extra.get("free_max", 0), "changes": int(tr.changes_flat.sum()),
            "flips per step (last interval)": flips_per_step(tr),
            **limit_summary(limit_direction(tr, settle=SETTLE) if lim is None else lim)}


def limit_summary(lim: LimitDirection) -> dict[str, Any]:
    """A run at its limit direction (``invariants.limit_direction``, settled to a KKT point if the run's own
    pattern is not yet final): stable ranks, GD's angle to it at T, and which kind of point it is."""
    if not (lim.certified or lim.kkt_point):
        return {"limit": "none: " + lim.why, "SR*(W+1)": math.nan, "SR*(W-1)": math.nan, "SR*(W)": math.nan,
                "angle to W*(T)": math.nan}
    kind = "certified" if lim.certified else f"KKT point ({lim.settled} rounds, {len(lim.kinks)} on the kink)"
    return {"limit": kind, "SR*(W+1)": float(lim.stable_rank[0]), "SR*(W-1)": float(lim.stable_rank[1]),
            "SR*(W)": float(lim.stable_rank[2]), "angle to W*(T)": float(lim.angle[-1])}


def flips_per_step(tr: Trajectory) -> float:
    """Activation changes per step between the last two checkpoints."""
    if len(tr.times) < 2 or tr.times[-1] == tr.times[-2]:
        return float("nan")
    return float((tr.n_changes[-1] - tr.n_changes[-2]) / (tr.times[-1] - tr.times[-2]))


# ---- 3. boundary table ---------------------------------------------------------------------------

def boundary_table(steps: int, seeds: int) -> list[BoundaryRow]:
    rows = []
    for claim, axis, gram in progress(list(boundary_pairs()), "boundary walks"):
        rows.append(boundary(claim, axis, seeds=seeds, steps=steps, gram=gram))
    return rows


def threshold_as_C(row: BoundaryRow) -> str:
    """The boundary factor as the empirical constant C it corresponds to (C_declared / factor)."""
    if row.threshold is None:
        return f"held up to factor {row.last_held:g}"
    f = row.threshold
    if row.outcome_at_threshold == "undecided":  # the check could not judge from there on (hunt.boundary)
        if math.isnan(row.last_held):
            return "undecided at the baseline (the check cannot judge at the walk's horizon)"
        return f"held up to factor {row.last_held:g}, undecided from {f:.3g}"
    c = get_regime(get(row.claim).regime).declared.get(row.axis)
    return f"fails from factor {f:.3g}" + (f" (C = {c / f:.3g})" if c else "")


# ---- plots ---------------------------------------------------------------------------------------

def make_plots(out: Path, runs: list[tuple[str, Trajectory]], freeze: list[dict[str, float]],
               bounds: list[BoundaryRow], limits: dict[str, LimitDirection] | None = None) -> list[str]:
    """The report's figures; ``limits``: each run's limit direction by name (computed where missing)."""
    plt = pyplot()

    files = []

    def keep(fig: Any, name: str) -> None:
        files.append(save(fig, out, name))

    from .. import plots as P

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, tr in runs:
        P.stable_rank(tr, axes[0] if tr.config.activation == "leaky_relu" else axes[1], label=name)
    lt = np.linspace(1, np.log(max(tr.times[-1] for _, tr in runs)), 50)
    axes[0].semilogy(lt, 1 / lt, "k:", label="1 / log t (the theorem's rate)")
    axes[0].set_title("leaky ReLU: StableRank(W_j) - 1 (Thm 4.1: O(1/log t))")
    axes[1].set_title("ReLU: StableRank(W_j) stays bounded (Thm 4.3)")
    for ax in axes:
        ax.legend(fontsize=7)
    keep(fig, "stable_rank.png")

    lims = limits or {}
    per_run = (("loss_rate.png", "loss O(t^-alpha): fitted late-window slope vs the theorem's rate",
                lambda tr, ax, name: P.loss(tr, ax, label=name, theorem_alpha=theorem_alpha(tr))),
               ("margin_spread.png", "margin spread (KCG-MRG: -> 1 for leaky ReLU)",
                lambda tr, ax, name: P.margin_spread(tr, ax, label=name)),
               ("limit_angle.png", "GD's angle to its limit direction W* (Soudry et al.: O(1/log t))",
                lambda tr, ax, name: P.limit_angle(tr, ax, lim=lims.get(name), label=name)))
    for fname, title, draw in per_run:
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        for name, tr in runs:
            draw(tr, ax, name)
        ax.set_title(title)
        ax.legend(fontsize=7)
        keep(fig, fname)

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for (g, marker, shift) in zip(sorted({r["gamma"] for r in freeze}), "os^v", (0.9, 1.0, 1.1, 1.2), strict=False):
        sel = [r for r in freeze if r["gamma"] == g]  # shifted sideways a little so equal points stay visible
        ax.loglog([r["T_lemma"] * shift for r in sel], [max(r["T_emp"], 0.5) for r in sel], marker,
                  fillstyle="none", markersize=8, label=f"gamma={g}")
    lim = [min(r["T_lemma"] for r in freeze) / 2, max(r["T_lemma"] for r in freeze) * 2]
    ax.loglog(lim, lim, "k:", label="T_emp = T (C = 1)")
    ax.set_xlabel("Lemma 5.6: eta^-1 n m R_min^-2")
    ax.set_ylabel("measured last pattern change")
    ax.set_title("pattern-freeze times vs Lemma 5.6's T")
    ax.legend(fontsize=7)
    keep(fig, "pattern_freeze.png")

    fig, ax = plt.subplots(figsize=(8, 4.5))
    labels = [f"{b.claim}\n{b.axis}" for b in bounds]
    vals = [b.threshold if b.threshold is not None else b.last_held for b in bounds]
    colors = ["tab:red" if b.threshold is not None else "tab:green" for b in bounds]
    ax.bar(range(len(bounds)), vals, color=colors)
    ax.set_yscale("log")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(range(len(bounds)))
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("factor past the declared bound")
    ax.set_title("boundary: first failing factor (red) / held up to (green)")
    keep(fig, "boundary.png")
    return files


def section_lines(done: list[tuple[ReportJob, dict[str, Any]]]) -> list[str]:
    """The figures-and-limits section: one table of every job's results, then each job's own lines."""

    def row(r: CheckResult) -> str:
        m = "nan" if math.isnan(r.margin) else f"{r.margin:+.4g}"
        note = r.note.replace("|", "\\|")  # a pipe would end the markdown cell
        steps = r.config.get("steps", "")
        return f"| {r.claim} | {steps} | {r.outcome} | {m} | {note} |"

    lines = ["## Figures and FVB/ST", "",
             "The papers' synthetic experiments rerun (figure claims are measured, never asserted), and GD "
             "against the max-margin program of FVB Thm 3.2. These are the report's own reruns (horizon in the "
             "second column): a claim that also has property tests appears in the claim table above with the "
             "tests' numbers, and here with these.", "",
             "| claim | horizon (steps) | outcome | margin | note |", "|---|---|---|---|---|"]
    lines += [row(r) for _, res in done for r in res["results"]]
    for job, res in done:
        lines += job.lines(res)
    return lines


# ---- assembling ----------------------------------------------------------------------------------

def limits_table(summaries: list[dict[str, Any]]) -> list[str]:
    """The runs at their limit direction: what GD converges to on the run's last pattern."""
    md = ["| run | limit | SR*(W+1) | SR*(W-1) | SR*(W) | SR(W+1), SR(W-1) at T | angle(W(T), W*) |",
          "|---|---|---|---|---|---|---|"]
    for s in summaries:
        md.append(f"| {s['name']} | {s['limit']} | {s['SR*(W+1)']:.6g} | {s['SR*(W-1)']:.6g} | {s['SR*(W)']:.6g} | "
                  f"{s['SR(W+1) end']:.6g}, {s['SR(W-1) end']:.6g} | {s['angle to W*(T)']:.3g} |")
    return md


def runs_table(summaries: list[dict[str, Any]]) -> list[str]:
    md = ["| run | final loss | fitted alpha | thm alpha (c=1) | SR(W+1) | SR(W-1) | margin max/min | "
          "last pattern change | activation changes | flips per step (last interval) | frozen-pattern steps | "
          "free entries |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        th = s["theorem alpha (c=1)"]
        th_text = f"{th:.3f}" if math.isfinite(th) else "n/a (outside Thm 4.1: p n / (gamma^2 R_min^2) >= 1)"
        md.append(f"| {s['name']} | {s['final loss']:.3e} | {s['fitted alpha']:.3f} | "
                  f"{th_text} | {s['SR(W+1) end']:.5f} | {s['SR(W-1) end']:.5f} | "
                  f"{s['margin max/min end']:.4f} | {s['pattern frozen at']} | {s['changes']:,} | "
                  f"{s['flips per step (last interval)']:.3g} | {s['frozen-engine steps']:,} | "
                  f"{s['free entries']} |")
    return md


def write_report(out: Path, margins: dict[str, Any] | None, runs: list[tuple[str, Trajectory]],
                 freeze: list[dict[str, float]], bounds: list[BoundaryRow],
                 plots: list[str], sections: list[str] | None = None,
                 section_results: list[Any] | None = None,
                 paper_runs: list[tuple[str, Trajectory]] | None = None,
                 power_rows: list[Any] | None = None,
                 limits: dict[str, LimitDirection] | None = None) -> dict[str, Any]:
    from .power import as_json, detects, table

    agg = aggregate(margins["results"]) if margins else {}
    det = detects(power_rows or [])
    lims = limits or {}
    summaries = [trajectory_summary(n, t, lims.get(n)) for n, t in runs]
    paper = [trajectory_summary(n, t, lims.get(n)) for n, t in paper_runs or []]
    md = ["# Theory report", ""]
    if margins:
        md += ["## Summary per theorem", "",
               "Asserted claims only, grouped by the theorem or lemma they come from: the verdicts of their "
               "parts, how many configurations were tried (distinct), the range of n, d, gamma and the horizon "
               "they covered, the reach (per assumption, the log10 slack of the runs that judged the claim: 0 at "
               "the declared bound, 2 at 1% of it), the tightest margin, and what the checks detect (the smallest "
               "planted deviation, `python -m invariants power`; (!) = the suite's target not met).", "",
               *theorem_summary(margins["results"], agg, det), ""]
        md += ["## Claims", "", "verdict: held / BROKEN (asserted claims), measured (figures, open "
               "questions, conjectures), fails (declared): a reading the suite shows to be false. detects: the "
               "smallest planted deviation the check detects ('-': no deviation family yet).", "", "```",
               *format_table(agg, det), "```", "", f"pytest: {margins.get('pytest_summary', '')}", ""]
    if power_rows:
        md += ["## Power (the smallest planted near miss each check detects)", "", "```", *table(power_rows), "```",
               ""]
    md += ["## Long runs (default sweep)", "", *runs_table(summaries)]
    md += ["", "### At the limit (``invariants.limit_direction``)", "",
           "The direction GD converges to on each run's last activation pattern (certified: the pattern froze "
           "and the limit agrees with it; else the KKT point of the network's max-margin problem that the "
           "run's region leads to, with the entries it holds on the kink; none: no such point).", "",
           *limits_table(summaries + paper)]
    if paper:
        md += ["", "### The paper's own data (KCG section 6; outside Thm 4.1 / 4.3's regime)", "",
               "Measured, not asserted: no pattern freezes here; the free entries are those still switching "
               "when the frozen-pattern engine took over (they slide along the kink).", "", *runs_table(paper)]
    md += ["", "## Boundaries (one assumption at a time; factor 1 = the declared constant's bound)", "",
           "| claim | assumption | result | last factor that held |", "|---|---|---|---|"]
    for b in bounds:
        md.append(f"| {b.claim} | {b.axis} | {threshold_as_C(b)} | {b.last_held:.3g} |")
    ratios = [r["T_emp"] / r["T_lemma"] for r in freeze]
    md += ["", f"Pattern freeze: implied C = T_emp / (eta^-1 n m R_min^-2) in [{min(ratios):.3g}, "
           f"{max(ratios):.3g}] over {len(freeze)} leaky runs.", ""]
    md += sections or []
    md += ["## Plots", ""]
    md += [f"![{p}]({p})" for p in plots]
    (out / "report.md").write_text("\n".join(md) + "\n")
    report = {"claims": agg, "power": as_json(power_rows or []), "runs": summaries, "paper_runs": paper,
              "freeze": freeze,
              "boundaries": [asdict(b) for b in bounds], "plots": plots,
              "figures_and_fvb_st": [r.to_json() for r in section_results or []]}
    (out / "report.json").write_text(dumps(report))
    return report


def staging_dir(out: Path) -> Path:
    """A fresh hidden directory beside ``out`` that the report is written into before it is published.

    ``out`` may be missing, empty, or a previous report (it holds ``report.json``); anything else is a
    usage error, so that nothing a user keeps there is ever replaced."""
    if out.exists():
        if not out.is_dir():
            raise UsageError(f"--out {out}: exists and is not a directory")
        if any(out.iterdir()) and not (out / "report.json").exists():
            raise UsageError(f"--out {out}: a non-empty directory that holds no previous report (report.json); "
                             "choose an empty or new directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))


def publish(stage: Path, out: Path) -> None:
    """Replace ``out`` by the complete ``stage`` (two renames; the previous report is removed only after)."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
    stage.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main_report(out: Path, steps: int, boundary_steps: int, seeds: int, tests: bool,
                echo: Callable[[str], None] = print, figure_steps: int = 2000) -> int:
    """Build the whole report in a staging directory and publish it into ``out`` only when complete: an
    error, Ctrl-C or SIGTERM leaves ``out`` as it was (and no stale file in it)."""
    stage = staging_dir(out)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # a killed report cleans up like Ctrl-C
    try:
        code, lines = build_report(stage, steps, boundary_steps, seeds, tests, figure_steps)
        publish(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    for line in lines:
        echo(line.replace(str(stage), str(out)))
    return code


def reach_text(rows: list[dict[str, Any]]) -> str:
    """Where in the regime a claim's evidence comes from: per assumption, the log10 slack range over the
    results that judged it (0: at the declared bound; 2: at 1% of it; inf: p = 0), e.g. "step size 0-2"."""
    reach: dict[str, list[float]] = {}
    for r in rows:
        if r.get("outcome") not in ("held", "failed"):
            continue
        for k, v in ((r.get("config") or {}).get("slack") or {}).items():
            try:
                x = float(v)
            except (TypeError, ValueError):
                continue
            reach.setdefault(k, []).append(x)
    if not reach:
        return "-"

    def fmt(x: float) -> str:
        return "inf" if math.isinf(x) else f"{x:.2g}"

    def span(vals: list[float]) -> str:
        lo, hi = min(vals), max(vals)
        return fmt(lo) if lo == hi else f"{fmt(lo)}-{fmt(hi)}"

    return "; ".join(f"{k} {span(v)}" for k, v in sorted(reach.items()))


def theorem_summary(rows: list[dict[str, Any]], agg: dict[str, dict[str, Any]], det: dict[str, str]) -> list[str]:
    """One row per asserted parent claim: verdicts, distinct configurations, covered ranges, tightest margin,
    detection power of its parts."""
    from .._internal.claim import CLAIMS, verdict_kind

    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if verdict_kind(r["claim"]) == "asserted":
            groups.setdefault(r["claim"].split(":")[0], []).append(r)
    out = ["| claim | where | verdicts | configurations | n | d | gamma | horizon | reach (log10 slack) "
           "| tightest margin | detects |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]

    def rng(vals: list[Any]) -> str:
        nums = sorted({float(v) for v in vals if isinstance(v, int | float) and not isinstance(v, bool)})
        if not nums:
            return "-"
        return f"{nums[0]:.3g}" if nums[0] == nums[-1] else f"{nums[0]:.3g}-{nums[-1]:.3g}"

    for cid in sorted(groups):
        rs = groups[cid]
        parts = sorted({r["claim"] for r in rs})
        verdicts = "; ".join(f"{p.split(':', 1)[1] if ':' in p else 'main'}: {agg[p]['verdict']}" for p in parts
                             if p in agg)
        cfgs = [r.get("config") or {} for r in rs]
        margins = [float(agg[p]["worst_margin"]) for p in parts if p in agg]
        tight = min(margins) if margins else math.nan
        dets = ", ".join(f"{p.split(':', 1)[1] if ':' in p else 'main'} {det[p]}" for p in parts if p in det) or "-"
        where = CLAIMS[cid].where if cid in CLAIMS else "?"
        distinct = len({dumps(c) for c in cfgs})
        out.append(f"| {cid} | {where} | {verdicts} | {distinct} | {rng([c.get('n') for c in cfgs])} | "
                   f"{rng([c.get('d') for c in cfgs])} | {rng([c.get('gamma') for c in cfgs])} | "
                   f"{rng([c.get('steps') for c in cfgs])} | {reach_text(rs)} | {tight:+.3g} | {dets} |")
    return out


def build_report(out: Path, steps: int, boundary_steps: int, seeds: int, tests: bool,
                 figure_steps: int) -> tuple[int, list[str]]:
    """Every stage of the report, written into ``out``; returns the exit code and the summary lines."""
    t0 = time.perf_counter()
    margins = run_property_tests(out) if tests else None
    runs = default_sweep(steps)
    paper = paper_data_runs(steps)
    freeze = freeze_sweep(min(steps, 20_000))
    bounds = boundary_table(boundary_steps, seeds)
    fig_seeds = tuple(range(max(1, min(seeds, 3))))  # the figure reruns: up to 3 paired seeds
    budget = ReportBudget(steps=steps, figure_steps=figure_steps, seeds=fig_seeds)
    jobs = report_jobs()  # every paper's sections, from the registry
    done = [(job, job.run(budget)) for job in progress(jobs, "figures and FVB/ST")]
    limits = {name: limit_direction(tr, settle=SETTLE) for name, tr in runs + paper}  # once per run
    plots = make_plots(out, runs, freeze, bounds, limits) + [f for job, res in done for f in job.plot(out, res)]
    results = [r for _, res in done for r in res["results"]]
    from .power import detects, measure

    power_rows = measure()
    report = write_report(out, margins, runs, freeze, bounds, plots, section_lines(done), results,
                          paper_runs=paper, power_rows=power_rows, limits=limits)
    from .atlas import quick_section
    from .constants import table as implied_table

    atlas_lines = quick_section(out / "atlas")  # the --quick atlas, in this process
    if margins is not None:
        _, implied_lines = implied_table(margins)
        with (out / "report.md").open("a") as fh:
            fh.write("\n## Constants across the regime (`python -m invariants implied`)\n\nEach implied constant "
                     "regressed on log n, log m, log gamma, log d, log(eta/eta_max), log(sigma0/sigma0_max) and log R "
                     "over the property tests' in-regime runs; a slope whose 95% interval excludes 0 means the "
                     "constant is not absolute there.\n\n" + "\n".join(implied_lines) + "\n")
    with (out / "report.md").open("a") as fh:
        fh.write("\n## Atlas (`python -m invariants atlas --quick`)\n\nThe critical factor past the declared bound "
                 "over n and gamma (2 seeds per cell; caps are caps, never fitted), its fitted slopes (0: the "
                 "theorem's own dependence is the real one); atlas.json and the plots are in `atlas/`.\n\n"
                 + "\n".join(atlas_lines) + "\n")
    lines = list(format_table(report["claims"], detects(power_rows))) if report["claims"] else []
    lines.append("")
    lines += [f"boundary {b.claim:<9} {b.axis:<20} {threshold_as_C(b)}" for b in bounds]
    lines.append(f"\nwrote {out / 'report.md'}, {out / 'report.json'} and {len(plots)} plots in "
                 f"{time.perf_counter() - t0:.0f} s")
    unexpected = ("BROKEN", "HOLDS (declared to fail)")
    broken = [c for c, a in report["claims"].items() if a["verdict"] in unexpected]
    if broken:
        lines.append("claims whose verdict differs from the declared one: " + ", ".join(sorted(broken)))
    return (1 if broken or (margins and margins.get("pytest_exit", 0) not in (0,)) else 0), lines


__all__ = ["main_report", "math"]
