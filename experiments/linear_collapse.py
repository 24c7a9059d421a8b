"""Linear collapse: a deep net without nonlinearities is one matrix, as weak as logistic regression; ReLU makes the same shape bend.

Q&A: Q33, Q27. Setup: circles (factor 0.5) and moons, both with noise 0.1, a fresh training
draw (200 points) and test draw (1000 points) per seed. Three models see the same draw: a
deep linear net (5 hidden layers of 16 units with the identity activation, Glorot init), a
ReLU net of the same shape (He init), both trained full-batch with Adam, each at its own
best rate of a grid (the rates vmapped: one program per model; best = lowest mean final
training loss), and scikit-learn's logistic regression (no penalty, L-BFGS to convergence)
as the reference. Check: every trained deep linear net is collapsed to the single affine map
of its layers (the product of its kernels, the biases folded through) and compared with its
output on the test inputs.

How the datasets combine (fixed before the run): 'reproduced' if both halves of the claim
hold on both datasets, 'nuanced' if on one only. Every net has converged: at its best rate
the training loss falls by less than 1e-4 over the last quarter. The deep linear net sits at
logistic regression's optimum: its final training loss minus logistic regression's is
-3e-8 (circles) / -1e-8 (moons) at seed 0 (-2e-8 / -4e-9 at seed 1); the ReLU net's training
loss falls by 7e-6 (circles) / 4e-7 (moons) over the last quarter at seed 0 (4e-5 / 8e-7 at
seed 1). The chosen rates include edges of the grid (seed 0: deep linear 0.003 on circles,
ReLU 0.03 on moons; seed 1 also ReLU 0.003 on circles); this is harmless: a run over
0.001-0.1 (5 rates, ~2x the CPU) picks the same rates and gives identical numbers at seed 0,
the deep linear net cannot beat the optimum it already reaches, and the ReLU net is within
1.5 points of 100 % on both datasets.

Command:  python -m experiments.linear_collapse --profile quick
Expected (quick, 16 seeds; seed 0 / seed 1):
- deep_linear_is_linear: max relative error between the trained depth-5 identity nets and the
  product of their layers 2.0e-6 / 1.4e-6 (< 1e-5): reproduced.
- nonlinearity_needed: nuanced (deviation). Circles: deep linear − logistic regression
  -0.03 [-0.05, -0.00] / +0.03 [-0.03, 0.09] points (both at ~50 %, chance), ReLU − logistic
  +48.5 [47.5, 49.6] / +48.4 [47.5, 49.3]: holds. Moons: deep linear − logistic 0.00 points
  (the same function), ReLU − logistic +11.3 [10.8, 11.8] / +12.0 [11.1, 12.8]: the ReLU net
  reaches 99.5 % but logistic regression already scores 88 %, so 15 points cannot be gained;
  the ReLU net closes 0.96 [0.93, 0.99] / 0.98 [0.97, 0.99] of logistic regression's test error there.
Runtime: smoke ~20 s CPU (compilation); quick 26-28 s CPU (user+sys) warm, ~36 s with a cold
compile cache, on 2 shared CPU cores; full (64 seeds, 1000/5000 points, 10000 steps) is for
one GPU and was not run.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Mapping

import jax.numpy as jnp
import numpy as np
from sklearn.linear_model import LogisticRegression

from phenomena import boundaries, curves, losses, models, plots, rng, selection, stats, toy2d, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main, map_runs
from phenomena.models import MLPConfig
from phenomena.results import Results
from phenomena.train import TrainConfig

MODELS = {"deep linear": ("identity", "glorot_normal"), "ReLU": ("relu", "he_normal")}
REFERENCE = "logistic regression"
DATA_STREAM = 2  # each seed key's stream for its train/test draw
EQUIVALENCE_POINTS = 2.0  # |deep linear − logistic regression| CI must lie within ± this
GAIN_POINTS = 15.0  # ReLU − logistic regression CI must lie above this


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    seeds: int = 16  # independent data draws and inits per model
    datasets: tuple[str, ...] = ("circles", "moons")  # 2-D tasks (toy2d), each decided
    noise: float = 0.1  # std of the Gaussian noise on every coordinate
    circle_factor: float = 0.5  # radius of the inner circle (the outer one is 1)
    n_train: int = 200  # training points per seed (half per class)
    n_test: int = 1000  # test points per seed (half per class)
    width: int = 16  # units per hidden layer of both nets
    depth: int = 5  # hidden layers of both nets (the check's depth)
    rates: tuple[float, ...] = (0.003, 0.01, 0.03)  # Adam learning rates, each model's best used
    grid_size: int = 48  # decision regions are evaluated on grid_size x grid_size points
    train: TrainConfig = TrainConfig(optimizer="adam", lr=0.01, steps=1000, batch_size=0,  # full batch
                                     eval_every=100)

    IGNORED_KEYS: ClassVar[Mapping[str, str]] = {"train.lr": "the learning rates are the grid `rates`"}

    def __post_init__(self):
        super().__post_init__()
        check(self.seeds >= 8, f"seeds must be at least 8, got {self.seeds}")
        check(len(self.datasets) >= 1 and all(d in ("circles", "moons") for d in self.datasets),
              f"datasets must be circles and/or moons, got {self.datasets}")
        check(self.n_train % 2 == 0 and self.n_test % 2 == 0 and self.n_train >= 2,
              "n_train and n_test must be even (half of each class)")
        check(self.depth >= 2 and self.width >= 1, "depth must be >= 2 and width >= 1")
        check(len(self.rates) >= 1 and all(r > 0 for r in self.rates), "rates must be positive")
        check(self.noise >= 0 and 0 < self.circle_factor < 1,
              "noise must be >= 0 and circle_factor in (0, 1)")
        check(self.grid_size >= 8, "grid_size must be >= 8")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 8, "rates": (0.01,), "depth": 2, "width": 4, "n_test": 200,
              "grid_size": 12, "train.steps": 100, "train.eval_every": 50},
    "quick": {},
    "full": {"seeds": 64, "n_train": 1000, "n_test": 5000, "rates": (0.001, 0.003, 0.01, 0.03),
             "grid_size": 128, "train.steps": 10000, "train.eval_every": 500},
}


def draws(config: Config, dataset: str) -> dict:
    """Each seed's training and test draw of `dataset`: leading seed axis."""
    keys = rng.run_stream(rng.seed_keys(config.seed, config.seeds), DATA_STREAM)
    shape = config.circle_factor if dataset == "circles" else None
    return toy2d.train_test(dataset, keys, config.n_train, config.n_test, config.noise, shape)


