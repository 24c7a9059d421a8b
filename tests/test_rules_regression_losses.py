"""regression_losses' claim rules on fabricated results: every verdict branch, no training."""

import numpy as np
import pytest

from experiments import regression_losses as experiment
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, NUANCED, REPRODUCED

CONFIG = resolve_config(experiment, "quick")  # fractions 0, 5, 10, 20, 30 %; four rates
SEEDS = 6
FRACTIONS = CONFIG.fractions
RATES = CONFIG.lrs
STEPS = [0, 100]

MSE_RISING = [0.01, 2.0, 3.5, 7.0, 10.5]
MAE_FLAT = [0.01, 0.02, 0.03, 0.04, 0.07]
HUBER_ROBUST = [0.01, 0.02, 0.03, 0.06, 0.12]
HUBER_FIXED = [0.01, 0.06, 0.12, 0.26, 0.45]  # δ = 1: f·δ/(1 − f) past 0.2 at 20 %


def _fabricated(errors=None, exact_offset=0.0, best_rate=1) -> Results:
    """Fits whose parameter error per (loss, fraction) is `errors[loss][fraction index]` (put in
    the slope, ± 0.002 across seeds) at the rate of index `best_rate`, which has the lowest final
    training loss; every other rate fits 5 further off. The exact minimizers lie `exact_offset`
    from the best rate's fits (in the intercept)."""
    errors = {"MSE": MSE_RISING, "MAE": MAE_FLAT, "Huber": HUBER_ROBUST,
              "Huber_fixed": HUBER_FIXED, **(errors or {})}
    shape = (len(experiment.LOSSES), len(FRACTIONS), len(RATES), SEEDS, len(STEPS))
    jitter = 0.002 * np.linspace(-1, 1, SEEDS)
    w = np.zeros(shape)
    training_loss = np.ones(shape)
    for i, loss in enumerate(experiment.LOSSES):
        for j in range(len(FRACTIONS)):
            w[i, j] = experiment.TRUE_SLOPE + 5.0  # rates other than the best fit badly
            w[i, j, best_rate] = experiment.TRUE_SLOPE + errors[loss][j] + jitter[:, None]
    training_loss[:, :, best_rate] = 0.5
    b = np.full(shape, experiment.TRUE_INTERCEPT)
    results = Results()
    coords = dict(loss=list(experiment.LOSSES), fraction=list(FRACTIONS), lr=list(RATES),
                  seed=list(range(SEEDS)), step=STEPS)
    axes = ("loss", "fraction", "lr", "seed", "step")
    results.add("w", w, axes, **coords)
    results.add("b", b, axes)
    for name in ("train_mse", "train_mae", "train_huber"):
        results.add(name, training_loss, axes)
    results.add("diverged_at", np.full(shape[:-1], -1), axes[:-1])
    results.add("exact_w", w[:, :, best_rate, :, -1], ("loss", "fraction", "seed"))
    results.add("exact_b", b[:, :, best_rate, :, -1] + exact_offset, ("loss", "fraction", "seed"))
    results.add("huber_delta", np.full((2, len(FRACTIONS), SEEDS), 0.15),
                ("huber_arm", "fraction", "seed"), huber_arm=list(experiment.HUBER_ARMS))
    return results


def _verdicts(results, **overrides) -> dict:
    config = experiment.Config(seeds=SEEDS, fractions=FRACTIONS, lrs=RATES, **overrides)
    return experiment.claims.verdicts(results, config)


