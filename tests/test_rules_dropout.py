"""dropout's claim rules on fabricated results: each verdict branch, no training."""

import dataclasses

import numpy as np

from experiments import dropout
from phenomena import rng, stats
from phenomena.results import Results

SEEDS = 4


def _fabricated(test_gain=0.1, eval_diff=0.0, train_differs=0.5) -> Results:
    """Rate 0 fits the training set (gap 0.5); rate 0.5 trains to 0.9 and tests `test_gain` higher."""
    rng = np.random.default_rng(0)
    train_acc = np.array([[1.0, 1.0], [0.9, 0.9]])[:, None, :].repeat(SEEDS, axis=1)
    test_acc = np.array([[0.5, 0.5], [0.5 + test_gain, 0.5 + test_gain]])[:, None, :].repeat(SEEDS, axis=1)
    test_acc = test_acc + 1e-3 * rng.standard_normal(test_acc.shape)
    results = Results()
    coords = dict(rate=[0.0, 0.5], step=[0, 100])
    results.add("train_accuracy", train_acc, ("rate", "seed", "step"), **coords)
    results.add("test_accuracy", test_acc, ("rate", "seed", "step"))
    results.add("eval_output_max_abs_diff", np.full(SEEDS, eval_diff), ("seed",))
    results.add("train_output_fraction_differing", np.full(SEEDS, train_differs), ("seed",))
    return results


def _verdicts(results) -> dict:
    config = dataclasses.replace(dropout.CONFIG, rates=(0.0, 0.5), seeds=SEEDS)
    return dropout.claims.verdicts(results, config)


def test_gap_rule():
    # Gaps: 0.5 at rate 0; 0.9 - 0.6 = 0.3 at rate 0.5 (shrinks); 0.9 - 0.3 = 0.6 (grows).
    assert _verdicts(_fabricated(test_gain=0.1))["dropout_shrinks_gap"] == stats.REPRODUCED
    assert _verdicts(_fabricated(test_gain=-0.2))["dropout_shrinks_gap"] == stats.NOT_REPRODUCED


def test_determinism_rule_needs_exact_evaluation_and_stochastic_training():
    assert _verdicts(_fabricated())["inference_deterministic"] == stats.REPRODUCED
    assert _verdicts(_fabricated(eval_diff=1e-7))["inference_deterministic"] == stats.NOT_REPRODUCED
    assert _verdicts(_fabricated(train_differs=0.0))["inference_deterministic"] == stats.NOT_REPRODUCED