def collapse(model) -> tuple[jnp.ndarray, jnp.ndarray]:
    """The single affine map `x @ W + b` of a net whose activations are the identity: W is
    the product of its kernels, b every bias carried through the layers above it."""
    layers = [*model.hidden, model.head]
    weight, bias = layers[0].kernel[...], layers[0].bias[...]
    for layer in layers[1:]:
        weight = weight @ layer.kernel[...]
        bias = bias @ layer.kernel[...] + layer.bias[...]
    return weight, bias


def collapse_error(model, x) -> jnp.ndarray:
    """max |net(x) − (x W + b)| / max |net(x)| for one net on inputs `x`."""
    out, _ = model(x)
    weight, bias = collapse(model)
    return jnp.max(jnp.abs(out - (x @ weight + bias[None, :]))) / jnp.max(jnp.abs(out))


def logistic_regression(sets: dict, points) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's unpenalized logistic regression on each seed's draw: (test accuracy,
    final training log-loss, P(class 1) at `points` for seed 0)."""
    accuracy, loss, grid = [], [], None
    for s in range(sets["train"]["x"].shape[0]):
        x, y = np.asarray(sets["train"]["x"][s]), np.asarray(sets["train"]["y"][s])
        model = LogisticRegression(C=np.inf, max_iter=10_000, tol=1e-8).fit(x, y)
        accuracy.append(model.score(np.asarray(sets["test"]["x"][s]), np.asarray(sets["test"]["y"][s])))
        p = np.clip(model.predict_proba(x)[:, 1], 1e-12, 1 - 1e-12)
        loss.append(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
        if s == 0:
            grid = model.predict_proba(np.asarray(points))[:, 1]
    return np.array(accuracy), np.array(loss), grid


def run(config: Config) -> Results:
    """Per dataset: both nets at every rate (one program per model, rates vmapped; the second
    dataset reuses the first one's programs), logistic regression on the same draws, the
    collapse check, and the decision regions of seed 0."""
    results = Results()
    per_dataset = {name: [] for name in ("net_test", "net_loss", "lr_test", "lr_loss", "collapse",
                                         "net_grid", "lr_grid", "span")}
    for dataset in config.datasets:
        sets = draws(config, dataset)
        train_sets = {k: jnp.tile(v, (len(config.rates), 1, 1)[:v.ndim])
                      for k, v in sets["train"].items()}  # value-major runs: rate, then seed
        eval_sets = {"train": train_sets, "test": {k: jnp.tile(v, (len(config.rates), 1, 1)[:v.ndim])
                                                   for k, v in sets["test"].items()}}

        def fit_model(arm, keys, rates):
            activation, init = MODELS[arm["model"]]
            net = MLPConfig(width=config.width, depth=config.depth, activation=activation, init=init)
            graphdef, state = models.mlps(2, 2, net, keys)
            return train.fit(graphdef, state, losses.cross_entropy, train_sets, config.train, keys,
                             hparams={"learning_rate": rates}, evaluate=losses.classification_metrics,
                             eval_data=eval_sets, data_axis=0, name=f"{dataset}, {arm['model']}")

        grid = grid_fit({"model": list(MODELS), "rate": config.rates}, fit_model, seed=config.seed,
                        seeds=config.seeds, vmapped="rate")
        per_dataset["net_test"].append(grid.evals("test/accuracy"))  # (model, rate, seed, step)
        per_dataset["net_loss"].append(grid.evals("train/loss"))
        span = boundaries.extent(sets["train"]["x"][0], margin=0.1)
        points = boundaries.grid(span, config.grid_size)
        lr_test, lr_loss, lr_grid = logistic_regression(sets, points)
        per_dataset["lr_test"].append(lr_test)
        per_dataset["lr_loss"].append(lr_loss)
        per_dataset["lr_grid"].append(lr_grid.reshape(config.grid_size, config.grid_size))
        per_dataset["span"].append(span)
        linear = grid.history(model="deep linear")
        per_dataset["collapse"].append(map_runs(collapse_error, linear.graphdef, linear.state,
                                                eval_sets["test"]["x"], run_axes=(0,)))
        per_dataset["net_grid"].append(np.stack([
            boundaries.class_one_probability(grid.history(model=m).graphdef,
                                             grid.history(model=m).state, span, config.grid_size)
            .reshape(len(config.rates), config.seeds, config.grid_size, config.grid_size)[:, 0]
            for m in MODELS]))  # (model, rate, G, G): seed 0 at every rate
    coords = dict(dataset=list(config.datasets), model=list(MODELS), rate=list(config.rates),
                  seed=list(range(config.seeds)), step=grid.eval_steps)
    axes = ("dataset", "model", "rate", "seed", "step")
    results.add("test_accuracy", np.stack(per_dataset["net_test"]), axes, **coords)
    results.add("train_loss", np.stack(per_dataset["net_loss"]), axes)
    results.add("logistic_test_accuracy", np.stack(per_dataset["lr_test"]), ("dataset", "seed"))
    results.add("logistic_train_loss", np.stack(per_dataset["lr_loss"]), ("dataset", "seed"))
    results.add("collapse_error", np.stack(per_dataset["collapse"]).reshape(
        len(config.datasets), len(config.rates), config.seeds), ("dataset", "rate", "seed"))
    results.add("net_boundary", np.stack(per_dataset["net_grid"]),
                ("dataset", "model", "rate", "grid_y", "grid_x"))
    results.add("logistic_boundary", np.stack(per_dataset["lr_grid"]), ("dataset", "grid_y", "grid_x"))
    results.add("span", np.array(per_dataset["span"]), ("dataset", "corner"),
                corner=["x_min", "x_max", "y_min", "y_max"])
    return results


# ------------------------------------------------------------------------------ readings

def best_rate(results: Results, dataset: str, model: str) -> int:
    """Index of the model's rate with the lowest mean final training loss on `dataset`."""
    loss = curves.final(results.sel("train_loss", dataset=dataset, model=model))  # (rate, seed)
    return selection.best_by_mean(loss, excluded=~np.isfinite(loss), mode="min")


def at_best_rate(results: Results, name: str, dataset: str, model: str) -> np.ndarray:
    """`name` (rate, seed, ...) at the model's best rate on `dataset`: (seed, ...)."""
    return results.sel(name, dataset=dataset, model=model)[best_rate(results, dataset, model)]


def test_points(results: Results, dataset: str, model: str) -> np.ndarray:
    """Final test accuracy in points (0-100) per seed; logistic regression or a net at its best rate."""
    if model == REFERENCE:
        return 100 * results.sel("logistic_test_accuracy", dataset=dataset)
    return 100 * curves.final(at_best_rate(results, "test_accuracy", dataset, model))


def error_closed(model: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per seed, the share of the reference's test error (points below 100) that `model`
    removes: (model − reference) / (100 − reference); NaN where the reference is perfect."""
    headroom = 100 - np.asarray(reference, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(headroom > 0, (np.asarray(model, np.float64) - reference) / headroom, np.nan)


def dataset_outcome(results: Results, dataset: str) -> dict:
    """The two halves of the claim on one dataset, with the convergence readings beside them."""
    reference = test_points(results, dataset, REFERENCE)
    linear_gap = stats.paired_diff_ci(test_points(results, dataset, "deep linear"), reference)
    relu_gain = stats.paired_diff_ci(test_points(results, dataset, "ReLU"), reference)
    equivalent = linear_gap.above(-EQUIVALENCE_POINTS) and linear_gap.below(EQUIVALENCE_POINTS)
    loss = {m: at_best_rate(results, "train_loss", dataset, m) for m in MODELS}
    steps = results.coords["step"]
    return {
        "holds": bool(equivalent and relu_gain.above(GAIN_POINTS)),
        "deep_linear_minus_logistic": linear_gap,
        "relu_minus_logistic": relu_gain,
        "accuracy": {m: stats.mean_ci(test_points(results, dataset, m))
                     for m in (REFERENCE, *MODELS)},
        "best_rate": {m: results.coords["rate"][best_rate(results, dataset, m)] for m in MODELS},
        "train_loss_drop_last_quarter": {m: stats.mean_ci(curves.last_quarter_drop(steps, loss[m]))
                                         for m in MODELS},
        "relu_share_of_logistic_error_closed": stats.mean_ci(error_closed(
            test_points(results, dataset, "ReLU"), reference)),
        "deep_linear_minus_logistic_train_loss": stats.paired_diff_ci(
            curves.final(loss["deep linear"]), results.sel("logistic_train_loss", dataset=dataset)),
    }


claims = ClaimBook("linear_collapse", questions="Q33, Q27")


@claims.rule("deep_linear_is_linear", kind=stats.CHECK,
             rule="every trained depth-5 identity-activation net (all datasets, rates and seeds) "
                  "equals the single affine map of its layers (product of the kernels, biases "
                  "folded through) on its test inputs: max relative error < 1e-5")
def _(results: Results, config: Config):
    error = np.asarray(results["collapse_error"], np.float64)
    worst = float(np.max(error))
    return stats.decide(worst < 1e-5, "max relative error, net vs product of its layers",
                        stats.Interval.exact(worst, int(error.size)),
                        mean=float(np.mean(error)), depth=config.depth)


@claims.rule("nonlinearity_needed",
             expected=stats.NUANCED,
             deviation="CLAIMS.md expects 'reproduced'. On circles both halves hold (ReLU − "
                       "logistic regression +48.5 [47.5, 49.6] points at seed 0, +48.4 [47.5, 49.3] "
                       "at seed 1; deep linear within 0.1 points of logistic regression). On moons "
                       "the deep linear net equals logistic regression (difference 0.00 points) and "
                       "the ReLU net reaches 99.5 %, but logistic regression already scores 88 %, so "
                       "the gain is +11.3 [10.8, 11.8] and +12.0 [11.1, 12.8] points, below 15. The "
                       "bar cannot be met on moons at any noise: scikit-learn's logistic regression "
                       "scores 88.5 / 87.8 / 86.5 / 84.7 % at noise 0 / 0.1 / 0.2 / 0.3 (16 draws "
                       "of 200/1000 points), so the most a perfect classifier could gain is 11.5-15.3 "
                       "points; at noise 0.3, the only level that leaves room, the ReLU net overfits "
                       "its 200 points and gains only +1.6 [0.7, 2.6] (review's numbers). So moons "
                       "is ceiling-limited, not a task where nonlinearity does not help: the ReLU "
                       "net closes 0.96 [0.93, 0.99] (seed 0) / 0.98 [0.97, 0.99] (seed 1) of logistic regression's test error on moons.",
             rule="per dataset (circles, moons; fresh draws per seed), final test accuracy in "
                  "points, each net at its own best rate (lowest mean final training loss): the "
                  "paired 95 % CI of deep linear − logistic regression lies within ±2 and the "
                  "paired CI of ReLU − logistic regression lies above 15. 'reproduced' if both "
                  "hold on every dataset, 'nuanced' if on some but not all, else 'not reproduced'")
def _(results: Results, config: Config):
    found = {d: dataset_outcome(results, d) for d in config.datasets}
    held = [found[d]["holds"] for d in config.datasets]
    verdict = (stats.REPRODUCED if all(held) else stats.NUANCED if any(held)
               else stats.NOT_REPRODUCED)
    first = config.datasets[0]
    return stats.outcome(verdict, f"ReLU − logistic regression test accuracy (points), {first}",
                         found[first]["relu_minus_logistic"], by_dataset=found)


# ------------------------------------------------------------------------------ figures

def plot(results: Results, config: Config) -> dict:
    """Test accuracy per model and dataset; decision regions of seed 0 per model and dataset."""
    return {"accuracy": _plot_accuracy(results, config),
            "boundaries": _plot_boundaries(results, config)}


def _plot_accuracy(results: Results, config: Config):
    fig, axes = plots.figure(width=7.0, height=3.8)
    ax = axes[0, 0]
    names = (REFERENCE, *MODELS)
    bar = 0.8 / len(names)
    for i, model in enumerate(names):
        values = np.stack([test_points(results, d, model) for d in config.datasets], axis=1)
        mean, low, high = plots.seed_band(values)
        xs = np.arange(len(config.datasets)) + (i - (len(names) - 1) / 2) * bar
        ax.bar(xs, mean, bar, color=plots.PALETTE[i], label=model,
               yerr=[mean - low, high - mean], capsize=3)
    ax.axhline(50, color="grey", linewidth=0.8, linestyle="--", label="chance")
    ax.set_xticks(range(len(config.datasets)), config.datasets)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"mean and 95 % CI over {config.seeds} seeds (fresh data per seed)")
    ax.set_ylim(0, 105)
    plots.legend_outside(ax)
    gains = {d: dataset_outcome(results, d)["relu_minus_logistic"].mean for d in config.datasets}
    gaps = {d: dataset_outcome(results, d)["deep_linear_minus_logistic"].mean for d in config.datasets}
    plots.title(fig, f"A {config.depth}-layer linear net scores like logistic regression "
                     f"(differences {', '.join(f'{d} {g:+.2f}' for d, g in gaps.items())} points);\n"
                     f"ReLU of the same shape gains "
                     f"{', '.join(f'{g:.0f} points on {d}' for d, g in gains.items())}")
    return fig


def _plot_boundaries(results: Results, config: Config):
    names = (REFERENCE, *MODELS)
    fig, axes = plots.figure(ncols=len(names), nrows=len(config.datasets), width=2.6, height=2.6)
    for r, dataset in enumerate(config.datasets):
        span = results.sel("span", dataset=dataset)
        sets = draws(config, dataset)["train"]
        for c, model in enumerate(names):
            if model == REFERENCE:
                probability = results.sel("logistic_boundary", dataset=dataset)
            else:
                probability = results.sel("net_boundary", dataset=dataset, model=model)[
                    best_rate(results, dataset, model)]
            accuracy = test_points(results, dataset, model)[0]
            regions = boundaries.draw(axes[r, c], span, probability, sets["x"][0], sets["y"][0],
                                      title=f"{model}: test {accuracy:.0f} %", point_size=6)
        axes[r, 0].set_ylabel(dataset)
    plots.legend_outside(axes[0, -1], markerscale=1.5)
    boundaries.colorbar(fig, regions, axes)
    plots.title(fig, "Seed 0: the deep linear net draws a straight line like logistic regression; "
                     "ReLU bends it")
    return fig


main(__spec__)
