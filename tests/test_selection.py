"""selection: best value by mean, and leave-one-seed-out choice per seed."""

import numpy as np
import pytest

from phenomena import selection

# Three values x three seeds; value 1 is best on average, but seed 2 is lucky at value 0.
SCORES = np.array([[1.0, 1.0, 0.0],
                   [0.5, 0.5, 0.6],
                   [2.0, 2.0, 2.0]])


def test_best_by_mean_takes_the_lowest_mean_or_the_highest():
    assert selection.best_by_mean(SCORES) == 1
    assert selection.best_by_mean(SCORES, mode="max") == 2


def test_an_excluded_run_disqualifies_its_value():
    excluded = np.zeros_like(SCORES, bool)
    excluded[1, 0] = True
    assert selection.best_by_mean(SCORES, excluded) == 0


def test_a_value_without_finite_scores_is_never_best():
    scores = SCORES.copy()
    scores[0] = np.nan
    assert selection.best_by_mean(scores) == 1
    with pytest.raises(ValueError, match="disqualified"):
        selection.best_by_mean(np.full((2, 2), np.nan))


def test_held_out_choice_ignores_the_seed_it_is_for():
    # Seed 2 alone would prefer value 0 (its 0.0); the other seeds pick value 1 for it. Seeds 0
    # and 1 see seed 2's 0.0 at value 0: means 0.5 (value 0) vs 0.55 (value 1).
    assert selection.held_out_best(SCORES).tolist() == [0, 0, 1]


def test_held_out_choice_respects_exclusions_of_the_other_seeds_only():
    excluded = np.zeros_like(SCORES, bool)
    excluded[0, 2] = True  # seed 2 diverged at value 0: the other seeds may not pick it
    assert selection.held_out_best(SCORES, excluded).tolist() == [1, 1, 1]


def test_held_out_choice_needs_two_seeds():
    with pytest.raises(ValueError, match="two seeds"):
        selection.held_out_best(SCORES[:, :1])


def test_per_seed_reads_each_seeds_chosen_value():
    values = np.arange(9.0).reshape(3, 3)
    assert selection.per_seed(values, [2, 0, 1]).tolist() == [6.0, 1.0, 5.0]
