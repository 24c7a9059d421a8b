"""Activation functions: ReLU trains a deep net far faster than sigmoid and has the cheapest step; the ReLU family's test accuracies differ by at most 2.5 points, but 8 seeds cannot show them equivalent within 3.

Q&A: Q26, Q31, Q34, Q35. Setup: MLPs on MNIST-1D; each seed carves its own random validation
split of 500 out of the 4000 training examples and trains on the other 3500 (accuracy claims
are about generalization, in the regime where MNIST-1D MLPs generalize: ~60 % test accuracy at
width 64, literature 68 % for a wider MLP at 8000 steps). Adam, batch 100, over one rate grid
(3e-3, 1e-2; vmapped, one compiled program per (activation, depth) cell: 1e-3 and 3e-2 tested
worse for ReLU, ELU and Swish in a pre-run). Every activation gets its conventional init (Glorot
for sigmoid and tanh, He for the ReLU family: `activations.conventional_init`) and is judged at
its own best rate: for the speed claim the rate with the fewest steps to the target on the
other seeds (leave-one-seed-out, `selection.held_out_best`), for the accuracy claim the rate
with the highest mean final VALIDATION accuracy (fixed before the run; the test set decides).
All cells share the seeds' init keys, batches and splits: paired comparisons. The family (ReLU,
Leaky ReLU, ELU, GELU, Swish) trains at depth 4, width 64, 1000 steps (test accuracy flat
within 1 point over the last quarter); the speed sweep trains ReLU and sigmoid at depth 10,
width 32, 800 steps. Full: all seven activations at depths 2, 4, 10, 20, widths 128 / 64.

Claims:
- relu_family_trains_deep_nets_faster: steps until the training accuracy first reaches 0.6,
  interpolated between evaluations; never reaching it counts as the budget (censored). Paired
  CI of sigmoid - ReLU above 0 at every depth >= 10.
- relu_cheapest (check): XLA's count of one training step (forward, backward, Adam update) at
  depth 4, batch 100: ReLU's operations (flops + transcendentals; XLA counts exp, tanh and
  logistic apart from its flops) are at most every other activation's.
- relu_family_similar: final test accuracies at depth 4; every pairwise difference within the
  ReLU family has a paired CI inside +-3 points (an equivalence test).

Command:  python -m experiments.activation_comparison --profile quick
Expected (quick, seed 0 | seed 1):
- relu_family_trains_deep_nets_faster: reproduced. At depth 10 ReLU reaches 60 % training
  accuracy in 527 [437, 617] | 546 [457, 636] steps; sigmoid never does (8/8 censored at 800);
  sigmoid - ReLU = 273 [183, 363] | 254 [164, 343] steps.
- relu_cheapest: reproduced. Operations per step relative to ReLU's: tanh 1.003 (the cheapest
  other), sigmoid 1.008, Leaky ReLU 1.014, Swish 1.025, ELU 1.028, GELU 1.064.
- relu_family_similar: not reproduced (deviation). Test accuracy at depth 4: ReLU 0.599 |
  0.614, Leaky ReLU 0.598 | 0.605, ELU 0.612 | 0.622, GELU 0.614 | 0.600, Swish 0.623 | 0.617
  (every activation at 1e-2); worst pair ReLU - Swish -2.4 [-5.6, +0.8] | Leaky ReLU - ELU -1.7
  [-4.3, +0.9] points: means within 2.5 points, intervals too wide for the +-3 band.
Runtime: smoke ~10 s CPU warm; quick 57-90 s CPU (user+sys), measured on 2 cores shared with
~8 other jobs (5 family cells x 16 runs x 1000 steps at width 64, 2 deep cells x 16 runs x 800
steps); full (32 seeds, 8000 / 2000 steps) is sized for one GPU and was not run.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import ClassVar, Mapping

import numpy as np

from phenomena import activations, curves, data, plots, rng, selection, stats
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, main
from phenomena.models.core import ACTIVATIONS
from phenomena.results import Results
from phenomena.train import TrainConfig

REFERENCE, SATURATING = "relu", "sigmoid"  # the speed claim compares these two
LABELS = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "Leaky ReLU",
          "elu": "ELU", "gelu": "GELU", "swish": "Swish"}
SPLIT_STREAM = 2  # each seed key's stream for drawing its validation split
SEED_PART = 0  # `rng.seed_keys` family of the runs (the splits follow the same seed keys)
FAMILY_AXIS, DEEP_AXIS = "cell", "deep_cell"  # the two grids' cell axes (different widths)


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    activations: tuple[str, ...] = ("relu", "leaky_relu", "elu", "gelu", "swish")  # trained at family_depth
    family: tuple[str, ...] = ("relu", "leaky_relu", "elu", "gelu", "swish")  # the ReLU family judged equivalent
    family_depth: int = 4  # hidden layers of the equivalence and cost comparison
    width: int = 64  # units per hidden layer at family_depth (wide enough to reach ~60 % test accuracy)
    depth_activations: tuple[str, ...] = ("sigmoid", "relu")  # also trained at every depth of `depths`
    depths: tuple[int, ...] = (10,)  # depths of the depth sweep (those >= deep_from decide the speed claim)
    deep_from: int = 10  # depths from which the speed claim must hold
    deep_width: int = 32  # units per hidden layer of the depth sweep (a training-speed claim)
    rates: tuple[float, ...] = (3e-3, 1e-2)  # Adam learning rates; each cell at its own best
    val_size: int = 500  # of the 4000 training examples, each seed's own validation split (picks the rate)
    train_eval_size: int = 500  # training examples evaluated for the training accuracy
    target_accuracy: float = 0.6  # training accuracy the speed claim counts steps to
    margin: float = 0.03  # equivalence band of the accuracy differences (3 points)
    train: TrainConfig = TrainConfig(optimizer="adam", lr=1e-2, steps=1000, batch_size=100,
                                     eval_every=125)  # the family's training; lr unused: the grid `rates` sets it
    deep_train: TrainConfig = TrainConfig(optimizer="adam", lr=1e-2, steps=800, batch_size=100,
                                          eval_every=100)  # the depth sweep's; lr unused: `rates` sets it

    IGNORED_KEYS: ClassVar[Mapping[str, str]] = {
        "train.lr": "the learning rates are the grid `rates`",
        "deep_train.lr": "the learning rates are the grid `rates`"}

    def __post_init__(self):
        super().__post_init__()
        known = tuple(ACTIVATIONS)
        every = (*self.activations, *self.family, *self.depth_activations)
        check(all(a in known for a in every), f"activations must be among {', '.join(known)}")
        check(set(self.family) <= set(self.activations) and len(self.family) >= 2,
              "family must be at least two of `activations` (they are trained at family_depth)")
        check(REFERENCE in self.family, f"family must include {REFERENCE!r} (the reference)")
        check({REFERENCE, SATURATING} <= set(self.depth_activations),
              f"depth_activations must include {REFERENCE!r} and {SATURATING!r} (the speed claim)")
        check(any(d >= self.deep_from for d in self.depths),
              f"depths must include one >= deep_from ({self.deep_from})")
        check(all(d >= 1 for d in (*self.depths, self.family_depth)), "depths must be >= 1")
        check(list(self.depths) == sorted(set(self.depths)), "depths must be increasing")
        check(self.width > 0 and self.deep_width > 0, "widths must be positive")
        activations.check_grid_config(self)
        check(0.1 < self.target_accuracy < 1, "target_accuracy must lie between chance (0.1) and 1")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "family": ("relu", "swish"), "activations": ("relu", "swish"),
              "family_depth": 2, "depths": (2,), "deep_from": 2, "width": 8, "deep_width": 8,
              "rates": (3e-3, 3e-2), "val_size": 100, "train_eval_size": 100,
              "train.steps": 40, "train.eval_every": 20, "deep_train.steps": 40,
              "deep_train.eval_every": 20},
    "quick": {},
    "full": {"seeds": 32, "activations": tuple(LABELS), "depth_activations": tuple(LABELS),
             "depths": (2, 4, 10, 20), "width": 128, "deep_width": 64,
             "rates": (1e-3, 3e-3, 1e-2, 3e-2), "train.steps": 8000, "train.eval_every": 500,
             "deep_train.steps": 2000, "deep_train.eval_every": 100},
}


def family_cells(config: Config) -> list[tuple[str, int]]:
    """The activations trained at family_depth (the equivalence claim)."""
    return [(a, config.family_depth) for a in config.activations]


def deep_cells(config: Config) -> list[tuple[str, int]]:
    """The depth sweep: every depth_activation at every depth (the speed claim)."""
    return [(a, d) for a in config.depth_activations for d in config.depths]


def run(config: Config) -> Results:
    """Train both grids over the rate grid (paired seeds), then count one step's operations."""
    splits = data.mnist1d_splits()
    keys = rng.seed_keys(config.seed, config.seeds, part=SEED_PART)
    train_sets, eval_sets = activations.per_seed_splits(
        splits, rng.run_stream(keys, SPLIT_STREAM), config.val_size, config.train_eval_size)
    common = dict(train_sets=train_sets, eval_sets=eval_sets, seed=config.seed,
                  seeds=config.seeds, part=SEED_PART)
    family = activations.fit_cells(family_cells(config), config.rates, width=config.width,
                                   train_config=config.train, axis=FAMILY_AXIS, **common)
    results = family.add_to(Results(), evals={"val/accuracy": "val_accuracy",
                                              "val/loss": "val_loss",
                                              "test/accuracy": "test_accuracy"})
    deep = activations.fit_cells(deep_cells(config), config.rates, width=config.deep_width,
                                 train_config=config.deep_train, axis=DEEP_AXIS, **common)
    deep.add_to(results, evals={"train/accuracy": "deep_train_accuracy",
                                "val/accuracy": "deep_val_accuracy", "val/loss": "deep_val_loss",
                                "test/accuracy": "deep_test_accuracy"}, step_axis="deep_step")
    step_costs = [activations.train_step_cost(a, config.family_depth, config.width,
                                              config.train.batch_size, config.train)
                  for a in LABELS]  # counting trains nothing: every activation, in every profile
    for kind in ("flops", "transcendentals", "operations"):
        results.add(f"step_{kind}", np.array([c[kind] for c in step_costs]), ("activation",),
                    activation=list(LABELS))
    return results


