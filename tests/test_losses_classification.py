"""Classification losses of `phenomena.losses`: numbers known in closed form."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from phenomena import losses


class _Fixed(nnx.Module):
    """A "model" that returns the logits it was built with (one output), whatever the input."""

    def __init__(self, logits):
        self.logits = nnx.Param(jnp.asarray(logits)[:, None])

    def __call__(self, x, *, train=False, key=None):
        return self.logits[...], {}


def test_probability_squared_error_saturates_where_cross_entropy_does_not():
    z = jnp.array([-5.0])
    mse_slope = jax.grad(lambda z: losses.probability_squared_error(z, jnp.array([1]))[0])(z)[0]
    ce_slope = jax.grad(lambda z: optax.sigmoid_binary_cross_entropy(z, jnp.array([1.0]))[0])(z)[0]
    sigma = 1 / (1 + np.exp(5.0))
    assert float(mse_slope) == pytest.approx(2 * (sigma - 1) * sigma * (1 - sigma), rel=1e-5)
    assert float(mse_slope) == pytest.approx(-0.0132, abs=1e-4)   # LITERATURE.md: ≈ −0.013
    assert float(ce_slope) == pytest.approx(sigma - 1, rel=1e-5)   # ≈ −0.993


def test_probability_squared_error_values():
    # σ(0) = 0.5: (0.5 − 1)² = 0.25 and (0.5 − 0)² = 0.25; σ(ln 3) = 0.75 against 1: 0.0625.
    values = losses.probability_squared_error(jnp.array([0.0, 0.0, np.log(3.0)]), jnp.array([1, 0, 1]))
    np.testing.assert_allclose(values, [0.25, 0.25, 0.0625], rtol=1e-6)


def test_model_losses_read_one_logit_and_count_accuracy():
    model = _Fixed([2.0, -1.0, 0.5, -3.0])
    batch = {"x": jnp.zeros((4, 1)), "y": jnp.array([1, 0, 0, 0])}  # 3 of 4 right (0.5 > 0 says 1)
    ce, aux = losses.sigmoid_cross_entropy(model, batch)
    expected_ce = np.mean([np.log1p(np.exp(-2.0)), np.log1p(np.exp(-1.0)), np.log1p(np.exp(0.5)),
                           np.log1p(np.exp(-3.0))])
    assert float(ce) == pytest.approx(expected_ce, rel=1e-6)
    assert float(aux["accuracy"]) == 0.75
    mse, aux = losses.sigmoid_squared_error(model, batch)
    sig = 1 / (1 + np.exp(-np.array([2.0, -1.0, 0.5, -3.0])))
    assert float(mse) == pytest.approx(np.mean((sig - [1, 0, 0, 0]) ** 2), rel=1e-6)
    assert float(aux["accuracy"]) == 0.75


def test_binary_classification_metrics_per_split():
    model = _Fixed([2.0, -1.0])
    metrics = losses.binary_classification_metrics(
        model, {"test": {"x": jnp.zeros((2, 1)), "y": jnp.array([1, 1])}})
    assert set(metrics) == {"test/accuracy", "test/cross_entropy", "test/squared_error"}
    assert float(metrics["test/accuracy"]) == 0.5
    assert float(metrics["test/cross_entropy"]) == pytest.approx(
        np.mean([np.log1p(np.exp(-2.0)), np.log1p(np.exp(1.0))]), rel=1e-6)
