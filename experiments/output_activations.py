"""Output activations: softmax equals an extended-precision reference (within 6e-14) and sums to 1 (within 4e-16) at any logit scale; on targets in [−2, 3] a sigmoid head stalls at the (0, 1) floor (MSE 1.76), a linear head fits (1.5e-5).

Q&A: Q39, Q41. Part 1 (softmax, a check): per seed, thousands of random logit vectors of 10
entries, with scales from 0.1 to 1000 (log-uniform per vector) so that some exceed what a
naive exp(z) / Σ exp(z) can hold, go through `jax.nn.softmax` in float64; measured: the largest
relative error against exp(z − max z) / Σ exp(z − max z) computed independently in numpy's
extended precision (long double) wherever that value is a normal float64 (a value identity:
a fake softmax such as a uniform 1/K passes every property below but fails this one), the
largest |Σ p − 1|, whether every output is finite and in [0, 1] (and strictly inside wherever
the exact value is representable: an output is 0 only when its exact value underflows
float64), and the largest change when a random constant c (|c| up to 1000) is added to every
logit. Float64, because in float32 the rounding of z + c itself (6e-5 at 1000) would be
measured, not softmax.
Part 2 (regression): y = 0.5 + 2.5 sin(πx), x ~ U(−1, 1), so the targets span [−2, 3]; every
seed draws its own training and test sets. An MLP (2 hidden tanh layers of 16) ends either in
a linear head (identity) or a sigmoid head; each is trained full-batch on the mean squared
error with Adam and a cosine decay of the rate to 0, at four peak rates (vmapped: one program
per head), and keeps the rate with the lowest mean final training MSE. A sigmoid head can
only output values in (0, 1), so on the test set no sigmoid head can beat the MSE of the best
such predictor, clip(y, 0, 1): the floor mean (y − clip(y, 0, 1))², exact from the targets.
The rule asks whether the linear head goes below that floor; the sigmoid head's gap to it is
reported, not asserted (it cannot be negative). The claim is about the raw targets: a sigmoid
head on targets min-max rescaled into (0, 1) has no floor (not measured here).

Command:  python -m experiments.output_activations --profile quick
Expected (quick, 8 seeds; seed 0 / seed 1):
- softmax_is_distribution (check), reproduced at every seed (Wilson 1 [0.68, 1]): largest
  relative error against the extended-precision reference 5.7e-14 / 5.7e-14 (the rounding of
  z − max z at logits near 1000), largest |Σp − 1| = 4.4e-16, largest change under an added
  constant 3.9e-14 / 2.3e-14, no output outside [0, 1], none 0 or 1 by rounding; 7.6 % of the
  outputs underflow to exactly 0 (exact values below 1e-304), and the naive exp(z) / Σ exp(z)
  is not finite on 7.8 % of the vectors.
- regression_needs_linear_output, reproduced: floor 1.750 [1.726, 1.783] / 1.764 [1.726, 1.803];
  linear head test MSE 1.5e-5 [0.5e-5, 2.8e-5] / 3.4e-5 [1.1e-5, 7.1e-5], so linear − floor =
  −1.750 [−1.788, −1.713] / −1.764 [−1.815, −1.713]; reported: the sigmoid head ends 0.0058
  [0.0049, 0.0066] / 0.0050 [0.0045, 0.0056] above the floor (0.3 %: it saturates at 0 and 1
  where the target leaves the band) and 1.756 [1.718, 1.794] / 1.769 [1.718, 1.820] above the
  linear head (paired). Both heads choose the rate 0.1, inside the grid; training MSE changes
  by < 5e-6 over the last quarter (CIs reach 3.6e-6 at seed 0, 4.8e-6 at seed 1).
Runtime: smoke ~8 s CPU (user + sys, warm compilation cache); quick ~12 s CPU warm, ~32 s
cold (every program with a random draw costs ~5 s of CPU to compile on this machine; 2 cores
shared with other jobs); full (32 seeds, 65536 logit vectors, width 64, 1024/8192 points,
10000 steps) is sized for one GPU and was not run.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar, Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from phenomena import curves, losses, models, plots, rng, selection, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main, map_runs
from phenomena.models import ACTIVATIONS, MLPConfig
from phenomena.results import Results
from phenomena.train import TrainConfig

HEADS = ("identity", "sigmoid")  # the output activation of each arm (names of models.ACTIVATIONS)
HEAD_NAMES = {"identity": "linear head", "sigmoid": "sigmoid head"}
SUM_TOLERANCE = 1e-6  # softmax outputs must sum to 1 within this, and ignore added constants
VALUE_TOLERANCE = 1e-6  # largest relative error allowed against the extended-precision reference
SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)  # below it float64 loses relative precision
SMALLEST_LOG_SCALE, LARGEST_LOG_SCALE = -1.0, 3.0  # logit scales 10^-1 .. 10^3
LARGEST_LOG_SHIFT = 3.0  # constants added to the logits: |c| up to 10^3
UNDERFLOW_GAP = 700.0  # exp(−700) ≈ 1e-304 is still a float64 number; a larger gap may give 0
ONE_GAP = 30.0  # an entry within 30 of the largest keeps the largest's exact value < 1 − 1e-14
DATA_STREAM, SOFTMAX_STREAM = 2, 3  # each seed key's streams for its datasets and its logits
PLOT_POINTS = 101  # inputs on which the fitted functions are drawn


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    softmax_vectors: int = 4096  # random logit vectors per seed for the softmax check
    classes: int = 10  # entries per logit vector
    target_low: float = -2.0  # smallest target: y = mid + half-range · sin(πx) spans [low, high]
    target_high: float = 3.0  # largest target
    train_size: int = 128  # training inputs per seed (a fresh draw per seed)
    test_size: int = 1024  # test inputs per seed (a fresh draw per seed)
    model: MLPConfig = MLPConfig(width=16, depth=2, activation="tanh",
                                 init="glorot_uniform")  # the body both heads share
    lrs: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3)  # Adam peak rates per head (vmapped)
    train: TrainConfig = TrainConfig(optimizer="adam", lr=0.01, steps=3000, batch_size=0,
                                     eval_every=500)  # full batch; the rate decays to 0 at `steps`

    IGNORED_KEYS: ClassVar[Mapping[str, str]] = {
        "train.lr": "the peak rates are the grid `lrs`, each head keeps its best"}

    def __post_init__(self):
        super().__post_init__()
        check(self.softmax_vectors >= 1, f"softmax_vectors must be positive, got {self.softmax_vectors}")
        check(self.classes >= 2, f"classes must be at least 2, got {self.classes}")
        check(self.target_low < 0 and self.target_high > 1,
              f"the targets must leave (0, 1) on both sides (target_low < 0 < 1 < target_high), "
              f"got [{self.target_low}, {self.target_high}]")
        check(self.train_size >= 2 and self.test_size >= 2,
              f"train_size and test_size must be at least 2, got {self.train_size}, {self.test_size}")
        check(all(lr > 0 for lr in self.lrs), f"lrs must be positive, got {self.lrs}")
        check(self.train.batch_size == 0, "train.batch_size must be 0: the fits are full-batch")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "softmax_vectors": 256, "lrs": (0.01,), "train.steps": 200,
              "train.eval_every": 100},
    "quick": {},
    "full": {"seeds": 32, "softmax_vectors": 65536, "train_size": 1024, "test_size": 8192,
             "model.width": 64, "lrs": (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1),
             "train.steps": 10000, "train.eval_every": 1000},
}


# ------------------------------------------------------------------------ part 1: softmax

def random_draws(key: jax.Array, vectors: int, classes: int) -> dict:
    """The softmax check's raw draws for `vectors` logit vectors: standard normals, and per
    vector a log10 scale in [−1, 3], a log10 shift size in [0, 3] and a sign (see `logits`)."""
    k_normal, k_scale, k_shift, k_sign = jax.random.split(key, 4)
    return {"normal": jax.random.normal(k_normal, (vectors, classes)),
            "log_scale": jax.random.uniform(k_scale, (vectors, 1), minval=SMALLEST_LOG_SCALE,
                                            maxval=LARGEST_LOG_SCALE),
            "log_shift": jax.random.uniform(k_shift, (vectors, 1), maxval=LARGEST_LOG_SHIFT),
            "sign": jnp.where(jax.random.bernoulli(k_sign, 0.5, (vectors, 1)), 1.0, -1.0)}


def logits(draws: dict) -> tuple[jax.Array, jax.Array]:
    """Logit vectors z = 10^log_scale · normal and constants c = sign · 10^log_shift, computed
    in the draws' dtype (float64 in the check, so they use float64's full precision)."""
    return (10.0 ** draws["log_scale"] * draws["normal"],
            draws["sign"] * 10.0 ** draws["log_shift"])


def reference_softmax(z: np.ndarray) -> np.ndarray:
    """softmax over the last axis computed independently of JAX, in numpy's extended precision
    (x87 long double, 64-bit mantissa): exp(z − max z) / Σ exp(z − max z), rounded to float64."""
    wide = np.asarray(z, np.longdouble)
    e = np.exp(wide - wide.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float64)


@functools.partial(jax.jit, static_argnames="softmax")
def softmax_properties(z: jax.Array, shift: jax.Array, reference: jax.Array,
                       softmax=jax.nn.softmax) -> dict:
    """What `softmax` (`jax.nn.softmax`) does to the logit vectors `z` (rows); call it on
    float64 arrays, with `reference = reference_softmax(z)`.

    Returns the largest relative error against `reference` (where the reference is a normal
    float64 number), the largest |Σp − 1|, the largest change from adding `shift` to each row,
    the counts of outputs that are not finite, outside [0, 1], 0 where the exact value is
    representable, or 1 where the exact value is below 1 (those two would be rounding, not
    underflow), the share of outputs that underflow to 0, and the share of rows on which the
    naive exp(z) / Σ exp(z) is not finite.
    """
    p = softmax(z)
    gap = jnp.max(z, axis=-1, keepdims=True) - z  # ≥ 0; the exact p_i is ≤ exp(−gap_i)
    # The largest entry's exact value is < 1 − 1e-14 once another entry is within ONE_GAP.
    largest_two = jax.lax.top_k(z, 2)[0]
    second_gap = largest_two[..., :1] - largest_two[..., 1:]
    naive = jnp.exp(z) / jnp.sum(jnp.exp(z), axis=-1, keepdims=True)
    normal = reference >= SMALLEST_NORMAL
    relative = jnp.abs(p - reference) / jnp.where(normal, reference, 1.0)
    return {
        "value_error": jnp.max(jnp.where(normal, relative, 0.0)),
        "sum_error": jnp.max(jnp.abs(jnp.sum(p, axis=-1) - 1.0)),
        "shift_change": jnp.max(jnp.abs(softmax(z + shift) - p)),
        "not_finite": jnp.sum(~jnp.isfinite(p)),
        "outside_unit": jnp.sum((p < 0) | (p > 1)),
        "zero_where_representable": jnp.sum((p == 0) & (gap < UNDERFLOW_GAP)),
        "one_where_below_one": jnp.sum((p == 1) & (second_gap < ONE_GAP)),
        "underflowed_to_zero": jnp.mean(p == 0),
        "naive_not_finite": jnp.mean(~jnp.all(jnp.isfinite(naive), axis=-1)),
    }


def _softmax_check(draws: dict) -> dict:
    """`softmax_properties` per seed, in float64: `{name: (seed,) array}`.

    The raw draws come in float32 with the datasets (one random program, not two); the logits
    and constants are built from them in float64, so that z + c is not exact by accident (two
    widened float32 numbers add exactly in float64, which would make the shift test trivial).
    """
    with jax.enable_x64(True):
        wide = {k: jnp.asarray(np.asarray(v), jnp.float64) for k, v in draws.items()}
        z, shift = logits(wide)
        reference = jnp.asarray(reference_softmax(np.asarray(z)), jnp.float64)
        found = jax.vmap(softmax_properties)(z, shift, reference)
        return {name: np.asarray(value, np.float64) for name, value in found.items()}


# --------------------------------------------------------------------- part 2: regression

class OutputActivation(nnx.Variable):
    """Which of `HEADS` a network's output goes through: per-run state, not structure."""


