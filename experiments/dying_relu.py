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
Runtime: smoke compiles 79 programs (cold: 25 s of compiling); quick ~15 s on 2 idle CPU cores
(8 seeds, 4096 inits; 65-105 s measured on 2 cores shared with other jobs); full ~70 s on one
H100 (32 seeds, 65536 inits, 8000 steps).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from phenomena import curves, data, losses, models, plots, rng, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main, map_runs
from phenomena.models import MLPConfig
from phenomena.probes import dead_mask
from phenomena.results import Results
from phenomena.train import TrainConfig

ACTIVATIONS = ("relu", "leaky_relu", "prelu")
LABELS = {"relu": "ReLU", "leaky_relu": "Leaky ReLU", "prelu": "PReLU"}
NAMES = {label: activation for activation, label in LABELS.items()}
BORN_PART = 2    # seed-key family of the born-dead inits, apart from the bias-shift runs
KILL_STREAM = 2  # each run key's stream for choosing which units the bias shift kills


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    # Part 1: born dead at init.
    inits: int = 4096               # independent narrow nets drawn at init (the proportions' n)
    born_width: int = 3             # units per hidden layer of the born-dead nets
    born_depths: tuple[int, ...] = (2, 5, 10, 20, 30)  # hidden layers read off each init (incl. 5, 20)
    grid_points: int = 256          # evenly spaced 1-D inputs in [-1, 1] a unit must be dead on
    # Part 2: bias shift on MNIST-1D.
    width: int = 64                 # units per hidden layer of the bias-shifted MNIST-1D nets
    depth: int = 3                  # hidden layers of the bias-shifted nets
    kill_fractions: tuple[float, ...] = (0.0, 0.5, 0.9)  # share of each layer's units killed (from 0)
    margin: float = 1.0             # pre-activation std's a killed unit's max ends below 0
    train: TrainConfig = TrainConfig(optimizer="adam", lr=1e-2, steps=1000, batch_size=100,  # shifted nets
                                     eval_every=100)

    def __post_init__(self):
        super().__post_init__()
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
    "smoke": {"seeds": 2, "inits": 256, "born_depths": (5, 20), "grid_points": 32, "width": 3,
              "depth": 2, "train.steps": 50, "train.eval_every": 50},
    "quick": {},
    "full": {"seeds": 32, "inits": 65536, "born_depths": (2, 5, 10, 20, 30, 50),
             "kill_fractions": (0.0, 0.25, 0.5, 0.75, 0.9), "train.steps": 8000,
             "train.eval_every": 200},
}


# ---------------------------------------------------------------- part 1: born dead

def _layer_death(model, inputs):
    """Per hidden layer of one net: (all units dead on `inputs`, activations constant on them)."""
    dead, constant, h = [], [], inputs
    for i in range(len(model.hidden)):
        z, h = model.hidden_layer(i, h)
        dead.append(jnp.all(dead_mask(z)))
        constant.append(jnp.all(jnp.ptp(h, axis=0) == 0))
    return jnp.stack(dead), jnp.stack(constant)


def _born_dead(config: Config, activation: str, inputs: jax.Array):
    """Per init and depth of `born_depths`: (some layer entirely dead, output constant).

    The hidden layers 1..L of a deeper He-initialized net are distributed exactly as a depth-L
    net's, so one net of the largest depth answers every depth: born dead at depth L means a
    dead layer among the first L, and the output of a depth-L net (a linear head on layer L)
    is constant when layer L's activations are. The same inits serve every activation.
    """
    keys = rng.seed_keys(config.seed, config.inits, part=BORN_PART)
    model = MLPConfig(width=config.born_width, depth=max(config.born_depths),
                      activation=activation, init="he_normal")
    graphdef, state = models.mlps(1, 1, model, keys)
    layer_dead, layer_constant = map_runs(_layer_death, graphdef, state, inputs)
    index = np.asarray(config.born_depths) - 1
    return np.maximum.accumulate(layer_dead, axis=1)[:, index], layer_constant[:, index]


# ---------------------------------------------------------------- part 2: bias shift

def kill_units(model, x, key, fraction, margin):
    """Lower the bias of a random `fraction` of each hidden layer's units until they are dead.

    Layer by layer (so each layer sees the already-shifted layers below it), the chosen units'
    biases drop by (max over `x` of their pre-activation) + margin x (its std over `x`).
    Returns the model's new state.
    """
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


def _dead_and_accuracy(model, splits):
    _, aux = model(splits["train"]["x"])
    dead = jnp.stack([dead_mask(z) for z in aux["preacts"]]).astype(jnp.float32)
    return {"dead": dead, **losses.classification_metrics(model, {"test": splits["test"]})}


