"""Feature learning: a small CNN beats tuned shallow models on raw MNIST-1D by 30-55 points, and FFT-magnitude features do not close half of that gap (they lift logistic regression 8 points and cost the SVM 17).

Q&A: Q1, Q4, Q6 ("deep learning extracts features from raw data; shallow learning needs
manual feature engineering"). Setup: MNIST-1D (Greydanus 2020; 40-sample signals of ten digit
shapes, circularly shifted, sheared and noised). Each seed draws its own pool from the 4000
training signals and splits it into a training set and a validation set (the claim is about
generalization, so the interval covers the data draw); every model of a seed sees the same
two sets and is scored on the standard 1000 test signals. The deep model is a small 1-D CNN
(3 convolutions, ReLU, a linear head) trained with Adam at batch 100 (the seeds vmapped; its
learning rate chosen per seed on the validation set, held out from the seed judged, among the
profile's grid). The shallow models come from scikit-learn: logistic regression (C grid) and
an RBF-kernel SVM (3 x 3 grid of C and kernel width), inputs standardized, each at the grid
point with the best validation accuracy (searched on a subsample of the training set, then
refit on all of it). They are fit twice: on the raw signal, and on engineered shift-invariant
features, the magnitudes of the signal's Fourier transform (`shallow.fft_features`).

Quick profile: 8 seeds, 2000 training + 400 validation signals per seed, a 16-channel CNN,
Adam lr 1e-2 (Greydanus's rate; the quick grid has that one rate, the full profile tunes
3e-3/1e-2/3e-2), 1000 steps: every seed fits its training set (train accuracy 100 %, training
loss flat over the last quarter). The shallow grids are searched on 400 of the training signals.

Command:  python -m experiments.feature_learning --profile quick
Expected (measured, quick; seed 0 / seed 1): test accuracy CNN 87.3 % / 85.1 %, logistic
regression 31.5 / 31.2 %, RBF SVM 55.7 / 55.3 % on raw signals; on FFT magnitudes logistic
39.4 / 38.4 %, SVM 38.9 / 38.6 %.
- shallow_needs_features: reproduced. CNN - SVM = 31.7 [29.1, 34.2] points at seed 0,
  29.8 [27.5, 32.2] at seed 1; CNN - logistic 55.8 [54.0, 57.7] and 53.9 [52.2, 55.6]
  (literature, 4000 train: logistic 32 %, CNN 94 %). At 1000 training signals per seed (a
  first, cheaper trial) the SVM's gap was smaller, 17.3 [12.7, 21.8]: the CNN's lead grows
  with data, so the quick profile keeps 2000.
- engineered_features_close_gap: not reproduced (a recorded deviation). Share of the gap
  closed: logistic 0.14 [0.12, 0.16] / 0.14 [0.12, 0.15], SVM -0.53 [-0.59, -0.48] /
  -0.57 [-0.68, -0.46]. FFT magnitudes are shift-invariant but drop the phases, which carry
  the digit's shape: both shallow models end near 39 %. The shortfall is not FFT-specific: a
  shape-keeping shift-invariant feature (the detrended signal rolled so that its smoothed
  maximum sits first), tried by a reviewer, closed only 0.29-0.30 of the gap.
Grid edges (`grid_edge_choices` in the details): on FFT features the SVM's kernel width sits
at the grid's low end (0.3) for 4/8 and 7/8 seeds, on raw signals at the high end (3) for 3/8
and 2/8. A wider search (logistic C to 100; SVM C to 1000, kernel width 0.03-30) left every
mean test accuracy within 1 point (FFT SVM 39.0 / 38.5 %, share closed -0.53 / -0.57) at
~10 s more CPU time, so the quick profile keeps the 3 x 3 grid.
Runtime: smoke ~8 s CPU; quick 31-38 s of CPU time (user + sys, the 2 cores shared with other
jobs; ~15 s of it the CNN, ~15 s the 8 x 2 x 2 tuned scikit-learn fits), above the ~30 s
aim; full (32 seeds, 3500 training signals, 32 channels, 8000 steps, 3 rates,
grids searched on all training signals) is sized for one GPU and was not run.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Mapping

import numpy as np

from phenomena import curves, data, losses, models, plots, rng, selection, shallow, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main
from phenomena.models.cnn import CNNConfig
from phenomena.results import Results
from phenomena.train import TrainConfig

POOL_STREAM, SPLIT_STREAM = 2, 3  # each seed's training pool and its validation split
FEATURES = {"raw": lambda x: np.asarray(x), "fft": shallow.fft_features}
FEATURE_LABELS = {"raw": "raw", "fft": "FFT"}
SHORT_NAMES = {"logistic": "logistic", "rbf_svm": "RBF SVM"}
GAP_MARGIN = 15.0  # accuracy points the CNN must lead each shallow model by on raw signals
SHARE_CLOSED = 0.5  # share of that gap the engineered features must close


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    train_size: int = 2000  # MNIST-1D training signals per seed (a random draw from the 4000)
    val_size: int = 400  # validation signals per seed (drawn with the pool, disjoint from it)
    tune_size: int = 400  # training signals the shallow grids are searched on (0 = all)
    shallow_models: tuple[str, ...] = ("logistic", "rbf_svm")  # scikit-learn baselines (shallow.BASELINES)
    lrs: tuple[float, ...] = (1e-2,)  # the CNN's Adam learning rates (vmapped; best on validation)
    model: CNNConfig = CNNConfig(channels=16, layers=3, kernel=5, stride=2)  # the deep model
    train: TrainConfig = TrainConfig(optimizer="adam", lr=1e-2, steps=1000, batch_size=100,
                                     eval_every=250)  # the CNN's optimization (lr: see `lrs`)

    IGNORED_KEYS: ClassVar[Mapping[str, str]] = {"train.lr": "the CNN's learning rates are the grid `lrs`"}

    def __post_init__(self):
        super().__post_init__()
        check(self.train_size > 0 and self.val_size > 0
              and self.train_size + self.val_size <= data.MNIST1D_TRAIN_SIZE,
              f"train_size + val_size must be at most {data.MNIST1D_TRAIN_SIZE} (the training "
              f"pool), both positive; got {self.train_size} + {self.val_size}")
        check(0 <= self.tune_size <= self.train_size,
              f"tune_size must be in [0, train_size], got {self.tune_size}")
        check(len(self.shallow_models) >= 1
              and all(m in shallow.BASELINES for m in self.shallow_models),
              f"shallow_models must be among {', '.join(shallow.BASELINES)}, got {self.shallow_models}")
        check(len(self.lrs) >= 1 and all(lr > 0 for lr in self.lrs),
              f"lrs must be positive learning rates, got {self.lrs}")
        check(self.seeds >= 2, "seeds must be at least 2 (the CNN's rate is chosen on the other seeds)")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "train_size": 300, "val_size": 100, "tune_size": 150,
              "model.channels": 4, "train.steps": 40, "train.eval_every": 20},
    "quick": {},
    "full": {"seeds": 32, "train_size": 3500, "tune_size": 0, "lrs": (3e-3, 1e-2, 3e-2),
             "model.channels": 32, "train.steps": 8000, "train.eval_every": 500},
}


def _as_numpy(split: dict, seed: int) -> dict:
    """One seed's examples of a per-run split, as numpy (for scikit-learn)."""
    return {k: np.asarray(v[seed]) for k, v in split.items()}


