"""Optimizers: momentum beats GD on ill-conditioning; Adam and Adagrad are not rotation invariant.

Also: does Adam tolerate a wider range of learning rates than SGD on a real net?

Q&A: Q11, Q15. Setup, part 1 (2-D surfaces): the quadratic f = ½ pᵀAp with curvatures L = 1
and μ = 1/κ, κ = 1000, axis-aligned and rotated 45°. The seeds are random starting points on
the unit circle in the quadratic's eigen-coordinates; the rotated problem starts from the same
points rotated with it, so each start is paired across orientations (a rotation-invariant
method then follows the rotated copy of the same path). Steps to f ≤ 1e-6·f₀ for GD at
lr = 2/(L+μ) (contraction (κ−1)/(κ+1)), heavy-ball momentum at Polyak's optimum (lr =
(2/(√L+√μ))², β = ((√κ−1)/(√κ+1))²; Goh 2017), Nesterov at lr = 1/L with β = (√κ−1)/(√κ+1),
Newton (one full step), and Adam, RMSprop, Adagrad at the learning rate of a half-decade grid
that is fastest on the axis-aligned problem (their only tuned setting; kept when the problem is
rotated, since rotation invariance means same hyperparameters, rotated problem). Part 2 (a real
net): a ReLU MLP (2 × 32) fits the first 500 MNIST-1D training examples, trained with SGD,
momentum (0.9), RMSprop, Adagrad and Adam, each over the same quarter-decade learning-rate grid
of 14 values from 1e-3 to 1.78 for 1200 steps (batch 64), the grid vmapped by `grid_fit` (one
compiled program per optimizer, all values and seeds together). An LR is usable when its final
training loss is within 0.1 ln 10 ≈ 0.23 nats of that seed's best over the grid (the target
relative to each optimizer's own best); the usable width is interpolated in log10 LR between the
last usable and the first unusable grid LR on each side (`curves.span_below`).

`adam_robust_to_lr`, re-decided twice (issue 9). First setup: width 64 on all 4000 examples,
600 steps, a one-decade grid 1e-5..10, an LR counted when its final loss ≤ ½ ln 10 (an absolute
target reached at a budget where neither best rate had converged): one grid point decided it,
−0.875 [−1.17, −0.58] decades, "not reproduced". Second setup (the ledger's fair setup): the
half-decade grid 1e-4..10, a budget at which each best rate has converged (shrunk net and data
so that it fits a minute), the target relative to each one's own best, the width counted in grid
points: −0.06 [−0.21, 0.09] decades at seeds 0 and 1, "not reproduced", recorded as a deviation.
A second review showed that verdict was set by the grid's quantisation: both optimizers sat at
three usable points for every seed. Third setup (now): the same net, data, budget and margin, a
quarter-decade grid restricted to 1e-3..1.78 (both usable ranges inside with an unusable LR
beyond each end, no grid edge usable at either seed), and the width interpolated between grid
points, so it is not quantised. Verdict: reproduced, width(Adam) − width(SGD) = +0.20 [0.15,
0.24] decades at seed 0 and +0.21 [0.15, 0.26] at seed 1 (SGD 1.24 decades, usable 0.1..1 for
every seed and 0.056 for 1 of 8 at seed 1; Adam 1.44, usable 0.0018..0.018 for every seed and
0.032 for 7 of 8; counted in quarter-decade grid points the gain is +0.22 [0.14, 0.29] and +0.19
[0.09, 0.28]). The deviation is withdrawn. The best rates have converged (loss ≤ 0.0021 nats, falling < 0.0012 nats over the
last quarter of the budget). `all_optimizers_compared` stays descriptive, each optimizer at its
own best grid LR; its old "fastest" (first evaluation, every 100 steps, below ½ ln 10, 50 times
every best loss) was a four-way tie at the first evaluation. Now: steps until the minibatch loss,
averaged over blocks of 10 steps, first reaches 0.1 nats (interpolated), near every optimizer's
best: Adam and Adagrad fit first (seed 0: Adagrad 225 [219, 231], Adam 245 [222, 277], RMSprop
261, momentum 301, SGD 390 steps; seed 1: Adam 224 [214, 237], Adagrad 225 [217, 232], SGD 281,
momentum 284, RMSprop 399: the two tie, the order of the others depends on the seeds).

Command:  python -m experiments.optimizers --profile quick
Expected: GD 3454 steps, heavy-ball ≈ 204, Newton 1 (LITERATURE.md); Adam ≈ 80 steps axis-
aligned but > 5× more rotated, Adagrad likewise; GD and Newton unchanged by the rotation (if
Adam is re-tuned for the rotated problem its slowdown shrinks to ~4×, Adagrad's stays ~20×:
reported in the claim's details, not decided; Adagrad's fixed LR, 10, is the grid's top). On the
net, Adam's usable LR range is wider than SGD's by ~0.2 decades (1.44 vs 1.24: modest, as the
ledger expects); every optimizer's best LR fits the 500 examples to ≤ 0.0021 nats (best LRs: SGD
0.56-1, momentum 0.056, RMSprop 0.0056-0.018, Adagrad 0.32, Adam 0.018), Adam and Adagrad
reaching 0.1 nats first (~225-245 steps).
Runtime: smoke ~20 s of CPU time; quick 50-84 s of CPU time (user + sys, 2 CPU cores shared with
other jobs; wall 350-450 s under load), 8 seeds; full: for a GPU (32 seeds, 20000 surface
steps, a 3 × 128 net on 4000 examples for 8000 steps, a quarter-decade grid 1e-5..10).
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from phenomena import curves, data, losses, models, plots, selection, stats, surfaces, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main
from phenomena.models import MLPConfig
from phenomena.optim import OptimizerSpec
from phenomena.results import Results
from phenomena.train import TrainConfig

ORIENTATIONS = ("axis-aligned", "rotated 45°")
SURFACE_OPTIMIZERS = ("GD", "heavy-ball", "Nesterov", "Newton", "Adam", "RMSprop", "Adagrad")
ADAPTIVE = ("Adam", "RMSprop", "Adagrad")  # tuned on a learning-rate grid (no theory step)
NET_OPTIMIZERS = {"SGD": "sgd", "momentum": "momentum", "RMSprop": "rmsprop", "Adagrad": "adagrad",
                  "Adam": "adam"}
CHANCE_LOSS = math.log(data.MNIST1D_CLASSES)
START_STREAM = 2  # random starting points draw from their own key stream
HALF_DECADES = tuple(10.0 ** (k / 2) for k in range(-6, 3))  # 1e-3 .. 10
# 1e-3 .. 1.78 a quarter decade apart: SGD's usable range (0.1 .. 1) and Adam's (0.0018 .. 0.032)
# inside, with an unusable point beyond each end (the interpolated width needs the crossing).
NET_LRS = tuple(10.0 ** (k / 4) for k in range(-12, 2))
FIT_BLOCK = 10  # minibatch losses averaged over blocks of this many steps to time the fit
NON_NEGATIVE = (0.0, np.inf)  # the range of a loss, for bounded intervals


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    kappa: float = 1000.0              # condition number L/μ of the 2-D quadratic
    tolerance: float = 1e-6            # steps until f ≤ tolerance · f₀ (a share of the start's f)
    surface_steps: int = 4000          # step budget; runs that do not get there count as the budget
    adaptive_lrs: tuple[float, ...] = HALF_DECADES  # Adam, RMSprop, Adagrad LRs tried on the quadratic
    curve_points: int = 80             # log-spaced steps kept of each f(step) curve and path
    width: int = 32                    # hidden units per layer of the MNIST-1D MLP
    depth: int = 2                     # hidden layers of the MNIST-1D MLP
    train_size: int = 500              # MNIST-1D training examples the net fits (the first ones)
    net_lrs: tuple[float, ...] = NET_LRS  # every net optimizer's LRs: 1e-3 .. 1.78, ¼ decade
    net_optimizers: tuple[str, ...] = tuple(NET_OPTIMIZERS)  # trained on the net; SGD and Adam compared
    usable_margin: float = 0.1 * CHANCE_LOSS  # an LR is usable within this many nats of its optimizer's best
    target_loss: float = 0.5 * CHANCE_LOSS  # training loss (nats) each optimizer's best LR must reach
    fit_target: float = 0.1  # nats: steps to it time each optimizer (near every best, ≤ 0.006)
    train: TrainConfig = TrainConfig(optimizer="sgd", lr=1e-2, steps=1200, batch_size=64,
                                     eval_every=100)  # the net's steps and batches (all optimizers)

    IGNORED_KEYS: ClassVar[Mapping[str, str]] = {
        "train.lr": "every net optimizer runs at every learning rate of the grid `net_lrs`",
        "train.optimizer": "the net is trained with each of `net_optimizers`"}

    def __post_init__(self):
        super().__post_init__()
        check(self.kappa > 1, f"kappa must be > 1, got {self.kappa}")
        check(0 < self.tolerance < 1, f"tolerance must be in (0, 1), got {self.tolerance}")
        check(self.surface_steps >= 10, f"surface_steps must be >= 10, got {self.surface_steps}")
        check(len(self.adaptive_lrs) >= 2 and all(lr > 0 for lr in self.adaptive_lrs),
              "adaptive_lrs needs at least two positive learning rates")
        check(self.curve_points >= 2, "curve_points must be >= 2")
        check(self.width > 0 and self.depth >= 1, "width must be positive and depth >= 1")
        check(0 < self.train_size <= 4000, f"train_size must be in (0, 4000], got {self.train_size}")
        check(len(self.net_lrs) >= 3 and all(lr > 0 for lr in self.net_lrs)
              and list(self.net_lrs) == sorted(self.net_lrs),
              "net_lrs needs at least three positive learning rates in increasing order")
        spacing = np.diff(np.log10(self.net_lrs))
        # The ledger's bound: the width is interpolated between grid points, and a coarser
        # grid would place each end of the usable range too loosely.
        check(bool(np.allclose(spacing, spacing[0])) and spacing[0] <= 0.5 + 1e-9,
              "net_lrs must be evenly spaced in log10, at most half a decade apart")
        check(set(self.net_optimizers) <= set(NET_OPTIMIZERS)
              and len(set(self.net_optimizers)) == len(self.net_optimizers)
              and {"SGD", "Adam"} <= set(self.net_optimizers),
              f"net_optimizers must be distinct names of {', '.join(NET_OPTIMIZERS)}, SGD and Adam "
              f"among them (the claim compares them); got {self.net_optimizers}")
        check(0 < self.target_loss < CHANCE_LOSS, "target_loss must be in (0, ln 10)")
        check(self.usable_margin > 0, f"usable_margin must be positive, got {self.usable_margin}")
        check(0 < self.fit_target < CHANCE_LOSS, "fit_target must be in (0, ln 10)")
        check(self.train.steps % FIT_BLOCK == 0,
              f"train.steps must be a multiple of {FIT_BLOCK} (the blocks that time the fit)")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "surface_steps": 400, "net_lrs": HALF_DECADES[2:5],
              "net_optimizers": ("SGD", "Adam"), "train.steps": 100, "train.eval_every": 50,
              "width": 10},  # width 10: the hidden kernels share the head's shape (fewer programs)
    "quick": {},
    "full": {"seeds": 32, "surface_steps": 20000, "width": 128, "depth": 3, "train_size": 4000,
             "net_lrs": tuple(10.0 ** (k / 4) for k in range(-20, 5)),  # 1e-5 .. 10
             "train.steps": 8000, "train.eval_every": 500},
}


# ---------------------------------------------------------------------------------------------
# Part 1: the κ = 1000 quadratic, axis-aligned and rotated


def _surface_optimizers(config: Config) -> dict:
    """Each optimizer's static structure and its learning-rate grid (theory: one value)."""
    largest, smallest = 1.0, 1.0 / config.kappa
    hb_lr, hb_momentum = surfaces.heavy_ball(largest, smallest)
    root_kappa = math.sqrt(config.kappa)
    adaptive = jnp.asarray(config.adaptive_lrs)
    return {
        "GD": (OptimizerSpec("sgd"), jnp.array([surfaces.gd_learning_rate(largest, smallest)])),
        "heavy-ball": (OptimizerSpec("momentum", momentum=hb_momentum), jnp.array([hb_lr])),
        "Nesterov": (OptimizerSpec("nesterov", momentum=(root_kappa - 1) / (root_kappa + 1)),
                     jnp.array([1.0 / largest])),
        "Newton": (surfaces.NEWTON, jnp.array([1.0])),
        "Adam": (OptimizerSpec("adam"), adaptive),
        "RMSprop": (OptimizerSpec("rmsprop"), adaptive),
        "Adagrad": (OptimizerSpec("adagrad"), adaptive),
    }