# ----------------------------------------------------------------------------- readings

def _cell(results: Results, name: str, activation: str, depth: int, deep: bool = False) -> np.ndarray:
    """`name` of one cell of the family grid (or, with `deep`, of the depth sweep): `(lr, seed,
    step)` for curves."""
    label = activations.cell_label(activation, depth)
    if deep:
        return results.sel(f"deep_{name}", **{DEEP_AXIS: label})
    return results.sel(name, **{FAMILY_AXIS: label})


def _steps_to_target(results: Results, config: Config, activation: str, depth: int) -> np.ndarray:
    """(lr, seed) steps of the depth sweep until the training accuracy first reaches the
    target, interpolated between evaluations; a run that never gets there counts as the
    budget (censored)."""
    accuracy = _cell(results, "train_accuracy", activation, depth, deep=True)
    error = (1 - accuracy).reshape(-1, accuracy.shape[-1])
    steps = curves.steps_to_target(results.coords["deep_step"], error, 1 - config.target_accuracy)
    return curves.censored(steps, config.deep_train.steps).reshape(accuracy.shape[:-1])


def _fastest(results: Results, config: Config, activation: str, depth: int) -> dict:
    """Per seed, the steps to target at the rate that is fastest on the other seeds."""
    steps = _steps_to_target(results, config, activation, depth)
    index = selection.held_out_best(steps)
    return {"steps": selection.per_seed(steps, index),
            "rates": [config.rates[i] for i in index],
            "censored": selection.per_seed(steps >= config.deep_train.steps, index)}


