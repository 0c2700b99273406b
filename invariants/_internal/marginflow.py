"""A margin's own gradient flow under its loss: what a margin does before the asymptotic regime.

Each margin z of a network trained by GD on nearly-orthogonal data follows, to first order, the flow
dz/dt = c (-l'(z)) of its own loss (decoupled across points: orthogonal data, a frozen pattern).  The rate
claims' windows and tolerances are the asymptotic regime's (slope 1 in log t, loss ~ 1/t); before it the
flow itself is slower and steepens, and a check that ignored it reported 10-step runs as counterexamples.
The rate checks (``invariants.kcg.growth``, ``invariants.kcg.pattern``) widen their bounds by exactly what
this flow does at the run's observed margins.  Logistic loss: e^z + z = c t + e^{z0} + z0; exponential:
e^z = c t + e^{z0}.
"""

from __future__ import annotations

import math


def flow_slope(z: float, loss: str = "logistic") -> float:
    """d z / d log t of a margin under its own loss's gradient flow dz/dt = c (-l'(z)) from z(0) = 0, as a
    function of z (c drops out): logistic, e^z + z = c t + 1, so (e^z + z - 1) / (e^z + 1); exponential,
    e^z = c t + 1, so 1 - e^{-z}.  Rises from 0; the logistic one peaks at ``Z_STEEPEST`` (1.0475) and
    then flattens to 1 from above, the exponential one rises to 1 from below."""
    if z <= 0:
        return 0.0
    if loss == "exponential":
        return -math.expm1(-z)
    if z > 700:  # e^z overflows; the slope is 1 + (z - 2) e^{-z} to rounding
        return 1.0
    ez = math.exp(z)
    return (ez + z - 1.0) / (ez + 1.0)


def flow_loss_exponent(z: float, loss: str = "logistic") -> float:
    """The local exponent -d log l(z) / d log t of one point's loss under its margin's own flow (``flow_slope``):
    s(z) (-l'(z)) / l(z).  Logistic: s(z) / ((1 + e^z) log(1 + e^{-z})), 0.35 at z = 0.5, 0.94 at z = 2, 1
    near z = 2.5, at most ~1.03 beyond and back to 1 as z grows; exponential: 1 - e^{-z}.  0 for z <= 0."""
    if z <= 0:
        return 0.0
    if loss == "exponential":
        return -math.expm1(-z)
    if z > 700:
        return 1.0
    return flow_slope(z, loss) / ((1.0 + math.exp(z)) * math.log1p(math.exp(-z)))


def _steepest() -> float:
    """The logistic flow's steepest point: d/dz of ``flow_slope`` is 0 where e^z (3 - z) + 1 = 0, i.e.
    z = 3 + e^{-z} (a contraction: iterated to rounding)."""
    z = 3.0
    for _ in range(60):
        z = 3.0 + math.exp(-z)
    return z


Z_STEEPEST = _steepest()  # 3.0475, derived


def flow_secant(z_a: float, z_e: float, loss: str = "logistic", z0: float = 0.0) -> float:
    """The slope in log t of a margin's own flow dz/dt = c (-l'(z)) from z(0) = z0, averaged over a window
    along which it goes from z_a to z_e: (z_e - z_a) / log(T(z_e) / T(z_a)), T(z) = e^z + z - e^{z0} - z0
    (logistic; e^z - e^{z0} for the exponential loss) the flow's time to reach z, times c.  From z0 = 0:
    1.035 from z = 2 to 5, 1.008 from 5 to 8 (Lemma F.2's once-measured 0.8% at 2e5 steps); the local
    slope where z_e = z_a; 0 where z_a <= z0 (the flow has not started)."""
    lo, hi = min(z_a, z_e), max(z_a, z_e)
    if lo <= z0:
        return 0.0

    def time_to(z: float) -> float:  # T(z), by differences that stay accurate for z near z0
        if loss == "exponential":
            return math.exp(z0) * math.expm1(z - z0)
        return math.exp(z0) * math.expm1(z - z0) + (z - z0)

    if hi - lo < 1e-9 * max(1.0, hi):  # the local slope, d z / d log t = T(z) / T'(z)
        d = math.exp(lo) if loss == "exponential" else math.exp(lo) + 1.0
        return time_to(lo) / d
    if hi > 700:  # log T(z) = z + log(1 + (z - e^{z0} - z0) e^{-z}) without overflow
        def log_time(z: float) -> float:
            rest = -math.exp(z0) if loss == "exponential" else z - math.exp(z0) - z0
            return z + math.log1p(rest * math.exp(-z))
        return (hi - lo) / (log_time(hi) - log_time(lo))
    return (hi - lo) / math.log(time_to(hi) / time_to(lo))


def flow_steepening(z_a: float, loss: str = "logistic", z_e: float = math.inf) -> float:
    """sup over z in [z_a, z_e] of flow_slope(z) / flow_slope(z_a): how much a margin that is z_a at the start of
    a window and at most z_e at its end can steepen along it by its loss's own flow (1 from ``Z_STEEPEST`` on
    for the logistic loss; inf for z_a <= 0).  ``kcg.growth.theta_log``'s drift allowance."""
    s_a = flow_slope(z_a, loss)
    if s_a <= 0:
        return math.inf
    z_e = max(z_a, z_e)
    top = flow_slope(z_e, loss) if loss == "exponential" else flow_slope(min(max(z_a, Z_STEEPEST), z_e), loss)
    return max(1.0, top / s_a)
