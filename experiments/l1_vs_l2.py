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
`regression_losses` tests. Last, the penalties act on the first layer of a one-hidden-layer
MLP (width 64, plain SGD, batch 100) on MNIST-1D whose 40 inputs are joined by 40 pure noise
inputs of the same scale: element-wise L1, the row-wise group lasso (each input's 64 outgoing
weights as one group, `penalties.group_l1_proximal`) and L2; an input is pruned when its whole
row is 0.

Re-decided for issue 9 (all three claims below are the module's own or re-kinded after a first
run: post-hoc):
- `logistic_l1_sparse_and_selective`. Old: decided at λ = ½√(2 ln p/n) ≈ 0.107, which assumes
  a residual standard deviation of ½: not reproduced (recall 0.71). New: λ calibrated from the
  data by the scaled lasso (Sun & Zhang 2012): λ_{t+1} = σ̂_t √(2 ln p/n), σ̂_t the RMS residual
  y − σ(x·ŵ) of the L1 fit at λ_t, 3 rounds from 0.107, per seed. Verdict: not reproduced;
  λ̂ = 0.089 (σ̂ = 0.41), recall 0.86 [0.80, 0.91], precision 0.96, 91 % zeros at seed 0;
  at seed 1 λ̂ = 0.089, recall 0.79 [0.70, 0.86], precision 0.99, 92 % zeros.
- `l1_prunes_noise_inputs`. Old: element-wise L1, which zeroes weights but (under minibatch
  prox noise) never a whole input row: not reproduced. New: the group lasso over input rows,
  the penalty that targets inputs, on a half-decade λ grid 1e-4-1e-2. Verdict: not reproduced;
  no input is pruned at any λ (selectivity 0.00 [0.00, 0.02] at best, seed 0; 0.00 [0.00, 0.01] at
  seed 1), but group L1 shrinks the noise rows to 0.20 of the signal rows' norm at λ = 0.003
  (L2: 0.82, element-wise L1: 0.28).
- `outlier_sentence_is_about_loss`. Old: marked descriptive with a rule that could fail. New:
  a claim (post-hoc) with the same rule (parameter error more than doubles with outliers).
  Verdict: reproduced, 9.7x [8.5, 10.8] at seed 0, 9.0x [7.8, 10.1] at seed 1.

Command:  python -m experiments.l1_vs_l2 --profile quick
Expected: at λ ≈ 0.21, L1 zeroes ≈ 90 % of the weights and recovers all 10 informative
inputs with few false positives; L2 leaves no exact zero at any λ while ‖w‖ falls smoothly;
10 % outliers raise the L1-penalized fit's error ~10x. Logistic L1 at the scaled-lasso λ̂ is
sparse and precise but misses about one informative input in seven (recorded deviation). In
the MLP neither L1 form prunes a whole input, while both shrink the noise inputs' rows to
≈ 0.2-0.3 of the signal rows' norm (L2: ≈ 0.8) (recorded deviation).
Runtime: smoke ~75 compiled programs, ~45 s compiling cold; quick 56 s of CPU time (user +
sys; 8 seeds; 4-8 minutes wall on 2 cores shared by many jobs; the three MLP
penalties are most of it); full ~1 min on one H100 (64 seeds, not run).
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
MLP_PENALTIES = ("L1", "group L1", "L2")  # the MLP's first layer also gets the row-wise group lasso
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
    mlp_strengths: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)  # penalty λ on the MLP's first layer (half-decade grid)
    scale_iterations: int = 3  # scaled-lasso rounds that estimate the logistic residual scale for λ
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
        check(self.scale_iterations >= 1, f"scale_iterations must be >= 1, got {self.scale_iterations}")

    @property
    def universal_threshold(self) -> float:
        """σ√(2 ln p / n): the λ at which L1's claims are decided (as on the grid)."""
        return round(self.noise * math.sqrt(2 * math.log(self.p) / self.n), GRID_DIGITS)

    @property
    def logistic_threshold(self) -> float:
        """½√(2 ln p / n): the same threshold for a residual of standard deviation ≤ ½ (the
        scaled-lasso iteration's start)."""
        return round(0.5 * self.unit_threshold, GRID_DIGITS)

    @property
    def unit_threshold(self) -> float:
        """√(2 ln p / n): the universal threshold per unit of residual standard deviation."""
        return math.sqrt(2 * math.log(self.p) / self.n)


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
    share that are and their norm; and the test accuracy."""
    kernel = model.hidden[0].kernel[...]  # (inputs, width)
    zero = kernel == 0
    return {"input_pruned": jnp.all(zero, axis=-1).astype(jnp.float32),
            "zero_weights": jnp.mean(zero, axis=-1),
            "input_norm": jnp.linalg.norm(kernel, axis=-1),
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


def _logistic_fit_at(config: Config, sets: dict, penalty: str, strengths) -> np.ndarray:
    """Fitted logistic-regression weights (seed, input), each seed at its own λ (`strengths`)."""
    keys = rng.seed_keys(config.seed, config.seeds)  # grid_fit's keys: the same initializations
    graphdef, state = models.mlps(config.p, 1, MLPConfig(depth=0, bias=False, init="lecun_normal"),
                                  keys)
    spec, hparams = _penalty(config.logistic_train, penalty, np.asarray(strengths, np.float32))
    history = train.fit(graphdef, state, losses.binary_cross_entropy,
                        {"x": sets["x"], "y": sets["y_logistic"]}, config.logistic_train, keys,
                        hparams=hparams, optimizer=spec, data_axis=0, evaluate=_weights,
                        name=f"{penalty}, logistic at the scaled λ")
    return history.evals["weights"][:, -1]


def residual_scale(weights: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per seed, the root-mean-square residual y − σ(x·w) of a logistic fit on its own data."""
    logits = np.einsum("snp,sp->sn", np.asarray(x, np.float64), np.asarray(weights, np.float64))
    residual = np.asarray(y).reshape(logits.shape) - 1 / (1 + np.exp(-logits))
    return np.sqrt(np.mean(residual**2, axis=-1))


