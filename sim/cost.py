"""Cost model of the auto engine's hand-over (``sim.frozen.AutoState``): predicted nanoseconds of a span
step, of a frozen-pattern step, of a certificate and of entering the frozen-pattern engine, from the shapes
alone.

The hand-over must be decided from the shapes, not from a clock: the two engines' numbers agree to
rounding, not bit for bit, so a decision taken on measured times would make a run's numbers depend on
the machine's load.  The constants are declared, not derived: least-squares fits (of the relative error)
to one-core measurements on the project's machine on 2026-12-07 (Intel Xeon, AVX-512, numba 0.68;
``benchmarks/cost_fit.py`` measures and fits them again and prints each fit's range), then scaled so that
the budget's ledger errs on the safe side: the span step, which the budget earns and the frozen-pattern
engine's savings are counted in, at ``SAFE_SPAN`` of its fit, the costs (frozen steps, certificates,
entries) at ``SAFE_STEP`` and above of theirs.  ``benchmarks/scaling.py`` prints ``auto`` against ``span``
at every size of its table, and ``benchmarks/auto_sweep.py`` over activations, losses and data: the tests
of the model.

Fitted over n in {10, 20, 50, 100}, M in {10, ..., 2000}, ReLU and leaky ReLU, on in-regime and KCG section
6 data (each fit's predicted/measured range before the scaling):

* span step (``kernel.run_steps``, 56 sizes, M = 10 to 2000, section 6 data): ``53 + 1.21 n^2 + 0.626 M n
  + 0.0286 M n^2``, 0.73-1.46x;
* fully frozen step (``frozen_kernel._steps_frozen``, 73 patterns): ``61 + 0.915 n + 0.124 n^2``, 0.80-1.11x;
* frozen step with free entries (``_steps``, 119 patterns): ``113 + 0.43 n^2 + 0.98 |C| + 0.42 n classes
  + 1.6 pairs``, 0.59-1.44x;
* a certificate (``_certified``, 192 patterns): ``870 + 1.21 groups n^2 + 0.88 n |C|``, 0.51-1.27x;
* entering (``FrozenPattern``, 192 patterns): ``2.1e5 + 25.5 M n + 3.76 groups n^2 + 119 pairs + 468 |C|``,
  0.50-1.93x (one entry at 0.10x left out: the first in its process, before any warm-up, which
  ``cost_fit.py`` runs first).

The model before (fitted on 2026-12-06) predicted the span step at 0.46-2.39x its measured time (about 2x
from n = 50 on), the frozen steps at 1.4-4.5x, certificates at 0.33-2.0x and entries at 0.22-8.9x, and it
took the certificate groups to be the free neurons + 2 (a ReLU pattern in the regime has about one group
per neuron: 800 at n = 50, m = 400).  With the budget earning 1/32 of a span step predicted at twice its
time, ``auto`` ran at 0.86-0.95x the span engine's speed there (ReLU, exponential loss, in-regime data).
"""

from __future__ import annotations

# A run starts with this much budget for hand-overs: one leaky ReLU in-regime entry (2 certificate groups) at
# M n up to ~5e4, so that such a run enters as soon as its pattern is quiet, at a worst-case loss of 2 ms per
# run (``AutoState._pays``); a ReLU pattern (a group per neuron) earns its entry first from M n ~ 1e4 on.
INITIAL_BUDGET_NS = 2.0e6
SAFE_SPAN, SAFE_STEP, SAFE_CERT, SAFE_ENTRY = 0.85, 1.1, 1.25, 1.25  # the fits' scalings (module docstring)
SPAN_NS = (53.0, 1.21, 0.626, 0.0286)  # 1, n^2, M n, M n^2
FAST_NS = (61.0, 0.915, 0.124)  # 1, n, n^2 (no free entries)
FROZEN_NS = (113.0, 0.43, 0.98, 0.42, 1.6)  # 1, n^2, |C|, n classes, pairs
CERT_NS = (870.0, 1.21, 0.88)  # 1, groups n^2, n |C|
ENTRY_NS = (2.1e5, 25.5, 3.76, 119.0, 468.0)  # 1, M n, groups n^2, pairs, |C|
CLASSES_NS_PER_ENTRY = 3000.0  # counting the classes of the free entries (frozen.unique_rows), in the gate


def span_ns(M: int, n: int) -> float:
    """Predicted time of one span-engine step."""
    c = SPAN_NS
    return SAFE_SPAN * (c[0] + c[1] * n * n + c[2] * M * n + c[3] * M * n * n)


def frozen_ns(n: int, n_free: int, n_classes: int, n_pairs: int) -> float:
    """Predicted time of one frozen-pattern step with ``n_free`` free entries in ``n_classes`` classes (none:
    the fully frozen step)."""
    if n_free == 0:
        return SAFE_STEP * (FAST_NS[0] + FAST_NS[1] * n + FAST_NS[2] * n * n)
    c = FROZEN_NS
    return SAFE_STEP * (c[0] + c[1] * n * n + c[2] * n_free + c[3] * n * n_classes + c[4] * n_pairs)


def entry_ns(M: int, n: int, n_free: int, n_groups: int, n_pairs: int) -> float:
    """Predicted time of building the frozen pattern (``sim.frozen.FrozenPattern``) with ``n_groups``
    certificate groups."""
    c = ENTRY_NS
    return SAFE_ENTRY * (c[0] + c[1] * M * n + c[2] * n_groups * n * n + c[3] * n_pairs + c[4] * n_free)


def first_block(span: int, frozen: int, cert: int, shortest: int, longest: int) -> int:
    """The first certified block of a frozen-pattern segment: ``shortest`` steps, doubled (up to ``longest``)
    while the span steps it replaces would not pay for its steps and its certificate (ns each, predicted),
    as long as the doubled block's steps cost at most one certificate: a first block that fails at once then
    costs at most two certificates' worth before its bisection (whose further blocks ``frozen_steps`` stops
    once the budget is spent), however little a frozen step saves (with none saved, ``shortest``).

    With a block shorter than that, a segment whose pattern holds still ends after its first block: the
    certificate's deficit exceeds what the budget has left after paying the entry (``frozen_steps``' status
    3).  Measured on 2026-12-07 (ReLU, exponential loss, in-regime data, n = 50, m = 400): every entry
    stopped after 8 steps (with the model of 2026-12-06: a certificate predicted at 4.0 ms, 800 groups,
    against 8 span steps at 158 us),
    and ``auto`` ran at 0.86-0.95x the span engine's speed."""
    if not 1 <= shortest <= longest:
        raise ValueError(f"shortest must be from 1 to longest = {longest}; got {shortest}")
    if span <= frozen:
        return shortest
    block = shortest
    while block < longest and block * (span - frozen) < cert and 2 * block * frozen <= cert:
        block = min(2 * block, longest)
    return block


def certificate_ns(n: int, n_groups: int, n_free: int) -> float:
    """Predicted time of one certificate (``sim.frozen_kernel._certified``: a group's n x n box bound, and
    the free entries' terms of their neurons' groups)."""
    c = CERT_NS
    return SAFE_CERT * (c[0] + c[1] * n_groups * n * n + c[2] * n * n_free)
