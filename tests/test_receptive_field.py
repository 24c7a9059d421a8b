"""probes.receptive_field: measured receptive fields of plain `lax` stacks against fields worked
out by hand, and of `ConvNet`s against `models.receptive_fields` (the formula), in 1-D and 2-D.

The formula: r_l = r_{l-1} + (k_l - 1) d_l j_{l-1}, j_l = j_{l-1} s_l, from r_0 = j_0 = 1.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax import lax

from phenomena import models
from phenomena.probes.receptive_field import (input_gradient_support, measured_receptive_field,
                                              measured_receptive_fields)


def _kernel(layer, channels_in, channels, key=None):
    """A conv layer's kernel (*window, c_in, c_out): all ones, or He-scaled normal with `key`."""
    _, kernel, *_ = layer
    shape = (*((kernel,) if isinstance(kernel, int) else kernel), channels_in, channels)
    if key is None:
        return jnp.ones(shape)
    return jax.random.normal(key, shape) * np.sqrt(2 / np.prod(shape[:-1]))


def _conv(h, w, stride=1, dilation=1):
    """A SAME-padded convolution of `h` (n, *spatial, c_in) with kernel `w`."""
    dims = w.ndim - 2
    spatial = "WHD"[:dims][::-1]  # "W" in 1-D, "HW" in 2-D
    numbers = (f"N{spatial}C", f"{spatial}IO", f"N{spatial}C")
    return lax.conv_general_dilated(h, w, (stride,) * dims, "SAME", rhs_dilation=(dilation,) * dims,
                                    dimension_numbers=numbers)


def _max_pool(h, window):
    """Max pooling, window = stride, over the spatial axes of `h` (n, *spatial, channels)."""
    dims = (1, *(window,) * (h.ndim - 2), 1)
    return lax.reduce_window(h, -jnp.inf, lax.max, dims, dims, "VALID")


def _stack(layers, *, random_weights=False, relu=False, channels=1):
    """x (n, *spatial) -> the map after every layer of `layers`, each ("conv", kernel, stride,
    dilation) or ("pool", window); conv layers have `channels` maps."""
    keys = jax.random.split(jax.random.key(7), len(layers))
    kernels = [_kernel(layer, 1 if i == 0 else channels, channels,
                       keys[i] if random_weights else None)
               if layer[0] == "conv" else None for i, layer in enumerate(layers)]

    def apply(x):
        h, maps = x[..., None], []
        for w, (kind, *spec) in zip(kernels, layers):
            if kind == "pool":
                h = _max_pool(h, *spec)
            else:
                h = _conv(h, w, *spec[1:])
                h = jax.nn.relu(h) if relu else h
            maps.append(h)
        return maps

    return apply


def _measured_1d(apply, length=121, batch=8):
    """Every layer's measured field along the one spatial axis."""
    return [field for (field,) in measured_receptive_fields(apply, (batch, length))]


@pytest.mark.parametrize("random_weights", [False, True])
def test_three_stride_one_convs_see_3_5_7(random_weights):
    layers = [("conv", 3, 1, 1)] * 3
    assert _measured_1d(_stack(layers, random_weights=random_weights)) == [3, 5, 7]


def test_kernel_5_stride_2_twice_sees_5_then_13():
    layers = [("conv", 5, 2, 1)] * 2
    assert _measured_1d(_stack(layers, random_weights=True)) == [5, 13]


def test_dilated_convs_match_the_formula():
    layers = [("conv", 3, 1, 1), ("conv", 3, 1, 2), ("conv", 3, 2, 2), ("conv", 3, 1, 1)]
    # 1 + 2 = 3; + 2*2 = 7; + 2*2 = 11 (jump now 2); + 2*2 = 15
    assert _measured_1d(_stack(layers, random_weights=True)) == [3, 7, 11, 15]


def test_dilated_field_is_a_span_with_holes():
    """One dilation-2, 3-tap conv touches inputs -2, 0, 2: three positions, a span of 5."""
    support = input_gradient_support(_stack([("conv", 3, 1, 2)]), (4, 21), 0)
    assert np.flatnonzero(support).tolist() == [8, 10, 12]
    assert measured_receptive_field(_stack([("conv", 3, 1, 2)]), (4, 21), 0) == (5,)


