"""L1 vs L2 regularization: L1 sets weights exactly to zero and selects features; L2 only shrinks.

Q&A: Q54, Q60. Setup: sparse linear regression, n = 200 examples, p = 100 inputs of which
k = 10 are informative (|w*| in [1, 2]), noise σ = 1, a fresh dataset per seed. Both
penalties are trained by full-batch gradient descent over a grid of strengths λ: L1 by a
proximal (soft-threshold) step after each gradient step (ISTA; a subgradient of |w| would leave
weights hovering near zero, never at it), L2 by decoupled weight decay (identical to the
(λ/2)‖w‖² penalty under plain gradient descent). L1's claims are decided at the universal
threshold λ = σ√(2 ln p / n) ≈ 0.21 (Donoho & Johnstone 1994), fixed from the setup, not the
data. The same comparison is repeated for logistic regression on labels 1[Xw* + ε > 0]. A
variant adds 10 % outlying targets (+20 to +50) to show that the L1 *penalty* gives no
robustness to outliers: Q60's robustness sentence concerns the L1 (absolute) *loss*, which
`regression_losses` tests; here it is checked against L2 (ridge) and the absolute loss. Last,
the penalties act on the first layer of a one-hidden-layer MLP (width 16) on 500 MNIST-1D training
examples whose 40 inputs are joined by 40 pure noise inputs of the same scale, trained by
full-batch proximal gradient descent: element-wise L1, the row-wise group lasso (each input's
outgoing weights as one group, `penalties.group_l1_proximal`) and L2; an input is pruned when
its whole row is 0.

Re-decided for issue 9 (twice; all three claims below are the module's own or re-kinded after a
first run: post-hoc):
- `logistic_l1_sparse_and_selective`. First: λ = ½√(2 ln p/n) ≈ 0.107 (not reproduced, recall
  0.71). Then: the scaled lasso (σ̂ = RMS residual of the L1 fit, 0.41, inflated by the fit's
  shrinkage; λ̂ ≈ 0.089): not reproduced, recall 0.86. Now two choices of λ, per seed: (a) from
  the setup's residual scale √E[p(1 − p)] = 0.214 at the true model (closed form; the analogue
  of the known σ of the linear claims), λ = 0.046; (b) the prediction-optimal λ of 5-fold
  cross-validation (held-out cross-entropy, quarter-decade grid 0.002-0.2). Three-way rule.
  Verdict: nuanced. Seed 0: at (a) zeros 0.86 [0.84, 0.88], recall 1.00, precision 0.74
  [0.65, 0.82] (passes); at (b) λ ≈ 0.012, recall 1.00 but precision 0.26 [0.23, 0.30] and zeros
  0.61 [0.57, 0.65] (fails). Seed 1: nuanced;
  (a) zeros 0.86 [0.85, 0.87], recall 0.99 [0.96, 1.00], precision 0.72 [0.65, 0.79]; (b) λ ≈
  0.013, precision 0.27 [0.23, 0.33], zeros 0.61 [0.56, 0.68].
- `l1_prunes_noise_inputs`. First: element-wise L1 under minibatch SGD; then the group lasso
  under minibatch SGD (batch 100, 2000 steps, λ 1e-4-1e-2): not reproduced, no input pruned.
  With minibatches a zeroed row stays 0 only while its minibatch gradient is below √width·λ
  (the lr cancels), so gradient noise, not the penalty, kept every row off 0. Now: full-batch
  prox-GD (lr 0.2, 2500 steps; the penalized losses change by ~2 % over the last 500), λ grid
  0.001-0.03 at half-decade steps, the most selective λ chosen by the mean (ties: the larger λ;
  the old code took the largest lower bound, which reported the smallest λ when all tied at 0).
  Verdict: reproduced. Seed 0: at λ = 0.03 (the grid's top) 73 % of noise inputs and 10 % of
  signal inputs pruned, selectivity 0.63 [0.57, 0.69]; no pruning at λ ≤ 0.01; L2 prunes none.
  Test accuracy is low for every arm (0.23-0.28: 500 examples, 40 noise inputs) and group L1's
  at λ = 0.03 (0.26) is not below L2's (0.24). Element-wise L1 prunes no whole row even at full
  batch. Seed 1: reproduced,
  0.60 [0.54, 0.67] at λ = 0.03 (noise 68 %, signal 8 % pruned; accuracy 0.26 vs L2's 0.25).
- `outlier_sentence_is_about_loss`. Before: "the L1-penalized fit's error more than doubles
  with 10 % outliers" (could hardly fail; reproduced). Now discriminating: the L1 penalty is no
  more robust than L2 (paired CI of the error ratios L1 − L2 not below 0; L2 at its best clean λ
  on the grid) and the absolute loss (LAD-lasso at the pivotal λ = √(2 ln p/n)) is robust (ratio
  CI below 2). Verdict: not reproduced at seed 0,
  reproduced at seed 1 (a borderline rule): the L1 penalty's error ratio is slightly *below*
  L2's, 9.7x [8.5, 10.8] vs 11.0x [9.8, 12.4] (L2 at λ = 0.01), paired −1.32 [−2.51, −0.13] at
  seed 0; 9.0x vs 10.1x (L2 at λ = 0.03), −1.08 [−2.58, 0.42] at seed 1. The absolute loss's
  ratio is 1.57 [1.35, 1.80] and 1.42 [1.31, 1.53]: the robustness is the loss's.

Command:  python -m experiments.l1_vs_l2 --profile quick
Expected: at λ ≈ 0.21, L1 zeroes ≈ 90 % of the weights and recovers all 10 informative
inputs with few false positives; L2 leaves no exact zero at any λ while ‖w‖ falls smoothly.
10 % outliers multiply the error of both penalized squared-loss
fits ≈ 10x (the L1 penalty's slightly less than L2's: recorded deviation), the absolute loss's
≈ 1.5x. Logistic L1 is sparse and selective at the residual-scale λ but not at the
cross-validated λ, which keeps 60 % of the weights (nuanced, recorded deviation). In the MLP,
full-batch group L1 prunes most noise inputs and few signal inputs at λ = 0.03, where test accuracy
is no lower than L2's; element-wise L1 prunes no whole input.
Runtime: quick 88 s of CPU time (user + sys; 8 seeds, 121 compiled programs; 10 minutes wall
on 2 cores shared by many jobs; the full-batch MLP is most of it); full (64 seeds, 4000
examples, width 64) is meant for a GPU (not run).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.linear_model import QuantileRegressor

from phenomena import curves, data, losses, models, plots, rng, selection, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main
from phenomena.models import MLPConfig
from phenomena.optim import PathMask
from phenomena.results import Results
from phenomena.train import TrainConfig

PENALTIES = ("L1", "L2")
MLP_PENALTIES = ("L1", "group L1", "L2")  # the MLP's first layer also gets the row-wise group lasso
TARGETS = {"linear": "y", "linear with outliers": "y_outliers", "logistic": "y_logistic"}
DATA_STREAM = 2  # datasets draw from their own key stream, apart from inits and batches
OUTLIER_STREAM = 7  # the outliers' draws, folded into each run's data key
CV_STREAM = 3  # each seed's cross-validation folds, apart from its dataset's draws
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
    mlp_train_size: int = 500  # MNIST-1D training examples of the MLP (full batch: kept small for CPU)
    mlp_width: int = 16  # hidden units of the one-hidden-layer MLP on MNIST-1D
    noise_inputs: int = 40  # N(0, 1) inputs appended to MNIST-1D's 40 signal inputs
    mlp_strengths: tuple[float, ...] = (0.001, 0.003, 0.01, 0.03)  # penalty λ on the MLP's first layer (half-decade grid)
    cv_folds: int = 5  # folds of the cross-validation that picks the logistic λ
    cv_strengths: tuple[float, ...] = (0.002, 0.0036, 0.0063, 0.011, 0.02, 0.036, 0.063, 0.11, 0.2)  # logistic λ grid searched by cross-validation (quarter-decade)
    # Full-batch proximal gradient descent: with minibatches a zeroed row stays 0 only while its
    # minibatch gradient is below √width·λ, so gradient noise, not the penalty, would set the zeros.
    mlp_train: TrainConfig = TrainConfig(optimizer="sgd", lr=0.2, steps=2500, batch_size=0,
                                         eval_every=500)  # the MLP: full-batch prox-GD to convergence

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
        check(self.mlp_train_size > 0, f"mlp_train_size must be positive, got {self.mlp_train_size}")
        check(self.cv_folds >= 2 and self.n // self.cv_folds >= 2,
              f"cv_folds must be >= 2 and leave >= 2 examples per fold, got {self.cv_folds}")
        check(len(self.cv_strengths) >= 2 and all(s > 0 for s in self.cv_strengths),
              "cv_strengths needs at least two positive values")

    @property
    def universal_threshold(self) -> float:
        """σ√(2 ln p / n): the λ at which L1's claims are decided (as on the grid)."""
        return round(self.noise * math.sqrt(2 * math.log(self.p) / self.n), GRID_DIGITS)

    @property
    def logistic_threshold(self) -> float:
        """The universal threshold with the logistic model's residual scale in place of σ:
        √E[p(1 − p)] √(2 ln p / n) (as on the grid)."""
        return round(self.bernoulli_scale * self.unit_threshold, GRID_DIGITS)

    @property
    def bernoulli_scale(self) -> float:
        """√E[p(1 − p)], the residual standard deviation of y ~ Bernoulli(p) at the true model,
        p = Φ(x·w*/σ) (labels 1[x·w* + ε > 0]), from the setup alone: with s² = E‖w*‖²/σ²
        (k weights of magnitude U(1, 2): E w² = 7/3), E[Φ(sZ)²] = ¼ + arcsin(ρ)/2π with
        ρ = s²/(1 + s²), so E[p(1 − p)] = ¼ − arcsin(ρ)/2π."""
        s2 = self.k * 7 / 3 / self.noise**2
        return math.sqrt(0.25 - math.asin(s2 / (1 + s2)) / (2 * math.pi))

    @property
    def unit_threshold(self) -> float:
        """√(2 ln p / n): the universal threshold per unit of residual standard deviation."""
        return math.sqrt(2 * math.log(self.p) / self.n)


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "p": 20, "k": 4, "strengths": (0.01, 0.3), "train.steps": 100,
              "train.eval_every": 100, "logistic_train.steps": 100,
              "logistic_train.eval_every": 100, "cv_folds": 2, "cv_strengths": (0.01, 0.1),
              "mlp_train_size": 100, "mlp_width": 8, "noise_inputs": 8,
              "mlp_strengths": (1e-3,), "mlp_train.steps": 50, "mlp_train.eval_every": 50},
    "quick": {},
    "full": {"seeds": 64, "train.steps": 5000, "train.eval_every": 5000,
             "logistic_train.steps": 10000, "logistic_train.eval_every": 10000,
             "strengths": (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0),
             "mlp_train_size": 4000, "mlp_width": 64,
             "mlp_strengths": (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1), "mlp_train.steps": 10000,
             "mlp_train.eval_every": 1000},
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
    """Optimizer structure and per-run values for an L1 (proximal), group L1 (row-wise proximal)
    or L2 (decay) sweep."""
    if penalty in ("L1", "group L1"):
        return (train_config.spec(l1=True, l1_rows=penalty == "group L1", penalize=mask),
                {"l1": strengths})
    return train_config.spec(decoupled_decay=True, penalize=mask), {"weight_decay": strengths}


