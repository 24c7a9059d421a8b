"""Flax NNX models behind a pure functional boundary.

Models return `(output, intermediates)`: the intermediates hold every hidden layer's
pre-activation, so probes (dead units, activation statistics) need no extra plumbing.
`create` builds one model per seed with `jax.vmap` and returns the shared `graphdef` plus a
`State` pytree with a leading seed axis; training code only ever carries that `State`.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from phenomena.config import check
from phenomena.runtime import shard_runs

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "identity": lambda x: x,
    "sigmoid": jax.nn.sigmoid,
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "leaky_relu": jax.nn.leaky_relu,  # negative slope 0.01
    "elu": jax.nn.elu,
    "gelu": jax.nn.gelu,
    "swish": jax.nn.swish,
}
# PReLU has a learned negative slope, so it is a module rather than a function.
LEARNED_ACTIVATIONS = ("prelu",)
PRELU_INIT_SLOPE = 0.25  # He et al. 2015

INITIALIZERS = {
    "glorot_normal": jax.nn.initializers.glorot_normal(),
    "glorot_uniform": jax.nn.initializers.glorot_uniform(),
    "he_normal": jax.nn.initializers.he_normal(),
    "he_uniform": jax.nn.initializers.he_uniform(),
    "lecun_normal": jax.nn.initializers.lecun_normal(),
    "orthogonal": jax.nn.initializers.orthogonal(),
}

NORMALIZATIONS = ("none", "layer", "batch")
INIT_STREAM = 0  # fold_in index of each run key used for initialization (training uses 1)


@dataclasses.dataclass(frozen=True)
class MLPConfig:
    """A fully connected network: `depth` hidden layers of `width` units."""

    width: int = 64
    depth: int = 3
    activation: str = "relu"
    init: str = "he_normal"
    bias: bool = True
    norm: str = "none"
    dtype: str = "float32"  # "float64" needs `jax.enable_x64(True)` around creation and use
    dropout: float = 0.0    # drop rate after every hidden activation, in training only
    residual: bool = False  # hidden layers 2..L add their output to their input (skip connections)

    def __post_init__(self):
        check(self.width > 0, f"model.width must be positive, got {self.width}")
        check(self.depth >= 0, f"model.depth must be >= 0, got {self.depth}")
        names = (*ACTIVATIONS, *LEARNED_ACTIVATIONS)
        check(self.activation in names,
              f"model.activation must be one of {', '.join(names)}; got {self.activation!r}")
        check(self.init in INITIALIZERS,
              f"model.init must be one of {', '.join(INITIALIZERS)}; got {self.init!r}")
        check(self.norm in NORMALIZATIONS,
              f"model.norm must be one of {', '.join(NORMALIZATIONS)}; got {self.norm!r}")
        check(self.dtype in ("float32", "float64"),
              f"model.dtype must be float32 or float64; got {self.dtype!r}")
        check(0 <= self.dropout < 1, f"model.dropout must be in [0, 1), got {self.dropout}")


class MLP(nnx.Module):
    """Multilayer perceptron returning `(logits, {"preacts": (z_1, ..., z_L)})`.

    `z_l` is layer l's pre-activation (after normalization, i.e. what the nonlinearity sees),
    the quantity that defines a dead unit and whose bias gradient measures vanishing.
    With `residual`, layer l >= 2 computes `x + act(norm(W x + b))` (layer 1 maps the input
    to `width`, so shapes match). With `dropout`, each hidden output is dropped at that rate
    in training, with the key passed to the call; evaluation (`train=False`) is deterministic.
    """

    def __init__(self, in_features: int, out_features: int, config: MLPConfig, *, rngs: nnx.Rngs):
        init = INITIALIZERS[config.init]
        dtype = jnp.dtype(config.dtype)
        dims = [in_features] + [config.width] * config.depth
        self.hidden = nnx.List([
            nnx.Linear(a, b, use_bias=config.bias, kernel_init=init, param_dtype=dtype, rngs=rngs)
            for a, b in zip(dims[:-1], dims[1:])
        ])
        if config.norm == "layer":
            self.norms = nnx.List([nnx.LayerNorm(config.width, param_dtype=dtype, rngs=rngs)
                                   for _ in range(config.depth)])
        elif config.norm == "batch":
            self.norms = nnx.List([nnx.BatchNorm(config.width, param_dtype=dtype, rngs=rngs)
                                   for _ in range(config.depth)])
        else:
            self.norms = None
        if config.activation == "prelu":
            self.prelus = nnx.List([nnx.PReLU(PRELU_INIT_SLOPE, param_dtype=dtype)
                                    for _ in range(config.depth)])
        else:
            self.prelus = None
        self.activation = config.activation
        self.norm = config.norm
        self.residual = config.residual
        self.dropout = nnx.Dropout(config.dropout) if config.dropout > 0 else None
        self.head = nnx.Linear(dims[-1], out_features, use_bias=config.bias, kernel_init=init,
                               param_dtype=dtype, rngs=rngs)

    def hidden_layer(self, i: int, x: jax.Array, *, train: bool = False):
        """Hidden layer `i` on input `x`: returns `(pre-activation, activation)`."""
        z = self.hidden[i](x)
        if self.norm == "batch":
            z = self.norms[i](z, use_running_average=not train)
        elif self.norm == "layer":
            z = self.norms[i](z)
        h = self.prelus[i](z) if self.prelus is not None else ACTIVATIONS[self.activation](z)
        return z, h

    def __call__(self, x: jax.Array, *, train: bool = False, key: jax.Array | None = None):
        preacts = []
        if self.dropout is not None and train:
            if key is None:
                raise ValueError("a model with dropout needs a key in training (train=True)")
            keys = jax.random.split(key, len(self.hidden))
        for i in range(len(self.hidden)):
            z, h = self.hidden_layer(i, x, train=train)
            if self.dropout is not None:
                # The key comes with the call (pure boundary); no Rngs state in the module.
                h = self.dropout(h, deterministic=not train, rngs=keys[i] if train else None)
            x = x + h if self.residual and i > 0 else h
            preacts.append(z)
        return self.head(x), {"preacts": tuple(preacts)}


def create(make: Callable[[nnx.Rngs], nnx.Module], keys: jax.Array):
    """Build one model per key; return `(graphdef, state)` with a leading key axis on `state`.

    The model is built under an (eager) `jax.vmap`, once for all seeds rather than once per
    seed, and the seed axis is spread over the available devices. Initialization draws from
    its own stream of each key, so it never shares random numbers with training (`train.fit`).
    """
    graphdef, _ = nnx.split(nnx.eval_shape(lambda: make(nnx.Rngs(0))))
    state = jax.vmap(lambda key: nnx.state(make(nnx.Rngs(jax.random.fold_in(key, INIT_STREAM)))))(keys)
    return graphdef, shard_runs(state)


def count_params(state) -> int:
    """Number of trainable scalars in one model's `State` (no seed axis)."""
    return sum(int(x.size) for x in jax.tree.leaves(nnx.filter_state(state, nnx.Param)))


