"""The claim hub: every catalogue ID with its provenance, checks, regime, axes and proof dependencies.

A paper module registers each claim with :func:`register` and each check with the :func:`check`
decorator next to the function (scikit-learn's estimator checks are the model: the check is a plain
function, its name is its identity).  Everything else -- the hunts' runners, the report's boundary
pairs and per-paper jobs, the CLI's ``claims ID`` page -- is derived from these entries.

The IDs are the catalogue's (``../shared/claims.md``) and are the suite's public names.  Paper packages
(``invariants.kcg``, ``invariants.fvb``, ``invariants.st``, and any package named in the environment
variable ``NEARORTH_PAPERS``) are discovered and imported by :func:`load_all`; this module imports none
of them (discovery is by name, as pytest finds its plugins), so the registry is at the bottom of the
import graph.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import UnknownClaim

KINDS = ("exact", "explicit", "implied-constant", "rate", "probabilistic", "pure-math", "figure",
         "open-question", "conjecture")
STATUSES = ("checked", "measured", "unchecked")
SOURCE_TAGS = ("paper:", "measured:", "choice:")  # where a declared constant comes from (Claim.sources)
TAKES = ("trajectory", "numbers", "dataset", "init", "sequence", "sweep", "solution", "run")


@dataclass(frozen=True)
class CheckSpec:
    """One registered check: the function, the claim IDs it decides and what it takes.

    takes: ``trajectory`` (a :class:`sim.Trajectory`), ``numbers`` (plain floats: pure-math claims),
        ``dataset``, ``init`` (an initialization draw), ``sequence``, ``sweep`` (a figure sweep),
        ``solution`` (FVB's convex program), ``run`` (a wrapped run, e.g. ST's biased network).
    hunt: the check decides its claims in hunts, boundary walks and corpus replays (trajectory checks only).
    every_step: the check reads the every-step activation-change records, so it cannot judge a trajectory
        recorded at checkpoints only (``invariants.check`` then reports ``cannot_judge``).
    """

    fn: Callable[..., Any]
    claims: tuple[str, ...]
    takes: str
    hunt: bool
    every_step: bool = False

    @property
    def name(self) -> str:
        return self.fn.__name__

    @property
    def location(self) -> str:
        """``path:line`` of the function's definition (its first decorator)."""
        return source_location(self.fn)


