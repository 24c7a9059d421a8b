import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from phenomena import models, rng
from phenomena.probes import slices
from phenomena.models import MLPConfig


def loss(params):
    return jnp.sum((params["w"] - 1.0) ** 2) + params["b"] ** 2


A = {"w": jnp.array([0.0, 2.0]), "b": jnp.array(1.0)}
B = {"w": jnp.array([1.0, 1.0]), "b": jnp.array(-3.0)}


def test_line_losses_endpoints_are_the_two_losses_and_midpoint_is_the_average_point():
    out = slices.line_losses(loss, A, B, jnp.array([0.0, 0.5, 1.0]))
    assert out.shape == (3,)
    assert float(out[0]) == pytest.approx(float(loss(A)))   # 2 + 1 = 3
    assert float(out[2]) == pytest.approx(float(loss(B)))   # 0 + 9 = 9
    midpoint = {"w": jnp.array([0.5, 1.5]), "b": jnp.array(-1.0)}
    assert float(out[1]) == pytest.approx(float(loss(midpoint)))  # 0.5 + 1 = 1.5


def _mlp_params():
    graphdef, state = models.mlps(5, 3, MLPConfig(width=7, depth=2), rng.seed_keys(0, 1))
    state = jax.tree.map(lambda x: x[0], state)
    return nnx.split(nnx.merge(graphdef, state), nnx.Param, ...)[1]


def test_filter_normalized_direction_matches_column_norms_and_zeroes_biases():
    params = _mlp_params()
    direction = slices.filter_normalized_direction(jax.random.key(1), params)
    kernel = np.asarray(params["hidden"][0]["kernel"][...])
    d_kernel = np.asarray(direction["hidden"][0]["kernel"][...])
    assert d_kernel.shape == (5, 7)
    np.testing.assert_allclose(np.linalg.norm(d_kernel, axis=0), np.linalg.norm(kernel, axis=0), rtol=1e-5)
    assert not np.allclose(d_kernel, kernel)  # a random direction, not the params themselves
    head = np.asarray(direction["head"]["kernel"][...])
    np.testing.assert_allclose(np.linalg.norm(head, axis=0),
                               np.linalg.norm(np.asarray(params["head"]["kernel"][...]), axis=0), rtol=1e-5)
    for bias in (direction["hidden"][0]["bias"], direction["hidden"][1]["bias"], direction["head"]["bias"]):
        assert np.all(np.asarray(bias[...]) == 0.0)


def test_slice_1d_and_2d_shapes_and_values():
    d1 = {"w": jnp.array([1.0, 0.0]), "b": jnp.array(0.0)}
    d2 = {"w": jnp.array([0.0, 0.0]), "b": jnp.array(1.0)}
    alphas, betas = jnp.array([-1.0, 0.0, 1.0]), jnp.array([0.0, 2.0])
    one = slices.slice_1d(loss, A, d1, alphas)
    # w0 = a, (a - 1)^2 + (2 - 1)^2 + 1
    np.testing.assert_allclose(one, [4 + 1 + 1, 1 + 1 + 1, 0 + 1 + 1], rtol=1e-6)
    two = slices.slice_2d(loss, A, d1, d2, alphas, betas)
    assert two.shape == (3, 2)
    np.testing.assert_allclose(two[:, 0], one, rtol=1e-6)
    # b = 1 + 2 = 3: b^2 = 9 instead of 1
    np.testing.assert_allclose(two[:, 1], np.asarray(one) + 8, rtol=1e-6)
