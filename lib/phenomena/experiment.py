"""The experiment kit: the one shape every experiment module has, and the plumbing it needs.

An experiment module is the experiment, not plumbing. It defines

- `Config`, a frozen dataclass on `BaseConfig` (which carries `seed` and `seeds`), every knob
  a field with a trailing `# comment` that `phenomena show` prints; `CONFIG = Config()`;
  `PROFILES = {"smoke": ..., "quick": ..., "full": ...}` as dotted-key overrides;
- `run(config) -> Results`: the measurements, labelled arrays with a `seed` axis;
- `claims = ClaimBook(...)`, and one function per claim, registered with `@claims.rule(...)`
  next to its rule text, taking `(results, config)` and returning a `stats.Outcome`;
- `plot(results, config) -> {name: Figure}`, drawn from saved results alone;
- last line: `main(__spec__)`, so `python -m experiments.NAME` runs it.

The kit gives them `grid_fit` (train every arm of a grid, all seeds of an arm in one compiled
program, and stack the curves with labelled axes) and `map_runs` (apply a jitted, vmapped
function of a model to every trained run). `ExperimentSpec` is what the runner reads.
"""

from __future__ import annotations

import dataclasses
import itertools
import sys
from typing import Any, Callable, ClassVar, Iterator, Mapping, Sequence

import jax
import numpy as np
from flax import nnx

from phenomena import stats
from phenomena.config import check
from phenomena.results import Results
from phenomena.rng import seed_keys
from phenomena.runtime import program_cache, shard_runs
from phenomena.stats import Claim, Outcome, Verdict


@dataclasses.dataclass(frozen=True)
class BaseConfig:
    """What every experiment's config has: the root seed and the number of seeds."""

    seed: int = 0   # root seed: every init, batch and random draw of the run derives from it
    seeds: int = 8  # independent runs per arm (the statistics' n)

    # Keys of this config that the run does not read, with the reason, e.g.
    # {"train.lr": "the learning rates are the grid `rates`"}: `--set` on one is an error,
    # because an override that changes nothing is worse than no override.
    IGNORED_KEYS: ClassVar[Mapping[str, str]] = {}

    def __post_init__(self):
        check(self.seeds >= 1, f"seeds must be at least 1, got {self.seeds}")


# ---------------------------------------------------------------------------------- claims

Rule = Callable[[Results, Any], Outcome]


class ClaimBook:
    """An experiment's claims, each declared once beside the function that decides it.

        claims = ClaimBook("dropout", questions="Q55")

        @claims.rule("dropout_shrinks_gap", rule="the paired CI of ... lies above 0")
        def _(results, config):
            shrink = stats.paired_diff_ci(gap_at_rate_0, gap_at_rate_05)
            return stats.decide(shrink.above(0), "gap(0) − gap(0.5)", shrink)

    The claim's id is `<experiment>.<name>`; the list of claims is the order of declaration,
    so nothing is ever looked up again by string.
    """

    def __init__(self, experiment: str, questions: str = ""):
        self.experiment = experiment
        self.questions = questions
        self._rules: list[tuple[Claim, Rule]] = []

    def rule(self, name: str, *, rule: str, questions: str | None = None, kind: str = stats.CLAIM,
             literature: str = stats.REPRODUCED, expected: str = "", deviation: str = "",
             post_hoc: bool = False):
        """Register the decorated `fn(results, config) -> Outcome` as the rule of claim `name`.

        `post_hoc=True` labels a claim added after a first run had shown the data."""
        claim = Claim(f"{self.experiment}.{name}", questions or self.questions, rule,
                      expected=expected, deviation=deviation, kind=kind, literature=literature,
                      post_hoc=post_hoc)
        if any(c.id == claim.id for c, _ in self._rules):
            raise ValueError(f"claim {claim.id} is declared twice")

        def register(fn: Rule) -> Rule:
            self._rules.append((claim, fn))
            return fn

        return register

    @property
    def claims(self) -> list[Claim]:
        """Every declared claim, in order."""
        return [claim for claim, _ in self._rules]

    def __iter__(self) -> Iterator[Claim]:
        return iter(self.claims)

    def __len__(self) -> int:
        return len(self._rules)

    def decide(self, results: Results, config) -> list[Verdict]:
        """Every claim's verdict on `results` of a run with `config`."""
        verdicts = []
        for claim, fn in self._rules:
            found = fn(results, config)
            if not isinstance(found, Outcome):
                raise TypeError(f"the rule of {claim.id} returned {type(found).__name__}, "
                                "not a stats.Outcome (use stats.decide or stats.outcome)")
            verdicts.append(Verdict(claim, found.verdict, found.statistic, found.interval,
                                    found.details))
        return verdicts

    def verdicts(self, results: Results, config) -> dict[str, str]:
        """`{claim name: verdict}` (the id without the experiment's prefix), for tests."""
        return {v.claim.id.split(".", 1)[1]: v.verdict for v in self.decide(results, config)}

    def expected(self) -> dict[str, str]:
        """`{claim name: expected verdict}`, in the shape of `verdicts`."""
        return {c.id.split(".", 1)[1]: c.expected for c in self.claims}