def _best_rate(results: Results, activation: str, depth: int, deep: bool = False) -> int:
    """The rate with the highest mean final accuracy on the seeds' validation splits (a rule
    fixed before the run; the test set never chooses)."""
    return activations.best_validation_rate(_cell(results, "val_accuracy", activation, depth, deep),
                                            _cell(results, "val_loss", activation, depth, deep))


def _at_best_rate(results: Results, name: str, activation: str, depth: int,
                  deep: bool = False) -> np.ndarray:
    """`name` at the cell's best rate: `(seed, step)`."""
    return _cell(results, name, activation, depth, deep)[_best_rate(results, activation, depth, deep)]


def _test_accuracy(results: Results, activation: str, depth: int, deep: bool = False) -> np.ndarray:
    """(seed,) final test accuracy at the cell's best rate."""
    return curves.final(_at_best_rate(results, "test_accuracy", activation, depth, deep))


def _pairs(results: Results, config: Config) -> dict[str, stats.Interval]:
    """Paired CI of the test-accuracy difference of every pair in the family at family_depth."""
    accuracy = {a: _test_accuracy(results, a, config.family_depth) for a in config.family}
    return {f"{LABELS[a]} - {LABELS[b]}": stats.paired_diff_ci(accuracy[a], accuracy[b])
            for a, b in itertools.combinations(config.family, 2)}