def test_literature_numbers_are_reproduced_and_the_statistic_is_the_mse_error_at_ten_percent():
    assert _verdicts(_fabricated()) == {"mse_pulled_by_outliers": REPRODUCED,
                                        "mae_huber_robust": REPRODUCED,
                                        "huber_fixed_delta": REPRODUCED,
                                        "fits_converged": REPRODUCED}
    decided = {v.claim.id.split(".")[1]: v for v in experiment.claims.decide(
        _fabricated(), experiment.Config(seeds=SEEDS))}
    assert decided["mse_pulled_by_outliers"].interval.mean == pytest.approx(3.5)
    assert decided["mse_pulled_by_outliers"].details["turn_fraction"] == 0.3
    # The robustness statistic is the worse of the two at 20 %: Huber's 0.06.
    assert decided["mae_huber_robust"].interval.mean == pytest.approx(0.06)
    assert decided["mae_huber_robust"].details["huber_delta_by_fraction"][0.2].mean == (
        pytest.approx(0.15))
    fixed = decided["huber_fixed_delta"]
    assert fixed.interval.mean == pytest.approx(0.12)  # at 10 %, LITERATURE's 0.1
    assert fixed.details["bias_f_delta_over_1_minus_f"][0.2] == pytest.approx(0.25)
    assert fixed.details["below_threshold_by_fraction"] == {
        0.0: True, 0.05: True, 0.1: True, 0.2: False, 0.3: False}


def test_mse_error_that_rises_but_stays_below_one_at_ten_percent_is_not_reproduced():
    results = _fabricated({"MSE": [0.01, 0.3, 0.6, 1.2, 1.8]})
    assert _verdicts(results)["mse_pulled_by_outliers"] == NOT_REPRODUCED


def test_mse_error_that_rises_then_falls_back_is_nuanced():
    results = _fabricated({"MSE": [0.01, 2.0, 3.5, 7.0, 2.0]})
    assert _verdicts(results)["mse_pulled_by_outliers"] == NUANCED


def test_mse_error_that_never_rises_is_not_reproduced():
    results = _fabricated({"MSE": [3.0, 3.0, 3.0, 3.0, 3.0]})
    assert _verdicts(results)["mse_pulled_by_outliers"] == NOT_REPRODUCED


def test_huber_breaking_down_at_twenty_percent_is_nuanced():
    # As a δ far above the noise would: robust at 5 and 10 %, 0.25 at 20 %.
    results = _fabricated({"Huber": [0.01, 0.06, 0.11, 0.25, 0.43]})
    assert _verdicts(results)["mae_huber_robust"] == NUANCED


def test_the_fixed_delta_arm_does_not_decide_the_robustness_claim():
    results = _fabricated({"Huber_fixed": [0.01, 5.0, 5.0, 5.0, 5.0]})
    assert _verdicts(results)["mae_huber_robust"] == REPRODUCED
    assert _verdicts(results)["huber_fixed_delta"] == NOT_REPRODUCED


def test_a_fraction_above_twenty_percent_does_not_count_against_robustness():
    results = _fabricated({"MAE": [0.01, 0.02, 0.03, 0.04, 5.0]})
    assert _verdicts(results)["mae_huber_robust"] == REPRODUCED


def test_mae_breaking_down_already_at_five_percent_is_not_reproduced():
    results = _fabricated({"MAE": [0.01, 0.5, 1.0, 2.0, 3.0]})
    assert _verdicts(results)["mae_huber_robust"] == NOT_REPRODUCED


def test_fits_away_from_the_exact_minimizer_fail_the_convergence_check():
    assert _verdicts(_fabricated(exact_offset=0.005))["fits_converged"] == REPRODUCED
    assert _verdicts(_fabricated(exact_offset=0.05))["fits_converged"] == NOT_REPRODUCED


def test_the_convergence_tolerance_is_a_tenth_of_the_noise():
    assert experiment.converged_distance(experiment.Config(noise=0.05)) == pytest.approx(0.005)
    assert _verdicts(_fabricated(exact_offset=0.007), noise=0.1)["fits_converged"] == REPRODUCED
    assert _verdicts(_fabricated(exact_offset=0.007), noise=0.05)["fits_converged"] == (
        NOT_REPRODUCED)