@dataclass(frozen=True)
class Claim:
    """One catalogue claim as the suite encodes it.

    status: ``checked`` (asserted by property tests), ``measured`` (figures, open questions and
        conjectures: measured and reported, never asserted) or ``unchecked`` (``reason`` says why).
    expected: ``holds`` or ``fails`` -- a known failure is declared here, not hidden (e.g. the
        e^{-x0} reading of KCG (5.7)).
    in_regime: predicate ``(config, data) -> bool`` evaluating the claim's assumptions with the
        suite's declared constants (the paper's ``regime`` module); None for pure-math claims.
    declared: the constants the check compares the run's implied constants against.
    sources: where each declared constant comes from, one entry per key of ``declared``, starting with its
        provenance (``SOURCE_TAGS``): ``paper:`` (stated in, or derived from, the paper's proof: say where),
        ``measured:`` (set here after measuring runs: say what was measured), ``choice:`` (a convention of the
        suite -- a tolerance, a window, a round value -- with its reason).  ``claims --constants`` tables them.
    reading: how the suite reads the paper where the OCR or the catalogue is in doubt.
    network, activation: the network (``kcg``: m neurons per sign, ±1/m; ``fvb``: m1 + m2, ±1/√m) and the
        activation the claim is about (None: not about a network, e.g. a sequence lemma).
    regime: the name of the regime family (:mod:`invariants._internal.regimes`) whose strategy builds the
        claim's cases; None when the claim is not checked on simulated runs.
    orthogonal: its cases are built on exactly orthogonal data (claims stated for p = 0).
    axes: the assumptions along which it can be hunted and walked (names of the regime's axes).
    walks: the ``(axis, gram)`` pairs the report's boundary table walks.
    uses: the claim IDs of the lemmas its proof uses (theorems and lemmas that build on others).  The
        edges registered today are a first reading of the papers' proof structure (the lemma each
        appendix section cites, the catalogue's "where" column); the proof-chain work of issue 15 is to
        check each edge against the appendices.
    """

    id: str
    paper: str
    where: str
    kind: str
    statement: str
    assumptions: str = ""
    in_regime: Callable[..., bool] | None = None
    declared: dict[str, float] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    status: str = "checked"
    expected: str = "holds"
    reason: str = ""
    reading: str = ""
    network: str | None = None
    activation: str | None = None
    regime: str | None = None
    orthogonal: bool = False
    axes: tuple[str, ...] = ()
    walks: tuple[tuple[str, str], ...] = ()
    uses: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Claim {self.id}: kind must be one of {KINDS}; got {self.kind!r}")
        if self.status not in STATUSES:
            raise ValueError(f"Claim {self.id}: status must be one of {STATUSES}; got {self.status!r}")
        if self.status == "unchecked" and not self.reason:
            raise ValueError(f"Claim {self.id}: an unchecked claim needs a written reason")
        stray = sorted(set(self.sources) - set(self.declared))
        if stray:
            raise ValueError(f"Claim {self.id}: sources for {stray}, which are not declared constants")
        untagged = sorted(k for k, v in self.sources.items() if not v.startswith(SOURCE_TAGS))
        if untagged:
            raise ValueError(f"Claim {self.id}: the source of {untagged} must start with one of {SOURCE_TAGS}")
        bad = [a for a, _ in self.walks if a not in self.axes]
        if bad:
            raise ValueError(f"Claim {self.id}: walks along {bad}, which are not among its axes {self.axes}")

    @property
    def checks(self) -> tuple[CheckSpec, ...]:
        """Every check registered for this claim (the :func:`check` decorator), in definition order."""
        return tuple(_CHECKS.get(self.id, ()))

    @property
    def hunt_checks(self) -> tuple[CheckSpec, ...]:
        """The trajectory checks that decide this claim in hunts, walks and replays."""
        return tuple(c for c in self.checks if c.hunt)

    @property
    def huntable(self) -> bool:
        return bool(self.hunt_checks) and self.regime is not None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "paper": self.paper, "where": self.where, "kind": self.kind,
                "statement": self.statement, "assumptions": self.assumptions,
                "declared": dict(self.declared), "sources": dict(self.sources), "status": self.status,
                "expected": self.expected,
                "reason": self.reason, "reading": self.reading, "network": self.network,
                "activation": self.activation, "regime": self.regime, "orthogonal": self.orthogonal,
                "axes": list(self.axes), "walks": [list(w) for w in self.walks], "uses": list(self.uses),
                "checks": [{"name": c.name, "takes": c.takes, "hunt": c.hunt, "at": c.location}
                           for c in self.checks]}


CLAIMS: dict[str, Claim] = {}
_CHECKS: dict[str, list[CheckSpec]] = {}

# Sub-results (``ID:part``) that are measured and reported but never asserted, although their parent
# claim is checked: the paper proves no such statement (see the check's docstring).
MEASURED_PARTS = {
    "KCG-MRG:ratio-relu": "KCG proves margin equalization only for leaky ReLU",
    "KCG-F3:range": "the o(1) statements of Lemma F.3 at finite m, n",
}


def register(claim: Claim) -> Claim:
    """Add a claim to the registry (idempotent for an identical entry)."""
    if claim.id in CLAIMS and CLAIMS[claim.id] != claim:
        raise ValueError(f"claim {claim.id} registered twice with different contents")
    CLAIMS[claim.id] = claim
    return claim


def check(*claim_ids: str, takes: str = "trajectory", hunt: bool = False, every_step: bool = False
          ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as a check of ``claim_ids``; returns the function unchanged.

    ``hunt=True`` makes it the claim's decider in hunts, boundary walks and corpus replays (trajectory
    checks only); a claim's hunt result is every such check's results for that claim.
    """
    if not claim_ids:
        raise ValueError("check() needs at least one claim ID")
    if takes not in TAKES:
        raise ValueError(f"check(takes=...) must be one of {TAKES}; got {takes!r}")
    if hunt and takes != "trajectory":
        raise ValueError("only trajectory checks can decide hunts (hunt=True needs takes='trajectory')")
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        spec = CheckSpec(fn, tuple(claim_ids), takes, hunt, every_step)
        for cid in claim_ids:
            specs = _CHECKS.setdefault(cid, [])
            if not any(s.fn is fn for s in specs):
                specs.append(spec)
        return fn

    return deco


def verdict_kind(result_claim: str) -> str:
    """``measured`` or ``asserted`` for a result's claim ID (sub-IDs ``ID:part`` included)."""
    parent = CLAIMS.get(result_claim.split(":")[0])
    if result_claim in MEASURED_PARTS or (parent is not None and parent.status == "measured"):
        return "measured"
    return "asserted"