def _shallow_scores(config: Config, train_sets: dict, val_sets: dict, test: dict) -> dict:
    """Test and validation accuracy of every (feature set, shallow model, seed), tuned."""
    shape = (len(FEATURES), len(config.shallow_models), config.seeds)
    scores = {"test": np.zeros(shape), "val": np.zeros(shape), "choice": np.zeros(shape, int)}
    for f, featurize in enumerate(FEATURES.values()):
        test_f = {"x": featurize(test["x"]), "y": np.asarray(test["y"])}
        for s in range(config.seeds):
            train_s, val_s = _as_numpy(train_sets, s), _as_numpy(val_sets, s)
            train_f = {"x": featurize(train_s["x"]), "y": train_s["y"]}
            val_f = {"x": featurize(val_s["x"]), "y": val_s["y"]}
            for m, name in enumerate(config.shallow_models):
                baseline = shallow.BASELINES[name]
                found = shallow.tuned_score(baseline, train_f, val_f, test_f, config.tune_size)
                scores["test"][f, m, s] = found.test_accuracy
                scores["val"][f, m, s] = found.val_accuracy
                scores["choice"][f, m, s] = baseline.settings().index(found.params)
    return scores


def run(config: Config) -> Results:
    """Train the CNNs (every rate and seed in one program), then fit the shallow models on the
    same per-seed splits, on raw signals and on FFT magnitudes."""
    splits = data.mnist1d_splits()
    keys = rng.seed_keys(config.seed, config.seeds)
    # Generalization claim: each seed draws its own pool, split into training and validation.
    train_sets, val_sets = data.pools_with_validation(
        splits["train"], rng.run_stream(keys, POOL_STREAM), rng.run_stream(keys, SPLIT_STREAM),
        config.train_size + config.val_size, config.val_size)
    runs = config.seeds * len(config.lrs)
    per_run = lambda split: {k: np.tile(v, (len(config.lrs),) + (1,) * (v.ndim - 1))  # noqa: E731
                             for k, v in split.items()}  # value-major, as grid_fit orders runs
    eval_data = {"train": per_run(train_sets), "val": per_run(val_sets),
                 "test": data.same_for_every_run(splits["test"], runs)}

    def fit_cnn(arm, run_keys, lrs):
        graphdef, state = models.cnns(data.MNIST1D_LENGTH, data.MNIST1D_CLASSES, config.model,
                                      run_keys)
        return train.fit(graphdef, state, losses.cross_entropy, eval_data["train"], config.train,
                         run_keys, hparams={"learning_rate": lrs},
                         evaluate=losses.classification_metrics, eval_data=eval_data,
                         data_axis=0, name="CNN")

    grid = grid_fit({"lr": config.lrs}, fit_cnn, seed=config.seed, seeds=config.seeds,
                    vmapped="lr")
    results = grid.add_to(Results(), evals={
        "train/loss": "cnn_train_loss", "train/accuracy": "cnn_train_accuracy",
        "val/accuracy": "cnn_val_accuracy", "test/accuracy": "cnn_test_accuracy"})
    scores = _shallow_scores(config, train_sets, val_sets, splits["test"])
    coords = {"features": list(FEATURES), "shallow": list(config.shallow_models)}
    axes = ("features", "shallow", "seed")
    results.add("shallow_test_accuracy", scores["test"], axes, **coords)
    results.add("shallow_val_accuracy", scores["val"], axes)
    results.add("shallow_grid_choice", scores["choice"], axes)
    return results


