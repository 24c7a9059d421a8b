"""Loss landscapes: skip connections make a deep net's landscape smooth and nearly convex.

Q&A: Q18, Q21, Q71. Li et al. 2018 ("Visualizing the Loss Landscape of Neural Nets") draw
the loss around a trained solution along random *filter-normalized* directions: every filter
(for a dense layer, one unit's incoming weights) of a Gaussian direction is rescaled to the
norm of the same filter of the solution, biases and normalization parameters are not moved.
Deep plain nets give chaotic, non-convex surfaces; the same nets with skip connections give
smooth, bowl-shaped ones, with a small |λmin/λmax| of the Hessian.

Setup: two MLPs that differ only in the skips, ReLU, He init, width 32, depth 20 (the paper's
shallowest pair, ResNet-20 against plain-20), trained with Adam (lr 1e-3, batch 100) on
MNIST-1D (train.fit, all seeds in one program; both variants get the same seed keys and the
same training subset, so the comparisons are paired). Each seed draws its own random subset of
the 4000 training examples (`data.random_subsets`): 1000 in quick, with 600 steps, so its nets
are not converged (training loss ≈ 0.8 for both) and generalize poorly; full trains on all
4000 for 8000 steps.
Both use LayerNorm before every activation: the paper's nets use BatchNorm in both variants,
and without a normalization a depth-20 residual stack x + relu(Wx + b) doubles its variance
at every layer (2^19 at the output) and cannot train. LayerNorm is BatchNorm's
batch-independent analogue: the loss is then a deterministic function of the weights, so the
Hessian and the slices do not depend on batch statistics. At the solution, on the first 256 of
the seed's training examples (the training loss, as in the paper):
- the Hessian's extreme eigenvalues λmin and λmax, by Lanczos on Hessian-vector products
  (`curvature.extreme_eigenvalues`);
- 1-D slices L(θ + α d) for α in [-1, 1] along several random filter-normalized directions d
  (`slices.filter_normalized_direction`, `slices.slice_1d`), and the number of local minima
  on each sampled curve (see `count_local_minima`);
- a 2-D slice L(θ + α d₁ + β d₂) on a grid, drawn as the paper's contour plots side by side
  (first seeds only: the figure, not the claims, uses it).

Re-decided (issue 9):
- skips_smooth_landscape matches the ledger (depth 20: plain minus residual, paired, both
  |λmin/λmax| at the solution and local minima per 1-D slice must exceed 0); unchanged
  except that each seed now trains on its own subset. Reproduced at seeds 0 and 1: minima
  per slice 3.38 vs 1.00, gap 2.38 [2.06, 2.69], and 3.78 vs 1.00, gap 2.78 [2.46, 3.11];
  log10 |λmin/λmax| gap 1.08 [0.63, 1.53] and 0.66 [0.38, 0.93].
- plain_generalizes_worse is not in the ledger: labelled post-hoc. It used the first 1000
  training examples for every seed; now each seed draws its own 1000. Reproduced at seeds 0
  and 1: test error gap 0.073 [0.055, 0.090] and 0.063 [0.051, 0.075].

Command:  python -m experiments.loss_landscape --profile quick
Expected: the plain net's slices have more local minima than the residual net's (whose
slices are single bowls), and its |λmin/λmax| is larger; the plain net also generalizes worse
(Li et al., CIFAR-10 test error, plain/ResNet: 8.18/7.37 % at depth 20, 13.31/5.89 % at 56).
Measured (quick, seeds 0 and 1): 3.4-3.8 vs 1.0 local minima per slice, log10 |λmin/λmax|
-1.17/-1.61 vs -2.25/-2.27, λmax ≈ 1300-1900 vs 250-260 (the plain solution is also sharper),
test error 76 vs 69 % (training loss 0.88-0.90 vs 0.80-0.87: not converged).
Runtime: smoke 58 compiled programs (most of the compiling is the random filter-normalized
directions, one program for both nets, and the two Lanczos probes); quick 64 s CPU
(user+sys) on 2 CPU cores shared with other jobs, compilation cache warm (8 seeds), of which
most is tracing and lowering the depth-20 programs (once per variant: the skips are part of
the model's structure); the first run compiles for minutes more. Full (depth 56, width 64,
32 seeds, 51x51 contours) is for a GPU (not run yet).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from matplotlib.colors import LogNorm

from phenomena import curves, data, losses, models, plots, rng, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main, map_runs
from phenomena.models import MLPConfig
from phenomena.probes import curvature, slices
from phenomena.results import Results
from phenomena.train import TrainConfig

VARIANTS = {"plain": False, "residual": True}  # label -> skip connections
PLAIN, RESIDUAL = VARIANTS
PROBE_STREAM = 2  # each run key's stream for Lanczos starts and slice directions
SUBSET_STREAM = 3  # each run key's stream for drawing its training subset


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    width: int = 32  # hidden units per layer
    depth: int = 20  # hidden layers (each LayerNorm then ReLU; the residual net adds skips)
    train_size: int = 1000  # training examples, drawn per seed from MNIST-1D's 4000 (0 = all)
    landscape_examples: int = 256  # of each seed's subset, the ones the loss, Hessian and slices use
    lanczos_iterations: int = 30  # Lanczos steps (Hessian-vector products) per solution
    directions: int = 4  # random filter-normalized 1-D directions per solution
    slice_points: int = 41  # samples of α in [-1, 1] per 1-D slice (odd: α = 0 is sampled)
    contour_points: int = 21  # samples per axis of the 2-D slice (odd: the solution is sampled)
    contour_seeds: int = 1  # solutions per variant with a 2-D slice (figure only)
    # A local minimum must rise by this fraction of its curve's range on both sides: far above
    # float32 noise in the loss (~1e-7 relative), far below the bumps of a rough slice.
    minimum_prominence: float = 1e-3  # a slice minimum's least rise, as a fraction of the slice's range
    train: TrainConfig = TrainConfig(optimizer="adam", lr=1e-3, steps=600, batch_size=100,
                                     eval_every=200)  # Adam on the training examples

    def __post_init__(self):
        super().__post_init__()
        check(self.width > 0, f"width must be positive, got {self.width}")
        check(self.depth >= 2, f"depth must be >= 2 (skips need two hidden layers), got {self.depth}")
        check(0 <= self.train_size <= data.MNIST1D_TRAIN_SIZE,
              f"train_size must be in [0, {data.MNIST1D_TRAIN_SIZE}], got {self.train_size}")
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
    "smoke": {"seeds": 2, "width": 8, "depth": 2, "landscape_examples": 128,
              "lanczos_iterations": 5, "directions": 2, "slice_points": 11, "contour_points": 5,
              "train.steps": 100, "train.eval_every": 50},
    "quick": {},
    "full": {"seeds": 32, "depth": 56, "width": 64, "train_size": 0, "landscape_examples": 4000,
             "lanczos_iterations": 100, "directions": 8, "slice_points": 51,
             "contour_points": 51, "contour_seeds": 4, "train.steps": 8000,
             "train.eval_every": 1000},
}


def _loss_at(model, batch):
    """The training loss as a function of the parameters alone (what curvature/slices take),
    and the parameters it starts from."""
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)

    def loss(params):
        return losses.cross_entropy_loss(nnx.merge(graphdef, params, rest), batch)
    return loss, params


@functools.partial(jax.jit, static_argnums=2)
def _directions(params, keys, count: int):
    """Per run (leading axis of `params` and `keys`): `count` random filter-normalized
    directions for the 1-D slices (leading axis), and the two of the 2-D slice.

    A program of its own: the plain and residual nets have parameters of the same shapes, so
    one compiled program draws both nets' directions (the draws dominate the compile time).
    """
    def one(params, key):
        _, direction_key = jax.random.split(key)  # the other half starts Lanczos
        along = jax.vmap(lambda k: slices.filter_normalized_direction(k, params))(
            jax.random.split(direction_key, count))
        k1, k2 = jax.random.split(jax.random.fold_in(key, 1))  # apart from the 1-D directions
        return (along, slices.filter_normalized_direction(k1, params),
                slices.filter_normalized_direction(k2, params))
    return jax.vmap(one)(params, keys)


@functools.cache
def _curvature_and_slices(iterations: int, points: int):
    """`probe(model, batch, key, directions)`: (λmin, λmax) at the solution, and the 1-D
    slices (direction, α) along `directions`."""
    def probe(model, batch, key, directions):
        loss, params = _loss_at(model, batch)
        eigen_key, _ = jax.random.split(key)
        low, high = curvature.extreme_eigenvalues(loss, params, eigen_key, iterations)
        alphas = jnp.linspace(-1.0, 1.0, points)
        sliced = jax.vmap(lambda d: slices.slice_1d(loss, params, d, alphas))(directions)
        return low, high, sliced
    return probe


@functools.cache
def _contour(points: int):
    """`probe(model, batch, d1, d2)`: the loss on a (points x points) grid of the directions
    `d1` and `d2` around the solution."""
    def probe(model, batch, d1, d2):
        loss, params = _loss_at(model, batch)
        grid = jnp.linspace(-1.0, 1.0, points)
        return slices.slice_2d(loss, params, d1, d2, grid, grid)
    return probe


def _training_sets(config: Config) -> tuple[dict, dict, dict]:
    """Each seed's own training subset, the landscape batch (the first `landscape_examples` of
    it) and the test set, all with a leading run axis (`fit(..., data_axis=0)`).

    Both variants of a seed get the same subset: the comparisons stay paired.
    """
    splits = data.mnist1d_splits()
    keys = rng.seed_keys(config.seed, config.seeds)  # grid_fit's keys (part 0) as well
    subsets = data.random_subsets(splits["train"], rng.run_stream(keys, SUBSET_STREAM),
                                  config.train_size or data.MNIST1D_TRAIN_SIZE)
    batch = {k: np.asarray(v)[:, : config.landscape_examples] for k, v in subsets.items()}
    return subsets, batch, data.same_for_every_run(splits["test"], config.seeds)


def run(config: Config) -> Results:
    """Train the plain and residual nets, then measure curvature and slices at the solutions."""
    subsets, batch, test = _training_sets(config)

    def fit_variant(arm, keys, _):
        model = MLPConfig(width=config.width, depth=config.depth, activation="relu",
                          init="he_normal", norm="layer", residual=VARIANTS[arm["variant"]])
        graphdef, state = models.mlps(data.MNIST1D_LENGTH, data.MNIST1D_CLASSES, model, keys)
        return train.fit(graphdef, state, losses.cross_entropy, subsets, config.train, keys,
                         evaluate=losses.classification_metrics,
                         eval_data={"train": subsets, "test": test}, data_axis=0,
                         name=arm["variant"])

    grid = grid_fit({"variant": list(VARIANTS)}, fit_variant, seed=config.seed, seeds=config.seeds)
    results = grid.add_to(Results(), evals={"train/loss": "train_loss"})
    results.add("test_error", 1 - grid.evals("test/accuracy"), ("variant", "seed", "step"))

    # Both variants probe along the same directions: the comparisons stay paired.
    probe_keys = rng.run_stream(rng.seed_keys(config.seed, config.seeds), PROBE_STREAM)
    first = slice(0, config.contour_seeds)

    def first_runs(tree):  # the runs that also get a 2-D slice
        return jax.tree.map(lambda a: np.asarray(a)[first], tree)

    measured = {"lambda_min": [], "lambda_max": [], "slices": [], "contour": []}
    for variant in VARIANTS:
        trained = grid.history(variant=variant)
        along, d1, d2 = _directions(nnx.filter_state(trained.state, nnx.Param), probe_keys,
                                    config.directions)
        low, high, sliced = map_runs(
            _curvature_and_slices(config.lanczos_iterations, config.slice_points),
            trained.graphdef, trained.state, batch, probe_keys, along, run_axes=(0, 0, 0))
        surface = map_runs(_contour(config.contour_points), trained.graphdef,
                           first_runs(trained.state), first_runs(batch), first_runs(d1),
                           first_runs(d2), run_axes=(0, 0, 0))
        for name, value in zip(measured, (low, high, sliced, surface)):
            measured[name].append(value)
    measured = {name: np.stack(values) for name, values in measured.items()}

    results.add("lambda_min", measured["lambda_min"], ("variant", "seed"))
    results.add("lambda_max", measured["lambda_max"], ("variant", "seed"))
    results.add("slices", measured["slices"], ("variant", "seed", "direction", "alpha"),
                alpha=np.linspace(-1.0, 1.0, config.slice_points).round(6).tolist())
    grid_points = np.linspace(-1.0, 1.0, config.contour_points).round(6).tolist()
    results.add("contour", measured["contour"],
                ("variant", "contour_seed", "contour_alpha", "contour_beta"),
                contour_alpha=grid_points, contour_beta=grid_points)
    return results


def local_minima_per_slice(results: Results, config: Config) -> np.ndarray:
    """Local minima of every 1-D slice: (variant, seed, direction); NaN for non-finite curves."""
    return curves.count_local_minima(results["slices"], config.minimum_prominence)


def log_eigen_ratio(results: Results) -> np.ndarray:
    """log10 |λmin/λmax| at each solution: (variant, seed)."""
    return np.log10(np.abs(results["lambda_min"] / results["lambda_max"]))


def _by_variant(values: np.ndarray, results: Results, **bounds) -> dict:
    """The mean and 95 % interval over seeds of each variant's row of `values`."""
    return {v: stats.mean_ci(values[results.coords["variant"].index(v)], **bounds) for v in VARIANTS}


