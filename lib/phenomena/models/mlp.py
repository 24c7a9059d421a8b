"""A fully connected network (MLP) with optional normalization, dropout and skip connections."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import nnx

from phenomena.config import check
from phenomena.models.core import (ACTIVATIONS, INITIALIZERS, LEARNED_ACTIVATIONS,
                                     PRELU_INIT_SLOPE, create)

NORMALIZATIONS = ("none", "layer", "batch")


@dataclasses.dataclass(frozen=True)
class MLPConfig:
    """A fully connected network: `depth` hidden layers of `width` units."""

    width: int = 64  # units per hidden layer
    depth: int = 3  # hidden layers (0: a linear model)
    activation: str = "relu"  # identity, sigmoid, tanh, relu, leaky_relu, elu, gelu, swish, prelu
    init: str = "he_normal"  # weight initializer: glorot_*, he_*, lecun_normal, orthogonal
    bias: bool = True  # whether every layer has a bias
    norm: str = "none"  # normalization before each activation: none, layer or batch
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


def mlps(in_features: int, out_features: int, config: MLPConfig, keys: jax.Array):
    """`(graphdef, state)` of one MLP per key (state has a leading key axis)."""
    return create(lambda rngs: MLP(in_features, out_features, config, rngs=rngs), keys)


