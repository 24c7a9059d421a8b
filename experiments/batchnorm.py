"""Batch normalization: higher stable learning rates and faster training; here it also damps the gradient shift, and injected shift slows it.

Q&A: Q56. Setup: 10-layer ReLU MLPs (width 32, He init) on scikit-learn's 8x8 digits (1300
train / 497 test, one fixed split), plain SGD (batch 32, 400 steps), with and without batch
norm after every hidden linear layer, and "noisy BN" (below). Each model trains one `Sweep` of
learning rates 2^-5 ... 2^2 x seeds (one compiled program per model, paired across rates and
models: same inits, same batches); runs that go non-finite are recorded, not fatal. A run is
*stable* if it never goes non-finite and its final training loss (mean minibatch loss over the
last 20 steps) is below both its first-step loss and 0.9 ln 10. A model's largest stable rate
is the largest grid rate at which every seed is stable. The shared rate for the speed and
covariate-shift comparisons is the plain net's own largest stable rate. A 10-layer sigmoid net
(Glorot init) is trained the same way at three rates, with and without BN.

Covariate shift (re-decided; Santurkar et al. 2018). Old setup: the moments of BN's inputs on a
fixed batch (BN shifted ~9x less; a deviation), which cannot decide whether BN helps *by*
reducing shift. New setup, their two tests, rule fixed before the run: (1) *noisy BN*: after
every BN a random per-unit offset U(-1, 1) and scale log-uniform in [1/2, 2], redrawn every
step; the steps until the noise-free training loss on a fixed batch of 256 training digits
reaches 0.5 ln 10 (interpolated between evaluations every 20 steps, censored at 420) are
compared for no BN, BN and noisy BN, and the noise's shift of the pre-activations per step
(|Δμ|/σ + |Δ ln σ| between consecutive draws at the final weights) is compared with the plain
net's per 20 steps; (2) the gradient shift ||G_i - G'_i|| / ||G_i|| of each hidden layer
i >= 2, G'_i being layer i's weight gradient after the earlier layers took their SGD step on
the same batch of 32 (their Fig. 3), averaged over layers and evaluations. Reproduced if both
tests support the claim, nuanced if one does.

Regularization (re-decided). Old setup: the train-test gap at the shared rate after 400 steps,
where the plain net had not fitted (train accuracy 0.69). New setup: each net trains 800 steps
on its own per-seed random 200-digit subset (the rest of a 1000-digit pool; 300 training digits
are a fixed validation split) at rates 2^-6 ... 2^-1, and is compared at its own rate: of the
rates where every seed fits (final train accuracy >= 0.99), the best by validation accuracy.

Command:  python -m experiments.batchnorm --profile quick
Expected: with BN the largest stable rate is >= 4x higher (Ioffe & Szegedy 2015 trained
Inception at 5x and 30x the rate; measured 2 vs 0.0625-0.125, 16-32x); at the shared rate BN
reaches loss 0.5 ln 10 in fewer steps; the sigmoid net stays at chance (2.31) without BN and
trains with it (0.27). Regularization: fitted on 200 digits, both nets reach train accuracy 1.00 and BN's gap
(train - test accuracy) is smaller by 0.034 [0.004, 0.064] at seed 0 (gaps 0.121 vs 0.087, plain
rate 0.0625, BN 0.125: 'nuanced', as the ledger expects) and by 0.074 [0.054, 0.093] at seed 1
(plain rate 0.03125, BN 0.5: 'reproduced'), with each net's rate chosen among those where the
seeds' mean train accuracy reaches 0.99 (a worst-seed cutoff let one seed 3 errors short decide
the rate; a review with 16 seeds found +0.010 to +0.030 under it): a 1-7 point effect around
the rule's 2-point band, so the verdict depends on the seed. Covariate shift: CLAIMS.md expects 'reproduced'; measured, both
tests go against the claim ('not reproduced', a recorded deviation): noisy BN needs 6.8x [6.0, 7.7] the
steps of BN at seed 0 (370 vs 54; the plain net 106) and 6.6x [5.7, 7.6] at seed 1 (208 vs 32;
plain 204), though it keeps BN's stability up to rate 2; and BN keeps only 0.73 [0.67, 0.80] of
the plain net's relative gradient shift at seed 0 (0.80 [0.72, 0.90] at seed 1; the absolute
shift halves, the cosine of G_i and G'_i rises from ~0.2 to ~0.5). The verdict interval is that
ratio, log10: -0.135 [-0.171, -0.099] at seed 0, -0.095 [-0.144, -0.047] at seed 1.
Runtime: smoke ~50 s of CPU time, mostly compiling; quick 243 s wall on 2 CPU cores shared with
other jobs (load ~25), 71 s of CPU time with compilation cached (~160 s cold), 8 seeds; full (32 seeds, width 128,
2000 steps, rates 2^-7 ... 2^6) is sized for one GPU and was not run.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from phenomena import curves, data, losses, models, plots, rng, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main, map_runs
from phenomena.models import MLPConfig
from phenomena.probes.covariate_shift import (gradient_shift, moment_shift, noisy_cross_entropy,
                                              preact_moments)
from phenomena.results import Results
from phenomena.train import TrainConfig

CHANCE_LOSS = math.log(data.DIGITS_CLASSES)
STABLE_BELOW = 0.9 * CHANCE_LOSS   # a stable run ends below this (and below its first loss)
TARGET_LOSS = 0.5 * CHANCE_LOSS    # "converged": steps until the training loss gets here
TRAINS_BELOW = 0.5 * CHANCE_LOSS   # the sigmoid net "trains" if it ends below this
NEAR_CHANCE = 0.9 * CHANCE_LOSS    # ... and "stays near chance" if it ends above this
GAP_BAND = 0.02                    # |gap change| under 2 accuracy points counts as small
FITS_ABOVE = 0.99                  # a net "fits" its training subset at this train accuracy
SHIFT_FACTOR = 2.0                 # "more shift" means at least twice as much
AS_FAST = 1.25                     # "about as fast": at most 25 % more steps to the target
NOT_REDUCED = 0.8                  # BN "does not reduce" the gradient shift: keeps >= 80 % of it
# The compared ReLU models: label -> (normalization, shift noise after every normalization).
MODELS = {"no BN": ("none", False), "BN": ("batch", False), "noisy BN": ("batch", True)}
PLAIN, WITH_BN, NOISY_BN = MODELS
NORMS = {PLAIN: "none", WITH_BN: "batch"}  # the sigmoid sweep and the regularization test
SEED_PART = 1   # the seed keys' family (`rng.seed_keys`), as in the first version
SPLIT_SEED = 0  # one fixed train/test split of the digits for every seed and profile
VAL_SPLIT_SEED = 1  # one fixed validation split of the training digits (regularization test)
SUBSET_STREAM = 2  # each seed's training subset of the regularization test (`rng.run_stream`)
NOISE_STREAM = 3   # the noise draws that measure the noisy net's layer-input shift


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    width: int = 32  # hidden units per layer
    depth: int = 10  # hidden layers (each linear, then BN in the BN nets, then the activation)
    test_size: int = 497  # digits held out for test (of 1797; the rest, 1300, train)
    probe_size: int = 256  # fixed training examples the training loss and layer moments are measured on
    lrs: tuple[float, ...] = tuple(2.0**k for k in range(-5, 3))  # SGD rates of the ReLU sweep (BN fails above 2)
    sigmoid_lrs: tuple[float, ...] = (0.125, 1.0, 8.0)  # SGD rates of the sigmoid sweep
    train: TrainConfig = TrainConfig(optimizer="sgd", lr=0.1, steps=400, batch_size=32,
                                     eval_every=20)  # plain SGD; the rates are the sweeps'
    noise_mean: float = 1.0  # noisy BN: each unit's offset, redrawn every step, is U(-noise_mean, noise_mean)
    noise_scale: float = 2.0  # noisy BN: each unit's scale, redrawn every step, is log-uniform in [1/this, this]
    noise_draws: int = 8  # consecutive noise draws over which the noisy net's layer-input shift is measured
    ics_size: int = 32  # probe examples the gradient-based covariate shift is measured on (one training batch)
    reg_train_size: int = 200  # regularization test: training digits per seed (a random subset of the pool)
    reg_val_size: int = 300  # regularization test: training digits held out to choose each model's rate
    reg_lrs: tuple[float, ...] = tuple(2.0**k for k in range(-6, 0))  # regularization test: SGD rates
    reg_train: TrainConfig = TrainConfig(optimizer="sgd", lr=0.1, steps=800, batch_size=32,
                                         eval_every=200)  # regularization test: long enough to fit

    IGNORED_KEYS: ClassVar[Mapping[str, str]] = {
        "train.lr": "every run's rate comes from the sweeps `lrs` and `sigmoid_lrs`",
        "reg_train.lr": "every run's rate comes from the sweep `reg_lrs`"}

    def __post_init__(self):
        super().__post_init__()
        check(self.width > 0 and self.depth >= 2, "width must be positive and depth >= 2")
        check(0 < self.test_size < data.DIGITS_SIZE - self.probe_size,
              f"test_size must leave at least probe_size digits for training, got {self.test_size}")
        check(0 < self.ics_size <= self.probe_size,
              f"probe_size must be positive and ics_size in [1, probe_size], got {self.probe_size}, {self.ics_size}")
        for name in ("lrs", "reg_lrs"):
            lrs = getattr(self, name)
            check(len(lrs) >= 2 and all(lr > 0 for lr in lrs) and list(lrs) == sorted(set(lrs)),
                  f"{name} needs at least two positive, increasing rates, got {lrs}")
        check(len(self.lrs) >= 3, f"lrs needs at least three rates, got {self.lrs}")
        check(len(self.sigmoid_lrs) >= 1 and all(lr > 0 for lr in self.sigmoid_lrs),
              f"sigmoid_lrs needs positive rates, got {self.sigmoid_lrs}")
        check(self.train.steps // self.train.eval_every >= 3,
              "train.steps must hold at least three evaluation intervals")
        check(self.noise_mean >= 0 and self.noise_scale >= 1,
              f"noise_mean must be >= 0 and noise_scale >= 1, got {self.noise_mean}, {self.noise_scale}")
        check(self.noise_draws >= 2, f"noise_draws must be >= 2, got {self.noise_draws}")
        pool = data.DIGITS_SIZE - self.test_size - self.reg_val_size
        check(self.reg_val_size > 0 and 0 < self.reg_train_size <= pool,
              f"reg_train_size must be in [1, {pool}] (the training digits less reg_val_size), "
              f"got {self.reg_train_size}")


CONFIG = Config()
PROFILES = {
    # As many sigmoid rates as ReLU rates: the same run count shares the init's programs.
    "smoke": {"seeds": 2, "width": 8, "depth": 2, "lrs": (0.0625, 1.0, 16.0), "train.steps": 60,
              "ics_size": 16, "noise_draws": 2, "reg_train_size": 50, "reg_lrs": (0.25, 1.0),
              "reg_train.steps": 60, "reg_train.eval_every": 60},
    "quick": {},
    "full": {"seeds": 32, "width": 128, "lrs": tuple(2.0**k for k in range(-7, 7)),
             "sigmoid_lrs": (0.03, 0.125, 0.5, 2.0, 8.0), "train.steps": 2000,
             "reg_lrs": tuple(2.0**k for k in range(-6, 2)), "reg_train.steps": 4000,
             "reg_train.eval_every": 500},
}


# ---------------------------------------------------------------- training

def _probe(model, probe) -> dict:
    """The evaluate hook of the ReLU sweep, on a fixed batch of training digits.

    The training loss without noise, each layer's pre-activation moments (batch norm with batch
    statistics, as in a training step; `fit` hands this hook a copy of the model, so the carried
    running statistics are untouched) and the gradient-based covariate shift at the run's rate.
    """
    shift = gradient_shift(model, probe["ics"], probe["lr"])
    return {**_probe_without_gradient_shift(model, probe), "grad_shift": shift["relative"],
            "grad_shift_absolute": shift["absolute"], "grad_shift_cosine": shift["cosine"]}


def _probe_without_gradient_shift(model, probe) -> dict:
    """`_probe` for the noisy BN net, whose gradient shift the claim does not need (NaN):
    the loss and the moments only, at a third of the cost."""
    loss, _ = losses.cross_entropy(model, probe, train=True)
    means, stds = preact_moments(model, probe["x"])
    skipped = jnp.full((len(model.hidden) - 1,), jnp.nan)
    return {"probe_loss": loss, "preact_mean": means, "preact_std": stds, "grad_shift": skipped,
            "grad_shift_absolute": skipped, "grad_shift_cosine": skipped}


def _model_config(config: Config, activation: str, init: str, norm: str) -> MLPConfig:
    return MLPConfig(width=config.width, depth=config.depth, activation=activation, init=init,
                     norm=norm)


def _relu_sweep(config: Config, splits):
    """Train the three ReLU models over `lrs` x seeds, one program per model, with probes."""
    runs = len(config.lrs) * config.seeds
    per_run = data.same_for_every_run  # the probe carries each run's rate, so data is per run
    probe = {**per_run(splits["probe"], runs),
             "ics": per_run({k: v[: config.ics_size] for k, v in splits["probe"].items()}, runs)}
    train_data = per_run(splits["train"], runs)

    def fit_model(arm, keys, rates):
        norm, noisy = MODELS[arm["model"]]
        loss = noisy_cross_entropy(config.noise_mean, config.noise_scale) if noisy else losses.cross_entropy
        graphdef, state = models.mlps(data.DIGITS_PIXELS, data.DIGITS_CLASSES,
                                      _model_config(config, "relu", "he_normal", norm), keys)
        return train.fit(graphdef, state, loss, train_data, config.train, keys,
                         hparams={"learning_rate": rates},
                         evaluate=_probe_without_gradient_shift if noisy else _probe,
                         eval_data={**probe, "lr": jnp.asarray(rates)}, data_axis=0,
                         name=f"relu {arm['model']}")

    return grid_fit({"model": list(MODELS), "lr": config.lrs}, fit_model, seed=config.seed,
                    seeds=config.seeds, part=SEED_PART, vmapped="lr")


def _sigmoid_sweep(config: Config, splits):
    """Train the sigmoid nets (no BN, BN) over `sigmoid_lrs` x seeds, one program per model."""
    def fit_model(arm, keys, rates):
        norm = NORMS[arm["net"]]
        graphdef, state = models.mlps(data.DIGITS_PIXELS, data.DIGITS_CLASSES,
                                      _model_config(config, "sigmoid", "glorot_normal", norm), keys)
        return train.fit(graphdef, state, losses.cross_entropy, splits["train"], config.train,
                         keys, hparams={"learning_rate": rates}, name=f"sigmoid {norm}")

    return grid_fit({"net": list(NORMS), "lr": config.sigmoid_lrs}, fit_model, seed=config.seed,
                    seeds=config.seeds, part=SEED_PART, vmapped="lr")


def _noise_moments(model, x, keys, noise_mean, noise_scale):
    """Pre-activation moments of one trained net under each of `keys`' noise draws (one per step)."""
    # A loop, not a vmap: batch norm in training mode writes its running statistics.
    draws = [preact_moments(model, x, noise_key=keys[j], noise_mean=noise_mean,
                            noise_scale=noise_scale) for j in range(keys.shape[0])]
    return jnp.stack([d[0] for d in draws]), jnp.stack([d[1] for d in draws])


