"""Dying ReLU: narrow deep ReLU nets are born dead; killed ReLU units revive only if their inputs move.

Q&A: Q36, Q38. A unit is *dead* when its pre-activation is ≤ 0 for every input of the
dataset; the same definition is used for ReLU, Leaky ReLU (slope 0.01) and PReLU (learned
slope, 0.25 at init). Diverged runs are excluded, never counted as alive.

Part 1 (born dead, Lu et al. 2020): thousands of vmapped width-3 nets (He init, zero bias) on
a grid of 1-D inputs; the probability that some layer is entirely dead at init, by depth.
For ReLU that makes the output constant; for Leaky ReLU and PReLU it does not (the negative
side still carries signal), which the figure shows as the probability of a constant output.
Part 2 (bias shift): MLPs on MNIST-1D, where a negative bias shift kills a chosen fraction of
every hidden layer's units (each chosen unit's bias is lowered below its largest
pre-activation over the training set by one standard deviation), then Adam trains them.
We track the dead fraction through training and the test accuracy at the end.

Command:  python -m experiments.dying_relu --profile quick
Expected: born dead with P ≈ 0.29/0.65/0.90 at depth 5/10/20 for ReLU, never a constant output
for Leaky/PReLU; killed ReLU units stay dead (zero gradient) while Leaky/PReLU units revive;
accuracy falls with the killed fraction for ReLU only.
Runtime: smoke ~5 s; quick ~15 s on 2 CPU cores (8 seeds, 4096 inits); full ~70 s on one H100
(32 seeds, 65536 inits, 8000 steps).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from phenomena import data, losses, models, plots, rng, stats, train
from phenomena.config import check
from phenomena.models import MLPConfig
from phenomena.probes import dead_mask
from phenomena.results import Results
from phenomena.stats import Claim, decide
from phenomena.train import TrainConfig

ACTIVATIONS = ("relu", "leaky_relu", "prelu")
LABELS = {"relu": "ReLU", "leaky_relu": "Leaky ReLU", "prelu": "PReLU"}
BORN_STREAM = 2  # key stream of the born-dead inits, apart from the bias-shift runs
KILL_STREAM = 2  # each run key's stream for choosing which units the bias shift kills


@dataclasses.dataclass(frozen=True)
class Config:
    """Every knob of the experiment; `PROFILES` override some of them."""

    seed: int = 0
    seeds: int = 8
    # Part 1: born dead at init.
    inits: int = 4096
    born_width: int = 3
    born_depths: tuple[int, ...] = (2, 5, 10, 20, 30)
    grid_points: int = 256
    # Part 2: bias shift on MNIST-1D.
    width: int = 64
    depth: int = 3
    kill_fractions: tuple[float, ...] = (0.0, 0.5, 0.9)
    margin: float = 1.0  # how many pre-activation std's below the data's maximum
    train: TrainConfig = TrainConfig(optimizer="adam", lr=1e-2, steps=1000, batch_size=100,
                                     eval_every=100)

    def __post_init__(self):
        check(self.inits > 0, f"inits must be positive, got {self.inits}")
        check(5 in self.born_depths and 20 in self.born_depths,
              "born_depths must include 5 and 20 (the claim compares them)")
        check(all(d >= 1 for d in self.born_depths), "born_depths must be >= 1")
        check(self.born_width > 0 and self.width > 0 and self.depth > 0, "widths and depth must be positive")
        check(self.grid_points >= 2, "grid_points must be >= 2")
        check(len(self.kill_fractions) >= 2 and self.kill_fractions[0] == 0.0,
              "kill_fractions must start at 0.0 and have at least two values")
        check(all(0 <= f < 1 for f in self.kill_fractions), "kill_fractions must lie in [0, 1)")
        check(self.margin >= 0, "margin must be >= 0")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "inits": 256, "born_depths": (5, 20), "train.steps": 100,
              "train.eval_every": 50},
    "quick": {},
    "full": {"seeds": 32, "inits": 65536, "born_depths": (2, 5, 10, 20, 30, 50),
             "kill_fractions": (0.0, 0.25, 0.5, 0.75, 0.9), "train.steps": 8000,
             "train.eval_every": 200},
}

CLAIMS = [
    Claim("dying_relu.born_dead_with_depth", "Q36",
          "width-3 ReLU nets: the Wilson 95 % CI of P(some layer entirely dead at init) lies above "
          "0.75 at depth 20, and P(20) - P(5) > 0 with disjoint CIs"),
    Claim("dying_relu.relu_units_stay_dead", "Q36, Q38",
          "of the units dead right after the bias shift (kill fractions > 0 pooled), the fraction "
          "alive at the end of training, per seed: 'reproduced' if ReLU's CI lies below 0.1 while "
          "Leaky ReLU's and PReLU's lie above 0.5; 'nuanced' if ReLU's first hidden layer (whose "
          "inputs never change) has its CI below 0.1 but its deeper layers do not, Leaky ReLU and "
          "PReLU as before; else 'not reproduced'",
          expected=stats.NUANCED,
          deviation="CLAIMS.md expects 'reproduced'. A dead ReLU unit gets exactly zero gradient, "
          "and first-layer units indeed never revived (0 %), but units of deeper layers revive "
          "when the layers below them move: about 55 % of them within 1000 Adam steps (and "
          "still about half after 4000), on seeds 0 and 1 alike. Leaky ReLU and PReLU units "
          "revive almost all (97-99 %)."),
    Claim("dying_relu.dead_units_cost_accuracy", "Q36, Q38",
          "test-accuracy drop from kill fraction 0 to the largest (paired over seeds): ReLU's CI "
          "lies above 5 points, Leaky ReLU's and PReLU's CIs lie below 5 points",
          expected=stats.NOT_REPRODUCED,
          deviation="CLAIMS.md expects 'reproduced'. ReLU loses the most (17-19 points at 90 % "
          "killed), but Leaky ReLU (about 10 points) and PReLU (about 8.5 points) lose accuracy "
          "too, on seeds 0 and 1 alike: their units revive, yet the nets start nearly linear "
          "and lag behind, at 1000 steps and still at 4000 (Leaky about 9, PReLU about 5). "
          "ReLU loses about twice as much; 'not for Leaky/PReLU' does not hold."),
]


# ---------------------------------------------------------------- part 1: born dead

def _born_dead(config: Config, activation: str, inputs: jax.Array):
    """Per init and depth of `born_depths`: (some layer entirely dead, output constant).

    The hidden layers 1..L of a deeper He-initialized net are distributed exactly as a depth-L
    net's, so one net of the largest depth answers every depth: born dead at depth L means a
    dead layer among the first L, and the output of a depth-L net (a linear head on layer L)
    is constant when layer L's activations are. The same inits serve every activation.
    """
    keys = rng.seed_keys(config.seed, config.inits, part=BORN_STREAM)
    model = MLPConfig(width=config.born_width, depth=max(config.born_depths),
                      activation=activation, init="he_normal")
    graphdef, state = models.mlps(1, 1, model, keys)
    layer_dead, layer_constant = (np.asarray(a) for a in _layer_death(graphdef, state, inputs))
    index = np.asarray(config.born_depths) - 1
    return np.maximum.accumulate(layer_dead, axis=1)[:, index], layer_constant[:, index]


@functools.partial(jax.jit, static_argnums=0)
def _layer_death(graphdef, state, inputs):
    """Per init and hidden layer: (all units dead on `inputs`, activations constant on them)."""
    def one(s):
        model = nnx.merge(graphdef, s)
        dead, constant, h = [], [], inputs
        for i in range(len(model.hidden)):
            z, h = model.hidden_layer(i, h)
            dead.append(jnp.all(dead_mask(z)))
            constant.append(jnp.all(jnp.ptp(h, axis=0) == 0))
        return jnp.stack(dead), jnp.stack(constant)
    return jax.vmap(one)(state)


# ---------------------------------------------------------------- part 2: bias shift

def kill_units(graphdef, state, x, key, fraction, margin):
    """Lower the bias of a random `fraction` of each hidden layer's units until they are dead.

    Layer by layer (so each layer sees the already-shifted layers below it), the chosen units'
    biases drop by (max over `x` of their pre-activation) + margin x (its std over `x`).
    """
    model = nnx.merge(graphdef, state)
    h = x
    for i, layer in enumerate(model.hidden):
        z, _ = model.hidden_layer(i, h)
        width = z.shape[-1]
        rank = jax.random.permutation(jax.random.fold_in(key, i), width)
        chosen = rank < jnp.round(fraction * width).astype(rank.dtype)
        shift = jnp.max(z, axis=0) + margin * jnp.std(z, axis=0)
        layer.bias[...] = layer.bias[...] - jnp.where(chosen, shift, 0.0)
        _, h = model.hidden_layer(i, h)
    return nnx.state(model)


_kill_program = jax.jit(jax.vmap(kill_units, in_axes=(None, 0, None, 0, 0, None)), static_argnums=0)


def _dead_and_accuracy(model, splits):
    _, aux = model(splits["train"]["x"])
    dead = jnp.stack([dead_mask(z) for z in aux["preacts"]]).astype(jnp.float32)
    return {"dead": dead, **losses.classification_metrics(model, {"test": splits["test"]})}


def _bias_shift(config: Config, activation: str, splits):
    """Train every (kill fraction, seed) run of one activation; arrays shaped (fraction, seed, ...)."""
    # Same init and same batches for every fraction: comparisons across fractions are paired.
    sweep = train.Sweep(config.kill_fractions, config.seeds, config.seed)
    keys = sweep.keys()
    model = MLPConfig(width=config.width, depth=config.depth, activation=activation, init="he_normal")
    graphdef, state = models.mlps(40, 10, model, keys)
    state = _kill_program(graphdef, state, splits["train"]["x"],
                          rng.run_stream(keys, KILL_STREAM), sweep.run_values(),
                          config.margin)
    history = train.fit(graphdef, state, losses.cross_entropy, splits["train"], config.train, keys,
                        evaluate=_dead_and_accuracy, eval_data=splits, name=LABELS[activation])
    dead = history.evals["dead"]  # (runs, evals, layers, width); NaN for diverged runs
    first, last = dead[:, 0], dead[:, -1]
    with np.errstate(invalid="ignore"):
        revived = np.sum(first * (1 - last), axis=2) / np.sum(first, axis=2)  # (runs, layers)
    return {
        "dead_fraction": sweep.unflatten(np.mean(dead, axis=(2, 3))),
        "revived": sweep.unflatten(revived),
        "killed": sweep.unflatten(np.sum(first, axis=2)),
        "test_accuracy": sweep.unflatten(history.evals["test/accuracy"][:, -1]),
        "diverged": sweep.unflatten(history.diverged_at >= 0),
        "eval_steps": history.eval_steps,
    }


def run(config: Config) -> Results:
    """Count born-dead nets by depth, then train bias-shifted nets of each activation."""
    inputs = data.uniform_grid(config.grid_points)
    born = np.zeros((len(ACTIVATIONS), len(config.born_depths), config.inits), bool)
    constant = np.zeros_like(born)
    for a, activation in enumerate(ACTIVATIONS):
        dead_by_depth, constant_by_depth = _born_dead(config, activation, inputs)
        born[a], constant[a] = dead_by_depth.T, constant_by_depth.T

    splits = data.mnist1d_splits()
    shifted = [_bias_shift(config, activation, splits) for activation in ACTIVATIONS]

    results = Results(meta={"kill_fractions": list(config.kill_fractions)})
    labels = [LABELS[a] for a in ACTIVATIONS]
    results.add("born_dead", born, ("activation", "depth", "init"),
                activation=labels, depth=list(config.born_depths))
    results.add("output_constant", constant, ("activation", "depth", "init"))
    stack = lambda name: np.stack([s[name] for s in shifted])  # noqa: E731
    results.add("dead_fraction", stack("dead_fraction"), ("activation", "kill", "seed", "step"),
                kill=list(config.kill_fractions), step=shifted[0]["eval_steps"].tolist())
    layers = list(range(1, config.depth + 1))
    results.add("revived", stack("revived"), ("activation", "kill", "seed", "layer"), layer=layers)
    results.add("killed_units", stack("killed"), ("activation", "kill", "seed", "layer"))
    results.add("test_accuracy", stack("test_accuracy"), ("activation", "kill", "seed"))
    results.add("diverged", stack("diverged"), ("activation", "kill", "seed"))
    return results


def revived_per_seed(revived: np.ndarray, killed: np.ndarray, axis) -> np.ndarray:
    """Share of killed units alive at the end, pooled over `axis`, seed by seed.

    Runs that diverged have NaN revival and are left out of numerator and denominator alike
    (never counted as dead, nor as alive); a seed with no finite run gives NaN.
    """
    weight = np.where(np.isfinite(revived), killed, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nansum(revived * weight, axis=axis) / np.sum(weight, axis=axis)


def _proportion(flags) -> stats.Interval:
    flags = np.asarray(flags, bool)
    return stats.proportion_ci(int(flags.sum()), int(flags.size))


def claims(results: Results) -> list[stats.Verdict]:
    """Decide the three claims from the init counts and the bias-shift runs."""
    by_id = {c.id.split(".")[1]: c for c in CLAIMS}
    depths = results.coords["depth"]
    p = {d: _proportion(results.sel("born_dead", activation="ReLU", depth=d)) for d in depths}
    grows = p[20].low > p[5].high
    constant_other = {a: _proportion(results.sel("output_constant", activation=a)).mean
                      for a in ("Leaky ReLU", "PReLU")}

    def revived_ci(activation: str, layers=slice(None)) -> stats.Interval:
        revived = results.sel("revived", activation=activation)[1:, :, layers]
        killed = results.sel("killed_units", activation=activation)[1:, :, layers]
        return stats.mean_ci(revived_per_seed(revived, killed, axis=(0, 2)))

    revived = {a: revived_ci(a) for a in results.coords["activation"]}
    relu_first, relu_deeper = revived_ci("ReLU", slice(0, 1)), revived_ci("ReLU", slice(1, None))
    others_revive = revived["Leaky ReLU"].above(0.5) and revived["PReLU"].above(0.5)
    if revived["ReLU"].below(0.1) and others_revive:
        stay_verdict = stats.REPRODUCED
    elif relu_first.below(0.1) and not relu_deeper.below(0.1) and others_revive:
        stay_verdict = stats.NUANCED
    else:
        stay_verdict = stats.NOT_REPRODUCED

    drop = {a: stats.paired_diff_ci(results.sel("test_accuracy", activation=a)[0] * 100,
                                    results.sel("test_accuracy", activation=a)[-1] * 100)
            for a in results.coords["activation"]}
    costs = drop["ReLU"].above(5) and drop["Leaky ReLU"].below(5) and drop["PReLU"].below(5)
    diverged = int(np.sum(results["diverged"]))
    return [
        decide(by_id["born_dead_with_depth"], p[20].above(0.75) and grows,
               "P(born dead), ReLU width 3, depth 20", p[20],
               p_by_depth={d: p[d] for d in depths},
               p_output_constant_leaky_prelu=constant_other),
        stats.Verdict(by_id["relu_units_stay_dead"], stay_verdict,
                      "fraction of killed ReLU units alive at the end", revived["ReLU"],
                      {"relu_first_layer": relu_first, "relu_deeper_layers": relu_deeper,
                       "leaky_relu": revived["Leaky ReLU"], "prelu": revived["PReLU"],
                       "diverged_runs_excluded": diverged}),
        decide(by_id["dead_units_cost_accuracy"], costs,
               "ReLU test-accuracy drop (points), kill 0 -> largest", drop["ReLU"],
               leaky_relu=drop["Leaky ReLU"], prelu=drop["PReLU"],
               largest_kill_fraction=results.coords["kill"][-1]),
    ]


def plot(results: Results) -> dict:
    """Born-dead probability against depth; dead fraction through training; accuracy vs kill."""
    figures = {}
    fig, axes = plots.figure(width=7.0, height=4.2)
    ax = axes[0, 0]
    depths = results.coords["depth"]
    for i, activation in enumerate(results.coords["activation"]):
        for name, style, text in (("born_dead", "-", "some layer dead"),
                                  ("output_constant", "--", "output constant")):
            ps = [_proportion(results.sel(name, activation=activation, depth=d)) for d in depths]
            ax.plot(depths, [q.mean for q in ps], style, marker="o", markersize=4,
                    color=plots.PALETTE[i], label=f"{activation}: {text}")
            ax.fill_between(depths, [q.low for q in ps], [q.high for q in ps],
                            color=plots.PALETTE[i], alpha=0.2, linewidth=0)
    ax.set_xlabel("depth (hidden layers of width 3)")
    ax.set_ylabel("probability at initialization")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 0.04))
    plots.title(fig, "Narrow deep ReLU nets are born dead; Leaky/PReLU nets never output a constant")
    figures["born_dead"] = fig

    fig, axes = plots.figure(ncols=3, width=4.2)
    ax = axes[0, 0]
    steps = results.coords["step"]
    middle = results.coords["kill"][len(results.coords["kill"]) // 2]
    for i, activation in enumerate(results.coords["activation"]):
        curves = results.sel("dead_fraction", activation=activation, kill=middle)
        plots.band(ax, steps, curves, label=activation, color=plots.PALETTE[i])
    ax.set_xlabel("training step (Adam)")
    ax.set_ylabel("fraction of hidden units dead")
    ax.set_title(f"after killing {middle:.0%} of units")
    ax.set_ylim(bottom=0)
    ax.legend()
    ax = axes[0, 1]
    kills = results.coords["kill"]
    for i, activation in enumerate(results.coords["activation"]):
        accuracy = results.sel("test_accuracy", activation=activation).T * 100  # (seed, kill)
        plots.band(ax, kills, accuracy, label=activation, color=plots.PALETTE[i], marker="o")
    ax.set_xlabel("fraction of units killed by the bias shift")
    ax.set_ylabel("test accuracy after training (%)")
    ax.set_title("accuracy against killed fraction")
    ax.legend()
    ax = axes[0, 2]
    layers = np.asarray(results.coords["layer"])
    bar = 0.8 / len(results.coords["activation"])
    for i, activation in enumerate(results.coords["activation"]):
        revived = results.sel("revived", activation=activation)[1:]  # (kill > 0, seed, layer)
        killed = results.sel("killed_units", activation=activation)[1:]
        per_seed = revived_per_seed(revived, killed, axis=0)  # (seed, layer)
        mean, low, high = plots.seed_band(per_seed)
        ax.bar(layers + (i - 1) * bar, mean, bar, color=plots.PALETTE[i], label=activation,
               yerr=[mean - low, high - mean], capsize=2)
    ax.set_xticks(layers)
    ax.set_xlabel("hidden layer (1 = inputs never change)")
    ax.set_ylabel("fraction of killed units alive at the end")
    ax.set_title("revival by layer")
    ax.set_ylim(0, 1.05)
    plots.title(fig, "Killed ReLU units revive only when the layers below them move, and cost the "
                     "most accuracy; Leaky ReLU and PReLU units revive everywhere")
    figures["bias_shift"] = fig
    return figures


if __name__ == "__main__":
    import sys

    from phenomena.cli import experiment_main

    sys.exit(experiment_main(__spec__.name))
