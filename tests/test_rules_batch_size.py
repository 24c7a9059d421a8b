"""The batch_size claim rules on fabricated results: each verdict branch, no training."""

import numpy as np
import pytest

from experiments import batch_size as exp
from phenomena import stats
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config

NOISE_BATCHES = [1, 4, 16, 64, 256]
BATCHES = [4, 16, 64, 256]
RATES = [0.1, 0.3, 1.0]
SEEDS = 8
STEPS = np.arange(0, 3001, 20)
CONFIG = resolve_config(exp, "quick")  # target ½ ln 10 ≈ 1.15; the dip at s = 2


def _textbook(b, lr):
    """Steps to target at rate `lr`: each B is fastest at its own rate (B = 4 at 0.1, B = 16 at
    0.3, larger B at 1.0), there at 600 (1 + 8 / B); 1.5x slower at every other rate."""
    best = 0.1 if b == 4 else 0.3 if b == 16 else 1.0
    return 600 * (1 + 8 / b) * (1.0 if lr == best else 1.5)


def _fabricated(noise_power=-1.0, steps_to_target=_textbook, escaped_full=0, escaped_small=None):
    rng = np.random.default_rng(0)
    results = Results()
    jitter = 1 + 0.02 * rng.standard_normal((2, SEEDS, len(NOISE_BATCHES)))
    noise = 50.0 * np.asarray(NOISE_BATCHES, float) ** noise_power * jitter
    results.add("noise", noise, ("point", "seed", "noise_batch"), point=list(exp.POINTS),
                noise_batch=NOISE_BATCHES)
    results.add("noise_scale", np.full((2, SEEDS), 10.0), ("point", "seed"))
    # Loss falls linearly from 2 and crosses the target at the requested step.
    crossing = np.array([[[steps_to_target(b, lr) * (1 + 0.01 * rng.standard_normal())
                           for _ in range(SEEDS)] for lr in RATES] for b in BATCHES])
    slope = (2.0 - CONFIG.target_loss) / crossing
    curves = 2.0 - STEPS * slope[..., None]  # NaN steps (a diverged run): NaN curves
    results.add("train_loss", curves, ("batch", "lr", "seed", "step"), batch=BATCHES, lr=RATES,
                step=STEPS.tolist())
    final = np.full((4, SEEDS, 16), 2.0)  # everyone stays at the sharp minimum (s = 2) ...
    if escaped_small is None:
        final[0] = 0.0                    # ... except the B = 1 arm
    else:
        final[0].flat[:escaped_small] = 0.0
    final[3].flat[:escaped_full] = 0.0
    results.add("final_theta", final, ("arm", "seed", "start"),
                arm=["B = 1", "B = 4", "B = 16", "full batch"])
    return results


def _verdicts(results, config=CONFIG):
    return exp.claims.verdicts(results, config)


def _decided(results, name):
    return {v.claim.id.split(".")[1]: v for v in exp.claims.decide(results, CONFIG)}[name]


def test_all_reproduced_on_textbook_data():
    assert set(_verdicts(_fabricated()).values()) == {stats.REPRODUCED}


def test_noise_slope_outside_the_band_is_not_reproduced():
    assert _verdicts(_fabricated(noise_power=-0.5))["noise_shrinks_with_batch"] == stats.NOT_REPRODUCED


def test_noise_slope_is_measured_per_seed():
    outcome = _decided(_fabricated(noise_power=-1.0), "noise_shrinks_with_batch")
    assert outcome.interval.mean == pytest.approx(-1.0, abs=0.02)
    scale = outcome.details["simple_noise_scale_by_point"]["init"]
    assert (scale.mean, scale.low) == (10.0, 10.0)


def test_tradeoff_fails_when_steps_do_not_fall_or_a_run_misses_the_target():
    flat = _verdicts(_fabricated(steps_to_target=lambda b, lr: 600.0))
    assert flat["steps_vs_examples_tradeoff"] == stats.NOT_REPRODUCED  # slope 0: no fewer steps
    perfect = _verdicts(_fabricated(steps_to_target=lambda b, lr: 600.0 * 256 / b))
    assert perfect["steps_vs_examples_tradeoff"] == stats.NOT_REPRODUCED  # slope −1: no more examples
    missed = _verdicts(_fabricated(steps_to_target=lambda b, lr: 5000.0 if b == 4 else 600.0))
    assert missed["steps_vs_examples_tradeoff"] == stats.NOT_REPRODUCED