def _noise_shift(relu, config: Config, probe) -> np.ndarray:
    """(lr, seed, layer): the noisy net's pre-activation shift from one step's noise draw to the
    next, at its final weights (the noise alone; its weights move too)."""
    trained = relu.history(model=NOISY_BN)
    keys = rng.run_stream(rng.seed_keys(config.seed, config.noise_draws, SEED_PART), NOISE_STREAM)
    means, stds = map_runs(_noise_moments, trained.graphdef, trained.state, probe["x"], keys,
                           config.noise_mean, config.noise_scale)
    shift = moment_shift(means, stds)["shift"].mean(axis=-2)  # over consecutive draws
    shift = np.where((trained.diverged_at >= 0)[:, None], np.nan, shift)
    return shift.reshape(len(config.lrs), config.seeds, -1)


def _accuracies(model, train_set, val, test):
    """Train, validation and test accuracy of one final net, in evaluation mode."""
    metrics = losses.classification_metrics(model, {"train": train_set, "val": val, "test": test})
    return metrics["train/accuracy"], metrics["val/accuracy"], metrics["test/accuracy"]


def _regularization_sweep(config: Config, splits) -> np.ndarray:
    """(model, train/val/test, reg_lr, seed) final accuracies of nets trained on per-seed subsets.

    The training digits less a fixed validation split are the pool; every seed draws its own
    `reg_train_size` subset (shared by both models and all rates: paired comparisons).
    """
    pool, val = data.split_validation(splits["train"], jax.random.key(VAL_SPLIT_SEED),
                                      config.reg_val_size)
    # The runs' keys as `grid_fit` hands them out (value-major): one subset per seed, every rate.
    run_keys = jnp.tile(rng.seed_keys(config.seed, config.seeds, SEED_PART), len(config.reg_lrs))
    subsets = data.random_subsets(pool, rng.run_stream(run_keys, SUBSET_STREAM), config.reg_train_size)

    def fit_model(arm, keys, rates):
        graphdef, state = models.mlps(data.DIGITS_PIXELS, data.DIGITS_CLASSES,
                                      _model_config(config, "relu", "he_normal", NORMS[arm["net"]]), keys)
        return train.fit(graphdef, state, losses.cross_entropy, subsets, config.reg_train, keys,
                         hparams={"learning_rate": rates}, data_axis=0, name=f"subset {arm['net']}")

    grid = grid_fit({"net": list(NORMS), "lr": config.reg_lrs}, fit_model, seed=config.seed,
                    seeds=config.seeds, part=SEED_PART, vmapped="lr")
    accuracies = []
    for net in NORMS:
        trained = grid.history(net=net)
        per_run = map_runs(_accuracies, trained.graphdef, trained.state, subsets, val,
                           splits["test"], run_axes=(0, None, None))
        accuracies.append([np.asarray(a).reshape(len(config.reg_lrs), config.seeds) for a in per_run])
    accuracies = np.asarray(accuracies, np.float64)
    # A diverged run's state is its last finite one, not a trained net: no accuracy.
    return np.where(grid.diverged_at()[:, None] >= 0, np.nan, accuracies)


