"""Vanishing gradients: sigmoid nets lose their gradient with depth; ReLU with He init keeps it.

Q&A: Q12, Q13, Q29, Q37. Setup: MLPs of width 64 on MNIST-1D, depths 5-50, four
activation/initializer pairs. At initialization we measure the ratio
r = ‖∂L/∂b₁‖ / ‖∂L/∂b_L‖ of the first to the last hidden layer's bias gradient (bias, i.e.
pre-activation, gradients: weight gradients are confounded by activation scale; norms are
computed scale-safely because float32 squares of 1e-25 underflow). Then depth-10 nets are
trained with plain SGD (sigmoid + Glorot vs ReLU + He) and with Adam (sigmoid + Glorot).

Command:  python -m experiments.vanishing_gradients --profile quick
Expected: sigmoid r ≈ 0.25^(L-1) (1e-6 at depth 10, Nielsen ch. 5); ReLU+He r ≈ 0.3-1 at every
depth; ReLU+Glorot r ≈ 2^(-L/2); tanh+Glorot r ≈ 0.2-0.7 at depth 10 (so the Q&A's grouping
of tanh with sigmoid is nuanced); depth-10 sigmoid under SGD stays near chance loss ln 10.
Runtime: smoke ~5 s; quick ~25 s on 2 CPU cores (8 seeds); full ~105 s on one H100 (32 seeds,
depths to 100, 5000 training steps; small models are compile-bound there).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from phenomena import curves, data, losses, models, plots, rng, stats, train
from phenomena.config import check
from phenomena.models import MLPConfig
from phenomena.probes import bias_grad_norms_per_seed
from phenomena.results import Results
from phenomena.stats import Claim, decide
from phenomena.train import TrainConfig

# (activation, initializer) pairs measured at init; labels are "activation/initializer".
COMBOS = (("sigmoid", "glorot_normal"), ("tanh", "glorot_normal"),
          ("relu", "glorot_normal"), ("relu", "he_normal"))
# (label, activation, initializer, optimizer) trained at `train_depth`.
TRAINED = (("sigmoid + SGD", "sigmoid", "glorot_normal", "sgd"),
           ("ReLU/He + SGD", "relu", "he_normal", "sgd"),
           ("sigmoid + Adam", "sigmoid", "glorot_normal", "adam"))
CHANCE_LOSS = math.log(10)


@dataclasses.dataclass(frozen=True)
class Config:
    """Every knob of the experiment; `PROFILES` override some of them."""

    seed: int = 0
    seeds: int = 8
    width: int = 64
    depths: tuple[int, ...] = (5, 10, 20, 30, 50)
    grad_batch: int = 512          # training examples the init-time gradient is taken on
    train_depth: int = 10
    adam_lr: float = 1e-3          # Adam's default (Kingma & Ba 2015)
    train: TrainConfig = TrainConfig(optimizer="sgd", lr=0.1, steps=1500, batch_size=128,
                                     eval_every=100)

    def __post_init__(self):
        check(len(self.depths) >= 2 and all(d >= 2 for d in self.depths),
              f"depths needs at least two depths >= 2, got {self.depths}")
        check(10 in self.depths and 20 in self.depths, "depths must include 10 and 20 (claims use them)")
        check(self.width > 0 and self.grad_batch > 0, "width and grad_batch must be positive")
        check(self.train_depth >= 2, "train_depth must be >= 2")
        check(self.adam_lr > 0, f"adam_lr must be positive, got {self.adam_lr}")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "depths": (2, 10, 20), "train.steps": 100, "train.eval_every": 50},
    "quick": {},
    "full": {"seeds": 32, "depths": (5, 10, 20, 30, 50, 75, 100), "train.steps": 5000},
}

CLAIMS = [
    Claim("vanishing_gradients.sigmoid_vanishes", "Q12, Q37",
          "sigmoid + Glorot at depth 10: the 95 % CI of log10 r lies below -4, and the mean "
          "log10 r falls at every step of the depth grid"),
    Claim("vanishing_gradients.relu_he_preserves", "Q37",
          "ReLU + He: the CI of log10 r lies above -1 (r > 0.1) at every depth of the grid"),
    Claim("vanishing_gradients.init_matters", "Q29, Q37",
          "depth 20: ReLU + Glorot's CI of log10 r lies below -2 while ReLU + He's lies above -1"),
    Claim("vanishing_gradients.tanh_moderate", "Q12, Q37",
          "tanh + Glorot at depth 10: 'reproduced' (tanh vanishes as the Q&A groups it with "
          "sigmoid) if the CI of log10 r lies below -2; 'nuanced' if it lies within (-1, 0): r "
          "falls below 1 but stays within a decade (literature: 0.2-0.7); otherwise 'not "
          "reproduced' (no decay, or an interval between the two bands)",
          expected=stats.NUANCED),
    Claim("vanishing_gradients.sigmoid_stalls_training", "Q12, Q29",
          "depth-10 nets, plain SGD: the CI of sigmoid's final training loss lies above "
          "0.9 ln 10 (near chance) and ReLU + He's lies below 0.5 ln 10"),
]


def _init_gradients(config: Config, batch) -> np.ndarray:
    """Per-layer bias-gradient norms at init: (combo, depth, seed, layer), NaN-padded.

    Computed in float64: a depth-100 sigmoid net's first-layer gradient (~0.25^99 ≈ 1e-60)
    is below float32's range, where it would read as an exact 0.
    """
    keys = rng.seed_keys(config.seed, config.seeds)
    max_depth = max(config.depths)
    norms = np.full((len(COMBOS), len(config.depths), config.seeds, max_depth), np.nan)
    with jax.enable_x64(True):
        batch = {"x": jnp.asarray(batch["x"], jnp.float64), "y": batch["y"]}
        for c, (activation, init) in enumerate(COMBOS):
            for d, depth in enumerate(config.depths):
                model = MLPConfig(width=config.width, depth=depth, activation=activation, init=init,
                                  dtype="float64")
                graphdef, state = models.mlps(40, 10, model, keys)
                norms[c, d, :, :depth] = bias_grad_norms_per_seed(
                    graphdef, state, losses.cross_entropy_loss, batch)
    return norms


def _training_curves(config: Config, splits) -> tuple[np.ndarray, np.ndarray]:
    """Training loss at each evaluation step: (variant, seed, step)."""
    keys = rng.seed_keys(config.seed, config.seeds, part=1)
    curves = []
    for label, activation, init, optimizer in TRAINED:
        model = MLPConfig(width=config.width, depth=config.train_depth, activation=activation, init=init)
        graphdef, state = models.mlps(40, 10, model, keys)
        lr = config.train.lr if optimizer == "sgd" else config.adam_lr
        settings = dataclasses.replace(config.train, optimizer=optimizer, lr=lr)
        history = train.fit(graphdef, state, losses.cross_entropy, splits["train"], settings, keys,
                            evaluate=losses.classification_metrics, eval_data={"train": splits["train"]},
                            name=label)
        curves.append(history.evals["train/loss"])
    return np.stack(curves), history.eval_steps


def run(config: Config) -> Results:
    """Measure gradient ratios at init over depth, then train the depth-10 nets."""
    splits = data.mnist1d_splits()
    batch = {k: v[: config.grad_batch] for k, v in splits["train"].items()}
    norms = _init_gradients(config, batch)
    depth_index = np.arange(len(config.depths))
    last = np.asarray(config.depths) - 1
    ratio = norms[:, :, :, 0] / norms[:, depth_index, :, last].transpose(1, 0, 2)
    curves, steps = _training_curves(config, splits)

    results = Results()
    combos = [f"{a}/{i.split('_')[0]}" for a, i in COMBOS]
    results.add("layer_grad_norm", norms, ("combo", "depth", "seed", "layer"),
                combo=combos, depth=list(config.depths), layer=list(range(1, max(config.depths) + 1)))
    results.add("ratio", ratio, ("combo", "depth", "seed"))
    results.add("train_loss", curves, ("variant", "seed", "step"),
                variant=[t[0] for t in TRAINED], step=steps.tolist())
    return results


def _log_ratio(results: Results, combo: str, depth: int) -> stats.Interval:
    return stats.mean_ci(np.log10(results.sel("ratio", combo=combo, depth=depth)))


def claims(results: Results) -> list[stats.Verdict]:
    """Decide the five claims from the measured ratios and training curves."""
    by_id = {c.id.split(".")[1]: c for c in CLAIMS}
    depths = results.coords["depth"]
    sigmoid = _log_ratio(results, "sigmoid/glorot", 10)
    sigmoid_means = [_log_ratio(results, "sigmoid/glorot", d).mean for d in depths]
    falls = bool(np.all(np.diff(sigmoid_means) < 0))
    he = {d: _log_ratio(results, "relu/he", d) for d in depths}
    worst = min(he, key=lambda d: he[d].low)
    glorot20, he20 = _log_ratio(results, "relu/glorot", 20), he[20]
    tanh = _log_ratio(results, "tanh/glorot", 10)
    if tanh.below(-2):
        tanh_verdict = stats.REPRODUCED
    elif tanh.below(0) and tanh.above(-1):
        tanh_verdict = stats.NUANCED
    else:
        tanh_verdict = stats.NOT_REPRODUCED
    final = {v: stats.mean_ci(results.sel("train_loss", variant=v)[:, -1])
             for v in results.coords["variant"]}
    sig_sgd, relu_sgd, sig_adam = (final[t[0]] for t in TRAINED)
    return [
        decide(by_id["sigmoid_vanishes"], sigmoid.below(-4) and falls, "log10 r, sigmoid depth 10",
               sigmoid, mean_log10_r_by_depth=dict(zip(depths, sigmoid_means)), falls_with_depth=falls),
        decide(by_id["relu_he_preserves"], all(he[d].above(-1) for d in depths),
               f"log10 r, ReLU+He at its worst depth ({worst})", he[worst],
               mean_log10_r_by_depth={d: he[d].mean for d in depths}),
        decide(by_id["init_matters"], glorot20.below(-2) and he20.above(-1),
               "log10 r, ReLU+Glorot depth 20", glorot20, relu_he_depth20=he20,
               theory_log10=-(20 - 1) / 2 * math.log10(2)),
        stats.Verdict(by_id["tanh_moderate"], tanh_verdict, "log10 r, tanh depth 10", tanh,
                      {"sigmoid_depth10": sigmoid, "ratio_tanh_over_sigmoid_decades": tanh.mean - sigmoid.mean}),
        decide(by_id["sigmoid_stalls_training"],
               sig_sgd.above(0.9 * CHANCE_LOSS) and relu_sgd.below(0.5 * CHANCE_LOSS),
               "final train loss, sigmoid + SGD", sig_sgd, relu_he_sgd=relu_sgd,
               sigmoid_adam=sig_adam, chance_loss=CHANCE_LOSS,
               adam_rescues_sigmoid=bool(sig_adam.below(0.5 * CHANCE_LOSS))),
    ]


def plot(results: Results) -> dict:
    """Ratio against depth, the per-layer profile at depth 20, and the training curves."""
    depths = results.coords["depth"]
    combos = results.coords["combo"]
    fig, axes = plots.figure(ncols=2)
    ax = axes[0, 0]
    for i, combo in enumerate(combos):
        plots.band(ax, depths, results.sel("ratio", combo=combo).T, label=combo, log=True,
                   color=plots.PALETTE[i], marker="o")
    ax.set_yscale("log")
    ax.axhline(0.1, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("network depth L (hidden layers)")
    ax.set_ylabel("r = ‖∂L/∂b₁‖ / ‖∂L/∂b_L‖  at init")
    ax.set_title("first-to-last gradient ratio")
    ax.legend()
    ax = axes[0, 1]
    depth = 20
    layers = np.arange(1, depth + 1)
    for i, combo in enumerate(combos):
        norms = results.sel("layer_grad_norm", combo=combo, depth=depth)[:, :depth]
        plots.band(ax, layers, norms, label=combo, log=True, color=plots.PALETTE[i])
    ax.set_yscale("log")
    ax.set_xlabel("hidden layer l (1 = nearest the input)")
    ax.xaxis.set_major_locator(plots.integer_ticks())
    ax.set_ylabel("‖∂L/∂b_l‖ at init")
    ax.set_title(f"per-layer gradient norm, depth {depth}")
    plots.title(fig, "Sigmoid gradients vanish geometrically with depth; ReLU + He keeps them")
    figures = {"gradient_vs_depth": fig}

    fig, axes = plots.figure(width=7.0)
    ax = axes[0, 0]
    steps = results.coords["step"]
    for i, variant in enumerate(results.coords["variant"]):
        plots.band(ax, steps, results.sel("train_loss", variant=variant), label=variant,
                   color=plots.PALETTE[i])
    ax.axhline(CHANCE_LOSS, color="grey", linestyle=":", linewidth=1, label="chance (ln 10)")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training cross-entropy")
    ax.legend()
    plots.title(fig, "Depth-10 sigmoid net stalls at chance under SGD; ReLU + He trains; "
                     "Adam only partly rescues sigmoid")
    figures["training"] = fig
    return figures


if __name__ == "__main__":
    import sys

    from phenomena.cli import experiment_main

    sys.exit(experiment_main(__spec__.name))
