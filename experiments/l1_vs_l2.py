"""L1 vs L2 regularization: L1 sets weights exactly to zero and selects features; L2 only shrinks.

Q&A: Q54, Q60. Setup: sparse linear regression, n = 200 examples, p = 100 inputs of which
k = 10 are informative (|w*| in [1, 2]), noise σ = 1, a fresh dataset per seed. Both
penalties are trained by full-batch gradient descent over a grid of strengths λ: L1 by a
proximal (soft-threshold) step after each gradient step (ISTA; a subgradient of |w| would leave
weights hovering near zero, never at it), L2 by decoupled weight decay (identical to the
(λ/2)‖w‖² penalty under plain gradient descent). L1's claims are decided at the universal
threshold λ = σ√(2 ln p / n) ≈ 0.21 (Donoho & Johnstone 1994), fixed from the setup, not the
data. A last variant adds 10 % outlying targets (+20 to +50) to show that the L1 *penalty*
gives no robustness to outliers: Q60's robustness sentence concerns the L1 (absolute) *loss*,
which `regression_losses` tests.

Command:  python -m experiments.l1_vs_l2 --profile quick
Expected: at λ ≈ 0.21, L1 zeroes ≈ 85-90 % of the weights and recovers all 10 informative
inputs with few false positives; L2 leaves no exact zero at any λ while ‖w‖ falls smoothly.
Runtime: smoke ~3 s; quick ~8 s on 2 CPU cores (8 seeds); full ~20 s on a GPU (64 seeds).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from phenomena import data, models, plots, stats, train
from phenomena.config import check
from phenomena.models import MLPConfig
from phenomena.results import Results
from phenomena.stats import Claim, decide
from phenomena.train import TrainConfig

PENALTIES = ("L1", "L2")


@dataclasses.dataclass(frozen=True)
class Config:
    seed: int = 0
    seeds: int = 8
    n: int = 200
    p: int = 100
    k: int = 10
    noise: float = 1.0
    strengths: tuple[float, ...] = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
    outlier_fraction: float = 0.1
    # Full batch; lr below 1/L with L = λmax(XᵀX/n) ≈ (1 + √(p/n))² ≈ 2.9, as ISTA requires.
    train: TrainConfig = TrainConfig(optimizer="sgd", lr=0.25, steps=1000, batch_size=0,
                                     eval_every=1000)

    def __post_init__(self):
        check(self.n > 0 and self.p > 0, "n and p must be positive")
        check(0 < self.k <= self.p, f"k must be in [1, p], got {self.k}")
        check(self.noise > 0, f"noise must be positive, got {self.noise}")
        check(len(self.strengths) >= 2 and all(s > 0 for s in self.strengths),
              "strengths needs at least two positive values")
        check(0 <= self.outlier_fraction < 1, "outlier_fraction must be in [0, 1)")

    @property
    def universal_threshold(self) -> float:
        """σ√(2 ln p / n): the λ at which L1's claims are decided."""
        return self.noise * math.sqrt(2 * math.log(self.p) / self.n)


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "strengths": (0.01, 0.3), "train.steps": 200, "train.eval_every": 200},
    "quick": {},
    "full": {"seeds": 64, "train.steps": 5000, "train.eval_every": 5000,
             "strengths": (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)},
}

CLAIMS = [
    Claim("l1_vs_l2.l1_exact_zeros", "Q54, Q60",
          "at λ = σ√(2 ln p/n): the CI of L1's fraction of exactly-zero weights lies above 0.7 "
          "and L2's lies below 0.1"),
    Claim("l1_vs_l2.l1_selects_features", "Q54, Q60",
          "at λ = σ√(2 ln p/n): L1's nonzero set has recall CI above 0.9 and precision CI above "
          "0.5 for the k informative inputs"),
    Claim("l1_vs_l2.l2_shrinks_evenly", "Q54, Q60",
          "L2: the mean ‖w‖ falls at every step of the λ grid and no weight of any run is "
          "exactly zero"),
    Claim("l1_vs_l2.outlier_sentence_is_about_loss", "Q60",
          "with 10 % outlying targets, the L1-penalized fit's parameter error ‖ŵ - w*‖ grows "
          "more than 2x (CI of the per-seed ratio above 2): the L1 penalty gives no robustness "
          "to outliers, so Q60's sentence concerns the L1 loss (see regression_losses)"),
]


