"""Find experiments by name, resolve their configs, run them and write their results.

The library never imports a particular experiment: modules are looked up by name in the
`experiments` package. An experiment module provides `CONFIG`, `PROFILES`, `CLAIMS`,
`run(config) -> Results`, `claims(results) -> list[Verdict]` and `plot(results) -> {name: Figure}`.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import platform
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

from phenomena import plots, results as results_io
from phenomena.config import ConfigError, apply_overrides, to_dict

EXPERIMENTS_PACKAGE = "experiments"
PROFILE_NAMES = ("smoke", "quick", "full")
REQUIRED = ("CONFIG", "PROFILES", "CLAIMS", "run", "claims", "plot")


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
    return module


def resolve_config(module: ModuleType, profile: str = "quick", seeds: int | None = None,
                   overrides: dict | None = None):
    """The module's CONFIG with the profile's overrides, then `seeds`, then `--set` overrides."""
    if profile not in module.PROFILES:
        raise UsageError(f"unknown profile {profile!r}; choose from: {', '.join(module.PROFILES)}")
    config = apply_overrides(module.CONFIG, module.PROFILES[profile])
    if seeds is not None:
        if seeds < 1:
            raise UsageError(f"--seeds must be at least 1, got {seeds}")
        config = apply_overrides(config, {"seeds": seeds})
    config = apply_overrides(config, overrides or {})
    if getattr(config, "seeds", 1) < 1:
        raise UsageError(f"seeds must be at least 1, got {config.seeds}")
    return config


def _git_revision() -> str:
    try:
        root = Path(__file__).resolve().parents[2]
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=5)
        # Results being rewritten do not make the code dirty.
        dirty = subprocess.run(["git", "status", "--porcelain", "--", ".", ":!results"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment() -> dict:
    """Package versions, git revision and devices, recorded in every `config.json`."""
    import flax
    import jax
    import numpy
    import optax

    return {
        "versions": {"python": platform.python_version(), "jax": jax.__version__,
                     "flax": flax.__version__, "optax": optax.__version__,
                     "numpy": numpy.__version__},
        "git_revision": _git_revision(),
        "devices": [str(d) for d in jax.devices()],
        "device_kind": jax.devices()[0].device_kind,
        "platform": platform.platform(),
    }


@dataclasses.dataclass
class RunOutcome:
    """What `execute` produced: verdicts, where results went, and how long it took."""

    verdicts: list
    folder: Path
    seconds: float


def execute(name: str, profile: str = "quick", seeds: int | None = None,
            overrides: dict | None = None, results_dir: Path | None = None) -> RunOutcome:
    """Run one experiment end to end: train, decide its claims, write results and figures.

    All files go to a temporary folder first; only a complete run replaces the results of
    `results/<name>/<profile>/`.
    """
    from phenomena import runtime

    runtime.setup()
    module = load_experiment(name)
    config = resolve_config(module, profile, seeds, overrides)
    start = time.perf_counter()
    try:
        results = module.run(config)
    finally:
        # A process that runs many experiments (tests, notebooks) must not keep every compiled
        # program: XLA's executables would exhaust the process's memory maps.
        runtime.release_compiled_if_crowded()
    seconds = time.perf_counter() - start
    verdicts = module.claims(results)
    decided = {v.claim.id for v in verdicts}
    undecided = [c.id for c in module.CLAIMS if c.id not in decided]
    if undecided:
        raise RuntimeError(f"{name}: claims() did not decide {', '.join(undecided)}")

    writer = results_io.RunWriter(results_dir or results_io.default_results_dir(), name, profile)
    try:
        writer.write_text("config.json", results_io.dump_json({
            "experiment": name, "profile": profile, "config": to_dict(config),
            "overrides": overrides or {}, "command": sys.argv, **environment(),
        }))
        writer.write_results(results)
        writer.write_text("summary.json", results_io.dump_json({
            "experiment": name, "profile": profile, "seeds": getattr(config, "seeds", None),
            "seed": getattr(config, "seed", None), "run_seconds": round(seconds, 2),
            "claims": [v.as_dict() for v in verdicts],
        }))
        for figure_name, fig in module.plot(results).items():
            plots.save(fig, writer.path(f"{figure_name}.png"))
        folder = writer.commit()
    except BaseException:
        writer.abort()
        raise
    return RunOutcome(verdicts=verdicts, folder=folder, seconds=seconds)


def replot(name: str, profile: str = "quick", results_dir: Path | None = None) -> list[Path]:
    """Redraw an experiment's figures from its saved arrays, without training again."""
    module = load_experiment(name)
    folder = Path(results_dir or results_io.default_results_dir()) / name / profile
    if not (folder / "arrays.npz").exists():
        raise UsageError(f"no results for {name!r} with profile {profile!r} in {folder.parent}")
    paths = []
    for figure_name, fig in module.plot(results_io.load_results(folder)).items():
        paths.append(folder / f"{figure_name}.png")
        plots.save(fig, paths[-1])
    return paths
