"""conv_mechanics' claim rules on fabricated results, and its reference pieces on known numbers."""

import jax.numpy as jnp
import numpy as np
import pytest

from experiments import conv_mechanics as experiment
from phenomena.config import ConfigError
from phenomena.models.conv import conv
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, NUANCED, REPRODUCED

SEEDS = 6
RATES = (0.003, 0.01, 0.03, 0.1)  # four rates: the rules must not assume the default grid
CONFIG = experiment.Config(seeds=SEEDS, lrs=RATES)
STEPS = [0, 100, 200, 300, 400]


def _accuracies(border_gain: float, centre_gain: float, best_rate: int, jitter: float) -> np.ndarray:
    """Test (or validation) accuracy curves (padding, lr, region, seed, step): VALID ends at
    0.70 everywhere, SAME at 0.70 + the region's gain; the rate `best_rate` is 5 points above
    the others; seeds spread by `jitter` around those means."""
    spread = jitter * np.linspace(-1, 1, SEEDS)
    values = np.full((2, len(RATES), 2, SEEDS, len(STEPS)), 0.3)
    for p, padding in enumerate(experiment.PADDINGS):
        for r, gain in enumerate((border_gain, centre_gain)):
            final = 0.65 + (gain if padding == "SAME" else 0.0)
            values[p, :, r, :, -1] = final + spread
            values[p, best_rate, r, :, -1] = final + 0.05 + spread
    return values


def _formula_case_sizes() -> np.ndarray:
    """The formula's output size of every value-check case, (case, 2), 0 for a missing dim."""
    sizes = np.zeros((len(experiment.CASES), 2), int)
    for i, case in enumerate(experiment.CASES):
        for dim in range(len(case.spatial)):
            sizes[i, dim] = experiment.case_formula(case, dim)
    return sizes


def _fabricated(border_gain=0.12, centre_gain=0.0, best_rate=1, jitter=0.01, errors=1e-7,
                grid_lengths=None, case_sizes=None, grid_reference=None,
                case_reference=None) -> Results:
    """Results as `run` returns them: conv errors (case, seed), output lengths (the library's
    and XLA's; default: the formula's), and the padding task's curves with SAME's advantage
    `border_gain` / `centre_gain` per region."""
    results = Results()
    results.add("conv_error", np.full((len(experiment.CASES), SEEDS), errors), ("case", "seed"),
                case=[c.label for c in experiment.CASES], seed=list(range(SEEDS)))
    results.add("xla_same_error", np.full((len(experiment.SAME_CASES), SEEDS), 3e-8),
                ("same_case", "seed"),
                same_case=[experiment.CASES[i].label for i in experiment.SAME_CASES])
    results.add("case_output_size", _formula_case_sizes() if case_sizes is None else case_sizes,
                ("case", "dim"), dim=[0, 1])
    results.add("case_reference_size",
                _formula_case_sizes() if case_reference is None else case_reference,
                ("case", "dim"))
    grid = experiment.size_grid(CONFIG)
    formula = [experiment.formula_length(*shape) for shape in grid]
    results.add("grid_output_length", np.asarray(formula if grid_lengths is None else grid_lengths),
                ("shape",), shape=[f"n{n} k{k} s{s} p{p}" for n, k, s, p in grid])
    results.add("grid_reference_length",
                np.asarray(formula if grid_reference is None else grid_reference), ("shape",))
    axes = ("padding", "lr", "region", "seed", "step")
    accuracy = _accuracies(border_gain, centre_gain, best_rate, jitter)
    results.add("val_accuracy", accuracy, axes, padding=list(experiment.PADDINGS), lr=list(RATES),
                region=list(experiment.REGIONS), step=STEPS)
    results.add("test_accuracy", accuracy - 0.01, axes)
    results.add("train_loss", np.full((2, len(RATES), 2, SEEDS, len(STEPS) - 1), 0.3),
                (*axes[:-1], "chunk_step"), chunk_step=STEPS[1:])
    results.add("diverged_at", np.full((2, len(RATES), 2, SEEDS), -1), axes[:-1])
    results.add("paths", np.ones((2, CONFIG.length)), ("padding", "sample"),
                sample=list(range(CONFIG.length)))
    results.add("windows", np.ones((2, CONFIG.length)), ("padding", "sample"))
    return results


