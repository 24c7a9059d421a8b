"""Classification losses: from a start confidently wrong on one class, SGD with cross-entropy needs 3.3-3.9x fewer steps than squared error.

Q&A: Q44, Q46, Q50, Q51 (cross-entropy vs squared error for classifiers), Q43 (loss vs cost).
Part 1 (mechanism): the slope of each loss with respect to a sigmoid output's logit z for a
positive example: cross-entropy (CE) gives σ(z) − 1, the squared error of the probability
(σ(z) − 1)² gives 2(σ(z) − 1)σ(z)(1 − σ(z)), which vanishes as the sigmoid saturates.
Part 2 (training from a bad start): an MLP (2 hidden ReLU layers of 32) classifies two moons
(a fresh training and test draw per seed) with one sigmoid output. Right after
initialization its output bias is lowered until every training logit is at most −5. The start
is only half confidently wrong: every class-1 example sits at σ ≤ 0.007 (confidently wrong,
the saturated case), every class-0 example is confidently right; accuracy 50 %. From that same
start (paired per seed: same init, same batches) plain SGD (batch 64, 400 steps) trains once
with CE and once with the squared error, each over the same learning-rate grid (0.3 to 30,
finer near both losses' stability edges: 0.3, 0.5, 1, 1.5, 2, 3, 5, 7, 10, 15, 20, 30;
vmapped: one program per loss). The matched control (a claim added after the first run, post
hoc) is the same race from the same nets before the bias shift: if saturation is the cause,
the gap must be larger from the saturated start. Speed = steps until test accuracy first
reaches 90 % (interpolated between evaluations every 5 steps; a run that never gets there, or
diverges, is censored: it counts as the budget, a lower bound on its steps). Each loss is
judged at its own best rate, chosen per seed on the other seeds (leave-one-seed-out), so no
seed is judged at a rate picked for its luck. Where a censored chosen run could overstate the
statistic (CE from the saturated start; squared error from the unshifted one), an interval
above 0 is only `nuanced`; the number of censored chosen runs per arm is in the details.
The verdict is for plain SGD, the condition that tests the claim, which is about the
gradient's magnitude: Adam normalizes the gradient's scale and so rescales the saturated
squared-error gradient. An adversarial review measured the same race with Adam (rates 1e-4 to
0.3) at 4.3 [−6.3, 14.8] steps: Adam removes the effect. (Not part of this run: it would add
a third to the quick profile's training.)
Part 3 (checks): Optax's sparse (integer-label) and one-hot categorical CE give the same
values and logit gradients, and binary CE equals the 2-class softmax CE of logits [0, z]
(float64, random logits per seed); the batch cost the training loop differentiates equals
the mean of per-example losses, in value and gradient (the bad-start nets, both losses).

Command:  python -m experiments.classification_losses --profile quick
Expected (quick, seeds 0 and 1; 95 % intervals over 16 seeds in brackets):
- slopes at z = −5: dCE/dz = −0.993, dMSE/dz = −0.0132, ratio 75.2 (LITERATURE.md: ≈ −0.99
  and ≈ −0.013); the squared error's slope peaks at 0.30 at z = −0.69 and falls as 2e^z below.
- race from the saturated start: CE needs 16.0 [12.6, 19.5] and 20.2 [17.1, 23.3] steps to
  90 % test accuracy (held-out rate 1.5 at every seed), squared error 53.6 [41.2, 65.9] and
  79.5 [61.4, 97.5] (rate 5 at seed 0, 3 at seed 1): 3.3x and 3.9x as many; paired difference
  37.6 [25.6, 49.5] and 59.3 [40.5, 78.0] steps. No chosen run was censored.
- control: from the unshifted nets the difference is 1.8 [−3.3, 6.9] and 4.8 [0.6, 9.0] steps
  (squared error about as fast as CE, as Hui & Belkin 2021 find for well-behaved starts); the
  excess of the saturated gap is 35.8 [23.6, 47.9] and 54.5 [35.1, 73.8] steps: reproduced at
  both seeds, no chosen run censored in any arm.
- sparse vs one-hot CE and binary vs 2-class softmax CE differ by ≤ 3.6e-15 (float64
  rounding); the batch cost equals the mean of the per-example losses to ≤ 2.2e-7 relative
  (float32), value and gradient.
History: the first version used a half-decade grid (0.01 to 100) and 8 seeds. There CE's best
rate (1) sat next to its stability edge (3); at some seeds the held-out choice picked 3, which
never reached the target from the unshifted start, and the censored value blew the control's
interval up (seed 1: 98.2 [1.4, 195.0]; a review's seed 2: 81.4 [−38.7, 201.6]). The finer
grid and 16 seeds (rates vmapped: cheap) were set from that evidence, the censoring rule was
written before rerunning; the race's own verdict was reproduced on both grids (2.5x to 4.2x).
The race's budget was 2000 steps (evaluated every 20) in the very first run; every run at a
chosen rate reached the target within 150 steps, so it is 400 steps evaluated every 5.
Runtime: measured on 2 CPU cores shared with other jobs (load 5-7), CPU time user+sys:
quick 23 s with a warm compile cache (44 programs: 4 trained arms share 2 training programs;
768 runs of 400 steps); smoke 9 s warm (24 programs); full (32 seeds, 1024/2048 points, width 64, 18 rates,
2000 steps) is for one GPU (not run).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from phenomena import curves, losses, models, plots, rng, selection, stats, toy2d, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main, map_runs
from phenomena.models import MLPConfig
from phenomena.results import Results
from phenomena.train import TrainConfig

DATA_STREAM = 2    # each run key's stream for its moons draw
LOGITS_STREAM = 3  # each run key's stream for the random logits of the equivalence check
LOSSES = {"cross-entropy": losses.sigmoid_cross_entropy,
          "squared error": losses.sigmoid_squared_error}
CE, MSE = LOSSES
STARTS = {"saturated": "every training logit <= -margin", "normal": "the same net, unshifted"}
SATURATED, NORMAL = STARTS
SHORT = {CE: "CE", MSE: "squared error", SATURATED: "saturated", NORMAL: "unshifted"}  # short names


STABILITY_EDGE_GRID = (0.3, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0)


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    seeds: int = 16                 # independent data draws and inits (paired over both losses)
    saturated_logit: float = -5.0   # the confidently wrong logit (label 1) of the slope check
    min_slope_ratio: float = 50.0   # |dCE/dz| / |dMSE/dz| there must exceed this
    dataset: str = "moons"          # toy2d dataset of the training race (circles, moons, spirals)
    noise: float = 0.15             # the dataset's Gaussian noise
    train_size: int = 256           # training points drawn per seed
    test_size: int = 512            # test points drawn per seed (accuracy target read here)
    width: int = 32                 # units per hidden layer
    depth: int = 2                  # hidden ReLU layers
    margin: float = 5.0             # at the start every training logit is <= -margin
    # The SGD grid, fine near both losses' stability edges (CE's ~3, squared error's ~15).
    learning_rates: tuple[float, ...] = STABILITY_EDGE_GRID  # SGD rates tried per loss (vmapped)
    target: float = 0.9             # test accuracy whose first step is the speed
    train: TrainConfig = TrainConfig(optimizer="sgd", lr=0.1, steps=400, batch_size=64,  # SGD race
                                     eval_every=5)
    classes: int = 10               # classes of the random logits in the equivalence check
    logits_batch: int = 64          # random logit vectors per seed in the equivalence check
    equal_tolerance: float = 1e-12  # float64 difference that counts as identical
    mean_tolerance: float = 1e-5    # float32 relative difference: cost vs mean of losses

    IGNORED_KEYS = {"train.lr": "the learning rates are the grid `learning_rates`"}

    def __post_init__(self):
        super().__post_init__()
        check(self.saturated_logit < 0, f"saturated_logit must be negative (wrong for label 1), "
                                        f"got {self.saturated_logit}")
        check(self.dataset in toy2d.DATASETS,
              f"dataset must be one of {', '.join(toy2d.DATASETS)}, got {self.dataset!r}")
        check(self.train_size >= 2 and self.test_size >= 2 and self.train_size % 2 == 0
              and self.test_size % 2 == 0, "train_size and test_size must be even and >= 2")
        check(self.margin > 0, f"margin must be positive, got {self.margin}")
        rates = list(self.learning_rates)
        check(len(rates) >= 3 and rates == sorted(set(rates)) and rates[0] > 0,
              f"learning_rates must be at least three increasing positive rates, got {rates}")
        check(0.5 < self.target <= 1, f"target must be in (0.5, 1], got {self.target}")
        check(self.train.optimizer == "sgd",
              "train.optimizer must be sgd: the claim is about gradient magnitudes, which Adam divides out")
        check(self.seeds >= 3, "seeds must be >= 3 (rates are chosen on the other seeds)")
        check(self.classes >= 2 and self.logits_batch >= 1, "classes >= 2, logits_batch >= 1")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 3, "learning_rates": (0.1, 1.0, 10.0), "train_size": 64, "test_size": 64,
              "width": 8, "train.steps": 40, "train.eval_every": 20},
    "quick": {},
    "full": {"seeds": 32, "train_size": 1024, "test_size": 2048, "width": 64,
             "learning_rates": (0.03, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0,
                                15.0, 20.0, 30.0, 50.0, 100.0),
             "train.steps": 2000, "train.eval_every": 5},
}


# ---------------------------------------------------------------- part 1: slopes

@jax.jit
def logit_slopes(z: jax.Array) -> tuple[jax.Array, jax.Array]:
    """dCE/dz and d(squared error)/dz of a label-1 example at logits `z` (elementwise)."""
    one = jnp.ones_like(z)
    ce = jax.vmap(jax.grad(lambda z, y: optax.sigmoid_binary_cross_entropy(z, y)))(z, one)
    mse = jax.vmap(jax.grad(losses.probability_squared_error))(z, one)
    return ce, mse


# ---------------------------------------------------------------- part 2: the race

def saturate_wrong(model, x, margin):
    """Lower the output bias until every logit on `x` is at most −`margin` (in place)."""
    logits, _ = model(x)
    model.head.bias[...] = model.head.bias[...] - (jnp.max(logits) + margin)
    return model


def _starts(config: Config, keys, x):
    """`(graphdef, {start: state})`: per key, a fresh net (its key's init stream, as
    `models.create`) as initialized ("normal") and saturated the wrong way on its training
    inputs `x` ("saturated"); one compiled program for all seeds."""
    model = MLPConfig(width=config.width, depth=config.depth, init="he_normal")

    def make(key=None):
        rngs = nnx.Rngs(0 if key is None else jax.random.fold_in(key, rng.INIT_STREAM))
        return models.MLP(2, 1, model, rngs=rngs)

    def one(key, x):
        net = make(key)
        normal = jax.tree.map(jnp.copy, nnx.state(net))  # nnx.state holds references: copy first
        return {"normal": normal, "saturated": nnx.state(saturate_wrong(net, x, config.margin))}

    graphdef = nnx.graphdef(nnx.eval_shape(make))
    return graphdef, jax.jit(jax.vmap(one))(keys, x)


@functools.partial(jax.jit, static_argnums=1)
def _repeat_runs(tree, times: int):
    """Every leaf's run axis repeated value-major (`times` copies of all runs), as `grid_fit`
    lays out a vmapped axis's runs."""
    return jax.tree.map(lambda a: jnp.concatenate([a] * times), tree)


