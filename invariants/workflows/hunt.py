"""Counterexample hunts on the assumptions' boundaries, and boundary walks.

A hunt leaves the regime along one assumption (``invariants.cases.AXES``), keeps the others inside,
steers Hypothesis toward negative margins with ``hypothesis.target`` and lets it shrink what it finds.
Each found case is classified:

* ``failed`` -- the claim fails at the hunt's horizon and still fails at 10x that horizon;
* ``too_short`` -- it fails at the horizon but holds at 10x (the run was too short to show the claim),
  or the check itself says the run cannot show it;
* ``diverged`` -- the run's margins or loss became non-finite.

A boundary walk starts inside (factor 1 = the assumption holds with equality at the declared constant)
and bisects, on a log scale, for the smallest factor at which the claim fails on any of several seeds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, find, settings, target
from hypothesis.errors import NoSuchExample

from sim import Trajectory

from .._internal.claim import Claim, get, huntable, load_all, verdict_kind
from .._internal.errors import UsageError
from .._internal.generation import fix_generation
from .._internal.regimes import Case, Regime, get_regime
from .._internal.result import CheckResult


def decider(claim: str) -> Claim:
    """The claim, if hunts, walks and replays can decide it (it has a trajectory check with ``hunt=True``)."""
    c = get(claim)
    if not c.hunt_checks:
        raise UsageError(f"{claim} has no hunt check (a trajectory check registered with hunt=True); hunts, "
                       f"walks and replays decide: {', '.join(huntable_or_replayable())}")
    return c


def huntable_or_replayable() -> list[str]:
    """The claims hunts, walks or corpus replays can decide (they have a hunt check)."""
    return sorted(cid for cid, c in load_all().items() if c.hunt_checks)


def results_of(claim: str, traj: Trajectory) -> list[CheckResult]:
    """Every result the claim's hunt checks give on ``traj`` (a check shared by several claims contributes
    the results of this claim and its parts ``claim:part``).  For an asserted claim the parts the suite
    only measures (``MEASURED_PARTS``, e.g. KCG-F3:range) are left out: their "failure" is no
    counterexample."""
    out: list[CheckResult] = []
    asserted = verdict_kind(claim) == "asserted"
    for spec in decider(claim).hunt_checks:
        res = spec.fn(traj)
        res = list(res) if isinstance(res, list | tuple) else [res]
        if len(spec.claims) > 1:
            res = [r for r in res if r.claim.split(":")[0] == claim]
        if asserted:
            res = [r for r in res if verdict_kind(r.claim) == "asserted"]
        out += res
    return out


def worst(results: list[CheckResult]) -> CheckResult:
    """The failed result with the most negative margin, else the smallest margin."""
    scored = [r for r in results if not math.isnan(r.margin)]
    failed = [r for r in scored if r.outcome == "failed"]
    pool = failed or scored or results
    return min(pool, key=lambda r: r.margin if not math.isnan(r.margin) else math.inf)


@dataclass
class Verdict:
    outcome: str  # held, failed, too_short, diverged
    result: CheckResult | None
    traj_steps: int


def classify(claim: str, case: Case, longer: int = 10,
             on_horizon: Callable[[CheckResult], None] | None = None) -> Verdict:
    """Run the case and say which of held / failed / too_short / diverged it is (module docstring).
    ``on_horizon`` sees the worst result at the case's own horizon (hunts steer on it)."""
    traj = case.run()
    if traj.diverged:
        return Verdict("diverged", None, case.cfg.steps)
    res = worst(results_of(claim, traj))
    if on_horizon is not None:
        on_horizon(res)
    if res.outcome in ("held", "too_short", "cannot_judge", "diverged"):
        return Verdict(res.outcome, res, case.cfg.steps)
    long = results_of(claim, case.run(steps=case.cfg.steps * longer))
    if all(r.outcome != "failed" for r in long):
        return Verdict("too_short", res, case.cfg.steps)
    return Verdict("failed", worst(long), case.cfg.steps * longer)


@dataclass
class HuntReport:
    claim: str
    axis: str | None
    gram: str
    budget: int
    outcome: str  # failed / too_short / diverged / none_found
    case: Case | None = None
    result: CheckResult | None = None
    tried: int = 0
    diverged_seen: int = 0
    slack: dict[str, float] = field(default_factory=dict)
    in_claim_regime: bool | None = None  # the registry's own predicate for the claim (may be stricter)
    closest: CheckResult | None = None  # the smallest margin seen at the horizon over every example tried

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"claim": self.claim, "axis": self.axis, "gram": self.gram,
                               "budget": self.budget, "outcome": self.outcome, "tried": self.tried,
                               "diverged_seen": self.diverged_seen}
        if self.case is not None:
            out["case"] = repr(self.case)
            out["slack"] = self.slack
            out["in_claim_regime"] = self.in_claim_regime
        if self.closest is not None:
            out["closest"] = {"claim": self.closest.claim, "margin": self.closest.margin,
                              "where": self.closest.where, "origin": self.closest.config.get("origin", "")}
        if self.result is not None:
            out["margin"] = self.result.margin
            out["where"] = self.result.where
            out["note"] = self.result.note
        return out