class WithOutputActivation(nnx.Module):
    """A network whose output goes through one of the `HEADS` activations, chosen by index.

    The choice is a variable of the model's state rather than part of its structure, so both
    heads share one graph and `train.fit` compiles one program for them (under `vmap` the
    switch evaluates every head and keeps the chosen one: two cheap elementwise maps).
    """

    def __init__(self, body: nnx.Module, activation: str):
        self.body = body
        self.choice = OutputActivation(jnp.int32(HEADS.index(activation)))

    def __call__(self, x, *, train: bool = False, key=None):
        output, intermediates = self.body(x, train=train, key=key)
        heads = [ACTIVATIONS[name] for name in HEADS]
        return jax.lax.switch(self.choice[...], heads, output), intermediates


def _heads(config: Config, activation: str, keys: jax.Array):
    """`(graphdef, state)` of one MLP per key, ending in `activation`."""
    return models.create(lambda rngs: WithOutputActivation(
        models.MLP(1, 1, config.model, rngs=rngs), activation), keys)


def target(config: Config, x):
    """y = mid + half-range · sin(πx): spans [target_low, target_high] over x in [−1, 1]."""
    mid = (config.target_high + config.target_low) / 2
    half = (config.target_high - config.target_low) / 2
    return mid + half * jnp.sin(jnp.pi * x)