claims = ClaimBook("loss_landscape", questions="Q18, Q21, Q71")


@claims.rule("skips_smooth_landscape",
             rule="both, paired over seeds (plain minus residual, same seed keys): the 95 % CI of "
                  "the difference in log10 |λmin/λmax| at the solution (Lanczos) lies above 0, and "
                  "the CI of the difference in the mean number of local minima per 1-D "
                  "filter-normalized slice lies above 0. A local minimum is an interior sample of "
                  "the curve whose prominence (the rise to the lower of the two higher points, or "
                  "curve ends, enclosing it) exceeds 1e-3 of the curve's range; plateaus count once")
def _(results: Results, config: Config):
    plain, residual = (results.coords["variant"].index(v) for v in VARIANTS)
    ratio = log_eigen_ratio(results)
    minima = np.nanmean(local_minima_per_slice(results, config), axis=-1)  # (variant, seed)
    ratio_gap = stats.paired_diff_ci(ratio[plain], ratio[residual])
    minima_gap = stats.paired_diff_ci(minima[plain], minima[residual])
    return stats.decide(
        ratio_gap.above(0) and minima_gap.above(0),
        "mean local minima per slice, plain minus residual", minima_gap,
        log10_eigen_ratio_gap=ratio_gap,
        log10_eigen_ratio=_by_variant(ratio, results),
        minima_per_slice=_by_variant(minima, results, bounds=(0, np.inf)),
        lambda_max=_by_variant(results["lambda_max"], results),
        lambda_min=_by_variant(results["lambda_min"], results))


