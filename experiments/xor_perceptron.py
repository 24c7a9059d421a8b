"""XOR: a linear perceptron cannot fit it, one hidden tanh layer can (8 units always, 2 units often stuck); AND/OR need the bias.

Q&A: Q24, Q27, Q9. Setup: the four points of a logic gate on {0, 1}², full-batch gradient
descent (plain GD, lr 0.5) on the sigmoid cross-entropy of one output logit, Glorot-normal
weights, zero biases, many seeds (the models are tiny: 256 seeds in quick). Models: a
single-layer perceptron σ(w·x + b), with and without its bias, on XOR, AND and OR; and
one-hidden-layer tanh MLPs of 1, 2, 3, 4 and 8 units on XOR. A point counts as fitted only
when its logit has the sign of its label (a logit of exactly 0 sits on the boundary and
counts as wrong; the conventional "logit > 0 predicts 1" would credit it to class 0, which is
the AND/OR label of (0, 0)); a seed *solves* a gate when all four points are fitted. Every
model of a seed shares its seed key; the share of seeds solving is decided with Wilson
intervals. Convergence: the shares are also read at half the budget.

Command:  python -m experiments.xor_perceptron --profile quick
Expected (quick, 256 seeds; seed 0 / seed 1): the perceptron's best XOR accuracy is 0.75 at
both seeds (mean 0.48: it settles at w = 0, P = 0.5 everywhere); share of seeds solving XOR
by hidden width 1/2/3/4/8: 0.00/0.57/0.92/1.00/1.00 and 0.00/0.54/0.92/1.00/1.00; 8 units:
1.00 [0.985, 1.00] at both seeds; 2 units stuck in 0.43 [0.37, 0.49] / 0.46 [0.40, 0.53] of
seeds (LITERATURE: ~1/3), the same share at half the budget (converged: no stuck seed
escapes in the second 2500 steps). The excess over ~1/3 comes from the {0, 1} input encoding
(review, measured outside this module): with ±1 inputs (`toy2d.gate(..., signed=True)`) the
2-unit stuck share is 0.27 [0.24, 0.31] (512 seeds, GD lr 0.5); random bias inits leave the
{0, 1} share at 0.44; and it is converged, not a budget effect: 0.43-0.52 across lr 0.05-2,
20 000 steps, Adam, and He / Glorot-uniform inits. AND/OR: fitted by every seed with bias (1.00 [0.993, 1.00]
of 512 runs); without bias the best strict accuracy is 0.75 and the (0, 0) logit is exactly
0 in every run, although the conventional "logit > 0" accuracy would credit OR with 1.00.
Runtime: smoke ~22 s CPU (compilation of small programs); quick 13-15 s CPU (user+sys) on 2
shared CPU cores; full (4096 seeds, 7 widths, 20000 steps) is for one GPU and was not run.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Mapping

import jax.numpy as jnp
import numpy as np

from phenomena import boundaries, models, plots, stats, toy2d, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main
from phenomena.losses import sigmoid_cross_entropy
from phenomena.models import MLPConfig
from phenomena.results import Results
from phenomena.train import TrainConfig

GATES = ("xor", "and", "or")
BIAS = ("with bias", "no bias")
LINEAR_PART = 1  # seed-key family of the perceptrons (the MLPs use family 0)
SPAN = (-0.5, 1.5, -0.5, 1.5)  # the square the decision regions are drawn on


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    seeds: int = 256  # independent inits per model (the shares' n)
    widths: tuple[int, ...] = (1, 2, 3, 4, 8)  # hidden tanh units of the MLPs on XOR
    claim_width: int = 8  # the width that must solve XOR in >= 95 % of seeds
    small_width: int = 2  # the width whose stuck seeds (local minima) are reported
    init: str = "glorot_normal"  # weight initializer of every model (biases start at 0)
    grid_size: int = 64  # decision regions are evaluated on grid_size x grid_size points
    train: TrainConfig = TrainConfig(optimizer="sgd", lr=0.5, steps=5000, batch_size=0,  # full-batch GD
                                     eval_every=500)

    IGNORED_KEYS: ClassVar[Mapping[str, str]] = {"train.batch_size": "training is full-batch on the four points",
                    "train.momentum": "plain gradient descent has no momentum"}

    def __post_init__(self):
        super().__post_init__()
        check(self.seeds >= 8, f"seeds must be at least 8 (shares over seeds), got {self.seeds}")
        check(len(self.widths) >= 2 and all(w >= 1 for w in self.widths),
              f"widths must be at least two positive widths, got {self.widths}")
        check(self.claim_width in self.widths and self.small_width in self.widths,
              f"claim_width ({self.claim_width}) and small_width ({self.small_width}) must be in "
              f"widths {self.widths}")
        check(self.grid_size >= 8, f"grid_size must be >= 8, got {self.grid_size}")
        check(self.train.steps // self.train.eval_every >= 2,
              "train needs at least two evaluations (convergence is read at half the budget)")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 8, "widths": (2, 8), "grid_size": 16, "train.steps": 200,
              "train.eval_every": 100},
    "quick": {},
    "full": {"seeds": 4096, "widths": (1, 2, 3, 4, 6, 8, 16), "grid_size": 128,
             "train.steps": 20000, "train.eval_every": 1000},
}


def gate_metrics(model, batch) -> dict:
    """Strict accuracy (a point counts only when its logit has its label's sign: a logit of 0
    is wrong), the loss and the four logits of one model on one gate."""
    logits = model(batch["x"])[0][:, 0]
    sign = 2 * batch["y"].astype(logits.dtype) - 1
    loss, _ = sigmoid_cross_entropy(model, batch)
    return {"accuracy": jnp.mean(logits * sign > 0), "loss": loss, "logits": logits}


def _gate_sets(index) -> dict:
    """The gate dataset of every run, from its gate index (`GATES` order): (runs, 4, ...)."""
    stacked = {k: jnp.stack([toy2d.gate(g)[k] for g in GATES]) for k in ("x", "y")}
    index = jnp.asarray(index, jnp.int32)
    return {k: v[index] for k, v in stacked.items()}


def run(config: Config) -> Results:
    """Train the perceptrons on every gate (gates vmapped) and the MLPs on XOR; evaluate the
    decision regions of the runs the figure shows."""
    results = Results()

    def fit_perceptron(arm, keys, gate_index):
        model = MLPConfig(depth=0, bias=arm["bias"] == BIAS[0], init=config.init)
        graphdef, state = models.mlps(2, 1, model, keys)
        sets = _gate_sets(gate_index)
        return train.fit(graphdef, state, sigmoid_cross_entropy, sets, config.train, keys,
                         evaluate=gate_metrics, eval_data=sets, data_axis=0,
                         name=f"perceptron {arm['bias']}")

    linear = grid_fit({"bias": BIAS, "gate": range(len(GATES))}, fit_perceptron,
                      seed=config.seed, seeds=config.seeds, part=LINEAR_PART, vmapped="gate")
    xor = toy2d.gate("xor")

    def fit_mlp(arm, keys, _):
        model = MLPConfig(width=arm["width"], depth=1, activation="tanh", init=config.init)
        graphdef, state = models.mlps(2, 1, model, keys)
        return train.fit(graphdef, state, sigmoid_cross_entropy, xor, config.train, keys,
                         evaluate=gate_metrics, eval_data=xor, name=f"tanh MLP {arm['width']}")

    mlps = grid_fit({"width": config.widths}, fit_mlp, seed=config.seed, seeds=config.seeds)
    perceptron = {"accuracy": linear.evals("accuracy"), "loss": linear.evals("loss")}
    steps = {"step": linear.eval_steps}
    gate_axes = ("bias", "gate", "seed", "step")
    results.add("perceptron_accuracy", perceptron["accuracy"], gate_axes, bias=list(BIAS),
                gate=list(GATES), seed=list(range(config.seeds)), **steps)
    results.add("perceptron_loss", perceptron["loss"], gate_axes)
    results.add("perceptron_logits", linear.evals("logits")[..., -1, :], ("bias", "gate", "seed", "point"),
                point=[f"({a:g},{b:g})" for a, b in toy2d.GATE_INPUTS])
    mlps.add_to(results, evals={"accuracy": "mlp_accuracy", "loss": "mlp_loss"})
    _add_boundaries(results, config, linear, mlps)
    return results


def _add_boundaries(results: Results, config: Config, linear, mlps) -> None:
    """P(class 1) on the grid for the panels of the figure: the perceptron on XOR (seed 0),
    the small-width MLP on a seed that solves XOR and one that is stuck, the claim-width MLP
    (seed 0), and the perceptron with and without bias on AND (seed 0)."""
    solved = results.sel("mlp_accuracy", width=config.small_width)[:, -1] == 1.0
    solved_seed = int(np.argmax(solved)) if solved.any() else 0
    stuck_seed = int(np.argmax(~solved)) if (~solved).any() else 0
    size = config.grid_size

    def probability(history, run):
        return boundaries.class_one_probability(history.graphdef, history.state, SPAN, size)[run]

    seeds = config.seeds
    gate_run = {g: i * seeds for i, g in enumerate(GATES)}  # value-major runs: gate i, seed 0
    panels = {
        "perceptron, XOR": probability(linear.history(bias=BIAS[0]), gate_run["xor"]),
        f"{config.small_width} units, solved (seed {solved_seed})":
            probability(mlps.history(width=config.small_width), solved_seed),
        f"{config.small_width} units, stuck (seed {stuck_seed})":
            probability(mlps.history(width=config.small_width), stuck_seed),
        f"{config.claim_width} units, XOR": probability(mlps.history(width=config.claim_width), 0),
        "perceptron, AND": probability(linear.history(bias=BIAS[0]), gate_run["and"]),
        "no bias, AND": probability(linear.history(bias=BIAS[1]), gate_run["and"]),
        "no bias, OR": probability(linear.history(bias=BIAS[1]), gate_run["or"]),
    }
    results.add("boundary", np.stack(list(panels.values())), ("panel", "grid_y", "grid_x"),
                panel=list(panels))
    results.add("small_width_example_seeds", np.array([solved_seed, stuck_seed]), ("example",),
                example=["solved", "stuck"])


# ------------------------------------------------------------------------------ readings

def solved_share(results: Results, width: int, at: int = -1) -> stats.Interval:
    """Wilson interval of the share of seeds whose width-`width` MLP fits all four XOR points
    at evaluation `at` (default: the end)."""
    accuracy = results.sel("mlp_accuracy", width=width)[:, at]
    return stats.proportion_ci(int(np.sum(accuracy == 1.0)), int(accuracy.size))


def perceptron_final(results: Results, bias: str, gate: str) -> np.ndarray:
    """Final strict accuracy of the perceptron per seed."""
    return results.sel("perceptron_accuracy", bias=bias, gate=gate)[:, -1]


def tie_break_accuracy(results: Results, bias: str, gate: str) -> np.ndarray:
    """Per seed, the conventional accuracy ("logit > 0 predicts 1", so a logit of exactly 0
    counts as class 0) of the final perceptron: what a strict reading refuses to credit."""
    logits = results.sel("perceptron_logits", bias=bias, gate=gate)  # (seed, point)
    labels = np.asarray(toy2d.GATES[gate])
    return np.mean((logits > 0) == labels, axis=-1)


def _exact(value: float, n: int) -> stats.Interval:
    """A statistic without sampling error (a maximum over seeds), as a point interval."""
    return stats.Interval(float(value), float(value), float(value), n)


claims = ClaimBook("xor_perceptron", questions="Q24, Q27, Q9")


@claims.rule("linear_cannot_xor", kind=stats.CHECK,
             rule="the best final XOR accuracy over all seeds of the single-layer perceptron "
                  "(with bias) is <= 0.75: no line separates XOR")
def _(results: Results, config: Config):
    accuracy = perceptron_final(results, BIAS[0], "xor")
    return stats.decide(bool(np.max(accuracy) <= 0.75), "best perceptron XOR accuracy over seeds",
                        _exact(np.max(accuracy), accuracy.size),
                        mean=stats.mean_ci(accuracy, bounds=(0, 1)))


@claims.rule("hidden_layer_solves_xor",
             rule="the Wilson 95 % interval of the share of seeds whose tanh MLP with claim_width "
                  "(8) hidden units fits all four XOR points at the end lies above 0.95")
def _(results: Results, config: Config):
    share = solved_share(results, config.claim_width)
    half = len(results.coords["step"]) // 2
    return stats.decide(share.above(0.95), f"share of seeds solving XOR, {config.claim_width} units",
                        share, at_half_budget=solved_share(results, config.claim_width, half),
                        by_width={w: solved_share(results, w) for w in config.widths})


@claims.rule("two_units_often_stuck", questions="Q24, Q9",
             rule="the share of seeds whose small_width (2) unit MLP does not fit XOR at the end "
                  "(stuck in a local minimum or plateau): 'reproduced' if its Wilson 95 % interval "
                  "lies above 0.1 and above the claim width's failure interval (disjoint)")
def _(results: Results, config: Config):
    solved_small = solved_share(results, config.small_width)
    solved_claim = solved_share(results, config.claim_width)
    n = solved_small.n
    failed_small = stats.Interval(1 - solved_small.mean, 1 - solved_small.high, 1 - solved_small.low, n)
    failed_claim = stats.Interval(1 - solved_claim.mean, 1 - solved_claim.high, 1 - solved_claim.low, n)
    half = len(results.coords["step"]) // 2
    holds = failed_small.above(0.1) and failed_small.low > failed_claim.high
    return stats.decide(holds, f"share of seeds stuck, {config.small_width} units", failed_small,
                        stuck_claim_width=failed_claim,
                        solved_at_half_budget=solved_share(results, config.small_width, half))


@claims.rule("bias_needed", kind=stats.CHECK,
             rule="on AND and OR with inputs in {0, 1}: with bias, every seed's perceptron fits all "
                  "four points (strictly: logit of the label's sign); without bias, none does (the "
                  "point (0, 0) has logit w·0 = 0 exactly, on the boundary, in every seed, so the "
                  "best strict accuracy is <= 0.75)")
def _(results: Results, config: Config):
    with_bias = np.concatenate([perceptron_final(results, BIAS[0], g) for g in ("and", "or")])
    without = np.concatenate([perceptron_final(results, BIAS[1], g) for g in ("and", "or")])
    origin = np.stack([results.sel("perceptron_logits", bias=BIAS[1], gate=g)[:, 0]
                       for g in ("and", "or")])
    share = stats.proportion_ci(int(np.sum(with_bias == 1.0)), int(with_bias.size))
    holds = share.mean == 1.0 and np.max(without) <= 0.75 and bool(np.all(origin == 0))
    return stats.decide(holds, "share of (gate, seed) fitted with bias", share,
                        best_strict_accuracy_without_bias=_exact(np.max(without), without.size),
                        max_abs_origin_logit_without_bias=float(np.max(np.abs(origin))),
                        tie_break_accuracy_without_bias={
                            g: stats.mean_ci(tie_break_accuracy(results, BIAS[1], g), bounds=(0, 1))
                            for g in ("and", "or")})


# ------------------------------------------------------------------------------ figures

def plot(results: Results, config: Config) -> dict:
    """Decision regions of the example runs; share of seeds solving XOR by hidden width."""
    return {"boundaries": _plot_boundaries(results, config),
            "solved_by_width": _plot_solved(results, config)}


def _plot_boundaries(results: Results, config: Config):
    names = results.coords["panel"]
    probabilities = results["boundary"]
    xor, gate_and = toy2d.gate("xor"), toy2d.gate("and")
    fig, axes = plots.figure(ncols=4, nrows=2, width=2.4, height=2.5)
    for i, name in enumerate(names):
        ax = axes.flat[i]
        points = xor if "XOR" in name or "units" in name else gate_and
        regions = boundaries.draw(ax, SPAN, probabilities[i], points["x"], points["y"], title=name,
                                  point_size=40)
    boundaries.legend_panel(axes.flat[-1], axes.flat[0])
    boundaries.colorbar(fig, regions, axes)
    small = solved_share(results, config.small_width)
    claim = solved_share(results, config.claim_width)
    best = np.max(perceptron_final(results, BIAS[0], "xor"))
    plots.title(fig, f"A line fits at most {best:.0%} of XOR; {config.small_width} tanh units solve it "
                     f"in {small.mean:.0%} of seeds, {config.claim_width} in {claim.mean:.0%};\n"
                     "without a bias the point (0, 0) stays on the boundary")
    return fig


def _plot_solved(results: Results, config: Config):
    fig, axes = plots.figure(ncols=2, width=5.0, height=3.4)
    ax = axes[0, 0]
    widths = list(config.widths)
    shares = [solved_share(results, w) for w in widths]
    linear = perceptron_final(results, BIAS[0], "xor")
    linear_share = stats.proportion_ci(int(np.sum(linear == 1.0)), int(linear.size))
    xs = [0] + widths
    all_shares = [linear_share] + shares
    mean = np.array([s.mean for s in all_shares])
    low, high = np.array([s.low for s in all_shares]), np.array([s.high for s in all_shares])
    # Wilson bounds can sit a rounding error inside a share of exactly 0 or 1.
    ax.errorbar(xs, mean, yerr=np.maximum([mean - low, high - mean], 0),
                marker="o", capsize=3, color=plots.PALETTE[0], label="share of seeds (Wilson 95 %)")
    ax.set_xticks(xs, ["0\n(linear)"] + [str(w) for w in widths])
    ax.set_xlabel("hidden tanh units")
    ax.set_ylabel("share of seeds fitting all 4 XOR points")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title(f"at the end ({config.train.steps} GD steps, {config.seeds} seeds)")
    ax = axes[0, 1]
    steps = results.coords["step"]
    for i, w in enumerate(widths):
        shares = [solved_share(results, w, at) for at in range(len(steps))]
        color = plots.PALETTE[i % len(plots.PALETTE)]
        ax.plot(steps, [q.mean for q in shares], marker="o", markersize=3, color=color,
                label=f"{w} units")
        ax.fill_between(steps, [q.low for q in shares], [q.high for q in shares], color=color,
                        alpha=0.2, linewidth=0)
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("share solved (Wilson 95 %)")
    ax.set_ylim(-0.03, 1.03)
    moved = max(abs(solved_share(results, w).mean - solved_share(results, w, len(steps) // 2).mean)
                for w in widths)
    ax.set_title(f"the second half moves the shares by <= {moved:.1%}")
    plots.legend_outside(ax)
    small = solved_share(results, config.small_width)
    plots.title(fig, f"Width {config.small_width} gets stuck in {1 - small.mean:.0%} of seeds; "
                     f"width {config.claim_width} solves XOR in "
                     f"{solved_share(results, config.claim_width).mean:.0%}")
    return fig


main(__spec__)