@functools.partial(jax.jit, static_argnums=0)
def _draws(config: Config, keys: jax.Array) -> tuple[dict, dict]:
    """Every random draw of a seed key, in one program: a fresh training and test set
    (`{"train", "test"}` of `{"x", "y"}`) and the softmax check's logits, with a seed axis."""
    def datasets(key):
        k_train, k_test = jax.random.split(key)
        sets = {}
        for name, k, n in (("train", k_train, config.train_size), ("test", k_test, config.test_size)):
            x = jax.random.uniform(k, (n, 1), minval=-1.0, maxval=1.0)
            sets[name] = {"x": x, "y": target(config, x)}
        return sets

    draws = jax.vmap(random_draws, in_axes=(0, None, None))(
        rng.run_stream(keys, SOFTMAX_STREAM), config.softmax_vectors, config.classes)
    return jax.vmap(datasets)(rng.run_stream(keys, DATA_STREAM)), draws


def clipped_floor(y) -> jax.Array:
    """The smallest MSE any predictor with outputs in [0, 1] can reach on targets `y`: that of
    clip(y, 0, 1), which is pointwise the nearest such value (last axes: examples, outputs)."""
    return jnp.mean(jnp.sum((y - jnp.clip(y, 0.0, 1.0)) ** 2, axis=-1), axis=-1)