def _worst_pair(pairs: dict[str, stats.Interval]) -> str:
    """The pair whose interval reaches furthest from 0 (the one closest to failing the band)."""
    return max(pairs, key=lambda p: max(abs(pairs[p].low), abs(pairs[p].high)))


claims = ClaimBook("activation_comparison", questions="Q26, Q31, Q34, Q35")


@claims.rule("relu_family_trains_deep_nets_faster", questions="Q26, Q31, Q34",
             rule="at every depth >= deep_from (10): steps until the training accuracy first "
                  "reaches target_accuracy (0.6), interpolated between evaluations, a run that "
                  "never gets there counted as the budget; each activation at the rate fastest "
                  "on the other seeds (leave-one-seed-out); the paired 95 % CI over seeds of "
                  "steps(sigmoid) - steps(ReLU) lies above 0 (nuanced: at some deep depths only)")
def _(results: Results, config: Config):
    deep = [d for d in config.depths if d >= config.deep_from]
    fastest = {(a, d): _fastest(results, config, a, d) for a in (REFERENCE, SATURATING) for d in deep}
    gaps = {d: stats.paired_diff_ci(fastest[SATURATING, d]["steps"], fastest[REFERENCE, d]["steps"])
            for d in deep}
    holds = [gaps[d].above(0) for d in deep]
    verdict = (stats.REPRODUCED if all(holds) else stats.NUANCED if any(holds)
               else stats.NOT_REPRODUCED)
    smallest = min(deep, key=lambda d: gaps[d].low)
    return stats.outcome(
        verdict, f"steps to {config.target_accuracy:.0%} training accuracy, sigmoid - ReLU, "
                 f"at depth {smallest} (the deep depth with the lowest bound)", gaps[smallest],
        gap_by_depth=gaps,
        steps_by_depth={LABELS[a]: {d: stats.mean_ci(fastest[a, d]["steps"]) for d in deep}
                        for a in (REFERENCE, SATURATING)},
        censored_share_by_depth={LABELS[a]: {d: float(np.mean(fastest[a, d]["censored"]))
                                             for d in deep} for a in (REFERENCE, SATURATING)},
        chosen_rates_by_depth={LABELS[a]: {d: fastest[a, d]["rates"] for d in deep}
                               for a in (REFERENCE, SATURATING)},
        budget=config.deep_train.steps)


@claims.rule("relu_cheapest", kind=stats.CHECK, questions="Q35",
             rule="XLA's cost analysis of one training step (forward, backward, Adam update) of "
                  "the depth-4 net at the training batch: operations (flops + transcendentals) "
                  "of ReLU <= those of every other activation compared; statistic: the smallest "
                  "ratio operations(other) / operations(ReLU), which must be >= 1")
def _(results: Results, config: Config):
    names = results.coords["activation"]
    operations = dict(zip(names, results["step_operations"]))
    others = [a for a in names if a != REFERENCE]
    ratio = {LABELS[a]: operations[a] / operations[REFERENCE] for a in others}
    cheapest_other = min(ratio, key=ratio.get)
    point = ratio[cheapest_other]
    return stats.decide(
        point >= 1, f"operations per step / ReLU's, cheapest other ({cheapest_other})",
        stats.Interval.exact(point), ratio_to_relu=ratio,
        flops={LABELS[a]: v for a, v in zip(names, results["step_flops"])},
        transcendentals={LABELS[a]: v for a, v in zip(names, results["step_transcendentals"])})