def _starts(config: Config) -> jax.Array:
    """One random point on the unit circle per seed, in the quadratic's eigen-coordinates."""
    key = jax.random.fold_in(jax.random.key(config.seed), START_STREAM)
    angles = jax.random.uniform(key, (config.seeds,), minval=0.0, maxval=2 * math.pi)
    return jnp.stack([jnp.cos(angles), jnp.sin(angles)], axis=-1)


def _curve_steps(config: Config) -> np.ndarray:
    """Log-spaced step indices (0 and the last included) for the stored curves and paths."""
    steps = np.unique(np.round(np.geomspace(1, config.surface_steps, config.curve_points - 1)))
    return np.concatenate([[0], steps]).astype(int)


# One program each (per shape) rather than one per array operation.
_steps_to_tolerance = jax.jit(surfaces.steps_to_tolerance, static_argnames="tol")
_grid_values = jax.jit(surfaces.grid_values)


def _quadratic_runs(config: Config) -> dict:
    """Steps to tolerance, f/f₀ curves and paths of every optimizer in both orientations."""
    optimizers = _surface_optimizers(config)
    starts = _starts(config)
    kept = _curve_steps(config)
    n_opt, n_lr = len(SURFACE_OPTIMIZERS), len(config.adaptive_lrs)
    steps = np.full((n_opt, 2, n_lr, config.seeds), np.nan)
    relative_f = np.full((n_opt, 2, n_lr, config.seeds, len(kept)), np.nan)
    paths = np.full((n_opt, 2, n_lr, config.seeds, len(kept), 2), np.nan)
    contours = []
    span = jnp.linspace(-1.2, 1.2, 121)
    for o, angle in enumerate((0.0, math.pi / 4)):
        quadratic = surfaces.Quadratic(config.kappa, angle)
        rotated_starts = starts @ quadratic.eigenbasis().T
        runs = surfaces.trajectories(quadratic, {k: v[0] for k, v in optimizers.items()},
                                     rotated_starts, config.surface_steps,
                                     {k: v[1] for k, v in optimizers.items()})
        for i, name in enumerate(SURFACE_OPTIMIZERS):
            points, values = (np.asarray(a) for a in runs[name])
            k = values.shape[0]
            steps[i, o, :k] = _steps_to_tolerance(values, values[..., 0], config.tolerance)
            relative_f[i, o, :k] = values[..., kept] / values[..., :1]
            paths[i, o, :k] = points[..., kept, :]
        contours.append(np.asarray(_grid_values(quadratic, span, span)))
    return dict(steps=steps, relative_f=relative_f, paths=paths, kept=kept,
                contours=np.stack(contours), span=np.asarray(span))


