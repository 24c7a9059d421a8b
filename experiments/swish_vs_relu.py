"""Swish vs ReLU: on MNIST-1D MLPs Swish tests 1-7 points above ReLU (more the deeper), not at parity, for a 4 % dearer step.

Q&A: Q40. Swish is x·sigmoid(x) (Ramachandran et al. 2017): smooth, non-monotone, with a
minimum of about -0.278 at x ≈ -1.278, and ReLU for large |x|. Its ImageNet gains (+0.6 to
+0.9 points top-1) come at a scale this suite does not reach; at small scale the literature
expects parity. Setup: MLPs of width 32 and depth 2, 4 and 8 on MNIST-1D, each seed trained on
its own random subset of 1000 of the 4000 training examples (small enough that every net
converges in the budget: test accuracy flat over the last quarter), with Adam (batch 100, 800 steps)
over one learning-rate grid (1e-3, 3e-3, 1e-2, 3e-2; vmapped, one compiled program per
(activation, depth)); both activations with He init (`activations.conventional_init`), each at
its own rate with the lowest mean final training loss (validation-free, chosen before the run).
Both share the seeds' init keys, batches and subsets, so they are compared paired.

Claims:
- swish_parity: at every depth, the paired CI over seeds of test accuracy(Swish) - test
  accuracy(ReLU) lies inside +-3 points (an equivalence test).
- swish_costs_more (check): XLA's count of one training step (forward, backward, Adam update):
  Swish's operations (flops + transcendentals) exceed ReLU's at every depth.

Command:  python -m experiments.swish_vs_relu --profile quick
Expected (quick, seed 0 | seed 1):
- swish_parity: not reproduced | nuanced (deviation). Swish - ReLU test accuracy: depth 2
  +1.2 [-0.6, +3.0] | +1.8 [+0.6, +2.9] points (on the band's edge), depth 4 +6.8 [+5.5, +8.1]
  | +4.8 [+3.4, +6.1], depth 8 +4.5 [+2.9, +6.0] | +5.7 [+4.1, +7.3]. Test accuracies: ReLU
  0.391/0.353/0.345, Swish 0.403/0.421/0.390 at depths 2/4/8 (seed 0).
- swish_costs_more: reproduced. Operations per step Swish / ReLU 1.041, 1.043, 1.043 at depths
  2, 4, 8 (XLA flops alone 1.036-1.039).
Runtime: smoke ~8 s CPU warm; quick 71 s CPU (user+sys) cold, 36-41 s warm, measured while the
2 cores were shared with ~6 other jobs (6 cells x 32 runs x 800 steps; 87 programs); full (32
seeds, depths 2, 4, 6, 8, width 64, 3000 examples, 8000 steps) is sized for one GPU, not run.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Mapping

import numpy as np
from scipy import optimize

from phenomena import activations, curves, data, plots, rng, stats
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, main
from phenomena.results import Results
from phenomena.train import TrainConfig

RELU, SWISH = "relu", "swish"
LABELS = {RELU: "ReLU", SWISH: "Swish"}
SUBSET_STREAM = 2  # each seed key's stream for drawing its training subset
SEED_PART = 0  # `rng.seed_keys` family of the runs (the subsets follow the same seed keys)


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    depths: tuple[int, ...] = (2, 4, 8)  # hidden layers; parity must hold at each
    width: int = 32  # units per hidden layer
    rates: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2)  # Adam learning rates; each arm at its own best
    train_size: int = 1000  # MNIST-1D training examples per seed (a random subset of the 4000): small enough to converge
    train_eval_size: int = 1000  # of them, evaluated for the training loss that picks the rate
    margin: float = 0.03  # equivalence band of the accuracy difference (3 points)
    train: TrainConfig = TrainConfig(optimizer="adam", lr=1e-2, steps=800, batch_size=100,
                                     eval_every=100)  # lr unused: the grid `rates` sets it

    IGNORED_KEYS: ClassVar[Mapping[str, str]] = {
        "train.lr": "the learning rates are the grid `rates`"}

    def __post_init__(self):
        super().__post_init__()
        check(len(self.depths) >= 1 and all(d >= 1 for d in self.depths), "depths must be >= 1")
        check(list(self.depths) == sorted(set(self.depths)), "depths must be increasing")
        check(self.width > 0, "width must be positive")
        check(len(self.rates) >= 2 and all(r > 0 for r in self.rates),
              "rates must be at least two positive learning rates")
        check(0 < self.train_size <= data.MNIST1D_TRAIN_SIZE,
              f"train_size must be in [1, {data.MNIST1D_TRAIN_SIZE}]")
        check(0 < self.train_eval_size <= self.train_size, "train_eval_size must be in [1, train_size]")
        check(0 < self.margin < 1, "margin must be in (0, 1)")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "depths": (2,), "width": 8, "rates": (3e-3, 3e-2), "train_size": 200,
              "train_eval_size": 100, "train.steps": 40, "train.eval_every": 20},
    "quick": {},
    "full": {"seeds": 32, "depths": (2, 4, 6, 8), "width": 64, "train_size": 4000,
             "train_eval_size": 4000, "rates": (3e-4, 1e-3, 3e-3, 1e-2, 3e-2),
             "train.steps": 8000, "train.eval_every": 200},
}


def run(config: Config) -> Results:
    """Train both activations at every depth over the rate grid (paired seeds), then count
    one training step's operations for each."""
    splits = data.mnist1d_splits()
    keys = rng.seed_keys(config.seed, config.seeds, part=SEED_PART)
    train_sets, eval_sets = activations.per_seed_sets(
        splits, rng.run_stream(keys, SUBSET_STREAM), config.train_size, config.train_eval_size)
    cells = [(a, d) for a in (RELU, SWISH) for d in config.depths]
    grid = activations.fit_cells(cells, config.rates, width=config.width, train_sets=train_sets,
                                 eval_sets=eval_sets, train_config=config.train, seed=config.seed,
                                 seeds=config.seeds, part=SEED_PART)
    results = grid.add_to(Results(), evals={"train/loss": "train_loss",
                                            "test/accuracy": "test_accuracy"})
    step_costs = [[activations.train_step_cost(a, d, config.width, config.train.batch_size,
                                               config.train) for d in config.depths]
                  for a in (RELU, SWISH)]
    for kind in ("flops", "operations"):
        results.add(f"step_{kind}", np.array([[c[kind] for c in row] for row in step_costs]),
                    ("activation", "depth"), activation=[RELU, SWISH], depth=list(config.depths))
    return results


