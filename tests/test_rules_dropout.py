"""dropout's claim rules on fabricated results: each verdict branch, no training."""

import dataclasses

import numpy as np
import pytest

from experiments import dropout
from phenomena import rng, stats
from phenomena.results import Results

SEEDS = 4


def _fabricated(test_gain=0.1, train_drop=0.1, eval_diff=0.0, train_differs=0.5) -> Results:
    """Rate 0 fits the training set (train 1.0, test 0.5: gap 0.5); rate 0.5 trains to
    1 - `train_drop` and tests `test_gain` higher. Training losses flat over the last quarter."""
    rng = np.random.default_rng(0)
    train_acc = np.array([[1.0, 1.0], [1 - train_drop] * 2])[:, None, :].repeat(SEEDS, axis=1)
    test_acc = np.array([[0.5, 0.5], [0.5 + test_gain] * 2])[:, None, :].repeat(SEEDS, axis=1)
    test_acc = test_acc + 1e-3 * rng.standard_normal(test_acc.shape)
    train_loss = np.array([[0.5, 0.01], [0.8, 0.2]])[:, None, :].repeat(SEEDS, axis=1)
    results = Results()
    coords = dict(rate=[0.0, 0.5], step=[0, 100])
    results.add("train_accuracy", train_acc, ("rate", "seed", "step"), **coords)
    results.add("test_accuracy", test_acc, ("rate", "seed", "step"))
    results.add("train_loss", train_loss, ("rate", "seed", "step"))
    results.add("eval_output_max_abs_diff", np.full(SEEDS, eval_diff), ("seed",))
    results.add("train_output_fraction_differing", np.full(SEEDS, train_differs), ("seed",))
    return results


def _verdicts(results) -> dict:
    config = dataclasses.replace(dropout.CONFIG, rates=(0.0, 0.5), seeds=SEEDS)
    return dropout.claims.verdicts(results, config)


def test_gap_rule_needs_better_test_accuracy_and_a_smaller_gap():
    # Gaps: 0.5 at rate 0; 0.9 - 0.6 = 0.3 at rate 0.5: test better and gap smaller.
    assert _verdicts(_fabricated(test_gain=0.1))["dropout_shrinks_gap"] == stats.REPRODUCED
    decided = {v.claim.id.split(".")[1]: v for v in dropout.claims.decide(
        _fabricated(test_gain=0.1), dataclasses.replace(dropout.CONFIG, rates=(0.0, 0.5)))}
    outcome = decided["dropout_shrinks_gap"]
    assert outcome.interval.mean == pytest.approx(0.1, abs=2e-3)
    assert outcome.details["gap_shrink_rate0_minus_rate05"].mean == pytest.approx(0.2, abs=2e-3)
    assert outcome.details["train_loss_change_last_quarter_by_rate"][0.0].mean == pytest.approx(-0.49)
    # Gap 0.9 - 0.3 = 0.6: larger, and test worse.
    assert _verdicts(_fabricated(test_gain=-0.2))["dropout_shrinks_gap"] == stats.NOT_REPRODUCED


def test_a_gap_that_shrinks_only_because_training_accuracy_fell_does_not_count():
    # Train 0.7, test 0.5 (no gain): the gap falls from 0.5 to 0.2 by underfitting alone.
    assert _verdicts(_fabricated(test_gain=0.0, train_drop=0.3))["dropout_shrinks_gap"] \
        == stats.NOT_REPRODUCED


def test_better_test_accuracy_with_a_wider_gap_does_not_count():
    # Synthetic: rate 0.5 scores 0.1 higher on train (1.1) and 0.05 on test: gap 0.55 > 0.5.
    widened = _fabricated(test_gain=0.05, train_drop=-0.1)
    assert _verdicts(widened)["dropout_shrinks_gap"] == stats.NOT_REPRODUCED


def test_determinism_rule_needs_exact_evaluation_and_stochastic_training():
    assert _verdicts(_fabricated())["inference_deterministic"] == stats.REPRODUCED
    assert _verdicts(_fabricated(eval_diff=1e-7))["inference_deterministic"] == stats.NOT_REPRODUCED
    assert _verdicts(_fabricated(train_differs=0.0))["inference_deterministic"] == stats.NOT_REPRODUCED