def _theory_steps(config: Config) -> dict:
    """Steps to tolerance from the contraction rates: f shrinks by the rate squared per step."""
    root_kappa = math.sqrt(config.kappa)
    rates = {"GD": (config.kappa - 1) / (config.kappa + 1),
             "heavy-ball": (root_kappa - 1) / (root_kappa + 1)}
    return {n: math.log(config.tolerance) / (2 * math.log(r)) for n, r in rates.items()}


def _fixed_lr_index(steps: np.ndarray, grid_size: int) -> np.ndarray:
    """Per optimizer, the grid index fastest on the axis-aligned problem (median over starts).

    Optimizers with a single theory learning rate have index 0. Runs that never reach the
    tolerance rank last.
    """
    index = np.zeros(steps.shape[0], dtype=int)
    for i, name in enumerate(SURFACE_OPTIMIZERS):
        if name in ADAPTIVE:
            median = np.median(np.where(np.isfinite(steps[i, 0]), steps[i, 0], np.inf), axis=-1)
            index[i] = int(np.argmin(median[:grid_size]))
    return index


# ---------------------------------------------------------------------------------------------
# Part 2: an MLP on MNIST-1D, a learning-rate grid per optimizer


def _net_grid(config: Config, splits):
    """Every net optimizer over the LR grid (the grid vmapped), from the same inits and batches."""
    model = MLPConfig(width=config.width, depth=config.depth, activation="relu", init="he_normal")
    eval_data = {"train": splits["train"]}  # the training loss, on every training example

    def fit_optimizer(arm, keys, lrs):
        label = arm["net_optimizer"]
        graphdef, state = models.mlps(data.MNIST1D_LENGTH, data.MNIST1D_CLASSES, model, keys)
        settings = dataclasses.replace(config.train, optimizer=NET_OPTIMIZERS[label])
        return train.fit(graphdef, state, losses.cross_entropy, splits["train"], settings, keys,
                         hparams={"learning_rate": lrs}, evaluate=losses.classification_metrics,
                         eval_data=eval_data, name=label)

    return grid_fit({"net_optimizer": config.net_optimizers, "net_lr": config.net_lrs},
                    fit_optimizer, seed=config.seed, seeds=config.seeds, vmapped="net_lr")


