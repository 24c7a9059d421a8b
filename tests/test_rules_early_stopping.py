"""early_stopping's claim rules on made-up results: each verdict branch can come out, no training."""

import numpy as np
import pytest

from experiments import early_stopping
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, REPRODUCED

SEEDS = 8
STEPS = list(range(0, 220, 20))  # 11 evaluations
CONFIG = resolve_config(early_stopping, "quick", overrides={"patience": "3"})


def _results(val_shape, test_shift=0.0):
    """Curves (seed, step): a given validation shape, test = validation + `test_shift` after
    the validation minimum, and a falling training loss."""
    rng = np.random.default_rng(0)
    val = np.asarray(val_shape, float)[None, :] + rng.normal(0, 0.01, (SEEDS, len(STEPS)))
    best = np.argmin(val, axis=1)
    after = np.arange(len(STEPS))[None, :] > best[:, None]
    test = val + np.where(after, test_shift, 0.0)
    results = Results()
    results.add("val_loss", val, ("seed", "step"), seed=list(range(SEEDS)), step=STEPS)
    results.add("test_loss", test, ("seed", "step"))
    results.add("train_loss", np.broadcast_to(np.linspace(2.3, 0.01, len(STEPS)), (SEEDS, len(STEPS))),
                ("seed", "step"))
    for split in ("train", "val", "test"):
        results.add(f"{split}_accuracy", np.full((SEEDS, len(STEPS)), 0.5), ("seed", "step"))
    return results


U_SHAPE = [2.3, 1.9, 1.7, 1.6, 1.65, 1.75, 1.85, 1.95, 2.05, 2.15, 2.25]
FALLING = list(np.linspace(2.3, 1.2, 11))


def _decided(results, config=CONFIG):
    return {v.claim.id.split(".")[1]: v for v in early_stopping.claims.decide(results, config)}


def test_a_u_shaped_validation_loss_is_reproduced_and_early_stopping_helps():
    decided = _decided(_results(U_SHAPE))
    assert decided["validation_u_curve"].verdict == REPRODUCED
    assert decided["validation_u_curve"].interval.mean == pytest.approx(2.25 - 1.6, abs=0.02)
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
    assert early_stopping.claims.verdicts(_results(FALLING), CONFIG)["validation_u_curve"] == NOT_REPRODUCED


def test_a_minimum_at_initialization_for_one_seed_is_no_u():
    results = _results(U_SHAPE)
    val = results["val_loss"].copy()
    val[0, 0] = 1.0  # one seed's best model is its initialization
    results.add("val_loss", val, ("seed", "step"))
    decided = _decided(results)["validation_u_curve"]
    assert decided.verdict == NOT_REPRODUCED
    assert not decided.details["minimum_strictly_inside_for_every_seed"]


def test_a_test_loss_that_improves_after_the_selected_step_makes_stopping_worse():
    verdicts = early_stopping.claims.verdicts(_results(U_SHAPE, test_shift=-1.0), CONFIG)
    assert verdicts["early_stop_not_worse"] == NOT_REPRODUCED


def _with_test_accuracy_gain_after_the_minimum(gain):
    """U-shaped curves whose test accuracy rises by `gain` after the validation-loss minimum."""
    results = _results(U_SHAPE)
    after = np.arange(len(STEPS))[None, :] > np.argmin(results["val_loss"], axis=1)[:, None]
    noise = np.random.default_rng(1).normal(0, 0.002, after.shape)
    results.add("test_accuracy", 0.4 + np.where(after, gain, 0.0) + noise, ("seed", "step"))
    return _decided(results)["early_stop_accuracy"]


def test_accuracy_that_keeps_rising_after_the_loss_minimum_is_not_reproduced():
    verdict = _with_test_accuracy_gain_after_the_minimum(0.04)
    assert verdict.verdict == NOT_REPRODUCED
    assert verdict.interval.mean == pytest.approx(-0.04, abs=0.005)
    # The accuracies themselves get intervals inside [0, 1].
    at_last = verdict.details["test_accuracy_at_last"]
    assert at_last.mean == pytest.approx(0.44, abs=0.005) and at_last.high <= 1


def test_accuracy_within_epsilon_of_the_last_model_is_reproduced():
    verdict = _with_test_accuracy_gain_after_the_minimum(0.0)
    assert verdict.verdict == REPRODUCED
    # Selecting by validation accuracy (flat at 0.5 here) picks evaluation 0.
    assert verdict.details["best_val_accuracy_step"].mean == 0