def _verdicts(results) -> dict:
    return experiment.claims.verdicts(results, CONFIG)


def _decided(results) -> dict:
    return {v.claim.id.split(".")[1]: v for v in experiment.claims.decide(results, CONFIG)}


def test_exact_convs_right_sizes_and_an_edge_specific_same_advantage_reproduce():
    assert _verdicts(_fabricated()) == {"conv_is_sliding_dot_product": REPRODUCED,
                                        "output_size_formula": REPRODUCED,
                                        "padding_keeps_edges": REPRODUCED}
    decided = _decided(_fabricated())
    padding = decided["padding_keeps_edges"]
    assert padding.interval.mean == pytest.approx(0.12)
    assert padding.details["same_advantage_border"].mean == pytest.approx(0.12)
    assert padding.details["chosen_rate_counts"]["VALID border"] == {
        "0.003": 0, "0.01": SEEDS, "0.03": 0, "0.1": 0}
    assert decided["conv_is_sliding_dot_product"].interval.mean == pytest.approx(1e-7)
    assert decided["conv_is_sliding_dot_product"].details["largest_error_vs_xla_same_conv"][
        "1-D n16 k4 s2 d1 SAME"] == pytest.approx(3e-8)
    sizes = decided["output_size_formula"]
    assert sizes.interval.n == len(experiment.size_grid(CONFIG)) + sum(
        len(c.spatial) for c in experiment.CASES)


def test_a_same_advantage_as_large_at_the_centre_is_nuanced():
    results = _fabricated(border_gain=0.12, centre_gain=0.12)
    assert _verdicts(results)["padding_keeps_edges"] == NUANCED


@pytest.mark.parametrize("border_gain, centre_gain", [(0.0, 0.0), (-0.05, -0.1), (0.003, 0.0)])
def test_no_clear_same_advantage_at_the_border_is_not_reproduced(border_gain, centre_gain):
    # (0.003, 0): a difference of differences above 0 is not enough when A(border)'s own
    # interval reaches 0 (the seeds' jitter makes it [-0.00..., 0.01]).
    results = _fabricated(border_gain=border_gain, centre_gain=centre_gain, jitter=0.01)
    spread = np.linspace(-1, 1, SEEDS) * 0.01
    results.arrays["test_accuracy"][0, :, 0, :, -1] += spread  # SAME border: paired noise
    assert _verdicts(results)["padding_keeps_edges"] == NOT_REPRODUCED


def test_each_cell_is_judged_at_the_rate_best_on_the_other_seeds():
    results = _fabricated(best_rate=2)
    np.testing.assert_array_equal(experiment.chosen_rates(results, "VALID", "border"), 2)
    # A diverged run disqualifies its rate for every other seed.
    results.arrays["diverged_at"][1, 2, 0, 3] = 50
    chosen = experiment.chosen_rates(results, "VALID", "border")
    assert chosen[3] == 2 and all(chosen[s] != 2 for s in range(SEEDS) if s != 3)


@pytest.mark.parametrize("errors", [2e-5, np.inf, np.nan])
def test_a_conv_off_the_reference_fails_the_check(errors):
    assert _verdicts(_fabricated(errors=errors))["conv_is_sliding_dot_product"] == NOT_REPRODUCED


def test_one_wrong_length_fails_the_size_check():
    grid = experiment.size_grid(CONFIG)
    lengths = [experiment.formula_length(*shape) for shape in grid]
    lengths[5] += 1
    assert _verdicts(_fabricated(grid_lengths=lengths))["output_size_formula"] == NOT_REPRODUCED
    sizes = _fabricated().arrays["case_output_size"].copy()
    sizes[-1, 1] -= 1
    decided = _decided(_fabricated(case_sizes=sizes))["output_size_formula"]
    assert decided.verdict == NOT_REPRODUCED
    assert decided.details["mismatches"] == [
        f"{experiment.CASES[-1].label} axis 1: 5 (formula 6, XLA 6)"]