def run(config: Config) -> Results:
    """Optimizers on the rotated and axis-aligned quadratic, then on an MNIST-1D MLP."""
    quad = _quadratic_runs(config)
    fixed = _fixed_lr_index(quad["steps"], len(config.adaptive_lrs))
    chosen = np.arange(len(SURFACE_OPTIMIZERS))
    net = _net_grid(config, data.mnist1d_splits(train_size=config.train_size))

    results = Results()
    results.add("steps_to_tol", quad["steps"][chosen, :, fixed], ("optimizer", "orientation", "seed"),
                optimizer=list(SURFACE_OPTIMIZERS), orientation=list(ORIENTATIONS))
    results.add("steps_to_tol_grid", quad["steps"][[SURFACE_OPTIMIZERS.index(a) for a in ADAPTIVE]],
                ("adaptive", "orientation", "surface_lr", "seed"), adaptive=list(ADAPTIVE),
                surface_lr=list(config.adaptive_lrs))
    results.add("fixed_lr", np.array([float(_surface_optimizers(config)[n][1][fixed[i]])
                                      for i, n in enumerate(SURFACE_OPTIMIZERS)]), ("optimizer",))
    results.add("relative_f", quad["relative_f"][chosen, :, fixed],
                ("optimizer", "orientation", "seed", "step"), step=quad["kept"].tolist())
    # Paths of the first three starts only (figures); no seed axis, so they stay out of metrics.csv.
    paths = quad["paths"][chosen, :, fixed][:, :, :3]
    results.add("path", paths, ("optimizer", "orientation", "start", "step", "coordinate"))
    results.add("contour", quad["contours"], ("orientation", "grid_y", "grid_x"),
                grid_y=quad["span"].tolist(), grid_x=quad["span"].tolist())
    results.add("net_loss", net.evals("train/loss"), ("net_optimizer", "net_lr", "seed", "eval_step"),
                net_optimizer=list(config.net_optimizers), net_lr=list(config.net_lrs),
                eval_step=net.eval_steps)
    results.add("net_steps_to_fit", _steps_to_fit(net.step_metric("loss"), config),
                ("net_optimizer", "net_lr", "seed"))
    return results


