"""learning_rate's claim rules on fabricated results: each verdict branch, no training."""

import numpy as np
import pytest

from experiments import learning_rate as lr
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, NUANCED, REPRODUCED

RATES = [1e-4, 1e-2, 1.0]
SEEDS = 4
INITIAL = 2.9
CONFIG = resolve_config(lr, "quick")
NOISE = np.array([0.0, 0.01, -0.01, 0.02])
CENTRES = {"constant": 1e-2, "warmup + cosine": 1.0}  # each schedule's grid best by default
LONG_STEPS = [0, 3000, 4000]  # the converged phase's evaluations: its last quarter is 3000-4000
STILL_FALLING = 1.1  # the converged loss at 3000 steps, relative to its final value


def _results(smallest=2.2, best=0.5, largest=2.35, largest_diverged=True, peak=3.0,
             constant=None, scheduled=None, converged_constant=(0.3, 0.2, 0.25),
             converged_scheduled=None) -> Results:
    """Three rates (the middle one best) x four seeds x both schedules, evaluated at steps 0 and
    100. `constant` / `scheduled` give each schedule's final loss per rate (default: the sweep's);
    `peak` is the largest-rate runs' highest minibatch loss. The converged phase: each schedule
    at `CENTRES` and its half-decade neighbours, final losses `converged_constant` /
    `converged_scheduled` per neighbour (default: the constant's), 10 % above at 3000 steps."""
    sweep = [smallest, best, largest]
    finals = [constant or sweep, scheduled or sweep]
    final = np.stack([np.stack([v + NOISE for v in f]) for f in finals])  # (schedule, rate, seed)
    loss = np.stack([np.full(final.shape, INITIAL), final], axis=-1)
    diverged = np.full(final.shape, -1)
    peaks = np.full(final.shape, INITIAL)
    peaks[:, 2] = peak
    if largest_diverged:
        diverged[:, 2] = 7
        loss[:, 2, :, 1] = np.nan
    results = Results()
    coords = {"schedule": list(lr.SCHEDULES), "rate": RATES}
    results.add("train_loss", loss, ("schedule", "rate", "seed", "step"), step=[0, 100], **coords)
    results.add("test_accuracy", np.full(final.shape, 0.5), ("schedule", "rate", "seed"), **coords)
    results.add("diverged_at", diverged, ("schedule", "rate", "seed"), **coords)
    results.add("peak_step_loss", peaks, ("schedule", "rate", "seed"), **coords)
    results.add("largest_rate_step_loss", np.full((SEEDS, 5), INITIAL), ("seed", "train_step"),
                train_step=list(range(1, 6)))
    return _converged(results, converged_constant, converged_scheduled or converged_constant)


def _converged(results: Results, constant, scheduled) -> Results:
    final = np.stack([np.stack([v + NOISE for v in f]) for f in (constant, scheduled)])
    loss = np.stack([np.full(final.shape, INITIAL), STILL_FALLING * final, final], axis=-1)
    coords = {"schedule": list(lr.SCHEDULES), "neighbour": list(lr.NEIGHBOURS)}
    results.add("converged_train_loss", loss, ("schedule", "neighbour", "seed", "converged_step"),
                converged_step=LONG_STEPS, **coords)
    results.add("converged_test_accuracy", np.full(final.shape, 0.6), ("schedule", "neighbour", "seed"),
                **coords)
    results.add("converged_diverged_at", np.full(final.shape, -1), ("schedule", "neighbour", "seed"),
                **coords)
    results.add("converged_rate", [[CENTRES[s] * 10 ** o for o in lr.NEIGHBOURS] for s in lr.SCHEDULES],
                ("schedule", "neighbour"))
    return results


def _verdicts(results: Results) -> dict[str, str]:
    return lr.claims.verdicts(results, CONFIG)


def _decided(results: Results) -> dict:
    return {v.claim.id.split(".")[1]: v for v in lr.claims.decide(results, CONFIG)}