# ------------------------------------------------------------------------------- readings

def cnn_test_accuracy(results: Results) -> np.ndarray:
    """Per seed, the CNN's final test accuracy at the rate that is best on the other seeds'
    validation accuracy (so no seed is judged at a rate it chose)."""
    val = curves.final(results["cnn_val_accuracy"])  # (lr, seed)
    index = (selection.held_out_best(val, mode="max") if val.shape[0] > 1
             else np.zeros(val.shape[1], int))
    return selection.per_seed(curves.final(results["cnn_test_accuracy"]), index)


def shallow_accuracy(results: Results, features: str, model: str) -> np.ndarray:
    """Per seed, a tuned shallow model's test accuracy on one feature set."""
    return results.sel("shallow_test_accuracy", features=features, shallow=model)


def edge_choices(results: Results, config: Config) -> dict:
    """Per feature set and shallow model, how many seeds chose a grid value at the edge of its
    grid, by hyperparameter (e.g. {"C": 2, "gamma_scale": 0} of 8)."""
    counts = {}
    for f in results.coords["features"]:
        counts[f] = {}
        for m in config.shallow_models:
            baseline = shallow.BASELINES[m]
            chosen = results.sel("shallow_grid_choice", features=f, shallow=m).astype(int)
            edges = [baseline.at_edge(baseline.settings()[i]) for i in chosen]
            counts[f][m] = {name: sum(name in e for e in edges) for name in baseline.grid}
            counts[f][m]["of_seeds"] = len(edges)
    return counts