def _steps_to_fit(step_loss: np.ndarray, config: Config) -> np.ndarray:
    """Steps until the minibatch loss, averaged over blocks of FIT_BLOCK steps, first reaches
    `fit_target` (interpolated between block ends; NaN if never): `(..., step)` -> `(...)`.

    The per-step loss, not the evaluations (every 100 steps, where all optimizers tied); the
    block mean keeps one lucky minibatch from counting as fitted.
    """
    blocks = step_loss.reshape(*step_loss.shape[:-1], -1, FIT_BLOCK).mean(axis=-1)
    ends = np.arange(1, blocks.shape[-1] + 1) * FIT_BLOCK
    flat = blocks.reshape(-1, blocks.shape[-1])
    return curves.steps_to_target(ends, flat, config.fit_target).reshape(blocks.shape[:-1])


# ---------------------------------------------------------------------------------------------
# Claims


def _steps(results: Results, name: str, config: Config) -> np.ndarray:
    """(orientation, seed) steps to tolerance, runs beyond the budget counted as the budget."""
    return curves.censored(results.sel("steps_to_tol", optimizer=name), config.surface_steps)


def _log_rotation_ratio(results: Results, name: str, config: Config) -> stats.Interval:
    steps = _steps(results, name, config)
    return stats.mean_ci(np.log10(np.maximum(steps[1], 1) / np.maximum(steps[0], 1)))


def _usable(final_loss: np.ndarray, margin: float) -> np.ndarray:
    """(lr, seed) whether a grid LR ends within `margin` nats of that seed's best grid LR.

    The target is relative to each optimizer's own best, so an optimizer that fits further is
    not penalized for it (nor one that fits less rewarded); a diverged run is never usable.
    """
    finite = np.isfinite(final_loss)
    best = np.min(np.where(finite, final_loss, np.inf), axis=0)
    return finite & (np.where(finite, final_loss, np.inf) <= best + margin)


def _lr_width(final_loss: np.ndarray, lrs, margin: float) -> np.ndarray:
    """Per seed, decades of LR over which the final loss is within `margin` of the seed's best.

    Interpolated in log10 LR between the last usable and the first unusable grid point on each
    side (`curves.span_below`), so the width is not a count of grid points: on a coarse grid two
    optimizers with different ranges tie at the same count.
    """
    finite = np.isfinite(final_loss)
    best = np.min(np.where(finite, final_loss, np.inf), axis=0)
    return curves.span_below(np.log10(lrs), final_loss.T, best + margin)


def _grid_point_width(final_loss: np.ndarray, lrs, margin: float) -> np.ndarray:
    """Per seed, the old count-based width: usable grid LRs × spacing (reported, not decided)."""
    spacing = float(np.mean(np.diff(np.log10(lrs))))
    return _usable(final_loss, margin).sum(axis=0) * spacing


def _best_lr_index(final_loss: np.ndarray) -> int:
    """The grid LR with the lowest mean final loss (a diverged seed makes an LR lose)."""
    return selection.best_by_mean(final_loss, excluded=~np.isfinite(final_loss))


def _final_net_loss(results: Results) -> dict[str, np.ndarray]:
    """Per net optimizer, the final training loss, (net_lr, seed)."""
    return {n: curves.final(results.sel("net_loss", net_optimizer=n))
            for n in results.coords["net_optimizer"]}


claims = ClaimBook("optimizers", questions="Q11, Q15")


@claims.rule("momentum_beats_gd_on_ill_conditioning",
             rule="κ = 1000 quadratic (axis-aligned), steps to 1e-6·f₀ with theory learning rates: "
                  "the 95 % CI over starts of log10(steps_GD / steps_heavy-ball) lies above log10 5 "
                  "(momentum needs fewer than a fifth of GD's steps)")
def _(results: Results, config: Config):
    steps = {n: _steps(results, n, config) for n in results.coords["optimizer"]}
    speedup = stats.mean_ci(np.log10(steps["GD"][0] / steps["heavy-ball"][0]))
    return stats.decide(speedup.above(math.log10(5)),
                        "log10(steps GD / steps heavy-ball), κ = 1000 axis-aligned", speedup,
                        median_steps={n: float(np.median(steps[n][0])) for n in steps},
                        theory_steps=_theory_steps(config))