def test_robust_delta_is_1_345_times_the_normal_consistent_mad_of_the_residuals():
    x = np.linspace(-1, 1, 9)
    residual = np.array([-4.0, -2.0, -1.0, 0.0, 0.0, 0.0, 1.0, 2.0, 300.0])  # one wild outlier
    y = 2 * x + 1 + residual
    # median |r − median r| = 1; the normal-consistent MAD is 1 / Φ⁻¹(3/4) = 1.4826.
    assert experiment.robust_delta(x, y, np.array([2.0, 1.0]), 1.345) == pytest.approx(
        1.345 * 1.482602, rel=1e-5)


def test_exact_fits_on_a_clean_line_and_the_huber_loss_reads_delta_from_the_batch():
    import jax.numpy as jnp
    x = np.linspace(-1, 1, 21)
    y = 2 * x + 1
    np.testing.assert_allclose(experiment.lad_fit(x, y), [2, 1], atol=1e-6)
    np.testing.assert_allclose(experiment.huber_fit(x, y, 0.1, np.zeros(2)), [2, 1], atol=1e-4)

    def model(inputs, **_):
        return inputs * 0.0, {}  # predicts 0 everywhere: residuals −y
    batch = {"x": jnp.zeros((2, 1)), "y": jnp.array([[0.5], [3.0]]),
             "delta": jnp.full((2, 1), 1.0)}
    loss, _ = experiment.huber_from_batch(model, batch)
    assert float(loss) == pytest.approx((0.5 * 0.25 + (3.0 - 0.5)) / 2)  # ½r² ; δ(|r| − ½δ)


def test_each_loss_keeps_the_rate_with_the_lowest_training_loss_and_never_a_diverged_one():
    results = _fabricated(best_rate=2)
    assert experiment.chosen_rate(results, "MAE", 0.1) == 2
    np.testing.assert_allclose(experiment.parameter_error(results, "MAE", 0.1), 0.03, atol=0.003)
    results.arrays["diverged_at"][1, 2, 2, 0] = 50  # the best rate diverged on one seed of MAE, 10 %
    assert experiment.chosen_rate(results, "MAE", 0.1) != 2
    assert experiment.chosen_rate(results, "MAE", 0.2) == 2


def test_datasets_put_exactly_the_fraction_of_outliers_nested_and_shifted_by_20_to_50():
    import jax

    config = experiment.Config(seeds=2, n=200)
    sets = experiment._datasets(config, jax.random.split(jax.random.key(0), 2))
    x, y = np.asarray(sets["x"]), np.asarray(sets["y"])
    assert x.shape == (2, 200, 1) and y.shape == (len(config.fractions), 2, 200, 1)
    offsets = y - y[0]  # the clean targets are the fraction-0 ones
    for i, f in enumerate(config.fractions):
        shifted = offsets[i] > 0
        assert shifted.sum(axis=(1, 2)).tolist() == [round(f * 200)] * 2
        assert np.all((offsets[i][shifted] >= 20) & (offsets[i][shifted] <= 50))
        if i:
            assert np.all(shifted >= (offsets[i - 1] > 0))  # nested: 10 % holds the 5 %
    clean_residual = y[0] - (2 * x + 1)
    assert abs(float(clean_residual.std()) - config.noise) < 0.02


def test_setting_the_learning_rate_is_refused_the_grid_sets_it():
    with pytest.raises(ConfigError, match="train.lr"):
        resolve_config(experiment, "quick", overrides={"train.lr": "0.5"})


@pytest.mark.parametrize("overrides, message", [
    ({"fractions": "0.0,0.05,0.2"}, "must include"),
    ({"fractions": "0.0,0.2,0.1"}, "ascending"),
    ({"train.batch_size": "32"}, "full-batch"),
    ({"outlier_low": "60"}, "outlier_low"),
    ({"noise": "1.0"}, "noise"),
    ({"huber_tuning": "0"}, "huber_tuning"),
])
def test_impossible_settings_are_refused(overrides, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config(experiment, "quick", overrides=overrides)
