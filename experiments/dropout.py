"""Dropout: randomly dropping hidden units in training shrinks the train-test gap; inference is exact.

Q&A: Q55. Setup: an MLP that overfits (2 hidden ReLU layers of width 128, He init) trained
with Adam (lr 1e-3, batch 100) on a 1000-example subset of MNIST-1D, long enough to fit the
training set, once per dropout rate (the rate is a static part of the model, so each rate is
its own compiled program; the seeds of a rate are vmapped). The runs of every rate share
their seed keys, so rates are compared paired (same init, same batches). Train and test
accuracy are measured in evaluation mode (no dropout) at every evaluation step. The gap is
train accuracy minus test accuracy at the last step. Last, the trained rate-0.5 nets are
called twice with different keys, once in evaluation mode and once in training mode.

Command:  python -m experiments.dropout --profile quick
Expected: at rate 0 the net fits the training set (train accuracy 1.00, test 0.41: gap 0.59);
rate 0.5 lowers the gap to ~0.39 (train 0.84, test 0.45), rate 0.2 to ~0.51. Part of the
shrinkage is that the rate-0.5 net has not yet fit the training set at 2000 steps, but its
test accuracy is higher too (+4 points), so the gap does not shrink by underfitting alone.
Srivastava et al. 2014 report little test gain on very small training sets, so the test
accuracy change is reported but not claimed. Evaluation outputs are bit-identical whatever
the key; every training-mode logit differs between two keys.
Runtime: smoke ~12 s; quick 42 s measured on 2 CPU cores shared with other jobs (load ~8;
21 s of CPU time, so ~12-15 s alone; compilation cached), 8 seeds; full (32 seeds, 4000
training examples, width 512, 5 rates) is sized for one GPU and was not run.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from phenomena import curves, data, losses, models, plots, rng, stats, train
from phenomena.config import check
from phenomena.models import MLPConfig
from phenomena.results import Results
from phenomena.stats import Claim, decide
from phenomena.train import TrainConfig

BASE_RATE, CLAIM_RATE = 0.0, 0.5
KEY_STREAM = 2  # the two call keys of the determinism check, apart from inits and batches


@dataclasses.dataclass(frozen=True)
class Config:
    """Every knob of the experiment; `PROFILES` override some of them."""

    seed: int = 0
    seeds: int = 8
    rates: tuple[float, ...] = (0.0, 0.2, 0.5)
    train_size: int = 1000        # a small training set, so the plain net overfits
    model: MLPConfig = MLPConfig(width=128, depth=2, activation="relu", init="he_normal")
    train: TrainConfig = TrainConfig(optimizer="adam", lr=1e-3, steps=2000, batch_size=100,
                                     eval_every=250)

    def __post_init__(self):
        check(BASE_RATE in self.rates and CLAIM_RATE in self.rates,
              f"rates must include {BASE_RATE} and {CLAIM_RATE} (the claim compares them), got {self.rates}")
        check(all(0 <= r < 1 for r in self.rates), f"rates must lie in [0, 1), got {self.rates}")
        check(len(set(self.rates)) == len(self.rates), f"rates must be distinct, got {self.rates}")
        check(self.train_size > 0, f"train_size must be positive, got {self.train_size}")
        check(self.model.dropout == 0, "model.dropout is set per rate by `rates`; leave it at 0")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "rates": (0.0, 0.5), "train.steps": 200, "train.eval_every": 100},
    "quick": {},
    "full": {"seeds": 32, "rates": (0.0, 0.1, 0.2, 0.3, 0.5), "train_size": 4000,
             "model.width": 512, "train.steps": 8000, "train.eval_every": 500},
}

CLAIMS = [
    Claim("dropout.dropout_shrinks_gap", "Q55",
          "the 95 % paired CI over seeds of gap(rate 0) - gap(rate 0.5) lies above 0, where gap "
          "= train accuracy - test accuracy at the last step, both in evaluation mode"),
    Claim("dropout.inference_deterministic", "Q55",
          "on every trained rate-0.5 net (every seed): evaluation-mode outputs on the test set "
          "are bit-identical for two different keys and without a key, and training-mode "
          "outputs differ between the two keys (statistic: Wilson interval of the fraction of "
          "seeds where both hold; the rule needs all seeds)"),
]


def _fit_rate(config: Config, rate: float, splits, keys):
    """Train one dropout rate's nets (all seeds in one program)."""
    model = dataclasses.replace(config.model, dropout=rate)
    graphdef, state = models.mlps(40, data.MNIST1D_CLASSES, model, keys)
    history = train.fit(graphdef, state, losses.cross_entropy, splits["train"], config.train, keys,
                        evaluate=losses.classification_metrics, eval_data=splits,
                        name=f"dropout {rate}")
    return graphdef, history


@functools.partial(jax.jit, static_argnums=0)
def _mode_differences(graphdef, state, x, keys):
    """Per run: max |Δ| of evaluation outputs over keys, and the fraction of training outputs that differ.

    Each run's net is called with two keys (and, in evaluation mode, also with no key).
    """
    def one(s, key):
        model = nnx.merge(graphdef, s)
        key_a, key_b = jax.random.split(key)
        eval_a, _ = model(x, train=False, key=key_a)
        eval_b, _ = model(x, train=False, key=key_b)
        eval_none, _ = model(x, train=False)
        train_a, _ = model(x, train=True, key=key_a)
        train_b, _ = model(x, train=True, key=key_b)
        eval_diff = jnp.maximum(jnp.max(jnp.abs(eval_a - eval_b)), jnp.max(jnp.abs(eval_a - eval_none)))
        return eval_diff, jnp.mean(train_a != train_b)
    return jax.vmap(one)(state, keys)