@claims.rule("preconditioner_not_rotation_invariant", questions="Q15",
             rule="paired over starts, log10(steps rotated 45° / steps axis-aligned) at each "
                  "optimizer's fixed learning rate: the CI lies above log10 5 for Adam and for "
                  "Adagrad, and within ±log10 2 for GD and for Newton (runs beyond the step budget "
                  "count as the budget, which can only shrink the ratio)")
def _(results: Results, config: Config):
    names = results.coords["optimizer"]
    budget = config.surface_steps
    steps = {n: _steps(results, n, config) for n in names}
    ratios = {n: _log_rotation_ratio(results, n, config) for n in names}
    bound = math.log10(2)
    not_invariant = all(ratios[n].above(math.log10(5)) for n in ("Adam", "Adagrad"))
    invariant = all(ratios[n].above(-bound) and ratios[n].below(bound) for n in ("GD", "Newton"))
    grid = results["steps_to_tol_grid"]
    retuned = {a: float(np.log10(np.min(np.median(curves.censored(grid[i, 1], budget), -1))
                                 / np.min(np.median(curves.censored(grid[i, 0], budget), -1))))
               for i, a in enumerate(results.coords["adaptive"])}
    return stats.decide(
        not_invariant and invariant, "log10(steps rotated / axis-aligned), Adam", ratios["Adam"],
        log10_ratio=ratios,
        median_steps_axis={n: float(np.median(steps[n][0])) for n in steps},
        median_steps_rotated={n: float(np.median(steps[n][1])) for n in steps},
        fixed_lr={n: float(v) for n, v in zip(names, results["fixed_lr"])},
        log10_ratio_each_retuned_per_orientation=retuned,
        runs_beyond_budget={n: int(np.sum(~np.isfinite(results.sel("steps_to_tol", optimizer=n))))
                            for n in names},
        budget=budget)


@claims.rule("adam_robust_to_lr", questions="Q15",
             rule="MNIST-1D MLP, an LR grid at most half a decade apart (quick: a quarter decade) "
                  "with an unusable LR beyond each end of both ranges, every optimizer trained to "
                  "convergence at its best LR: per seed, an LR is usable when its final training "
                  "loss is finite and within 0.1 ln 10 nats (usable_margin) of that seed's lowest "
                  "final loss over the grid; width = decades of log10 LR over which the loss, "
                  "interpolated linearly between grid points, is usable (each end placed between "
                  "the last usable and the first unusable grid LR); the CI of the paired "
                  "difference width(Adam) − width(SGD) lies above 0")
def _(results: Results, config: Config):
    lrs = results.coords["net_lr"]
    final = _final_net_loss(results)
    widths = {n: _lr_width(final[n], lrs, config.usable_margin) for n in ("SGD", "Adam")}
    width_gain = stats.paired_diff_ci(widths["Adam"], widths["SGD"])
    usable_share = {n: np.mean(_usable(final[n], config.usable_margin), axis=-1) for n in widths}
    best = {n: _best_lr_index(final[n]) for n in widths}
    counted = {n: _grid_point_width(final[n], lrs, config.usable_margin) for n in widths}
    return stats.decide(
        width_gain.above(0), "width(Adam) − width(SGD), decades of usable LR (interpolated)",
        width_gain,
        width_decades={n: stats.mean_ci(widths[n], bounds=NON_NEGATIVE) for n in widths},
        # The count-based width the first re-decision used: quantised to the grid spacing.
        grid_point_width_gain=stats.paired_diff_ci(counted["Adam"], counted["SGD"]),
        usable_share_of_seeds={n: {f"{lr:.3g}": float(v) for lr, v in zip(lrs, usable_share[n])
                                   if v > 0} for n in widths},
        # A usable grid edge cuts the range short: the width is then a lower bound.
        grid_edges_usable={n: bool(np.any(usable_share[n][[0, -1]] > 0)) for n in widths},
        best_lr={n: lrs[best[n]] for n in widths},
        # The budget is fair when the best LR's loss no longer falls: far less than the margin.
        late_improvement_at_best_lr={
            n: float(np.nanmean(curves.last_quarter_drop(
                results.coords["eval_step"], results.sel("net_loss", net_optimizer=n)[best[n]])))
            for n in widths},
        margin=config.usable_margin)


@claims.rule("all_optimizers_compared", kind=stats.DESCRIPTIVE,
             rule="descriptive: SGD, momentum, RMSprop, Adagrad and Adam, each at the grid LR with "
                  "the lowest mean final loss; reproduced when every one's CI of final training loss "
                  "lies below the target 0.5 ln 10; how fast each fits is reported, not asserted: "
                  "steps until its minibatch loss, averaged over blocks of 10 steps, first reaches "
                  "fit_target (0.1 nats, near every optimizer's best; runs that never do count as "
                  "the budget), the fastest by mean and those whose paired CI of the difference "
                  "from it includes 0")
