"""The convolution library: `models.conv` against XLA's convolution and numpy pooling, and
`models.convnet`'s shapes, parameter counts, residual blocks, receptive fields and training.

`conv` (1-D and 2-D; SAME, VALID, CIRCULAR, int and asymmetric pads; strides 1-3; dilations
1-2; odd and even windows; with and without bias, every pair of these values) equals
`lax.conv_general_dilated` within 1e-5, also under `vmap` over kernels, and so do its gradients.
"""

import dataclasses
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax import lax

from phenomena import config as config_lib
from phenomena import losses, models, rng, train
from phenomena.config import ConfigError
from phenomena.models import ConvNetConfig, receptive_fields
from phenomena.models.conv import (Conv, conv, global_pool, output_size, padding_pairs, patches,
                                   pool, same_padding)

DIMENSION_NUMBERS = {1: ("NWC", "WIO", "NWC"), 2: ("NHWC", "HWIO", "NHWC")}
SPATIAL = {1: (11,), 2: (9, 7)}


def _lax_conv(x, kernel, bias, *, stride, padding, dilation):
    """The reference: XLA's convolution with explicit (lo, hi) pads (or its SAME/VALID)."""
    dims = x.ndim - 2
    if isinstance(padding, int):
        padding = [(padding, padding)] * dims
    y = lax.conv_general_dilated(x, kernel, (stride,) * dims, padding,
                                 rhs_dilation=(dilation,) * dims,
                                 dimension_numbers=DIMENSION_NUMBERS[dims])
    return y if bias is None else y + bias.reshape((1,) * (y.ndim - 1) + (-1,))


# (stride, dilation, window, bias): every pair of values of any two of them appears (strides
# 1-3, dilations 1-2, even and odd windows, with and without bias) in 6 rows instead of 24.
PAIRWISE = [(1, 1, 2, False), (1, 2, 3, True), (2, 1, 3, True), (2, 2, 2, False),
            (3, 1, 2, True), (3, 2, 3, False)]
# One compiled program per variant: eagerly, each of the window's slices compiles on its own.
_conv = jax.jit(conv, static_argnames=("stride", "padding", "dilation"))


def _inputs(dims, c_in=3, n=2, seed=0):
    return jax.random.normal(jax.random.key(seed), (n, *SPATIAL[dims], c_in))


def _kernel(dims, width, c_in=3, c_out=4, seed=1):
    return jax.random.normal(jax.random.key(seed), (*(width,) * dims, c_in, c_out))


# ---------------------------------------------------------------- conv against XLA