def run(config: Config) -> Results:
    """Train every rate, record the accuracy curves, then probe the rate-0.5 nets' two modes."""
    splits = data.mnist1d_splits(train_size=config.train_size)
    keys = rng.seed_keys(config.seed, config.seeds, part=1)
    curves = {"train_accuracy": [], "test_accuracy": [], "train_loss": [], "test_loss": []}
    for rate in config.rates:
        graphdef, history = _fit_rate(config, rate, splits, keys)
        for name in curves:
            split, metric = name.split("_")
            curves[name].append(history.evals[f"{split}/{metric}"])
        if rate == CLAIM_RATE:
            eval_diff, train_differs = _mode_differences(
                graphdef, history.state, splits["test"]["x"], rng.run_stream(keys, KEY_STREAM))

    results = Results()
    for name, values in curves.items():
        results.add(name, np.stack(values), ("rate", "seed", "step"),
                    rate=list(config.rates), seed=list(range(config.seeds)),
                    step=history.eval_steps.tolist())
    results.add("eval_output_max_abs_diff", np.asarray(eval_diff), ("seed",))
    results.add("train_output_fraction_differing", np.asarray(train_differs), ("seed",))
    return results


def _final_gap(results: Results, rate: float) -> np.ndarray:
    """Train accuracy minus test accuracy at the last step, per seed."""
    train_acc = results.sel("train_accuracy", rate=rate)[:, -1]
    test_acc = results.sel("test_accuracy", rate=rate)[:, -1]
    return train_acc - test_acc


def claims(results: Results) -> list[stats.Verdict]:
    """Decide both claims from the final accuracies and the two-key calls."""
    by_id = {c.id.split(".")[1]: c for c in CLAIMS}
    gap_base, gap_drop = _final_gap(results, BASE_RATE), _final_gap(results, CLAIM_RATE)
    shrink = stats.paired_diff_ci(gap_base, gap_drop)
    final_test = {r: stats.mean_ci(results.sel("test_accuracy", rate=r)[:, -1])
                  for r in results.coords["rate"]}
    final_train = {r: stats.mean_ci(results.sel("train_accuracy", rate=r)[:, -1])
                   for r in results.coords["rate"]}
    test_gain = stats.paired_diff_ci(results.sel("test_accuracy", rate=CLAIM_RATE)[:, -1],
                                     results.sel("test_accuracy", rate=BASE_RATE)[:, -1])

    eval_diff = results["eval_output_max_abs_diff"]
    train_differs = results["train_output_fraction_differing"]
    holds = (eval_diff == 0) & (train_differs > 0)
    both = stats.proportion_ci(int(holds.sum()), holds.size)
    return [
        decide(by_id["dropout_shrinks_gap"], shrink.above(0),
               "gap(rate 0) - gap(rate 0.5), accuracy points / 100", shrink,
               gap_rate0=stats.mean_ci(gap_base), gap_rate05=stats.mean_ci(gap_drop),
               gap_by_rate={r: stats.mean_ci(_final_gap(results, r)) for r in results.coords["rate"]},
               train_accuracy_by_rate=final_train, test_accuracy_by_rate=final_test,
               test_accuracy_gain_rate05_minus_rate0=test_gain),
        decide(by_id["inference_deterministic"], bool(holds.all()),
               "fraction of seeds with exact evaluation outputs and stochastic training outputs",
               both, max_eval_output_abs_diff=float(eval_diff.max()),
               train_outputs_differing_fraction=stats.mean_ci(train_differs)),
    ]


def plot(results: Results) -> dict:
    """Accuracy curves per rate, and the final gap against the rate."""
    rates, steps = results.coords["rate"], results.coords["step"]
    fig, axes = plots.figure(ncols=2)
    ax = axes[0, 0]
    for i, rate in enumerate(rates):
        color = plots.PALETTE[i]
        plots.band(ax, steps, results.sel("train_accuracy", rate=rate), color=color,
                   label=f"rate {rate}: train", linestyle="--")
        plots.band(ax, steps, results.sel("test_accuracy", rate=rate), color=color,
                   label=f"rate {rate}: test")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("accuracy (evaluation mode)")
    ax.set_title("train (dashed) and test (solid) accuracy")
    ax.legend(ncol=2)
    ax = axes[0, 1]
    gaps = np.stack([_final_gap(results, r) for r in rates], axis=1)  # (seed, rate)
    plots.band(ax, rates, gaps, marker="o", color=plots.PALETTE[0], label="train − test accuracy")
    ax.set_xlabel("dropout rate (hidden units dropped in training)")
    ax.set_ylabel("final train − test accuracy")
    ax.set_ylim(bottom=0)
    ax.set_title("generalization gap at the last step")
    ax.legend()
    plots.title(fig, "Dropout shrinks the train–test gap of an overfitting MLP")
    return {"gap": fig}


if __name__ == "__main__":
    import sys

    from phenomena.cli import experiment_main

    sys.exit(experiment_main(__spec__.name))
