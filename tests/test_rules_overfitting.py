"""overfitting's claim rules on made-up results: each verdict branch can come out."""

import numpy as np
import pytest

from experiments import overfitting
from phenomena.results import Results
from phenomena.stats import NOT_REPRODUCED, REPRODUCED

SEEDS = 8
WIDTHS = [4, 16, 64, 256]
SIZES = [250, 500, 1000, 2000, 4000]


def _noisy(value, seed):
    """`value` per seed with a little seed-to-seed noise (so intervals are not degenerate)."""
    return value + np.random.default_rng(seed).normal(0, 0.005, SEEDS)


def _final(train_acc, test_acc, seed):
    """(value, seed, step) train and test curves whose last step holds the given accuracies."""
    def curve(values, offset):
        last = np.stack([_noisy(v, seed + offset + i) for i, v in enumerate(values)])
        return np.stack([np.full_like(last, 0.1), last], axis=-1)
    return curve(train_acc, 0), curve(test_acc, 100)


def _results(random_test=0.10, width_gaps=(0.3, 0.6, 0.7, 0.75), size_gaps=(0.7, 0.6, 0.5, 0.3, 0.15)):
    results = Results()
    mem_train, mem_test = _final([1.0, 1.0], [0.3, random_test], 0)
    results.add("memorize_train_accuracy", np.minimum(mem_train, 1.0), ("labels", "seed", "memorize_step"),
                labels=list(overfitting.LABELS), seed=list(range(SEEDS)), memorize_step=[0, 200])
    results.add("memorize_test_accuracy", mem_test, ("labels", "seed", "memorize_step"))
    steps = np.arange(200)
    per_step = np.broadcast_to(np.minimum(steps / np.array([20.0, 30.0])[:, None], 1.0)[:, None, :],
                               (2, SEEDS, 200))
    results.add("memorize_step_accuracy", per_step, ("labels", "seed", "optimizer_step"),
                optimizer_step=steps.tolist())
    for part, axis, gaps in (("width", WIDTHS, width_gaps), ("size", SIZES, size_gaps)):
        train_acc, test_acc = _final([1.0] * len(gaps), [1.0 - g for g in gaps], 1)
        results.add(f"{part}_train_accuracy", train_acc, (part, "seed", "step"), **{part: axis},
                    step=[0, 600])
        results.add(f"{part}_test_accuracy", test_acc, (part, "seed", "step"))
    return results


def _verdicts(results):
    return {v.claim.id.split(".")[1]: v for v in overfitting.claims(results)}


def test_textbook_overfitting_is_reproduced_everywhere():
    verdicts = _verdicts(_results())
    assert {k: v.verdict for k, v in verdicts.items()} == dict.fromkeys(verdicts, REPRODUCED)
    # True labels fit at step 20, random ones at step 30: a 1.5x slowdown.
    slowdown = verdicts["memorizes_random_labels"].details["slowdown_random_over_true"]
    assert slowdown.mean == pytest.approx(1.5)


def _size_details(last_train_accuracy_of_largest):
    """The data claim's details when every size ends at train accuracy 1 but the largest."""
    results = _results()
    train_acc = results["size_train_accuracy"].copy()
    train_acc[..., -1] = 1.0
    train_acc[-1, :, -1] = last_train_accuracy_of_largest
    results.add("size_train_accuracy", train_acc, ("size", "seed", "step"))
    return _verdicts(results)["gap_shrinks_with_data"].details


def test_an_under_fitted_size_is_flagged_in_the_details():
    assert _size_details(1.0)["every_size_fitted"]
    details = _size_details(0.8)
    assert not details["every_size_fitted"]
    assert details["lowest_train_accuracy_any_size_and_seed"] == pytest.approx(0.8)


def test_random_labels_that_generalize_are_not_memorization():
    verdicts = _verdicts(_results(random_test=0.25))
    assert verdicts["memorizes_random_labels"].verdict == NOT_REPRODUCED


def test_a_gap_that_peaks_then_falls_with_width_is_not_growth():
    verdicts = _verdicts(_results(width_gaps=(0.3, 0.75, 0.72, 0.70)))
    assert verdicts["gap_grows_with_capacity"].verdict == NOT_REPRODUCED
    assert verdicts["gap_grows_with_capacity"].details["peak_width"] == 16
    # A dip within the 0.02 slack still counts as growth.
    assert _verdicts(_results(width_gaps=(0.3, 0.75, 0.74, 0.76)))["gap_grows_with_capacity"].verdict == REPRODUCED


def test_a_flat_gap_over_sizes_does_not_shrink():
    verdicts = _verdicts(_results(size_gaps=(0.5, 0.5, 0.5, 0.5, 0.5)))
    assert verdicts["gap_shrinks_with_data"].verdict == NOT_REPRODUCED