@pytest.mark.parametrize("dims", [1, 2])
@pytest.mark.parametrize("padding", ["SAME", "VALID", 1, "asymmetric"])
def test_conv_equals_xla_convolution(dims, padding):
    x = _inputs(dims)
    if padding == "asymmetric":
        padding = ((2, 0), (1, 3))[:dims]
    bias = jnp.arange(4.0) - 1.5
    for stride, dilation, width, with_bias in PAIRWISE:
        kernel = _kernel(dims, width)
        b = bias if with_bias else None
        expected = _lax_conv(x, kernel, b, stride=stride, padding=padding, dilation=dilation)
        got = _conv(x, kernel, b, stride=stride, padding=padding, dilation=dilation)
        assert got.shape == expected.shape, (stride, dilation, width)
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dims", [1, 2])
def test_circular_conv_equals_wrap_padding_then_valid(dims):
    x = _inputs(dims)
    for stride, dilation, width, _ in PAIRWISE:
        kernel = _kernel(dims, width)
        pads = padding_pairs(x.shape[1:-1], (width,) * dims, (stride,) * dims, "SAME",
                             (dilation,) * dims)
        wrapped = np.pad(np.asarray(x), ((0, 0), *pads, (0, 0)), mode="wrap")
        expected = _lax_conv(jnp.asarray(wrapped), kernel, None, stride=stride, padding="VALID",
                             dilation=dilation)
        got = _conv(x, kernel, stride=stride, padding="CIRCULAR", dilation=dilation)
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)
        # Wrap-around keeps SAME's size: ceil(n / stride) positions per axis.
        assert got.shape[1:-1] == tuple(-(-n // stride) for n in SPATIAL[dims])


def test_circular_conv_of_a_shifted_signal_is_the_shifted_output():
    # Translation equivariance holds exactly, including at the borders, with wrap-around.
    x = _inputs(1)
    kernel = _kernel(1, 3)
    shifted = conv(jnp.roll(x, 4, axis=1), kernel, padding="CIRCULAR")
    np.testing.assert_allclose(shifted, jnp.roll(conv(x, kernel, padding="CIRCULAR"), 4, axis=1),
                               atol=1e-5)


@pytest.mark.parametrize("dims", [1, 2])
def test_conv_under_vmap_over_kernels(dims):
    x = _inputs(dims)
    kernels = jnp.stack([_kernel(dims, 3, seed=s) for s in range(4)])
    for stride, padding in [(1, "SAME"), (2, "VALID"), (3, 1)]:
        got = jax.vmap(lambda k: conv(x, k, stride=stride, padding=padding, dilation=2))(kernels)
        for s in range(4):
            expected = _lax_conv(x, kernels[s], None, stride=stride, padding=padding, dilation=2)
            np.testing.assert_allclose(got[s], expected, atol=1e-5, rtol=1e-5)
    # Runs with their own inputs and kernels (the layout of a vmapped training step).
    xs = jnp.stack([_inputs(dims, seed=10 + s) for s in range(4)])
    both = jax.vmap(lambda a, k: conv(a, k, stride=2))(xs, kernels)
    for s in range(4):
        np.testing.assert_allclose(both[s], _lax_conv(xs[s], kernels[s], None, stride=2,
                                                      padding="SAME", dilation=1),
                                   atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dims", [1, 2])
def test_conv_gradients_equal_xla_convolution_gradients(dims):
    x = _inputs(dims)
    kernel, bias = _kernel(dims, 3), jnp.ones(4)
    weights = jax.random.normal(jax.random.key(7), _lax_conv(x, kernel, bias, stride=2,
                                                             padding="SAME", dilation=2).shape)

    def loss(convolve):
        return lambda x, k, b: jnp.sum(weights * convolve(x, k, b, stride=2, padding="SAME",
                                                          dilation=2))

    got = jax.grad(loss(conv), argnums=(0, 1, 2))(x, kernel, bias)
    expected = jax.grad(loss(_lax_conv), argnums=(0, 1, 2))(x, kernel, bias)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, atol=1e-4, rtol=1e-5)


def test_patches_are_xla_patches_in_window_major_order():
    x = _inputs(2, c_in=3)
    got = patches(x, (2, 3), stride=(2, 1), padding="SAME", dilation=(1, 2))
    # XLA orders each patch channel-major, (c, kh, kw); ours is (kh, kw, c).
    theirs = lax.conv_general_dilated_patches(x, (2, 3), (2, 1), "SAME", rhs_dilation=(1, 2),
                                              dimension_numbers=DIMENSION_NUMBERS[2])
    theirs = theirs.reshape(*theirs.shape[:-1], 3, 2, 3)
    theirs = jnp.moveaxis(theirs, -3, -1).reshape(*theirs.shape[:-3], -1)
    np.testing.assert_allclose(got, theirs, atol=1e-6)


# ---------------------------------------------------------------- sizes

def test_output_size_by_hand():
    assert output_size(32, 5) == 28               # VALID: 32 - 5 + 1
    assert output_size(32, 3, stride=2, padding=1) == 16
    assert output_size(7, 3, stride=2, padding=0, dilation=2) == 2  # (7 - 4 - 1) // 2 + 1
    assert output_size(227, 11, stride=4) == 55   # AlexNet's first layer
    assert output_size(10, 3, padding=(2, 0)) == 10


def test_same_padding_by_hand():
    assert same_padding(10, 3) == (1, 1)
    assert same_padding(10, 4) == (1, 2)           # the odd zero goes on the high side
    assert same_padding(10, 3, stride=2) == (0, 1)  # 5 outputs need 4 * 2 + 3 = 11 positions
    assert same_padding(10, 3, dilation=3) == (3, 3)
    assert same_padding(5, 1, stride=3) == (0, 0)


def test_output_shapes_equal_output_size_over_a_grid():
    for n, k, s, p, d in itertools.product(range(5, 10), range(1, 5), range(1, 4), range(3),
                                           range(1, 3)):
        if n + 2 * p < d * (k - 1) + 1:
            continue
        shape = jax.eval_shape(lambda a, w: conv(a, w, stride=s, padding=p, dilation=d),
                               jax.ShapeDtypeStruct((1, n, n, 2), jnp.float32),
                               jax.ShapeDtypeStruct((k, k, 2, 3), jnp.float32)).shape
        assert shape == (1, output_size(n, k, s, p, d), output_size(n, k, s, p, d), 3)


def test_a_window_larger_than_the_padded_input_is_a_config_error():
    with pytest.raises(ConfigError, match="does not fit"):
        conv(jnp.ones((1, 3, 1)), jnp.ones((5, 1, 1)), padding="VALID")


# ---------------------------------------------------------------- pooling

def _numpy_pool(x, window, stride, reduce):
    """Reference pooling of (n, h, w, c) over VALID windows, by loops."""
    n, h, w, c = x.shape
    out_h, out_w = (h - window[0]) // stride[0] + 1, (w - window[1]) // stride[1] + 1
    out = np.empty((n, out_h, out_w, c))
    for i, j in itertools.product(range(out_h), range(out_w)):
        block = x[:, i * stride[0]:i * stride[0] + window[0], j * stride[1]:j * stride[1] + window[1]]
        out[:, i, j] = reduce(block, axis=(1, 2))
    return out


def test_pooling_equals_a_numpy_reference():
    x = np.asarray(_inputs(2))  # 9 x 7: windows of 2 leave a remainder, which VALID drops
    for window, stride in [((2, 2), None), ((3, 2), (2, 1)), ((1, 3), (1, 3))]:
        for kind, reduce in [("max", np.max), ("avg", np.mean)]:
            got = pool(jnp.asarray(x), window, stride=stride, kind=kind)
            np.testing.assert_allclose(got, _numpy_pool(x, window, stride or window, reduce),
                                       atol=1e-6)
    signal = jnp.array([[1.0, 5, 2, 2, 7, 0, 3]])[..., None]
    np.testing.assert_allclose(pool(signal, 2)[0, :, 0], [5, 2, 7])
    np.testing.assert_allclose(pool(signal, 3, kind="avg")[0, :, 0], [8 / 3, 3])


def test_same_average_pooling_counts_only_real_positions():
    signal = jnp.array([[1.0, 5, 2, 2, 7]])[..., None]
    # Windows [1 5] [2 2] [7]: the last one has one real position, so its mean is 7, not 3.5.
    np.testing.assert_allclose(pool(signal, 2, kind="avg", padding="SAME")[0, :, 0], [3, 2, 7])
    np.testing.assert_allclose(pool(signal, 2, padding="SAME")[0, :, 0], [5, 2, 7])


def test_global_pool():
    x = np.asarray(_inputs(2))
    np.testing.assert_allclose(global_pool(jnp.asarray(x), "max"), x.max(axis=(1, 2)), atol=1e-6)
    np.testing.assert_allclose(global_pool(jnp.asarray(x), "avg"), x.mean(axis=(1, 2)), atol=1e-6)
    signal = jnp.array([[[1.0], [3.0], [8.0]]])
    np.testing.assert_allclose(global_pool(signal, "avg"), [[4.0]])


# ---------------------------------------------------------------- the Conv layer

@pytest.mark.parametrize("padding", ["SAME", "VALID", "CIRCULAR"])
def test_conv_layer_has_nnx_conv_parameters_and_outputs(padding):
    ours = Conv(3, 4, (3, 2), stride=(2, 1), padding=padding, rngs=nnx.Rngs(0))
    theirs = nnx.Conv(3, 4, (3, 2), strides=(2, 1), padding=padding, rngs=nnx.Rngs(0))
    assert ours.kernel.shape == theirs.kernel.shape == (3, 2, 3, 4)
    assert ours.bias.shape == theirs.bias.shape == (4,)
    # Same initializer (lecun_normal) and the same key: the same draws.
    np.testing.assert_array_equal(ours.kernel[...], theirs.kernel[...])
    theirs.bias[...] = jnp.arange(4.0)
    ours.bias[...] = jnp.arange(4.0)
    x = _inputs(2)
    np.testing.assert_allclose(ours(x), theirs(x), atol=1e-5, rtol=1e-5)


def test_conv_layer_from_an_int_window_needs_dims():
    assert Conv(2, 5, 3, dims=1, use_bias=False, rngs=nnx.Rngs(0)).kernel.shape == (3, 2, 5)
    assert Conv(2, 5, 3, dims=1, use_bias=False, rngs=nnx.Rngs(0)).bias is None
    with pytest.raises(ConfigError, match="dims"):
        Conv(2, 5, 3, rngs=nnx.Rngs(0))


# ---------------------------------------------------------------- ConvNet

def _one(config, input_shape, out=10, seed=0):
    graphdef, state = models.convnets(input_shape, out, config, rng.seed_keys(seed, 1))
    return nnx.merge(graphdef, jax.tree.map(lambda a: a[0], state))


def _abstract(config, input_shape, out=10):
    """The network with shapes only (no arrays): enough for shapes and parameter counts."""
    return nnx.eval_shape(lambda: models.ConvNet(input_shape, out, config, rngs=nnx.Rngs(0)))


def _output_shapes(config, input_shape, n=3):
    """Shapes of the logits and of every preact and feature map, by tracing only."""
    graphdef, state = nnx.split(_abstract(config, input_shape))
    x = jax.ShapeDtypeStruct((n, *input_shape), jnp.float32)
    return jax.eval_shape(lambda s, v: nnx.merge(graphdef, s)(v), state, x)


def _shapes(maps):
    return [tuple(m.shape[1:]) for m in maps]


@pytest.mark.parametrize("dims,input_shape", [(1, (40,)), (2, (8, 8))])
def test_builder_output_shapes(dims, input_shape):
    s = lambda *sizes: sizes if dims == 1 else tuple((n, n) for n in sizes)  # noqa: E731
    expected = {  # (preact spatial sizes, feature spatial sizes, channels) per conv layer
        "alexnet": (s(20, 10, 5), s(10, 5, 5), (8, 16, 16)) if dims == 1
        else (s(4, 2, 2), s(2, 2, 2), (8, 16, 16)),
        "vgg": (s(40, 40, 20, 20, 10, 10), s(40, 20, 20, 10, 10, 5), (8, 8, 16, 16, 32, 32))
        if dims == 1 else (s(8, 8, 4, 4, 2, 2), s(8, 4, 4, 2, 2, 1), (8, 8, 16, 16, 32, 32)),
        "resnet": (s(40, 40, 40, 20, 20), s(40, 40, 40, 20, 20), (8, 8, 8, 16, 16)) if dims == 1
        else (s(8, 8, 8, 4, 4), s(8, 8, 8, 4, 4), (8, 8, 8, 16, 16)),
    }
    configs = {"alexnet": models.alexnet_style(dims, 8), "vgg": models.vgg_style(dims, 8),
               "resnet": models.resnet_style(dims, 8, blocks=2)}
    for name, config in configs.items():
        logits, aux = _output_shapes(config, input_shape)
        pre, feat, channels = expected[name]
        as_shape = lambda n, c: ((n,) if dims == 1 else n) + (c,)  # noqa: E731
        assert logits.shape == (3, 10)
        assert _shapes(aux["preacts"]) == [as_shape(n, c) for n, c in zip(pre, channels)], name
        assert _shapes(aux["features"]) == [as_shape(n, c) for n, c in zip(feat, channels)], name


def test_a_trailing_channel_axis_is_accepted():
    config = ConvNetConfig(dims=2, channels=(4,), kernels=(3,), strides=(1,))
    model = _one(config, (8, 8, 3))
    assert model.convs[0].kernel.shape == (3, 3, 3, 4)
    assert model(jnp.ones((2, 8, 8, 3)))[0].shape == (2, 10)


def test_parameter_counts_by_hand():
    plain = ConvNetConfig(dims=2, channels=(4, 6), kernels=(3, 2), strides=(1, 2), hidden=(5,))
    # conv 3x3x1x4 + 4, conv 2x2x4x6 + 6, maps 8 -> 8 -> 4: flatten 4*4*6 = 96, dense 96x5 + 5,
    # head 5x3 + 3.
    expected = (9 * 4 + 4) + (4 * 4 * 6 + 6) + (96 * 5 + 5) + (5 * 3 + 3)
    assert expected == 645
    assert models.count_params(nnx.state(_abstract(plain, (8, 8), out=3))) == 645
    residual = ConvNetConfig(dims=1, channels=(3, 5), kernels=(3, 3), strides=(1, 2),
                             residual=True, global_pool="avg")
    # conv 3x2x3 + 3, conv 3x3x5 + 5, 1x1 projection 2x5 + 5, global pool -> 5, head 5x4 + 4.
    assert models.count_params(nnx.state(_abstract(residual, (10, 2), out=4))) == 21 + 50 + 15 + 24
    batch = dataclasses.replace(residual, norm="batch")  # + scale and offset per channel
    assert models.count_params(nnx.state(_abstract(batch, (10, 2), out=4))) == 110 + 2 * (3 + 5)


def test_default_convnet_is_the_cnn1d_network():
    # Same layers, so the same parameter count: 5x1x32 + 32, 2 x (5x32x32 + 32), 10*32 x 10 + 10.
    convnet = models.count_params(nnx.state(_abstract(ConvNetConfig(), (40,))))
    graphdef, state = models.cnns(40, 10, models.CNNConfig(), rng.seed_keys(0, 1))
    assert convnet == models.count_params(jax.tree.map(lambda a: a[0], state)) == 13706


def _zero_second_conv(model):
    model.convs[1].kernel[...] = jnp.zeros_like(model.convs[1].kernel[...])
    model.convs[1].bias[...] = jnp.zeros_like(model.convs[1].bias[...])
    return model


def test_residual_block_with_a_zero_second_conv_is_the_identity():
    config = ConvNetConfig(dims=1, channels=(4, 4), kernels=(3, 3), strides=(1, 1), residual=True)
    model = _zero_second_conv(_one(config, (12, 4)))
    x = jax.random.normal(jax.random.key(0), (3, 12, 4))
    _, aux = model(x)
    assert len(model.projections) == 0
    np.testing.assert_array_equal(aux["preacts"][1], x)
    np.testing.assert_array_equal(aux["features"][1], jax.nn.relu(x))


def test_residual_block_with_a_zero_second_conv_is_its_projection():
    config = ConvNetConfig(dims=2, channels=(4, 6), kernels=(3, 3), strides=(2, 1), residual=True)
    model = _zero_second_conv(_one(config, (8, 8)))
    x = jax.random.normal(jax.random.key(0), (3, 8, 8))
    _, aux = model(x)
    projection = model.projections["0"]
    assert projection.kernel.shape == (1, 1, 1, 6) and projection.stride == (2, 2)
    np.testing.assert_allclose(aux["preacts"][1], projection(x[..., None]), atol=1e-6)
    assert aux["preacts"][1].shape == (3, 4, 4, 6)


def test_an_odd_residual_stack_starts_with_a_plain_stem():
    config = models.resnet_style(1, 4, blocks=2)
    assert config.blocks == ((0,), (1, 2), (3, 4))
    # Block (3, 4) halves the map and doubles the filters: only it needs a projection.
    assert sorted(_abstract(config, (40,)).projections) == ["3"]


def test_receptive_fields_by_hand():
    three = ConvNetConfig(channels=(4,) * 3, kernels=(3,) * 3, strides=(1,) * 3)
    assert receptive_fields(three) == (3, 5, 7)
    strided = ConvNetConfig(channels=(4, 4), kernels=(5, 5), strides=(2, 2))
    assert receptive_fields(strided) == (5, 13)
    dilated = dataclasses.replace(three, dilations=(1, 2, 4))
    assert receptive_fields(dilated) == (3, 7, 15)
    pooled = ConvNetConfig(channels=(4, 4), kernels=(3, 3), strides=(1, 1), pools=(2, 1))
    # 3; the pool adds (2 - 1) x 1 and doubles the jump; the next conv adds (3 - 1) x 2.
    assert receptive_fields(pooled) == (3, 8)
    assert receptive_fields(pooled, after_pool=True) == (4, 8)


def test_receptive_fields_match_the_input_gradient_support():
    # With a linear network and random weights, an output position depends on exactly the
    # inputs in its receptive field (zeros elsewhere), so the gradient's support measures it.
    config = ConvNetConfig(dims=1, channels=(3, 3, 3), kernels=(3, 4, 3), strides=(1, 2, 1),
                           dilations=(1, 1, 2), pools=(1, 2, 1), pool_kind="avg",
                           activation="identity", padding="VALID")
    model = _one(config, (80,))
    x = jax.random.normal(jax.random.key(0), (1, 80))
    centres = [z.shape[1] // 2 for z in model(x)[1]["preacts"]]

    @jax.jit
    def gradients(v):  # of each layer's centre output with respect to the input
        return [jax.grad(lambda u: model(u)[1]["preacts"][layer][0, centre, 0])(v)
                for layer, centre in enumerate(centres)]

    supports = [int(np.count_nonzero(np.asarray(g))) for g in gradients(x)]
    assert tuple(supports) == receptive_fields(config)
    assert receptive_fields(config) == (3, 6, 24)


def test_vmapped_forward_equals_per_seed_forward():
    config = models.resnet_style(2, 4, blocks=1, norm="batch")
    graphdef, state = models.convnets((8, 8), 10, config, rng.seed_keys(0, 4))
    x = jax.random.normal(jax.random.key(1), (6, 8, 8))
    forward = jax.jit(lambda s: nnx.merge(graphdef, s)(x)[0])
    vmapped = jax.jit(jax.vmap(forward))(state)
    for seed in range(4):
        one = forward(jax.tree.map(lambda a: a[seed], state))
        np.testing.assert_allclose(vmapped[seed], one, atol=1e-5, rtol=1e-5)
    assert not np.allclose(vmapped[0], vmapped[1])


def test_batch_norm_convnet_trains_with_fit():
    keys = rng.seed_keys(0, 2)
    config = ConvNetConfig(dims=1, channels=(8, 8), kernels=(3, 3), strides=(1, 2),
                           norm="batch", global_pool="avg")
    graphdef, state = models.convnets((16,), 2, config, keys)
    x = jax.random.normal(jax.random.key(2), (64, 16))
    # Is the signal's mean positive: a global average of a linear filter decides it.
    data = {"x": x, "y": (x.mean(1) > 0).astype(jnp.int32)}
    settings = train.TrainConfig(optimizer="adam", lr=1e-2, steps=30, batch_size=32, eval_every=30)
    history = train.fit(graphdef, state, losses.cross_entropy, data, settings, keys,
                        progress=False)
    loss = history.step_metrics["loss"]
    assert np.all(loss[:, -5:].mean(1) < 0.8 * loss[:, :5].mean(1))
    stats = lambda s: jax.tree.leaves(nnx.filter_state(s, nnx.BatchStat))  # noqa: E731
    moved = [not np.allclose(a, b) for a, b in zip(stats(state), stats(history.state))]
    assert any(moved)


@pytest.mark.parametrize("residual", [False, True])
def test_a_48_layer_network_builds_and_runs(residual):
    config = ConvNetConfig(dims=1, channels=(8,) * 48, kernels=(3,) * 48, strides=(1,) * 48,
                           residual=residual, global_pool="avg")
    model = _one(config, (40,))
    logits, aux = model(jax.random.normal(jax.random.key(0), (2, 40)))
    assert logits.shape == (2, 10) and np.all(np.isfinite(logits))
    assert len(aux["preacts"]) == len(aux["features"]) == 48
    # Width and stride are constant: identity shortcuts, except from the 1-channel input.
    assert sorted(model.projections) == (["0"] if residual else [])


# ---------------------------------------------------------------- configuration

@pytest.mark.parametrize("fields,message", [
    (dict(dims=3), "dims"),
    (dict(kernels=(5, 5)), "kernels"),
    (dict(pools=(2,)), "pools"),
    (dict(strides=(1, 0, 2)), "strides"),
    (dict(padding="REFLECT"), "padding"),
    (dict(pool_kind="min"), "pool_kind"),
    (dict(global_pool="sum"), "global_pool"),
    (dict(norm="layer"), "norm"),
    (dict(activation="prelu"), "activation"),
    (dict(init="zeros"), "init"),
    (dict(residual=True, padding="VALID"), "VALID"),
    (dict(residual=True, pools=(1, 2, 1)), "pools only after"),
    (dict(hidden=(0,)), "hidden"),
])
def test_bad_configs_are_config_errors(fields, message):
    with pytest.raises(ConfigError, match=message):
        ConvNetConfig(**fields)


def test_a_network_that_shrinks_its_input_to_nothing_is_a_config_error():
    config = ConvNetConfig(channels=(4, 4), kernels=(3, 3), strides=(1, 1), pools=(4, 4))
    with pytest.raises(ConfigError, match="shrinks"):
        _one(config, (12,))


def test_every_field_is_documented_and_settable():
    described = config_lib.describe(ConvNetConfig())
    assert all(meaning for _, _, _, meaning in described)
    changed = config_lib.apply_overrides(ConvNetConfig(), {"channels": "(8, 16)",
                                                          "kernels": "3,3", "strides": "1,2",
                                                          "pools": "()"})
    assert changed.channels == (8, 16) and changed.kernels == (3, 3) and changed.pools == ()