def _datasets(config: Config, keys: jax.Array, outliers: bool):
    """One sparse regression dataset per key; optionally with outlying targets."""
    sets = jax.vmap(lambda k: data.sparse_linear_regression(k, config.n, config.p, config.k,
                                                            config.noise))(keys)
    if outliers:
        def corrupt(key, y):
            k_pick, k_size = jax.random.split(jax.random.fold_in(key, 7))
            hit = jax.random.uniform(k_pick, y.shape) < config.outlier_fraction
            return y + hit * jax.random.uniform(k_size, y.shape, minval=20.0, maxval=50.0)
        sets["y"] = jax.vmap(corrupt)(keys, sets["y"])
    return sets


def _fit(config: Config, penalty: str, strengths, outliers: bool = False):
    """Fitted weights and true weights, each (strength, seed, p)."""
    seed_keys = train.seed_keys(config.seed, config.seeds)
    n_s = len(strengths)
    keys = jnp.tile(seed_keys, n_s)  # the same dataset for every strength: paired comparisons
    sets = _datasets(config, keys, outliers)
    linear = MLPConfig(depth=0, bias=False, init="lecun_normal")
    graphdef, state = models.mlps(config.p, 1, linear, keys)
    per_run = jnp.repeat(jnp.asarray(strengths, jnp.float32), config.seeds)
    if penalty == "L1":
        spec, hparams = config.train.spec(l1=True), {"l1": per_run}
    else:
        spec, hparams = config.train.spec(decoupled_decay=True), {"weight_decay": per_run}
    history = train.fit(graphdef, state, train.squared_error, {"x": sets["x"], "y": sets["y"]},
                        config.train, keys, hparams=hparams, optimizer=spec, data_axis=0,
                        name=f"{penalty}{' + outliers' if outliers else ''}")
    weights = np.asarray(history.state["head"]["kernel"][...])[..., 0]
    shape = (n_s, config.seeds, config.p)
    return weights.reshape(shape), np.asarray(sets["w_true"]).reshape(shape)


def run(config: Config) -> Results:
    """Fit both penalties over the λ grid (plus the universal threshold), with and without outliers."""
    strengths = sorted({*config.strengths, round(config.universal_threshold, 6)})
    weights = {}
    for penalty in PENALTIES:
        weights[penalty], w_true = _fit(config, penalty, strengths)
    w_outliers, _ = _fit(config, "L1", [config.universal_threshold], outliers=True)

    results = Results(meta={"universal_threshold": round(config.universal_threshold, 6), "k": config.k})
    results.add("weights", np.stack([weights[p] for p in PENALTIES]),
                ("penalty", "strength", "seed", "input"), penalty=list(PENALTIES), strength=strengths)
    results.add("true_weights", w_true[0], ("seed", "input"))
    results.add("weights_outliers", w_outliers[0], ("seed", "input"))
    return results