def test_the_textbook_picture_reproduces_every_claim():
    verdicts = _verdicts(_results(scheduled=[2.0, 0.4, 0.3], largest_diverged=False,
                                  peak=100 * INITIAL, converged_scheduled=[0.2, 0.1, 0.15]))
    assert verdicts == {"too_low_is_slow": REPRODUCED, "too_high_diverges": REPRODUCED,
                        "schedule_helps": REPRODUCED}


def test_smallest_rate_within_the_margin_of_the_best_is_not_slow():
    assert _verdicts(_results(smallest=0.5 + lr.SLOW_MARGIN / 2))["too_low_is_slow"] == NOT_REPRODUCED


def test_slowness_is_the_paired_final_loss_difference_at_the_best_rate():
    outcome = _decided(_results(smallest=2.2, best=0.5))["too_low_is_slow"]
    assert outcome.interval.mean == pytest.approx(1.7)
    assert outcome.details["best_rate_per_seed"] == [1e-2] * SEEDS


def test_going_non_finite_counts_as_diverging():
    assert _verdicts(_results(largest_diverged=True, peak=INITIAL))["too_high_diverges"] == REPRODUCED


def test_a_spike_to_a_hundred_times_the_initial_loss_counts_even_if_the_run_ends_finite():
    # The runs collapse to 2.35 (below the initial 2.9) at the end, but spiked on the way.
    results = _results(largest=2.35, largest_diverged=False, peak=100 * INITIAL)
    decided = _decided(results)["too_high_diverges"]
    assert decided.verdict == REPRODUCED
    assert decided.details["peak_over_initial"] == pytest.approx([100.0] * SEEDS)


def test_a_largest_rate_that_never_spikes_does_not_diverge():
    results = _results(largest=2.35, largest_diverged=False, peak=99 * INITIAL)
    assert _verdicts(results)["too_high_diverges"] == NOT_REPRODUCED


def test_one_seed_in_four_without_a_blow_up_is_below_ninety_percent():
    results = _results(largest=2.35, largest_diverged=False, peak=100 * INITIAL)
    results.arrays["peak_step_loss"][0, 2, 0] = INITIAL
    assert _verdicts(results)["too_high_diverges"] == NOT_REPRODUCED


LOWER_AFTER_1000 = [2.0, 0.45, 0.3]   # the schedule's best (0.3) is below the constant's (0.5)
HIGHER_AFTER_1000 = [2.0, 0.6, 0.7]   # its best (0.6) is above
LOWER_CONVERGED = [0.2, 0.1, 0.15]    # its best (0.1) is below the constant's (0.2)
HIGHER_CONVERGED = [0.3, 0.25, 0.4]   # its best (0.25) is above


@pytest.mark.parametrize("short, long, verdict", [
    (LOWER_AFTER_1000, LOWER_CONVERGED, REPRODUCED),
    (LOWER_AFTER_1000, HIGHER_CONVERGED, NUANCED),
    (HIGHER_AFTER_1000, LOWER_CONVERGED, NUANCED),
    (HIGHER_AFTER_1000, HIGHER_CONVERGED, NOT_REPRODUCED)])
def test_schedule_helps_counts_the_budgets_where_its_best_ends_below_the_constants_best(
        short, long, verdict):
    results = _results(largest_diverged=False, scheduled=short, converged_scheduled=long)
    assert _verdicts(results)["schedule_helps"] == verdict


def test_a_tie_at_the_converged_budget_is_not_a_lower_loss():
    decided = _decided(_results(largest_diverged=False, scheduled=LOWER_AFTER_1000))["schedule_helps"]
    assert decided.verdict == NUANCED
    assert decided.details["schedule_ends_lower"] == {"grid_budget": True, "converged_budget": False}