# ----------------------------------------------------------------------------- readings

def _test_curve(results: Results, activation: str, depth: int) -> np.ndarray:
    """(seed, step) test accuracy at the activation's best rate at this depth."""
    label = activations.cell_label(activation, depth)
    best = activations.lowest_loss_rate(results.sel("train_loss", cell=label))
    return results.sel("test_accuracy", cell=label)[best]


def _test_accuracy(results: Results, activation: str, depth: int) -> np.ndarray:
    """(seed,) final test accuracy at the activation's best rate at this depth."""
    return curves.final(_test_curve(results, activation, depth))


def _chosen_rate(results: Results, config: Config, activation: str, depth: int) -> float:
    label = activations.cell_label(activation, depth)
    return config.rates[activations.lowest_loss_rate(results.sel("train_loss", cell=label))]


def _differences(results: Results, config: Config) -> dict[int, stats.Interval]:
    """Per depth, the paired CI of test accuracy(Swish) - test accuracy(ReLU)."""
    return {d: stats.paired_diff_ci(_test_accuracy(results, SWISH, d), _test_accuracy(results, RELU, d))
            for d in config.depths}


def _inside(interval: stats.Interval, margin: float) -> bool:
    return interval.low > -margin and interval.high < margin


claims = ClaimBook("swish_vs_relu", questions="Q40")


