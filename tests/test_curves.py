import numpy as np
import pytest

from phenomena import curves

NAN = np.nan
# Two runs of a validation loss recorded at 6 evaluations: a U (best at index 2) and a run
# that diverged after index 3 (NaN from there on).
U_CURVE = [3.0, 2.0, 1.0, 1.5, 2.5, 4.0]
DIVERGED = [2.0, 1.0, 0.5, 0.7, NAN, NAN]


def test_best_step_finds_the_minimum_and_ignores_nans():
    assert curves.best_step([U_CURVE, DIVERGED]).tolist() == [2, 2]
    assert curves.best_step([NAN, 5.0, NAN, 4.0]).item() == 3


def test_best_step_max_mode_and_first_of_ties():
    accuracy = [0.1, 0.8, 0.9, 0.9, 0.7]
    assert curves.best_step(accuracy, mode="max").item() == 2
    assert curves.best_step([1.0, 0.5, 0.5]).item() == 1


def test_all_nan_curve_selects_nothing_and_reads_nan():
    index = curves.best_step([[NAN, NAN], [2.0, 1.0]])
    assert index.tolist() == [curves.NO_INDEX, 1]
    values = curves.value_at([[NAN, NAN], [2.0, 1.0]], index)
    assert np.isnan(values[0]) and values[1] == 1.0


def test_value_at_best_reads_the_target_at_the_selected_step():
    test_loss = [[3.1, 2.1, 1.2, 1.4, 2.6, 4.5], [2.2, 1.1, 0.6, 0.9, 9.0, 9.0]]
    picked = curves.value_at_best([U_CURVE, DIVERGED], test_loss)
    np.testing.assert_allclose(picked, [1.2, 0.6])


def test_value_at_best_keeps_leading_axes():
    runs = np.arange(24, dtype=float).reshape(2, 3, 4)[..., ::-1]  # decreasing: best last
    assert curves.best_step(runs).shape == (2, 3)
    np.testing.assert_array_equal(curves.value_at_best(runs, runs * 10), runs[..., -1] * 10)


def test_first_stall_stops_after_patience_evaluations_without_improvement():
    # Best at 2; 3 and 4 do not improve, so patience 2 stops at 4, patience 3 at 5.
    assert curves.first_stall(U_CURVE, patience=2).item() == 4
    assert curves.first_stall(U_CURVE, patience=3).item() == 5
    # Patience 4 never fires within 6 evaluations: the run goes to its last index.
    assert curves.first_stall(U_CURVE, patience=4).item() == 5


def test_first_stall_min_delta_ignores_tiny_improvements_and_nans_never_improve():
    slow = [1.0, 0.99, 0.98, 0.97, 0.96]
    assert curves.first_stall(slow, patience=2).item() == 4  # every step improves
    assert curves.first_stall(slow, patience=2, min_delta=0.05).item() == 2
    assert curves.first_stall([1.0, NAN, NAN, 0.5], patience=2).item() == 2


def test_first_stall_max_mode_and_vectorized():
    accuracy = [[0.1, 0.5, 0.4, 0.3, 0.2], [0.1, 0.2, 0.3, 0.4, 0.5]]
    assert curves.first_stall(accuracy, patience=2, mode="max").tolist() == [3, 4]


def test_best_step_until_is_the_model_a_stop_keeps():
    runs = [[3.0, 1.0, 2.0, 0.5], [3.0, 2.0, 1.0, 0.5]]
    assert curves.best_step_until(runs, [2, 0]).tolist() == [1, 0]


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="mode"):
        curves.best_step([1.0], mode="median")
    with pytest.raises(ValueError, match="patience"):
        curves.first_stall([1.0, 2.0], patience=0)


def test_first_step_reaching_reads_the_first_recorded_step_without_interpolating():
    steps = [0, 10, 20, 30]
    accuracy = [[0.1, 0.5, 0.995, 1.0], [0.1, 0.2, NAN, 0.3]]
    reached = curves.first_step_reaching(steps, accuracy, 0.99)
    assert reached[0] == 20 and np.isnan(reached[1])
    # A loss reaches its target from above; leading axes are kept.
    loss = np.array([[[2.0, 1.0, 0.5, 0.4]], [[2.0, 2.0, 2.0, 0.05]]])
    assert curves.first_step_reaching(steps, loss, 0.5, mode="min").tolist() == [[20.0], [30.0]]


SLICE_ALPHAS = np.linspace(-1.0, 1.0, 51)
BOWL = 0.1 + 3 * SLICE_ALPHAS**2
# A bowl with two extra dips of depth 0.3 at α = ±0.6 (range ~3: well above 1e-3 of it).
ROUGH = BOWL - 0.3 * np.exp(-((np.abs(SLICE_ALPHAS) - 0.6) / 0.05) ** 2)