def _(results: Results, config: Config):
    lrs, target = results.coords["net_lr"], config.target_loss
    final = _final_net_loss(results)
    best = {n: _best_lr_index(final[n]) for n in final}
    best_final = {n: stats.mean_ci(final[n][best[n]], bounds=NON_NEGATIVE) for n in final}
    to_fit = {n: results.sel("net_steps_to_fit", net_optimizer=n)[best[n]] for n in final}
    fastest, tied = _fastest(to_fit, config.train.steps)
    worst = max(best_final, key=lambda n: best_final[n].high)
    budget = (0.0, float(config.train.steps))
    return stats.decide(
        all(best_final[n].below(target) for n in best_final),
        f"final training loss at the best LR, highest CI ({worst})", best_final[worst],
        best_lr={n: lrs[best[n]] for n in best}, final_loss=best_final,
        steps_to_fit={n: stats.mean_ci(curves.censored(v, config.train.steps), bounds=budget)
                      for n, v in to_fit.items()},
        runs_never_fitting={n: int(np.sum(~np.isfinite(v))) for n, v in to_fit.items()},
        fastest=fastest, tied_with_fastest=tied, fit_target=config.fit_target, target=target)


def _fastest(steps_to_fit: dict[str, np.ndarray], budget: int) -> tuple[str, list[str]]:
    """The optimizer with the fewest mean steps to the fit target (runs that never get there
    count as the budget), and the others whose paired CI of the difference from it includes 0."""
    steps = {n: curves.censored(v, budget) for n, v in steps_to_fit.items()}
    fastest = min(steps, key=lambda n: float(np.mean(steps[n])))
    tied = [n for n in steps if n != fastest
            and not stats.paired_diff_ci(steps[n], steps[fastest]).above(0)]
    return fastest, tied


# ---------------------------------------------------------------------------------------------
# Figures

PANELS = (("GD", "Newton"), ("heavy-ball",), ("Adam",), ("Adagrad",))  # RMSprop: bars only


def _trajectory_figure(results: Results):
    span = np.asarray(results.coords["grid_x"])
    fig, axes = plots.figure(ncols=len(PANELS), nrows=2, width=3.2, height=3.0)
    colors = {n: plots.PALETTE[i] for i, n in enumerate(results.coords["optimizer"])}
    levels = np.geomspace(1e-5, 1.0, 11)
    for row, orientation in enumerate(results.coords["orientation"]):
        contour = results.sel("contour", orientation=orientation)
        for col, names in enumerate(PANELS):
            ax = axes[row, col]
            ax.contour(span, span, contour, levels=levels, colors="grey", linewidths=0.6, alpha=0.6)
            for name in names:
                paths = results.sel("path", optimizer=name, orientation=orientation)
                path = paths[0]  # the first start; the others look alike
                ax.plot(path[:, 0], path[:, 1], color=colors[name], linewidth=1.0, marker=".",
                        markersize=2.5, label=name)
                ax.plot(*path[0], marker="o", color=colors[name], markersize=5)
            ax.plot(0, 0, marker="*", color="black", markersize=8)
            ax.set_xlim(span[0], span[-1])
            ax.set_ylim(span[0], span[-1])
            ax.set_aspect("equal")
            ax.set_xlabel("x₁")
            ax.set_ylabel("x₂")
            ax.set_title(f"{' & '.join(names)}, {orientation}", fontsize=9)
    # One legend below the panels: inside, it covered paths (they go wherever the start is).
    handles, labels = [], []
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.append(handle)
            labels.append(label)
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels))
    plots.title(fig, "Paths on the κ = 1000 quadratic (one start, o): GD, heavy-ball and Newton "
                     "rotate with the problem; Adam and Adagrad move along the axes")
    return fig


