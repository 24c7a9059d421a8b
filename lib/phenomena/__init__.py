"""phenomena: deep-learning claims decided from data, many seeds at once, with verdicts."""

import os

# Runs are sharded over one JAX device per core, and each device thread may call LAPACK
# (solve, eigh) at the same time; a multithreaded OpenBLAS then deadlocks (seen: Newton and
# Lanczos steps hanging with idle threads). One BLAS thread per caller avoids it, and costs
# nothing here because the parallelism comes from the devices. OpenBLAS reads this variable
# when it loads, so it is set at the package's import, before SciPy is loaded.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
