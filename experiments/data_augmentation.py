"""Data augmentation: label-preserving transforms help at every n; the gain peaks at a few hundred examples, then shrinks.

Q&A: Q59. Setup: MLPs (2 hidden layers of 64 ReLU units; Adam lr 1e-2, batch 100, 3000 steps) on
MNIST-1D training subsets of n = 125 ... 4000 examples, each seed its own random subset (nested
across n), tested on the 1000 standard test signals. Each seed trains twice from the same
initialization on the same batches: on the plain signals, and on signals augmented per batch
inside the loss by a random circular shift of up to ±8 samples, an amplitude factor in [0.8,
1.2] and Gaussian noise of std 0.1 (MNIST-1D's own generator translates circularly and scales by
1 ± 0.2, so these keep the label). Every training size runs in one compiled program: each subset
is tiled to the full 4000 rows, so uniform batches from the tiled rows are uniform batches from
the subset.

Re-decided (issue 9): the first version trained 1000 steps and judged two endpoints (gain
positive at n = 125, gain(125) − gain(4000) > 0): reproduced. At 1000 steps the augmented arm
had not converged at large n (gain at n = 4000: +1.8 points at step 1000, +5.6 at 3000), and
the endpoints hid that the gain first rises. Now: 3000 steps (large-n gains still grow after
it: lower bounds; an independent review at 6000 steps and at rates 3e-3 and 3e-2 found the same
inverted U, nuanced), and the gain is judged over the
whole range of n (`judge_gain`, fixed before the run): positive at the smallest n, then
`stats.trend_verdict` both ways; a significant rise to an inner peak followed by a significant
fall is `nuanced` (the ledger's reading of that shape).

Command:  python -m experiments.data_augmentation --profile quick
Expected: augmentation helps at every n, but its gain is an inverted U in n, not a fall: `nuanced`
(a recorded deviation from the ledger's `reproduced`). Measured (quick; seed 0 / seed 1): gain
+13.9 / +13.8 points at n = 125 (CI [12.7, 15.2] / [12.2, 15.4]), peak +23.1 / +22.7 at
n = 500 (rise from n = 125: 0.091 [0.070, 0.112] / 0.089 [0.056, 0.123]), then falling to
+5.6 / +6.6 at n = 4000 (fall from the peak: 0.174 [0.153, 0.196] / 0.161 [0.134, 0.188]).
Runtime: smoke ~5 s; quick ~65 s of CPU time (user + sys; 8 seeds; 7-8 min of wall time on 2
cores shared with several other jobs); full (32 seeds, width 128, 8000 steps) sized for one GPU,
not run.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from phenomena import augment, curves, data, losses, models, plots, rng, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main
from phenomena.models import MLPConfig
from phenomena.results import Results
from phenomena.train import TrainConfig

ARMS = ("plain", "augmented")
SUBSET_STREAM = 2  # subsets draw from their own key stream, apart from inits and batches
EXAMPLE_DRAWS = 4  # augmented copies of one signal shown in the figure


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    sizes: tuple[int, ...] = (125, 250, 500, 1000, 2000, 4000)  # training-set sizes n (examples)
    width: int = 64             # hidden units per layer of the MLP
    depth: int = 2              # hidden layers of the MLP
    max_shift: int = 8          # largest circular shift, either way (samples, of 40)
    scale_range: float = 0.2    # amplitude factor drawn from [1 - range, 1 + range]
    noise_std: float = 0.1      # std of the added Gaussian noise (the signals have unit std)
    # 3000 steps: at 1000 the augmented arm was far from converged at large n (gain at
    # n = 4000: +1.8 points at step 1000, +5.6 at 3000, +9.1 at 6000), and an under-trained
    # augmented arm makes the gain shrink with n by budget, not by data. It still improves at
    # large n after 3000 steps, so large-n gains are lower bounds; the verdict is the same at 6000.
    train: TrainConfig = TrainConfig(  # training of both arms at every size
        optimizer="adam", lr=1e-2, steps=3000, batch_size=100, eval_every=500)

    def __post_init__(self):
        super().__post_init__()
        total, length = data.MNIST1D_TRAIN_SIZE, data.MNIST1D_LENGTH
        check(len(self.sizes) >= 2 and list(self.sizes) == sorted(set(self.sizes)),
              f"sizes needs at least two increasing training sizes, got {self.sizes}")
        check(all(0 < n <= total and total % n == 0 for n in self.sizes),
              f"every size must divide MNIST-1D's {total} training examples, got {self.sizes}")
        check(self.width > 0 and self.depth >= 1, "width and depth must be positive")
        check(0 <= self.max_shift < length, f"max_shift must be in [0, {length}), got {self.max_shift}")
        check(0 <= self.scale_range < 1, f"scale_range must be in [0, 1), got {self.scale_range}")
        check(self.noise_std >= 0, f"noise_std must be >= 0, got {self.noise_std}")

    def augmentation(self) -> augment.Compose:
        """The per-batch transform: shift, then scale, then noise."""
        return augment.compose(augment.Shift(self.max_shift),
                               augment.Scale(1 - self.scale_range, 1 + self.scale_range),
                               augment.GaussianNoise(self.noise_std))


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "sizes": (125, 4000), "width": 16, "depth": 1, "train.steps": 100,
              "train.eval_every": 50},
    "quick": {},
    "full": {"seeds": 32, "width": 128, "train.steps": 8000, "train.eval_every": 500},
}


def run(config: Config) -> Results:
    """Train every (size, seed) with and without augmentation from the same init on the same
    batches; record accuracies along training, and a signal with augmented copies."""
    splits = data.mnist1d_splits()
    seed_keys = rng.seed_keys(config.seed, config.seeds)  # grid_fit's keys (part 0) as well
    # Each run's own subset, tiled to the 4000 rows: every size trains in one program.
    subsets = data.nested_subsets(splits["train"], rng.run_stream(seed_keys, SUBSET_STREAM),
                                  config.sizes, data.MNIST1D_TRAIN_SIZE)
    loss_by_arm = {"plain": losses.cross_entropy,
                   "augmented": augment.augmented(losses.cross_entropy, config.augmentation())}
    model = MLPConfig(width=config.width, depth=config.depth)

    def fit_arm(arm, keys, _):
        graphdef, state = models.mlps(data.MNIST1D_LENGTH, data.MNIST1D_CLASSES, model, keys)
        test = data.same_for_every_run(splits["test"], len(keys))
        return train.fit(graphdef, state, loss_by_arm[arm["arm"]], subsets, config.train, keys,
                         evaluate=losses.classification_metrics,
                         eval_data={"train": subsets, "test": test}, data_axis=0, name=arm["arm"])

    grid = grid_fit({"arm": ARMS, "size": config.sizes}, fit_arm, seed=config.seed,
                    seeds=config.seeds, vmapped="size")
    results = grid.add_to(Results(), evals={"train/accuracy": "train_accuracy",
                                            "test/accuracy": "test_accuracy"})
    signal = splits["train"]["x"][:1]
    draws = jax.vmap(lambda k: config.augmentation()(k, signal)[0])(
        jax.random.split(jax.random.key(config.seed), EXAMPLE_DRAWS))
    results.add("example_signals", np.concatenate([np.asarray(signal), np.asarray(draws)]),
                ("example", "position"))
    results.meta["example_label"] = int(splits["train"]["y"][0])
    return results


def accuracy_gain(results: Results) -> np.ndarray:
    """Final test accuracy with augmentation minus without, per (size, seed)."""
    final = curves.final(results["test_accuracy"])  # (arm, size, seed)
    return final[ARMS.index("augmented")] - final[ARMS.index("plain")]


claims = ClaimBook("data_augmentation", questions="Q59")


def judge_gain(gain: np.ndarray) -> tuple[str, dict]:
    """The three-way verdict on gain (size, seed), fixed before the run, and its evidence.

    The claim is two statements: the gain is positive at the smallest n, and it falls as n
    grows, judged over the whole range of n (`stats.trend_verdict`). A gain that first rises
    significantly to a peak inside the range and then falls holds in one range of n and fails in
    the other: `nuanced`, as is a fall from the smallest n that comes back significantly.
    """
    by_seed = gain.T  # (seed, size)
    small = stats.mean_ci(gain[0])
    falls = stats.trend_verdict(by_seed, direction=-1)  # from the smallest n to the lowest gain
    rises = stats.trend_verdict(by_seed, direction=+1)  # from the smallest n to the peak gain
    if not small.above(0):
        verdict = stats.NOT_REPRODUCED
    elif rises.verdict == stats.NUANCED:  # up to an inner peak, then down: shrinks only past it
        verdict = stats.NUANCED
    else:
        verdict = falls.verdict
    return verdict, {"gain_smallest_n": small, "falls": falls, "rises_first": rises}


@claims.rule("augmentation_helps_small_data",
             rule="gain = test accuracy with augmentation - without at the last step, paired per "
                  "seed (same subset, init and batches), judged over the whole range of n: "
                  "not reproduced unless its 95 % CI lies above 0 at the smallest n; nuanced if "
                  "it rises significantly from the smallest n to an inner peak and falls "
                  "significantly after it (stats.trend_verdict, direction +1: an inverted U); "
                  "otherwise the verdict of stats.trend_verdict on the gain with direction -1 "
                  "(reproduced: falls from the smallest n to its lowest value and does not come "
                  "back; nuanced: falls and comes back; not reproduced: never falls)",
             literature=stats.REPRODUCED, expected=stats.NUANCED,
             deviation="at 3000 steps (at 1000 the gain at n = 4000 was +1.8 points against +5.6 at "
                       "3000; the augmented arm still improves at large n, so the large-n gains are "
                       "lower bounds: a review at 6000 steps measured +9.1 at n = 4000 and the peak "
                       "at n = 500-1000, still nuanced, as at rates 3e-3 and 3e-2) the gain is an "
                       "inverted U in n, not a fall: quick, seed 0 (seed 1): +13.9 (+13.8) points at "
                       "n = 125, peak +23.1 (+22.7) at n = 500, rise 0.091 [0.070, 0.112] (0.089 "
                       "[0.056, 0.123]), then +5.6 (+6.6) at n = 4000, fall from the peak 0.174 "
                       "[0.153, 0.196] (0.161 [0.134, 0.188]). Augmentation helps at every n, but its "
                       "gain shrinks with data only beyond n = 500: the ledger calls that shape "
                       "nuanced")
def _(results: Results, config: Config):
    sizes = config.sizes
    gain = accuracy_gain(results)
    verdict, evidence = judge_gain(gain)
    rises, falls = evidence["rises_first"], evidence["falls"]
    final = curves.final(results["test_accuracy"])
    return stats.outcome(
        verdict, f"test accuracy gain from augmentation at n={sizes[0]}", evidence["gain_smallest_n"],
        peak_size=sizes[rises.turn], rise_to_peak=rises.towards, fall_after_peak=rises.back,
        lowest_gain_size=sizes[falls.turn], fall_to_lowest=falls.towards,
        back_after_lowest=falls.back,
        gain_smallest_minus_largest=stats.paired_diff_ci(gain[0], gain[-1]),
        gain_by_size={n: stats.mean_ci(g) for n, g in zip(sizes, gain)},
        test_accuracy={f"{arm} n={n}": stats.mean_ci(final[a, i], bounds=(0, 1))
                       for a, arm in enumerate(ARMS) for i, n in enumerate(sizes)})


def plot(results: Results, config: Config) -> dict:
    """Accuracy and gain against training size; one signal and its augmented copies."""
    sizes = np.asarray(config.sizes)
    fig, axes = plots.figure(ncols=3, width=4.4)
    ax = axes[0, 0]
    for a, arm in enumerate(ARMS):
        plots.band(ax, sizes, curves.final(results.sel("test_accuracy", arm=arm)).T,
                   label=f"{arm}, test", color=plots.PALETTE[a], marker="o")
        plots.band(ax, sizes, curves.final(results.sel("train_accuracy", arm=arm)).T,
                   label=f"{arm}, train (unaugmented)", color=plots.PALETTE[a], marker="s",
                   linestyle=":")
    _size_axis(ax, sizes)
    ax.set_ylabel("accuracy")
    ax.set_title("accuracy after training")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2)

    ax = axes[0, 1]
    plots.band(ax, sizes, 100 * accuracy_gain(results).T, color=plots.PALETTE[2], marker="o",
               label="augmented - plain (mean, 95 % CI)")
    ax.axhline(0, color="grey", linewidth=1)
    _size_axis(ax, sizes)
    ax.set_ylabel("test accuracy gain (points)")
    ax.set_title("gain from augmentation")
    ax.legend()

    ax = axes[0, 2]
    signals = results["example_signals"]
    offset = 3.5  # stack the copies so each stays readable
    for i, signal in enumerate(signals):
        ax.plot(signal - offset * i, color="black" if i == 0 else plots.PALETTE[i - 1],
                linewidth=2.0 if i == 0 else 1.3)
        ax.text(len(signal) - 0.5, -offset * i + 1.2, "original" if i == 0 else f"draw {i}",
                ha="right", fontsize=8.5)
    ax.set_yticks([])
    ax.set_xlabel("position (sample)")
    ax.set_ylabel("signal value (copies offset)")
    ax.set_title(f"one digit {results.meta['example_label']} and augmented copies\n"
                 f"(shift ±{config.max_shift}, scale 1±{config.scale_range}, "
                 f"noise σ={config.noise_std})", fontsize=9.5)
    mean_gain = 100 * np.mean(accuracy_gain(results), axis=1)
    peak = int(np.argmax(mean_gain))
    shape = (f"rises from n = {sizes[0]} to a peak at n = {sizes[peak]}, then shrinks" if 0 < peak
             else f"is largest at n = {sizes[0]} and shrinks")
    plots.title(fig, f"The test-accuracy gain from augmentation {shape} toward n = {sizes[-1]}")
    return {"data_augmentation": fig}


def _size_axis(ax, sizes) -> None:
    """A log axis of training sizes, ticked at the sizes themselves."""
    ax.set_xscale("log")
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.minorticks_off()
    ax.set_xlabel("training examples n (log scale)")


main(__spec__)