@claims.rule("relu_family_similar", questions="Q34, Q35", expected=stats.NOT_REPRODUCED,
             deviation="With every seed's own 3500 training / 500 validation examples, width "
                       "64 and each activation at its best validation rate (1e-2 for all), the "
                       "family's mean test accuracies at depth 4 lie within 2.5 points (0.598-"
                       "0.623 | 0.600-0.622, quick seeds 0 | 1) and no activation leads at both "
                       "seeds, but 8 seeds give paired CIs 4-6 points wide: worst pair ReLU - "
                       "Swish -2.4 [-5.6, +0.8] | Leaky ReLU - ELU -1.7 [-4.3, +0.9] points, "
                       "outside the +-3 band. Equivalence is not shown at this power. (On 1000-"
                       "example subsets, deep in memorization, ELU and Swish led ReLU by 5-7 "
                       "points; that gap was a small-data effect.)",
             rule="at family_depth (4), each activation of the ReLU family (ReLU, Leaky ReLU, "
                  "ELU, GELU, Swish) at its rate with the highest mean final accuracy on the "
                  "seeds' validation splits: "
                  "every pairwise paired 95 % CI over seeds of the final test-accuracy "
                  "difference lies inside +-margin (3 points); statistic: the worst pair")
def _(results: Results, config: Config):
    pairs = _pairs(results, config)
    worst = _worst_pair(pairs)
    inside = all(p.low > -config.margin and p.high < config.margin for p in pairs.values())
    depth = config.family_depth
    return stats.decide(
        inside, f"test accuracy difference of the worst pair ({worst}), depth {depth}",
        pairs[worst], pairs=pairs, margin=config.margin,
        test_accuracy={LABELS[a]: stats.mean_ci(_test_accuracy(results, a, depth), bounds=(0, 1))
                       for a in config.family},
        chosen_rate={LABELS[a]: config.rates[_best_rate(results, a, depth)] for a in config.family},
        test_accuracy_change_last_quarter={  # near 0 once the budget has converged
            LABELS[a]: stats.mean_ci(-curves.last_quarter_drop(
                results.coords["step"], _at_best_rate(results, "test_accuracy", a, depth)))
            for a in config.family})


# ------------------------------------------------------------------------------- figures

def _depth_table(results: Results, config: Config, read) -> dict[str, np.ndarray]:
    """`read(activation, depth) -> (seed,)` for every depth_activation over every trained depth,
    as `(seed, depth)` with NaN where a cell was not trained; and the depths."""
    trained = set(deep_cells(config))
    depths = sorted({d for _, d in trained})
    table = {}
    for a in config.depth_activations:
        table[a] = np.stack([read(a, d) if (a, d) in trained else np.full(config.seeds, np.nan)
                             for d in depths], axis=1)
    return table, depths


def _by_depth(ax, depths, values, color, label):
    """Mean and 95 % CI over seeds of `values` `(seed, depth)` as error bars (one depth too)."""
    mean, low, high = plots.seed_band(values)
    ax.errorbar(depths, mean, yerr=[mean - low, high - mean], fmt="o-", capsize=4, color=color,
                label=label)
    ax.set_xticks(depths)
    ax.set_xlim(min(depths) - 1, max(depths) + 1)


def _speed_figure(results: Results, config: Config):
    fig, axes = plots.figure(ncols=3, width=4.2)
    deepest = max(config.depths)
    ax = axes[0, 0]
    for i, a in enumerate(config.depth_activations):
        curve = _cell(results, "train_accuracy", a, deepest, deep=True)
        index = selection.best_by_mean(_steps_to_target(results, config, a, deepest))
        plots.band(ax, results.coords["deep_step"], curve[index], color=plots.PALETTE[i],
                   label=f"{LABELS[a]} (lr {config.rates[index]:g})")
    ax.axhline(config.target_accuracy, color="k", linestyle=":", linewidth=1, label="target")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training accuracy")
    ax.set_title(f"depth {deepest}, each at its fastest rate")
    ax = axes[0, 1]
    steps, depths = _depth_table(results, config,
                                 lambda a, d: _fastest(results, config, a, d)["steps"])
    for i, a in enumerate(config.depth_activations):
        _by_depth(ax, depths, steps[a], plots.PALETTE[i], LABELS[a])
    ax.axhline(config.deep_train.steps, color="k", linestyle="--", linewidth=1,
               label="budget (never reached)")
    ax.set_xlabel("hidden layers")
    ax.set_ylabel(f"steps to {config.target_accuracy:.0%} training accuracy")
    ax.set_title("steps to the target (censored at the budget)")
    ax = axes[0, 2]
    accuracy, _ = _depth_table(results, config,
                               lambda a, d: _test_accuracy(results, a, d, deep=True))
    for i, a in enumerate(config.depth_activations):
        _by_depth(ax, depths, accuracy[a], plots.PALETTE[i], LABELS[a])
    ax.set_xlabel("hidden layers")
    ax.set_ylabel("final test accuracy")
    ax.set_title("test accuracy at the best validation rate")
    for ax in axes[0]:
        plots.legend_outside(ax)
    deep = [d for d in config.depths if d >= config.deep_from]
    faster = all(np.mean(steps[SATURATING][:, depths.index(d)])
                 > np.mean(steps[REFERENCE][:, depths.index(d)]) for d in deep)
    plots.title(fig, f"At depth {'/'.join(map(str, deep))}, ReLU reaches "
                     f"{config.target_accuracy:.0%} training accuracy "
                     + ("in fewer steps than sigmoid" if faster else "no faster than sigmoid"))
    return fig