def _interval_losses(grid, eval_every: int) -> np.ndarray:
    """Mean minibatch loss over each evaluation interval: (model, lr, seed, interval)."""
    loss = grid.step_metric("loss")
    return loss.reshape(*loss.shape[:-1], -1, eval_every).mean(axis=-1)


def run(config: Config) -> Results:
    """Sweep rates with and without BN (ReLU, noisy BN, sigmoid), then the regularization test."""
    splits = data.digits_splits(config.test_size, SPLIT_SEED)
    splits["probe"] = {k: v[: config.probe_size] for k, v in splits["train"].items()}
    relu = _relu_sweep(config, splits)
    shift = moment_shift(relu.evals("preact_mean"), relu.evals("preact_std"))["shift"]
    grad_shift = relu.evals("grad_shift")[..., 1:, :]  # records after the initialization

    results = Results()
    coords = {"model": list(MODELS), "lr": list(config.lrs)}
    arms = ("model", "lr", "seed")
    interval_loss = _interval_losses(relu, config.train.eval_every)
    results.add("interval_loss", interval_loss, (*arms, "step"), step=relu.eval_steps[1:], **coords)
    results.add("first_loss", relu.step_metric("loss")[..., 0], arms)
    results.add("diverged_at", relu.diverged_at(), arms)
    results.add("probe_loss", relu.evals("probe_loss"), (*arms, "eval_step"),
                eval_step=relu.eval_steps)
    results.add("shift", shift.mean(axis=-1), (*arms, "step"))  # over layers
    layers = list(range(1, config.depth + 1))
    results.add("shift_by_layer", shift.mean(axis=-2), (*arms, "layer"), layer=layers)  # over records
    results.add("noise_shift", _noise_shift(relu, config, splits["probe"]), ("lr", "seed", "layer"))
    results.add("grad_shift", grad_shift.mean(axis=-2), (*arms, "grad_layer"),  # over records
                grad_layer=layers[1:])
    for name in ("grad_shift_absolute", "grad_shift_cosine"):
        results.add(name, relu.evals(name)[..., 1:, :].mean(axis=-2), (*arms, "grad_layer"))
    sigmoid = _sigmoid_sweep(config, splits)
    results.add("sigmoid_interval_loss", _interval_losses(sigmoid, config.train.eval_every),
                ("net", "sigmoid_lr", "seed", "step"), net=list(NORMS),
                sigmoid_lr=list(config.sigmoid_lrs))
    accuracies = _regularization_sweep(config, splits)
    for i, split in enumerate(("train", "val", "test")):
        results.add(f"reg_{split}_accuracy", accuracies[:, i], ("net", "reg_lr", "seed"),
                    reg_lr=list(config.reg_lrs))
    return results


