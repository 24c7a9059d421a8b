import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from phenomena import curves, losses, models, rng
from phenomena.probes import gradient_noise
from phenomena.models import MLPConfig


def _linear_model(w: float, b: float):
    """y = w x + b as a depth-0 MLP (one seed, no seed axis)."""
    graphdef, state = models.mlps(1, 1, MLPConfig(depth=0), rng.seed_keys(0, 1))
    model = nnx.merge(graphdef, jax.tree.map(lambda x: x[0], state))
    model.head.kernel[...] = jnp.array([[w]])
    model.head.bias[...] = jnp.array([b])
    return nnx.split(model)


def _squared_error(model, batch):
    return losses.squared_error(model, batch)[0]


def test_per_example_gradients_match_the_hand_computed_ones():
    # ½ (w x + b − y)²: ∂/∂w = r x, ∂/∂b = r with residual r = w x + b − y.
    graphdef, state = _linear_model(w=2.0, b=-1.0)
    data = {"x": jnp.array([[1.0], [3.0]]), "y": jnp.array([[0.0], [2.0]])}
    grads = np.asarray(gradient_noise.per_example_gradients(graphdef, state, _squared_error, data))
    residual = np.array([2.0 * 1 - 1 - 0, 2.0 * 3 - 1 - 2])  # [1, 3]
    assert grads.shape == (2, 2)
    # Flattening order of (bias, kernel) is the pytree's; compare each row as a set.
    for row, r, x in zip(grads, residual, [1.0, 3.0]):
        np.testing.assert_allclose(sorted(row), sorted([r, r * x]), rtol=1e-6)
    # Their mean is the full-batch gradient.
    _, params, rest = nnx.split(nnx.merge(graphdef, state), nnx.Param, ...)
    full = jax.grad(lambda p: _squared_error(nnx.merge(graphdef, p, rest), data))(params)
    np.testing.assert_allclose(np.sort(grads.mean(0)),
                               np.sort(jax.flatten_util.ravel_pytree(full)[0]), rtol=1e-6)


def test_noise_trace_and_simple_noise_scale_on_a_hand_made_case():
    deviations = jnp.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]])
    assert float(gradient_noise.noise_trace(deviations)) == pytest.approx(2.5)  # mean of 1, 1, 4, 4
    shifted = deviations + jnp.array([[1.0, 0.0]])  # mean gradient (1, 0): ‖g‖² = 1
    assert float(gradient_noise.noise_trace(shifted)) == pytest.approx(2.5)
    assert float(gradient_noise.simple_noise_scale(shifted)) == pytest.approx(2.5)


def test_minibatch_noise_is_the_trace_over_batch_size():
    per_example = jax.random.normal(jax.random.key(0), (50, 3)) * jnp.array([[1.0, 2.0, 0.5]])
    trace = float(gradient_noise.noise_trace(per_example))
    for batch_size in (1, 4, 16):
        noise = float(gradient_noise.minibatch_noise(per_example, jax.random.key(batch_size),
                                                     batch_size, draws=20000))
        assert noise == pytest.approx(trace / batch_size, rel=0.04)


def test_noise_per_seed_shapes_and_one_over_b_scaling():
    keys = rng.seed_keys(0, 2)
    graphdef, states = models.mlps(3, 2, MLPConfig(width=8, depth=1), keys)
    x = jax.random.normal(jax.random.key(1), (32, 3))
    data = {"x": x, "y": (x[:, 0] > 0).astype(jnp.int32)}
    out = gradient_noise.noise_per_seed(graphdef, states, losses.cross_entropy_loss, data, keys,
                                        (1, 8), 4000)
    assert out["noise"].shape == (2, 2) and out["trace"].shape == (2,)
    np.testing.assert_allclose(np.asarray(out["noise"][:, 0]), np.asarray(out["trace"]), rtol=0.1)
    np.testing.assert_allclose(np.asarray(out["noise"][:, 0] / out["noise"][:, 1]), [8.0, 8.0],
                               rtol=0.15)
    assert np.all(np.asarray(out["noise_scale"]) > 0)


def test_loglog_slope_recovers_a_power_law_per_row():
    x = np.array([1.0, 4.0, 16.0, 64.0])
    y = np.stack([3.0 / x, 0.5 * x**0.5])
    np.testing.assert_allclose(curves.loglog_slope(x, y), [-1.0, 0.5], atol=1e-12)


def test_steps_to_target_interpolates_and_marks_misses():
    steps = [0, 10, 20, 30]
    runs = np.array([[3.0, 2.0, 1.0, 0.5],      # crosses 1.5 halfway between 10 and 20
                       [1.0, 0.9, 0.8, 0.7],      # already below at step 0
                       [3.0, 2.9, 2.8, 2.7],      # never
                       [3.0, np.nan, np.nan, np.nan]])  # diverged
    out = curves.steps_to_target(steps, runs, 1.5)
    np.testing.assert_allclose(out[:2], [15.0, 0.0])
    assert np.isnan(out[2]) and np.isnan(out[3])


def test_critical_batch_fit_recovers_mccandlish_parameters():
    sizes = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 64.0])
    steps = 100.0 * (1 + 8.0 / sizes)
    s_min, b_crit = gradient_noise.critical_batch_fit(sizes, steps)
    assert s_min == pytest.approx(100.0) and b_crit == pytest.approx(8.0)
    steps[0] = np.nan  # a batch size that never reached the target is left out
    assert gradient_noise.critical_batch_fit(sizes, steps) == pytest.approx((100.0, 8.0))
    assert np.isnan(gradient_noise.critical_batch_fit(sizes[:2], [np.nan, 1.0])[0])
