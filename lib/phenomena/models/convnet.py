"""A configurable 1-D / 2-D convolutional network, small AlexNet/VGG/ResNet-style configurations,
and the receptive-field formula.

`ConvNet` returns `(logits, {"preacts", "features"})` like `MLP` and `CNN1D`, so `train.fit`,
`experiment.map_runs` and the probes take it unchanged; its convolutions are `conv.Conv`
(matmuls over windows, fast under vmap over runs on the CPU).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import jax
from flax import nnx

from phenomena.config import check
from phenomena.models.conv import PADDINGS, POOL_KINDS, Conv, global_pool, output_size, pool
from phenomena.models.core import ACTIVATIONS, INITIALIZERS, create

CONV_NORMS = ("none", "batch")
GLOBAL_POOLS = ("none", "max", "avg")


@dataclasses.dataclass(frozen=True)
class ConvNetConfig:
    """Conv layers (each conv, optional BatchNorm, activation, optional pooling), then a global
    pool or a flatten, optional dense hidden layers, and a linear head.

    With `residual`, layers go in pairs, each pair a block `act(x + conv2(act(conv1(x))))`
    with a 1x1 projection of `x` when the channels or the stride change; with an odd number of
    layers the first is a plain stem. Without `norm`, every block adds its branch's variance to
    the signal's, so a deep residual stack's outputs grow with depth at He initialization (48
    layers of 16 filters: an initial cross-entropy of ~4e4, against 2.3 for the plain stack).
    The defaults are `CNNConfig`'s network (3 layers of 32 filters of width 5, strides 1, 2, 2,
    SAME, ReLU, flatten, linear head).
    """

    dims: int = 1  # spatial dims: 1 for signals (n, length), 2 for images (n, h, w)
    channels: tuple[int, ...] = (32, 32, 32)  # filters of each conv layer
    kernels: tuple[int, ...] = (5, 5, 5)  # window of each conv layer (square in 2-D)
    strides: tuple[int, ...] = (1, 2, 2)  # stride of each conv layer
    dilations: tuple[int, ...] = ()  # dilation of each conv layer (empty: all 1)
    padding: str = "SAME"  # SAME, VALID or CIRCULAR (wrap-around) for every conv layer
    pools: tuple[int, ...] = ()  # pool window (= stride) after each conv layer, 1 = none; empty: none
    pool_kind: str = "max"  # pooling after conv layers: max or avg
    global_pool: str = "none"  # before the dense layers: none (flatten), max or avg
    residual: bool = False  # conv layers in pairs as residual blocks (an odd first one is a stem)
    norm: str = "none"  # after each conv, before its activation: none or batch
    activation: str = "relu"  # identity, sigmoid, tanh, relu, leaky_relu, elu, gelu, swish
    hidden: tuple[int, ...] = ()  # dense hidden layers between the conv stack and the head
    init: str = "he_normal"  # weight initializer: glorot_*, he_*, lecun_normal, orthogonal

    def __post_init__(self):
        layers = len(self.channels)
        check(self.dims in (1, 2), f"convnet dims must be 1 or 2, got {self.dims}")
        check(layers > 0 and all(c > 0 for c in self.channels),
              f"convnet channels must be one or more positive ints, got {self.channels}")
        for name in ("kernels", "strides", "dilations", "pools"):
            values = getattr(self, name)
            may_be_empty = name in ("dilations", "pools")
            check(len(values) == layers or (may_be_empty and not values),
                  f"convnet {name} needs one entry per conv layer ({layers}), got {values}")
            check(all(v > 0 for v in values), f"convnet {name} must be positive, got {values}")
        check(all(h > 0 for h in self.hidden), f"convnet hidden must be positive, got {self.hidden}")
        check(self.padding in PADDINGS,
              f"convnet padding must be one of {', '.join(PADDINGS)}; got {self.padding!r}")
        check(self.pool_kind in POOL_KINDS, f"convnet pool_kind must be max or avg; got {self.pool_kind!r}")
        check(self.global_pool in GLOBAL_POOLS,
              f"convnet global_pool must be one of {', '.join(GLOBAL_POOLS)}; got {self.global_pool!r}")
        check(self.norm in CONV_NORMS, f"convnet norm must be none or batch; got {self.norm!r}")
        check(self.activation in ACTIVATIONS,
              f"convnet activation must be one of {', '.join(ACTIVATIONS)}; got {self.activation!r}")
        check(self.init in INITIALIZERS,
              f"convnet init must be one of {', '.join(INITIALIZERS)}; got {self.init!r}")
        if self.residual:
            check(self.padding != "VALID", "a residual convnet needs SAME or CIRCULAR padding "
                                           "(VALID shrinks the block's output below its input)")
            inner = [i for i in range(layers % 2, layers, 2) if self.layer_pools[i] != 1]
            check(not inner, f"a residual convnet pools only after a block's second conv; layers "
                             f"{inner} open a block")

    @property
    def layer_dilations(self) -> tuple[int, ...]:
        """Each conv layer's dilation (all 1 when `dilations` is empty)."""
        return self.dilations or (1,) * len(self.channels)

    @property
    def layer_pools(self) -> tuple[int, ...]:
        """Each conv layer's pool window (all 1, no pooling, when `pools` is empty)."""
        return self.pools or (1,) * len(self.channels)

    @property
    def blocks(self) -> tuple[tuple[int, ...], ...]:
        """Conv layer indices grouped as the network applies them: `(i,)` for a plain layer,
        `(i, i + 1)` for a residual block."""
        layers = len(self.channels)
        if not self.residual:
            return tuple((i,) for i in range(layers))
        stem = ((0,),) if layers % 2 else ()
        return stem + tuple((i, i + 1) for i in range(layers % 2, layers, 2))