def get(claim_id: str) -> Claim:
    """The registered claim ``claim_id``; an unknown ID is an :class:`UnknownClaim` (a KeyError) that lists
    the nearest known IDs."""
    load_all()
    try:
        return CLAIMS[claim_id]
    except KeyError:
        raise UnknownClaim(unknown_id_message(claim_id)) from None


def unknown_id_message(claim_id: str) -> str:
    import difflib

    ids = sorted(CLAIMS)
    near = difflib.get_close_matches(claim_id, ids, n=5, cutoff=0.5)
    near += [i for i in ids if i.upper().startswith(claim_id.upper()) and i not in near][:5]
    hint = f"nearest: {', '.join(near)}" if near else f"known: {', '.join(ids)}"
    return f"unknown claim ID {claim_id!r}; {hint} (python -m invariants claims lists every ID)"


PAPERS = ("fvb", "kcg", "st")  # the built-in paper packages under invariants/
_LOADED: set[str] = set()


def load_paper(package: str) -> None:
    """Import a paper package and every module in it (registration happens at import)."""
    if package in _LOADED:
        return
    pkg = importlib.import_module(package)
    for info in pkgutil.walk_packages(getattr(pkg, "__path__", []), prefix=package + "."):
        if not info.name.rsplit(".", 1)[-1].startswith("_"):
            importlib.import_module(info.name)
    _LOADED.add(package)


def load_all() -> dict[str, Claim]:
    """Register every claim: the built-in paper packages, then those named in ``NEARORTH_PAPERS``."""
    for name in PAPERS:
        load_paper(f"invariants.{name}")
    for name in filter(None, (s.strip() for s in os.environ.get("NEARORTH_PAPERS", "").split(","))):
        load_paper(name)
    orphans = sorted(set(_CHECKS) - set(CLAIMS))
    if orphans:
        where = {cid: [s.location for s in _CHECKS[cid]] for cid in orphans}
        raise ValueError(f"checks registered for unknown claim IDs: {where}")
    return CLAIMS


def huntable() -> list[str]:
    """The IDs that hunts, boundary walks and replays can decide (a regime and a hunt check)."""
    return sorted(cid for cid, c in load_all().items() if c.huntable)


def boundary_pairs() -> Iterator[tuple[str, str, str]]:
    """``(claim, axis, gram)`` for every walk a claim declares, in registry order (the report's table)."""
    for cid, c in load_all().items():
        for axis, gram in c.walks:
            yield cid, axis, gram


def source_location(obj: Any) -> str:
    """``path:line`` of a function (relative to the working directory when below it)."""
    fn = inspect.unwrap(obj)
    path = inspect.getsourcefile(fn) or "?"
    try:
        path = os.path.relpath(path)
    except ValueError:  # pragma: no cover (another drive)
        pass
    return f"{path}:{fn.__code__.co_firstlineno}"


# ---- report jobs ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportBudget:
    """What a report job may spend: the long runs' horizon, the figure reruns' horizon, their seeds."""

    steps: int
    figure_steps: int
    seeds: tuple[int, ...]


@dataclass(frozen=True)
class ReportJob:
    """A section of the theory report that a paper contributes (figure reruns, limit runs).

    run: ``(budget) -> dict`` with at least ``"results"`` (a list of CheckResult);
    plot: ``(out_dir, output) -> [file names]``; lines: ``(output) -> [markdown lines]`` after the table.
    """

    name: str
    paper: str
    claims: tuple[str, ...]
    run: Callable[[ReportBudget], dict[str, Any]]
    plot: Callable[[Any, dict[str, Any]], list[str]]
    lines: Callable[[dict[str, Any]], list[str]]
    order: int = 0


REPORT_JOBS: dict[str, ReportJob] = {}


def report_job(name: str, paper: str, claims: tuple[str, ...], *, plot: Callable[[Any, dict[str, Any]], list[str]],
               lines: Callable[[dict[str, Any]], list[str]] | None = None, order: int = 0
               ) -> Callable[[Callable[[ReportBudget], dict[str, Any]]], Callable[[ReportBudget], dict[str, Any]]]:
    """Register the decorated ``run(budget)`` as a report section of ``paper`` about ``claims``."""

    def deco(fn: Callable[[ReportBudget], dict[str, Any]]) -> Callable[[ReportBudget], dict[str, Any]]:
        REPORT_JOBS[name] = ReportJob(name, paper, claims, fn, plot, lines or (lambda _out: []), order)
        return fn

    return deco


def report_jobs() -> list[ReportJob]:
    """Every registered report job, in (order, name) order."""
    load_all()
    return sorted(REPORT_JOBS.values(), key=lambda j: (j.order, j.name))