# ---------------------------------------------------------------- decisions

def stable_runs(results: Results) -> np.ndarray:
    """(model, lr, seed) booleans: finite throughout, and the final loss below its first and 0.9 ln 10."""
    final = curves.final(results["interval_loss"])
    first = results["first_loss"]
    return ((results["diverged_at"] < 0) & np.isfinite(final)
            & (final < first) & (final < STABLE_BELOW))


def largest_stable_lr(stable: np.ndarray, lrs) -> np.ndarray:
    """Largest rate whose entry of `stable` (..., lr) is true; half the smallest rate if none is."""
    lrs = np.asarray(lrs, np.float64)
    chosen = np.where(stable, lrs, 0.0).max(axis=-1)
    return np.where(chosen > 0, chosen, lrs[0] / 2)


def steps_to_target(interval_loss: np.ndarray, steps, eval_every: int) -> np.ndarray:
    """First evaluation step whose interval's mean loss is <= TARGET_LOSS; steps + one interval if never."""
    reached = curves.first_step_reaching(steps, interval_loss, TARGET_LOSS, mode="min")
    return curves.censored(reached, steps[-1] + eval_every)


def shared_lr(results: Results) -> float:
    """The plain net's largest rate at which all its seeds are stable."""
    all_seeds = stable_runs(results).all(axis=-1)  # (model, lr)
    plain = results.coords["model"].index(PLAIN)
    return float(largest_stable_lr(all_seeds[plain], results.coords["lr"]))


def _grid_shared_lr(results: Results) -> float:
    """The shared rate, or the smallest grid rate when the plain net is stable at none."""
    lr = shared_lr(results)
    return lr if lr in results.coords["lr"] else results.coords["lr"][0]