def test_each_batch_size_is_read_at_its_own_best_rate():
    outcome = _decided(_fabricated(), "steps_vs_examples_tradeoff")
    assert outcome.details["chosen_rates_by_batch"] == {4: [0.1] * SEEDS, 16: [0.3] * SEEDS,
                                                        64: [1.0] * SEEDS, 256: [1.0] * SEEDS}


def test_a_rate_that_diverges_or_misses_the_target_is_not_chosen():
    def fast_but_broken(b, lr):
        if b == 4 and lr == 1.0:
            return np.nan  # diverged: NaN curves
        if b == 4 and lr == 0.3:
            return 9000.0  # never reaches the target within the budget
        return _textbook(b, lr)

    outcome = _decided(_fabricated(steps_to_target=fast_but_broken), "steps_vs_examples_tradeoff")
    assert outcome.details["chosen_rates_by_batch"][4] == [0.1] * SEEDS
    assert outcome.verdict == stats.REPRODUCED


def test_tradeoff_reads_steps_to_the_configured_target():
    outcome = _decided(_fabricated(), "steps_vs_examples_tradeoff")
    steps = outcome.details["mean_steps_by_batch"]
    assert steps[4] == pytest.approx(600 * 3, rel=0.02)
    assert steps[256] == pytest.approx(600 * (1 + 8 / 256), rel=0.02)
    assert outcome.details["steps_ratio_smallest_over_largest"].low > 1
    # A lower target is not reached by the same curves within 3000 steps: the rule fails.
    lower = resolve_config(exp, "quick", overrides={"target_fraction_of_chance": "0.1"})
    assert _verdicts(_fabricated(), lower)["steps_vs_examples_tradeoff"] == stats.NOT_REPRODUCED


def test_escape_needs_the_paired_per_seed_difference_above_zero():
    assert _verdicts(_fabricated(escaped_full=125))["sgd_noise_escapes"] == stats.NOT_REPRODUCED
    assert _verdicts(_fabricated(escaped_full=10))["sgd_noise_escapes"] == stats.REPRODUCED
    outcome = _decided(_fabricated(escaped_full=16), "sgd_noise_escapes")  # seed 0 all escape
    assert outcome.interval.mean == pytest.approx(1 - 1 / SEEDS)


def test_escape_is_decided_per_seed_not_per_run():
    # B = 1 escapes in all 16 runs of one seed and none else: 16 of 128 runs against 0 of 128
    # would separate two Wilson intervals, but one seed of eight is no evidence.
    assert _verdicts(_fabricated(escaped_small=16))["sgd_noise_escapes"] == stats.NOT_REPRODUCED


def test_escape_is_read_against_the_configured_dip():
    # With the dip at 5, θ = 2 lies below s/2 = 2.5: every run of every arm counts as escaped.
    moved = resolve_config(exp, "quick", overrides={"dip_at": "5.0"})
    assert _verdicts(_fabricated(), moved)["sgd_noise_escapes"] == stats.NOT_REPRODUCED


@pytest.mark.parametrize("key", ["train.batch_size", "train.lr", "landscape_train.batch_size"])
def test_setting_a_batch_size_the_arms_set_is_refused(key):
    with pytest.raises(ConfigError, match=key):
        resolve_config(exp, "quick", overrides={key: "4"})


def test_the_rate_grid_must_be_increasing_and_positive():
    with pytest.raises(ConfigError, match="learning_rates"):
        resolve_config(exp, "quick", overrides={"learning_rates": "(0.3, 0.1)"})


def test_the_trained_model_must_be_one_of_the_trained_batch_sizes():
    assert resolve_config(exp, "quick", overrides={"trained_batch": "16"}).trained_batch == 16
    with pytest.raises(ConfigError, match="trained_batch"):
        resolve_config(exp, "quick", overrides={"trained_batch": "32"})


def test_a_learning_rate_unstable_on_the_sharp_minimum_is_refused():
    # lr 0.01 × curvature 101 = 1.01 is stable; 0.03 × 101 > 2 would make escape a step-size effect.
    assert CONFIG.landscape_train.lr * CONFIG.max_dip_curvature < 2
    with pytest.raises(ConfigError, match="linear instability"):
        resolve_config(exp, "quick", overrides={"landscape_train.lr": "0.03"})
    with pytest.raises(ConfigError, match="linear instability"):  # carriers only: curvature 801
        resolve_config(exp, "quick", overrides={"dip_share": "0.125"})


def test_escape_rule_records_the_stability_product():
    outcome = _decided(_fabricated(), "sgd_noise_escapes")
    assert outcome.details["lr_times_max_curvature"] == pytest.approx(1.01)