def mse_metrics(model, splits) -> dict:
    """Mean squared error on each split (the evaluate hook)."""
    return {f"{name}/mse": 2 * losses.l2_error(model, data)[0] for name, data in splits.items()}


def _predict(model, x):
    """The network's outputs on `x`, flattened."""
    return model(x)[0][:, 0]


def run(config: Config) -> Results:
    """The softmax check, then both heads at every rate (one program per head), their fits on
    a grid of inputs, and each seed's floor."""
    keys = rng.seed_keys(config.seed, config.seeds)
    sets, draws = _draws(config, keys)
    results = Results()
    for name, values in _softmax_check(draws).items():
        results.add(f"softmax_{name}", values, ("seed",))

    repeats = len(config.lrs)  # runs are rate-major: each rate sees every seed's data
    per_run = jax.tree.map(lambda a: jnp.tile(a, (repeats,) + (1,) * (a.ndim - 1)), sets)
    grid_x = jnp.linspace(-1.0, 1.0, PLOT_POINTS)[:, None]

    def fit_head(arm, run_keys, rates):
        graphdef, state = _heads(config, arm["head"], run_keys)
        spec = config.train.spec(schedule="warmup_cosine", decay_steps=config.train.steps)
        return train.fit(graphdef, state, losses.l2_error, per_run["train"], config.train,
                         run_keys, hparams={"learning_rate": rates}, optimizer=spec,
                         evaluate=mse_metrics, eval_data=per_run, data_axis=0,
                         name=HEAD_NAMES[arm["head"]])

    grid = grid_fit({"head": HEADS, "lr": config.lrs}, fit_head, seed=config.seed,
                    seeds=config.seeds, vmapped="lr")
    grid.add_to(results, evals={"train/mse": "train_mse", "test/mse": "test_mse"},
                diverged="diverged_at")
    fits = [map_runs(_predict, h.graphdef, h.state, grid_x) for h in grid.histories.values()]
    fits = np.stack(fits).reshape(len(HEADS), len(config.lrs), config.seeds, PLOT_POINTS)
    results.add("fit", fits, ("head", "lr", "seed", "x"),
                x=[round(float(v), 6) for v in grid_x[:, 0]])
    results.add("floor", np.asarray(clipped_floor(sets["test"]["y"])), ("seed",))
    return results


