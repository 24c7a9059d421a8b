"""Where the suite reads and writes on disk: the cache and the results folder.

Neither is ever derived from where the package is installed: an installed package must not
write next to its own files, and an editable install must not write into the repository
unless the user runs it from there.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "PHENOMENA_CACHE"
RESULTS_ENV = "PHENOMENA_RESULTS"


def cache_dir() -> Path:
    """Generated datasets and the JAX compilation cache: `$PHENOMENA_CACHE` or ~/.cache/phenomena."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "phenomena")


def results_dir() -> Path:
    """`$PHENOMENA_RESULTS` if set, else `results/` under the current working directory."""
    return Path(os.environ.get(RESULTS_ENV) or Path.cwd() / "results")