@claims.rule("swish_parity", expected=stats.NOT_REPRODUCED,
             deviation="Swish generalizes better than ReLU on these converged MNIST-1D MLPs, "
                       "more so with depth: Swish - ReLU test accuracy +1.2 [-0.6, +3.0] | +1.8 "
                       "[+0.6, +2.9] points at depth 2 (on the band's edge: not reproduced at "
                       "seed 0, nuanced at seed 1), +6.8 [+5.5, +8.1] | +4.8 [+3.4, +6.1] at "
                       "depth 4, +4.5 [+2.9, +6.0] | +5.7 [+4.1, +7.3] at depth 8 (quick, seeds "
                       "0 | 1). Part of the gap comes from the training-loss rate choice (it "
                       "picks 3e-3 for ReLU at depths 4 and 8, where 1e-2 tests better), but "
                       "Swish leads at every grid rate up to 1e-2 and, at each activation's best "
                       "test-set rate (an oracle, not the rule), by 1.6-2.9 points. The "
                       "literature's small-scale parity does not hold here; the direction "
                       "agrees with Ramachandran et al.'s gains.",
             rule="at every depth (2, 4, 8), each activation at its rate with the lowest mean "
                  "final training loss: the paired 95 % CI over seeds of final test "
                  "accuracy(Swish) - test accuracy(ReLU) lies inside +-margin (3 points); "
                  "nuanced when it does at some depths only; statistic: the depth whose "
                  "interval reaches furthest from 0")
def _(results: Results, config: Config):
    differences = _differences(results, config)
    inside = [_inside(differences[d], config.margin) for d in config.depths]
    verdict = (stats.REPRODUCED if all(inside) else stats.NUANCED if any(inside)
               else stats.NOT_REPRODUCED)
    worst = max(config.depths, key=lambda d: max(abs(differences[d].low), abs(differences[d].high)))
    return stats.outcome(
        verdict, f"test accuracy(Swish) - test accuracy(ReLU) at depth {worst} (the widest)",
        differences[worst], difference_by_depth=differences, margin=config.margin,
        test_accuracy={LABELS[a]: {d: stats.mean_ci(_test_accuracy(results, a, d), bounds=(0, 1))
                                   for d in config.depths} for a in (RELU, SWISH)},
        chosen_rate={LABELS[a]: {d: _chosen_rate(results, config, a, d) for d in config.depths}
                     for a in (RELU, SWISH)},
        test_accuracy_change_last_quarter={  # near 0 once the budget has converged
            LABELS[a]: {d: stats.mean_ci(-curves.last_quarter_drop(
                results.coords["step"], _test_curve(results, a, d))) for d in config.depths}
            for a in (RELU, SWISH)})


@claims.rule("swish_costs_more", kind=stats.CHECK,
             rule="XLA's cost analysis of one training step (forward, backward, Adam update) at "
                  "the training batch: operations (flops + transcendentals) of Swish > those "
                  "of ReLU at every depth; statistic: the smallest ratio Swish / ReLU")
def _(results: Results, config: Config):
    ratio = results.sel("step_operations", activation=SWISH) / results.sel("step_operations",
                                                                          activation=RELU)
    flops_ratio = results.sel("step_flops", activation=SWISH) / results.sel("step_flops",
                                                                           activation=RELU)
    point = float(ratio.min())
    return stats.decide(point > 1, "operations per step, Swish / ReLU (smallest over depths)",
                        stats.Interval(point, point, point, len(config.depths)),
                        ratio_by_depth=dict(zip(config.depths, ratio)),
                        flops_ratio_by_depth=dict(zip(config.depths, flops_ratio)))


# ------------------------------------------------------------------------------- figures

def _swish(x):
    return x / (1 + np.exp(-x))


def _swish_derivative(x):
    s = 1 / (1 + np.exp(-x))
    return s + x * s * (1 - s)


