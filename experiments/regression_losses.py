"""Regression losses: outliers drag the MSE line far off (3.8 at 10 %); MAE and Huber at δ = 1.345·σ̂ stay on the inliers up to 20 % (≤ 0.057); Huber at a fixed δ = 1 drifts to 0.26.

Q&A: Q45, Q47, Q48, Q49. Setup: y = 2x + 1 + ε with x ~ U(−1, 1), ε ~ N(0, 0.1²), n = 200
points drawn fresh per seed; a share f of the points (0, 5, 10, 20, 30 %: exactly f·n of them,
the first of one random order, so a seed's outliers at 10 % include those at 5 %) get +20…+50
added to y (LITERATURE.md's small-scale check). The inliers' σ = 0.1 is part of the claim's
setup: the 0.2 threshold is absolute, and at σ near 1 even a clean fit's error reaches it, so
`noise` above 0.1 is refused. A linear model y = wx + b is fitted full-batch with each loss:
Optax's l2_loss = ½r², the mean absolute error |r|, and Optax's huber_loss at Huber's own
setting, δ = 1.345·σ̂ (robust statistics' choice, 95 % efficient on Gaussian noise), σ̂ the
normal-consistent MAD of the residuals of the exact least-absolute-deviations fit, per seed
and fraction (δ ≈ 0.13-0.18 up to 20 %); a second Huber arm at the fixed δ = 1 of LITERATURE's
10 % check is descriptive. Adam with a cosine decay of the rate to 0 over the budget (the
subgradient of |r| does not vanish at the optimum, so a constant rate would leave MAE
jittering), at each of four peak rates (vmapped: one compiled program per loss function; both
Huber arms carry their δ in their data and share one). Each (loss, fraction) keeps the rate
with the lowest mean final training loss (the loss it minimizes; the parameter error plays no
part in the choice). Parameter error = ‖(w, b) − (2, 1)‖. Convergence is checked against each
loss's exact minimizer on the same data (least squares, scikit-learn's median
QuantileRegressor, i.e. least absolute deviations as a linear program, and BFGS on the Huber
objective at the arm's δ).

Command:  python -m experiments.regression_losses --profile quick
Expected (quick, seed 0 / seed 1; mean [95 % CI] over 8 seeds):
- mse_pulled_by_outliers, reproduced: MSE error 0.010 / 2.06 / 3.82 [3.47, 4.18] / 7.23 /
  10.80 at 0 / 5 / 10 / 20 / 30 % outliers (seed 1: 3.45 [3.28, 3.63] at 10 %; LITERATURE 3.4),
  rising over the whole range (trend_verdict reproduced, turn at 30 %).
- mae_huber_robust, reproduced: at 20 % outliers MAE 0.042 [0.034, 0.051] / 0.037 [0.027,
  0.047], Huber (δ = 1.345·σ̂, mean δ 0.18) 0.057 [0.048, 0.066] / 0.050 [0.044, 0.057]; at 10 %
  MAE 0.025 / 0.027 (LITERATURE 0.02), Huber 0.028 / 0.026.
- huber_fixed_delta (descriptive, post hoc), reproduced: Huber at δ = 1 has 0.124 [0.110, 0.138]
  / 0.114 [0.108, 0.120] at 10 % (LITERATURE 0.1) but 0.261 [0.251, 0.272] / 0.256 [0.245,
  0.267] at 20 %, past 0.2: a δ far above the noise leaves every inlier in the quadratic zone
  and every outlier pulling with the constant force δ, an intercept shift of f·δ/(1 − f) = 0.25
  at 20 % (it holds while σ ≪ δ).
- fits_converged (check), reproduced: all 160 fits within 0.1·σ = 0.01 of their loss's exact
  minimizer (largest distance 0.0024 at seed 0, 0.0033 at seed 1).
Runtime: smoke ~11 s CPU (user + sys, warm compilation cache); quick ~15 s CPU warm, ~20 s
cold (2 cores shared with other jobs); full (64 seeds, 10 fractions, n = 1000, 6 rates, 8000
steps) is sized for one GPU and was not run.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax
from scipy.optimize import minimize
from scipy.stats import median_abs_deviation
from sklearn.linear_model import QuantileRegressor

from phenomena import losses, models, plots, rng, selection, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main
from phenomena.models import MLPConfig
from phenomena.results import Results
from phenomena.train import TrainConfig

TRUE_SLOPE, TRUE_INTERCEPT = 2.0, 1.0  # the line y = 2x + 1 of the ledger
# Huber twice: at δ = k·σ̂ (robust statistics' choice, deciding) and at a fixed δ (descriptive).
LOSSES = ("MSE", "MAE", "Huber", "Huber_fixed")
HUBER_ARMS = ("Huber", "Huber_fixed")
MSE_FRACTION, MSE_THRESHOLD = 0.1, 1.0  # the MSE error at 10 % outliers must exceed 1
ROBUST_UP_TO, ROBUST_THRESHOLD = 0.2, 0.2  # MAE and Huber errors < 0.2 up to 20 % outliers
CONVERGED_SHARE_OF_NOISE = 0.1  # a fit within 0.1·σ of its loss's exact minimizer has converged
LITERATURE_NOISE = 0.1  # the inliers' σ of LITERATURE's check, on which the 0.2 threshold rests
DATA_STREAM = 2  # each seed key's stream for its dataset (0 and 1: init and training)
SEED_PART = 0  # `rng.seed_keys` family of the runs and their datasets


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    fractions: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3)  # shares of points made outliers
    n: int = 200  # points per dataset (one fresh dataset per seed)
    noise: float = 0.1  # standard deviation of the inliers' noise ε
    outlier_low: float = 20.0  # smallest offset added to an outlier's y
    outlier_high: float = 50.0  # largest offset added to an outlier's y
    huber_tuning: float = 1.345  # deciding Huber arm: δ = huber_tuning · σ̂ (MAD of LAD residuals)
    huber_delta: float = 1.0  # the second, descriptive Huber arm's fixed δ (LITERATURE's check)
    lrs: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3)  # Adam peak rates tried per loss (vmapped)
    train: TrainConfig = TrainConfig(optimizer="adam", lr=0.1, steps=2000, batch_size=0,
                                     eval_every=250)  # full batch; the rate decays to 0 at `steps`

    IGNORED_KEYS: ClassVar[Mapping[str, str]] = {
        "train.lr": "the peak rates are the grid `lrs`, each loss keeps its best"}

    def __post_init__(self):
        super().__post_init__()
        check(0.0 in self.fractions and MSE_FRACTION in self.fractions
              and ROBUST_UP_TO in self.fractions,
              f"fractions must include 0, {MSE_FRACTION} and {ROBUST_UP_TO} (the rules read "
              f"them), got {self.fractions}")
        check(list(self.fractions) == sorted(set(self.fractions)),
              f"fractions must be distinct and ascending, got {self.fractions}")
        check(all(0 <= f < 0.5 for f in self.fractions),
              f"fractions must lie in [0, 0.5) (outliers stay a minority), got {self.fractions}")
        check(self.n >= 10, f"n must be at least 10, got {self.n}")
        check(0 < self.noise <= LITERATURE_NOISE,
              f"noise must lie in (0, {LITERATURE_NOISE}], got {self.noise}: the fixed 0.2 "
              f"threshold is LITERATURE's check at σ = {LITERATURE_NOISE}; at larger noise even a "
              f"clean fit's error approaches it and the rule no longer measures robustness")
        check(self.huber_tuning > 0, f"huber_tuning must be positive, got {self.huber_tuning}")
        check(0 < self.outlier_low <= self.outlier_high,
              f"need 0 < outlier_low <= outlier_high, got {self.outlier_low}, {self.outlier_high}")
        check(self.huber_delta > 0, f"huber_delta must be positive, got {self.huber_delta}")
        check(all(lr > 0 for lr in self.lrs), f"lrs must be positive, got {self.lrs}")
        check(self.train.batch_size == 0, "train.batch_size must be 0: the fits are full-batch")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "fractions": (0.0, 0.1, 0.2), "lrs": (0.1,), "train.steps": 200,
              "train.eval_every": 100},
    "quick": {},
    "full": {"seeds": 64, "fractions": (0.0, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4),
             "n": 1000, "lrs": (0.003, 0.01, 0.03, 0.1, 0.3, 1.0), "train.steps": 8000,
             "train.eval_every": 500},
}


@functools.partial(jax.jit, static_argnums=0)
def _datasets(config: Config, keys: jax.Array) -> dict:
    """One dataset per seed key: `x` (seed, n, 1) and `y` (fraction, seed, n, 1).

    The inliers are the same at every fraction; the outliers at fraction f are the first f·n
    points of one random order, each shifted up by its own U(outlier_low, outlier_high) offset.
    """
    def one(key):
        k_x, k_noise, k_order, k_offset = jax.random.split(key, 4)
        x = jax.random.uniform(k_x, (config.n, 1), minval=-1.0, maxval=1.0)
        y = TRUE_SLOPE * x + TRUE_INTERCEPT + config.noise * jax.random.normal(k_noise, x.shape)
        rank = jax.random.permutation(k_order, config.n)[:, None]
        offset = jax.random.uniform(k_offset, x.shape, minval=config.outlier_low,
                                    maxval=config.outlier_high)
        counts = jnp.round(jnp.asarray(config.fractions) * config.n)
        y_by_fraction = jnp.stack([y + jnp.where(rank < c, offset, 0.0) for c in counts])
        return x, y_by_fraction

    x, y = jax.vmap(one)(rng.run_stream(keys, DATA_STREAM))
    return {"x": x, "y": jnp.moveaxis(y, 1, 0)}


def huber_from_batch(model, batch, *, train: bool = False, key=None):
    """Mean of Optax's `huber_loss` with the threshold `batch["delta"]` (one per point, constant
    within a dataset): every run carries its own δ in its data, so one compiled program trains
    both Huber arms whatever their δ."""
    prediction, _ = model(batch["x"], train=train, key=key)
    return jnp.mean(optax.huber_loss(prediction, batch["y"], delta=batch["delta"])), {}


def evaluate(model, batch) -> dict:
    """The evaluate hook of `fit`: slope, intercept and the three losses on the training data
    (Huber at the run's own δ)."""
    prediction, _ = model(batch["x"])
    residual = prediction - batch["y"]
    return {"w": model.head.kernel[...][0, 0], "b": model.head.bias[...][0],
            "MSE": jnp.mean(optax.l2_loss(residual)),
            "MAE": jnp.mean(losses.absolute_error(prediction, batch["y"])),
            "Huber": jnp.mean(optax.huber_loss(residual, delta=batch["delta"]))}


TRAINING_LOSS_FN = {"MSE": losses.l2_error, "MAE": losses.mean_absolute_error,
                    "Huber": huber_from_batch, "Huber_fixed": huber_from_batch}


def _design(x: np.ndarray) -> np.ndarray:
    """float64 design matrix [x, 1] of one dataset's inputs (n,)."""
    return np.stack([x, np.ones_like(x)], axis=1).astype(np.float64)


def lad_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least absolute deviations line (w, b): scikit-learn's median QuantileRegressor without
    penalty (a linear program, solved exactly)."""
    fit = QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs").fit(x[:, None], y)
    return np.array([fit.coef_[0], fit.intercept_])


def robust_delta(x: np.ndarray, y: np.ndarray, line: np.ndarray, tuning: float) -> float:
    """Huber's δ = tuning · σ̂, σ̂ the normal-consistent MAD of the residuals of `line` (a first,
    robust fit): robust statistics' choice, 95 % efficient on Gaussian noise (tuning 1.345)."""
    residual = y - _design(x) @ line
    return tuning * float(median_abs_deviation(residual, scale="normal"))