def _at_shared_lr(results: Results, name: str, model: str) -> np.ndarray:
    return results.sel(name, model=model, lr=_grid_shared_lr(results))


def _sigmoid_best(results: Results, net: str):
    """The sigmoid net's final training loss at its best rate (lowest mean), and that rate."""
    finals = curves.final(results.sel("sigmoid_interval_loss", net=net))  # (lr, seed)
    with np.errstate(invalid="ignore"):
        means = np.array([np.nanmean(f) if np.isfinite(f).any() else np.inf for f in finals])
    best = int(np.argmin(means))
    return stats.mean_ci(finals[best], bounds=(0, np.inf)), results.coords["sigmoid_lr"][best]


def _steps_at_shared_lr(results: Results, config: Config) -> dict[str, np.ndarray]:
    """Steps to the target loss per seed, at the shared rate, per model."""
    return {m: steps_to_target(_at_shared_lr(results, "interval_loss", m), results.coords["step"],
                               config.train.eval_every) for m in results.coords["model"]}


def _mean_steps_by_lr(results: Results, eval_every: int) -> dict:
    """Mean steps to the target at every rate, per model (context for the shared-rate choice)."""
    return {m: {lr: float(np.mean(steps_to_target(results.sel("interval_loss", model=m, lr=lr),
                                                  results.coords["step"], eval_every)))
                for lr in results.coords["lr"]}
            for m in results.coords["model"]}


def _three_way(interval: stats.Interval, high: float, low: float) -> str:
    if interval.above(high):
        return stats.REPRODUCED
    if interval.below(low):
        return stats.NOT_REPRODUCED
    return stats.NUANCED


claims = ClaimBook("batchnorm", questions="Q56")


@claims.rule("bn_allows_higher_lr",
             rule="the largest grid rate at which all seeds are stable is >= 4x higher with BN, and "
                  "the 95 % CI over seeds of log2(largest stable rate with BN / without), per seed, "
                  "lies above 1")
def _(results: Results, config: Config):
    lrs = results.coords["lr"]
    plain, bn = (results.coords["model"].index(m) for m in (PLAIN, WITH_BN))
    stable = stable_runs(results)
    all_seeds = largest_stable_lr(stable.all(axis=-1), lrs)              # (model,)
    per_seed = largest_stable_lr(np.moveaxis(stable, 1, -1), lrs)         # (model, seed)
    log2_ratio = stats.mean_ci(np.log2(per_seed[bn] / per_seed[plain]))
    ratio = all_seeds[bn] / all_seeds[plain]
    return stats.decide(
        bool(ratio >= 4 and log2_ratio.above(1)),
        "log2(largest stable rate with BN / without), per seed", log2_ratio,
        largest_stable_lr_all_seeds={PLAIN: all_seeds[plain], WITH_BN: all_seeds[bn]},
        ratio_all_seeds=ratio,
        stable_fraction_by_lr={m: dict(zip(lrs, stable[i].mean(axis=-1)))
                               for i, m in enumerate(results.coords["model"])})


@claims.rule("bn_converges_faster",
             rule="at the shared rate (the plain net's largest stable rate): the paired CI of steps "
                  "to training loss 0.5 ln 10 without BN minus with BN lies above 0 (a run that "
                  "never gets there counts as steps + one interval)")
def _(results: Results, config: Config):
    lr = shared_lr(results)
    steps = _steps_at_shared_lr(results, config)
    faster = stats.paired_diff_ci(steps[PLAIN], steps[WITH_BN])
    last = results.coords["step"][-1]
    return stats.decide(
        faster.above(0), f"steps to loss 0.5 ln 10 without BN - with BN, at rate {lr:g}", faster,
        shared_lr=lr, steps_no_bn=stats.mean_ci(steps[PLAIN], bounds=(0, np.inf)),
        steps_bn=stats.mean_ci(steps[WITH_BN], bounds=(0, np.inf)),
        never_reached={m: int(np.sum(steps[m] > last)) for m in NORMS},
        mean_steps_by_lr=_mean_steps_by_lr(results, config.train.eval_every))


@claims.rule("bn_rescues_sigmoid",
             rule="10-layer sigmoid nets, each at its best rate of the sigmoid grid: the CI of the "
                  "final training loss lies above 0.9 ln 10 without BN and below 0.5 ln 10 with BN")
def _(results: Results, config: Config):
    plain, plain_lr = _sigmoid_best(results, PLAIN)
    bn, bn_lr = _sigmoid_best(results, WITH_BN)
    return stats.decide(
        plain.above(NEAR_CHANCE) and bn.below(TRAINS_BELOW),
        f"final training loss, sigmoid without BN (rate {plain_lr:g})", plain,
        sigmoid_bn=bn, sigmoid_bn_lr=bn_lr, chance_loss=CHANCE_LOSS)


def regularization_choice(results: Results, net: str) -> tuple[float, bool]:
    """A net's rate for the regularization test, and whether it fits there.

    Among the rates at which the nets fit their training subsets (no seed diverged, mean final
    train accuracy over seeds >= FITS_ABOVE), the one with the best mean validation accuracy;
    if there is none, the rate with the best mean train accuracy (then the nets are not
    compared at matched fit). The mean, not the worst seed: an independent review found that
    one seed at 3 errors of 200 (0.985, BN's accuracy read in evaluation mode) ruled out each
    of BN's good rates in turn, so one example decided the rate and flipped the statistic.
    """
    lrs = results.coords["reg_lr"]
    train_acc = results.sel("reg_train_accuracy", net=net)  # (lr, seed); NaN if diverged
    val_acc = results.sel("reg_val_accuracy", net=net)
    with np.errstate(invalid="ignore"):
        # False where a seed diverged (NaN): a diverged rate never counts as fitting.
        fits = np.all(np.isfinite(train_acc), axis=-1) & (np.mean(train_acc, axis=-1) >= FITS_ABOVE)
        score = np.where(fits, np.nanmean(val_acc, axis=-1), -np.inf)
        if not fits.any():
            score = np.where(np.isfinite(train_acc).any(axis=-1), np.nanmean(train_acc, axis=-1), -np.inf)
    return lrs[int(np.argmax(score))], bool(fits.any())