def _race(config: Config, splits):
    """Train both losses from both starts (the saturated one and, as the control, the same net
    before the bias shift), every rate and seed of a (start, loss) arm in one program; the
    arms share their programs, since only the starting values differ."""
    keys = rng.seed_keys(config.seed, config.seeds)
    graphdef, starts = _starts(config, keys, splits["train"]["x"])
    tiled, data = _repeat_runs((starts, splits), len(config.learning_rates))

    def fit_loss(arm, run_keys, lrs):
        return train.fit(graphdef, tiled[arm["start"]], LOSSES[arm["loss"]], data["train"],
                         config.train, run_keys, hparams={"learning_rate": lrs},
                         evaluate=losses.binary_classification_metrics,
                         eval_data={"test": data["test"]}, data_axis=0,
                         name=f"{arm['start']}, {arm['loss']}")

    grid = grid_fit({"start": list(STARTS), "loss": list(LOSSES), "lr": config.learning_rates},
                    fit_loss, seed=config.seed, seeds=config.seeds, vmapped="lr")
    return graphdef, starts[SATURATED], grid


# ---------------------------------------------------------------- part 3: checks

def _equivalences(logits, labels, binary_logits, binary_labels) -> jax.Array:
    """Largest |difference| in value and logit gradient: sparse vs one-hot CE, and binary CE
    vs the 2-class softmax CE of [0, z]. Returns (sparse vs one-hot, binary vs 2-class)."""
    classes = logits.shape[-1]

    def sparse(z):
        return optax.softmax_cross_entropy_with_integer_labels(z, labels)

    def onehot(z):
        return optax.softmax_cross_entropy(z, jax.nn.one_hot(labels, classes, dtype=z.dtype))

    def binary(z):
        return optax.sigmoid_binary_cross_entropy(z, binary_labels.astype(z.dtype))

    def two_class(z):
        return optax.softmax_cross_entropy_with_integer_labels(
            jnp.stack([jnp.zeros_like(z), z], axis=-1), binary_labels)

    def gap(f, g, z):
        value = jnp.max(jnp.abs(f(z) - g(z)))
        slope = jnp.max(jnp.abs(jax.grad(lambda z: f(z).sum())(z) - jax.grad(lambda z: g(z).sum())(z)))
        return jnp.maximum(value, slope)

    return jnp.stack([gap(sparse, onehot, logits), gap(binary, two_class, binary_logits)])


