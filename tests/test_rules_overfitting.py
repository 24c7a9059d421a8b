"""overfitting's claim rules on made-up results: each verdict branch can come out, no training."""

import numpy as np
import pytest

from experiments import overfitting
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, NUANCED, REPRODUCED

CONFIG = resolve_config(overfitting, "quick")
SEEDS = CONFIG.seeds
WIDTHS = list(CONFIG.widths)  # 4, 6, 8, 11, 16, 23, 32, 64, 256
SIZES = list(CONFIG.sizes)    # 125, 250, 500, 1000


def _noisy(value, seed):
    """`value` per seed with a little seed-to-seed noise (so intervals are not degenerate)."""
    return value + np.random.default_rng(seed).normal(0, 0.005, SEEDS)


def _final(train_acc, test_acc, seed):
    """(value, seed, step) train and test curves whose last step holds the given accuracies."""
    def curve(values, offset):
        last = np.stack([_noisy(v, seed + offset + i) for i, v in enumerate(values)])
        return np.stack([np.full_like(last, 0.1), last], axis=-1)
    return curve(train_acc, 0), curve(test_acc, 100)


RISING = (0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.72, 0.74, 0.75)  # a gap per width of WIDTHS
INVERTED_U = (0.3, 0.42, 0.57, 0.70, 0.75, 0.73, 0.74, 0.72, 0.70)  # the measured shape


def _results(random_train=1.0, random_test=0.10, width_gaps=RISING,
             size_gaps=(0.7, 0.6, 0.45, 0.3)):
    results = Results()
    mem_train, mem_test = _final([1.0, random_train], [0.3, random_test], 0)
    results.add("memorize_train_accuracy", np.minimum(mem_train, 1.0), ("labels", "seed", "memorize_step"),
                labels=list(overfitting.LABELS), seed=list(range(SEEDS)), memorize_step=[0, 200])
    results.add("memorize_test_accuracy", mem_test, ("labels", "seed", "memorize_step"))
    # Train accuracy at every step: true labels fitted at step 20, random ones at step 30.
    steps = np.arange(200)
    per_step = np.broadcast_to(np.minimum(steps / np.array([20.0, 30.0])[:, None], 1.0)[:, None, :],
                               (2, SEEDS, 200))
    results.add("memorize_step_accuracy", per_step, ("labels", "seed", "optimizer_step"),
                optimizer_step=steps.tolist())
    for part, axis, gaps, step in (("width", WIDTHS, width_gaps, "step"),
                                   ("size", SIZES, size_gaps, "size_step")):
        train_acc, test_acc = _final([1.0] * len(gaps), [1.0 - g for g in gaps], 1)
        results.add(f"{part}_train_accuracy", np.minimum(train_acc, 1.0), (part, "seed", step),
                    **{part: axis, step: [0, 600]})
        results.add(f"{part}_test_accuracy", test_acc, (part, "seed", step))
    return results


def _decided(results):
    return {v.claim.id.split(".")[1]: v for v in overfitting.claims.decide(results, CONFIG)}


def test_textbook_overfitting_is_reproduced_everywhere():
    assert overfitting.claims.verdicts(_results(), CONFIG) == {
        "memorizes_random_labels": REPRODUCED, "gap_grows_with_capacity": REPRODUCED,
        "gap_shrinks_with_data": REPRODUCED}
    decided = _decided(_results())
    memorization = decided["memorizes_random_labels"].details
    # True labels fit at step 20, random ones at step 30: a 1.5x slowdown.
    assert memorization["steps_to_fit_true_labels"].mean == pytest.approx(20)
    assert memorization["slowdown_random_over_true"].mean == pytest.approx(1.5)
    # Accuracies get intervals inside [0, 1].
    assert 0 <= memorization["test_accuracy_random_labels"].low <= 0.1
    assert decided["memorizes_random_labels"].interval.high <= 1.0
    assert decided["gap_grows_with_capacity"].interval.mean == pytest.approx(0.45, abs=0.01)
    assert decided["gap_grows_with_capacity"].details["turn_width"] == 256
    assert decided["gap_grows_with_capacity"].details["first_width_fitting_every_seed"] == 4
    assert decided["gap_shrinks_with_data"].interval.mean == pytest.approx(0.4, abs=0.01)
    assert decided["gap_shrinks_with_data"].details["turn_size"] == 1000


def test_random_labels_that_generalize_or_are_not_fitted_are_not_memorization():
    assert overfitting.claims.verdicts(_results(random_test=0.25), CONFIG)[
        "memorizes_random_labels"] == NOT_REPRODUCED
    assert overfitting.claims.verdicts(_results(random_train=0.9), CONFIG)[
        "memorizes_random_labels"] == NOT_REPRODUCED


def _size_details(last_train_accuracy_of_largest):
    """The data claim's details when every size ends at train accuracy 1 but the largest."""
    results = _results()
    train_acc = results["size_train_accuracy"].copy()
    train_acc[..., -1] = 1.0
    train_acc[-1, :, -1] = last_train_accuracy_of_largest
    results.add("size_train_accuracy", train_acc, ("size", "seed", "size_step"))
    return _decided(results)["gap_shrinks_with_data"].details


def test_an_under_fitted_size_is_flagged_in_the_details():
    assert _size_details(1.0)["every_size_fitted"]
    details = _size_details(0.8)
    assert not details["every_size_fitted"]
    assert details["lowest_train_accuracy_any_size_and_seed"] == pytest.approx(0.8)


def test_a_gap_that_peaks_then_falls_with_width_is_nuanced():
    decided = _decided(_results(width_gaps=INVERTED_U))
    capacity = decided["gap_grows_with_capacity"]
    assert capacity.verdict == NUANCED
    assert capacity.details["turn_width"] == 16
    assert capacity.interval.mean == pytest.approx(0.45, abs=0.01)
    assert capacity.details["change_back_after_turn"].mean == pytest.approx(0.05, abs=0.01)
    # A dip within seed noise after the peak is no fall: the gap still grows.
    assert overfitting.claims.verdicts(_results(width_gaps=RISING[:-1] + (0.738,)), CONFIG)[
        "gap_grows_with_capacity"] == REPRODUCED


def test_a_flat_gap_over_widths_does_not_grow():
    assert overfitting.claims.verdicts(_results(width_gaps=(0.5,) * len(WIDTHS)), CONFIG)[
        "gap_grows_with_capacity"] == NOT_REPRODUCED


def test_the_gap_over_sizes_is_judged_over_the_whole_range():
    verdicts = overfitting.claims.verdicts(_results(size_gaps=(0.5, 0.5, 0.5, 0.5)), CONFIG)
    assert verdicts["gap_shrinks_with_data"] == NOT_REPRODUCED
    # Falls to n = 250, then rises back significantly: holds in one range, fails in the other.
    decided = _decided(_results(size_gaps=(0.7, 0.4, 0.5, 0.6)))["gap_shrinks_with_data"]
    assert decided.verdict == NUANCED and decided.details["turn_size"] == 250
    # A step back midway that ends lowest at the largest n is still a fall over the range.
    verdicts = overfitting.claims.verdicts(_results(size_gaps=(0.7, 0.5, 0.6, 0.3)), CONFIG)
    assert verdicts["gap_shrinks_with_data"] == REPRODUCED


def test_a_minibatch_memorization_run_is_refused():
    # The memorization curve is the full-batch loss's accuracy; with minibatches it would not be
    # the train accuracy, so the override is an error rather than a silent change of meaning.
    with pytest.raises(ConfigError, match="memorize.batch_size"):
        resolve_config(overfitting, "quick", overrides={"memorize.batch_size": "64"})