def mlps(in_features: int, out_features: int, config: MLPConfig, keys: jax.Array):
    """`(graphdef, state)` of one MLP per key (state has a leading key axis)."""
    return create(lambda rngs: MLP(in_features, out_features, config, rngs=rngs), keys)


@dataclasses.dataclass(frozen=True)
class CNNConfig:
    """A 1-D convolutional network for signals (MNIST-1D): conv layers, then a linear head.

    Each conv layer has `channels` filters of width `kernel`, ReLU, and stride `stride`
    (after the first layer), so the map shrinks while the filters are shared across positions:
    the translation equivariance an MLP lacks (Greydanus 2020: CNN ~94 % vs MLP ~68 % on
    MNIST-1D).
    """

    channels: int = 32
    layers: int = 3
    kernel: int = 5
    stride: int = 2
    init: str = "he_normal"

    def __post_init__(self):
        check(self.channels > 0 and self.layers > 0, "cnn channels and layers must be positive")
        check(self.kernel > 0 and self.stride > 0, "cnn kernel and stride must be positive")
        check(self.init in INITIALIZERS,
              f"cnn init must be one of {', '.join(INITIALIZERS)}; got {self.init!r}")


def sliding_windows(x: jax.Array, width: int, stride: int) -> jax.Array:
    """Windows of `width` positions of `x` (n, length, channels), zero-padded to keep the
    length ("SAME"), every `stride`-th position: (n, ceil(length / stride), width * channels)."""
    left = (width - 1) // 2
    padded = jnp.pad(x, ((0, 0), (left, width - 1 - left), (0, 0)))
    length = x.shape[1]
    windows = jnp.concatenate([padded[:, i:i + length] for i in range(width)], axis=-1)
    return windows[:, ::stride]


class CNN1D(nnx.Module):
    """1-D CNN on `(n, length)` signals returning `(logits, {"preacts": per-layer maps})`.

    Each convolution is an `nnx.Linear` applied to sliding windows (im2col): the same
    arithmetic as `nnx.Conv`, but under `vmap` over runs it stays a batched matmul, where
    XLA's CPU backend turns a vmapped `nnx.Conv` into a grouped convolution about 20x slower
    (measured: 24 runs x 200 steps took 38 s against ~2 s).
    """

    def __init__(self, length: int, out_features: int, config: CNNConfig, *, rngs: nnx.Rngs):
        init = INITIALIZERS[config.init]
        self.kernel = config.kernel
        self.strides = (1,) + (config.stride,) * (config.layers - 1)
        self.convs = nnx.List([
            nnx.Linear(config.kernel * (1 if i == 0 else config.channels), config.channels,
                       kernel_init=init, rngs=rngs)
            for i in range(config.layers)])
        flat = length
        for stride in self.strides:
            flat = -(-flat // stride)  # SAME padding: ceil(length / stride)
        self.head = nnx.Linear(flat * config.channels, out_features, kernel_init=init, rngs=rngs)

    def conv(self, i: int, h: jax.Array) -> jax.Array:
        """Convolution layer `i` (before its ReLU) on maps `h` of shape (n, length, channels)."""
        return self.convs[i](sliding_windows(h, self.kernel, self.strides[i]))

    def __call__(self, x: jax.Array, *, train: bool = False, key: jax.Array | None = None):
        h = x[..., None]
        preacts = []
        for i in range(len(self.convs)):
            z = self.conv(i, h)
            preacts.append(z)
            h = jax.nn.relu(z)
        return self.head(h.reshape(h.shape[0], -1)), {"preacts": tuple(preacts)}


def cnns(length: int, out_features: int, config: CNNConfig, keys: jax.Array):
    """`(graphdef, state)` of one 1-D CNN per key (state has a leading key axis)."""
    return create(lambda rngs: CNN1D(length, out_features, config, rngs=rngs), keys)
