"""Cost model of the auto engine's hand-over (``sim.frozen.AutoState``): predicted nanoseconds of a span
step, of a frozen-pattern step and of entering the frozen-pattern engine, from the shapes alone.

The hand-over must be decided from the shapes, not from a clock: the two engines' numbers agree to
rounding, not bit for bit, so a decision taken on measured times would make a run's numbers depend on
the machine's load.  The constants were fitted (declared, not derived) to one-core measurements on the
project's machine on 2026-12-06 (Intel Xeon, AVX-512, numba 0.68; ``benchmarks/scaling.py`` prints
``auto`` against ``span`` at every size, the test of the model) over n in {10, 20, 50, 100} and
M in {10, ..., 2000}, on in-regime and KCG section 6 data.  The entry's constants are a least-squares fit
to 15 measured entries, which it predicted within 0.93-1.34x; the step constants were matched by hand to
the measured step times (within 1.7x where checked).  Only ratios between them matter.

Measured on 2026-12-07, after the model was fitted (the constants kept, so that the hand-over decisions,
and with them every number of a run, stay as they were):

* an entry takes about half its prediction since ``frozen.unique_rows`` replaced ``np.unique(axis=0)``
  (0.6-4.3 ms against 1.2-8.8 ms predicted at n = 20, m = 50-400): the gate is conservative there;
* the span step's model, against the span step as ``run_steps`` now runs it (the lean step where
  n M > 2048), predicted 0.49-2.48x the measured time over 32 sizes (n = 10 to 100, M = 10 to 2000):
  mostly over, up to 2.5x at n = 100, under at M <= 20 only; and the frozen-pattern step's model
  over-predicts its fully frozen fast path (145 / 280 / 1225 / 4600 ns against 82 / 228 / 577 / 1396
  measured at n = 10 / 20 / 50 / 100).  Refitting the span side alone (to within 0.76-1.43x) made
  ``auto`` slower: on section 6 data at (n, m) = (10, 400) it went from 4.48x to 1.49x the span engine's
  speed, because the two errors were offsetting each other.  A refit would have to take both sides
  together.

* span step: ``SPAN_NS0 + SPAN_NS_PER_FLOP * (2 M n^2 + 13 M n)`` (``sim.batched.flops_per_step``);
* frozen-pattern step: a fixed part, the n x n margin product, and per free entry, per class and
  point, per pair of free entries on one neuron (``sim.frozen_kernel._steps``);
* a certificate: the n x n box bound of every group (``sim.frozen_kernel._certified``);
* entering: building ``FrozenPattern`` (a fixed part, the M x n pattern arrays, the n x n certificate
  matrix of each group, the pairs of free entries on one neuron).
"""

from __future__ import annotations

# A run starts with this much budget for hand-overs: one in-regime entry at M n up to ~1e4, so that a
# run enters as soon as its pattern is quiet, at a worst-case loss of 2 ms per run (``AutoState._pays``).
INITIAL_BUDGET_NS = 2.0e6
SPAN_NS0 = 150.0
SPAN_NS_PER_FLOP = 0.035
FROZEN_NS0 = 100.0
FROZEN_NS_PER_N2 = 0.45
FROZEN_NS_PER_ENTRY = 1.5
FROZEN_NS_PER_CLASS_POINT = 2.0
FROZEN_NS_PER_PAIR = 1.5
ENTRY_NS0 = 3.0e5
ENTRY_NS_PER_MN = 225.0
ENTRY_NS_PER_GROUP = 650.0
ENTRY_NS_PER_GROUP_N2 = 5.0
ENTRY_NS_PER_PAIR = 185.0
ENTRY_NS_PER_ENTRY = 2000.0
CLASSES_NS_PER_ENTRY = 3000.0  # counting the classes of the free entries (frozen.unique_rows), in the gate


def span_ns(M: int, n: int) -> float:
    """Predicted time of one span-engine step."""
    return SPAN_NS0 + SPAN_NS_PER_FLOP * (2 * M * n * n + 13 * M * n)


def frozen_ns(n: int, n_free: int, n_classes: int, n_pairs: int) -> float:
    """Predicted time of one frozen-pattern step with ``n_free`` free entries in ``n_classes`` classes."""
    return (FROZEN_NS0 + FROZEN_NS_PER_N2 * n * n + FROZEN_NS_PER_ENTRY * n_free
            + FROZEN_NS_PER_CLASS_POINT * n * n_classes + FROZEN_NS_PER_PAIR * n_pairs)


def entry_ns(M: int, n: int, n_free: int, n_groups: int, n_pairs: int) -> float:
    """Predicted time of building the frozen pattern (``sim.frozen.FrozenPattern``)."""
    per_group = ENTRY_NS_PER_GROUP + ENTRY_NS_PER_GROUP_N2 * n * n
    return (ENTRY_NS0 + ENTRY_NS_PER_MN * M * n + per_group * n_groups + ENTRY_NS_PER_PAIR * n_pairs
            + ENTRY_NS_PER_ENTRY * n_free)


CERT_NS_PER_GROUP_N2 = 2.0  # measured 1.3-1.4 ns at n = 20-100


def certificate_ns(n: int, n_groups: int) -> float:
    """Predicted time of one certificate (``sim.frozen_kernel._certified``: a group's n x n box bound)."""
    return CERT_NS_PER_GROUP_N2 * n_groups * n * n