def _regularization_gaps(results: Results) -> dict:
    """Per net: its chosen rate, whether it fits there, and train / test accuracy and gap per seed."""
    out = {}
    for net in NORMS:
        lr, fits = regularization_choice(results, net)
        train_acc = results.sel("reg_train_accuracy", net=net, reg_lr=lr)
        test_acc = results.sel("reg_test_accuracy", net=net, reg_lr=lr)
        out[net] = {"lr": lr, "fits": fits, "train": train_acc, "test": test_acc,
                    "gap": train_acc - test_acc}
    return out


@claims.rule("bn_regularizes", literature=stats.NUANCED,
             rule="each net trained on its own per-seed 200-digit subset until it fits, at its own "
                  "rate (of those where every seed ends at train accuracy >= 0.99, the best by "
                  "validation accuracy): the paired CI of gap(no BN) - gap(BN), gap = train - "
                  "test accuracy at the last step: 'reproduced' if it lies above +0.02 (BN shrinks "
                  "the gap), 'not reproduced' if it lies below -0.02, 'nuanced' otherwise (small "
                  "or indistinct)")
def _(results: Results, config: Config):
    arms = _regularization_gaps(results)
    gap_change = stats.paired_diff_ci(arms[PLAIN]["gap"], arms[WITH_BN]["gap"])
    rates = ", ".join(f"{net} {arm['lr']:g}" for net, arm in arms.items())
    details = {"matched_fit": all(arm["fits"] for arm in arms.values())}
    for net, arm in arms.items():
        tag = net.replace(" ", "_")
        details[f"lr_{tag}"] = arm["lr"]
        details[f"gap_{tag}"] = stats.mean_ci(arm["gap"], bounds=(-1, 1))
        details[f"train_accuracy_{tag}"] = stats.mean_ci(arm["train"], bounds=(0, 1))
        details[f"test_accuracy_{tag}"] = stats.mean_ci(arm["test"], bounds=(0, 1))
    return stats.outcome(_three_way(gap_change, GAP_BAND, -GAP_BAND),
                         f"gap(no BN) - gap(BN), accuracy, fitted nets at rates {rates}",
                         gap_change, **details)


def _probe_steps(results: Results, config: Config, model: str) -> np.ndarray:
    """Steps (interpolated) until the noise-free probe loss reaches the target, at the shared
    rate, per seed; a run that never does counts as steps + one interval."""
    curve = _at_shared_lr(results, "probe_loss", model)
    reached = curves.steps_to_target(results.coords["eval_step"], curve, TARGET_LOSS)
    return curves.censored(reached, results.coords["eval_step"][-1] + config.train.eval_every)


def noisy_bn_test(results: Results, config: Config) -> dict:
    """Santurkar et al.'s first test at the shared rate: is the noisy BN net more shifted than
    the plain one, and does it train about as fast as BN (and faster than the plain net)?"""
    steps = {m: _probe_steps(results, config, m) for m in MODELS}
    plain_shift = _at_shared_lr(results, "shift", PLAIN).mean(axis=-1)     # per 20 steps
    noise_shift = results.sel("noise_shift", lr=_grid_shared_lr(results)).mean(axis=-1)  # per step
    more_shift = stats.mean_ci(np.log10(noise_shift / plain_shift))
    slower = stats.mean_ci(np.log(steps[NOISY_BN] / steps[WITH_BN]))
    faster_than_plain = stats.paired_diff_ci(steps[PLAIN], steps[NOISY_BN])
    supports = (more_shift.above(math.log10(SHIFT_FACTOR)) and slower.below(math.log(AS_FAST))
                and faster_than_plain.above(0))
    return {"supports": supports, "more_shift": more_shift, "slower": slower,
            "faster_than_plain": faster_than_plain, "steps": steps}


def gradient_shift_test(results: Results) -> dict:
    """Santurkar et al.'s second test at the shared rate: does BN reduce the gradient-based
    covariate shift (||G_i - G'_i|| / ||G_i||, mean over layers 2..L and records)?"""
    shift = {m: _at_shared_lr(results, "grad_shift", m).mean(axis=-1) for m in NORMS}
    ratio = stats.mean_ci(np.log10(shift[WITH_BN] / shift[PLAIN]))
    return {"supports": ratio.above(math.log10(NOT_REDUCED)), "ratio": ratio, "shift": shift}