def _equivalence_figure(results: Results, config: Config):
    fig, axes = plots.figure(ncols=2, width=4.8, height=3.8)
    depth = config.family_depth
    ax = axes[0, 0]
    for i, a in enumerate(config.activations):
        accuracy = _test_accuracy(results, a, depth)
        mean, low, high = plots.seed_band(accuracy[:, None])
        ax.errorbar([i], mean, yerr=[mean - low, high - mean], fmt="o", capsize=4,
                    color=plots.PALETTE[i % len(plots.PALETTE)])
    ax.set_xticks(range(len(config.activations)), [LABELS[a] for a in config.activations],
                  rotation=35, ha="right")
    ax.set_ylabel("final test accuracy (mean, 95 % CI)")
    ax.set_title(f"depth {depth}, width {config.width}, each at its best validation rate")
    ax = axes[0, 1]
    pairs = _pairs(results, config)
    names = list(pairs)
    for i, name in enumerate(names):
        p = pairs[name]
        inside = p.low > -config.margin and p.high < config.margin
        ax.errorbar(100 * p.mean, i, xerr=[[100 * (p.mean - p.low)], [100 * (p.high - p.mean)]],
                    fmt="o", capsize=3, color=plots.PALETTE[0 if inside else 1])
    ax.axvspan(-100 * config.margin, 100 * config.margin, color="0.85", zorder=0,
               label=f"equivalence band ±{100 * config.margin:g} points")
    ax.axvline(0, color="k", linewidth=0.8)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel("test accuracy difference (points, paired 95 % CI)")
    ax.set_title("every pair of the ReLU family")
    plots.legend_outside(ax)
    inside = all(p.low > -config.margin and p.high < config.margin for p in pairs.values())
    plots.title(fig, "The ReLU family's test accuracies are " + (
        f"equivalent within ±{100 * config.margin:g} points" if inside
        else f"not shown equivalent within ±{100 * config.margin:g} points"))
    return fig


def _cost_figure(results: Results, config: Config):
    fig, axes = plots.figure(width=6.0, height=3.6)
    ax = axes[0, 0]
    names = results.coords["activation"]
    flops = results["step_flops"] / 1e6
    transcendentals = results["step_transcendentals"] / 1e6
    x = np.arange(len(names))
    ax.bar(x, flops, color=plots.PALETTE[0], label="flops")
    ax.bar(x, transcendentals, bottom=flops, color=plots.PALETTE[3],
           label="transcendentals (exp, tanh, ...)")
    ax.set_xticks(x, [LABELS[a] for a in names], rotation=35, ha="right")
    ax.set_ylabel("million operations per training step")
    low = float(np.min(flops)) * 0.97
    ax.set_ylim(bottom=low)
    ax.set_title(f"depth {config.family_depth}, width {config.width}, batch "
                 f"{config.train.batch_size} (axis starts at {low:.2f} M)")
    plots.legend_outside(ax)
    operations = dict(zip(names, results["step_operations"]))
    cheapest = min(operations, key=operations.get)
    plots.title(fig, f"{LABELS[cheapest]} has the cheapest training step (XLA cost analysis)")
    return fig


def plot(results: Results, config: Config) -> dict:
    """Training speed by depth, the family's accuracy equivalence, and the cost of a step."""
    return {"speed_by_depth": _speed_figure(results, config),
            "family_equivalence": _equivalence_figure(results, config),
            "cost_per_step": _cost_figure(results, config)}


main(__spec__)