def _scaled_logistic(config: Config, sets: dict):
    """Scaled lasso (Sun & Zhang 2012) for the logistic fit: starting from λ₀ = ½√(2 ln p/n)
    (the bound for a residual of standard deviation ½), refit L1 at λ_t and set λ_{t+1} =
    σ̂_t √(2 ln p/n), σ̂_t the fit's RMS residual, per seed. Returns the λ path (round, seed)
    and both penalties' weights at the last λ: {penalty: (seed, input)}."""
    lam = np.full(config.seeds, config.logistic_threshold)
    path = [lam]
    for _ in range(config.scale_iterations):
        weights = _logistic_fit_at(config, sets, "L1", lam)
        lam = residual_scale(weights, sets["x"], sets["y_logistic"]) * config.unit_threshold
        path.append(lam)
    return np.stack(path), {p: _logistic_fit_at(config, sets, p, lam) for p in PENALTIES}


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
    lambdas, scaled = _scaled_logistic(config, _datasets(config, rng.seed_keys(config.seed,
                                                                               config.seeds)))
    results.add("logistic_scaled_lambda", lambdas, ("scale_round", "seed"))
    results.add("weights_logistic_scaled", np.stack([scaled[p] for p in PENALTIES]),
                ("penalty", "seed", "input"))

    key = jax.random.fold_in(jax.random.key(config.seed), DATA_STREAM)  # one noisy set for all seeds
    splits = data.append_noise_inputs(data.mnist1d_splits(), key, config.noise_inputs)

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


