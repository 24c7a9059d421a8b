"""Loss landscapes: skip connections make a deep net's landscape smooth and nearly convex.

Q&A: Q18, Q21, Q71. Li et al. 2018 ("Visualizing the Loss Landscape of Neural Nets") draw
the loss around a trained solution along random *filter-normalized* directions: every filter
(for a dense layer, one unit's incoming weights) of a Gaussian direction is rescaled to the
norm of the same filter of the solution, biases and normalization parameters are not moved.
Deep plain nets give chaotic, non-convex surfaces; the same nets with skip connections give
smooth, bowl-shaped ones, with a small |λmin/λmax| of the Hessian.

Setup: two MLPs that differ only in the skips, ReLU, He init, width 32, depth 20 (the paper's
shallowest pair, ResNet-20 against plain-20), trained with Adam (lr 1e-3, batch 100) on
MNIST-1D (train.fit, all seeds in one program; both variants get the same seed keys, so the
comparisons are paired). Quick uses the first 1000 training examples and 600 steps, so its
nets are not converged (training loss ≈ 0.85 for both) and generalize poorly; full trains on
all 4000 for 8000 steps.
Both use LayerNorm before every activation: the paper's nets use BatchNorm in both variants,
and without a normalization a depth-20 residual stack x + relu(Wx + b) doubles its variance
at every layer (2^19 at the output) and cannot train. LayerNorm is BatchNorm's
batch-independent analogue: the loss is then a deterministic function of the weights, so the
Hessian and the slices do not depend on batch statistics. At the solution, on a fixed subset of
the training examples (the training loss, as in the paper):
- the Hessian's extreme eigenvalues λmin and λmax, by Lanczos on Hessian-vector products
  (`curvature.extreme_eigenvalues`);
- 1-D slices L(θ + α d) for α in [-1, 1] along several random filter-normalized directions d
  (`slices.filter_normalized_direction`, `slices.slice_1d`), and the number of local minima
  on each sampled curve (see `count_local_minima`);
- a 2-D slice L(θ + α d₁ + β d₂) on a grid, drawn as the paper's contour plots side by side
  (first seeds only: the figure, not the claims, uses it).

Command:  python -m experiments.loss_landscape --profile quick
Expected: the plain net's slices have more local minima than the residual net's (whose
slices are single bowls), and its |λmin/λmax| is larger; the plain net also generalizes worse
(Li et al., CIFAR-10 test error, plain/ResNet: 8.18/7.37 % at depth 20, 13.31/5.89 % at 56).
Measured (quick, seed 0): 3.6 vs 1.0 local minima per slice, log10 |λmin/λmax| -1.26 vs
-2.30, λmax ≈ 1600 vs 260 (the plain solution is also sharper), test error 76 vs 67 %.
Runtime: smoke ~10 s; quick ~35 s on 2 CPU cores (8 seeds, compilation cache warm, other jobs
light), of which about two thirds is tracing and lowering the depth-20 programs (once per
variant: the skips are part of the model's structure); the first run compiles for minutes
more. Full (depth 56, width 64, 32 seeds, 51x51 contours) is for a GPU (not run yet).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from matplotlib.colors import LogNorm
from scipy.signal import find_peaks

from phenomena import curves, data, losses, models, plots, rng, stats, train
from phenomena.probes import curvature, slices
from phenomena.config import check
from phenomena.models import MLPConfig
from phenomena.results import Results
from phenomena.stats import Claim, decide
from phenomena.train import TrainConfig

VARIANTS = (("plain", False), ("residual", True))  # (label, skip connections)
PROBE_STREAM = 2  # each run key's stream for Lanczos starts and slice directions


@dataclasses.dataclass(frozen=True)
class Config:
    """Every knob of the experiment; `PROFILES` override some of them."""

    seed: int = 0
    seeds: int = 8
    width: int = 32
    depth: int = 20
    train_size: int = 1000          # training examples (the first ones of MNIST-1D; 0 = all 4000)
    landscape_examples: int = 256   # of those, the ones the loss, Hessian and slices are taken on
    lanczos_iterations: int = 30
    directions: int = 4             # random 1-D directions per solution
    slice_points: int = 41          # samples of α in [-1, 1] per 1-D slice
    contour_points: int = 21        # samples per axis of the 2-D slice
    contour_seeds: int = 1          # solutions per variant with a 2-D slice (figure only)
    # A local minimum must rise by this fraction of its curve's range on both sides: far above
    # float32 noise in the loss (~1e-7 relative), far below the bumps of a rough slice.
    minimum_prominence: float = 1e-3
    train: TrainConfig = TrainConfig(optimizer="adam", lr=1e-3, steps=600, batch_size=100,
                                     eval_every=200)

    def __post_init__(self):
        check(self.width > 0, f"width must be positive, got {self.width}")
        check(self.depth >= 2, f"depth must be >= 2 (skips need two hidden layers), got {self.depth}")
        check(self.train_size >= 0, f"train_size must be >= 0, got {self.train_size}")
        check(self.landscape_examples > 0, "landscape_examples must be positive")
        check(self.train_size == 0 or self.landscape_examples <= self.train_size,
              f"landscape_examples ({self.landscape_examples}) cannot exceed train_size ({self.train_size})")
        check(self.lanczos_iterations >= 2, "lanczos_iterations must be >= 2")
        check(self.directions >= 1, "directions must be >= 1")
        check(self.slice_points >= 5 and self.slice_points % 2 == 1,
              f"slice_points must be odd (α = 0 sampled) and >= 5, got {self.slice_points}")
        check(self.contour_points >= 3 and self.contour_points % 2 == 1,
              f"contour_points must be odd (the solution sampled) and >= 3, got {self.contour_points}")
        check(1 <= self.contour_seeds <= self.seeds,
              f"contour_seeds must be in [1, seeds={self.seeds}], got {self.contour_seeds}")
        check(0 < self.minimum_prominence < 1, "minimum_prominence must be in (0, 1)")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "depth": 4, "landscape_examples": 128, "lanczos_iterations": 5,
              "directions": 2, "slice_points": 11, "contour_points": 5, "train.steps": 100,
              "train.eval_every": 50},
    "quick": {},
    "full": {"seeds": 32, "depth": 56, "width": 64, "train_size": 0, "landscape_examples": 4000,
             "lanczos_iterations": 100, "directions": 8, "slice_points": 51,
             "contour_points": 51, "contour_seeds": 4, "train.steps": 8000,
             "train.eval_every": 1000},
}

CLAIMS = [
    Claim("loss_landscape.skips_smooth_landscape", "Q18, Q21, Q71",
          "both, paired over seeds (plain minus residual, same seed keys): the 95 % CI of the "
          "difference in log10 |λmin/λmax| at the solution (Lanczos) lies above 0, and the CI "
          "of the difference in the mean number of local minima per 1-D filter-normalized "
          "slice lies above 0. A local minimum is an interior sample of the curve whose "
          "prominence (the rise to the lower of the two higher points, or curve ends, "
          "enclosing it) exceeds 1e-3 of the curve's range; plateaus count once"),
    Claim("loss_landscape.plain_generalizes_worse", "Q18, Q71",
          "the paired 95 % CI of test error (plain minus residual) at the end of training lies "
          "above 0 (Li et al.: 8.18 vs 7.37 % at depth 20, 13.31 vs 5.89 % at depth 56)"),
]


def count_local_minima(curve: np.ndarray, prominence: float) -> int:
    """Number of local minima of a sampled curve that stand out by `prominence` x its range.

    A minimum is an interior sample whose prominence (scipy's: how far the curve must rise,
    on the lower of its two sides, before it meets a lower value or the curve's end) exceeds
    the tolerance, so float noise and tiny wiggles are not minima and a flat-bottomed valley
    counts once. Returns -1 for a curve with a non-finite value (a diverged solution).
    """
    curve = np.asarray(curve, np.float64)
    if not np.all(np.isfinite(curve)):
        return -1
    spread = float(np.ptp(curve))
    if spread == 0.0:
        return 0
    peaks, _ = find_peaks(-curve, prominence=prominence * spread)
    return int(peaks.size)


def _loss_at(graphdef, rest, batch):
    """The training loss as a function of the parameters alone (what curvature/slices take)."""
    def loss(params):
        return losses.cross_entropy_loss(nnx.merge(graphdef, params, rest), batch)
    return loss


@functools.partial(jax.jit, static_argnums=(0, 4, 5, 6))
def _probe(graphdef, state, batch, key, iterations: int, directions: int, points: int):
    """Per run: (λmin, λmax) at the solution and the 1-D slices (direction, α)."""
    def one(state, key):
        _, params, rest = nnx.split(nnx.merge(graphdef, state), nnx.Param, ...)
        loss = _loss_at(graphdef, rest, batch)
        eigen_key, direction_key = jax.random.split(key)
        low, high = curvature.extreme_eigenvalues(loss, params, eigen_key, iterations)
        alphas = jnp.linspace(-1.0, 1.0, points)
        keys = jax.random.split(direction_key, directions)
        curves = jax.vmap(lambda k: slices.slice_1d(
            loss, params, slices.filter_normalized_direction(k, params), alphas))(keys)
        return low, high, curves
    return jax.vmap(one)(state, key)


@functools.partial(jax.jit, static_argnums=(0, 4))
def _contours(graphdef, state, batch, key, points: int):
    """Per run: the loss on a (points x points) grid of two filter-normalized directions."""
    def one(state, key):
        _, params, rest = nnx.split(nnx.merge(graphdef, state), nnx.Param, ...)
        loss = _loss_at(graphdef, rest, batch)
        k1, k2 = jax.random.split(jax.random.fold_in(key, 1))  # apart from the 1-D directions
        grid = jnp.linspace(-1.0, 1.0, points)
        return slices.slice_2d(loss, params, slices.filter_normalized_direction(k1, params),
                               slices.filter_normalized_direction(k2, params), grid, grid)
    return jax.vmap(one)(state, key)


def _measure_variant(config: Config, residual: bool, label: str, splits, batch):
    """Train one variant for every seed, then probe its solutions."""
    keys = rng.seed_keys(config.seed, config.seeds)
    model = MLPConfig(width=config.width, depth=config.depth, activation="relu", init="he_normal",
                      norm="layer", residual=residual)
    graphdef, state = models.mlps(40, 10, model, keys)
    history = train.fit(graphdef, state, losses.cross_entropy, splits["train"], config.train, keys,
                        evaluate=losses.classification_metrics, eval_data=splits, name=label)
    probe_keys = rng.run_stream(keys, PROBE_STREAM)
    low, high, curves = _probe(graphdef, history.state, batch, probe_keys, config.lanczos_iterations,
                               config.directions, config.slice_points)
    first = slice(0, config.contour_seeds)
    grid = _contours(graphdef, jax.tree.map(lambda a: a[first], history.state), batch,
                     probe_keys[first], config.contour_points)
    return {
        "train_loss": history.evals["train/loss"], "test_error": 1 - history.evals["test/accuracy"],
        "lambda_min": np.asarray(low), "lambda_max": np.asarray(high),
        "slices": np.asarray(curves), "contour": np.asarray(grid), "steps": history.eval_steps,
    }


def run(config: Config) -> Results:
    """Train the plain and residual nets, then measure curvature and slices at the solutions."""
    splits = data.mnist1d_splits(train_size=config.train_size)
    batch = {k: v[: config.landscape_examples] for k, v in splits["train"].items()}
    measured = [_measure_variant(config, residual, label, splits, batch) for label, residual in VARIANTS]
    stacked = {name: np.stack([m[name] for m in measured]) for name in measured[0] if name != "steps"}

    results = Results()
    variants = [label for label, _ in VARIANTS]
    results.add("train_loss", stacked["train_loss"], ("variant", "seed", "step"),
                variant=variants, step=measured[0]["steps"].tolist())
    results.add("test_error", stacked["test_error"], ("variant", "seed", "step"))
    results.add("lambda_min", stacked["lambda_min"], ("variant", "seed"))
    results.add("lambda_max", stacked["lambda_max"], ("variant", "seed"))
    results.add("slices", stacked["slices"], ("variant", "seed", "direction", "alpha"),
                alpha=np.linspace(-1.0, 1.0, config.slice_points).round(6).tolist())
    grid = np.linspace(-1.0, 1.0, config.contour_points).round(6).tolist()
    results.add("contour", stacked["contour"], ("variant", "contour_seed", "contour_alpha", "contour_beta"),
                contour_alpha=grid, contour_beta=grid)
    results.meta["minimum_prominence"] = config.minimum_prominence
    results.meta["depth"] = config.depth
    return results


def local_minima_per_slice(results: Results) -> np.ndarray:
    """Local minima of every 1-D slice: (variant, seed, direction); NaN for non-finite curves."""
    prominence = results.meta["minimum_prominence"]
    curves = results["slices"]
    counts = np.apply_along_axis(count_local_minima, -1, curves, prominence).astype(np.float64)
    return np.where(counts < 0, np.nan, counts)


def log_eigen_ratio(results: Results) -> np.ndarray:
    """log10 |λmin/λmax| at each solution: (variant, seed)."""
    return np.log10(np.abs(results["lambda_min"] / results["lambda_max"]))


def claims(results: Results) -> list[stats.Verdict]:
    """Decide both claims from the eigenvalues, the slices and the test errors."""
    by_id = {c.id.split(".")[1]: c for c in CLAIMS}
    plain, residual = (results.coords["variant"].index(label) for label, _ in VARIANTS)
    ratio = log_eigen_ratio(results)
    minima = np.nanmean(local_minima_per_slice(results), axis=-1)  # (variant, seed)
    ratio_gap = stats.paired_diff_ci(ratio[plain], ratio[residual])
    minima_gap = stats.paired_diff_ci(minima[plain], minima[residual])
    error = results["test_error"][:, :, -1]
    error_gap = stats.paired_diff_ci(error[plain], error[residual])
    return [
        decide(by_id["skips_smooth_landscape"], ratio_gap.above(0) and minima_gap.above(0),
               "mean local minima per slice, plain minus residual", minima_gap,
               log10_eigen_ratio_gap=ratio_gap,
               log10_eigen_ratio={"plain": stats.mean_ci(ratio[plain]),
                                  "residual": stats.mean_ci(ratio[residual])},
               minima_per_slice={"plain": stats.mean_ci(minima[plain]),
                                 "residual": stats.mean_ci(minima[residual])},
               lambda_max={"plain": stats.mean_ci(results["lambda_max"][plain]),
                           "residual": stats.mean_ci(results["lambda_max"][residual])},
               lambda_min={"plain": stats.mean_ci(results["lambda_min"][plain]),
                           "residual": stats.mean_ci(results["lambda_min"][residual])}),
        decide(by_id["plain_generalizes_worse"], error_gap.above(0),
               "test error, plain minus residual", error_gap,
               test_error={"plain": stats.mean_ci(error[plain]),
                           "residual": stats.mean_ci(error[residual])},
               train_loss={"plain": stats.mean_ci(results["train_loss"][plain, :, -1]),
                           "residual": stats.mean_ci(results["train_loss"][residual, :, -1])}),
    ]


def plot(results: Results) -> dict:
    """Contours side by side, 1-D slices with seed bands, and the curvature per seed."""
    return {"contours": _plot_contours(results), "slices": _plot_slices(results),
            "curvature": _plot_curvature(results)}


def _plot_contours(results: Results):
    """The paper's figure: 2-D slices of both nets with the same contour levels."""
    grid = np.asarray(results.coords["contour_alpha"])
    surfaces = results["contour"][:, 0]  # first seed of each variant: (variant, alpha, beta)
    finite = surfaces[np.isfinite(surfaces)]
    # Log-spaced levels shared by both panels: the bowl's floor and the rim both show.
    levels = np.geomspace(max(finite.min(), 1e-4), finite.max(), 25)
    fig, axes = plots.figure(ncols=len(VARIANTS), width=4.2, height=3.9)
    for ax, variant, surface in zip(axes[0], results.coords["variant"], surfaces):
        # surface[i, j] is at (α_i, β_j): α on the x axis needs the transpose.
        contour = ax.contour(grid, grid, surface.T, levels=levels, cmap="viridis",
                             norm=LogNorm(vmin=levels[0], vmax=levels[-1]), linewidths=0.9)
        ax.plot(0, 0, marker="*", color="black", markersize=9)
        ax.set_aspect("equal")
        ax.set_xlabel("α (filter-normalized direction 1)")
        ax.set_ylabel("β (filter-normalized direction 2)")
        ax.set_title(f"{variant}, depth {results.meta['depth']}")
    bar = fig.colorbar(contour, ax=axes[0].tolist(), label="training loss (cross-entropy, log scale)",
                       shrink=0.85, format="%.3g")
    bar.minorticks_off()
    plots.title(fig, "Without skips the landscape around the solution is rough; with skips it is one bowl")
    return fig


def _plot_slices(results: Results):
    """Loss along the first random direction (band over seeds) and local minima per slice."""
    alphas = np.asarray(results.coords["alpha"])
    minima = local_minima_per_slice(results)
    fig, axes = plots.figure(ncols=2, width=4.6)
    ax = axes[0, 0]
    for i, variant in enumerate(results.coords["variant"]):
        curves = results.sel("slices", variant=variant)[:, 0]
        plots.band(ax, alphas, curves, label=f"{variant} (mean)", log=True, color=plots.PALETTE[i])
        # The mean smooths the bumps away; one seed's own curve shows them.
        ax.plot(alphas, curves[0], color=plots.PALETTE[i], linewidth=0.8, linestyle="--",
                label=f"{variant} (seed 0)")
    ax.set_yscale("log")
    ax.set_xlabel("α (step along a random filter-normalized direction)")
    ax.set_ylabel("training loss L(θ* + α d)")
    ax.set_title("1-D slices (mean over seeds, 95 % CI)")
    ax.legend(loc="upper center", ncol=2)
    ax = axes[0, 1]
    _per_seed_strip(ax, results.coords["variant"], np.nanmean(minima, axis=-1))
    ax.set_ylabel("local minima per slice")
    ax.set_ylim(bottom=0)
    ax.set_title("per seed (dots); mean and 95 % CI (bar)")
    plots.title(fig, "Slices of the plain net have extra local minima; the residual net's are single bowls")
    return fig


def _plot_curvature(results: Results):
    """|λmin/λmax| and λmax at each solution, per seed, with the mean and its 95 % CI."""
    fig, axes = plots.figure(ncols=2, width=4.2)
    ratio = 10 ** log_eigen_ratio(results)
    for ax, values, label in ((axes[0, 0], ratio, "|λmin / λmax| at the solution"),
                              (axes[0, 1], results["lambda_max"], "λmax (sharpness) at the solution")):
        _per_seed_strip(ax, results.coords["variant"], values, log=True)
        ax.set_yscale("log")
        ax.set_ylabel(label)
    axes[0, 0].set_title("negative vs positive curvature")
    axes[0, 1].set_title("largest Hessian eigenvalue")
    plots.title(fig, "At the solution the plain net has more negative curvature relative to "
                     "positive, and a sharper minimum")
    return fig


def _per_seed_strip(ax, variants, values, log: bool = False) -> None:
    """One dot per seed for each variant (rows of `values`), and the mean with its 95 % CI.

    With `log`, the mean and interval are taken of log10(values): a geometric mean.
    """
    for i, per_seed in enumerate(np.asarray(values, np.float64)):
        interval = stats.mean_ci(np.log10(per_seed) if log else per_seed)
        low, mean, high = (10 ** v if log else v for v in (interval.low, interval.mean, interval.high))
        ax.scatter(i + np.linspace(-0.15, 0.15, per_seed.size), per_seed, color=plots.PALETTE[i],
                   s=14, alpha=0.7)
        ax.errorbar(i + 0.3, mean, yerr=[[mean - low], [high - mean]], color=plots.PALETTE[i],
                    marker="o", capsize=4)
    ax.set_xticks(range(len(variants)), variants)


if __name__ == "__main__":
    import sys

    from phenomena.cli import experiment_main

    sys.exit(experiment_main(__spec__.name))