def _functions_figure(results: Results, config: Config):
    """Swish and ReLU and their derivatives, Swish's minimum marked, and the step costs."""
    fig, axes = plots.figure(ncols=2, width=4.6)
    x = np.linspace(-5, 3, 401)
    minimum = optimize.minimize_scalar(_swish, bounds=(-4, 0), method="bounded").x
    ax = axes[0, 0]
    ax.plot(x, np.maximum(x, 0), color=plots.PALETTE[0], label="ReLU")
    ax.plot(x, _swish(x), color=plots.PALETTE[1], label="Swish x·σ(x)")
    ax.plot(x, (x > 0).astype(float), color=plots.PALETTE[0], linestyle="--", label="ReLU'")
    ax.plot(x, _swish_derivative(x), color=plots.PALETTE[1], linestyle="--", label="Swish'")
    ax.plot([minimum], [_swish(minimum)], "o", color="k",
            label=f"Swish's minimum ({minimum:.3f}, {_swish(minimum):.3f})")
    ax.set_xlabel("pre-activation x")
    ax.set_ylabel("value (solid), derivative (dashed)")
    ax.set_title("the functions")
    plots.legend_outside(ax)
    ax = axes[0, 1]
    depths = list(config.depths)
    ratio = (results.sel("step_operations", activation=SWISH)
             / results.sel("step_operations", activation=RELU))
    ax.plot(depths, ratio, marker="o", color=plots.PALETTE[1], label="Swish / ReLU")
    ax.axhline(1, color="k", linewidth=0.8, linestyle=":", label="equal cost")
    ax.set_xlabel("hidden layers")
    ax.set_ylabel("operations per step, Swish / ReLU")
    ax.set_title(f"XLA flops + transcendentals, batch {config.train.batch_size}")
    ax.xaxis.set_major_locator(plots.integer_ticks())
    plots.legend_outside(ax)
    more = bool(np.all(results.sel("step_operations", activation=SWISH)
                       > results.sel("step_operations", activation=RELU)))
    plots.title(fig, "Swish is smooth and dips below 0; its training step costs "
                + ("more" if more else "no more") + " than ReLU's")
    return fig


def _accuracy_figure(results: Results, config: Config):
    fig, axes = plots.figure(ncols=2, width=4.4)
    depths = list(config.depths)
    ax = axes[0, 0]
    for i, a in enumerate((RELU, SWISH)):
        accuracy = np.stack([_test_accuracy(results, a, d) for d in depths], axis=1)
        plots.band(ax, depths, accuracy, color=plots.PALETTE[i], marker="o", label=LABELS[a])
    ax.set_xlabel("hidden layers")
    ax.set_ylabel("final test accuracy (mean, 95 % CI)")
    ax.set_title("each at its best learning rate")
    ax.xaxis.set_major_locator(plots.integer_ticks())
    plots.legend_outside(ax)
    ax = axes[0, 1]
    differences = _differences(results, config)
    for d in depths:
        p = differences[d]
        inside = _inside(p, config.margin)
        ax.errorbar([d], [100 * p.mean], yerr=[[100 * (p.mean - p.low)], [100 * (p.high - p.mean)]],
                    fmt="o", capsize=4, color=plots.PALETTE[2 if inside else 1])
    ax.axhspan(-100 * config.margin, 100 * config.margin, color="0.85", zorder=0,
               label=f"parity band ±{100 * config.margin:g} points")
    ax.axhline(0, color="k", linewidth=0.8)
    ax.set_xlabel("hidden layers")
    ax.set_ylabel("Swish − ReLU test accuracy (points)")
    ax.set_title("paired difference, 95 % CI")
    ax.xaxis.set_major_locator(plots.integer_ticks())
    plots.legend_outside(ax)
    inside = [_inside(differences[d], config.margin) for d in depths]
    where = ("at every depth" if all(inside) else "at some depths only" if any(inside)
             else "at no depth")
    means = [differences[d].mean for d in depths]
    head = ("Swish tests higher than ReLU at every depth" if min(means) > 0
            else "Swish tests lower than ReLU at every depth" if max(means) < 0
            else "Swish and ReLU trade places across depths")
    plots.title(fig, f"{head}; parity within ±{100 * config.margin:g} points is shown {where}")
    return fig


def plot(results: Results, config: Config) -> dict:
    """Accuracy by depth with the parity band; the two functions and their step costs."""
    return {"accuracy_by_depth": _accuracy_figure(results, config),
            "functions_and_cost": _functions_figure(results, config)}


main(__spec__)