def _random_logits(config: Config, keys):
    """Per key: logits of scale 4 (confident, as trained nets are) with random labels, for the
    categorical and the binary comparison, as float64 numpy arrays. NumPy draws them, seeded by
    each key's bits: nothing to compile for a few thousand numbers."""
    shape = (config.logits_batch, config.classes)
    draws = [np.random.default_rng(np.asarray(jax.random.key_data(k))) for k in keys]
    return (np.stack([4 * d.standard_normal(shape) for d in draws]),
            np.stack([d.integers(0, config.classes, shape[0]) for d in draws]),
            np.stack([4 * d.standard_normal(shape[0]) for d in draws]),
            np.stack([d.integers(0, 2, shape[0]) for d in draws]))


def _cost_vs_mean(model, batch):
    """Per loss (CE, squared error): relative difference of the batch cost from the mean of the
    per-example losses, in value and in parameter gradient (the larger of the two)."""
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)

    def cost(loss_fn, p, b):
        return loss_fn(nnx.merge(graphdef, p, rest, copy=True), b)[0]

    out = []
    for loss_fn in LOSSES.values():
        whole, whole_grad = jax.value_and_grad(lambda p: cost(loss_fn, p, batch))(params)

        def one(example):
            single = jax.tree.map(lambda a: a[None], example)
            return jax.value_and_grad(lambda p: cost(loss_fn, p, single))(params)

        each, each_grad = jax.vmap(one)(batch)
        mean_grad = jax.tree.map(lambda g: g.mean(axis=0), each_grad)
        flat_whole = jax.flatten_util.ravel_pytree(whole_grad)[0]
        flat_mean = jax.flatten_util.ravel_pytree(mean_grad)[0]
        value = jnp.abs(whole - each.mean()) / jnp.abs(whole)
        slope = jnp.linalg.norm(flat_whole - flat_mean) / jnp.linalg.norm(flat_whole)
        out.append(jnp.maximum(value, slope))
    return jnp.stack(out)