def _split_input_shape(input_shape: Sequence[int], dims: int) -> tuple[tuple[int, ...], int]:
    """`(spatial shape, channels)` of one example: `dims` spatial axes and an optional channel axis."""
    input_shape = tuple(input_shape)
    check(len(input_shape) in (dims, dims + 1),
          f"a {dims}-D convnet takes inputs of {dims} axes (+ channels), got shape {input_shape}")
    if len(input_shape) == dims:
        return input_shape, 1
    return input_shape[:-1], input_shape[-1]


class ConvNet(nnx.Module):
    """CNN on `(n, *spatial)` or `(n, *spatial, channels)` inputs returning
    `(logits, {"preacts": ..., "features": ...})`, one map per conv layer.

    `preacts[l]` is what layer l's nonlinearity sees (after BatchNorm; for a residual block's
    second conv, the sum with the shortcut), `features[l]` the layer's output after its
    activation and pooling. BatchNorm uses batch statistics with `train=True` and its running
    averages otherwise (`train.fit` carries them).

    Compile time: XLA's CPU backend recomputes the shortcut stream inside every later fusion
    (it never materializes it; `optimization_barrier` is expanded away on the CPU), so a deep
    residual stack compiles slower than the plain one of the same depth (a vmapped gradient
    step, 8 runs, 16 filters, on a loaded 2-core machine: 16 layers 11 s against 5 s, 48 layers
    40 s against 9 s); its step takes 0.8x (16 layers) to 1.3-1.5x (48 layers) as long.
    """

    def __init__(self, input_shape: Sequence[int], out_features: int, config: ConvNetConfig, *,
                 rngs: nnx.Rngs):
        spatial, in_channels = _split_input_shape(input_shape, config.dims)
        self.dims = config.dims
        self.add_channel_axis = len(tuple(input_shape)) == config.dims
        self.activation = config.activation
        self.norm = config.norm
        self.pools = config.layer_pools
        self.pool_kind = config.pool_kind
        self.global_pool = config.global_pool
        self.blocks = config.blocks
        init = INITIALIZERS[config.init]
        sizes = list(spatial)
        convs, norms = [], []
        projections = {}
        c_prev = in_channels
        for block in config.blocks:
            c_block_in, stride_product = c_prev, 1
            for i in block:
                convs.append(Conv(c_prev, config.channels[i], config.kernels[i], dims=config.dims,
                                  stride=config.strides[i], padding=config.padding,
                                  dilation=config.layer_dilations[i], kernel_init=init, rngs=rngs))
                if config.norm == "batch":
                    norms.append(nnx.BatchNorm(config.channels[i], rngs=rngs))
                sizes = self._conv_sizes(sizes, config, i)
                c_prev, stride_product = config.channels[i], stride_product * config.strides[i]
            if len(block) == 2 and (c_block_in != c_prev or stride_product != 1):
                projections[str(block[0])] = Conv(c_block_in, c_prev, 1, dims=config.dims,
                                                  stride=stride_product, padding="SAME",
                                                  kernel_init=init, rngs=rngs)
        self.convs = nnx.List(convs)
        self.norms = nnx.List(norms) if norms else None
        # Keyed by the block's first layer; nnx.Dict keeps the projections' params in the state.
        self.projections = nnx.Dict(projections)
        features = c_prev if config.global_pool != "none" else c_prev * math.prod(sizes)
        widths = [features, *config.hidden]
        self.hidden = nnx.List([nnx.Linear(a, b, kernel_init=init, rngs=rngs)
                                for a, b in zip(widths[:-1], widths[1:])])
        self.head = nnx.Linear(widths[-1], out_features, kernel_init=init, rngs=rngs)

    @staticmethod
    def _conv_sizes(sizes: list[int], config: ConvNetConfig, i: int) -> list[int]:
        """Spatial sizes after conv layer `i` and its pool; a config error if a map vanishes."""
        k, s, d, p = (config.kernels[i], config.strides[i], config.layer_dilations[i],
                      config.layer_pools[i])
        if config.padding == "VALID":
            sizes = [output_size(n, k, s, 0, d) for n in sizes]
        else:
            sizes = [-(-n // s) for n in sizes]
        sizes = [n // p for n in sizes]
        check(all(n > 0 for n in sizes), f"convnet layer {i} shrinks the input to nothing "
                                         f"(sizes {sizes}): fewer strides, pools or VALID convs")
        return sizes

    def _conv_norm(self, i: int, h: jax.Array, train: bool) -> jax.Array:
        """Conv layer `i` and its BatchNorm (if any), before the activation."""
        z = self.convs[i](h)
        if self.norms is not None:
            z = self.norms[i](z, use_running_average=not train)
        return z

    def _pool(self, i: int, h: jax.Array) -> jax.Array:
        return h if self.pools[i] == 1 else pool(h, self.pools[i], kind=self.pool_kind)

    def __call__(self, x: jax.Array, *, train: bool = False, key: jax.Array | None = None):
        act = ACTIVATIONS[self.activation]
        h = x[..., None] if self.add_channel_axis else x
        preacts, features = [], []
        for block in self.blocks:
            if len(block) == 1:
                (i,) = block
                z = self._conv_norm(i, h, train)
                preacts.append(z)
            else:
                i, j = block
                shortcut = self.projections[str(i)](h) if str(i) in self.projections else h
                z = self._conv_norm(i, h, train)
                preacts.append(z)
                features.append(act(z))
                z = shortcut + self._conv_norm(j, act(z), train)
                preacts.append(z)
                i = j
            h = self._pool(i, act(z))
            features.append(h)
        h = global_pool(h, self.global_pool) if self.global_pool != "none" else h.reshape(h.shape[0], -1)
        for layer in self.hidden:
            h = act(layer(h))
        return self.head(h), {"preacts": tuple(preacts), "features": tuple(features)}


def convnets(input_shape: Sequence[int], out_features: int, config: ConvNetConfig, keys: jax.Array):
    """`(graphdef, state)` of one ConvNet per key (state has a leading key axis)."""
    return create(lambda rngs: ConvNet(input_shape, out_features, config, rngs=rngs), keys)


# ---------------------------------------------------------------- small classic architectures

def alexnet_style(dims: int, width: int = 16, **overrides) -> ConvNetConfig:
    """AlexNet's shape for length-40 signals or 8x8 images: a large strided first kernel,
    max pooling, widening convs, then two dense hidden layers of 4 x `width` units.

    Signals: kernels 9, 5, 3 (first stride 2), pools 2, 2 (40 -> 20 -> 10 -> 5 -> 5).
    Images: kernels 5, 3, 3 (first stride 2), a pool 2 (8 -> 4 -> 2 -> 2 -> 2).
    `overrides` replace any config field (e.g. `norm="batch"`).
    """
    kernels, pools = ((9, 5, 3), (2, 2, 1)) if dims == 1 else ((5, 3, 3), (2, 1, 1))
    config = ConvNetConfig(dims=dims, channels=(width, 2 * width, 2 * width), kernels=kernels,
                           strides=(2, 1, 1), pools=pools, pool_kind="max",
                           hidden=(4 * width, 4 * width))
    return dataclasses.replace(config, **overrides)


def vgg_style(dims: int, width: int = 16, **overrides) -> ConvNetConfig:
    """VGG's shape: three stages of two 3-tap (3x3) convs, each stage closed by a max pool of 2
    and doubling the filters (`width`, 2 `width`, 4 `width`), then two dense hidden layers.

    Signals 40 -> 20 -> 10 -> 5; images 8 -> 4 -> 2 -> 1.
    """
    config = ConvNetConfig(dims=dims, channels=(width, width, 2 * width, 2 * width, 4 * width, 4 * width),
                           kernels=(3,) * 6, strides=(1,) * 6, pools=(1, 2) * 3, pool_kind="max",
                           hidden=(4 * width, 4 * width))
    return dataclasses.replace(config, **overrides)


def resnet_style(dims: int, width: int = 16, blocks: int = 2, **overrides) -> ConvNetConfig:
    """ResNet's shape: a 3-tap (3x3) stem of `width` filters, `blocks` residual blocks of two
    3-tap convs, global average pooling and a linear head. The second half of the blocks
    (from block `blocks // 2`, when there are two or more) has 2 `width` filters, its first
    conv stride 2 (the shortcut then is a strided 1x1 projection).
    """
    check(blocks > 0, f"resnet_style needs one or more blocks, got {blocks}")
    channels, strides = [width], [1]
    for b in range(blocks):
        wide = blocks >= 2 and b >= blocks // 2
        channels += [2 * width if wide else width] * 2
        strides += [2 if wide and b == blocks // 2 else 1, 1]
    config = ConvNetConfig(dims=dims, channels=tuple(channels), kernels=(3,) * len(channels),
                           strides=tuple(strides), residual=True, global_pool="avg")
    return dataclasses.replace(config, **overrides)


def receptive_fields(config: ConvNetConfig, *, after_pool: bool = False) -> tuple[int, ...]:
    """Receptive field (input samples, or pixels along one axis) of each conv layer's output.

    r_l = r_{l-1} + (k_l - 1) d_l j_{l-1} and j_l = j_{l-1} s_l, from r_0 = j_0 = 1; a pool of
    window p counts as a layer with k = s = p. A layer's output is taken before its pool
    (the map `preacts` holds) unless `after_pool` (the map `features` holds). A residual
    shortcut never widens the field, so blocks follow the same formula.
    """
    r, j = 1, 1
    fields = []
    for k, s, d, p in zip(config.kernels, config.strides, config.layer_dilations, config.layer_pools):
        r, j = r + (k - 1) * d * j, j * s
        before = r
        r, j = r + (p - 1) * j, j * p
        fields.append(r if after_pool else before)
    return tuple(fields)
