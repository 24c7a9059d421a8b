"""early_stopping's claim rules on made-up results: each verdict branch can come out."""

import numpy as np
import pytest

from experiments import early_stopping
from phenomena.results import Results
from phenomena.stats import NOT_REPRODUCED, REPRODUCED

SEEDS = 8
STEPS = list(range(0, 220, 20))  # 11 evaluations


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
    results.meta["patience"] = 3
    return results


U_SHAPE = [2.3, 1.9, 1.7, 1.6, 1.65, 1.75, 1.85, 1.95, 2.05, 2.15, 2.25]
FALLING = list(np.linspace(2.3, 1.2, 11))


def _verdicts(results):
    return {v.claim.id.split(".")[1]: v for v in early_stopping.claims(results)}


def test_a_u_shaped_validation_loss_is_reproduced_and_early_stopping_helps():
    verdicts = _verdicts(_results(U_SHAPE))
    assert verdicts["validation_u_curve"].verdict == REPRODUCED
    assert verdicts["validation_u_curve"].interval.mean == pytest.approx(2.25 - 1.6, abs=0.02)
    assert verdicts["early_stop_not_worse"].verdict == REPRODUCED
    # Minimum at evaluation 3 (step 60); patience 3 stops at evaluation 6 (step 120).
    patience = verdicts["early_stop_not_worse"].details["patience_rule"]
    assert patience["stop_step"].mean == pytest.approx(120)


def test_a_validation_loss_that_only_falls_is_no_u():
    assert _verdicts(_results(FALLING))["validation_u_curve"].verdict == NOT_REPRODUCED


def test_a_test_loss_that_improves_after_the_selected_step_makes_stopping_worse():
    verdicts = _verdicts(_results(U_SHAPE, test_shift=-1.0))
    assert verdicts["early_stop_not_worse"].verdict == NOT_REPRODUCED


def _with_test_accuracy_gain_after_the_minimum(gain):
    """U-shaped curves whose test accuracy rises by `gain` after the validation-loss minimum."""
    results = _results(U_SHAPE)
    after = np.arange(len(STEPS))[None, :] > np.argmin(results["val_loss"], axis=1)[:, None]
    noise = np.random.default_rng(1).normal(0, 0.002, after.shape)
    results.add("test_accuracy", 0.4 + np.where(after, gain, 0.0) + noise, ("seed", "step"))
    return _verdicts(results)["early_stop_accuracy"]


def test_accuracy_that_keeps_rising_after_the_loss_minimum_is_not_reproduced():
    verdict = _with_test_accuracy_gain_after_the_minimum(0.04)
    assert verdict.verdict == NOT_REPRODUCED
    assert verdict.interval.mean == pytest.approx(-0.04, abs=0.005)


def test_accuracy_within_epsilon_of_the_last_model_is_reproduced():
    verdict = _with_test_accuracy_gain_after_the_minimum(0.0)
    assert verdict.verdict == REPRODUCED
    # Selecting by validation accuracy (flat at 0.5 here) picks evaluation 0.
    assert verdict.details["best_val_accuracy_step"].mean == 0
