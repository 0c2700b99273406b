"""One BLAS thread, set before numpy is first imported (``sim`` imports this module first).

The simulator's linear algebra is on small matrices, where BLAS threads only contend; and a multi-threaded
BLAS rounds differently with the thread count, so the same command would give different numbers in
different processes (pytest's controller under ``-n 0``, where numpy is imported by the plugin before
``conftest.py`` runs, against its xdist workers).  Set OMP_NUM_THREADS / OPENBLAS_NUM_THREADS before the
first import to choose otherwise; if numpy was imported before, this has no effect.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