@claims.rule("covariate_shift_not_the_reason", literature=stats.REPRODUCED,
             expected=stats.NOT_REPRODUCED,
             deviation="CLAIMS.md expects 'reproduced' (Santurkar et al. 2018). Here both of their "
                       "tests go against the claim. (1) Noisy BN is not about as fast as BN: it "
                       "needs 6.8x [6.0, 7.7] BN's steps to loss 0.5 ln 10 at seed 0 (370 vs 54 at "
                       "the shared rate 0.0625; the plain net 106) and 6.6x [5.7, 7.6] at seed 1 "
                       "(208 vs 32 at rate 0.125; plain 204), although it stays stable up to rate 2 "
                       "like BN. (2) BN reduces the gradient shift ||G_i - G'_i|| / ||G_i||: it keeps "
                       "0.73 [0.67, 0.80] of the plain net's at seed 0 and 0.80 [0.72, 0.90] at seed "
                       "1 (the absolute shift halves; cos(G_i, G'_i) rises from ~0.2 to ~0.5). A "
                       "10-layer width-32 MLP on 8x8 digits, not their VGG on CIFAR-10; the noise "
                       "(offset U(-1, 1), scale in [1/2, 2] per unit and step) was fixed before the "
                       "run and shifts the pre-activations 2.1x [1.8, 2.3] (seed 0) and 1.3x "
                       "[1.0, 1.6] (seed 1) as much per step as the plain net's move per 20 steps.",
             rule="Santurkar et al. 2018's two tests at the shared rate. (1) Noisy BN (a random "
                  "per-unit offset U(-1, 1) and scale in [1/2, 2], redrawn every step, after every "
                  "BN) supports the claim if its pre-activations shift per step (noise alone, at "
                  "its final weights) more than twice as much as the plain net's per 20 steps (CI "
                  "of the log10 ratio above log10 2), it reaches noise-free training loss 0.5 ln 10 "
                  "in at most 1.25x BN's steps (CI of the log ratio below ln 1.25) and in fewer "
                  "steps than the plain net (paired CI above 0). (2) The gradient shift "
                  "||G_i - G'_i|| / ||G_i|| (G'_i after the earlier layers' SGD step) supports it "
                  "if BN keeps at least 0.8 of the plain net's (CI of log10(BN / plain) above "
                  "log10 0.8). 'reproduced' if both support, 'nuanced' if one does, 'not "
                  "reproduced' if neither")
def _(results: Results, config: Config):
    noisy = noisy_bn_test(results, config)
    gradient = gradient_shift_test(results)
    support = int(noisy["supports"]) + int(gradient["supports"])
    verdict = {2: stats.REPRODUCED, 1: stats.NUANCED, 0: stats.NOT_REPRODUCED}[support]
    return stats.outcome(
        verdict, f"log10(gradient shift with BN / without), at rate {shared_lr(results):g}",
        gradient["ratio"], gradient_test_supports=bool(gradient["supports"]),
        noisy_test_supports=bool(noisy["supports"]),
        grad_shift_no_bn=stats.mean_ci(gradient["shift"][PLAIN], bounds=(0, np.inf)),
        grad_shift_bn=stats.mean_ci(gradient["shift"][WITH_BN], bounds=(0, np.inf)),
        log10_noise_shift_over_plain_shift=noisy["more_shift"],
        log_steps_noisy_over_bn=noisy["slower"],
        steps_plain_minus_noisy=noisy["faster_than_plain"],
        **{f"steps_{m.replace(' ', '_')}": stats.mean_ci(s, bounds=(0, np.inf))
           for m, s in noisy["steps"].items()})


# ---------------------------------------------------------------- figures