@claims.rule("plain_generalizes_worse", questions="Q18, Q71", post_hoc=True,
             rule="each seed trains both nets on its own random training subset; the paired 95 % CI "
                  "of test error (plain minus residual) at the end of training lies above 0 (Li et al.: 8.18 vs 7.37 % at depth 20, 13.31 vs 5.89 % at depth 56)")
def _(results: Results, config: Config):
    plain, residual = (results.coords["variant"].index(v) for v in VARIANTS)
    error = curves.final(results["test_error"])
    error_gap = stats.paired_diff_ci(error[plain], error[residual])
    return stats.decide(
        error_gap.above(0), "test error, plain minus residual", error_gap,
        test_error=_by_variant(error, results, bounds=(0, 1)),
        train_loss=_by_variant(curves.final(results["train_loss"]), results, bounds=(0, np.inf)))


def plot(results: Results, config: Config) -> dict:
    """Contours side by side, 1-D slices with seed bands, and the curvature per seed."""
    return {"contours": _plot_contours(results, config), "slices": _plot_slices(results, config),
            "curvature": _plot_curvature(results)}


def _plot_contours(results: Results, config: Config):
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
        ax.set_title(f"{variant}, depth {config.depth}")
    bar = fig.colorbar(contour, ax=axes[0].tolist(), label="training loss (cross-entropy, log scale)",
                       shrink=0.85, format="%.3g")
    bar.minorticks_off()
    plots.title(fig, "Without skips the landscape around the solution is rough; with skips it is one bowl")
    return fig


def _plot_slices(results: Results, config: Config):
    """Loss along the first random direction (band over seeds) and local minima per slice."""
    alphas = np.asarray(results.coords["alpha"])
    minima = local_minima_per_slice(results, config)
    fig, axes = plots.figure(ncols=2, width=4.6)
    ax = axes[0, 0]
    for i, variant in enumerate(results.coords["variant"]):
        losses_along = results.sel("slices", variant=variant)[:, 0]  # (seed, α), first direction
        plots.band(ax, alphas, losses_along, label=f"{variant} (mean)", log=True,
                   color=plots.PALETTE[i])
        # The mean smooths the bumps away; one seed's own curve shows them.
        ax.plot(alphas, losses_along[0], color=plots.PALETTE[i], linewidth=0.8, linestyle="--",
                label=f"{variant} (seed 0)")
    ax.set_yscale("log")
    ax.set_xlabel("α (step along a random filter-normalized direction)")
    ax.set_ylabel("training loss L(θ* + α d)")
    ax.set_title("1-D slices (mean over seeds, 95 % CI)")
    ax.set_xticks([-1.0, -0.5, 0.0, 0.5, 1.0])
    plots.legend_outside(ax)  # the residual net's rising walls fill the top of the panel
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


main(__spec__)
