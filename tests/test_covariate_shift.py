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


# ---------------------------------------------- Santurkar et al.'s tests: noisy BN, gradient shift

import optax  # noqa: E402

from phenomena import losses  # noqa: E402
from phenomena.probes.covariate_shift import (gradient_shift, layer_preacts,  # noqa: E402
                                              noisy_cross_entropy, preact_moments)


def _batch(n=32, classes=2):
    x = jax.random.normal(jax.random.key(3), (n, 5))
    return {"x": x, "y": jnp.arange(n) % classes}


def test_layer_preacts_without_noise_are_the_models_own():
    model = _model("batch")
    x = _batch()["x"]
    logits, preacts = layer_preacts(model, x, train=True)
    expected_logits, inter = model(x, train=True)
    np.testing.assert_allclose(logits, expected_logits, rtol=1e-5, atol=1e-6)
    for z, expected in zip(preacts, inter["preacts"]):
        np.testing.assert_allclose(z, expected, rtol=1e-5, atol=1e-6)


def test_shift_noise_is_one_affine_map_per_unit_within_its_bounds():
    model = _model("batch")
    x = _batch()["x"]
    _, clean = layer_preacts(model, x, train=True)
    _, noisy = layer_preacts(model, x, train=True, noise_key=jax.random.key(7),
                             noise_mean=1.0, noise_scale=2.0)
    # Layer 1's input is the same in both passes: its noise is z -> s z + m, shared by the batch.
    z, zn = np.asarray(clean[0]), np.asarray(noisy[0])
    scale = (zn[1] - zn[0]) / (z[1] - z[0])
    offset = zn[0] - scale * z[0]
    np.testing.assert_allclose(zn, scale * z + offset, rtol=1e-4, atol=1e-5)
    assert np.all((scale >= 0.5 - 1e-5) & (scale <= 2.0 + 1e-5))
    assert np.all(np.abs(offset) <= 1.0 + 1e-5)
    assert np.abs(scale - 1).max() > 0.05  # the noise does something
    # A new key is a new draw; no noise parameters, no change.
    _, other = layer_preacts(model, x, train=True, noise_key=jax.random.key(8),
                             noise_mean=1.0, noise_scale=2.0)
    assert float(jnp.abs(other[0] - noisy[0]).max()) > 0.01
    _, none = layer_preacts(model, x, train=True, noise_key=jax.random.key(8))
    np.testing.assert_allclose(none[0], clean[0], rtol=1e-6)


def test_noisy_loss_is_noisy_only_in_training():
    model = _model("batch")
    batch = _batch()
    loss = noisy_cross_entropy(1.0, 2.0)
    assert noisy_cross_entropy(1.0, 2.0) is loss  # cached: `fit` reuses its compiled program
    evaluated, _ = loss(model, batch, train=False)
    expected, _ = losses.cross_entropy(model, batch, train=False)
    assert float(evaluated) == pytest.approx(float(expected))
    first, _ = loss(model, batch, train=True, key=jax.random.key(1))
    second, _ = loss(model, batch, train=True, key=jax.random.key(2))
    assert float(first) != pytest.approx(float(second))


def test_preact_moments_under_noise_move_by_the_drawn_offsets():
    model = _model("batch")
    x = _batch()["x"]
    means, stds = preact_moments(model, x)
    assert means.shape == stds.shape == (3, 4)
    np.testing.assert_allclose(means[0], 0.0, atol=1e-5)  # BN's output, scale 1 and bias 0 at init
    noisy_means, noisy_stds = preact_moments(model, x, noise_key=jax.random.key(7),
                                             noise_mean=1.0, noise_scale=2.0)
    assert float(jnp.abs(noisy_means[0]).max()) > 0.05
    assert float(jnp.abs(jnp.log(noisy_stds[0] / stds[0])).max()) > 0.05


def test_gradient_shift_by_hand_on_a_plain_net():
    model = _model("none")
    batch = _batch()
    lr = 0.5
    shift = gradient_shift(model, batch, lr)
    assert shift["relative"].shape == (2,)  # layers 2 and 3

    def loss_of(kernels_biases):
        (k1, b1), (k2, b2), (k3, b3) = kernels_biases
        h = jax.nn.relu(batch["x"] @ k1 + b1[None])
        h = jax.nn.relu(h @ k2 + b2[None])
        h = jax.nn.relu(h @ k3 + b3[None])
        logits = h @ model.head.kernel[...] + model.head.bias[...][None]
        return optax.softmax_cross_entropy_with_integer_labels(logits, batch["y"]).mean()

    params = [(layer.kernel[...], layer.bias[...]) for layer in model.hidden]
    grads = jax.grad(loss_of)(params)
    # Layer 3: layers 1 and 2 take their step first.
    stepped = [(k - lr * gk, b - lr * gb) for (k, b), (gk, gb) in zip(params[:2], grads[:2])]
    after = jax.grad(loss_of)(stepped + [params[2]])[2][0]
    before = grads[2][0]
    expected = jnp.linalg.norm(after - before) / jnp.linalg.norm(before)
    assert float(shift["relative"][1]) == pytest.approx(float(expected), rel=1e-4)
    assert float(shift["absolute"][1]) == pytest.approx(float(jnp.linalg.norm(after - before)), rel=1e-4)
    # No step, no shift.
    still = gradient_shift(model, batch, 0.0)
    np.testing.assert_allclose(still["relative"], 0.0, atol=1e-7)
    np.testing.assert_allclose(still["cosine"], 1.0, atol=1e-5)
