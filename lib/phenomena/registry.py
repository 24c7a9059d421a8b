"""Finding experiments by name: modules of the `experiments` package that follow the kit."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from phenomena.config import ConfigError

EXPERIMENTS_PACKAGE = "experiments"
REQUIRED = ("Config", "CONFIG", "PROFILES", "claims", "run", "plot")
PROFILE_NAMES = ("smoke", "quick", "full")


class UsageError(ConfigError):
    """Bad command-line input (unknown experiment or profile, bad seed count)."""


def experiment_names() -> list[str]:
    """Names of all experiment modules, sorted."""
    package = importlib.import_module(EXPERIMENTS_PACKAGE)
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))


def load_experiment(name: str) -> ModuleType:
    """Import `experiments.<name>`; raise UsageError naming the valid choices if unknown."""
    names = experiment_names()
    if name not in names:
        raise UsageError(f"unknown experiment {name!r}; choose from: {', '.join(names)}")
    module = importlib.import_module(f"{EXPERIMENTS_PACKAGE}.{name}")
    missing = [attr for attr in REQUIRED if not hasattr(module, attr)]
    if missing:
        raise UsageError(f"experiment {name!r} lacks {', '.join(missing)}")
    if module.claims.experiment != name:
        raise UsageError(f"experiment {name!r} declares its claims as {module.claims.experiment!r}")
    missing_profiles = [p for p in PROFILE_NAMES if p not in module.PROFILES]
    if missing_profiles:
        raise UsageError(f"experiment {name!r} lacks the profiles {', '.join(missing_profiles)}")
    return module
