import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from phenomena import models, rng
from phenomena.probes.covariate_shift import linear_output_moments, moment_shift
from phenomena.models import MLPConfig


def _model(norm: str):
    graphdef, state = models.mlps(5, 2, MLPConfig(width=4, depth=3, norm=norm), rng.seed_keys(0, 1))
    return nnx.merge(graphdef, jax.tree.map(lambda a: a[0], state))


def test_moments_are_those_of_the_linear_outputs_before_batch_norm():
    model = _model("batch")
    x = 2.0 + 3.0 * jax.random.normal(jax.random.key(1), (64, 5))
    means, stds = linear_output_moments(model, x, train=True)
    assert means.shape == stds.shape == (3, 4)
    first = model.hidden[0](x)
    np.testing.assert_allclose(means[0], first.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(stds[0], first.std(axis=0), rtol=1e-5)
    # Layer 2 receives relu(BN(layer 1)), normalized with the batch's own statistics.
    normalized = (first - first.mean(0, keepdims=True)) / jnp.sqrt(first.var(0, keepdims=True) + 1e-5)
    second = model.hidden[1](jax.nn.relu(normalized))
    np.testing.assert_allclose(means[1], second.mean(axis=0), rtol=1e-4, atol=1e-6)
    # The post-BN pre-activation would read mean 0 and std 1 whatever happens: not measured.
    assert float(jnp.max(jnp.abs(stds[0] - 1))) > 0.1


def test_moments_without_normalization_follow_the_plain_forward_pass():
    model = _model("none")
    x = jax.random.normal(jax.random.key(2), (32, 5))
    means, _ = linear_output_moments(model, x)
    h = x
    for i in range(3):
        linear = model.hidden[i](h)
        np.testing.assert_allclose(means[i], linear.mean(axis=0), rtol=1e-5, atol=1e-7)
        h = jax.nn.relu(linear)


def test_moment_shift_on_hand_made_records():
    # Two records of one layer with two units: unit 0's mean moves by 1 std (std 2 -> 2),
    # unit 1's std doubles (mean fixed).
    means = np.array([[[0.0, 5.0]], [[2.0, 5.0]]])  # (records, layers, units)
    stds = np.array([[[2.0, 1.0]], [[2.0, 2.0]]])
    shift = moment_shift(means, stds)
    assert shift["mean_shift"].shape == (1, 1)
    assert shift["mean_shift"][0, 0] == pytest.approx(0.5)          # (1 + 0) / 2 units
    assert shift["scale_shift"][0, 0] == pytest.approx(np.log(2) / 2)
    assert shift["shift"][0, 0] == pytest.approx(0.5 + np.log(2) / 2)


def test_moment_shift_ignores_the_scale_of_a_layer():
    rng = np.random.default_rng(0)
    means = rng.normal(size=(3, 5, 2, 4))  # (runs, records, layers, units)
    stds = rng.uniform(0.5, 2.0, size=(3, 5, 2, 4))
    base = moment_shift(means, stds)["shift"]
    assert base.shape == (3, 4, 2)
    scaled = moment_shift(100.0 * means, 100.0 * stds)["shift"]
    np.testing.assert_allclose(scaled, base, rtol=1e-9)
    constant = moment_shift(np.ones((4, 1, 3)), np.full((4, 1, 3), 0.7))["shift"]
    np.testing.assert_array_equal(constant, np.zeros((3, 1)))
