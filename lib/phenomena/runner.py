"""Run an experiment end to end: resolve its config, train, decide its claims, write results.

The top floor of the library (with `report` and `cli`): nothing below it imports it. An
experiment module follows the kit (`phenomena.experiment`); it is found by name in the
`experiments` package (`phenomena.registry`).
"""

from __future__ import annotations

import dataclasses
import json
import platform
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

from phenomena import plots, results as results_io
from phenomena.config import (ConfigError, apply_overrides, check_momentum_used, check_not_ignored,
                              from_dict, to_dict)
from phenomena.registry import UsageError, experiment_names, load_experiment

__all__ = ["UsageError", "experiment_names", "load_experiment", "resolve_config", "execute",
           "replot", "RunOutcome"]


def resolve_config(module: ModuleType, profile: str = "quick", seeds: int | None = None,
                   overrides: dict | None = None):
    """The module's CONFIG with the profile's overrides, then `seeds`, then `--set` overrides.

    An override of a key the experiment does not read (its `IGNORED_KEYS`, or a momentum its
    optimizer lacks) is refused.
    """
    if profile not in module.PROFILES:
        raise UsageError(f"unknown profile {profile!r}; choose from: {', '.join(module.PROFILES)}")
    config = apply_overrides(module.CONFIG, module.PROFILES[profile])
    if seeds is not None:
        if seeds < 1:
            raise UsageError(f"--seeds must be at least 1, got {seeds}")
        config = apply_overrides(config, {"seeds": seeds})
    check_not_ignored(config, overrides or {})
    config = apply_overrides(config, overrides or {})
    check_momentum_used(config, overrides or {})
    return config


def _git_revision() -> str:
    """The checkout's revision (+dirty) when run from inside the repository, else 'unknown'."""
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
    """What `execute` produced: verdicts, where results went, and where the time went."""

    verdicts: list
    folder: Path
    seconds: float          # training and measuring, compile included
    compile_seconds: float  # of which tracing and compiling (or loading from the disk cache)
    programs: int           # programs compiled or loaded from the disk cache


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
    compile_before, programs_before = runtime.compile_totals()
    start = time.perf_counter()
    try:
        results = module.run(config)
    finally:
        # A process that runs many experiments (tests, notebooks) must not keep every compiled
        # program: XLA's executables would exhaust the process's memory maps.
        runtime.release_compiled_if_crowded()
    seconds = time.perf_counter() - start
    compile_after, programs_after = runtime.compile_totals()
    verdicts = module.claims.decide(results, config)

    writer = results_io.RunWriter(results_dir or results_io.default_results_dir(), name, profile)
    try:
        writer.write_text("config.json", results_io.dump_json({
            "experiment": name, "profile": profile, "config": to_dict(config),
            "overrides": overrides or {}, "command": sys.argv, **environment(),
        }))
        writer.write_results(results)
        writer.write_text("summary.json", results_io.dump_json({
            "experiment": name, "profile": profile, "seeds": config.seeds, "seed": config.seed,
            "run_seconds": round(seconds, 2),
            "compile_seconds": round(compile_after - compile_before, 2),
            "claims": [v.as_dict() for v in verdicts],
        }))
        for figure_name, fig in module.plot(results, config).items():
            plots.save(fig, writer.path(f"{figure_name}.png"))
        folder = writer.commit()
    except BaseException:
        writer.abort()
        raise
    return RunOutcome(verdicts=verdicts, folder=folder, seconds=seconds,
                      compile_seconds=compile_after - compile_before,
                      programs=programs_after - programs_before)


def saved_config(module: ModuleType, folder: Path):
    """The config a saved run used, rebuilt from its `config.json` (type-checked)."""
    path = Path(folder) / "config.json"
    try:
        stored = json.loads(path.read_text())["config"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UsageError(f"cannot read the config of {folder}: {error}") from None
    try:
        return from_dict(module.CONFIG, stored)
    except ConfigError as error:
        raise UsageError(f"{path} does not fit this experiment's config: {error}") from None


def replot(name: str, profile: str = "quick", results_dir: Path | None = None) -> list[Path]:
    """Redraw an experiment's figures from its saved arrays and config, without training."""
    module = load_experiment(name)
    folder = Path(results_dir or results_io.default_results_dir()) / name / profile
    if not (folder / "arrays.npz").exists():
        raise UsageError(f"no results for {name!r} with profile {profile!r} in {folder.parent}")
    config = saved_config(module, folder)
    paths = []
    for figure_name, fig in module.plot(results_io.load_results(folder), config).items():
        paths.append(folder / f"{figure_name}.png")
        plots.save(fig, paths[-1])
    return paths