def _points(share: np.ndarray) -> np.ndarray:
    return 100 * np.asarray(share, np.float64)


def _verdict_over_models(holds: dict) -> str:
    """Reproduced when the rule holds for every shallow model, nuanced for some, else not."""
    if all(holds.values()):
        return stats.REPRODUCED
    return stats.NUANCED if any(holds.values()) else stats.NOT_REPRODUCED


claims = ClaimBook("feature_learning", questions="Q1, Q4, Q6")


@claims.rule("shallow_needs_features",
             rule=f"on raw MNIST-1D signals, for each shallow model (logistic regression, RBF "
                  f"SVM; each tuned on the seed's validation split), the paired 95 % CI over seeds "
                  f"of CNN test accuracy - shallow test accuracy (points) lies above {GAP_MARGIN:g}: "
                  f"reproduced for every model, nuanced for some, not reproduced for none")
def _(results: Results, config: Config):
    cnn = _points(cnn_test_accuracy(results))
    gaps = {m: stats.paired_diff_ci(cnn, _points(shallow_accuracy(results, "raw", m)))
            for m in config.shallow_models}
    holds = {m: gap.above(GAP_MARGIN) for m, gap in gaps.items()}
    smallest = min(gaps, key=lambda m: gaps[m].mean)
    return stats.outcome(
        _verdict_over_models(holds),
        f"CNN - {smallest} (the closest shallow model) test accuracy on raw signals, points",
        gaps[smallest], gap_by_model=gaps, holds_by_model=holds,
        cnn_test_accuracy=stats.mean_ci(cnn, bounds=(0, 100)),
        shallow_raw_test_accuracy={m: stats.mean_ci(_points(shallow_accuracy(results, "raw", m)),
                                                    bounds=(0, 100)) for m in config.shallow_models},
        cnn_train_accuracy=stats.mean_ci(_points(curves.final(results["cnn_train_accuracy"])),
                                         bounds=(0, 100)),
        cnn_train_loss_change_last_quarter=stats.mean_ci(-curves.last_quarter_drop(
            results.coords["step"], results["cnn_train_loss"])),
        grid_edge_choices=edge_choices(results, config),
        literature="Greydanus 2020 (4000 train): logistic 32 %, MLP 68 %, CNN 94 %")


@claims.rule("engineered_features_close_gap",
             rule=f"for each shallow model, the paired 95 % CI over seeds of (test accuracy on FFT "
                  f"magnitudes) - (test accuracy on raw) - {SHARE_CLOSED:g} x (CNN - test accuracy "
                  f"on raw) lies above 0, i.e. the engineered features close at least "
                  f"{SHARE_CLOSED:.0%} of the gap to the CNN: reproduced for every model, nuanced "
                  f"for some, not reproduced for none",
             expected=stats.NOT_REPRODUCED,
             deviation="FFT magnitudes close 0.14 [0.12, 0.16] of logistic regression's gap to the "
                       "CNN and widen the SVM's (share -0.53 [-0.59, -0.48]) at seed 0; 0.14 "
                       "[0.12, 0.15] and -0.57 [-0.68, -0.46] at seed 1 (quick, 8 seeds, 2000 "
                       "training signals each, every model tuned on validation). Both shallow "
                       "models reach ~39 % on the magnitudes (raw: 31 % and 56 %; CNN 85-87 %): the "
                       "shift invariance is bought by dropping the Fourier phases, which carry the "
                       "digit's shape. The shortfall is not FFT-specific: a shape-keeping "
                       "shift-invariant feature (the detrended signal rolled to its smoothed "
                       "maximum), tried in review, closed only 0.29-0.30 of the gap. Engineered "
                       "features of these kinds do not replace learned ones here.")
