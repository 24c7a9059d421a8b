"""Losses of `phenomena.losses` on known inputs."""

import jax.numpy as jnp
import numpy as np
import pytest

from phenomena import losses


class _Constant:
    """A stand-in model that predicts the given outputs whatever the input."""

    def __init__(self, outputs):
        self.outputs = jnp.asarray(outputs, jnp.float32)

    def __call__(self, x, *, train=False, key=None):
        return self.outputs, {}


def _batch(targets):
    targets = jnp.asarray(targets, jnp.float32)
    return {"x": jnp.zeros((targets.shape[0], 1)), "y": targets}


# Residuals prediction − y of -3, -0.5, 0, 0.5 and 2 (one output each).
PREDICTIONS = [[-3.0], [0.5], [1.0], [1.5], [4.0]]
TARGETS = [[0.0], [1.0], [1.0], [1.0], [2.0]]


def test_l2_error_is_half_the_mean_squared_error():
    loss, aux = losses.l2_error(_Constant(PREDICTIONS), _batch(TARGETS))
    # ½ (9 + 0.25 + 0 + 0.25 + 4) / 5 = 1.35
    assert float(loss) == pytest.approx(1.35)
    assert aux == {}


def test_mean_absolute_error_on_known_residuals():
    loss, _ = losses.mean_absolute_error(_Constant(PREDICTIONS), _batch(TARGETS))
    assert float(loss) == pytest.approx((3 + 0.5 + 0 + 0.5 + 2) / 5)
    assert np.asarray(losses.absolute_error(jnp.array([-2.0, 3.0]), jnp.array([1.0, 1.0]))).tolist() \
        == [3.0, 2.0]


def test_huber_is_quadratic_inside_delta_and_linear_outside():
    huber = losses.Huber(delta=1.0)
    # Inside δ: ½r² (0.125 at r = ±0.5, 0 at 0); outside: δ(|r| − ½δ) = 2.5 at r = -3, 1.5 at 2.
    loss, _ = huber(_Constant(PREDICTIONS), _batch(TARGETS))
    assert float(loss) == pytest.approx((2.5 + 0.125 + 0 + 0.125 + 1.5) / 5)
    r = np.linspace(-10.0, 10.0, 21)
    zero = _batch(jnp.zeros((1, 1)))
    per_example = [float(huber(_Constant([[ri]]), zero)[0]) for ri in r]
    expected = np.where(np.abs(r) <= 1, 0.5 * r**2, np.abs(r) - 0.5)
    np.testing.assert_allclose(per_example, expected, rtol=1e-6)


def test_huber_threshold_is_a_parameter_and_losses_with_equal_delta_are_equal():
    r = jnp.array([[3.0]])
    zero = _batch(jnp.zeros((1, 1)))
    assert float(losses.Huber(delta=2.0)(_Constant(r), zero)[0]) == pytest.approx(2 * (3 - 1))
    assert float(losses.Huber(delta=5.0)(_Constant(r), zero)[0]) == pytest.approx(0.5 * 9)
    # Equal thresholds give equal (hashable) losses, so compiled training programs are shared.
    assert losses.Huber(1.0) == losses.Huber(1.0) and hash(losses.Huber(1.0)) == hash(losses.Huber(1.0))


def test_regression_losses_sum_over_outputs_and_average_over_examples():
    predictions = [[1.0, 2.0], [0.0, 0.0]]
    targets = [[0.0, 0.0], [0.0, 1.0]]
    assert float(losses.mean_absolute_error(_Constant(predictions), _batch(targets))[0]) \
        == pytest.approx((1 + 2 + 0 + 1) / 2)
    assert float(losses.l2_error(_Constant(predictions), _batch(targets))[0]) \
        == pytest.approx(0.5 * (1 + 4 + 0 + 1) / 2)
    # The hand-written squared error of the suite agrees with Optax's l2_loss.
    assert float(losses.squared_error(_Constant(predictions), _batch(targets))[0]) \
        == pytest.approx(float(losses.l2_error(_Constant(predictions), _batch(targets))[0]))


def test_on_fresh_batches_draws_its_batch_from_the_step_key():
    import jax

    def draw(key):
        return {"x": jnp.zeros((4, 1)), "y": jax.random.randint(key, (4,), 0, 3)}

    model = _Constant(jnp.log(jnp.array([[0.7, 0.2, 0.1]] * 4)))
    loss = losses.OnFreshBatches(losses.cross_entropy, draw)
    key = jax.random.key(5)
    value, aux = loss(model, {"x": "ignored"}, train=True, key=key)
    expected = losses.cross_entropy(model, draw(jax.random.split(key)[0]))[0]
    assert float(value) == pytest.approx(float(expected))
    other = loss(model, None, key=jax.random.key(6))[0]
    assert float(other) != pytest.approx(float(value))  # another key, another batch
    assert losses.OnFreshBatches(losses.cross_entropy, draw) == loss  # equal: shared programs
    assert losses.fresh_placeholder(3)["x"].shape == (3, 1)
