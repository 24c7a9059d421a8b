"""L1 vs L2 regularization: L1 sets weights exactly to zero and selects features; L2 only shrinks.

Q&A: Q54, Q60. Setup: sparse linear regression, n = 200 examples, p = 100 inputs of which
k = 10 are informative (|w*| in [1, 2]), noise σ = 1, a fresh dataset per seed. Both
penalties are trained by full-batch gradient descent over a grid of strengths λ: L1 by a
proximal (soft-threshold) step after each gradient step (ISTA; a subgradient of |w| would leave
weights hovering near zero, never at it), L2 by decoupled weight decay (identical to the
(λ/2)‖w‖² penalty under plain gradient descent). L1's claims are decided at the universal
threshold λ = σ√(2 ln p / n) ≈ 0.21 (Donoho & Johnstone 1994), fixed from the setup, not the
data. The same comparison is repeated for logistic regression on labels 1[Xw* + ε > 0], decided
at the analogous threshold ½√(2 ln p / n) (a logistic residual has standard deviation at most
½). A variant adds 10 % outlying targets (+20 to +50) to show that the L1 *penalty*
gives no robustness to outliers: Q60's robustness sentence concerns the L1 (absolute) *loss*,
which `regression_losses` tests. Last, the same two penalties act on the first layer of a
one-hidden-layer MLP (width 64, plain SGD) on MNIST-1D whose 40 inputs are joined by 40 pure
noise inputs of the same scale: an input is pruned when all its outgoing weights are 0.

Command:  python -m experiments.l1_vs_l2 --profile quick
Expected: at λ ≈ 0.21, L1 zeroes ≈ 85-90 % of the weights and recovers all 10 informative
inputs with few false positives; L2 leaves no exact zero at any λ while ‖w‖ falls smoothly;
in the MLP, L1 zeroes noise and signal weights alike and prunes no whole input (a recorded
deviation from our own expectation; see `l1_prunes_noise_inputs`).
Runtime: smoke 75 compiled programs, ~45 s compiling cold on 2 shared CPU cores (six fits:
linear, logistic and MLP, each with L1 and L2; the outlier fits reuse the linear L1 programs);
quick ~13 s on 2 CPU cores (8 seeds, compilation cached); full ~40 s on one H100 (64 seeds).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from phenomena import curves, data, losses, models, plots, rng, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main
from phenomena.models import MLPConfig
from phenomena.optim import PathMask
from phenomena.results import Results
from phenomena.train import TrainConfig

PENALTIES = ("L1", "L2")
TARGETS = {"linear": "y", "linear with outliers": "y_outliers", "logistic": "y_logistic"}
DATA_STREAM = 2  # datasets draw from their own key stream, apart from inits and batches
OUTLIER_STREAM = 7  # the outliers' draws, folded into each run's data key
MLP_PART = 1  # the MLP's seed keys (`rng.seed_keys`), apart from the regressions'
GRID_DIGITS = 6  # a threshold joins the λ grid rounded to this many decimals
FIRST_LAYER = PathMask("['hidden'][0]['kernel']")  # where the MLP's penalty acts


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    n: int = 200  # examples per regression dataset (a fresh dataset per seed)
    p: int = 100  # inputs of the regression
    k: int = 10  # informative inputs (|w*| in [1, 2]); the other p - k have w* = 0
    noise: float = 1.0  # σ of the Gaussian noise on the regression targets
    strengths: tuple[float, ...] = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)  # λ path of the regressions
    outlier_fraction: float = 0.1  # share of targets shifted by +20 to +50 in the outlier variant
    # Full batch; lr below 1/L with L = λmax(XᵀX/n) ≈ (1 + √(p/n))² ≈ 2.9, as ISTA requires.
    train: TrainConfig = TrainConfig(optimizer="sgd", lr=0.25, steps=1000, batch_size=0,
                                     eval_every=1000)  # linear regression: full-batch GD (ISTA)
    # Logistic regression: lr below 1/L with L = λmax(XᵀX/n) / 4 ≈ 0.73.
    logistic_train: TrainConfig = TrainConfig(optimizer="sgd", lr=1.0, steps=2000, batch_size=0,
                                              eval_every=2000)  # logistic regression: full-batch GD
    mlp_width: int = 64  # hidden units of the one-hidden-layer MLP on MNIST-1D
    noise_inputs: int = 40  # N(0, 1) inputs appended to MNIST-1D's 40 signal inputs
    mlp_strengths: tuple[float, ...] = (1e-4, 1e-3, 1e-2)  # penalty λ on the MLP's first layer (decade grid)
    mlp_train: TrainConfig = TrainConfig(optimizer="sgd", lr=0.1, steps=2000, batch_size=100,
                                         eval_every=500)  # the MLP: minibatch SGD

    def __post_init__(self):
        super().__post_init__()
        check(self.n > 0 and self.p > 0, "n and p must be positive")
        check(0 < self.k <= self.p, f"k must be in [1, p], got {self.k}")
        check(self.noise > 0, f"noise must be positive, got {self.noise}")
        check(len(self.strengths) >= 2 and all(s > 0 for s in self.strengths),
              "strengths needs at least two positive values")
        check(0 <= self.outlier_fraction < 1, "outlier_fraction must be in [0, 1)")
        check(self.mlp_width > 0 and self.noise_inputs > 0, "mlp_width and noise_inputs must be positive")
        check(len(self.mlp_strengths) >= 1 and all(s > 0 for s in self.mlp_strengths),
              "mlp_strengths needs positive values")

    @property
    def universal_threshold(self) -> float:
        """σ√(2 ln p / n): the λ at which L1's claims are decided (as on the grid)."""
        return round(self.noise * math.sqrt(2 * math.log(self.p) / self.n), GRID_DIGITS)

    @property
    def logistic_threshold(self) -> float:
        """½√(2 ln p / n): the same threshold for a residual of standard deviation ≤ ½."""
        return round(0.5 * math.sqrt(2 * math.log(self.p) / self.n), GRID_DIGITS)


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "p": 20, "k": 4, "strengths": (0.01, 0.3), "train.steps": 100,
              "train.eval_every": 100, "logistic_train.steps": 100,
              "logistic_train.eval_every": 100, "mlp_width": 8, "noise_inputs": 8,
              "mlp_strengths": (1e-3,), "mlp_train.steps": 50, "mlp_train.eval_every": 50},
    "quick": {},
    "full": {"seeds": 64, "train.steps": 5000, "train.eval_every": 5000,
             "logistic_train.steps": 10000, "logistic_train.eval_every": 10000,
             "strengths": (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0),
             "mlp_strengths": (1e-5, 1e-4, 1e-3, 1e-2, 1e-1), "mlp_train.steps": 8000},
}


