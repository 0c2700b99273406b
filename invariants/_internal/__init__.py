"""Shared machinery of the suite: the claim hub (``claim``), results, tolerances, fits, assumptions,
regime families, verdicts, and the numerics more than one paper uses (``kkt``, ``decay``, ``ordering``).
Nothing here imports a paper package or a workflow; the public names are re-exported by ``invariants``.
"""