def test_count_local_minima_a_bowl_has_one_and_two_dips_beside_it_make_three():
    assert curves.count_local_minima(BOWL, 1e-3) == 1
    assert curves.count_local_minima(ROUGH, 1e-3) == 3
    # Leading axes are kept: one count per curve.
    assert curves.count_local_minima(np.stack([[BOWL, ROUGH]] * 2), 1e-3).tolist() == [[1, 3]] * 2


def test_count_local_minima_ignores_float_noise_below_the_tolerance():
    noise = np.random.default_rng(0).normal(0, 1e-6, SLICE_ALPHAS.size)
    assert curves.count_local_minima(BOWL + noise, 1e-3) == 1


def test_count_local_minima_flat_valleys_monotone_and_constant_curves():
    assert curves.count_local_minima(np.array([3.0, 2.0, 1.0, 1.0, 1.0, 2.0, 3.0]), 1e-3) == 1
    assert curves.count_local_minima(SLICE_ALPHAS, 1e-3) == 0  # an end point is not interior
    assert curves.count_local_minima(np.ones(9), 1e-3) == 0


def test_count_local_minima_of_a_non_finite_curve_is_nan():
    assert np.isnan(curves.count_local_minima(np.array([1.0, NAN, 2.0]), 1e-3))


def test_log10_slope_recovers_a_geometric_growth_rate_per_row():
    distance = np.arange(10)
    slopes = curves.log10_slope(distance, np.stack([1.2**distance, 3 * 0.5**distance]))
    np.testing.assert_allclose(slopes, [np.log10(1.2), np.log10(0.5)], rtol=1e-9)
    # The same slope as a degree-1 polynomial fit of log10 y (what it replaced).
    noisy = 10 ** (0.07 * distance + np.random.default_rng(0).normal(0, 0.1, 10))
    assert curves.log10_slope(distance, noisy) == pytest.approx(
        np.polyfit(distance, np.log10(noisy), 1)[0], rel=1e-12)


def test_loglog_slope_of_a_power_law():
    assert curves.loglog_slope([10, 100, 1000], [3e2, 3e4, 3e6]) == pytest.approx(2.0)


def test_span_below_interpolates_the_crossings_between_samples():
    x = [0.0, 1.0, 2.0, 3.0]
    # Below 1.0 from x = 1 to 2, and a quarter of the way into each neighbouring segment.
    assert curves.span_below(x, [4.0, 0.0, 0.0, 4.0], 1.0) == pytest.approx(1.5)
    # Every point below: the whole grid, never beyond it.
    assert curves.span_below(x, [0.0, 0.0, 0.0, 0.0], 1.0) == pytest.approx(3.0)
    # Nothing below (a NaN threshold: a run with no finite value) spans nothing.
    assert curves.span_below(x, [2.0, 3.0, 2.0, 3.0], 1.0) == 0.0
    assert curves.span_below(x, [2.0, 0.0, 2.0, 3.0], NAN) == 0.0


def test_span_below_stops_at_a_diverged_neighbour_and_adds_separate_stretches():
    x = [0.0, 1.0, 2.0, 3.0]
    # A NaN neighbour: no crossing can be placed, the span stops at the finite point.
    assert curves.span_below(x, [NAN, 0.0, 0.0, 2.0], 1.0) == pytest.approx(1.5)
    # Two stretches, each a lone point: half of each adjacent segment.
    assert curves.span_below(x, [0.0, 2.0, 0.0, 2.0], 1.0) == pytest.approx(0.5 + 0.5 + 0.5)


def test_span_below_keeps_leading_axes_and_broadcasts_the_threshold():
    values = np.array([[[4.0, 0.0, 4.0]], [[4.0, 0.0, 4.0]]])  # (2, 1, 3)
    spans = curves.span_below([0.0, 0.5, 1.0], values, np.array([[1.0], [2.0]]))
    np.testing.assert_allclose(spans, [[0.25], [0.5]])


def test_last_quarter_drop_reads_the_last_evaluation_by_three_quarters_of_the_steps():
    # Evaluations at 0, 700, 800 and 1000 steps: 3/4 is 750, so the drop is from 700's 0.6.
    assert curves.last_quarter_drop([0, 700, 800, 1000], [2.9, 0.6, 0.5, 0.4]) == pytest.approx(0.2)
    assert curves.last_quarter_drop([0, 700, 800, 1000], [2.9, 0.6, 0.5, 0.4],
                                    relative=True) == pytest.approx(0.5)
    per_seed = np.array([[3.0, 2.0, 1.0, 0.6, 0.5], [3.0, 2.0, 1.0, 0.4, 0.3]])  # (seed, eval)
    assert curves.last_quarter_drop([0, 100, 200, 300, 400], per_seed) == pytest.approx([0.1, 0.1])
