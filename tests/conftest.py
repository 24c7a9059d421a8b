"""Shared test setup: per-core devices and the compile cache, results in a temporary folder.

Tests never write to the committed `results/`: `PHENOMENA_RESULTS` points at a temporary
folder for the whole session, and each experiment's quick profile runs once per session.
"""

import os
import tempfile

# Before NumPy's and SciPy's OpenBLAS load (see phenomena/__init__.py: LAPACK calls from two
# device threads deadlock a multithreaded OpenBLAS).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# pytest-xdist workers share the machine's accelerator: none may preallocate most of its memory.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import jax  # noqa: E402

# Implicit rank promotion hides shape bugs (a (n,) array broadcast against (n, 1)); make it an
# error in tests, as Equinox does. Strict dtype promotion cannot be on: Optax's Adam computes
# `b1 ** count` from a Python float and an int32 step counter.
jax.config.update("jax_numpy_rank_promotion", "raise")

# Before any JAX operation: the same process-wide settings the CLI uses.
from phenomena import runtime  # noqa: E402

runtime.setup()

import pytest  # noqa: E402

# One folder for the whole session. Under pytest-xdist the controller imports this file before
# it starts the workers, which inherit the variable: every worker writes to the same folder, so
# a quick profile one worker ran is on disk for the others (see `quick_results_on_disk`).
_SESSION_ENV = "PHENOMENA_TEST_SESSION_RESULTS"
_RESULTS = os.environ.get(_SESSION_ENV) or tempfile.mkdtemp(prefix="phenomena-test-results-")
os.environ[_SESSION_ENV] = _RESULTS
os.environ["PHENOMENA_RESULTS"] = _RESULTS


@pytest.fixture(scope="session")
def results_root():
    """The session's temporary results folder."""
    from pathlib import Path

    return Path(_RESULTS)


@pytest.fixture(scope="session")
def quick_run(results_root):
    """Run an experiment's quick profile once per session (per seed) and cache the outcome."""
    from phenomena.runner import execute

    cache = {}

    def get(name: str, seed: int = 0):
        if (name, seed) not in cache:
            overrides = {} if seed == 0 else {"seed": seed}
            root = results_root if seed == 0 else results_root / f"seed{seed}"
            cache[name, seed] = execute(name, "quick", overrides=overrides, results_dir=root)
        return cache[name, seed]

    return get


@pytest.fixture(scope="session")
def quick_results_on_disk(results_root, quick_run):
    """Make sure an experiment's quick results are in the session folder, running it only if no
    process of the session (an xdist worker included) has written them yet."""

    def ensure(name: str) -> None:
        if not (results_root / name / "quick" / "summary.json").exists():
            quick_run(name)

    return ensure


@pytest.fixture(autouse=True)
def _release_compiled_programs():
    """Drop compiled programs when they crowd the process: the suite compiles thousands, each
    XLA CPU executable holds memory maps, and at `vm.max_map_count` the process segfaults."""
    yield
    runtime.release_compiled_if_crowded()