def hunt(claim: str, axis: str | None, budget: int = 40, seed: int = 0, steps: int = 20_000,
         gram: str = "random", factor: tuple[float, float] = (1.0, 1e3),
         on_example: Callable[[int], None] | None = None, longer: int = 10) -> HuntReport:
    """Search configurations past ``axis`` (None: inside the regime) for a failure of ``claim``.

    Hypothesis searches, steered by ``target`` toward negative margins at the horizon, and shrinks on the
    verdict's own condition: a case counts as found only when it fails at ``steps`` *and* at ``longer`` x
    ``steps`` (so shrinking can never walk a real failure into a run that is merely too short).  ``budget``
    bounds every simulated example, the shrinking included: once it is spent the search stops with the
    smallest failing case found so far.  With no failure found, the first case that failed only at the
    horizon is reported as ``too_short``.
    """
    c = decider(claim)
    if c.regime is None:
        raise UsageError(f"{claim} names no regime family to hunt in (its counterexamples are replayed from the "
                         f"corpus; hunts run on: {', '.join(huntable())})")
    regime = get_regime(c.regime)
    if axis is not None and axis not in c.axes:
        raise UsageError(f"axis must be one of {c.axes} or None for {claim}; got {axis!r}")
    if axis == "width" and c.activation is not None and c.activation != "relu" and "width" in regime.declared:
        raise UsageError(f"{claim}: the width assumption (m >= C log(n/delta)) is Thm 4.3's (ReLU); {claim} is "
                         f"about {c.activation}, whose theorem has no width condition to hunt past")
    if gram not in regime.grams:
        raise UsageError(f"gram must be one of {regime.grams} for {claim}; got {gram!r}")
    for name, value in (("budget", budget), ("steps", steps), ("longer", longer)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise UsageError(f"{name} must be an integer >= 1; got {value!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise UsageError(f"seed must be an integer >= 0; got {seed!r}")
    kw: dict[str, Any] = {"orthogonal": c.orthogonal}
    if c.activation is not None:
        kw["activation"] = c.activation
    strategy = regime.cases(past=axis, steps=steps, factor=factor, gram=gram, scale_horizon=False, **kw)
    if axis is None and c.in_regime is not None:  # inside: the claim's own assumptions (may be stricter)
        pred = c.in_regime
        strategy = strategy.filter(lambda case: bool(pred(case.cfg, case.data)))
    elif c.in_regime is not None:  # past one: every other assumption inside the claim's own regime
        strategy = strategy.filter(lambda case: others_inside(c, regime, case, axis))
    rep = HuntReport(claim, axis, gram, budget, "none_found")
    verdicts: dict[str, Verdict] = {}  # repr(case) -> its verdict, for the cases that met the condition
    first_short: list[tuple[Case, Verdict]] = []

    passed: set[str] = set()

    def fails(case: Case) -> bool:
        key = repr(case)
        if key in verdicts or key in passed:  # decided before (Hypothesis replays its final example): no rerun
            return key in verdicts
        if rep.tried >= budget:  # the budget is spent: nothing more is simulated, shrinking stops here
            return False
        rep.tried += 1
        if on_example:
            on_example(rep.tried)

        def steer(res: CheckResult) -> None:
            if not math.isnan(res.margin):
                if math.isfinite(res.margin):  # Hypothesis' target takes finite observations only
                    target(-float(res.margin), label="negative margin")
                if rep.closest is None or res.margin < rep.closest.margin:
                    rep.closest = res

        v = classify(claim, case, longer, on_horizon=steer)
        if v.outcome == "failed":
            verdicts[key] = v
            return True
        passed.add(key)
        rep.diverged_seen += v.outcome == "diverged"
        if v.outcome == "too_short" and v.result is not None and v.result.outcome == "failed" and not first_short:
            first_short.append((case, v))  # failed at the horizon, held at 10x
        return False

    fix_generation()
    try:
        found = find(strategy, fails, random=random.Random(seed),
                     settings=settings(max_examples=budget, database=None, deadline=None,
                                       suppress_health_check=list(HealthCheck)))
        v = verdicts.get(repr(found)) or classify(claim, found, longer)
    except NoSuchExample:
        if not first_short:
            return rep
        found, v = first_short[0]
    rep.outcome, rep.case, rep.result = v.outcome, found, v.result
    rep.slack = found.slack()
    pred = c.in_regime
    rep.in_claim_regime = bool(pred(found.cfg, found.data)) if pred is not None else None
    return rep


def others_inside(c: Claim, regime: Regime, case: Case, axis: str) -> bool:
    """Whether ``case``, hunted past ``axis``, has every other assumption inside the claim's own regime
    (``Claim.in_regime``, which may be stricter than the family's bounds the strategy draws from, e.g.
    KCG-5.6's (B.2) init bound): the same case with the ``axis`` fraction set deep inside (``DEEP_INSIDE``
    of the family's bound, not 1: the claim's own bound on that axis may be stricter too, as (B.2) is on
    the init scale) must be inside it.  Without a way to rebuild the case (no ``with_factor``, or an axis it
    cannot move) the family's bounds are all there is, and the case is kept."""
    if c.in_regime is None or regime.with_factor is None:
        return True
    try:
        inside = regime.with_factor(case, axis, DEEP_INSIDE)
    except ValueError:
        return True
    return bool(c.in_regime(inside.cfg, inside.data))


DEEP_INSIDE = 1e-3  # the hunted axis's fraction when the other assumptions are checked (``others_inside``)


@dataclass
class BoundaryRow:
    claim: str
    axis: str
    threshold: float | None  # smallest factor found failing (None: held up to the largest tried)
    last_held: float
    seeds: int
    outcome_at_threshold: str = ""
    # (requested factor, effective factor, status); effective = 10^-slack of the built case, which is
    # smaller than requested where a cap applies (p / R_min^2 is capped to keep G positive definite)
    tried: list[tuple[float, float, str]] = field(default_factory=list)


def walkable() -> list[str]:
    """The claims a boundary walk can decide (their regime family builds walk cases)."""
    out = []
    for cid in huntable():
        r = get_regime(get(cid).regime)
        if r.baseline is not None and r.with_factor is not None:
            out.append(cid)
    return out


def boundary(claim: str, axis: str, seeds: int = 3, steps: int = 20_000, hi: float = 1e3, iters: int = 6,
             n: int = 4, gamma: float = 0.5, d: int = 10**6, gram: str = "random", first_seed: int = 0) -> BoundaryRow:
    """Bisect (in log factor) between 1 and ``hi`` for the first factor where ``claim`` fails on any of the
    seeds ``first_seed .. first_seed + seeds - 1``."""
    c = decider(claim)
    for name, value in (("seeds", seeds), ("steps", steps)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise UsageError(f"{name} must be an integer >= 1; got {value!r}")
    if not (isinstance(hi, int | float) and math.isfinite(hi) and hi > 1):
        raise UsageError(f"hi (the largest factor, --max-factor) must be a finite number > 1; got {hi!r}")
    regime = get_regime(c.regime) if c.regime else None
    if regime is None or regime.baseline is None or regime.with_factor is None:
        raise UsageError(f"{claim}: its regime family has no boundary walk (walks run on: "
                         f"{', '.join(walkable())})")
    if gram not in regime.grams:
        raise UsageError(f"gram must be one of {regime.grams} for {claim}; got {gram!r}")
    if axis == "width" and c.activation != "relu":
        raise UsageError(f"{claim}: the width assumption (m >= C log(n/delta)) is Thm 4.3's (ReLU); {claim} is "
                         f"about {c.activation}, whose theorem has no width condition to walk past")
    if axis not in c.axes or axis == "label balance":
        raise UsageError(f"axis must be one of {[a for a in c.axes if a != 'label balance']} for {claim}; "
                         f"got {axis!r}")
    cases = [regime.baseline(c.activation, n=n, gamma=gamma, d=d, seed=s, steps=steps, gram=gram,
                             orthogonal=c.orthogonal) for s in range(first_seed, first_seed + seeds)]
    with_factor = regime.with_factor
    row = BoundaryRow(claim, axis, None, 1.0, seeds)

    def status(f: float) -> str:
        placed = [with_factor(c, axis, f) for c in cases]
        outs = [classify(claim, c, longer=1).outcome for c in placed]
        # a check that cannot judge at the horizon (too_short, cannot_judge) decides nothing: "undecided",
        # which the bisection treats as not held (the walk then reports where the claim stopped being
        # confirmed, and the atlas calls that cell undecided, neither a boundary nor a cap)
        s = "failed" if "failed" in outs else ("diverged" if "diverged" in outs else (
            "undecided" if any(o in ("too_short", "cannot_judge") for o in outs) else "held"))
        effective = max(10 ** -c.slack()[axis] for c in placed)
        row.tried.append((f, effective, s))
        return s

    def eff(f: float) -> float:
        return next(e for r, e, _ in row.tried if r == f)

    lo_f, hi_f = 1.0, hi
    if status(lo_f) != "held":
        row.threshold, row.last_held, row.outcome_at_threshold = eff(lo_f), float("nan"), row.tried[-1][2]
        return row
    if status(hi_f) == "held":
        row.last_held = eff(hi_f)
        return row
    for _ in range(iters):
        mid = math.sqrt(lo_f * hi_f)
        if status(mid) == "held":
            lo_f = mid
        else:
            hi_f = mid
    row.threshold, row.last_held = eff(hi_f), eff(lo_f)
    row.outcome_at_threshold = next(s for r, _, s in reversed(row.tried) if r == hi_f)
    return row