@jax.jit
@jax.value_and_grad
def _huber_objective(params, x, y, delta):
    """Mean Huber loss (threshold `delta`) of the line (w, b) on (x, y), with its gradient."""
    return jnp.mean(optax.huber_loss(params[0] * x + params[1], y, delta=delta))


def huber_fit(x: np.ndarray, y: np.ndarray, delta: float, start: np.ndarray) -> np.ndarray:
    """The exact Huber minimizer (w, b) by BFGS from `start` (the objective is convex)."""
    def objective(p):
        value, grad = _huber_objective(jnp.asarray(p, jnp.float32), x.astype(np.float32),
                                       y.astype(np.float32), jnp.float32(delta))
        return np.float64(value), np.asarray(grad, np.float64)
    return minimize(objective, start, jac=True, method="BFGS", options={"gtol": 1e-7}).x


def _reference_fits(config: Config, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each Huber arm's δ per dataset, (Huber arm, fraction, seed), and each loss's exact
    minimizer (w, b) on every dataset, (loss, fraction, seed, 2): least squares in closed form,
    least absolute deviations by linear programming, Huber by BFGS from the LAD line."""
    deltas = np.full((len(HUBER_ARMS), len(config.fractions), config.seeds), config.huber_delta)
    fits = np.zeros((len(LOSSES), len(config.fractions), config.seeds, 2))
    for f in range(len(config.fractions)):
        for s in range(config.seeds):
            xs, ys = np.asarray(x[s, :, 0], np.float64), np.asarray(y[f, s, :, 0], np.float64)
            fits[0, f, s] = np.linalg.lstsq(_design(xs), ys, rcond=None)[0]
            fits[1, f, s] = lad_fit(xs, ys)
            deltas[0, f, s] = robust_delta(xs, ys, fits[1, f, s], config.huber_tuning)
            for h in range(len(HUBER_ARMS)):
                fits[2 + h, f, s] = huber_fit(xs, ys, deltas[h, f, s], fits[1, f, s])
    return deltas, fits


def run(config: Config) -> Results:
    """Solve each loss exactly on every dataset (which sets the robust δ), then fit every
    (loss, fraction) at every peak rate (rates and seeds in one program per loss function;
    the fractions and both Huber arms reuse it)."""
    keys = rng.seed_keys(config.seed, config.seeds, SEED_PART)
    sets = _datasets(config, keys)
    deltas, exact = _reference_fits(config, np.asarray(sets["x"]), np.asarray(sets["y"]))
    repeats = len(config.lrs)  # runs are rate-major: each rate sees every seed's dataset

    def fit(arm, run_keys, rates):
        f = config.fractions.index(arm["fraction"])
        delta = (deltas[HUBER_ARMS.index(arm["loss"]), f] if arm["loss"] in HUBER_ARMS
                 else np.ones(config.seeds))  # MSE and MAE ignore δ
        per_run = {"x": jnp.tile(sets["x"], (repeats, 1, 1)),
                   "y": jnp.tile(sets["y"][f], (repeats, 1, 1)),
                   "delta": jnp.tile(jnp.broadcast_to(
                       jnp.asarray(delta, jnp.float32)[:, None, None], sets["x"].shape),
                       (repeats, 1, 1))}
        graphdef, state = models.mlps(1, 1, MLPConfig(depth=0, init="lecun_normal"), run_keys)
        spec = config.train.spec(schedule="warmup_cosine", decay_steps=config.train.steps)
        return train.fit(graphdef, state, TRAINING_LOSS_FN[arm["loss"]], per_run, config.train,
                         run_keys, hparams={"learning_rate": rates}, optimizer=spec,
                         evaluate=evaluate, eval_data=per_run, data_axis=0,
                         name=f"{arm['loss']}, {arm['fraction']:.0%} outliers")

    grid = grid_fit({"loss": LOSSES, "fraction": config.fractions, "lr": config.lrs}, fit,
                    seed=config.seed, seeds=config.seeds, part=SEED_PART, vmapped="lr")
    results = grid.add_to(Results(), evals={"w": "w", "b": "b", "MSE": "train_mse",
                                            "MAE": "train_mae", "Huber": "train_huber"},
                          diverged="diverged_at")
    results.add("exact_w", exact[..., 0], ("loss", "fraction", "seed"))
    results.add("exact_b", exact[..., 1], ("loss", "fraction", "seed"))
    results.add("huber_delta", deltas, ("huber_arm", "fraction", "seed"),
                huber_arm=list(HUBER_ARMS))
    # One seed's data for the figure (no seed axis: kept out of metrics.csv).
    results.add("example_x", np.asarray(sets["x"][0, :, 0]), ("point",))
    results.add("example_y", np.asarray(sets["y"][:, 0, :, 0]), ("fraction", "point"))
    return results


TRAINING_LOSS = {"MSE": "train_mse", "MAE": "train_mae", "Huber": "train_huber",
                 "Huber_fixed": "train_huber"}


def chosen_rate(results: Results, loss: str, fraction: float) -> int:
    """Index of the peak rate with the lowest mean final training loss (the loss the fit
    minimizes) for this loss and fraction; diverged rates are never chosen."""
    final = results.sel(TRAINING_LOSS[loss], loss=loss, fraction=fraction)[..., -1]  # (lr, seed)
    diverged = results.sel("diverged_at", loss=loss, fraction=fraction) >= 0
    return selection.best_by_mean(final, excluded=diverged)


def fitted(results: Results, loss: str, fraction: float) -> np.ndarray:
    """The fitted (w, b) per seed at the chosen rate's last step: (seed, 2)."""
    i = chosen_rate(results, loss, fraction)
    return np.stack([results.sel(name, loss=loss, fraction=fraction)[i, :, -1]
                     for name in ("w", "b")], axis=-1)


def parameter_error(results: Results, loss: str, fraction: float) -> np.ndarray:
    """‖(w, b) − (2, 1)‖ per seed."""
    return np.linalg.norm(fitted(results, loss, fraction) - [TRUE_SLOPE, TRUE_INTERCEPT], axis=-1)


def errors_by_fraction(results: Results, config: Config, loss: str) -> np.ndarray:
    """Parameter error per seed and fraction: (seed, fraction)."""
    return np.stack([parameter_error(results, loss, f) for f in config.fractions], axis=1)


def distance_to_exact(results: Results, loss: str, fraction: float) -> np.ndarray:
    """How far each seed's trained fit lies from its loss's exact minimizer."""
    exact = np.stack([results.sel(name, loss=loss, fraction=fraction)
                      for name in ("exact_w", "exact_b")], axis=-1)
    return np.linalg.norm(fitted(results, loss, fraction) - exact, axis=-1)


def _error_ci(errors: np.ndarray) -> stats.Interval:
    return stats.mean_ci(errors)


claims = ClaimBook("regression_losses", questions="Q45, Q47, Q48, Q49")


@claims.rule("mse_pulled_by_outliers",
             rule="the MSE fit's parameter error ‖(w, b) − (2, 1)‖ rises with the outlier fraction "
                  "over the whole range 0-30 % (stats.trend_verdict on (seed, fraction), rising) "
                  "and its 95 % CI over seeds at 10 % outliers lies above 1; 'nuanced' if it rises "
                  "and then falls back significantly (with the 10 % CI above 1)")
def _(results: Results, config: Config):
    errors = errors_by_fraction(results, config, "MSE")
    trend = stats.trend_verdict(errors, direction=1)
    at_ten = _error_ci(errors[:, config.fractions.index(MSE_FRACTION)])
    verdict = trend.verdict if at_ten.above(MSE_THRESHOLD) else stats.NOT_REPRODUCED
    return stats.outcome(
        verdict, f"MSE parameter error at {MSE_FRACTION:.0%} outliers", at_ten,
        trend=trend.verdict, rise_to_turn=trend.towards, turn_fraction=config.fractions[trend.turn],
        fall_after_turn=trend.back,
        error_by_fraction={f: _error_ci(errors[:, i]) for i, f in enumerate(config.fractions)})


def _robust_up_to(errors: np.ndarray, fractions) -> dict:
    """Per fraction, whether the error's CI upper bound lies below the robustness threshold."""
    return {f: _error_ci(errors[:, i]).below(ROBUST_THRESHOLD) for i, f in enumerate(fractions)}


def delta_text(config: Config, loss: str) -> str:
    """How an arm's Huber δ is set, for rule strings and legends."""
    return (f"δ = {config.huber_tuning:g}·σ̂" if loss == "Huber"
            else f"δ = {config.huber_delta:g}")


def label(config: Config, loss: str) -> str:
    """The arm's name in the figure: the loss, with its δ for Huber."""
    return f"Huber, {delta_text(config, loss)}" if loss in HUBER_ARMS else loss


@claims.rule("mae_huber_robust",
             rule=(
                 f"for MAE fits and for Huber fits at robust statistics' δ = "
                 f"{CONFIG.huber_tuning:g}·σ̂ (σ̂ the normal-consistent MAD of the residuals of the "
                 f"exact least-absolute-deviations fit, per seed and fraction), the 95 % CI over "
                 f"seeds of the parameter error lies below {ROBUST_THRESHOLD} at every outlier "
                 f"fraction ≤ {ROBUST_UP_TO:.0%} (inlier noise σ = {LITERATURE_NOISE:g}, "
                 f"LITERATURE's check; larger σ is refused): 'reproduced' if both hold at every such "
                 f"fraction; 'nuanced' if both hold at the smallest positive fraction but not both at "
                 f"every fraction ≤ {ROBUST_UP_TO:.0%} (one breaks down at larger contamination); "
                 f"'not reproduced' otherwise"))
def _(results: Results, config: Config):
    claimed = [f for f in config.fractions if f <= ROBUST_UP_TO]
    smallest_positive = min(f for f in claimed if f > 0)
    holds = {loss: _robust_up_to(errors_by_fraction(results, config, loss), config.fractions)
             for loss in ("MAE", "Huber")}
    everywhere = all(holds[loss][f] for loss in holds for f in claimed)
    at_smallest = all(holds[loss][smallest_positive] for loss in holds)
    verdict = (stats.REPRODUCED if everywhere
               else stats.NUANCED if at_smallest else stats.NOT_REPRODUCED)
    worst = max(("MAE", "Huber"), key=lambda loss: _error_ci(
        parameter_error(results, loss, ROBUST_UP_TO)).high)
    return stats.outcome(
        verdict, f"{worst} parameter error at {ROBUST_UP_TO:.0%} outliers (the larger of MAE's "
                 f"and Huber's upper bounds)", _error_ci(parameter_error(results, worst, ROBUST_UP_TO)),
        **{f"{loss}_error_by_fraction": {f: _error_ci(parameter_error(results, loss, f))
                                         for f in config.fractions} for loss in ("MAE", "Huber")},
        **{f"{loss}_below_threshold_by_fraction": holds[loss] for loss in holds},
        huber_delta_by_fraction={f: stats.mean_ci(results.sel("huber_delta", huber_arm="Huber",
                                                              fraction=f), bounds=(0, np.inf))
                                 for f in config.fractions})


def fixed_delta_bias(config: Config, fraction: float) -> float:
    """The intercept shift f·δ/(1 − f) of a Huber fit at fixed δ when every inlier residual lies
    within δ and every outlier beyond it: the outliers pull with the constant force δ each,
    which the inliers' quadratic part balances."""
    return fraction * config.huber_delta / (1 - fraction)


@claims.rule("huber_fixed_delta", kind=stats.DESCRIPTIVE, post_hoc=True,
             rule=(
                 f"descriptive: Huber at the fixed {delta_text(CONFIG, 'Huber_fixed')} of "
                 f"LITERATURE's check, far above the inliers' noise; its parameter error at "
                 f"{MSE_FRACTION:.0%} outliers (LITERATURE ≈ 0.1) and, per fraction, against the bias "
                 f"f·δ/(1 − f) expected while the inliers lie within δ; 'reproduced' when the 95 % CI "
                 f"at {MSE_FRACTION:.0%} lies below {ROBUST_THRESHOLD} (the larger fractions are "
                 f"reported, not asserted)"))
def _(results: Results, config: Config):
    errors = errors_by_fraction(results, config, "Huber_fixed")
    at_ten = _error_ci(errors[:, config.fractions.index(MSE_FRACTION)])
    return stats.decide(
        at_ten.below(ROBUST_THRESHOLD),
        f"Huber ({delta_text(config, 'Huber_fixed')}) parameter error at {MSE_FRACTION:.0%} "
        f"outliers", at_ten,
        error_by_fraction={f: _error_ci(errors[:, i]) for i, f in enumerate(config.fractions)},
        bias_f_delta_over_1_minus_f={f: fixed_delta_bias(config, f) for f in config.fractions},
        below_threshold_by_fraction=_robust_up_to(errors, config.fractions))


def converged_distance(config: Config) -> float:
    """How close to its exact minimizer a fit must lie: a tenth of the inliers' noise, so the
    tolerance scales with the parameter errors the noise itself causes."""
    return CONVERGED_SHARE_OF_NOISE * config.noise


@claims.rule("fits_converged", kind=stats.CHECK,
             rule=(
                 f"every trained fit (each loss and fraction, at its chosen rate, every seed) lies "
                 f"within {CONVERGED_SHARE_OF_NOISE:g}·σ = {converged_distance(CONFIG):g} of its "
                 f"loss's exact minimizer on the same data (least squares; least absolute deviations "
                 f"by linear programming; Huber by BFGS at the arm's δ): the verdicts above are about "
                 f"the losses, not about unfinished training (statistic: Wilson interval of the "
                 f"share of fits that close; the rule needs all)"))
def _(results: Results, config: Config):
    tolerance = converged_distance(config)
    distances = {loss: np.stack([distance_to_exact(results, loss, f) for f in config.fractions])
                 for loss in LOSSES}
    close = np.concatenate([d.ravel() for d in distances.values()]) < tolerance
    return stats.decide(
        bool(close.all()), f"share of fits within {tolerance:g} of the exact minimizer",
        stats.proportion_ci(int(close.sum()), close.size),
        largest_distance_by_loss={loss: float(d.max()) for loss, d in distances.items()},
        chosen_rate={f"{loss} {f:.0%}": config.lrs[chosen_rate(results, loss, f)]
                     for loss in LOSSES for f in config.fractions})


COLORS = {"MSE": plots.PALETTE[1], "MAE": plots.PALETTE[0], "Huber": plots.PALETTE[2],
          "Huber_fixed": plots.PALETTE[3]}
STYLES = {"Huber_fixed": "--"}  # the descriptive arm dashed, the deciding arms solid


def _plot_errors(ax, results: Results, config: Config):
    """Parameter error against the outlier fraction, one band per loss, on a log axis."""
    percent = [100 * f for f in config.fractions]
    for loss in LOSSES:
        plots.band(ax, percent, errors_by_fraction(results, config, loss), label=(
            label(config, loss) + (" (σ̂: MAD of LAD residuals)" if loss == "Huber" else "")),
                   color=COLORS[loss], marker="o", log=True, linestyle=STYLES.get(loss, "-"))
    ax.axhline(MSE_THRESHOLD, color="grey", linestyle=":", linewidth=1,
               label=f"{MSE_THRESHOLD:g}: MSE must exceed at {MSE_FRACTION:.0%}")
    ax.axhline(ROBUST_THRESHOLD, color="grey", linestyle="-.", linewidth=1,
               label=f"{ROBUST_THRESHOLD:g}: MAE, Huber ({delta_text(config, 'Huber')}) must stay below")
    ax.set_yscale("log")
    ax.set_xlabel("outliers (% of points, +20…+50 added to y)")
    ax.set_ylabel("parameter error ‖(w, b) − (2, 1)‖")
    ax.set_title("error vs contamination (mean, 95 % CI)")


def _plot_fits(ax, results: Results, config: Config, fraction: float, ylim=None):
    """Seed 0's data at `fraction` outliers with the fitted lines and the true line."""
    x, y = results["example_x"], results.sel("example_y", fraction=fraction)
    outlier = y - (TRUE_SLOPE * x + TRUE_INTERCEPT) > config.outlier_low / 2
    ax.scatter(x[~outlier], y[~outlier], s=6, color="#999999", label="inliers (seed 0)")
    ax.scatter(x[outlier], y[outlier], s=8, color="#444444", marker="x", label="outliers (seed 0)")
    grid = np.array([-1.0, 1.0])
    ax.plot(grid, TRUE_SLOPE * grid + TRUE_INTERCEPT, color="black", linestyle=":",
            linewidth=1.5, label="true y = 2x + 1")
    for loss in LOSSES:
        w, b = fitted(results, loss, fraction)[0]
        ax.plot(grid, w * grid + b, color=COLORS[loss], linewidth=1.6,
                linestyle=STYLES.get(loss, "-"))
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")


def _shared_legend(fig, axes):
    """One legend for all panels, below them (each label once)."""
    entries = {}
    for ax in axes:
        for handle, text in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(text, handle)
    fig.legend(list(entries.values()), list(entries), loc="outside lower center", ncols=5, fontsize=8.5)


def plot(results: Results, config: Config) -> dict:
    """Error vs outlier fraction per loss; one seed's fits over its data, whole and zoomed."""
    fig, axes = plots.figure(ncols=3, width=4.6)
    _plot_errors(axes[0, 0], results, config)
    shown = ROBUST_UP_TO
    _plot_fits(axes[0, 1], results, config, shown)
    axes[0, 1].set_title(f"seed 0, {shown:.0%} outliers: all points")
    _plot_fits(axes[0, 2], results, config, shown, ylim=(-2.0, 5.0))
    axes[0, 2].set_title("zoom on the inliers (MSE line above)")
    _shared_legend(fig, [axes[0, 0], axes[0, 1]])
    mse = float(np.mean(parameter_error(results, "MSE", MSE_FRACTION)))
    robust = {loss: _error_ci(parameter_error(results, loss, shown)).below(ROBUST_THRESHOLD)
              for loss in ("MAE", "Huber", "Huber_fixed")}
    names = {"MAE": "MAE", "Huber": f"Huber at {delta_text(config, 'Huber')}",
             "Huber_fixed": f"Huber at {delta_text(config, 'Huber_fixed')}"}
    stays = [names[loss] for loss, ok in robust.items() if ok]
    leaves = [names[loss] for loss, ok in robust.items() if not ok]
    text = f"{MSE_FRACTION:.0%} outliers move the MSE line by {mse:.2g}"
    if stays:
        text += f"; {', '.join(stays)} stay within {ROBUST_THRESHOLD:g} up to {shown:.0%}"
    if leaves:
        text += f"; {', '.join(leaves)} drift{'s' if len(leaves) == 1 else ''} past it at {shown:.0%}"
    plots.title(fig, text[0].upper() + text[1:])
    return {"outliers": fig}


main(__spec__)