def run(config: Config) -> Results:
    """The slopes, the race from the saturated start, and the two equivalence checks."""
    results = Results()
    # One program: the saturated logit first, then the curve's logits.
    z = np.concatenate([[config.saturated_logit], np.linspace(-10.0, 10.0, 201)]).astype(np.float32)
    ce_slope, mse_slope = (np.asarray(s) for s in logit_slopes(z))
    results.add("ce_slope", ce_slope[1:], ("logit",), logit=[float(v) for v in z[1:]])
    results.add("mse_slope", mse_slope[1:], ("logit",))
    results.add("slopes_at_saturated", np.array([ce_slope[0], mse_slope[0]]), ("loss",),
                loss=list(LOSSES))

    keys = rng.seed_keys(config.seed, config.seeds)
    splits = toy2d.train_test(config.dataset, rng.run_stream(keys, DATA_STREAM), config.train_size,
                              config.test_size, config.noise)
    graphdef, start, grid = _race(config, splits)
    grid.add_to(results, evals={"test/accuracy": "test_accuracy"}, diverged="diverged_at")
    results.add("start_accuracy", grid.evals("test/accuracy")[0, 0, 0, :, 0], ("seed",),
                seed=list(range(config.seeds)))
    results.add("cost_vs_mean", map_runs(_cost_vs_mean, graphdef, start, splits["train"],
                                         run_axes=(0,)).T, ("loss", "seed"))
    draws = _random_logits(config, rng.run_stream(keys, LOGITS_STREAM))
    with jax.enable_x64(True):
        gaps = jax.jit(jax.vmap(_equivalences))(*draws)
    results.add("equivalence_gap", np.asarray(gaps).T, ("pair", "seed"),
                pair=["sparse vs one-hot", "binary vs 2-class softmax"])
    return results


