import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from phenomena import models, rng
from phenomena.models import MLPConfig


def make(config, n_in=40, n_out=10, seeds=2, seed=0):
    return models.mlps(n_in, n_out, config, rng.seed_keys(seed, seeds))


def test_parameter_count_matches_the_architecture():
    graphdef, state = make(MLPConfig(width=64, depth=3))
    one = jax.tree.map(lambda x: x[0], state)
    expected = (40 * 64 + 64) + 2 * (64 * 64 + 64) + (64 * 10 + 10)
    assert models.count_params(one) == expected
    _, state = make(MLPConfig(width=8, depth=0, bias=False), n_in=100, n_out=1)
    assert models.count_params(jax.tree.map(lambda x: x[0], state)) == 100


def test_output_and_intermediate_shapes():
    graphdef, state = make(MLPConfig(width=16, depth=4, activation="tanh"))
    model = nnx.merge(graphdef, jax.tree.map(lambda x: x[0], state))
    out, aux = model(jnp.ones((5, 40)))
    assert out.shape == (5, 10)
    assert len(aux["preacts"]) == 4 and all(z.shape == (5, 16) for z in aux["preacts"])


def test_seeds_give_different_inits_and_the_same_seed_the_same():
    _, a = make(MLPConfig(width=8, depth=2), seed=3)
    _, b = make(MLPConfig(width=8, depth=2), seed=3)
    kernel = lambda s: np.asarray(s["hidden"][0]["kernel"][...])  # noqa: E731
    np.testing.assert_array_equal(kernel(a), kernel(b))
    assert not np.allclose(kernel(a)[0], kernel(a)[1])


def test_he_init_has_variance_two_over_fan_in():
    _, state = make(MLPConfig(width=256, depth=1, init="he_normal"), n_in=256, seeds=4)
    weights = np.asarray(state["hidden"][0]["kernel"][...])
    assert weights.var() == pytest.approx(2 / 256, rel=0.05)


def test_prelu_slope_is_a_parameter_initialized_at_a_quarter():
    _, state = make(MLPConfig(width=4, depth=2, activation="prelu"))
    slopes = np.asarray(state["prelus"][1]["negative_slope"][...])
    np.testing.assert_allclose(slopes, 0.25)
    graphdef, state = make(MLPConfig(width=1, depth=1, activation="prelu"), n_in=1, n_out=1)
    model = nnx.merge(graphdef, jax.tree.map(lambda x: x[0], state))
    z, h = model.hidden_layer(0, jnp.array([[-1.0], [1.0]]))
    np.testing.assert_allclose(np.asarray(h), np.where(np.asarray(z) > 0, z, 0.25 * np.asarray(z)),
                               rtol=1e-6)


def test_batch_norm_model_runs_in_both_modes():
    graphdef, state = make(MLPConfig(width=8, depth=2, norm="batch"))
    model = nnx.merge(graphdef, jax.tree.map(lambda x: x[0], state))
    x = jax.random.normal(jax.random.key(0), (32, 40)) * 3 + 1
    _, aux = model(x, train=True)
    z = np.asarray(aux["preacts"][0])
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-4)  # normalized by the batch statistics
    np.testing.assert_allclose(z.std(0), 1, atol=1e-2)
    # Evaluation mode uses the running statistics (still near their init after one batch),
    # so the same batch is not normalized to zero mean.
    _, aux = model(x, train=False)
    assert np.abs(np.asarray(aux["preacts"][0]).mean(0)).max() > 0.1


def test_dropout_is_keyed_in_training_and_off_in_evaluation():
    keys = rng.seed_keys(0, 1)
    graphdef, state = models.mlps(4, 3, MLPConfig(width=16, depth=2, dropout=0.5), keys)
    model = nnx.merge(graphdef, jax.tree.map(lambda a: a[0], state))
    x = jnp.ones((8, 4))
    train_a, _ = model(x, train=True, key=jax.random.key(1))
    train_b, _ = model(x, train=True, key=jax.random.key(2))
    eval_a, _ = model(x, key=jax.random.key(1))
    eval_b, _ = model(x, key=jax.random.key(2))
    assert float(jnp.abs(train_a - train_b).max()) > 1e-3
    np.testing.assert_array_equal(eval_a, eval_b)
    with pytest.raises(ValueError, match="needs a key"):
        model(x, train=True)