def _lr_sweep_figure(results: Results, config: Config):
    """Final loss and the share of stable seeds against the rate, per model."""
    lrs, models_ = results.coords["lr"], results.coords["model"]
    stable = stable_runs(results)
    fig, axes = plots.figure(ncols=2)
    ax = axes[0, 0]
    for i, m in enumerate(models_):
        final = curves.final(results.sel("interval_loss", model=m)).T  # (seed, lr); NaN if diverged
        plots.band(ax, lrs, final, label=m, color=plots.PALETTE[i], marker="o", log=True)
    ax.axhline(STABLE_BELOW, color="grey", linestyle=":", linewidth=1, label="0.9 ln 10 (stability bound)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("SGD learning rate")
    ax.set_ylabel("final training loss (diverged runs omitted)")
    ax.set_title("final loss against learning rate")
    plots.legend_outside(ax)  # the curves fill the upper left, where the legend used to sit
    ax = axes[0, 1]
    for i, m in enumerate(models_):
        ax.plot(lrs, stable[i].mean(axis=-1), marker="o", color=plots.PALETTE[i], label=m)
    ax.set_xscale("log", base=2)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("SGD learning rate")
    ax.set_ylabel("fraction of seeds stable")
    ax.set_title("stable: finite, final loss < first and < 0.9 ln 10")
    ax.legend()
    largest = largest_stable_lr(stable.all(axis=-1), lrs)
    ratio = largest[models_.index(WITH_BN)] / largest[models_.index(PLAIN)]
    plots.title(fig, f"Batch norm keeps a {config.depth}-layer ReLU net stable up to a "
                     f"{ratio:g}x higher learning rate")
    return fig


def _training_figure(results: Results, config: Config):
    """ReLU training curves at the shared rate, and the sigmoid nets at their best rates."""
    steps, every = results.coords["step"], config.train.eval_every
    fig, axes = plots.figure(ncols=2)
    ax = axes[0, 0]
    for i, m in enumerate(NORMS):
        plots.band(ax, steps, _at_shared_lr(results, "interval_loss", m), label=f"ReLU, {m}",
                   color=plots.PALETTE[i], log=True)
    ax.axhline(TARGET_LOSS, color="grey", linestyle=":", linewidth=1, label="target 0.5 ln 10")
    ax.set_yscale("log")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(f"training loss (mean over {every} steps)")
    ax.set_title(f"ReLU nets at the shared rate {shared_lr(results):g}")
    ax.legend()
    ax = axes[0, 1]
    for i, net in enumerate(NORMS):
        _, best = _sigmoid_best(results, net)
        plots.band(ax, steps, results.sel("sigmoid_interval_loss", net=net, sigmoid_lr=best),
                   label=f"sigmoid, {net} (rate {best:g})", color=plots.PALETTE[i + 3])
    ax.axhline(CHANCE_LOSS, color="grey", linestyle=":", linewidth=1, label="chance (ln 10)")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(f"training loss (mean over {every} steps)")
    ax.set_title(f"{config.depth}-layer sigmoid nets, each at its best rate")
    ax.legend()
    plots.title(fig, "With BN the ReLU net converges faster and the deep sigmoid net trains")
    return fig


def _covariate_shift_figure(results: Results, config: Config):
    """Noisy BN's training against BN's and the plain net's; its layer-input shift; the gradient shift."""
    lr = _grid_shared_lr(results)
    fig, axes = plots.figure(ncols=3)
    ax = axes[0, 0]
    for i, m in enumerate(MODELS):
        plots.band(ax, results.coords["eval_step"], _at_shared_lr(results, "probe_loss", m),
                   label=m, color=plots.PALETTE[i], log=True)
    ax.axhline(TARGET_LOSS, color="grey", linestyle=":", linewidth=1, label="target 0.5 ln 10")
    ax.set_yscale("log")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss on a fixed batch (no noise)")
    ax.set_title(f"training at the shared rate {lr:g}")
    ax.legend()
    ax = axes[0, 1]
    layers = results.coords["layer"]
    every = config.train.eval_every
    for i, m in enumerate(NORMS):
        plots.band(ax, layers, _at_shared_lr(results, "shift_by_layer", m),
                   label=f"{m}: weights, per {every} steps", color=plots.PALETTE[i], marker="o", log=True)
    plots.band(ax, layers, results.sel("noise_shift", lr=lr), label=f"{NOISY_BN}: noise, per step",
               color=plots.PALETTE[2], marker="s", log=True)
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(plots.integer_ticks())
    ax.set_xlabel("hidden layer (1 = nearest the input)")
    ax.set_ylabel("pre-activation shift |Δμ|/σ + |Δ ln σ|")
    ax.set_title("how far each layer's input distribution moves")
    plots.legend_outside(ax)
    ax = axes[0, 2]
    grad_layers = results.coords["grad_layer"]
    for i, m in enumerate(NORMS):  # not measured on the noisy net
        plots.band(ax, grad_layers, _at_shared_lr(results, "grad_shift", m), label=m,
                   color=plots.PALETTE[i], marker="o", log=True)
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(plots.integer_ticks())
    ax.set_xlabel("hidden layer i")
    ax.set_ylabel("||G_i − G'_i|| / ||G_i||")
    ax.set_title("gradient shift after the earlier layers' step")
    ax.legend()
    noisy, gradient = noisy_bn_test(results, config), gradient_shift_test(results)
    first = ("noisy BN trains about as fast as BN despite far more shift" if noisy["supports"]
             else "injected shift slows BN down")
    second = ("BN does not reduce the gradient shift" if gradient["supports"]
              else "BN reduces the gradient shift")
    plots.title(fig, f"Covariate shift tests: {first}; {second}")
    return fig


def _regularization_figure(results: Results, config: Config):
    """Train and test accuracy of nets fitted to small subsets, against the rate."""
    lrs = results.coords["reg_lr"]
    arms = _regularization_gaps(results)
    fig, axes = plots.figure(ncols=2)
    ax = axes[0, 0]
    for i, net in enumerate(NORMS):
        plots.band(ax, lrs, results.sel("reg_test_accuracy", net=net).T, label=f"{net}: test",
                   color=plots.PALETTE[i], marker="o")
        ax.plot(lrs, np.nanmean(results.sel("reg_train_accuracy", net=net), axis=-1), linestyle="--",
                color=plots.PALETTE[i], label=f"{net}: train")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("SGD learning rate")
    ax.set_ylabel("accuracy after training")
    ax.set_title(f"{config.reg_train_size} training digits per seed")
    plots.legend_outside(ax)
    ax = axes[0, 1]
    for i, net in enumerate(NORMS):
        train_acc = results.sel("reg_train_accuracy", net=net)
        gap = train_acc - results.sel("reg_test_accuracy", net=net)
        with np.errstate(invalid="ignore"):  # the same fit test as regularization_choice
            fits = np.all(np.isfinite(train_acc), axis=-1) & (np.mean(train_acc, axis=-1) >= FITS_ABOVE)
        gap = np.where(fits[:, None], gap, np.nan)  # a net that does not fit has no comparable gap
        plots.band(ax, lrs, gap.T, label=net, color=plots.PALETTE[i], marker="o")
        chosen = lrs.index(arms[net]["lr"])
        if not fits[chosen]:  # no rate fits (the smoke profile): no comparable gap to mark
            continue
        ax.plot([lrs[chosen]], [np.mean(gap[chosen])], marker="*", markersize=14,
                color=plots.PALETTE[i], linestyle="none",
                label=f"{net}: chosen rate (validation)")
    ax.set_xscale("log", base=2)
    ax.set_xlim(lrs[0] / 1.3, lrs[-1] * 1.3)  # an axis without a fitted net has no data to scale to
    ax.set_xlabel("SGD learning rate")
    ax.set_ylabel("train − test accuracy")
    ax.set_title(f"gap where the mean train accuracy is ≥ {FITS_ABOVE}")
    plots.legend_outside(ax)
    change = stats.paired_diff_ci(arms[PLAIN]["gap"], arms[WITH_BN]["gap"])
    verdict = _three_way(change, GAP_BAND, -GAP_BAND)
    finding = {stats.REPRODUCED: "BN shrinks the train-test gap of fitted nets",
               stats.NOT_REPRODUCED: "BN widens the train-test gap of fitted nets",
               stats.NUANCED: "BN barely changes the train-test gap of fitted nets"}[verdict]
    plots.title(fig, finding)
    return fig


def plot(results: Results, config: Config) -> dict:
    """The rate sweep, the training curves, the covariate-shift tests and the regularization test."""
    return {"lr_sweep": _lr_sweep_figure(results, config),
            "training": _training_figure(results, config),
            "covariate_shift": _covariate_shift_figure(results, config),
            "regularization": _regularization_figure(results, config)}


main(__spec__)