claims = ClaimBook("classification_losses", questions="Q44, Q46, Q50, Q51")


@claims.rule("ce_gradient_does_not_saturate", kind=stats.CHECK,
             rule="for a label-1 example at logit −5, |dCE/dz| / |dMSE/dz| > 50, with MSE the "
                  "squared error of the sigmoid probability (σ − y)² (exact, one evaluation)")
def _(results: Results, config: Config):
    ce, mse = results["slopes_at_saturated"]
    ratio = float(abs(ce) / abs(mse))
    return stats.decide(ratio > config.min_slope_ratio, "|dCE/dz| / |dMSE/dz| at the saturated logit",
                        stats.Interval.exact(ratio), ce_slope=float(ce),
                        mse_slope=float(mse), logit=config.saturated_logit)


def steps_to_target(results: Results, config: Config, loss: str, start: str = SATURATED) -> np.ndarray:
    """(rate, seed) steps until test accuracy reaches the target, censored at the budget
    (a run that never gets there or diverges took at least the budget)."""
    accuracy = results.sel("test_accuracy", start=start, loss=loss)
    error = 1 - np.nan_to_num(accuracy, nan=0.0)  # a diverged run never reaches the target
    steps = curves.steps_to_target(results.coords["step"], error.reshape(-1, error.shape[-1]),
                                   1 - config.target)
    return curves.censored(steps, config.train.steps).reshape(error.shape[:-1])


def steps_at_own_best_rate(results: Results, config: Config, loss: str, start: str = SATURATED):
    """Per seed, steps to target at the rate best on the *other* seeds, and those rate indices."""
    steps = steps_to_target(results, config, loss, start)
    chosen = selection.held_out_best(steps, mode="min")
    return selection.per_seed(steps, chosen), chosen


def censored_count(steps: np.ndarray, config: Config) -> int:
    """How many of these steps-to-target are censored (the run never got there in the budget)."""
    return int(np.sum(steps >= config.train.steps))


def verdict_under_censoring(difference: stats.Interval, flattering: int) -> str:
    """Reproduced when the difference's interval lies above 0 and no censored run enters it on
    the side where its understated steps (a censored run took at least the budget) would make
    the difference look larger; with such runs an interval above 0 is only nuanced."""
    if not difference.above(0):
        return stats.NOT_REPRODUCED
    return stats.NUANCED if flattering else stats.REPRODUCED


CENSORING_RULE = ("a censored run counts as the budget, a lower bound on its steps, so where a "
                  "censored chosen run could overstate the difference ({}) an interval above 0 "
                  "gives nuanced, not reproduced")


@claims.rule("ce_trains_faster_from_bad_start",
             questions="Q50, Q51",
             rule="plain SGD on two moons from a start whose output bias puts every training logit "
                  "<= −5 (class-1 examples confidently wrong at σ <= 0.007, class-0 examples "
                  "confidently right: accuracy 50 %): steps until test accuracy reaches 0.9, each "
                  "loss at its own best rate of the same grid (chosen per seed on the other seeds); "
                  "the paired 95 % CI over seeds of steps(squared error) − steps(CE) lies above 0; "
                  + CENSORING_RULE.format("CE's"))
