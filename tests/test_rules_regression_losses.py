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
HUBER_LITERATURE = [0.01, 0.06, 0.11, 0.15, 0.19]


def _fabricated(errors=None, exact_offset=0.0, best_rate=1) -> Results:
    """Fits whose parameter error per (loss, fraction) is `errors[loss][fraction index]` (put in
    the slope, ± 0.002 across seeds) at the rate of index `best_rate`, which has the lowest final
    training loss; every other rate fits 5 further off. The exact minimizers lie `exact_offset`
    from the best rate's fits (in the intercept)."""
    errors = {"MSE": MSE_RISING, "MAE": MAE_FLAT, "Huber": HUBER_LITERATURE, **(errors or {})}
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
    return results


def _verdicts(results) -> dict:
    config = experiment.Config(seeds=SEEDS, fractions=FRACTIONS, lrs=RATES)
    return experiment.claims.verdicts(results, config)


def test_literature_numbers_are_reproduced_and_the_statistic_is_the_mse_error_at_ten_percent():
    assert _verdicts(_fabricated()) == {"mse_pulled_by_outliers": REPRODUCED,
                                        "mae_huber_robust": REPRODUCED,
                                        "fits_converged": REPRODUCED}
    decided = {v.claim.id.split(".")[1]: v for v in experiment.claims.decide(
        _fabricated(), experiment.Config(seeds=SEEDS))}
    assert decided["mse_pulled_by_outliers"].interval.mean == pytest.approx(3.5)
    assert decided["mse_pulled_by_outliers"].details["turn_fraction"] == 0.3
    # The robustness statistic is the worse of the two at 20 %: Huber's 0.15.
    assert decided["mae_huber_robust"].interval.mean == pytest.approx(0.15)


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
    # Huber's f·δ / (1 − f) intercept shift: 0.25 at 20 %, robust at 5 and 10 %.
    results = _fabricated({"Huber": [0.01, 0.06, 0.11, 0.25, 0.43]})
    assert _verdicts(results)["mae_huber_robust"] == NUANCED


def test_a_fraction_above_twenty_percent_does_not_count_against_robustness():
    results = _fabricated({"MAE": [0.01, 0.02, 0.03, 0.04, 5.0]})
    assert _verdicts(results)["mae_huber_robust"] == REPRODUCED


def test_mae_breaking_down_already_at_five_percent_is_not_reproduced():
    results = _fabricated({"MAE": [0.01, 0.5, 1.0, 2.0, 3.0]})
    assert _verdicts(results)["mae_huber_robust"] == NOT_REPRODUCED


def test_fits_away_from_the_exact_minimizer_fail_the_convergence_check():
    assert _verdicts(_fabricated(exact_offset=0.005))["fits_converged"] == REPRODUCED
    assert _verdicts(_fabricated(exact_offset=0.05))["fits_converged"] == NOT_REPRODUCED


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
])
def test_impossible_settings_are_refused(overrides, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config(experiment, "quick", overrides=overrides)