@functools.partial(jax.jit, static_argnums=0)
def _datasets(config: Config, keys: jax.Array) -> dict:
    """One sparse regression dataset per seed key, with the targets of every task: `y` (linear),
    `y_outliers` (a share of them shifted up by U(20, 50)) and `y_logistic` (0/1 labels).

    Every λ of a sweep trains on its seed's dataset (`_per_run`), so comparisons are paired.
    """
    def one(key):
        sets = data.sparse_linear_regression(key, config.n, config.p, config.k, config.noise)
        k_pick, k_size = jax.random.split(jax.random.fold_in(key, OUTLIER_STREAM))
        hit = jax.random.uniform(k_pick, sets["y"].shape) < config.outlier_fraction
        shift = jax.random.uniform(k_size, sets["y"].shape, minval=20.0, maxval=50.0)
        return {**sets, "y_outliers": sets["y"] + jnp.where(hit, shift, 0.0),
                "y_logistic": (sets["y"] > 0).astype(jnp.float32)}
    return jax.vmap(one)(rng.run_stream(keys, DATA_STREAM))


def _per_run(per_seed: dict, runs: int) -> dict:
    """Per-seed arrays repeated for every value of a sweep (runs are value-major)."""
    return {name: np.tile(np.asarray(a), (runs // len(a),) + (1,) * (a.ndim - 1))
            for name, a in per_seed.items()}


def _penalty(train_config: TrainConfig, penalty: str, strengths, mask: PathMask | None = None):
    """Optimizer structure and per-run values for an L1 (proximal) or L2 (decay) sweep."""
    if penalty == "L1":
        return train_config.spec(l1=True, penalize=mask), {"l1": strengths}
    return train_config.spec(decoupled_decay=True, penalize=mask), {"weight_decay": strengths}


def _weights(model, _) -> dict:
    """The evaluate hook of the regressions: the fitted weight vector (NaN once diverged)."""
    return {"weights": model.head.kernel[...][:, 0]}


def _first_layer(model, splits) -> dict:
    """The evaluate hook of the MLP: per input, whether all its first-layer weights are 0 and
    the share that are; and the test accuracy."""
    zero = model.hidden[0].kernel[...] == 0  # (inputs, width)
    return {"input_pruned": jnp.all(zero, axis=-1).astype(jnp.float32),
            "zero_weights": jnp.mean(zero, axis=-1),
            **losses.classification_metrics(model, {"test": splits["test"]})}


def _fit_regressions(config: Config, task: str, penalties, strengths) -> np.ndarray:
    """Fitted weights (penalty, strength, seed, input); every strength sees the same datasets."""
    settings = config.logistic_train if task == "logistic" else config.train
    loss = losses.binary_cross_entropy if task == "logistic" else losses.squared_error
    sets = _datasets(config, rng.seed_keys(config.seed, config.seeds))
    targets = TARGETS[task]

    def fit_penalty(arm, keys, values):
        linear = MLPConfig(depth=0, bias=False, init="lecun_normal")
        graphdef, state = models.mlps(config.p, 1, linear, keys)
        spec, hparams = _penalty(settings, arm["penalty"], values)
        return train.fit(graphdef, state, loss, _per_run({"x": sets["x"], "y": sets[targets]}, len(keys)),
                         settings, keys, hparams=hparams, optimizer=spec, data_axis=0,
                         evaluate=_weights, name=f"{arm['penalty']}, {task}")

    grid = grid_fit({"penalty": penalties, "strength": strengths}, fit_penalty, seed=config.seed,
                    seeds=config.seeds, vmapped="strength")
    return grid.evals("weights")[..., -1, :]  # at the last evaluation


def run(config: Config) -> Results:
    """Fit both penalties over the λ grid (plus the thresholds), with and without outliers, as
    logistic regression, and on the first layer of an MLP with noise inputs."""
    strengths = sorted({*config.strengths, config.universal_threshold})
    logistic_strengths = sorted({*config.strengths, config.logistic_threshold})
    results = Results()
    results.add("weights", _fit_regressions(config, "linear", PENALTIES, strengths),
                ("penalty", "strength", "seed", "input"), penalty=list(PENALTIES), strength=strengths)
    w_true = _datasets(config, rng.seed_keys(config.seed, config.seeds))["w_true"]
    results.add("true_weights", np.asarray(w_true), ("seed", "input"))
    # The outlier fits run over the whole path only to reuse the clean L1 fits' compiled
    # programs; the claim reads the universal threshold.
    outliers = _fit_regressions(config, "linear with outliers", ("L1",), strengths)
    results.add("weights_outliers", outliers[0, strengths.index(config.universal_threshold)],
                ("seed", "input"))
    results.add("weights_logistic", _fit_regressions(config, "logistic", PENALTIES, logistic_strengths),
                ("penalty", "logistic_strength", "seed", "input"), logistic_strength=logistic_strengths)

    key = jax.random.fold_in(jax.random.key(config.seed), DATA_STREAM)  # one noisy set for all seeds
    splits = data.append_noise_inputs(data.mnist1d_splits(), key, config.noise_inputs)

    def fit_mlp(arm, keys, values):
        graphdef, state = models.mlps(data.MNIST1D_LENGTH + config.noise_inputs,
                                      data.MNIST1D_CLASSES, MLPConfig(width=config.mlp_width, depth=1),
                                      keys)
        spec, hparams = _penalty(config.mlp_train, arm["penalty"], values, mask=FIRST_LAYER)
        return train.fit(graphdef, state, losses.cross_entropy, splits["train"], config.mlp_train,
                         keys, hparams=hparams, optimizer=spec, evaluate=_first_layer,
                         eval_data=splits, name=f"MLP {arm['penalty']}")

    mlp = grid_fit({"penalty": PENALTIES, "mlp_strength": config.mlp_strengths}, fit_mlp,
                   seed=config.seed, seeds=config.seeds, part=MLP_PART, vmapped="mlp_strength")
    arms = ("penalty", "mlp_strength", "seed")
    results.add("mlp_input_pruned", mlp.evals("input_pruned")[..., -1, :], (*arms, "mlp_input"),
                mlp_strength=list(config.mlp_strengths))
    results.add("mlp_zero_weights", mlp.evals("zero_weights")[..., -1, :], (*arms, "mlp_input"))
    results.add("mlp_test_accuracy", curves.final(mlp.evals("test/accuracy")), arms)
    return results


def support_scores(weights: np.ndarray, true_weights: np.ndarray):
    """Per seed: (recall, precision) of the nonzero set of `weights` for the nonzero true inputs."""
    chosen, informative = weights != 0, true_weights != 0
    hits = np.sum(chosen & informative, axis=-1)
    recall = hits / np.sum(informative, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(chosen.any(-1), hits / np.sum(chosen, axis=-1), np.nan)
    return recall, precision


def _share(x) -> stats.Interval:
    """Mean and bootstrap interval over seeds of a share (stays inside [0, 1])."""
    return stats.mean_ci(x, bounds=(0, 1))


claims = ClaimBook("l1_vs_l2", questions="Q54, Q60")


@claims.rule("l1_exact_zeros",
             rule="at λ = σ√(2 ln p/n): the CI of L1's fraction of exactly-zero weights lies above "
                  "0.7 and L2's lies below 0.1")
def _(results: Results, config: Config):
    lam = config.universal_threshold
    zeros = {p: _share(np.mean(results.sel("weights", penalty=p, strength=lam) == 0, axis=-1))
             for p in PENALTIES}
    return stats.decide(zeros["L1"].above(0.7) and zeros["L2"].below(0.1),
                        f"fraction of exact zeros, L1 at λ={lam:.3g}", zeros["L1"], l2=zeros["L2"])


@claims.rule("l1_selects_features",
             rule="at λ = σ√(2 ln p/n): L1's nonzero set has recall CI above 0.9 and precision CI "
                  "above 0.5 for the k informative inputs")
def _(results: Results, config: Config):
    lam = config.universal_threshold
    recall, precision = (_share(s) for s in support_scores(
        results.sel("weights", penalty="L1", strength=lam), results["true_weights"]))
    return stats.decide(recall.above(0.9) and precision.above(0.5),
                        f"recall of the informative inputs, L1 at λ={lam:.3g}", recall,
                        precision=precision)


@claims.rule("l2_shrinks_evenly",
             rule="L2: the mean ‖w‖ falls at every step of the λ grid and no weight of any run is "
                  "exactly zero")
def _(results: Results, config: Config):
    l2_all = results.sel("weights", penalty="L2")  # (strength, seed, input)
    norms = np.linalg.norm(l2_all, axis=-1).mean(axis=1)
    monotone = bool(np.all(np.diff(norms) < 0))
    no_zeros = int(np.sum(l2_all == 0)) == 0
    return stats.decide(monotone and no_zeros, "fraction of exact zeros, L2, all λ",
                        _share(np.mean(l2_all == 0, axis=(0, 2))),
                        mean_norm_by_strength=dict(zip(results.coords["strength"], norms)),
                        norm_falls_monotonically=monotone)


@claims.rule("outlier_sentence_is_about_loss", questions="Q60", kind=stats.DESCRIPTIVE,
             rule="with 10 % outlying targets, the L1-penalized fit's parameter error ‖ŵ - w*‖ "
                  "grows more than 2x (CI of the per-seed ratio above 2): the L1 penalty gives no "
                  "robustness to outliers, so Q60's sentence concerns the L1 loss (see "
                  "regression_losses)")
def _(results: Results, config: Config):
    w_true = results["true_weights"]
    clean = results.sel("weights", penalty="L1", strength=config.universal_threshold)
    clean_error = np.linalg.norm(clean - w_true, axis=-1)
    outlier_error = np.linalg.norm(results["weights_outliers"] - w_true, axis=-1)
    ratio = stats.mean_ci(outlier_error / clean_error, bounds=(0, np.inf))
    return stats.decide(ratio.above(2), "parameter error with / without 10 % outliers, L1 penalty",
                        ratio, clean_error=stats.mean_ci(clean_error, bounds=(0, np.inf)),
                        outlier_error=stats.mean_ci(outlier_error, bounds=(0, np.inf)))


@claims.rule("logistic_l1_sparse_and_selective",
             rule="logistic regression at λ = ½√(2 ln p/n): L1's exact-zero share CI above 0.7, its "
                  "recall CI above 0.9 and precision CI above 0.5; L2's exact-zero share CI below 0.1",
             expected=stats.NOT_REPRODUCED,
             deviation="Our own claim, expected 'reproduced'. The sparsity half holds (93 % exact "
             "zeros with L1, none with L2) but at λ = ½√(2 ln p/n) ≈ 0.107 logistic L1 is too "
             "sparse: recall 0.71 (it drops about 3 of the 10 informative inputs) at precision 0.99. "
             "The bound assumes residuals of standard deviation ½; with |w*| in [1, 2] most labels "
             "are predictable and the residuals are smaller, so the right λ is lower: along the "
             "path, λ = 0.03 gives recall 1.0 at precision 0.51.")
def _(results: Results, config: Config):
    lam = config.logistic_threshold
    w_true = results["true_weights"]
    weights = {p: results.sel("weights_logistic", penalty=p, logistic_strength=lam) for p in PENALTIES}
    zeros = {p: _share(np.mean(w == 0, axis=-1)) for p, w in weights.items()}
    recall, precision = (_share(s) for s in support_scores(weights["L1"], w_true))
    path = {}
    for lam_path, w in zip(results.coords["logistic_strength"],
                           results.sel("weights_logistic", penalty="L1")):
        recall_path, precision_path = support_scores(w, w_true)
        # Precision is undefined (NaN) for a seed whose fit kept no input at all.
        defined = precision_path[np.isfinite(precision_path)]
        path[f"λ={lam_path:.3g}"] = {
            "recall": float(np.mean(recall_path)),
            "precision": float(defined.mean()) if defined.size else float("nan")}
    holds = (zeros["L1"].above(0.7) and recall.above(0.9) and precision.above(0.5)
             and zeros["L2"].below(0.1))
    return stats.decide(holds, f"fraction of exact zeros, logistic L1 at λ={lam:.3g}", zeros["L1"],
                        recall=recall, precision=precision, l2_zeros=zeros["L2"], l1_path=path)


@claims.rule("l1_prunes_noise_inputs",
             rule="MLP on MNIST-1D + 40 noise inputs, penalty on the first layer: at some λ of the "
                  "grid the per-seed difference (share of noise inputs pruned - share of signal "
                  "inputs pruned) under L1 has its CI above 0.5, and L2 prunes no input at any λ",
             expected=stats.NOT_REPRODUCED,
             deviation="Our own claim, expected 'reproduced' from the lasso literature. Element-wise "
             "L1 on the first layer zeroes signal and noise weights in equal shares (about 56 % of "
             "each at λ = 0.01 after 2000 steps, 59 % vs 59 % after 8000) and almost never removes "
             "a whole input (at most 2 %, at λ = 0.03 where accuracy collapses; in the full "
             "profile only λ = 0.1, with 99 % of weights at 0 and 20 % test accuracy, prunes noise "
             "inputs 25 points more often than signal ones). The net uses the "
             "noise inputs to fit the training set, so their gradients are not smaller; selecting "
             "inputs in a network needs a group penalty over each input's weights.")
def _(results: Results, config: Config):
    signal, noise = slice(0, data.MNIST1D_LENGTH), slice(data.MNIST1D_LENGTH, None)
    pruned = results.sel("mlp_input_pruned", penalty="L1")  # (strength, seed, input)
    selectivity = {lam: stats.mean_ci(np.mean(p[:, noise], -1) - np.mean(p[:, signal], -1),
                                      bounds=(-1, 1))
                   for lam, p in zip(results.coords["mlp_strength"], pruned)}
    best = max(selectivity, key=lambda lam: selectivity[lam].low)
    l2_pruned = results.sel("mlp_input_pruned", penalty="L2")
    l2_prunes_none = bool(np.nansum(l2_pruned) == 0)
    return stats.decide(
        selectivity[best].above(0.5) and l2_prunes_none,
        f"share of noise minus share of signal inputs pruned, L1 at λ={best:g}", selectivity[best],
        by_strength=selectivity, l2_pruned_inputs=float(np.nansum(l2_pruned)),
        zero_weight_share={f"{part} λ={lam:g}": _share(np.nanmean(z[:, cols], -1))
                           for lam, z in zip(results.coords["mlp_strength"],
                                             results.sel("mlp_zero_weights", penalty="L1"))
                           for part, cols in (("signal", signal), ("noise", noise))},
        test_accuracy={f"{p} λ={lam:g}": _share(results.sel("mlp_test_accuracy", penalty=p,
                                                            mlp_strength=lam))
                       for p in PENALTIES for lam in results.coords["mlp_strength"]})


def plot(results: Results, config: Config) -> dict:
    """Weight histograms at the decision λ; zeros, norm and support recovery along the λ path."""
    lam = config.universal_threshold
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
    ax.axhline(1 - config.k / w_true.shape[-1], color="grey", linestyle=":", linewidth=1,
               label="share of uninformative inputs")
    ax.axvline(lam, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("penalty strength λ")
    ax.set_ylabel("fraction of weights exactly 0")
    ax.set_title("exact zeros along the path")
    plots.legend_outside(ax)

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
    log_strengths = np.asarray(results.coords["logistic_strength"])
    log_recall, log_precision = support_scores(results.sel("weights_logistic", penalty="L1"),
                                               w_true[None])
    plots.band(ax, log_strengths, log_recall.T, label="L1 recall, logistic", color=plots.PALETTE[2],
               marker="o", linestyle=":")
    plots.band(ax, log_strengths, log_precision.T, label="L1 precision, logistic",
               color=plots.PALETTE[2], marker="s", linestyle="-.")
    ax.axvline(config.logistic_threshold, color=plots.PALETTE[2], linestyle="--", linewidth=1)
    _, l2_precision = support_scores(results.sel("weights", penalty="L2"), w_true[None])
    plots.band(ax, strengths, l2_precision.T, label="L2 precision", color=plots.PALETTE[1],
               marker="s", linestyle="--")
    ax.axvline(lam, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlabel("penalty strength λ")
    ax.set_ylabel("support recovery")
    ax.set_title("which inputs stay nonzero")
    plots.legend_outside(ax)
    plots.title(fig, "L1 sets most weights exactly to zero and keeps the informative ones; "
                     "L2 only shrinks")
    return {"l1_vs_l2": fig, "mlp_noise_inputs": _plot_mlp(results)}


def _plot_mlp(results: Results):
    """Shares of exactly-zero first-layer weights on signal and noise inputs, along λ and per input."""
    n_signal = data.MNIST1D_LENGTH
    strengths = np.asarray(results.coords["mlp_strength"])
    fig, axes = plots.figure(ncols=2, width=5.0)
    ax = axes[0, 0]
    for i, penalty in enumerate(PENALTIES):
        zeros = results.sel("mlp_zero_weights", penalty=penalty)  # (strength, seed, input)
        for part, cols, style in (("signal", slice(0, n_signal), "-"),
                                  ("noise", slice(n_signal, None), "--")):
            share = np.mean(zeros[:, :, cols], axis=-1).T  # (seed, strength)
            plots.band(ax, strengths, share, label=f"{penalty}: weights of {part} inputs",
                       color=plots.PALETTE[i], marker="o", linestyle=style)
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("first-layer penalty strength λ")
    ax.set_ylabel("share of first-layer weights exactly 0")
    ax.set_title("zero weights along the path")
    ax.legend()
    ax = axes[0, 1]
    last = len(strengths) - 1
    zeros = np.nanmean(results.sel("mlp_zero_weights", penalty="L1")[last], axis=0)  # (input,)
    pruned = np.nanmean(results.sel("mlp_input_pruned", penalty="L1")[last], axis=0)
    colors = [plots.PALETTE[0]] * n_signal + [plots.PALETTE[3]] * (len(zeros) - n_signal)
    ax.bar(np.arange(len(zeros)), zeros, color=colors, width=0.9, label="share of its weights at 0")
    ax.plot(np.arange(len(zeros)), pruned, "k.", label="share of seeds pruning it whole")
    ax.axvline(n_signal - 0.5, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel(f"input (0-{n_signal - 1} MNIST-1D signal, {n_signal}-{len(zeros) - 1} noise)")
    ax.set_ylabel("share")
    ax.set_title(f"L1 at λ = {strengths[last]:g}, per input")
    ax.set_ylim(0, 1.03)
    ax.legend(loc="upper right")
    plots.title(fig, "In an MLP's first layer, L1 zeroes signal and noise weights alike: "
                     "it does not select inputs")
    return fig


main(__spec__)