def run(config: Config) -> Results:
    """Count born-dead nets by depth, then train bias-shifted nets of each activation."""
    results = Results()
    labels = [LABELS[a] for a in ACTIVATIONS]
    inputs = data.uniform_grid(config.grid_points)
    born = [_born_dead(config, activation, inputs) for activation in ACTIVATIONS]
    results.add("born_dead", np.stack([b[0].T for b in born]), ("activation", "depth", "init"),
                activation=labels, depth=list(config.born_depths))
    results.add("output_constant", np.stack([b[1].T for b in born]), ("activation", "depth", "init"))

    splits = data.mnist1d_splits()

    def fit_shifted(arm, keys, fractions):
        # Same init and same batches for every fraction: comparisons across fractions are paired.
        model = MLPConfig(width=config.width, depth=config.depth,
                          activation=NAMES[arm["activation"]], init="he_normal")
        graphdef, state = models.mlps(data.MNIST1D_LENGTH, data.MNIST1D_CLASSES, model, keys)
        state = map_runs(kill_units, graphdef, state, splits["train"]["x"],
                         rng.run_stream(keys, KILL_STREAM), fractions, config.margin,
                         run_axes=(None, 0, 0, None))
        return train.fit(graphdef, state, losses.cross_entropy, splits["train"], config.train, keys,
                         evaluate=_dead_and_accuracy, eval_data=splits,
                         name=arm["activation"])

    grid = grid_fit({"activation": labels, "kill": config.kill_fractions}, fit_shifted,
                    seed=config.seed, seeds=config.seeds, vmapped="kill")
    grid.add_to(results, evals={"test/accuracy": "test_accuracy"}, diverged="diverged_at")
    dead = grid.evals("dead")  # (activation, kill, seed, step, layer, unit); NaN where diverged
    results.add("dead_fraction", np.mean(dead, axis=(-2, -1)), ("activation", "kill", "seed", "step"))
    first, last = dead[..., 0, :, :], dead[..., -1, :, :]
    with np.errstate(invalid="ignore"):
        revived = np.sum(first * (1 - last), axis=-1) / np.sum(first, axis=-1)
    layers = list(range(1, config.depth + 1))
    results.add("revived", revived, ("activation", "kill", "seed", "layer"), layer=layers)
    results.add("killed_units", np.sum(first, axis=-1), ("activation", "kill", "seed", "layer"))
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


def _revived(results: Results, activation: str, layers=slice(None)) -> stats.Interval:
    """Share of the killed units (kill fractions > 0 pooled) alive at the end, over seeds."""
    revived = results.sel("revived", activation=activation)[1:, :, layers]
    killed = results.sel("killed_units", activation=activation)[1:, :, layers]
    return stats.mean_ci(revived_per_seed(revived, killed, axis=(0, 2)), bounds=(0, 1))


def _final_test_accuracy(results: Results, activation: str) -> np.ndarray:
    """Test accuracy at the last step, (kill, seed)."""
    return curves.final(results.sel("test_accuracy", activation=activation))


claims = ClaimBook("dying_relu")


@claims.rule("born_dead_with_depth", questions="Q36",
             rule="width-3 ReLU nets: the Wilson 95 % CI of P(some layer entirely dead at init) lies "
                  "above 0.75 at depth 20, and P(20) - P(5) > 0 with disjoint CIs")
def _(results: Results, config: Config):
    p = {d: _proportion(results.sel("born_dead", activation="ReLU", depth=d))
         for d in config.born_depths}
    constant_other = {a: _proportion(results.sel("output_constant", activation=a)).mean
                      for a in ("Leaky ReLU", "PReLU")}
    return stats.decide(p[20].above(0.75) and p[20].low > p[5].high,
                        "P(born dead), ReLU width 3, depth 20", p[20], p_by_depth=p,
                        p_output_constant_leaky_prelu=constant_other)


@claims.rule("relu_units_stay_dead", questions="Q36, Q38", expected=stats.NUANCED,
             rule="of the units dead right after the bias shift (kill fractions > 0 pooled), the "
                  "fraction alive at the end of training, per seed: 'reproduced' if ReLU's CI lies "
                  "below 0.1 while Leaky ReLU's and PReLU's lie above 0.5; 'nuanced' if ReLU's first "
                  "hidden layer (whose inputs never change) has its CI below 0.1 but its deeper "
                  "layers do not, Leaky ReLU and PReLU as before; else 'not reproduced'",
             deviation="CLAIMS.md expects 'reproduced'. A dead ReLU unit gets exactly zero gradient, "
                       "and first-layer units indeed never revived (0 %), but units of deeper layers "
                       "revive when the layers below them move: about 55 % of them within 1000 Adam "
                       "steps (and still about half after 4000), on seeds 0 and 1 alike. Leaky ReLU "
                       "and PReLU units revive almost all (97-99 %).")
