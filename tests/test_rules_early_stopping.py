"""early_stopping's claim rules on made-up results: each verdict branch can come out, no training."""

import numpy as np
import pytest

from experiments import early_stopping
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, NUANCED, REPRODUCED

SEEDS = 8
STEPS = list(range(0, 220, 20))  # 11 evaluations
CONFIG = resolve_config(early_stopping, "quick", overrides={"patience": "3"})
NOISE = [0.0, CONFIG.label_noise]


def _curves(val_shape, test_shift, seed):
    """(seed, step) curves: a given validation shape, test = validation + `test_shift` after the
    validation minimum."""
    rng = np.random.default_rng(seed)
    val = np.asarray(val_shape, float)[None, :] + rng.normal(0, 0.01, (SEEDS, len(STEPS)))
    after = np.arange(len(STEPS))[None, :] > np.argmin(val, axis=1)[:, None]
    return val, val + np.where(after, test_shift, 0.0), after


def _results(val_shape, test_shift=0.0, accuracy_gain=(0.0, 0.0), noisy_val_shape=None):
    """Clean and noisy conditions (noise, seed, step); test accuracy rises by `accuracy_gain[i]`
    after condition i's validation minimum; training loss falls in both."""
    results = Results()
    parts = {name: [] for name in ("val_loss", "test_loss", "test_accuracy")}
    for i, shape in enumerate((val_shape, noisy_val_shape or val_shape)):
        val, test, after = _curves(shape, test_shift, seed=i)
        noise = np.random.default_rng(10 + i).normal(0, 0.002, after.shape)
        parts["val_loss"].append(val)
        parts["test_loss"].append(test)
        parts["test_accuracy"].append(0.4 + np.where(after, accuracy_gain[i], 0.0) + noise)
    axes = ("noise", "seed", "step")
    results.add("val_loss", np.stack(parts["val_loss"]), axes, noise=NOISE,
                seed=list(range(SEEDS)), step=STEPS)
    results.add("test_loss", np.stack(parts["test_loss"]), axes)
    results.add("test_accuracy", np.stack(parts["test_accuracy"]), axes)
    results.add("train_loss", np.broadcast_to(np.linspace(2.3, 0.01, len(STEPS)),
                                              (2, SEEDS, len(STEPS))), axes)
    for split in ("train", "val"):
        results.add(f"{split}_accuracy", np.full((2, SEEDS, len(STEPS)), 0.5), axes)
    return results


U_SHAPE = [2.3, 1.9, 1.7, 1.6, 1.65, 1.75, 1.85, 1.95, 2.05, 2.15, 2.25]
EARLY_U = [2.3, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.1, 2.2, 2.3, 2.4]  # minimum at evaluation 1
FALLING = list(np.linspace(2.3, 1.2, 11))


def _decided(results, config=CONFIG):
    return {v.claim.id.split(".")[1]: v for v in early_stopping.claims.decide(results, config)}


def test_a_u_shaped_validation_loss_is_reproduced_and_early_stopping_helps():
    decided = _decided(_results(U_SHAPE, noisy_val_shape=EARLY_U))
    assert decided["validation_u_curve"].verdict == REPRODUCED
    assert decided["validation_u_curve"].interval.mean == pytest.approx(2.25 - 1.6, abs=0.02)
    # The noisy condition is reported beside the clean one: its minimum sits at step 20.
    assert decided["validation_u_curve"].details["noisy_labels"]["best_step"].mean == pytest.approx(20)
    assert decided["early_stop_not_worse"].verdict == REPRODUCED
    assert decided["early_stop_not_worse"].interval.mean == pytest.approx(1.6 - 2.25, abs=0.02)
    # Minimum at evaluation 3 (step 60); patience 3 (the config's) stops at evaluation 6 (step 120).
    patience = decided["early_stop_not_worse"].details["patience_rule"]
    assert patience["patience_evaluations"] == 3
    assert patience["stop_step"].mean == pytest.approx(120)
    # A longer patience, read from the config, stops later.
    longer = resolve_config(early_stopping, "quick", overrides={"patience": "5"})
    assert _decided(_results(U_SHAPE), longer)["early_stop_not_worse"].details[
        "patience_rule"]["stop_step"].mean == pytest.approx(160)


def test_a_validation_loss_that_only_falls_is_no_u():
    verdicts = early_stopping.claims.verdicts(_results(FALLING), CONFIG)
    assert verdicts["validation_u_curve"] == NOT_REPRODUCED


def test_a_minimum_at_initialization_for_one_seed_is_no_u():
    results = _results(U_SHAPE)
    val = results["val_loss"].copy()
    val[0, 0, 0] = 1.0  # one clean seed's best model is its initialization
    results.add("val_loss", val, ("noise", "seed", "step"))
    decided = _decided(results)["validation_u_curve"]
    assert decided.verdict == NOT_REPRODUCED
    assert not decided.details["minimum_strictly_inside_for_every_seed"]


def test_a_test_loss_that_improves_after_the_selected_step_makes_stopping_worse():
    verdicts = early_stopping.claims.verdicts(_results(U_SHAPE, test_shift=-1.0), CONFIG)
    assert verdicts["early_stop_not_worse"] == NOT_REPRODUCED


def test_accuracy_that_keeps_rising_after_the_loss_minimum_in_both_conditions_is_not_reproduced():
    verdict = _decided(_results(U_SHAPE, accuracy_gain=(0.04, 0.05)))["early_stop_accuracy"]
    assert verdict.verdict == NOT_REPRODUCED
    assert verdict.interval.mean == pytest.approx(-0.04, abs=0.005)  # the clean condition's
    assert verdict.details["noisy"]["kept_minus_last"].mean == pytest.approx(-0.05, abs=0.005)
    # The accuracies themselves get intervals inside [0, 1].
    at_last = verdict.details["clean"]["test_accuracy_at_last"]
    assert at_last.mean == pytest.approx(0.44, abs=0.005) and at_last.high <= 1


def test_accuracy_that_falls_after_the_minimum_with_noisy_labels_only_is_nuanced():
    verdict = _decided(_results(U_SHAPE, accuracy_gain=(0.04, -0.05)))["early_stop_accuracy"]
    assert verdict.verdict == NUANCED
    assert not verdict.details["clean"]["holds"] and verdict.details["noisy"]["holds"]
    assert verdict.details["noisy"]["kept_minus_last"].mean == pytest.approx(0.05, abs=0.005)


def test_accuracy_within_epsilon_of_the_last_model_in_both_conditions_is_reproduced():
    verdict = _decided(_results(U_SHAPE, accuracy_gain=(0.0, -0.005)))["early_stop_accuracy"]
    assert verdict.verdict == REPRODUCED
    # Selecting by validation accuracy (flat at 0.5 here) picks evaluation 0.
    assert verdict.details["clean"]["best_val_accuracy_step"].mean == 0


def test_early_stop_accuracy_is_labelled_post_hoc():
    claim = next(c for c in early_stopping.claims.claims if c.id.endswith("early_stop_accuracy"))
    assert claim.post_hoc and claim.literature == REPRODUCED


def test_label_noise_outside_zero_one_is_refused():
    from phenomena.config import ConfigError
    with pytest.raises(ConfigError, match="label_noise"):
        resolve_config(early_stopping, "quick", overrides={"label_noise": "1.0"})