def test_a_length_equal_to_the_formula_but_not_to_xla_fails_the_size_check():
    # The library and the formula agree (both could share one mistake); XLA's shape does not.
    grid = experiment.size_grid(CONFIG)
    reference = [experiment.formula_length(*shape) for shape in grid]
    reference[7] -= 1
    decided = _decided(_fabricated(grid_reference=reference))["output_size_formula"]
    assert decided.verdict == NOT_REPRODUCED
    assert decided.interval.mean == pytest.approx(1 - 1 / decided.interval.n)
    n, k, s, p = grid[7]
    formula = experiment.formula_length(n, k, s, p)
    assert decided.details["mismatches"] == [f"n{n} k{k} s{s} p{p}: {formula} (formula {formula}, "
                                             f"XLA {formula - 1})"]
    case_reference = _formula_case_sizes()
    case_reference[3, 0] += 1
    assert _verdicts(_fabricated(case_reference=case_reference))["output_size_formula"] == (
        NOT_REPRODUCED)


# ------------------------------------------------------------------- the reference pieces

def _case(n, k, s=1, padding="VALID", d=1) -> experiment.ConvCase:
    return experiment.ConvCase((n,), (k,), (s,), padding, (d,))


def _one_channel(x, kernel, case) -> np.ndarray:
    """reference_conv of one 1-D signal and one 1-channel kernel (no seed axes), bias 0."""
    x = np.asarray(x, np.float64)[None, :, None]
    kernel = np.asarray(kernel, np.float64)[:, None, None]
    return experiment.reference_conv(x, kernel, np.zeros(1), case)[0, :, 0]


def test_reference_conv_on_a_hand_computed_signal():
    x, kernel = [1.0, 2.0, 3.0, 4.0], [1.0, 0.0, -1.0]
    np.testing.assert_array_equal(_one_channel(x, kernel, _case(4, 3)), [-2.0, -2.0])
    # SAME pads one zero each side: the last window is (3, 4, 0).
    np.testing.assert_array_equal(_one_channel(x, kernel, _case(4, 3, padding="SAME")),
                                  [-2.0, -2.0, -2.0, 3.0])
    # CIRCULAR wraps: first window (4, 1, 2), last (3, 4, 1).
    np.testing.assert_array_equal(_one_channel(x, kernel, _case(4, 3, padding="CIRCULAR")),
                                  [2.0, -2.0, -2.0, 2.0])
    # Dilation 2, pad 1 (padded: 0 1 2 3 4 0): windows (0, 2, 4) -> 0 - 4 and (1, 3, 0) -> 1;
    # stride 2 would start the second window at index 2, whose span of 5 does not fit.
    np.testing.assert_array_equal(_one_channel(x, kernel, _case(4, 3, padding=1, d=2)), [-4.0, 1.0])
    np.testing.assert_array_equal(_one_channel(x, kernel, _case(4, 3, s=2, padding=1, d=2)), [-4.0])


def test_reference_conv_2d_with_channels_and_bias():
    # Two channels, a 2x2 window, one output: each output is the window's sum over channel 0
    # minus channel 1, plus the bias 0.5.
    x = np.arange(18, dtype=np.float64).reshape(1, 3, 3, 2)
    kernel = np.zeros((2, 2, 2, 1))
    kernel[..., 0, 0], kernel[..., 1, 0] = 1.0, -1.0
    case = experiment.ConvCase((3, 3), (2, 2), (1, 1), "VALID", (1, 1))
    y = experiment.reference_conv(x, kernel, np.array([0.5]), case)
    np.testing.assert_array_equal(y[0, ..., 0], np.full((2, 2), 4 * (-1.0) + 0.5))


def test_reference_pads_follow_the_same_convention():
    assert experiment.reference_pads((16,), (4,), (2,), "SAME", (1,)) == [(1, 1)]
    assert experiment.reference_pads((10,), (3,), (2,), "SAME", (1,)) == [(0, 1)]
    assert experiment.reference_pads((20,), (3,), (1,), "SAME", (2,)) == [(2, 2)]
    assert experiment.reference_pads((9, 9), (3, 3), (1, 1), 2, (1, 1)) == [(2, 2), (2, 2)]