def test_relu_and_max_pooling_need_the_union_over_random_inputs():
    layers = [("conv", 3, 1, 1), ("pool", 2), ("conv", 3, 1, 1), ("pool", 2),
              ("conv", 3, 1, 1), ("pool", 2)]
    # One channel could die outright (a layer whose weights are all negative): use several.
    apply = _stack(layers, random_weights=True, relu=True, channels=4)
    # conv +2 (jump 1), pool +1 (jump 2), conv +4, pool +2 (jump 4), conv +8, pool +4
    assert _measured_1d(apply, batch=64) == [3, 4, 8, 10, 18, 22]
    # One input at a time loses edges of the field (a ReLU off, an argmax elsewhere).
    singles = [measured_receptive_field(apply, (1, 121), 5, seed=s)[0] for s in range(3)]
    assert singles == [22, 18, 16]


def test_two_dimensional_fields_per_axis():
    layers = [("conv", (3, 5), 1, 1), ("conv", (3, 5), 1, 1), ("pool", 2), ("conv", (3, 3), 1, 1)]
    apply = _stack(layers, random_weights=True)
    fields = measured_receptive_fields(apply, (16, 41, 41))
    assert measured_receptive_field(apply, (16, 41, 41), 3) == fields[3]
    # Rows: 3, 5, pool 6, +2*2 = 10; columns: 5, 9, pool 10, +2*2 = 14.
    assert fields == [(3, 5), (5, 9), (6, 10), (10, 14)]


def test_input_channels_after_the_spatial_axes_are_united():
    """(n, h, w, c) input: two spatial axes, the channel axis summed like the batch."""

    def apply(x):
        w = jax.random.normal(jax.random.key(0), (3, 3, 2, 4))
        return lax.conv_general_dilated(x, w, (1, 1), "SAME",
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))

    assert measured_receptive_field(apply, (4, 15, 15, 2), spatial_dims=2) == (3, 3)
    assert input_gradient_support(apply, (4, 15, 15, 2), spatial_dims=2).shape == (15, 15)


def test_a_field_that_reaches_the_border_is_refused():
    layers = [("conv", 5, 2, 1)] * 2  # field 13
    with pytest.raises(ValueError, match="border"):
        measured_receptive_field(_stack(layers), (2, 13), 1)
    assert measured_receptive_field(_stack(layers), (2, 41), 1) == (13,)


def test_a_dead_map_has_no_field():
    assert measured_receptive_field(lambda x: [jnp.zeros_like(x) * x], (2, 9), 0) == (0,)


def test_the_library_cnn_matches_the_formula():
    """CNN1D: kernel 5, strides 1, 2, 2: pre-activation fields 5, 9, 17."""
    config = models.CNNConfig(channels=8, layers=3, kernel=5, stride=2)
    graphdef, state = models.cnns(101, 10, config, jax.random.key(0)[None])
    net = nnx.merge(graphdef, jax.tree.map(lambda a: a[0], state))
    fields = measured_receptive_fields(lambda x: net(x)[1]["preacts"], (16, 101))
    assert fields == [(5,), (9,), (17,)]


def _convnet(config, spatial):
    """One freshly initialized ConvNet (He weights, ReLU) on inputs of shape `spatial`."""
    graphdef, state = models.convnets(spatial, 10, config, jax.random.key(0)[None])
    return nnx.merge(graphdef, jax.tree.map(lambda a: a[0], state))


CONVNETS = {
    "default": (models.ConvNetConfig(channels=(8, 8, 8)), 101),
    "vgg": (models.vgg_style(1, width=8), 121),
    "alexnet": (models.alexnet_style(1, width=8), 121),
    "dilated": (models.ConvNetConfig(channels=(8,) * 4, kernels=(3,) * 4, strides=(1, 1, 2, 1),
                                     dilations=(1, 2, 4, 1), pools=(1, 2, 1, 1)), 121),
    "resnet": (models.resnet_style(1, width=8, blocks=2), 61),
    "vgg_2d": (models.vgg_style(2, width=4), (41, 41)),
}


@pytest.mark.parametrize("name", list(CONVNETS))
def test_convnet_fields_match_the_formula(name):
    """Before each pool (`preacts`) and after it (`features`), every conv layer's measured
    field equals `models.receptive_fields`; a residual shortcut does not widen it."""
    config, spatial = CONVNETS[name]
    spatial = spatial if isinstance(spatial, tuple) else (spatial,)
    net = _convnet(config, spatial)
    for key, after_pool in (("preacts", False), ("features", True)):
        formula = models.receptive_fields(config, after_pool=after_pool)
        measured = measured_receptive_fields(lambda x: net(x)[1][key], (32, *spatial))
        assert measured == [(r,) * len(spatial) for r in formula], (key, formula)