def test_each_schedule_is_judged_at_its_own_best_rate_in_both_budgets():
    # After 1000 steps the constant schedule is best at 1e-2 (0.5); the schedule at 1.0 (0.3),
    # where the constant rate ends at 2.35: best vs best is 0.5 - 0.3 = 0.2, not 0.5 - 0.45.
    # Converged: the constant at its grid best (0.2), the schedule at its upper neighbour (0.15
    # vs 0.3 at its grid best): 0.2 - 0.15 = 0.05, the headline interval.
    decided = _decided(_results(largest_diverged=False, scheduled=LOWER_AFTER_1000,
                                converged_scheduled=[0.3, 0.4, 0.15]))["schedule_helps"]
    short, long = decided.details["at_grid_budget"], decided.details["at_converged_budget"]
    assert short["lower_loss_by"].mean == pytest.approx(0.2)
    assert short["rates_per_seed"] == {"constant": [1e-2] * SEEDS, "warmup + cosine": [1.0] * SEEDS}
    assert decided.interval.mean == pytest.approx(0.05)
    assert long["lower_loss_by"].mean == pytest.approx(0.05)
    assert long["rates_per_seed"] == {"constant": [1e-2] * SEEDS, "warmup + cosine": [3.16] * SEEDS}
    assert long["rates_tried"]["constant"] == [3.16e-3, 1e-2, 3.16e-2]
    assert (short["steps"], long["steps"]) == (100, 4000)


def test_the_converged_budget_reports_test_accuracy_and_how_far_the_loss_still_fell():
    long = _decided(_results())["schedule_helps"].details["at_converged_budget"]
    assert long["test_accuracy"]["warmup + cosine"].mean == pytest.approx(0.6)
    drop = long["last_quarter_drop_relative_to_final"]["constant"]
    assert drop.mean == pytest.approx(STILL_FALLING - 1)


def test_a_rate_where_a_seed_diverged_is_never_chosen():
    # Warmup + cosine would be best at 1.0, but there its runs went non-finite.
    results = _results(largest_diverged=True, scheduled=LOWER_AFTER_1000)
    details = _decided(results)["schedule_helps"].details["at_grid_budget"]
    assert details["rates_per_seed"]["warmup + cosine"] == [1e-2] * SEEDS


def test_a_converged_rate_where_a_seed_diverged_is_never_chosen():
    results = _results(converged_scheduled=LOWER_CONVERGED)
    results.arrays["converged_diverged_at"][1, 1, 2] = 123  # the schedule's best, seed 2
    details = _decided(results)["schedule_helps"].details["at_converged_budget"]
    # Disqualified for the other seeds; seed 2's own run plays no part in its choice.
    assert details["rates_per_seed"]["warmup + cosine"] == [3.16, 3.16, 1.0, 3.16]


def test_the_best_rate_of_a_seed_is_chosen_on_the_other_seeds():
    # Seed 0 alone is best at 1.0 under the constant rate, the other seeds at 1e-2.
    results = _results(largest_diverged=False, largest=0.9)
    results.arrays["train_loss"][0, 2, 0, 1] = 0.1
    assert lr.chosen_rates(results, "constant").tolist() == [1, 1, 1, 1]
    assert lr.best_rate(results, "constant") == 1e-2


def test_losses_and_accuracies_in_details_have_bounded_intervals():
    by_name = _decided(_results())
    accuracy = by_name["schedule_helps"].details["at_grid_budget"]["test_accuracy"]["constant"]
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


@pytest.mark.parametrize("steps, message", [("500", "at least train.steps"),
                                            ("4050", "multiple of converged_eval_every")])
def test_a_converged_budget_shorter_than_the_grids_or_between_evaluations_is_refused(steps, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config(lr, "quick", overrides={"converged_steps": steps})


def test_the_converged_phase_tries_the_grid_best_and_its_half_decade_neighbours():
    assert CONFIG.neighbours(0.316) == (0.1, 0.316, 1.0)
    assert CONFIG.neighbours(10.0) == (3.16, 10.0, 31.6)  # past the grid's edge too
    quarters = resolve_config(lr, "full")  # quarter decades: the neighbours skip a grid point
    assert quarters.neighbours(1.0) == (0.316, 1.0, 3.16)