def _speed_figure(results: Results, config: Config):
    budget = config.surface_steps
    names = results.coords["optimizer"]
    fig, axes = plots.figure(ncols=3, width=4.6)
    ax = axes[0, 0]
    width = 0.38
    for o, orientation in enumerate(results.coords["orientation"]):
        values = np.array([curves.censored(results.sel("steps_to_tol", optimizer=n,
                                                       orientation=orientation), budget)
                           for n in names]).T
        mean, low, high = plots.seed_band(values, log=True)
        x = np.arange(len(names)) + (o - 0.5) * width
        ax.bar(x, mean, width, color=plots.PALETTE[o], label=orientation,
               yerr=[mean - low, high - mean], capsize=2)
    ax.axhline(budget, color="grey", linestyle=":", linewidth=1, label=f"budget ({budget})")
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(names)), names, rotation=35, ha="right")
    ax.set_ylabel("steps to f ≤ 1e-6·f₀ (geometric mean, 95 % CI)")
    ax.set_title("steps to tolerance")
    plots.legend_outside(ax)  # inside, it covered the GD and heavy-ball bars
    steps = np.asarray(results.coords["step"])
    for o, orientation in enumerate(results.coords["orientation"]):
        ax = axes[0, o + 1]
        for i, name in enumerate(names):
            curve = results.sel("relative_f", optimizer=name, orientation=orientation)
            plots.band(ax, np.maximum(steps, 0.8), np.clip(curve, 1e-30, None), label=name,
                       log=True, color=plots.PALETTE[i])
        ax.axhline(1e-6, color="grey", linestyle=":", linewidth=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(1e-12, 1e3)
        ax.set_xlabel("step (start drawn at 0.8)")
        ax.set_ylabel("f / f₀")
        ax.set_title(f"κ = 1000, {orientation}")
    plots.legend_outside(ax)  # the same colors in both panels; inside, it covered the curves
    median = {n: np.median(_steps(results, n, config), -1) for n in names}
    slowdown = {n: median[n][1] / median[n][0] for n in ("Adam", "Adagrad")}
    plots.title(fig, f"Heavy-ball needs {median['GD'][0] / median['heavy-ball'][0]:.0f}× "
                     f"fewer steps than GD; rotating 45° slows Adam {slowdown['Adam']:.0f}× "
                     f"and Adagrad {slowdown['Adagrad']:.0f}×, "
                     "GD and Newton not at all (medians)")
    return fig


def _lr_sensitivity(ax, results: Results, names, lrs, margin: float | None = None) -> None:
    """Final training loss against LR per optimizer; with `margin`, each one's usable target."""
    for k, name in enumerate(names):
        color = plots.PALETTE[results.coords["net_optimizer"].index(name)]
        final = curves.final(results.sel("net_loss", net_optimizer=name))
        # Diverged runs are NaN; drawn as missing, never as a low loss.
        plots.band(ax, lrs, final.T, label=name, color=color, marker="o", log=True)
        if margin is not None:
            best = np.min(np.where(np.isfinite(final), final, np.inf), axis=0)
            # Interleaved dashes: the targets often coincide, and both stay visible.
            ax.axhline(float(np.mean(best + margin)), color=color, linestyle=(4 * k, (4, 4)),
                       linewidth=1.2, label=f"{name}: own best + {margin:.2g} nats")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("final training cross-entropy (log)")


def _net_figure(results: Results, config: Config):
    lrs = np.asarray(results.coords["net_lr"])
    eval_steps = np.asarray(results.coords["eval_step"])
    names = results.coords["net_optimizer"]
    fig, axes = plots.figure(ncols=3, width=4.6)
    ax = axes[0, 0]
    _lr_sensitivity(ax, results, ("SGD", "Adam"), lrs, config.usable_margin)
    ax.set_title("SGD vs Adam: usable where below its own target")
    plots.legend_outside(ax)
    ax = axes[0, 1]
    _lr_sensitivity(ax, results, names, lrs)
    ax.axhline(CHANCE_LOSS, color="grey", linestyle=":", linewidth=1, label="chance ln 10")
    ax.set_title("every optimizer over the grid")
    plots.legend_outside(ax)
    ax = axes[0, 2]
    final = _final_net_loss(results)
    for i, name in enumerate(names):
        best = _best_lr_index(final[name])
        plots.band(ax, np.maximum(eval_steps, 1), results.sel("net_loss", net_optimizer=name)[best],
                   label=f"{name} (lr {lrs[best]:.2g})", color=plots.PALETTE[i], log=True)
    ax.axhline(config.target_loss, color="grey", linestyle=":", linewidth=1, label="½ ln 10")
    ax.axhline(config.fit_target, color="black", linestyle="--", linewidth=1,
               label=f"fit target {config.fit_target:g} nats")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("optimizer step (start drawn at 1)")
    ax.set_ylabel("training cross-entropy (log)")
    ax.set_title("each optimizer at its best grid LR")
    plots.legend_outside(ax)
    widths = {n: float(np.mean(_lr_width(final[n], lrs, config.usable_margin)))
              for n in ("Adam", "SGD")}
    plots.title(fig, f"MNIST-1D MLP: the usable LR range (interpolated) spans "
                     f"{widths['Adam']:.2g} decades for Adam, {widths['SGD']:.2g} for SGD "
                     "(mean over seeds)")
    return fig


def plot(results: Results, config: Config) -> dict:
    """Paths on the quadratic, steps to tolerance and f curves, the net's LR sensitivity."""
    return {"trajectories": _trajectory_figure(results),
            "quadratic_speed": _speed_figure(results, config),
            "real_net": _net_figure(results, config)}


main(__spec__)
