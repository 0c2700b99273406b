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

from ._internal.claim import CLAIMS, MEASURED_PARTS, CheckSpec, Claim, check, get, load_all, register
from ._internal.limit import LimitDirection, limit_direction
from ._internal.regimes import Case, Regime, get_regime, register_regime
from ._internal.result import CheckResult
from ._internal.strategies import cases_for


def claims() -> dict[str, Claim]:
    """Every registered claim, by ID (imports the paper packages on first use)."""
    return load_all()


__all__ = ["CLAIMS", "MEASURED_PARTS", "Case", "CheckResult", "CheckSpec", "Claim", "LimitDirection", "Regime",
           "cases_for", "check", "claims", "get", "get_regime", "limit_direction", "load_all", "register",
           "register_regime"]