# ------------------------------------------------------------------------------ claims

def chosen_rate(results: Results, head: str) -> int:
    """Index of the head's peak rate with the lowest mean final training MSE (never one where
    a run diverged)."""
    final = results.sel("train_mse", head=head)[..., -1]  # (lr, seed)
    return selection.best_by_mean(final, excluded=results.sel("diverged_at", head=head) >= 0)


def at_chosen_rate(results: Results, name: str, head: str) -> np.ndarray:
    """Array `name` of the head at its chosen rate: (seed, ...)."""
    return results.sel(name, head=head)[chosen_rate(results, head)]


def test_mse(results: Results, head: str) -> np.ndarray:
    """Final test MSE per seed at the head's chosen rate."""
    return curves.final(at_chosen_rate(results, "test_mse", head))


claims = ClaimBook("output_activations", questions="Q39, Q41")


@claims.rule("softmax_is_distribution", kind=stats.CHECK,
             rule=f"on every seed's random logit vectors (scales 10^{SMALLEST_LOG_SCALE:g} to "
                  f"10^{LARGEST_LOG_SCALE:g}), jax.nn.softmax in float64 agrees with exp(z − "
                  f"logsumexp z) computed independently in numpy's extended precision to a relative "
                  f"{VALUE_TOLERANCE:g} (wherever that value is a normal float64), gives finite "
                  f"outputs in [0, 1], never 0 where the exact value is representable nor 1 where it is below "
                  f"1 (so in (0, 1) up to underflow), summing to 1 within {SUM_TOLERANCE:g}, and "
                  f"changing by less than {SUM_TOLERANCE:g} when a constant (|c| up to "
                  f"10^{LARGEST_LOG_SHIFT:g}) is added to the logits (statistic: Wilson interval of "
                  f"the share of seeds where all hold; the rule needs every seed)")
def _(results: Results, config: Config):
    sum_error, shift_change = results["softmax_sum_error"], results["softmax_shift_change"]
    bad_outputs = sum(results[f"softmax_{name}"] for name in (
        "not_finite", "outside_unit", "zero_where_representable", "one_where_below_one"))
    value_error = results["softmax_value_error"]
    holds = ((value_error < VALUE_TOLERANCE) & (sum_error < SUM_TOLERANCE)
             & (shift_change < SUM_TOLERANCE) & (bad_outputs == 0))
    return stats.decide(
        bool(holds.all()), "share of seeds where softmax is a distribution, shift-invariant",
        stats.proportion_ci(int(holds.sum()), holds.size),
        largest_relative_error=float(value_error.max()),
        largest_sum_error=float(sum_error.max()), largest_shift_change=float(shift_change.max()),
        outputs_breaking_the_range=int(bad_outputs.sum()),
        share_of_outputs_underflowed_to_0=stats.mean_ci(results["softmax_underflowed_to_zero"],
                                                        bounds=(0, 1)),
        naive_exp_ratio_not_finite_share=stats.mean_ci(results["softmax_naive_not_finite"],
                                                       bounds=(0, 1)))


@claims.rule("regression_needs_linear_output",
             rule="targets y = 0.5 + 2.5 sin(πx) span [−2, 3]; floor = test MSE of clip(y, 0, 1), "
                  "the least any predictor with outputs in [0, 1] can reach on the same targets; "
                  "each head at its own best rate (lowest mean final training MSE), converged "
                  "(cosine decay to 0): reproduced when the paired 95 % CI over seeds of test "
                  "MSE(linear head) − floor lies below 0 (the sigmoid head is reported, not "
                  "asserted: no sigmoid head can go below the floor, so it could not fail; its "
                  "paired gap to the floor and to the linear head are details)")