def _(results: Results, config: Config):
    ce, ce_rate = steps_at_own_best_rate(results, config, CE)
    mse, mse_rate = steps_at_own_best_rate(results, config, MSE)
    saved = stats.paired_diff_ci(mse, ce)
    rates = np.asarray(config.learning_rates)
    return stats.outcome(verdict_under_censoring(saved, censored_count(ce, config)),
                         "steps to target: squared error − CE", saved,
                         ce_steps=stats.mean_ci(ce), mse_steps=stats.mean_ci(mse),
                         ce_rates=rates[ce_rate].tolist(), mse_rates=rates[mse_rate].tolist(),
                         ce_censored=censored_count(ce, config),
                         mse_censored=censored_count(mse, config),
                         start_accuracy=stats.mean_ci(results["start_accuracy"], bounds=(0, 1)))


@claims.rule("saturation_explains_gap", questions="Q50, Q51", post_hoc=True,
             rule="the matched control: the same race from the same nets before the bias shift; "
                  "the paired 95 % CI over seeds of [steps(squared error) − steps(CE)] from the "
                  "saturated start minus the same difference from the unshifted start lies above 0 "
                  "(each loss and start at its own best rate, chosen on the other seeds); "
                  + CENSORING_RULE.format("CE from the saturated start, squared error from the "
                                          "unshifted one"))
def _(results: Results, config: Config):
    gaps, censored = {}, {}
    for start in STARTS:
        ce, _ = steps_at_own_best_rate(results, config, CE, start)
        mse, _ = steps_at_own_best_rate(results, config, MSE, start)
        gaps[start] = mse - ce
        censored[start] = {CE: censored_count(ce, config), MSE: censored_count(mse, config)}
    excess = stats.paired_diff_ci(gaps[SATURATED], gaps[NORMAL])
    flattering = censored[SATURATED][CE] + censored[NORMAL][MSE]
    return stats.outcome(verdict_under_censoring(excess, flattering),
                         "gap(saturated start) − gap(unshifted start), steps", excess,
                         gap_saturated=stats.mean_ci(gaps[SATURATED]),
                         gap_unshifted=stats.mean_ci(gaps[NORMAL]),
                         censored_chosen_runs={f"{SHORT[start]}, {SHORT[loss]}": n
                                               for start, by_loss in censored.items()
                                               for loss, n in by_loss.items()})


@claims.rule("sparse_equals_onehot", kind=stats.CHECK,
             rule="in float64, on random logits of scale 4 (64 per seed), sparse-label and one-hot "
                  "softmax CE differ by < 1e-12 in value and logit gradient, and so do binary "
                  "(sigmoid) CE and the 2-class softmax CE of logits [0, z], at every seed")
def _(results: Results, config: Config):
    gaps = results["equivalence_gap"]
    largest = stats.mean_ci(gaps.max(axis=0))
    return stats.decide(bool(np.all(gaps < config.equal_tolerance)),
                        "largest |difference| (value or gradient) per seed", largest,
                        **{pair: float(g.max()) for pair, g in zip(results.coords["pair"], gaps)})


@claims.rule("cost_is_mean_loss", kind=stats.CHECK, questions="Q43",
             rule="for both training losses (CE, squared error) at every seed's start, the batch "
                  "cost the training loop differentiates equals the mean of the per-example losses "
                  "(each example a batch of one): relative difference in value and in parameter "
                  "gradient < 1e-5 (float32)")
def _(results: Results, config: Config):
    gaps = results["cost_vs_mean"]
    largest = stats.mean_ci(gaps.max(axis=0))
    return stats.decide(bool(np.all(gaps < config.mean_tolerance)),
                        "largest relative difference per seed", largest,
                        **{loss: float(g.max()) for loss, g in zip(results.coords["loss"], gaps)})


def plot(results: Results, config: Config) -> dict:
    """The slopes against the logit, and the race from the saturated start."""
    return {"logit_slopes": _plot_slopes(results, config), "bad_start": _plot_race(results, config)}