# -------------------------------------------------------------------------------- training

@dataclasses.dataclass
class Grid:
    """What `grid_fit` trained: one `train.History` per arm, readable as labelled arrays.

    `axes` maps each arm axis to its values, in the order the arrays are stacked; every array
    then has the shape `(*arm axes, seed, ...)`.
    """

    axes: dict[str, list]
    seeds: int
    histories: dict[tuple, Any]  # arm values (in `axes` order) -> History with runs (..., seed)
    vmapped: str | None = None

    def _static_shape(self) -> tuple[int, ...]:
        return tuple(len(v) for a, v in self.axes.items() if a != self.vmapped)

    def _stack(self, get: Callable[[Any], np.ndarray]) -> np.ndarray:
        """Stack `get(history)` over the arms into `(*axes, seed, ...)`."""
        parts = [np.asarray(get(h)) for h in self.histories.values()]
        stacked = np.stack(parts).reshape(*self._static_shape(), *parts[0].shape)
        if self.vmapped is None:
            return stacked
        # Runs of a vmapped axis are value-major: split them, then move the axis into place.
        n_values = len(self.axes[self.vmapped])
        static = len(self._static_shape())
        stacked = stacked.reshape(*stacked.shape[:static], n_values, self.seeds,
                                  *stacked.shape[static + 1:])
        return np.moveaxis(stacked, static, list(self.axes).index(self.vmapped))

    def evals(self, name: str) -> np.ndarray:
        """Evaluation metric `name`, shape `(*axes, seed, eval step, ...)`."""
        return self._stack(lambda h: h.evals[name])

    def step_metric(self, name: str) -> np.ndarray:
        """Per-step training metric `name` (`loss`, `grad_norm`, ...), `(*axes, seed, step)`."""
        return self._stack(lambda h: h.step_metrics[name])

    def diverged_at(self) -> np.ndarray:
        """First non-finite step of every run, -1 if never, `(*axes, seed)`."""
        return self._stack(lambda h: h.diverged_at)

    @property
    def eval_steps(self) -> list[int]:
        """The step of every evaluation (0 is the initialization)."""
        return next(iter(self.histories.values())).eval_steps.tolist()

    def history(self, **arm):
        """The `History` of one arm (all its runs), e.g. `grid.history(rate=0.5)`."""
        key = tuple(arm[a] for a in self.axes if a != self.vmapped)
        return self.histories[key]

    def add_to(self, results: Results, evals: Mapping[str, str] = (), step_metrics: Mapping[str, str] = (),
               diverged: str | None = None, step_axis: str = "step") -> Results:
        """Add curves to `results` with axes `(*axes, seed, step)`, labelled.

        `evals` and `step_metrics` map a metric of the histories to its name in the results
        (`{"test/accuracy": "test_accuracy"}`); step metrics get the axis `train_step`.
        `step_axis` names the evaluation axis where an experiment has several step grids
        (`metrics.csv` takes any axis named `step` or ending in `_step` as its step column).
        """
        coords = {a: list(v) for a, v in self.axes.items()}
        coords["seed"] = list(range(self.seeds))
        arm_axes = (*self.axes, "seed")
        for metric, name in dict(evals).items():
            results.add(name, self.evals(metric), (*arm_axes, step_axis),
                        **{step_axis: self.eval_steps}, **coords)
        for metric, name in dict(step_metrics).items():
            values = self.step_metric(metric)
            results.add(name, values, (*arm_axes, "train_step"),
                        train_step=list(range(1, values.shape[-1] + 1)), **coords)
        if diverged:
            results.add(diverged, self.diverged_at(), arm_axes, **coords)
        return results