def _(results: Results, config: Config):
    floor = results["floor"]
    linear, sigmoid = test_mse(results, "identity"), test_mse(results, "sigmoid")
    return stats.decide(
        stats.paired_diff_ci(linear, floor).below(0),
        "test MSE(linear head) − floor (paired)", stats.paired_diff_ci(linear, floor),
        sigmoid_minus_floor=stats.paired_diff_ci(sigmoid, floor),
        sigmoid_minus_linear=stats.paired_diff_ci(sigmoid, linear),
        linear_test_mse=stats.mean_ci(linear, bounds=(0, np.inf)),
        sigmoid_test_mse=stats.mean_ci(sigmoid, bounds=(0, np.inf)),
        floor=stats.mean_ci(floor, bounds=(0, np.inf)),
        chosen_rate={HEAD_NAMES[h]: config.lrs[chosen_rate(results, h)] for h in HEADS},
        train_mse_change_last_quarter={  # near 0 once a run has converged
            HEAD_NAMES[h]: stats.mean_ci(-curves.last_quarter_drop(
                results.coords["step"], at_chosen_rate(results, "train_mse", h))) for h in HEADS})


# ------------------------------------------------------------------------------- figure

COLORS = {"identity": plots.PALETTE[0], "sigmoid": plots.PALETTE[1]}


def _plot_fits(ax, results: Results, config: Config):
    """Both heads' fitted functions (mean and CI over seeds) over the targets and the (0, 1) band."""
    x = np.asarray(results.coords["x"])
    ax.axhspan(0, 1, color="#edae49", alpha=0.25, linewidth=0, label="(0, 1): sigmoid's range")
    # Drawn wide and pale underneath: the linear head's fit covers it.
    ax.plot(x, np.asarray(target(config, x)), color="#999999", linewidth=5, alpha=0.6,
            label="target y")
    for head in HEADS:
        plots.band(ax, x, at_chosen_rate(results, "fit", head), color=COLORS[head],
                   label=HEAD_NAMES[head])
    ax.set_xlabel("x")
    ax.set_ylabel("y, prediction")
    ax.set_title("fits at each head's best rate (mean, 95 % CI)")
    plots.legend_outside(ax)


def _plot_mse(ax, results: Results):
    """Test MSE per head with its CI, against the floor of any (0, 1)-valued predictor."""
    for i, head in enumerate(HEADS):
        # Geometric mean and interval (in log space): the linear head's MSE spans decades.
        mean, low, high = plots.seed_band(test_mse(results, head)[:, None], log=True)
        ax.errorbar([i], mean, yerr=[mean - low, high - mean], fmt="o", color=COLORS[head],
                    capsize=5, markersize=6)
    floor = stats.mean_ci(results["floor"])
    ax.axhspan(floor.low, floor.high, color="grey", alpha=0.3, linewidth=0)
    ax.axhline(floor.mean, color="grey", linestyle="--", label="floor: MSE of clip(y, 0, 1)")
    ax.set_yscale("log")
    ax.set_xticks(range(len(HEADS)), [HEAD_NAMES[h] for h in HEADS])
    ax.set_xlim(-0.6, len(HEADS) - 0.4)
    ax.set_ylabel("test MSE (geometric mean, 95 % CI)")
    ax.set_title("test error against the (0, 1) floor")
    plots.legend_outside(ax)


def plot(results: Results, config: Config) -> dict:
    """Fits of both heads over x; their test MSE against the floor."""
    fig, axes = plots.figure(ncols=2, width=5.2)
    _plot_fits(axes[0, 0], results, config)
    _plot_mse(axes[0, 1], results)
    floor = float(np.mean(results["floor"]))
    linear, sigmoid = (float(np.mean(test_mse(results, h))) for h in HEADS)
    plots.title(fig, f"Targets in [{config.target_low:g}, {config.target_high:g}]: the sigmoid "
                f"head's test MSE stays {100 * (sigmoid / floor - 1):.2g} % above the (0, 1) floor "
                f"of {floor:.3g}; the linear head's falls to {linear:.1g}")
    return {"heads": fig}


main(__spec__)