def _weights(model, _) -> dict:
    """The evaluate hook of the regressions: the fitted weight vector (NaN once diverged)."""
    return {"weights": model.head.kernel[...][:, 0]}


def _first_layer(model, splits) -> dict:
    """The evaluate hook of the MLP: per input, whether all its first-layer weights are 0, the
    share that are and their norm; and the training and test loss and accuracy."""
    kernel = model.hidden[0].kernel[...]  # (inputs, width)
    zero = kernel == 0
    return {"input_pruned": jnp.all(zero, axis=-1).astype(jnp.float32),
            "zero_weights": jnp.mean(zero, axis=-1),
            "input_norm": jnp.linalg.norm(kernel, axis=-1),
            **losses.classification_metrics(model, splits)}


def _linear_model(config: Config, keys):
    """A bias-free linear model of the p inputs, one per key."""
    return models.mlps(config.p, 1, MLPConfig(depth=0, bias=False, init="lecun_normal"), keys)


def _fit_regressions(config: Config, task: str, penalties, strengths, sets=None) -> np.ndarray:
    """Fitted weights (penalty, strength, seed, input); every strength sees the same datasets
    (`sets`, one per seed, by default the seeds' own: `_datasets`)."""
    settings = config.logistic_train if task == "logistic" else config.train
    loss = losses.binary_cross_entropy if task == "logistic" else losses.squared_error
    sets = _datasets(config, rng.seed_keys(config.seed, config.seeds)) if sets is None else sets
    targets = TARGETS[task]

    def fit_penalty(arm, keys, values):
        graphdef, state = _linear_model(config, keys)
        spec, hparams = _penalty(settings, arm["penalty"], values)
        return train.fit(graphdef, state, loss, _per_run({"x": sets["x"], "y": sets[targets]}, len(keys)),
                         settings, keys, hparams=hparams, optimizer=spec, data_axis=0,
                         evaluate=_weights, name=f"{arm['penalty']}, {task}")

    grid = grid_fit({"penalty": penalties, "strength": strengths}, fit_penalty, seed=config.seed,
                    seeds=config.seeds, vmapped="strength")
    return grid.evals("weights")[..., -1, :]  # at the last evaluation


