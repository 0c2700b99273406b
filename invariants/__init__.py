"""Theorem checks for GD on two-layer (leaky) ReLU networks trained on nearly-orthogonal data.

The public face of the suite:

* :func:`get` -- a claim by its catalogue ID; :func:`claims` -- every registered claim;
* :class:`Claim` -- the hub entry (provenance, statement, regime, axes, proof dependencies, checks);
* :func:`check` -- the decorator that registers a check function for one or more claim IDs;
* :func:`register` -- adds a claim; :class:`CheckResult` -- what a check returns (a signed margin);
* :func:`cases_for` -- the Hypothesis strategy of in-regime cases for a claim; :class:`Case`;
* :func:`limit_direction` -- GD's limit direction on a run's frozen pattern (:class:`LimitDirection`).

Claims live in paper packages (``invariants.kcg``, ``invariants.fvb``, ``invariants.st``), shared
machinery in ``invariants._internal``, workflows (hunts, corpus, report, CLI) in ``invariants.workflows``.
"""

from typing import Any

from ._internal.claim import CLAIMS, MEASURED_PARTS, CheckSpec, Claim, get, load_all, register
from ._internal.claim import check as _register_check
from ._internal.judge import judge
from ._internal.limit import LimitDirection, limit_direction
from ._internal.regimes import Case, Regime, get_regime, register_regime
from ._internal.result import CheckResult
from ._internal.strategies import cases_for


def check(*args: Any, **kwargs: Any) -> Any:
    """Two uses, told apart by the first argument:

    * ``check(traj, claims=None)`` -- judge a run (a :class:`sim.Trajectory`, simulated, recorded with
      :class:`sim.Recorder` or loaded): a list of :class:`CheckResult`, one or more per claim that can judge
      it, each saying which of the theorem's assumptions the run does not meet (:func:`judge`);
    * ``@check("ID", ..., takes=..., hunt=...)`` -- register the decorated function as a check of claims.
    """
    if args and isinstance(args[0], str):
        if args[0].endswith(".npz"):
            raise TypeError(f"check({args[0]!r}) would register a check for a claim named {args[0]!r}; to judge "
                            f"a saved run: check(sim.Trajectory.load({args[0]!r}))")
        return _register_check(*args, **kwargs)
    if not args:
        raise TypeError("check(traj, claims=None) judges a run; @check('ID', ...) registers a check")
    return judge(*args, **kwargs)


def claims() -> dict[str, Claim]:
    """Every registered claim, by ID (imports the paper packages on first use)."""
    return load_all()


__all__ = ["CLAIMS", "MEASURED_PARTS", "Case", "CheckResult", "CheckSpec", "Claim", "LimitDirection", "Regime",
           "cases_for", "check", "claims", "get", "get_regime", "judge", "limit_direction", "load_all", "register",
           "register_regime"]