@claims.rule("outlier_sentence_is_about_loss", questions="Q60", post_hoc=True,
             rule="a claim (the ledger lists it as descriptive, but this rule can fail): with 10 % "
                  "outlying targets, the L1-penalized fit's parameter error ‖ŵ - w*‖ "
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


@claims.rule("logistic_l1_sparse_and_selective", post_hoc=True, expected=stats.NOT_REPRODUCED,
             deviation="Our own claim, expected 'reproduced' from the lasso literature. With λ "
             "calibrated from the data by the scaled lasso (3 rounds from λ₀ = 0.107: 0.095, "
             "0.091, 0.089; RMS residual σ̂ = 0.41 [0.40, 0.42]) logistic L1 is sparse (91 % exact "
             "zeros, L2 none) and precise (0.96) but still drops informative inputs: recall 0.86 "
             "[0.80, 0.91] at seed 0. The RMS residual of a shrunken L1 fit stays near ½, so the "
             "calibrated λ̂ ≈ 0.089 stays above the λ ≈ 0.03-0.06 where the path has recall 1.0 "
             "with precision ≥ 0.5.",
             rule="logistic regression, each seed at its scaled-lasso λ̂ = σ̂ √(2 ln p/n) (σ̂ the "
                  "RMS residual y − σ(x·ŵ) of the L1 fit, iterated `scale_iterations` times from "
                  "λ₀ = ½√(2 ln p/n)): L1's exact-zero share CI above 0.7, its recall CI above 0.9 "
                  "and precision CI above 0.5; L2's exact-zero share (at the same λ̂) CI below 0.1")
def _(results: Results, config: Config):
    w_true = results["true_weights"]
    weights = {p: results.sel("weights_logistic_scaled", penalty=p) for p in PENALTIES}
    zeros = {p: _share(np.mean(w == 0, axis=-1)) for p, w in weights.items()}
    recall, precision = (_share(s) for s in support_scores(weights["L1"], w_true))
    lambdas = results["logistic_scaled_lambda"]  # (round, seed)
    holds = (zeros["L1"].above(0.7) and recall.above(0.9) and precision.above(0.5)
             and zeros["L2"].below(0.1))
    return stats.decide(holds, "fraction of exact zeros, logistic L1 at the scaled λ̂", zeros["L1"],
                        recall=recall, precision=precision, l2_zeros=zeros["L2"],
                        scaled_lambda=stats.mean_ci(lambdas[-1], bounds=(0, np.inf)),
                        residual_scale=stats.mean_ci(lambdas[-1] / config.unit_threshold,
                                                     bounds=(0, 0.5)),
                        mean_lambda_by_round=[float(np.mean(r)) for r in lambdas],
                        l1_path=_logistic_path(results, w_true))


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


@claims.rule("l1_prunes_noise_inputs", post_hoc=True, expected=stats.NOT_REPRODUCED,
             deviation="Our own claim, expected 'reproduced' from the group-lasso literature. The "
             "row-wise group L1 prox after every minibatch SGD step prunes no input at any λ of "
             "1e-4 to 1e-2 (selectivity 0.00 [0, 0.02] at best): minibatch gradients kick each "
             "zeroed row off 0 at the next step. It does shrink the noise inputs' rows far more "
             "than the signal ones': their mean norm is 0.20 [0.20, 0.21] of the signal rows' at "
             "λ = 0.003 (test accuracy 0.46), against 0.82 under L2 at the same λ and 0.28 under "
             "element-wise L1 (seed 0). The selection shows in the norms, not in exact zeros.",
             rule="MLP on MNIST-1D + 40 noise inputs, penalty on the first layer. Pruning an input "
                  "is a group property, so the L1 penalty is the group lasso over each input's "
                  "row of first-layer weights (row-wise soft-threshold after every SGD step): at "
                  "some λ of the grid the per-seed difference (share of noise inputs pruned − "
                  "share of signal inputs pruned) has its CI above 0.5, and L2 prunes no input at "
                  "any λ. Element-wise L1 is measured alongside (zero-weight shares, row norms)")
def _(results: Results, config: Config):
    strengths = results.coords["mlp_strength"]
    pruned = results.sel("mlp_input_pruned", mlp_penalty="group L1")  # (strength, seed, input)
    selectivity = {lam: _selectivity(p) for lam, p in zip(strengths, pruned)}
    best = max(selectivity, key=lambda lam: selectivity[lam].low)
    l2_pruned = float(np.nansum(results.sel("mlp_input_pruned", mlp_penalty="L2")))

    def by_strength(name, penalty, summary):
        return {f"λ={lam:g}": summary(v) for lam, v in zip(strengths, results.sel(
            name, mlp_penalty=penalty))}

    return stats.decide(
        selectivity[best].above(0.5) and l2_pruned == 0,
        f"share of noise minus share of signal inputs pruned, group L1 at λ={best:g}",
        selectivity[best], group_l1_selectivity_by_strength=selectivity,
        l1_selectivity_by_strength=by_strength("mlp_input_pruned", "L1", _selectivity),
        l2_pruned_inputs=l2_pruned,
        noise_over_signal_row_norm={p: by_strength("mlp_input_norm", p, lambda n: stats.mean_ci(
            _norm_ratio(n), bounds=(0, np.inf))) for p in MLP_PENALTIES},
        l1_zero_weight_share={f"{part} λ={lam:g}": _share(np.nanmean(z[:, cols], -1))
                              for lam, z in zip(strengths, results.sel("mlp_zero_weights",
                                                                       mlp_penalty="L1"))
                              for part, cols in (("signal", SIGNAL), ("noise", NOISE))},
        test_accuracy={f"{p} λ={lam:g}": _share(results.sel("mlp_test_accuracy", mlp_penalty=p,
                                                            mlp_strength=lam))
                       for p in MLP_PENALTIES for lam in strengths})


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
    ax.axvline(float(np.mean(results["logistic_scaled_lambda"][-1])), color=plots.PALETTE[2],
               linestyle="--", linewidth=1)  # the scaled-lasso λ̂ (mean over seeds)
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
    """Shares of first-layer input rows removed (signal and noise) along λ for each penalty, and
    per input at group L1's most selective λ."""
    n_signal = data.MNIST1D_LENGTH
    strengths = np.asarray(results.coords["mlp_strength"])
    fig, axes = plots.figure(ncols=2, width=5.0)
    ax = axes[0, 0]
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
    ax = axes[0, 1]
    group = results.sel("mlp_input_pruned", mlp_penalty="group L1")
    selectivity = [_selectivity(p).mean for p in group]
    best = int(np.nanargmax(selectivity))
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
    ax.set_title(f"group L1 at λ = {strengths[best]:g}, per input")
    handles = ax.get_legend_handles_labels()
    extra = ax2.get_legend_handles_labels()
    ax.legend(handles[0] + extra[0], handles[1] + extra[1], loc="upper center",
              bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize="small")
    selective = _selectivity(group[best]).above(0.5)
    element_prunes = bool(np.any(results.sel("mlp_input_pruned", mlp_penalty="L1")))
    ratios = {p: np.nanmean([_norm_ratio(n) for n in results.sel("mlp_input_norm", mlp_penalty=p)],
                            axis=1) for p in ("group L1", "L2")}  # (strength,) each
    lowest = int(np.nanargmin(ratios["group L1"]))
    shrinks = ratios["group L1"][lowest] < 0.5 * ratios["L2"][lowest]
    plots.title(fig, "On an MLP's first layer, group L1 "
                + ("shrinks the noise inputs' weights far more than L2" if shrinks
                   else "does not shrink the noise inputs' weights much more than L2")
                + (" and removes them" if selective else ", but removes no input exactly")
                + ("" if element_prunes else "; nor does element-wise L1"))
    return fig


main(__spec__)
