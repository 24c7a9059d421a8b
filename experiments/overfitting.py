"""Overfitting: an unregularized MLP memorizes even random labels; its gap grows with width and shrinks with data.

Q&A: Q52, Q53. Setup: one-hidden-layer ReLU MLPs (He init, no weight decay, no dropout) on
random subsets of MNIST-1D drawn per seed, trained with Adam (Greydanus 2020's lr 1e-2).
Three parts, each one compiled program per network shape with the seeds vmapped:
  1. memorization: a `train_size` subset with its true labels and the same subset with labels
     drawn uniformly at random (Zhang et al. 2017), full-batch, both label sets trained by one
     compiled program; accuracy on the (true-labelled) test set;
  2. capacity: the true-labelled subset, one fit per width of `widths`;
  3. data: subsets of every size in `sizes` at a fixed width, all in one program: a subset of
     n examples is repeated to the largest size (n divides it), so uniform minibatches of the
     repeated set are uniform minibatches of the subset and every run has the same shape.
     A seed's subsets are nested (prefixes of one permutation), so sizes are compared paired.
     The program runs until every size has fitted its set (train accuracy >= 0.99, reported
     per size), so the gap compares fitted nets; a fixed budget that leaves the largest sets
     under-fitted would shrink their gap by under-fitting rather than by generalizing. The
     smaller sets get more epochs, which is harmless once fitted: their test accuracy is flat
     after fitting (0.284-0.286 at n = 250 from 400 to 4800 steps).
The gap is train accuracy minus test accuracy at the last step (evaluation mode).

Command:  python -m experiments.overfitting --profile quick
Expected: random labels are fitted to 100 % train accuracy while test accuracy stays at
chance (10 %) (Zhang et al. 2017; they needed 1.5-3.5x more steps with SGD; with Adam at
lr 1e-2 here both fit in ~25 full-batch steps, random labels ~1.1-1.2x slower); the gap
falls steadily as the training set grows (measured, seed 0: 0.76/0.72/0.66/0.57 at
n = 125/250/500/1000, all at 100 % train accuracy). Measured deviation: the gap rises from the
narrowest net (width 4, which cannot fit its training set) to width 16, where every net
memorizes, and then falls 3-5 points as width grows further (test accuracy improves at
100 % train accuracy), so "the gap rises with width" holds only below the memorization
threshold and `gap_grows_with_capacity` is `not reproduced` as a monotone statement.
Sizes stop at 1000 in the quick profile because fitting n = 2000-4000 at width 64 costs
2400 to more than 4800 steps (4000 examples reached only 0.89 train accuracy after 4800);
the full profile goes to 4000 with longer training.
Runtime: smoke ~5 s; quick ~14 s of user CPU time on 2 cores (8 seeds; 12 s wall);
full (32 seeds, larger subsets and widths, longer training) is sized for one GPU.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from phenomena import curves, data, losses, models, plots, rng, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main
from phenomena.models import MLPConfig
from phenomena.results import Results
from phenomena.train import TrainConfig

CHANCE = 1 / data.MNIST1D_CLASSES
LABELS = ("true labels", "random labels")
SUBSET_STREAM, LABEL_STREAM = 2, 3  # per-seed draws, apart from the init (0) and batches (1)
MEMORIZED = 0.99  # train accuracy that counts as fitted
SLACK = 0.02  # a trend may step back by this much (accuracy points / 100) and still hold


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    train_size: int = 256  # examples in each seed's subset of the memorization and capacity parts
    model: MLPConfig = MLPConfig(  # the net; its width is the memorization part's only
        width=256, depth=1, activation="relu", init="he_normal")
    widths: tuple[int, ...] = (4, 16, 64, 256)  # hidden widths of the capacity part (units)
    sizes: tuple[int, ...] = (125, 250, 500, 1000)  # data part's training-set sizes (examples)
    size_width: int = 64  # hidden width of the data part's nets (units)
    # Full batch, so the loss's own per-step accuracy is the exact train accuracy at every step.
    # Test accuracy every 10 steps resolves the ~25-step fit.
    memorize: TrainConfig = TrainConfig(  # memorization part's training (full batch)
        optimizer="adam", lr=1e-2, steps=200, batch_size=0, eval_every=10)
    train: TrainConfig = TrainConfig(  # capacity part's training
        optimizer="adam", lr=1e-2, steps=600, batch_size=128, eval_every=100)
    # The data part trains until every size has fitted its training set (train accuracy >=
    # MEMORIZED), so the gap compares fitted nets: a budget that leaves the large sets
    # under-fitted would shrink their gap by under-fitting, not by generalizing.
    sizes_train: TrainConfig = TrainConfig(  # data part's training
        optimizer="adam", lr=1e-2, steps=1000, batch_size=128, eval_every=100)

    def __post_init__(self):
        super().__post_init__()
        total = data.MNIST1D_TRAIN_SIZE
        check(0 < self.train_size <= total, f"train_size must be in (0, {total}], got {self.train_size}")
        check(len(self.widths) >= 2 and list(self.widths) == sorted(set(self.widths)) and self.widths[0] > 0,
              f"widths must be at least two increasing positive values, got {self.widths}")
        check(len(self.sizes) >= 2 and list(self.sizes) == sorted(set(self.sizes)) and self.sizes[0] > 0,
              f"sizes must be at least two increasing positive values, got {self.sizes}")
        check(self.sizes[-1] <= total, f"sizes cannot exceed MNIST-1D's {total} training examples, got {self.sizes}")
        check(all(self.sizes[-1] % n == 0 for n in self.sizes),
              f"every size must divide the largest (subsets are repeated to it), got {self.sizes}")
        check(self.size_width > 0, f"size_width must be positive, got {self.size_width}")
        check(self.memorize.batch_size == 0, "memorize.batch_size must be 0 (full batch): the "
              "memorization curve is the loss's own accuracy at every step, exact only on the full set")
        check(self.model.dropout == 0,
              f"overfitting studies the unregularized net: model.dropout must be 0, got {self.model.dropout}")


CONFIG = Config()
PROFILES = {
    # Few compiled programs: the capacity part trains like the memorization part (full batch),
    # so its width-16 nets reuse that part's programs.
    "smoke": {"seeds": 2, "train_size": 64, "model.width": 16, "widths": (4, 16),
              "sizes": (125, 250), "size_width": 16,
              "memorize.steps": 20, "memorize.eval_every": 10,
              "train.steps": 20, "train.eval_every": 10, "train.batch_size": 0,
              "sizes_train.steps": 50, "sizes_train.eval_every": 50},
    "quick": {},
    "full": {"seeds": 32, "train_size": 1000, "model.width": 512, "widths": (8, 32, 128, 512, 2048),
             "size_width": 256, "sizes": (125, 250, 500, 1000, 2000, 4000),
             "memorize.steps": 3000, "memorize.eval_every": 50,
             "train.steps": 8000, "train.eval_every": 500,
             "sizes_train.steps": 16000, "sizes_train.eval_every": 1000},
}


def _random_labels(keys, n: int, dtype) -> jax.Array:
    """`n` labels drawn uniformly from the classes, one set per seed key."""
    return jax.vmap(lambda key: jax.random.randint(key, (n,), 0, data.MNIST1D_CLASSES, dtype))(keys)


def run(config: Config) -> Results:
    """Train the three parts (every part's seeds get the same keys: paired) and record train and
    test accuracy curves with a seed axis."""
    splits = data.mnist1d_splits()
    full, test = splits["train"], splits["test"]
    keys = rng.seed_keys(config.seed, config.seeds)  # grid_fit's keys (part 0) as well
    subset_keys = rng.run_stream(keys, SUBSET_STREAM)
    subset = data.random_subsets(full, subset_keys, config.train_size)
    label_sets = {"true labels": subset,
                  "random labels": {"x": subset["x"], "y": _random_labels(
                      rng.run_stream(keys, LABEL_STREAM), config.train_size, subset["y"].dtype)}}

    def fit(model: MLPConfig, settings: TrainConfig, train_data: dict, keys, name: str):
        """One net per run on its own training set; train and test curves."""
        graphdef, state = models.mlps(data.MNIST1D_LENGTH, data.MNIST1D_CLASSES, model, keys)
        eval_data = {"train": train_data, "test": data.same_for_every_run(test, len(keys))}
        return train.fit(graphdef, state, losses.cross_entropy, train_data, settings, keys,
                         evaluate=losses.classification_metrics, eval_data=eval_data,
                         data_axis=0, name=name)

    seeding = dict(seed=config.seed, seeds=config.seeds)
    # 1. Memorization: the same subsets, true or random labels (one program serves both).
    memorization = grid_fit(
        {"labels": LABELS},
        lambda arm, keys, _: fit(config.model, config.memorize, label_sets[arm["labels"]], keys,
                                 arm["labels"]), **seeding)
    # 2. Capacity: the true-labelled subsets, one program per width.
    capacity = grid_fit(
        {"width": config.widths},
        lambda arm, keys, _: fit(dataclasses.replace(config.model, width=arm["width"]),
                                 config.train, subset, keys, f"width {arm['width']}"), **seeding)
    # 3. Data: nested subsets of every size, tiled to the largest, all sizes in one program.
    by_size = data.nested_subsets(full, subset_keys, config.sizes, config.sizes[-1])
    sizes = grid_fit(
        {"size": config.sizes},
        lambda _, keys, __: fit(dataclasses.replace(config.model, width=config.size_width),
                                config.sizes_train, by_size, keys, "sizes"),
        vmapped="size", **seeding)

    results = Results()
    # The full-batch loss's accuracy, before each update: the train accuracy at every step.
    results.add("memorize_step_accuracy", memorization.step_metric("accuracy"),
                ("labels", "seed", "optimizer_step"), labels=list(LABELS),
                seed=list(range(config.seeds)), optimizer_step=list(range(config.memorize.steps)))
    for split in ("train", "test"):
        results.add(f"memorize_{split}_accuracy", memorization.evals(f"{split}/accuracy"),
                    ("labels", "seed", "memorize_step"), memorize_step=memorization.eval_steps)
        results.add(f"size_{split}_accuracy", sizes.evals(f"{split}/accuracy"),
                    ("size", "seed", "size_step"), size=list(config.sizes),
                    size_step=sizes.eval_steps)
    return capacity.add_to(results, evals={"train/accuracy": "width_train_accuracy",
                                           "test/accuracy": "width_test_accuracy"})


def _final_gap(results: Results, part: str) -> np.ndarray:
    """Train minus test accuracy at the last step: (value, seed)."""
    return curves.final_gap(results[f"{part}_train_accuracy"], results[f"{part}_test_accuracy"])


def _trend_holds(means: np.ndarray, direction: int) -> bool:
    """Means move in `direction` (+1 rising, -1 falling) without a step back larger than SLACK."""
    return bool(np.all(direction * np.diff(means) >= -SLACK))


claims = ClaimBook("overfitting", questions="Q52, Q53")


@claims.rule("memorizes_random_labels", questions="Q53",
             rule="random labels: the 95 % CI over seeds of the final train accuracy lies above "
                  "0.99 and the CI of the test accuracy (true test labels) lies within chance "
                  "± 5 points, (0.05, 0.15)")
def _(results: Results, config: Config):
    random = LABELS.index("random labels")
    final_train = curves.final(results["memorize_train_accuracy"])
    final_test = curves.final(results["memorize_test_accuracy"])
    train_acc = stats.mean_ci(final_train[random], bounds=(0, 1))
    test_acc = stats.mean_ci(final_test[random], bounds=(0, 1))
    fit_steps = curves.first_step_reaching(results.coords["optimizer_step"],
                                           results["memorize_step_accuracy"], MEMORIZED)
    memorized = (train_acc.above(MEMORIZED) and test_acc.above(CHANCE - 0.05)
                 and test_acc.below(CHANCE + 0.05))
    return stats.decide(
        memorized, "final train accuracy on random labels", train_acc,
        test_accuracy_random_labels=test_acc,
        test_accuracy_true_labels=stats.mean_ci(final_test[0], bounds=(0, 1)), chance=CHANCE,
        steps_to_fit_true_labels=stats.mean_ci(fit_steps[0], bounds=(0, np.inf)),
        steps_to_fit_random_labels=stats.mean_ci(fit_steps[random], bounds=(0, np.inf)),
        slowdown_random_over_true=stats.mean_ci(fit_steps[random] / fit_steps[0], bounds=(0, np.inf)))


@claims.rule("gap_grows_with_capacity", literature=stats.NUANCED,
             rule="gap = final train - test accuracy: the paired CI of gap(widest) - "
                  "gap(narrowest) lies above 0.05, and the mean gap never falls by more than "
                  "0.02 from one width to the next",
             expected=stats.NOT_REPRODUCED,
             deviation="the gap rises only up to the width where the net first memorizes its 256 "
                       "examples, then falls as test accuracy keeps improving with width at 100 % "
                       "train accuracy (the overparameterized regime: Neyshabur et al. 2015, "
                       "Nakkiran et al. 2019). Mean gap at widths 4/16/64/256: seed 0 "
                       "0.296/0.752/0.719/0.703, seed 1 0.287/0.752/0.727/0.715 (test accuracy "
                       "0.25 -> 0.28-0.30 from width 16 to 256); the 1000-step run gave "
                       "0.324/0.757/0.718/0.704. Widest minus narrowest is large (seed 0: 0.41 "
                       "[0.38, 0.44]), so only the monotone part fails: capacity opens the gap, "
                       "more capacity past memorization does not widen it. The size of the fall is "
                       "setup-dependent: with train_size=1000 and widths 4-1024 (seed 0) the gap "
                       "was 0.083/0.270/0.566/0.552/0.549, peak minus widest 0.017 [0.007, 0.028], "
                       "within the rule's 0.02 slack, so that setup (and plausibly the full "
                       "profile) decides `reproduced`")
def _(results: Results, config: Config):
    widths = config.widths
    gap = _final_gap(results, "width")
    means = np.nanmean(gap, axis=1)
    widest = stats.paired_diff_ci(gap[-1], gap[0])
    peak = int(np.nanargmax(means))
    return stats.decide(
        widest.above(0.05) and _trend_holds(means, +1),
        f"gap(width {widths[-1]}) - gap(width {widths[0]})", widest,
        mean_gap_by_width=dict(zip(widths, means)), peak_width=widths[peak],
        gap_peak_minus_widest=stats.paired_diff_ci(gap[peak], gap[-1]),
        train_accuracy_by_width=dict(zip(widths, curves.final(results["width_train_accuracy"]).mean(1))),
        test_accuracy_by_width=dict(zip(widths, curves.final(results["width_test_accuracy"]).mean(1))))


@claims.rule("gap_shrinks_with_data",
             rule="the paired CI of gap(smallest training set) - gap(largest) lies above 0.05, "
                  "and the mean gap never rises by more than 0.02 from one size to the next")
def _(results: Results, config: Config):
    sizes = config.sizes
    gap = _final_gap(results, "size")
    means = np.nanmean(gap, axis=1)
    smallest = stats.paired_diff_ci(gap[0], gap[-1])
    final_train = curves.final(results["size_train_accuracy"])
    return stats.decide(
        smallest.above(0.05) and _trend_holds(means, -1),
        f"gap(n = {sizes[0]}) - gap(n = {sizes[-1]})", smallest,
        mean_gap_by_size=dict(zip(sizes, means)),
        train_accuracy_by_size=dict(zip(sizes, final_train.mean(1))),
        lowest_train_accuracy_any_size_and_seed=np.nanmin(final_train),
        every_size_fitted=bool(np.all(final_train >= MEMORIZED)),
        test_accuracy_by_size=dict(zip(sizes, curves.final(results["size_test_accuracy"]).mean(1))))


def _train_test_bands(ax, x, train_acc, test_acc, color, label):
    plots.band(ax, x, train_acc, color=color, label=f"{label}: train", linestyle="--", marker="o")
    plots.band(ax, x, test_acc, color=color, label=f"{label}: test", marker="o")


def plot(results: Results, config: Config) -> dict:
    """Memorization curves; final train/test accuracy and gap against width and against size."""
    fig, axes = plots.figure(width=6.0)
    ax = axes[0, 0]
    for i, labels in enumerate(LABELS):
        plots.band(ax, results.coords["optimizer_step"], results.sel("memorize_step_accuracy", labels=labels),
                   color=plots.PALETTE[i], label=f"{labels}: train", linestyle="--")
        plots.band(ax, results.coords["memorize_step"], results.sel("memorize_test_accuracy", labels=labels),
                   color=plots.PALETTE[i], label=f"{labels}: test", marker="o")
    ax.axhline(CHANCE, color="grey", linestyle=":", linewidth=1, label="chance (10 %)")
    ax.set_xlabel("optimizer step (full batch)")
    ax.set_ylabel("accuracy")
    ax.legend()
    plots.title(fig, "An unregularized MLP fits random labels perfectly; its test accuracy stays at chance")
    figures = {"memorization": fig}

    fig, axes = plots.figure(ncols=2)
    for ax, part, x, xlabel in ((axes[0, 0], "width", config.widths, "hidden width (units)"),
                                (axes[0, 1], "size", config.sizes, "training-set size n (examples)")):
        _train_test_bands(ax, x, curves.final(results[f"{part}_train_accuracy"]).T,
                          curves.final(results[f"{part}_test_accuracy"]).T, plots.PALETTE[0], "accuracy")
        plots.band(ax, x, _final_gap(results, part).T, color=plots.PALETTE[1], marker="s",
                   label="gap = train − test")
        ax.set_xscale("log", base=2)
        ax.set_xticks(x, [str(v) for v in x])
        ax.set_xlabel(xlabel)
        ax.set_ylabel("final accuracy / gap")
        ax.set_ylim(0, 1.02)
    axes[0, 0].set_title("capacity: gap peaks where the net first memorizes")
    axes[0, 1].set_title("more data (every size fitted): smaller gap")
    # One legend for both panels, below them: inside, it sat on the train-accuracy line at 1.
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3)
    plots.title(fig, "The train–test gap jumps once the net can memorize, then eases with width; "
                     "it shrinks with training-set size")
    figures["gap"] = fig
    return figures


main(__spec__)
