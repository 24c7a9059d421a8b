import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from phenomena import losses, models, penalties, rng, train
from phenomena.models import MLPConfig


def _linear_model():
    """A 2 -> 1 linear model with kernel [[1], [2]] and bias [3]."""
    keys = rng.seed_keys(0, 1)
    graphdef, state = models.mlps(2, 1, MLPConfig(depth=0), keys)
    model = nnx.merge(graphdef, jax.tree.map(lambda a: a[0], state))
    model.head.kernel[...] = jnp.array([[1.0], [2.0]])
    model.head.bias[...] = jnp.array([3.0])
    return model


def _constant_loss(model, batch, *, train=False, key=None):
    return jnp.asarray(1.5), {}


def test_penalty_equals_half_lambda_squared_norm_on_a_known_model():
    model = _linear_model()
    loss, aux = penalties.with_l2(_constant_loss, 0.1)(model, {})
    # ‖w‖² = 1 + 4 + 9 = 14 over every parameter: 0.1 / 2 * 14 = 0.7.
    assert float(aux["l2_penalty"]) == pytest.approx(0.7, rel=1e-6)
    assert float(loss) == pytest.approx(1.5 + 0.7, rel=1e-6)


def test_kernel_mask_leaves_biases_unpenalized():
    model = _linear_model()
    _, aux = penalties.with_l2(_constant_loss, 0.1, penalties.KernelMask())(model, {})
    assert float(aux["l2_penalty"]) == pytest.approx(0.05 * 5, rel=1e-6)


def test_penalty_gradient_is_lambda_times_weight():
    model = _linear_model()
    graphdef, params = nnx.split(model)
    loss = penalties.with_l2(penalties.zero_loss, 0.25)
    grads = jax.grad(lambda p: loss(nnx.merge(graphdef, p), {})[0])(params)
    np.testing.assert_allclose(np.asarray(grads["head"]["kernel"][...]), [[0.25], [0.5]])
    np.testing.assert_allclose(np.asarray(grads["head"]["bias"][...]), [0.75])


def test_l2_in_the_loss_equals_decoupled_decay_under_sgd():
    keys = rng.seed_keys(0, 2)
    graphdef, state = models.mlps(4, 1, MLPConfig(width=8, depth=1, activation="tanh"), keys)
    x = jax.random.normal(jax.random.key(1), (32, 4))
    data = {"x": x, "y": jnp.sum(x, axis=1, keepdims=True)}
    config = train.TrainConfig(optimizer="sgd", lr=0.05, steps=50, batch_size=8, eval_every=25)
    coupled = train.fit(graphdef, state, penalties.with_l2(losses.squared_error, 0.125), data,
                        config, keys, progress=False)
    decoupled = train.fit(graphdef, state, losses.squared_error, data, config, keys,
                          hparams={"weight_decay": 0.125},
                          optimizer=config.spec(decoupled_decay=True), progress=False)
    for a, b in zip(jax.tree.leaves(coupled.state), jax.tree.leaves(decoupled.state)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    plain = train.fit(graphdef, state, losses.squared_error, data, config, keys, progress=False)
    assert not np.allclose(np.asarray(plain.state["head"]["kernel"][...]),
                           np.asarray(coupled.state["head"]["kernel"][...]), atol=1e-3)


def test_negative_coefficient_raises():
    with pytest.raises(ValueError):
        penalties.with_l2(losses.squared_error, -1.0)


def test_l2_in_the_loss_equals_decay_before_adam():
    # Adding λw to the gradient before Adam is the same as an L2 penalty in the loss: both are
    # "Adam + L2" (coupled), which is why OptimizerSpec(decoupled_decay=True) is not AdamW.
    keys = rng.seed_keys(0, 2)
    graphdef, state = models.mlps(4, 1, MLPConfig(width=8, depth=1, activation="tanh"), keys)
    x = jax.random.normal(jax.random.key(1), (32, 4))
    data = {"x": x, "y": jnp.sum(x, axis=1, keepdims=True)}
    config = train.TrainConfig(optimizer="adam", lr=1e-2, steps=50, batch_size=8, eval_every=25)
    coupled = train.fit(graphdef, state, penalties.with_l2(losses.squared_error, 0.125), data,
                        config, keys, progress=False)
    before = train.fit(graphdef, state, losses.squared_error, data, config, keys,
                       hparams={"weight_decay": 0.125},
                       optimizer=config.spec(decoupled_decay=True), progress=False)
    for a, b in zip(jax.tree.leaves(coupled.state), jax.tree.leaves(before.state)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