def test_the_reference_tells_correlation_from_convolution():
    # The library computes a cross-correlation; with the kernel flipped (a true convolution)
    # the check's error is of order 1, far above the tolerance.
    rng = np.random.default_rng(0)
    x, kernel = rng.normal(size=(1, 2, 11, 3)), rng.normal(size=(1, 5, 3, 2))
    bias = rng.normal(size=(1, 2))
    case = _case(11, 5, padding="SAME")
    reference = experiment.reference_conv(x, kernel, bias, case)
    kw = dict(stride=case.stride, padding=case.padding, dilation=case.dilation)
    same = np.asarray(conv(jnp.asarray(x[0], jnp.float32), jnp.asarray(kernel[0], jnp.float32),
                           jnp.asarray(bias[0], jnp.float32), **kw))[None]
    flipped = np.asarray(conv(jnp.asarray(x[0], jnp.float32), jnp.asarray(kernel[0, ::-1], jnp.float32),
                              jnp.asarray(bias[0], jnp.float32), **kw))[None]
    assert experiment.relative_error(same, reference)[0] < 1e-6
    assert experiment.relative_error(flipped, reference)[0] > 0.1
    assert experiment.relative_error(same[:, :, :-1], reference)[0] == np.inf  # wrong shape


def test_the_value_check_passes_on_the_library_conv():
    normals = np.random.default_rng(1).normal(
        size=(2, experiment.check_total(CONFIG))).astype(np.float32)
    draws = experiment.check_draws(normals, CONFIG)
    assert draws[0]["x"].shape == (2, CONFIG.check_batch, 17, CONFIG.check_in_channels)
    assert draws[-1]["kernel"].shape == (2, 3, 3, CONFIG.check_in_channels, CONFIG.check_out_channels)
    errors, sizes, xla_errors = experiment._value_check(draws)
    assert errors.shape == (len(experiment.CASES), 2) and errors.max() < 1e-6
    assert xla_errors.shape == (5, 2) and xla_errors.max() < 1e-6  # the five SAME cases
    assert sizes[:3].tolist() == [[15, 0], [17, 0], [8, 0]]
    assert sizes[9].tolist() == [5, 7]  # 10x7, SAME, strides (2, 1)


@pytest.mark.parametrize("case, shape", [
    (experiment.ConvCase((13,), (5,), (2,), "SAME", (2,)), (7,)),
    (experiment.ConvCase((7,), (3,), (2,), 1, (1,)), (4,)),
    (experiment.ConvCase((12,), (5,), (1,), "CIRCULAR", (1,)), (12,)),
    (experiment.ConvCase((8, 8), (4, 4), (2, 1), ((1, 2), (0, 1)), (1, 1)), (4, 6)),
    (experiment.ConvCase((9, 11), (3, 3), (1, 2), 1, (2, 1)), (7, 6))])
def test_lax_output_shape_is_xlas_shape_rule(case, shape):
    assert experiment.lax_output_shape(case) == shape