def grid_fit(arms: Mapping[str, Sequence], fit_arm: Callable[..., Any], *, seed: int, seeds: int,
             part: int = 0, vmapped: str | None = None) -> Grid:
    """Train every arm of a grid, all seeds of an arm (and all values of `vmapped`) at once.

    `arms` maps each axis to its values, e.g. `{"rate": (0.0, 0.5)}` or
    `{"activation": ("relu", "tanh"), "lr": (0.01, 0.1)}`. For every combination of the
    axes other than `vmapped`, `fit_arm(arm, keys, values)` trains and returns a
    `train.History`: `arm` is a dict of this arm's values, `keys` one key per run and
    `values` the `vmapped` axis's value per run (None without one), for `fit`'s `hparams`.
    Every arm gets the same seed keys, so arms are compared paired (same inits, same batches).
    A value that only changes numbers, not shapes (a learning rate, a decay strength), should
    be `vmapped`: all its values then train in one compiled program.
    """
    axes = {a: list(v) for a, v in arms.items()}
    if vmapped is not None and vmapped not in axes:
        raise ValueError(f"vmapped axis {vmapped!r} is not one of the arms {list(axes)}")
    keys = seed_keys(seed, seeds, part)
    values = None
    if vmapped is not None:
        n_values = len(axes[vmapped])
        keys = jax.numpy.tile(keys, n_values)  # value-major: run i is value i // seeds
        values = np.repeat(np.asarray(axes[vmapped], np.float32), seeds)
    static = [a for a in axes if a != vmapped]
    histories = {}
    for combination in itertools.product(*(axes[a] for a in static)):
        arm = dict(zip(static, combination))
        histories[combination] = fit_arm(arm, keys, values)
    return Grid(axes=axes, seeds=seeds, histories=histories, vmapped=vmapped)


@program_cache(maxsize=64)
def _mapped(fn: Callable, graphdef, run_axes: tuple):
    def one(state, *args):
        return fn(nnx.merge(graphdef, state), *args)

    return jax.jit(jax.vmap(one, in_axes=(0, *run_axes)))


def map_runs(fn: Callable, graphdef, states, *args, run_axes: Sequence[int | None] | None = None):
    """`fn(model, *args)` on every trained run, as one jitted, vmapped program; numpy out.

    `states` has a leading run axis (a `History.state`); each of `args` is shared by every
    run unless `run_axes` gives 0 for it (one entry per run, like `jax.vmap`'s `in_axes`).
    The program is cached on `(fn, graphdef, run_axes)`, so pass a module-level function
    (not a fresh lambda) to reuse it across calls.
    """
    run_axes = tuple(run_axes) if run_axes is not None else (None,) * len(args)
    if len(run_axes) != len(args):
        raise ValueError(f"run_axes has {len(run_axes)} entries for {len(args)} arguments")
    per_run = [a if axis == 0 else None for a, axis in zip(args, run_axes)]
    states, per_run = shard_runs((states, per_run))
    args = [p if axis == 0 else a for a, p, axis in zip(args, per_run, run_axes)]
    return jax.device_get(_mapped(fn, graphdef, run_axes)(states, *args))


# ----------------------------------------------------------------------------- entry point

def main(spec) -> None:
    """`python -m experiments.NAME [flags]`: run this experiment; a no-op when imported.

    Call it as the module's last line, `main(__spec__)`. It runs only when the calling module
    is `__main__`, and exits with the command's status.
    """
    caller = sys._getframe(1).f_globals.get("__name__")  # the module that called main()
    if caller != "__main__" or spec is None:
        return
    from phenomena.cli import experiment_main  # the top floor, imported only when running

    sys.exit(experiment_main(spec.name))