@functools.partial(jax.jit, static_argnums=0)
def _cv_splits(config: Config, sets: dict, keys: jax.Array) -> tuple[dict, dict]:
    """The cross-validation folds of every seed's logistic data: (train, held out), each
    `{"x", "y_logistic"}` with axes (fold, seed, example, ...); a random partition per seed."""
    size = config.n // config.cv_folds

    def one(x, y, key):
        order = jax.random.permutation(key, config.n)[:size * config.cv_folds]
        folds = order.reshape(config.cv_folds, size)
        rest = jnp.stack([jnp.concatenate([folds[:f], folds[f + 1:]]).ravel()
                          for f in range(config.cv_folds)])
        return ({"x": x[rest], "y_logistic": y[rest]}, {"x": x[folds], "y_logistic": y[folds]})

    split = jax.vmap(one)(sets["x"], sets["y_logistic"], rng.run_stream(keys, CV_STREAM))
    return jax.tree.map(lambda a: jnp.swapaxes(a, 0, 1), split)  # fold-major


def held_out_cross_entropy(weights: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean binary cross-entropy of logistic weights `(..., seed, input)` on held-out data
    `x (seed, example, input)`, `y (seed, example[, 1])`: shape `(..., seed)`."""
    logits = np.einsum("sni,...si->...sn", np.asarray(x, np.float64), np.asarray(weights, np.float64))
    y = np.asarray(y, np.float64).reshape(logits.shape[-2:])
    return np.mean(np.logaddexp(0.0, logits) - y * logits, axis=-1)


def _cv_loss(config: Config, sets: dict) -> np.ndarray:
    """k-fold cross-validated loss of logistic L1 at every `cv_strengths` λ: (λ, seed)."""
    fitting, held_out = _cv_splits(config, sets, rng.seed_keys(config.seed, config.seeds))
    fold_loss = []
    for fold in range(config.cv_folds):
        part = jax.tree.map(lambda a: a[fold], fitting)
        weights = _fit_regressions(config, "logistic", ("L1",), list(config.cv_strengths), part)[0]
        fold_loss.append(held_out_cross_entropy(weights, held_out["x"][fold],
                                                held_out["y_logistic"][fold]))
    return np.mean(fold_loss, axis=0)


def _least_absolute_fits(config: Config, sets: dict) -> np.ndarray:
    """Least-absolute-deviation regression with the L1 penalty (LAD-lasso, an exact linear
    program: scikit-learn's median `QuantileRegressor`), minimizing mean|y − x·w| + λ‖w‖₁ at the
    pivotal λ = √(2 ln p/n) (the score of the absolute loss, sign(ε)·x, has unit variance
    whatever σ): weights (target, seed, input) for the clean and the outlier targets."""
    # scikit-learn minimizes the pinball loss, ½|r| at the median: its alpha is λ / 2.
    def fit(x, y):
        model = QuantileRegressor(quantile=0.5, alpha=config.unit_threshold / 2,
                                  fit_intercept=False, solver="highs")
        return model.fit(np.asarray(x, np.float64), np.asarray(y, np.float64).ravel()).coef_

    return np.asarray([[fit(x, y) for x, y in zip(sets["x"], sets[target])]
                       for target in ("y", "y_outliers")])


def run(config: Config) -> Results:
    """Fit both penalties over the λ grid (plus the thresholds), with and without outliers, as
    logistic regression (and by cross-validation), and on the first layer of an MLP with noise
    inputs; and the absolute loss with and without outliers."""
    strengths = sorted({*config.strengths, config.universal_threshold})
    logistic_strengths = sorted({*config.strengths, *config.cv_strengths, config.logistic_threshold})
    sets = _datasets(config, rng.seed_keys(config.seed, config.seeds))
    results = Results()
    results.add("weights", _fit_regressions(config, "linear", PENALTIES, strengths),
                ("penalty", "strength", "seed", "input"), penalty=list(PENALTIES), strength=strengths)
    results.add("true_weights", np.asarray(sets["w_true"]), ("seed", "input"))
    results.add("weights_outliers", _fit_regressions(config, "linear with outliers", PENALTIES,
                                                     strengths), ("penalty", "strength", "seed", "input"))
    results.add("lad_weights", _least_absolute_fits(config, sets), ("lad_target", "seed", "input"),
                lad_target=["clean", "outliers"])
    results.add("weights_logistic", _fit_regressions(config, "logistic", PENALTIES, logistic_strengths),
                ("penalty", "logistic_strength", "seed", "input"), logistic_strength=logistic_strengths)
    results.add("cv_loss", _cv_loss(config, sets), ("cv_strength", "seed"),
                cv_strength=list(config.cv_strengths))

    key = jax.random.fold_in(jax.random.key(config.seed), DATA_STREAM)  # one noisy set for all seeds
    splits = data.append_noise_inputs(data.mnist1d_splits(train_size=config.mlp_train_size), key,
                                      config.noise_inputs)

    def fit_mlp(arm, keys, values):
        graphdef, state = models.mlps(data.MNIST1D_LENGTH + config.noise_inputs,
                                      data.MNIST1D_CLASSES, MLPConfig(width=config.mlp_width, depth=1),
                                      keys)
        spec, hparams = _penalty(config.mlp_train, arm["mlp_penalty"], values, mask=FIRST_LAYER)
        return train.fit(graphdef, state, losses.cross_entropy, splits["train"], config.mlp_train,
                         keys, hparams=hparams, optimizer=spec, evaluate=_first_layer,
                         eval_data=splits, name=f"MLP {arm['mlp_penalty']}")

    mlp = grid_fit({"mlp_penalty": MLP_PENALTIES, "mlp_strength": config.mlp_strengths}, fit_mlp,
                   seed=config.seed, seeds=config.seeds, part=MLP_PART, vmapped="mlp_strength")
    arms = ("mlp_penalty", "mlp_strength", "seed")
    results.add("mlp_input_pruned", mlp.evals("input_pruned")[..., -1, :], (*arms, "mlp_input"),
                mlp_penalty=list(MLP_PENALTIES), mlp_strength=list(config.mlp_strengths))
    results.add("mlp_zero_weights", mlp.evals("zero_weights")[..., -1, :], (*arms, "mlp_input"))
    results.add("mlp_input_norm", mlp.evals("input_norm")[..., -1, :], (*arms, "mlp_input"))
    results.add("mlp_test_accuracy", curves.final(mlp.evals("test/accuracy")), arms)
    # The whole training-loss curve: the figure and the convergence check read its flat end.
    results.add("mlp_train_loss", mlp.evals("train/loss"), (*arms, "mlp_step"),
                mlp_step=mlp.eval_steps)
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


def _parameter_error(weights: np.ndarray, w_true: np.ndarray) -> np.ndarray:
    """‖ŵ − w*‖ per run (last axis: inputs)."""
    return np.linalg.norm(weights - w_true, axis=-1)


def _outlier_ratio(clean: np.ndarray, outliers: np.ndarray, w_true: np.ndarray) -> np.ndarray:
    """Per seed, the parameter error with outliers over the error without."""
    return _parameter_error(outliers, w_true) / _parameter_error(clean, w_true)


@claims.rule("outlier_sentence_is_about_loss", questions="Q60", post_hoc=True,
             expected=stats.NOT_REPRODUCED,
             deviation="Our own discriminating form of the ledger's descriptive entry, expected "
             "'reproduced'. The absolute loss is robust (error ratio with / without 10 % outliers "
             "1.57 [1.35, 1.80] at seed 0, 1.42 [1.31, 1.53] at seed 1), but the L1 penalty is "
             "not less robust than L2: it is slightly more, 9.73x [8.49, 10.83] against L2's "
             "11.05x [9.76, 12.36] at L2's best clean λ = 0.01, paired −1.32 [−2.51, −0.13] at "
             "seed 0 (seed 1: −1.08 [−2.58, 0.42], reproduced). Both penalties multiply the error "
             "about 10x, so Q60's robustness is the loss's, not the penalty's; the penalty-vs-"
             "penalty part is borderline.",
             rule="with 10 % outlying targets, the per-seed ratio of parameter errors ‖ŵ − w*‖ "
                  "with / without outliers: under the L1 *penalty* (squared loss, λ = σ√(2 ln p/n)) "
                  "it is not below the L2 penalty's (squared loss, at the grid λ with the smallest "
                  "mean clean error): the paired CI of L1's ratio − L2's ratio does not lie below "
                  "0; and under the L1 *loss* (least absolute deviations with the L1 penalty at the "
                  "pivotal λ = √(2 ln p/n)) its CI lies below 2. Both: the penalty gives no "
                  "robustness, the loss does, so Q60's sentence concerns the loss")
def _(results: Results, config: Config):
    w_true = results["true_weights"]
    lam = config.universal_threshold
    l1 = _outlier_ratio(results.sel("weights", penalty="L1", strength=lam),
                        results.sel("weights_outliers", penalty="L1", strength=lam), w_true)
    l2_clean = results.sel("weights", penalty="L2")  # (strength, seed, input)
    best = selection.best_by_mean(_parameter_error(l2_clean, w_true))
    l2_lambda = results.coords["strength"][best]
    l2 = _outlier_ratio(l2_clean[best], results.sel("weights_outliers", penalty="L2")[best], w_true)
    lad = _outlier_ratio(*results["lad_weights"], w_true)
    penalty_gap = stats.paired_diff_ci(l1, l2)
    loss_ratio = stats.mean_ci(lad, bounds=(0, np.inf))
    return stats.decide(
        penalty_gap.high >= 0 and loss_ratio.below(2),
        "error ratio with / without outliers, L1 penalty − L2 penalty (paired)", penalty_gap,
        l1_penalty_ratio=stats.mean_ci(l1, bounds=(0, np.inf)),
        l2_penalty_ratio=stats.mean_ci(l2, bounds=(0, np.inf)), l2_lambda=l2_lambda,
        absolute_loss_ratio=loss_ratio,
        absolute_loss_clean_error=stats.mean_ci(_parameter_error(results["lad_weights"][0], w_true),
                                                bounds=(0, np.inf)),
        l1_penalty_clean_error=stats.mean_ci(_parameter_error(
            results.sel("weights", penalty="L1", strength=lam), w_true), bounds=(0, np.inf)))


def _cv_choice(results: Results) -> np.ndarray:
    """Per seed, the index into `logistic_strength` of the λ with the smallest k-fold
    cross-validated loss (the prediction-optimal λ; ties to the smaller λ)."""
    chosen = np.asarray(results.coords["cv_strength"])[np.argmin(results["cv_loss"], axis=0)]
    return np.asarray([results.coords["logistic_strength"].index(lam) for lam in chosen.tolist()])


def _sparse_and_selective(results: Results, index: np.ndarray) -> dict:
    """Logistic L1's exact-zero share, recall and precision, and L2's exact-zero share, each seed
    at the λ `index` picks; `holds` when all four clear the thresholds."""
    weights = {p: selection.per_seed(results.sel("weights_logistic", penalty=p), index)
               for p in PENALTIES}
    zeros = {p: _share(np.mean(w == 0, axis=-1)) for p, w in weights.items()}
    recall, precision = (_share(s) for s in support_scores(weights["L1"], results["true_weights"]))
    holds = (zeros["L1"].above(0.7) and recall.above(0.9) and precision.above(0.5)
             and zeros["L2"].below(0.1))
    return {"holds": holds, "zeros": zeros["L1"], "recall": recall, "precision": precision,
            "l2_zeros": zeros["L2"],
            "lambda": stats.mean_ci(np.asarray(results.coords["logistic_strength"])[index],
                                    bounds=(0, np.inf))}


@claims.rule("logistic_l1_sparse_and_selective", post_hoc=True, expected=stats.NUANCED,
             deviation="Our own claim, expected 'reproduced' from the lasso literature. At the λ "
             "fixed from the setup's residual scale (√E[p(1 − p)] = 0.214, λ = 0.046) logistic L1 "
             "is sparse and selective (seed 0: zeros 0.86 [0.84, 0.88], recall 1.00, precision "
             "0.74 [0.65, 0.82]); at the λ chosen by 5-fold cross-validation (0.012, the "
             "prediction-optimal λ) it keeps every informative input but so many uninformative "
             "ones that precision (0.26 [0.23, 0.30]) and sparsity (0.61 [0.57, 0.65]) fail: "
             "cross-validation over-selects (Meinshausen & Bühlmann 2006; Leng, Lin & Wahba 2006).",
             rule="logistic regression on labels 1[x·w* + ε > 0], two choices of λ, each per seed: "
                  "(a) the universal threshold with the residual scale of the true model in place "
                  "of σ, √E[p(1 − p)] √(2 ln p/n) (from the setup, as the linear claims use the "
                  "known σ); (b) the λ of `cv_strengths` with the smallest k-fold cross-validated "
                  "cross-entropy of the L1 fit. A choice passes if L1's exact-zero share CI lies "
                  "above 0.7, its recall CI above 0.9, its precision CI above 0.5, and L2's "
                  "exact-zero share (same λ) CI below 0.1. Reproduced if both pass, nuanced if "
                  "exactly one does, not reproduced if neither")
def _(results: Results, config: Config):
    strengths = results.coords["logistic_strength"]
    fixed = np.full(len(results["true_weights"]), strengths.index(config.logistic_threshold))
    by_choice = {"residual scale": _sparse_and_selective(results, fixed),
                 "cross-validation": _sparse_and_selective(results, _cv_choice(results))}
    passed = sum(c["holds"] for c in by_choice.values())
    verdict = {2: stats.REPRODUCED, 1: stats.NUANCED, 0: stats.NOT_REPRODUCED}[passed]
    at_scale = by_choice["residual scale"]
    return stats.outcome(
        verdict, f"fraction of exact zeros, logistic L1 at λ={config.logistic_threshold:.3g} "
                 "(residual scale)", at_scale["zeros"],
        residual_scale=config.bernoulli_scale,
        **{f"{name}: {key}": value for name, choice in by_choice.items()
           for key, value in choice.items()},
        l1_path=_logistic_path(results, results["true_weights"]))


def _logistic_path(results: Results, w_true: np.ndarray) -> dict:
    """Mean recall and precision of logistic L1 at each λ of the grid (context for the claim)."""
    path = {}
    for lam, w in zip(results.coords["logistic_strength"],
                      results.sel("weights_logistic", penalty="L1")):
        recall, precision = support_scores(w, w_true)
        # Precision is undefined (NaN) for a seed whose fit kept no input at all.
        defined = precision[np.isfinite(precision)]
        path[f"λ={lam:.3g}"] = {"recall": float(np.mean(recall)),
                                "precision": float(defined.mean()) if defined.size else float("nan")}
    return path


SIGNAL, NOISE = slice(0, data.MNIST1D_LENGTH), slice(data.MNIST1D_LENGTH, None)


def _selectivity(pruned: np.ndarray) -> stats.Interval:
    """Per seed, share of noise inputs pruned minus share of signal inputs pruned: its CI."""
    return stats.mean_ci(np.mean(pruned[:, NOISE], -1) - np.mean(pruned[:, SIGNAL], -1),
                         bounds=(-1, 1))


def _norm_ratio(norms: np.ndarray) -> np.ndarray:
    """Per seed, the mean first-layer row norm of the noise inputs over the signal inputs'."""
    return np.mean(norms[:, NOISE], -1) / np.mean(norms[:, SIGNAL], -1)


def _most_selective(strengths, selectivity: dict) -> float:
    """The λ whose selectivity has the highest mean over seeds; among ties the largest λ (the
    sparsest fit that is as selective)."""
    return max(sorted(strengths, reverse=True), key=lambda lam: selectivity[lam].mean)


@claims.rule("l1_prunes_noise_inputs", post_hoc=True,
             rule="MLP on MNIST-1D + 40 noise inputs, penalty on the first layer, trained by "
                  "full-batch proximal gradient descent to convergence (a minibatch gradient kicks "
                  "a zeroed row off 0 whenever it exceeds √width·λ, so minibatches would let "
                  "gradient noise set the zeros). Pruning an input is a group property, so the L1 "
                  "penalty is the group lasso over each input's row of first-layer weights: at the "
                  "λ of the grid with the highest mean selectivity (ties: the larger λ) the "
                  "per-seed difference (share of noise inputs pruned − share of signal inputs "
                  "pruned) has its CI above 0.5, and L2 prunes no input at any λ. Element-wise L1 "
                  "is measured alongside; test accuracy is reported at every λ")
def _(results: Results, config: Config):
    strengths = results.coords["mlp_strength"]
    pruned = results.sel("mlp_input_pruned", mlp_penalty="group L1")  # (strength, seed, input)
    selectivity = {lam: _selectivity(p) for lam, p in zip(strengths, pruned)}
    best = _most_selective(strengths, selectivity)
    l2_pruned = float(np.nansum(results.sel("mlp_input_pruned", mlp_penalty="L2")))

    def by_strength(name, penalty, summary):
        return {f"λ={lam:g}": summary(v) for lam, v in zip(strengths, results.sel(
            name, mlp_penalty=penalty))}

    def pruned_share(cols):
        return lambda p: _share(np.mean(p[:, cols], -1))

    return stats.decide(
        selectivity[best].above(0.5) and l2_pruned == 0,
        f"share of noise minus share of signal inputs pruned, group L1 at λ={best:g}",
        selectivity[best], group_l1_selectivity_by_strength=selectivity,
        group_l1_noise_pruned=by_strength("mlp_input_pruned", "group L1", pruned_share(NOISE)),
        group_l1_signal_pruned=by_strength("mlp_input_pruned", "group L1", pruned_share(SIGNAL)),
        l1_selectivity_by_strength=by_strength("mlp_input_pruned", "L1", _selectivity),
        l2_pruned_inputs=l2_pruned,
        noise_over_signal_row_norm={p: by_strength("mlp_input_norm", p, lambda n: stats.mean_ci(
            _norm_ratio(n), bounds=(0, np.inf))) for p in MLP_PENALTIES},
        test_accuracy={p: by_strength("mlp_test_accuracy", p, _share) for p in MLP_PENALTIES},
        final_train_loss={p: by_strength("mlp_train_loss", p, lambda c: stats.mean_ci(
            curves.final(c), bounds=(0, np.inf))) for p in MLP_PENALTIES},
        train_loss_change_last_interval={p: by_strength("mlp_train_loss", p, _last_change)
                                         for p in MLP_PENALTIES})


def _last_change(curve: np.ndarray) -> stats.Interval:
    """Per seed, the training loss's change over the last evaluation interval, relative to its
    final value (near 0 once converged)."""
    return stats.mean_ci((curve[:, -1] - curve[:, -2]) / curve[:, -1])


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
    ax.axvline(config.logistic_threshold, color=plots.PALETTE[2], linestyle="--",
               linewidth=1)  # the logistic claim's λ from the residual scale
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
    """Group L1's pruned shares and test accuracy along λ; the noise/signal row-norm ratio of
    each penalty; and per input at group L1's most selective λ."""
    n_signal = data.MNIST1D_LENGTH
    strengths = np.asarray(results.coords["mlp_strength"])
    group = results.sel("mlp_input_pruned", mlp_penalty="group L1")  # (strength, seed, input)
    fig, axes = plots.figure(ncols=3, width=4.4)
    ax = axes[0, 0]
    for values, label, color, style in (
            (np.mean(group[..., NOISE], -1), "noise inputs pruned", plots.PALETTE[3], "-"),
            (np.mean(group[..., SIGNAL], -1), "signal inputs pruned", plots.PALETTE[0], "-"),
            (results.sel("mlp_test_accuracy", mlp_penalty="group L1"), "test accuracy, group L1",
             "black", "--"),
            (results.sel("mlp_test_accuracy", mlp_penalty="L2"), "test accuracy, L2", "grey", ":")):
        plots.band(ax, strengths, values.T, label=label, color=color, marker="o", linestyle=style)
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlabel("first-layer penalty strength λ")
    ax.set_ylabel("share")
    ax.set_title("group L1: inputs removed, accuracy kept?")
    plots.legend_outside(ax)
    ax = axes[0, 1]
    for i, penalty in enumerate(MLP_PENALTIES):
        norms = results.sel("mlp_input_norm", mlp_penalty=penalty)  # (strength, seed, input)
        ratio = np.stack([_norm_ratio(n) for n in norms], axis=1)  # (seed, strength)
        plots.band(ax, strengths, ratio, label=penalty, color=plots.PALETTE[i], marker="o")
    ax.axhline(1.0, color="grey", linestyle=":", linewidth=1, label="no preference")
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("first-layer penalty strength λ")
    ax.set_ylabel("noise-input / signal-input row norm")
    ax.set_title("how much the noise inputs keep")
    plots.legend_outside(ax)
    ax = axes[0, 2]
    selectivity = {lam: _selectivity(p) for lam, p in zip(strengths.tolist(), group)}
    best_lambda = _most_selective(strengths.tolist(), selectivity)
    best = strengths.tolist().index(best_lambda)
    norms = np.nanmean(results.sel("mlp_input_norm", mlp_penalty="group L1")[best], axis=0)
    pruned = np.nanmean(group[best], axis=0)
    colors = [plots.PALETTE[0]] * n_signal + [plots.PALETTE[3]] * (len(norms) - n_signal)
    ax.bar(np.arange(len(norms)), norms, color=colors, width=0.9,
           label="row norm (mean over seeds)")
    ax2 = ax.twinx()
    ax2.plot(np.arange(len(norms)), pruned, "k.", label="share of seeds pruning it")
    ax2.set_ylim(0, 1.05)
    ax2.set_ylabel("share of seeds pruning the input")
    ax.axvline(n_signal - 0.5, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel(f"input (0-{n_signal - 1} MNIST-1D signal, {n_signal}-{len(norms) - 1} noise)")
    ax.set_ylabel("first-layer row norm")
    ax.set_title(f"group L1 at λ = {best_lambda:g}, per input")
    handles = ax.get_legend_handles_labels()
    extra = ax2.get_legend_handles_labels()
    ax.legend(handles[0] + extra[0], handles[1] + extra[1], loc="upper center",
              bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize="small")
    selective = selectivity[best_lambda].above(0.5)
    accuracy = {p: float(np.nanmean(results.sel("mlp_test_accuracy", mlp_penalty=p)[best]))
                for p in ("group L1", "L2")}
    plots.title(fig, "Full-batch group L1 on an MLP's first layer "
                + ("removes the noise inputs and few signal inputs" if selective
                   else "does not remove the noise inputs selectively")
                + f" (at λ = {best_lambda:g}, test accuracy "
                + ("near" if accuracy["group L1"] >= accuracy["L2"] - 0.05 else "below")
                + " L2's)")
    return fig


main(__spec__)
