import jax
import jax.numpy as jnp
import numpy as np
import optax
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


def test_group_soft_threshold_zeroes_short_rows_and_shrinks_long_ones():
    # Rows of length 4: the threshold 0.5 becomes 0.5 * √4 = 1 on each row's norm.
    w = jnp.array([[0.3, 0.4, 0.0, 0.0],     # norm 0.5 <= 1: the whole row becomes 0
                   [3.0, 4.0, 0.0, 0.0],     # norm 5: scaled by 1 - 1/5 = 0.8
                   [0.0, 0.0, 0.0, 0.0]])    # already 0: stays 0 (no 0/0)
    out = np.asarray(penalties.group_soft_threshold(w, 0.5))
    np.testing.assert_array_equal(out[0], 0.0)
    np.testing.assert_allclose(out[1], [2.4, 3.2, 0.0, 0.0], rtol=1e-6)
    np.testing.assert_array_equal(out[2], 0.0)


def test_group_prox_is_the_group_lasso_proximal_map():
    # prox minimizes ½‖v - w‖² + t √4 ‖v‖ per row: check optimality against nearby points.
    w = jnp.array([[1.0, -2.0, 0.5, 0.3]])
    t = 0.2
    v = penalties.group_soft_threshold(w, t)
    objective = lambda v: 0.5 * jnp.sum((v - w) ** 2) + t * 2.0 * jnp.linalg.norm(v)
    perturbations = jax.random.normal(jax.random.key(0), (64, 1, 4)) * 1e-2
    assert all(float(objective(v + d)) >= float(objective(v)) - 1e-7 for d in perturbations)


def test_group_l1_optimizer_removes_whole_input_rows():
    from phenomena.optim import OptimizerSpec, make_optimizer
    params = {"kernel": jnp.array([[0.01, -0.02, 0.01], [1.0, 2.0, -1.0]])}
    zero = jax.tree.map(jnp.zeros_like, params)
    for rows, expected_zero_rows in ((True, 1), (False, 0)):
        tx = make_optimizer(OptimizerSpec(name="sgd", l1=True, l1_rows=rows))(
            learning_rate=1.0, l1=0.015)
        updates, _ = tx.update(zero, tx.init(params), params)
        new = optax.apply_updates(params, updates)["kernel"]
        # Group: row 0 (norm 0.024 <= 0.015 √3 = 0.026) goes; element-wise keeps its 0.02 weight.
        assert int(np.sum(np.all(np.asarray(new) == 0, axis=-1))) == expected_zero_rows