def _plot_slopes(results: Results, config: Config):
    z = np.asarray(results.coords["logit"])
    ce, mse = results["ce_slope"], results["mse_slope"]
    at_ce, at_mse = results["slopes_at_saturated"]
    fig, axes = plots.figure(2)
    for ax, transform, label in ((axes[0, 0], lambda v: v, "dL/dz"), (axes[0, 1], np.abs, "|dL/dz|")):
        ax.plot(z, transform(ce), color=plots.PALETTE[0], label="cross-entropy")
        ax.plot(z, transform(mse), color=plots.PALETTE[1], label="squared error (σ − y)²")
        ax.axvline(config.saturated_logit, color=plots.PALETTE[7], linestyle=":",
                   label=f"z = {config.saturated_logit:g}")
        ax.set_xlabel("logit z of a label-1 example (z < 0: wrong)")
        ax.set_ylabel(f"{label}, slope of the loss")
    axes[0, 1].set_yscale("log")
    axes[0, 1].plot([config.saturated_logit] * 2, [abs(at_mse), abs(at_ce)], "o", color=plots.PALETTE[7])
    plots.legend_outside(axes[0, 1])
    plots.title(fig, f"Confidently wrong (z = {config.saturated_logit:g}): cross-entropy's slope "
                     f"is {abs(at_ce / at_mse):.0f}x the squared error's, which saturates")
    return fig


def _plot_race(results: Results, config: Config):
    """Left: test accuracy at the rates the verdict uses (each seed's held-out best rate);
    right: steps to target at every rate of the grid."""
    fig, axes = plots.figure(2, width=5.4)
    rates = np.asarray(config.learning_rates)
    mean_steps = {}
    for start, style in zip(STARTS, ("-", "--")):
        for i, loss in enumerate(LOSSES):
            name = f"{SHORT[loss]}, {SHORT[start]} start"
            steps, chosen = steps_at_own_best_rate(results, config, loss, start)
            if start == SATURATED:
                mean_steps[loss] = float(np.mean(steps))
            accuracy = selection.per_seed(results.sel("test_accuracy", start=start, loss=loss), chosen)
            plots.band(axes[0, 0], results.coords["step"], accuracy, color=plots.PALETTE[i],
                       linestyle=style, label=f"{name}, lr {_rate_range(rates[chosen])}")
            plots.band(axes[0, 1], rates, steps_to_target(results, config, loss, start).T,
                       bounds=(0, config.train.steps), color=plots.PALETTE[i], marker="o",
                       linestyle=style, label=name)
    ax = axes[0, 0]
    ax.axhline(config.target, color=plots.PALETTE[7], linestyle=":", label="target")
    ax.set_xlabel("SGD step")
    ax.set_ylabel("test accuracy")
    ax.set_xlim(0, min(config.train.steps, 3 * max(mean_steps.values())))  # where the race is decided
    ax.set_title("at each seed's held-out best rate (the verdict's)")
    plots.legend_outside(ax)
    ax = axes[0, 1]
    ax.set_xscale("log")
    ax.axhline(config.train.steps, color=plots.PALETTE[7], linestyle=":", label="budget (censored)")
    ax.set_xlabel("learning rate (SGD)")
    ax.set_ylabel(f"steps to {config.target:.0%} test accuracy")
    ax.set_title("every rate of the grid (mean, 95 % CI)")
    plots.legend_outside(ax)
    plots.title(fig, _race_headline(mean_steps, config.target))
    return fig


def _rate_range(rates: np.ndarray) -> str:
    """'1' when every seed chose the same rate, else '0.5-2' (lowest-highest)."""
    low, high = float(np.min(rates)), float(np.max(rates))
    return f"{low:g}" if low == high else f"{low:g}-{high:g}"


def _race_headline(mean_steps: dict, target: float) -> str:
    """The race's finding in words, from the mean steps at each seed's held-out best rate."""
    fast, slow = sorted(LOSSES, key=lambda loss: mean_steps[loss])
    factor = mean_steps[slow] / mean_steps[fast]
    start = "From a start confidently wrong on class 1"
    if factor < 1.05:
        return f"{start}, both losses reach {target:.0%} as fast (SGD, held-out best rate each)"
    return (f"{start}, SGD with {SHORT[fast]} reaches {target:.0%} test accuracy "
            f"{factor:.1f}x sooner than with {SHORT[slow]} (held-out best rate each)")


main(__spec__)