def test_residual_layers_add_their_input():
    keys = rng.seed_keys(0, 1)
    config = MLPConfig(width=8, depth=3, activation="relu", residual=True)
    graphdef, state = models.mlps(4, 2, config, keys)
    model = nnx.merge(graphdef, jax.tree.map(lambda a: a[0], state))
    x = jax.random.normal(jax.random.key(0), (5, 4))
    h1 = model.hidden_layer(0, x)[1]
    h2 = h1 + model.hidden_layer(1, h1)[1]
    h3 = h2 + model.hidden_layer(2, h2)[1]
    np.testing.assert_allclose(model(x)[0], model.head(h3), rtol=1e-6)


def test_cnn_shares_filters_across_positions_and_counts_its_parameters():
    config = models.CNNConfig(channels=4, layers=3, kernel=5, stride=2)
    graphdef, state = models.cnns(40, 10, config, rng.seed_keys(0, 1))
    one = jax.tree.map(lambda a: a[0], state)
    # conv1 1->4, conv2 4->4, conv3 4->4 (kernel 5, bias), head from 10 positions x 4 channels.
    expected = (5 * 1 * 4 + 4) + 2 * (5 * 4 * 4 + 4) + (10 * 4 * 10 + 10)
    assert models.count_params(one) == expected
    model = nnx.merge(graphdef, one)
    x = jnp.zeros((2, 40)).at[:, 10].set(1.0)
    logits, aux = model(x)
    assert logits.shape == (2, 10) and len(aux["preacts"]) == 3
    # Shifting the input by one sample shifts the first layer's map by one (equivariance).
    first = model.conv(0, x[..., None])
    shifted = model.conv(0, jnp.roll(x, 1, axis=1)[..., None])
    np.testing.assert_allclose(shifted[:, 11], first[:, 10], rtol=1e-6)
    # The layer is a convolution: it matches lax.conv on the same filters (zero padding of 2
    # on each side, i.e. centred windows, then every second position).
    kernel = model.convs[1].kernel[...].reshape(5, 4, 4)  # (width, in, out), window-major
    h = jax.random.normal(jax.random.key(1), (2, 40, 4))
    expected = jax.lax.conv_general_dilated(h, kernel, (1,), ((2, 2),),
                                            dimension_numbers=("NWC", "WIO", "NWC"))[:, ::2]
    np.testing.assert_allclose(model.conv(1, h), expected + model.convs[1].bias[...][None, None],
                               rtol=1e-5, atol=1e-5)


def _all_windows_then_stride(x, width, stride):
    """The former `sliding_windows`: every window, then every `stride`-th (the reference)."""
    left = (width - 1) // 2
    padded = jnp.pad(x, ((0, 0), (left, width - 1 - left), (0, 0)))
    windows = jnp.concatenate([padded[:, i:i + x.shape[1]] for i in range(width)], axis=-1)
    return windows[:, ::stride]


def test_strided_windows_equal_every_window_then_strided():
    # Odd and even widths (the padding is uneven for even ones), strides that do and do not
    # divide the length, a length shorter than the window.
    for length in (1, 7, 40, 41):
        x = jax.random.normal(jax.random.key(length), (2, length, 3))
        for width in (1, 2, 5, 6):
            for stride in (1, 2, 3):
                windows = models.sliding_windows(x, width, stride)
                assert windows.shape == (2, -(-length // stride), width * 3)
                np.testing.assert_array_equal(windows, _all_windows_then_stride(x, width, stride))


def test_sliding_windows_centre_each_window_and_pad_with_zeros():
    x = jnp.arange(1.0, 6.0).reshape(1, 5, 1)  # signal 1..5, one channel
    # width 3: one zero on each side; stride 2 keeps positions 0, 2, 4.
    np.testing.assert_array_equal(models.sliding_windows(x, 3, 2)[0],
                                  [[0, 1, 2], [2, 3, 4], [4, 5, 0]])
    # width 4: one zero on the left, two on the right; stride 3 keeps positions 0, 3.
    np.testing.assert_array_equal(models.sliding_windows(x, 4, 3)[0],
                                  [[0, 1, 2, 3], [3, 4, 5, 0]])