def _(results: Results, config: Config):
    cnn = _points(cnn_test_accuracy(results))
    beyond_half, share_closed, fft_accuracy = {}, {}, {}
    for m in config.shallow_models:
        raw = _points(shallow_accuracy(results, "raw", m))
        fft = _points(shallow_accuracy(results, "fft", m))
        beyond_half[m] = stats.paired_diff_ci(fft - raw, SHARE_CLOSED * (cnn - raw))
        share_closed[m] = stats.mean_ci((fft - raw) / (cnn - raw))
        fft_accuracy[m] = stats.mean_ci(fft, bounds=(0, 100))
    holds = {m: ci.above(0) for m, ci in beyond_half.items()}
    weakest = min(beyond_half, key=lambda m: beyond_half[m].mean)
    return stats.outcome(
        _verdict_over_models(holds),
        f"{weakest}: gain from FFT features - {SHARE_CLOSED:g} x raw gap to the CNN, points",
        beyond_half[weakest], gain_minus_half_gap_by_model=beyond_half,
        share_of_gap_closed_by_model=share_closed, holds_by_model=holds,
        shallow_fft_test_accuracy=fft_accuracy)


# ---------------------------------------------------------------------------------- figure

def plot(results: Results, config: Config) -> dict:
    """Test accuracy of every model on every feature set, and the share of the gap closed."""
    cnn = _points(cnn_test_accuracy(results))
    models_ = list(config.shallow_models)
    fig, axes = plots.figure(ncols=2, width=4.8)
    ax = axes[0, 0]
    bars = [("CNN\n(raw)", cnn, plots.PALETTE[0], False)]
    for i, m in enumerate(models_):
        for f in FEATURES:
            bars.append((f"{SHORT_NAMES.get(m, m)}\n({FEATURE_LABELS[f]})",
                         _points(shallow_accuracy(results, f, m)), plots.PALETTE[1 + i], f != "raw"))
    for x, (label, values, color, engineered) in enumerate(bars):
        mean, low, high = plots.seed_band(values[:, None])
        ax.bar(x, mean[0], color=color, alpha=0.45 if engineered else 0.85,
               hatch="//" if engineered else None, edgecolor=color)
        ax.errorbar(x, mean[0], yerr=[[mean[0] - low[0]], [high[0] - mean[0]]], color="black",
                    capsize=3, linewidth=1)
    ax.set_xticks(range(len(bars)), [b[0] for b in bars], fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.axhline(100 / data.MNIST1D_CLASSES, color="grey", linestyle=":", linewidth=1)
    ax.text(len(bars) - 0.5, 100 / data.MNIST1D_CLASSES + 1, "chance", ha="right", fontsize=8,
            color="grey")
    ax.set_title("test accuracy, mean and 95 % CI over seeds")

    ax = axes[0, 1]
    shares = []
    for i, m in enumerate(models_):
        raw = _points(shallow_accuracy(results, "raw", m))
        fft = _points(shallow_accuracy(results, "fft", m))
        share = (fft - raw) / (cnn - raw)
        mean, low, high = plots.seed_band(share[:, None])
        shares.append(mean[0])
        ax.errorbar(i, mean[0], yerr=[[mean[0] - low[0]], [high[0] - mean[0]]], marker="o",
                    color=plots.PALETTE[1 + i], capsize=4, linestyle="none")
    ax.axhline(SHARE_CLOSED, color="black", linestyle="--", linewidth=1,
               label=f"claim: {SHARE_CLOSED:.0%} of the gap")
    ax.axhline(0, color="grey", linewidth=1, label="no change from raw")
    ax.set_xticks(range(len(models_)), [SHORT_NAMES.get(m, m) for m in models_], fontsize=8)
    ax.set_xlim(-0.5, len(models_) - 0.5)
    ax.set_ylabel("share of the raw gap to the CNN closed\nby FFT features (95 % CI)")
    ax.set_title("(FFT − raw) / (CNN − raw)")
    plots.legend_outside(ax)
    gap = min((stats.paired_diff_ci(cnn, _points(shallow_accuracy(results, "raw", m)))
               for m in models_), key=lambda ci: ci.mean)
    closes = all(s >= SHARE_CLOSED for s in shares)
    plots.title(fig, f"A CNN leads tuned shallow models on raw MNIST-1D by about {gap.mean:.0f} "
                     f"points (95 % CI ≥ {gap.low:.0f}); "
                + ("FFT features close" if closes else "FFT features do not close")
                + f" half of the gap (best: {max(shares):.0%})")
    return {"accuracy": fig}


main(__spec__)
