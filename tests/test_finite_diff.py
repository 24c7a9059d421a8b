"""Central finite differences in float64 against gradients known in closed form."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from phenomena.probes import finite_diff


def _cubic_and_sine(params):
    """f = Σ w³ + Σ sin(b): ∂f/∂w = 3w², ∂f/∂b = cos(b)."""
    return jnp.sum(params["w"] ** 3) + jnp.sum(jnp.sin(params["b"]))


def test_central_differences_match_the_closed_form_gradient():
    with jax.enable_x64(True):
        params = {"w": jnp.array([[1.0, -2.0], [0.5, 3.0]]), "b": jnp.array([0.3, -1.2, 2.0])}
        estimate = finite_diff.central_differences(_cubic_and_sine, params)
        assert estimate["w"].dtype == jnp.float64
        np.testing.assert_allclose(estimate["w"], 3 * params["w"] ** 2, rtol=1e-9)
        np.testing.assert_allclose(estimate["b"], jnp.cos(params["b"]), rtol=1e-9)


def test_truncation_error_of_a_cubic_is_exactly_step_squared():
    # ((x + ε)³ − (x − ε)³) / 2ε = 3x² + ε²: the O(ε²) term, seen exactly at a large step.
    with jax.enable_x64(True):
        estimate = finite_diff.central_differences(lambda p: jnp.sum(p ** 3), jnp.array([2.0]),
                                                   step=1e-2)
        assert float(estimate[0]) == pytest.approx(12.0 + 1e-4, rel=1e-12)


def test_chunked_evaluation_gives_the_same_gradient():
    with jax.enable_x64(True):
        params = {"w": jnp.linspace(-1.0, 1.0, 7), "b": jnp.array([0.1, 0.2])}
        whole = finite_diff.central_differences(_cubic_and_sine, params)
        chunked = finite_diff.central_differences(_cubic_and_sine, params, chunk=3)
        # Equal up to rounding (u / ε ≈ 1e-11): the two programs sum in different orders.
        np.testing.assert_allclose(chunked["w"], whole["w"], rtol=1e-10)
        np.testing.assert_allclose(chunked["b"], whole["b"], rtol=1e-10)


def test_gradient_check_is_tiny_in_float64_for_a_smooth_net():
    with jax.enable_x64(True):
        key_w, key_x = jax.random.split(jax.random.key(0))
        w = jax.random.normal(key_w, (5, 3), jnp.float64)
        x = jax.random.normal(key_x, (8, 5), jnp.float64)
        error = finite_diff.gradient_check(lambda w: jnp.mean(jnp.tanh(x @ w) ** 2), w)
        assert float(error) < 1e-8


def test_relative_error_reads_norms():
    a = {"x": jnp.array([3.0, 4.0])}
    b = {"x": jnp.array([3.0, 3.0])}
    assert float(finite_diff.relative_error(a, b)) == pytest.approx(1 / 5)   # ‖(0, 1)‖ / ‖(3, 4)‖
    assert float(finite_diff.relative_error(b, a)) == pytest.approx(1 / 5)   # symmetric
    assert float(finite_diff.relative_error(a, a)) == 0.0
    zeros = {"x": jnp.zeros(2)}
    assert float(finite_diff.relative_error(zeros, zeros)) == 0.0


def test_a_wrong_gradient_is_caught():
    # Half the true gradient: relative error 0.5, nowhere near a float64 tolerance.
    with jax.enable_x64(True):
        params = jnp.array([1.0, 2.0])
        estimate = finite_diff.central_differences(lambda p: jnp.sum(p ** 2), params)
        assert float(finite_diff.relative_error(params, estimate)) == pytest.approx(0.5)