def support_scores(weights: np.ndarray, true_weights: np.ndarray):
    """Per seed: (recall, precision) of the nonzero set of `weights` for the nonzero true inputs."""
    chosen, informative = weights != 0, true_weights != 0
    hits = np.sum(chosen & informative, axis=-1)
    recall = hits / np.sum(informative, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(chosen.any(-1), hits / np.sum(chosen, axis=-1), np.nan)
    return recall, precision


def claims(results: Results) -> list[stats.Verdict]:
    """Decide the four claims at the universal threshold and along the λ path."""
    by_id = {c.id.split(".")[1]: c for c in CLAIMS}
    lam = results.meta["universal_threshold"]
    w_true = results["true_weights"]
    l1 = results.sel("weights", penalty="L1", strength=lam)
    l2 = results.sel("weights", penalty="L2", strength=lam)
    zeros_l1 = stats.mean_ci(np.mean(l1 == 0, axis=-1))
    zeros_l2 = stats.mean_ci(np.mean(l2 == 0, axis=-1))
    recall, precision = support_scores(l1, w_true)
    recall_ci, precision_ci = stats.mean_ci(recall), stats.mean_ci(precision)

    l2_all = results.sel("weights", penalty="L2")  # (strength, seed, input)
    norms = np.linalg.norm(l2_all, axis=-1).mean(axis=1)
    monotone = bool(np.all(np.diff(norms) < 0))
    l2_zero_fraction = stats.mean_ci(np.mean(l2_all == 0, axis=(0, 2)))
    no_zeros = int(np.sum(l2_all == 0)) == 0

    clean_error = np.linalg.norm(l1 - w_true, axis=-1)
    outlier_error = np.linalg.norm(results["weights_outliers"] - w_true, axis=-1)
    ratio = stats.mean_ci(outlier_error / clean_error)
    return [
        decide(by_id["l1_exact_zeros"], zeros_l1.above(0.7) and zeros_l2.below(0.1),
               f"fraction of exact zeros, L1 at λ={lam:.3g}", zeros_l1, l2=zeros_l2),
        decide(by_id["l1_selects_features"], recall_ci.above(0.9) and precision_ci.above(0.5),
               f"recall of the informative inputs, L1 at λ={lam:.3g}", recall_ci,
               precision=precision_ci),
        decide(by_id["l2_shrinks_evenly"], monotone and no_zeros,
               "fraction of exact zeros, L2, all λ", l2_zero_fraction,
               mean_norm_by_strength=dict(zip(results.coords["strength"], norms)),
               norm_falls_monotonically=monotone),
        decide(by_id["outlier_sentence_is_about_loss"], ratio.above(2),
               "parameter error with / without 10 % outliers, L1 penalty", ratio,
               clean_error=stats.mean_ci(clean_error), outlier_error=stats.mean_ci(outlier_error)),
    ]


def plot(results: Results) -> dict:
    """Weight histograms at the decision λ; zeros, norm and support recovery along the λ path."""
    lam = results.meta["universal_threshold"]
    strengths = np.asarray(results.coords["strength"])
    w_true = results["true_weights"]
    fig, axes = plots.figure(ncols=2, nrows=2, width=4.8, height=3.4)
    ax = axes[0, 0]
    bins = np.linspace(-2.2, 2.2, 45)
    ws = [results.sel("weights", penalty=p, strength=lam).ravel() for p in PENALTIES]
    ax.hist(ws, bins=bins, color=plots.PALETTE[:2],
            label=[f"{p}: {np.mean(w == 0):.0%} exactly 0" for p, w in zip(PENALTIES, ws)])
    ax.set_yscale("log")
    ax.set_xlabel(f"fitted weight at λ = {lam:.2f} (all seeds)")
    ax.set_ylabel("count (log)")
    ax.set_title("weight histogram")
    ax.legend()

    ax = axes[0, 1]
    for i, penalty in enumerate(PENALTIES):
        zeros = np.mean(results.sel("weights", penalty=penalty) == 0, axis=-1).T  # (seed, strength)
        plots.band(ax, strengths, zeros, label=penalty, color=plots.PALETTE[i], marker="o")
    ax.axhline(1 - results.meta["k"] / w_true.shape[-1], color="grey", linestyle=":", linewidth=1,
               label="share of uninformative inputs")
    ax.axvline(lam, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("penalty strength λ")
    ax.set_ylabel("fraction of weights exactly 0")
    ax.set_title("exact zeros along the path")
    ax.legend()

    ax = axes[1, 0]
    for i, penalty in enumerate(PENALTIES):
        norms = np.linalg.norm(results.sel("weights", penalty=penalty), axis=-1).T
        plots.band(ax, strengths, norms, label=penalty, color=plots.PALETTE[i], marker="o")
    ax.set_xscale("log")
    ax.set_xlabel("penalty strength λ")
    ax.set_ylabel("‖w‖₂")
    ax.set_title("weight norm along the path")
    ax.legend()

    ax = axes[1, 1]
    recall, precision = support_scores(results.sel("weights", penalty="L1"), w_true[None])
    plots.band(ax, strengths, recall.T, label="L1 recall", color=plots.PALETTE[0], marker="o")
    plots.band(ax, strengths, precision.T, label="L1 precision", color=plots.PALETTE[0],
               marker="s", linestyle="--")
    _, l2_precision = support_scores(results.sel("weights", penalty="L2"), w_true[None])
    plots.band(ax, strengths, l2_precision.T, label="L2 precision", color=plots.PALETTE[1],
               marker="s", linestyle="--")
    ax.axvline(lam, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlabel("penalty strength λ")
    ax.set_ylabel("support recovery")
    ax.set_title("which inputs stay nonzero")
    ax.legend()
    plots.title(fig, "L1 sets most weights exactly to zero and keeps the informative ones; "
                     "L2 only shrinks")
    return {"l1_vs_l2": fig}


if __name__ == "__main__":
    import sys

    from phenomena.cli import experiment_main

    sys.exit(experiment_main(__spec__.name))