def test_the_library_equals_xlas_same_convolution():
    # An even kernel with stride 2: SAME's odd zero must go on the high side, as in XLA.
    rng = np.random.default_rng(2)
    x, kernel = rng.normal(size=(2, 10, 7, 3)), rng.normal(size=(3, 2, 3, 4))
    case = experiment.ConvCase((10, 7), (3, 2), (2, 1), "SAME", (1, 1))
    x, kernel = jnp.asarray(x, jnp.float32), jnp.asarray(kernel, jnp.float32)
    ours = np.asarray(conv(x, kernel, stride=case.stride, padding="SAME"))
    xla = np.asarray(experiment._lax_conv(x, kernel, case))
    assert ours.shape == xla.shape == (2, 5, 7, 4)
    np.testing.assert_allclose(ours, xla, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("args, length", [((7, 3, 2, 1), 4), ((8, 5, 3, "VALID"), 2),
                                          ((7, 3, 2, "SAME"), 4), ((13, 5, 1, 2), 13),
                                          ((20, 3, 2, (1, 4), 3), 10)])
def test_formula_length_on_known_shapes(args, length):
    assert experiment.formula_length(*args) == length


def test_the_grid_is_every_combination_with_both_conventions():
    grid = experiment.size_grid(CONFIG)
    assert len(grid) == 3 * 4 * 3 * (3 + 2)
    assert (8, 5, 2, "SAME") in grid and (13, 1, 3, 2) in grid


# ------------------------------------------------------------------------ the padding task

def test_templates_are_orthogonal_zero_mean_patterns():
    shapes = experiment.templates(CONFIG)
    assert shapes.shape == (3, 4)
    np.testing.assert_array_equal(shapes.sum(axis=1), 0)
    np.testing.assert_array_equal(shapes @ shapes.T, 4 * np.eye(3))


def test_motif_starts_touch_the_ends_at_the_border_and_sit_mid_signal_at_the_centre():
    slots = jnp.arange(4)  # slots = 2: four starts per region
    assert list(np.asarray(experiment.motif_starts(slots, "border", CONFIG))) == [0, 1, 16, 15]
    assert list(np.asarray(experiment.motif_starts(slots, "centre", CONFIG))) == [6, 7, 8, 9]
    assert experiment.region_spans("border", CONFIG) == [(0, 5), (15, 20)]
    assert experiment.region_spans("centre", CONFIG) == [(6, 13)]
    assert experiment.centre_margin(CONFIG) == 6  # = the receptive field 7 - 1


def test_place_adds_the_class_motif_at_its_slot():
    draw = {"noise": jnp.zeros((2, 20)), "y": jnp.array([0, 2]), "slot": jnp.array([2, 3])}
    border = np.asarray(experiment.place(draw, "border", CONFIG)["x"])
    shapes = experiment.templates(CONFIG) * CONFIG.amplitude
    np.testing.assert_array_equal(border[0, 16:], shapes[0])  # slot 2: ends at the right end
    np.testing.assert_array_equal(border[1, 15:19], shapes[2])  # slot 3: one sample earlier
    assert np.count_nonzero(border) == 8
    centre = np.asarray(experiment.place(draw, "centre", CONFIG)["x"])
    np.testing.assert_array_equal(centre[0, 8:12], shapes[0])


def test_path_counts_show_how_rarely_a_valid_net_sees_its_edge_samples():
    same = dict(zip(("paths", "windows"), experiment.path_counts(CONFIG.model, CONFIG.length)))
    valid_model = experiment.dataclasses.replace(CONFIG.model, padding="VALID")
    valid = dict(zip(("paths", "windows"), experiment.path_counts(valid_model, CONFIG.length)))
    # Three 3-tap layers: an interior sample reaches the last map along 3^3 paths. Under VALID
    # sample 0 reaches one position along one path; under SAME it reaches four positions along
    # 13 paths (2 first-layer units, then 5, then 13 paths that stay inside the signal).
    assert valid["paths"][10] == same["paths"][10] == 27
    assert valid["paths"][0] == 1 and valid["windows"][0] == 1
    assert valid["windows"][10] == 7  # the receptive field (7) of every one of the 14 positions
    assert same["paths"][0] == 13 and same["windows"][0] == 4


def test_the_task_draws_pair_border_and_centre():
    keys = experiment.rng.seed_keys(0, 2)
    config = experiment.Config(seeds=2, train_size=8, val_size=4, test_size=4, lrs=(0.01,))
    _, per_run = experiment.random_draws(config, keys)
    # Runs (lr, region, seed): run 0 is seed 0 at the border, run 2 seed 0 at the centre.
    border, centre = (np.asarray(per_run["train"]["x"][i]) for i in (0, 2))
    np.testing.assert_array_equal(per_run["train"]["y"][0], per_run["train"]["y"][2])
    difference = border - centre  # the noise cancels: only the two motifs remain
    assert np.count_nonzero(np.round(difference, 5)) <= 8 * 8
    assert not np.array_equal(per_run["train"]["x"][0], per_run["train"]["x"][1])  # seeds differ


# ------------------------------------------------------------------------ config refusals

@pytest.mark.parametrize("key", sorted(experiment.Config.IGNORED_KEYS))
def test_keys_the_run_ignores_are_refused(key):
    value = "0.5" if key == "train.lr" else "VALID"
    with pytest.raises(ConfigError, match=key):
        resolve_config(experiment, "quick", overrides={key: value})


@pytest.mark.parametrize("overrides, message", [
    ({"motif_length": "6"}, "power of 2"), ({"classes": "4"}, "classes"),
    ({"length": "16"}, "receptive field"), ({"model.channels": "8,8,8,8", "model.kernels": "3,3,3,3",
                                             "model.strides": "1,1,1,1"}, "receptive field"),
    ({"size_lengths": "3"}, "size_length"), ({"seeds": "1"}, "seeds"),
    ({"model.pools": "1,2,1"}, "pooling")])
def test_impossible_settings_are_refused(overrides, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config(experiment, "quick", overrides=overrides)
