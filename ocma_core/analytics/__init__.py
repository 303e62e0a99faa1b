"""Analytics: metrics in a common vocabulary, best time to post, trends, predictions, A/B tests, reports.

Analyzers register through the `register_analyzers` hook (the built-ins too, see `builtin`); every number
they show comes from stored snapshots, and every estimate says how it was made.
"""

from __future__ import annotations

import os

# The analyzers solve many small (200 x 200) systems; BLAS worker threads only add contention there
# (measured: a 200 x 200 inverse 20x slower with 2 threads on a busy 2-core machine). This applies only when
# numpy is first imported after this package; set OPENBLAS_NUM_THREADS yourself to choose otherwise.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