def _(results: Results, config: Config):
    revived = {a: _revived(results, a) for a in results.coords["activation"]}
    first, deeper = _revived(results, "ReLU", slice(0, 1)), _revived(results, "ReLU", slice(1, None))
    others_revive = revived["Leaky ReLU"].above(0.5) and revived["PReLU"].above(0.5)
    if revived["ReLU"].below(0.1) and others_revive:
        verdict = stats.REPRODUCED
    elif first.below(0.1) and not deeper.below(0.1) and others_revive:
        verdict = stats.NUANCED
    else:
        verdict = stats.NOT_REPRODUCED
    return stats.outcome(verdict, "fraction of killed ReLU units alive at the end", revived["ReLU"],
                         relu_first_layer=first, relu_deeper_layers=deeper,
                         leaky_relu=revived["Leaky ReLU"], prelu=revived["PReLU"],
                         diverged_runs_excluded=int(np.sum(results["diverged_at"] >= 0)))


@claims.rule("dead_units_cost_accuracy", questions="Q36, Q38", expected=stats.NOT_REPRODUCED,
             rule="test-accuracy drop from kill fraction 0 to the largest (paired over seeds): ReLU's "
                  "CI lies above 5 points, Leaky ReLU's and PReLU's CIs lie below 5 points",
             deviation="CLAIMS.md expects 'reproduced'. ReLU loses the most (17-19 points at 90 % "
                       "killed), but Leaky ReLU (about 10 points) and PReLU (about 8.5 points) lose "
                       "accuracy too, on seeds 0 and 1 alike: their units revive, yet the nets start "
                       "nearly linear and lag behind, at 1000 steps and still at 4000 (Leaky about 9, "
                       "PReLU about 5). ReLU loses about twice as much; 'not for Leaky/PReLU' does "
                       "not hold.")
def _(results: Results, config: Config):
    drop = {}
    for activation in results.coords["activation"]:
        accuracy = _final_test_accuracy(results, activation) * 100
        drop[activation] = stats.paired_diff_ci(accuracy[0], accuracy[-1])
    costs = drop["ReLU"].above(5) and drop["Leaky ReLU"].below(5) and drop["PReLU"].below(5)
    return stats.decide(costs, "ReLU test-accuracy drop (points), kill 0 -> largest", drop["ReLU"],
                        leaky_relu=drop["Leaky ReLU"], prelu=drop["PReLU"],
                        largest_kill_fraction=config.kill_fractions[-1])


def plot(results: Results, config: Config) -> dict:
    """Born-dead probability against depth; dead fraction through training; accuracy vs kill."""
    figures = {}
    fig, axes = plots.figure(width=7.0, height=4.2)
    ax = axes[0, 0]
    depths = config.born_depths
    for i, activation in enumerate(results.coords["activation"]):
        for name, style, text in (("born_dead", "-", "some layer dead"),
                                  ("output_constant", "--", "output constant")):
            ps = [_proportion(results.sel(name, activation=activation, depth=d)) for d in depths]
            ax.plot(depths, [q.mean for q in ps], style, marker="o", markersize=4,
                    color=plots.PALETTE[i], label=f"{activation}: {text}")
            ax.fill_between(depths, [q.low for q in ps], [q.high for q in ps],
                            color=plots.PALETTE[i], alpha=0.2, linewidth=0)
    ax.set_xlabel(f"depth (hidden layers of width {config.born_width})")
    ax.set_ylabel("probability at initialization")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 0.04))
    plots.title(fig, "Narrow deep ReLU nets are born dead; Leaky/PReLU nets never output a constant")
    figures["born_dead"] = fig

    fig, axes = plots.figure(ncols=3, width=4.2)
    ax = axes[0, 0]
    steps = results.coords["step"]
    kills = config.kill_fractions
    middle = kills[len(kills) // 2]
    for i, activation in enumerate(results.coords["activation"]):
        dead = results.sel("dead_fraction", activation=activation, kill=middle)
        plots.band(ax, steps, dead, label=activation, color=plots.PALETTE[i])
    ax.set_xlabel("training step (Adam)")
    ax.set_ylabel("fraction of hidden units dead")
    ax.set_title(f"after killing {middle:.0%} of units")
    ax.set_ylim(bottom=0)
    ax.legend()
    ax = axes[0, 1]
    for i, activation in enumerate(results.coords["activation"]):
        accuracy = _final_test_accuracy(results, activation).T * 100  # (seed, kill)
        plots.band(ax, kills, accuracy, label=activation, color=plots.PALETTE[i], marker="o")
    ax.set_xlabel("fraction of units killed by the bias shift")
    ax.set_ylabel("test accuracy after training (%)")
    ax.set_title("accuracy against killed fraction")
    ax.legend(loc="lower left")  # the curves fall to the right: the top right holds data
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


main(__spec__)
