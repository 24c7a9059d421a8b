"""Label noise: an MLP trained on partly wrong labels tests worse, because it memorizes them.

The worked example of docs/adding_an_experiment.md (not one of the suite's experiments: copy
it to `experiments/<name>.py` to make one). Setup: an MLP (2 hidden ReLU layers of 64) trained
with Adam on 1000 MNIST-1D examples, once with clean labels and once with a share of the
training labels replaced by random classes (a fresh draw per seed); test labels stay clean.
Every arm shares its seeds' inits and batch order, so arms are compared paired.

Command:  python -m experiments.label_noise --profile quick   (once copied to experiments/)
Expected (measured, quick): noise 0.4 costs 14 test points (0.40 -> 0.26, paired CI
[0.126, 0.154]), and the noisy nets reproduce 98.5 % of the training labels they were given,
of which only 64 % are right: they memorized the wrong ones.
Runtime: smoke ~5 s; quick ~25 s on 2 CPU cores; full (32 seeds, 5 levels) is for a GPU.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from phenomena import curves, data, losses, models, plots, rng, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main, map_runs
from phenomena.models import MLPConfig
from phenomena.results import Results
from phenomena.train import TrainConfig

NOISE_STREAM = 2  # each run key's stream for the label corruption (0 and 1: init, training)


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    noise: tuple[float, ...] = (0.0, 0.4)  # share of training labels replaced at random
    train_size: int = 1000  # MNIST-1D training examples
    model: MLPConfig = MLPConfig(width=64, depth=2)
    train: TrainConfig = TrainConfig(optimizer="adam", lr=1e-3, steps=1500, batch_size=100,
                                     eval_every=250)

    def __post_init__(self):
        super().__post_init__()
        check(self.noise[0] == 0.0 and len(self.noise) >= 2,
              f"noise must start with 0 (the clean control) and have another level, got {self.noise}")
        check(all(0 <= n <= 1 for n in self.noise), f"noise levels must lie in [0, 1], got {self.noise}")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "train.steps": 200, "train.eval_every": 100},
    "quick": {},
    "full": {"seeds": 32, "noise": (0.0, 0.1, 0.2, 0.4, 0.6), "train_size": 4000,
             "train.steps": 6000},
}


def _corrupt(labels, key, share):
    """Replace a `share` of `labels` by uniformly random classes (pure in `key`)."""
    pick, draw = jax.random.split(key)
    wrong = jax.random.bernoulli(pick, share, labels.shape)
    random = jax.random.randint(draw, labels.shape, 0, data.MNIST1D_CLASSES)
    return jnp.where(wrong, random, labels)


def _fits_given_labels(model, batch):
    """Share of training examples the net predicts as the label it was trained on."""
    logits, _ = model(batch["x"])
    return jnp.mean(jnp.argmax(logits, -1) == batch["y"])


def run(config: Config) -> Results:
    """Train every noise level (one compiled program per level, seeds vmapped), then measure
    how much of its own training labels each net reproduces."""
    splits = data.mnist1d_splits(train_size=config.train_size)
    noise_keys = rng.run_stream(rng.seed_keys(config.seed, config.seeds), NOISE_STREAM)
    noisy_sets = {}

    def fit_noise(arm, keys, _):
        labels = jax.vmap(_corrupt, in_axes=(None, 0, None))(splits["train"]["y"], noise_keys,
                                                               arm["noise"])
        noisy = {"x": data.same_for_every_run(splits["train"], config.seeds)["x"], "y": labels}
        noisy_sets[arm["noise"]] = noisy
        graphdef, state = models.mlps(data.MNIST1D_LENGTH, data.MNIST1D_CLASSES, config.model, keys)
        # One training set per run (data_axis=0); the clean test set is shared.
        return train.fit(graphdef, state, losses.cross_entropy, noisy, config.train, keys,
                         evaluate=losses.classification_metrics,
                         eval_data={"train": noisy, "test": data.same_for_every_run(
                             splits["test"], config.seeds)},
                         data_axis=0, name=f"noise {arm['noise']}")

    grid = grid_fit({"noise": config.noise}, fit_noise, seed=config.seed, seeds=config.seeds)
    results = grid.add_to(Results(), evals={"test/accuracy": "test_accuracy",
                                            "train/accuracy": "train_accuracy"})
    fitted = [map_runs(_fits_given_labels, h.graphdef, h.state, noisy_sets[n], run_axes=(0,))
              for n, h in zip(config.noise, grid.histories.values())]
    results.add("fits_given_labels", np.stack(fitted), ("noise", "seed"))
    return results


claims = ClaimBook("label_noise", questions="Q52")


@claims.rule("noise_costs_test_accuracy",
             rule="the paired 95 % CI over seeds of test accuracy(noise 0) − test accuracy(largest "
                  "noise) at the last step lies above 0")
def _(results: Results, config: Config):
    clean = curves.final(results.sel("test_accuracy", noise=config.noise[0]))
    noisy = curves.final(results.sel("test_accuracy", noise=config.noise[-1]))
    cost = stats.paired_diff_ci(clean, noisy)
    return stats.decide(cost.above(0), "test accuracy(clean) − test accuracy(noisy)", cost,
                        clean=stats.mean_ci(clean, bounds=(0, 1)),
                        noisy=stats.mean_ci(noisy, bounds=(0, 1)))


@claims.rule("noisy_labels_memorized", kind=stats.DESCRIPTIVE,
             rule="the share of its own (partly wrong) training labels the noisiest net reproduces; "
                  "'reproduced' when its CI lies above the share of labels left correct")
def _(results: Results, config: Config):
    fitted = stats.mean_ci(results.sel("fits_given_labels", noise=config.noise[-1]), bounds=(0, 1))
    left_correct = 1 - config.noise[-1] * (1 - 1 / data.MNIST1D_CLASSES)
    return stats.decide(fitted.above(left_correct), "share of given training labels fitted",
                        fitted, labels_left_correct=left_correct)


def plot(results: Results, config: Config) -> dict:
    """Test accuracy over training for each noise level."""
    fig, axes = plots.figure()
    ax = axes[0, 0]
    for i, level in enumerate(config.noise):
        plots.band(ax, results.coords["step"], results.sel("test_accuracy", noise=level),
                   color=plots.PALETTE[i], label=f"{level:.0%} labels random")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("test accuracy (clean labels)")
    plots.legend_outside(ax)
    plots.title(fig, "Random training labels lower the test accuracy")
    return {"test_accuracy": fig}


main(__spec__)
