"""output_activations' claim rules on fabricated results, and its small pure pieces."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import output_activations as experiment
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, REPRODUCED

SEEDS = 6
RATES = (0.01, 0.03, 0.1, 0.3)
CONFIG = experiment.Config(seeds=SEEDS, lrs=RATES)
SOFTMAX_OK = {"value_error": 6e-14, "sum_error": 4e-16, "shift_change": 4e-14, "not_finite": 0, "outside_unit": 0,
              "zero_where_representable": 0, "one_where_below_one": 0,
              "underflowed_to_zero": 0.07, "naive_not_finite": 0.08}


def _fabricated(linear_mse=1e-5, sigmoid_excess=0.006, floor=1.75, softmax=None,
                best_rate=2) -> Results:
    """Final test MSEs per head at the rate of index `best_rate` (the lowest training MSE; the
    other rates train to 10 and test at 5); the sigmoid head's MSE is floor + `sigmoid_excess`.
    `softmax` overrides some of the per-seed softmax measurements."""
    jitter = np.linspace(-1, 1, SEEDS)
    floors = floor + 0.01 * jitter
    shape = (len(experiment.HEADS), len(RATES), SEEDS, 2)
    test, training = np.full(shape, 5.0), np.full(shape, 10.0)
    test[0, best_rate, :, -1] = linear_mse * (1 + 0.1 * jitter)
    test[1, best_rate, :, -1] = floors + sigmoid_excess * (1 + 0.1 * jitter)
    training[:, best_rate] = 0.1
    results = Results()
    axes = ("head", "lr", "seed", "step")
    results.add("train_mse", training, axes, head=list(experiment.HEADS), lr=list(RATES),
                seed=list(range(SEEDS)), step=[0, 100])
    results.add("test_mse", test, axes)
    results.add("diverged_at", np.full(shape[:-1], -1), axes[:-1])
    results.add("floor", floors, ("seed",))
    for name, value in {**SOFTMAX_OK, **(softmax or {})}.items():
        results.add(f"softmax_{name}", np.full(SEEDS, value, np.float64), ("seed",))
    return results


def _verdicts(results) -> dict:
    return experiment.claims.verdicts(results, CONFIG)


def test_a_linear_head_below_the_floor_and_a_sigmoid_head_on_it_reproduce():
    assert _verdicts(_fabricated()) == {"softmax_is_distribution": REPRODUCED,
                                        "regression_needs_linear_output": REPRODUCED}
    decided = {v.claim.id.split(".")[1]: v for v in experiment.claims.decide(_fabricated(), CONFIG)}
    verdict = decided["regression_needs_linear_output"]
    assert verdict.interval.mean == pytest.approx(1e-5 - 1.75, abs=1e-6)
    assert verdict.details["chosen_rate"] == {"linear head": 0.1, "sigmoid head": 0.1}
    assert verdict.details["sigmoid_minus_floor"].mean == pytest.approx(0.006, rel=1e-6)
    assert verdict.details["sigmoid_minus_linear"].mean == pytest.approx(1.756 - 1e-5, rel=1e-6)


def test_a_linear_head_that_does_not_beat_the_floor_is_not_reproduced():
    results = _fabricated(linear_mse=1.9)
    assert _verdicts(results)["regression_needs_linear_output"] == NOT_REPRODUCED


def test_the_sigmoid_head_is_reported_not_asserted():
    # The floor binds every sigmoid head, so its half of the comparison could not fail: the
    # verdict rests on the linear head alone, and the sigmoid head's gaps are details.
    results = _fabricated(sigmoid_excess=-0.5)
    assert _verdicts(results)["regression_needs_linear_output"] == REPRODUCED
    decided = {v.claim.id.split(".")[1]: v for v in experiment.claims.decide(results, CONFIG)}
    assert decided["regression_needs_linear_output"].details["sigmoid_minus_floor"].mean == (
        pytest.approx(-0.5, rel=1e-6))


def test_the_rate_with_the_lowest_training_mse_is_chosen_and_a_diverged_rate_never():
    results = _fabricated(best_rate=3)
    assert experiment.chosen_rate(results, "identity") == 3
    np.testing.assert_allclose(experiment.test_mse(results, "identity"), 1e-5, rtol=0.11)
    results.arrays["diverged_at"][0, 3, 1] = 7
    assert experiment.chosen_rate(results, "identity") != 3


@pytest.mark.parametrize("broken", [{"value_error": 2e-6}, {"value_error": np.nan},
                                    {"sum_error": 2e-6}, {"shift_change": 5e-6},
                                    {"not_finite": 1}, {"outside_unit": 1},
                                    {"zero_where_representable": 1}, {"one_where_below_one": 1}])
def test_any_broken_softmax_property_fails_the_check(broken):
    assert _verdicts(_fabricated(softmax=broken))["softmax_is_distribution"] == NOT_REPRODUCED


def test_softmax_properties_on_known_logits():
    with jax.enable_x64(True):
        z = jnp.array([[0.0, 0.0], [1000.0, 0.0], [0.0, 1e-3], [800.0, 0.0]], jnp.float64)
        shift = jnp.array([[5.0], [-1000.0], [123.456], [0.5]], jnp.float64)
        reference = jnp.asarray(experiment.reference_softmax(np.asarray(z)))
        found = {k: float(v) for k, v in experiment.softmax_properties(z, shift, reference).items()}
    assert found["sum_error"] < 1e-15 and found["shift_change"] < 1e-12
    assert found["value_error"] < 1e-15
    # exp(−1000) and exp(−800) underflow: two zeros of eight outputs, both beyond the 700 gap;
    # their partners are exactly 1, allowed because no other entry is within 30 of them.
    assert found["underflowed_to_zero"] == 2 / 8
    assert found["zero_where_representable"] == 0 and found["one_where_below_one"] == 0
    assert found["naive_not_finite"] == 2 / 4  # exp(1000), exp(800) overflow the naive ratio


def test_reference_softmax_on_known_logits():
    z = np.array([[0.0, np.log(3.0)], [1000.0, 0.0]])
    np.testing.assert_allclose(experiment.reference_softmax(z)[0], [0.25, 0.75], rtol=1e-15)
    assert experiment.reference_softmax(z)[1, 1] == 0.0  # exp(−1000) is below float64's range


def _properties(z, softmax=jax.nn.softmax) -> dict:
    with jax.enable_x64(True):
        z = jnp.asarray(z, jnp.float64)
        found = experiment.softmax_properties(
            z, jnp.full((z.shape[0], 1), 7.0, jnp.float64),
            jnp.asarray(experiment.reference_softmax(np.asarray(z))), softmax=softmax)
        return {k: float(v) for k, v in found.items()}


def test_a_fake_uniform_softmax_fails_only_the_value_identity():
    z = np.array([[0.0, 1.0, 2.0], [5.0, -3.0, 0.5]])
    assert _properties(z)["value_error"] < 1e-15

    def uniform(logits):
        return jnp.full_like(logits, 1.0 / logits.shape[-1])

    fake = _properties(z, softmax=uniform)
    # Sums to 1, in (0, 1), ignores added constants: only the values give it away.
    assert fake["sum_error"] < 1e-15 and fake["shift_change"] == 0.0
    assert fake["outside_unit"] == 0 and fake["zero_where_representable"] == 0
    # Largest relative error: the entry exp(−8)/Σ ≈ 3e-4 of row 2 shown as 1/3.
    reference = experiment.reference_softmax(z)
    assert fake["value_error"] == pytest.approx(np.max(np.abs(1 / 3 - reference) / reference))
    assert fake["value_error"] > 1e3
    results = _fabricated(softmax={"value_error": fake["value_error"]})
    assert _verdicts(results)["softmax_is_distribution"] == NOT_REPRODUCED


def test_floor_is_the_mse_of_the_clipped_targets():
    y = jnp.array([[-2.0], [0.5], [3.0], [1.0]])
    # (−2 − 0)² + 0 + (3 − 1)² + 0 over 4 examples
    assert float(experiment.clipped_floor(y)) == pytest.approx((4 + 4) / 4)


def test_target_spans_the_configured_range_and_leaves_zero_one():
    x = jnp.linspace(-1, 1, 2001)
    y = experiment.target(CONFIG, x)
    assert float(y.min()) == pytest.approx(-2.0, abs=1e-4)
    assert float(y.max()) == pytest.approx(3.0, abs=1e-4)


def test_the_head_choice_is_state_so_both_heads_share_one_graph():
    keys = jax.random.split(jax.random.key(0), 2)
    linear = experiment._heads(CONFIG, "identity", keys)
    sigmoid = experiment._heads(CONFIG, "sigmoid", keys)
    assert linear[0] == sigmoid[0]  # one graphdef: one compiled training program
    from flax import nnx
    x = jnp.linspace(-1, 1, 5)[:, None]
    one = jax.tree.map(lambda a: a[0], sigmoid[1])
    squashed, _ = nnx.merge(sigmoid[0], one)(x)
    raw, _ = nnx.merge(linear[0], jax.tree.map(lambda a: a[0], linear[1]))(x)
    np.testing.assert_allclose(squashed, jax.nn.sigmoid(raw), rtol=1e-6)


def test_setting_the_learning_rate_is_refused_the_grid_sets_it():
    with pytest.raises(ConfigError, match="train.lr"):
        resolve_config(experiment, "quick", overrides={"train.lr": "0.5"})


@pytest.mark.parametrize("overrides, message", [
    ({"target_low": "0.2"}, "leave"), ({"train.batch_size": "16"}, "full-batch"),
    ({"classes": "1"}, "classes")])
def test_impossible_settings_are_refused(overrides, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config(experiment, "quick", overrides=overrides)
