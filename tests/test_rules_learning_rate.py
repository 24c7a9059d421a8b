"""learning_rate's claim rules on fabricated results: each verdict branch, no training."""

import numpy as np
import pytest

from experiments import learning_rate as lr
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, REPRODUCED

RATES = [1e-4, 1e-2, 1.0]
SEEDS = 4
INITIAL = 2.9
CONFIG = resolve_config(lr, "quick")


def _results(smallest=2.2, best=0.5, largest=float("nan"), largest_diverged=True,
             constant=0.6, scheduled=0.5) -> Results:
    """Three rates (the middle one best) x four seeds, evaluated at steps 0 and 100."""
    noise = np.array([0.0, 0.01, -0.01, 0.02])
    final = np.stack([smallest + noise, best + noise, largest + noise])
    loss = np.stack([np.full((3, SEEDS), INITIAL), final], axis=-1)
    diverged = np.full((3, SEEDS), -1)
    if largest_diverged:
        diverged[2] = 7
    results = Results(meta={"best_rate": RATES[1]})
    results.add("train_loss", loss, ("rate", "seed", "step"), rate=RATES, step=[0, 100])
    results.add("test_accuracy", np.full((3, SEEDS), 0.5), ("rate", "seed"))
    results.add("diverged_at", diverged, ("rate", "seed"))
    pair = np.stack([np.stack([np.full(SEEDS, INITIAL), v + noise], axis=-1)
                     for v in (constant, scheduled)])
    results.add("schedule_loss", pair, ("schedule", "seed", "step"), schedule=list(lr.SCHEDULES))
    results.add("schedule_test_accuracy", np.full((2, SEEDS), 0.6), ("schedule", "seed"))
    return results


def _verdicts(results: Results) -> dict[str, str]:
    return lr.claims.verdicts(results, CONFIG)


def test_the_textbook_picture_reproduces_every_claim():
    verdicts = _verdicts(_results())
    assert verdicts == {"too_low_is_slow": REPRODUCED, "too_high_diverges": REPRODUCED,
                        "schedule_helps": REPRODUCED, "too_high_fails_to_learn": REPRODUCED}


def test_smallest_rate_within_the_margin_of_the_best_is_not_slow():
    assert _verdicts(_results(smallest=0.5 + lr.SLOW_MARGIN / 2))["too_low_is_slow"] == NOT_REPRODUCED


def test_slowness_is_the_paired_final_loss_difference():
    outcome = lr.claims.decide(_results(smallest=2.2, best=0.5), CONFIG)[0]
    assert outcome.interval.mean == pytest.approx(1.7)


def test_collapse_to_chance_fails_to_learn_but_does_not_count_as_diverging():
    verdicts = _verdicts(_results(largest=2.35, largest_diverged=False))
    assert verdicts["too_high_diverges"] == NOT_REPRODUCED  # 2.35 < the initial 2.9
    assert verdicts["too_high_fails_to_learn"] == REPRODUCED  # 2.35 >= 0.9 ln 10


def test_ending_above_the_initial_loss_counts_as_diverging():
    verdicts = _verdicts(_results(largest=3.5, largest_diverged=False))
    assert verdicts["too_high_diverges"] == REPRODUCED


def test_a_largest_rate_that_learns_neither_diverges_nor_fails():
    verdicts = _verdicts(_results(largest=1.0, largest_diverged=False))
    assert verdicts["too_high_diverges"] == NOT_REPRODUCED
    assert verdicts["too_high_fails_to_learn"] == NOT_REPRODUCED


@pytest.mark.parametrize("scheduled, verdict", [(0.5, REPRODUCED), (0.7, NOT_REPRODUCED)])
def test_schedule_helps_only_when_it_ends_lower(scheduled, verdict):
    assert _verdicts(_results(constant=0.6, scheduled=scheduled))["schedule_helps"] == verdict


def test_losses_and_accuracies_in_details_have_bounded_intervals():
    by_name = {v.claim.id.split(".")[1]: v for v in lr.claims.decide(_results(), CONFIG)}
    accuracy = by_name["schedule_helps"].details["test_accuracy"]["constant"]
    assert 0 <= accuracy.low <= accuracy.high <= 1
    assert by_name["too_low_is_slow"].details["best_rate_loss"].low >= 0


def test_half_decade_grid_spans_the_requested_decades():
    assert lr.half_decades(-4, 1) == (1e-4, 3.16e-4, 1e-3, 3.16e-3, 1e-2, 3.16e-2, 0.1, 0.316,
                                      1.0, 3.16, 10.0)
    assert lr.half_decades(-1, 1, per_decade=1) == (0.1, 1.0, 10.0)


def test_setting_the_learning_rate_is_refused_the_grid_sets_it():
    with pytest.raises(ConfigError, match="train.lr"):
        resolve_config(lr, "quick", overrides={"train.lr": "0.5"})
    assert resolve_config(lr, "quick", overrides={"train.steps": "200"}).train.steps == 200
