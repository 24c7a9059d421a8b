import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from phenomena import losses, models, probes, rng
from phenomena.models import MLPConfig


def test_safe_norm_survives_values_whose_squares_underflow():
    x = jnp.array([3e-25, 4e-25], jnp.float32)
    assert float(jnp.sqrt(jnp.sum(x**2))) == 0.0  # the naive norm underflows in float32
    assert float(probes.safe_norm(x)) == pytest.approx(5e-25, rel=1e-5)
    assert float(probes.safe_norm(jnp.zeros(3))) == 0.0
    assert float(probes.tree_norm({"a": jnp.array([3.0]), "b": jnp.array([4.0])})) == pytest.approx(5.0)


def test_dead_fraction_on_a_hand_made_case():
    preacts = (jnp.array([[-1.0, 2.0, 0.0], [-3.0, -1.0, 0.0]]),  # unit 0 and 2 dead, 1 alive
               jnp.array([[1.0, 1.0], [1.0, 1.0]]))
    np.testing.assert_allclose(np.asarray(probes.dead_fractions(preacts)), [2 / 3, 0.0])
    assert float(probes.zero_fraction(jnp.array([0.0, 1.0, 0.0, -2.0]))) == 0.5


def test_activity_rates_grade_units_that_dead_mask_only_flags():
    preact = jnp.array([[-1.0, 2.0, 0.0, 1.0], [-3.0, -1.0, 0.0, 1.0],
                        [-2.0, -1.0, 0.0, 1.0], [-1.0, -1.0, 0.0, 1.0]])
    rates = np.asarray(probes.activity_rates(preact))
    np.testing.assert_allclose(rates, [0.0, 0.25, 0.0, 1.0])  # 0 is not active (as in dead_mask)
    np.testing.assert_array_equal(rates == 0, np.asarray(probes.dead_mask(preact)))


def _scalar_mlp(w1, b1, w2, b2):
    """A 1-1-1 identity-activation MLP with the given weights."""
    graphdef, state = models.mlps(1, 1, MLPConfig(width=1, depth=1, activation="identity"),
                                  rng.seed_keys(0, 1))
    state = jax.tree.map(lambda x: x[0], state)
    model = nnx.merge(graphdef, state)
    model.hidden[0].kernel[...] = jnp.array([[w1]])
    model.hidden[0].bias[...] = jnp.array([b1])
    model.head.kernel[...] = jnp.array([[w2]])
    model.head.bias[...] = jnp.array([b2])
    return nnx.split(model)


def test_bias_gradient_norm_matches_the_hand_computed_gradient():
    # f(x) = w2 (w1 x + b1) + b2, loss = mean (f - y)^2 / 2, so dL/db1 = w2 * mean(f - y).
    graphdef, state = _scalar_mlp(w1=2.0, b1=0.5, w2=-3.0, b2=1.0)
    batch = {"x": jnp.array([[1.0], [2.0]]), "y": jnp.array([[0.0], [1.0]])}
    f = -3.0 * (2.0 * np.array([1.0, 2.0]) + 0.5) + 1.0  # [-6.5, -12.5]
    expected = abs(-3.0 * np.mean(f - np.array([0.0, 1.0])))
    loss = lambda model, b: losses.squared_error(model, b)[0]  # noqa: E731
    norms = probes.hidden_bias_grad_norms(graphdef, state, loss, batch)
    assert norms.shape == (1,)
    assert float(norms[0]) == pytest.approx(expected, rel=1e-6)


def test_activation_stats():
    stats = probes.activation_stats((jnp.array([[1.0, 3.0], [1.0, 3.0]]),))
    assert float(stats["preact_mean"][0]) == 2.0 and float(stats["preact_std"][0]) == 1.0
