"""What every model shares: activation functions, initializers, and building one model per run.

Models return `(output, intermediates)`. `create` builds one model per run key with `jax.vmap`
and returns the shared `graphdef` plus a `State` pytree with a leading run axis; training code
only ever carries that `State`.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from phenomena.rng import INIT_STREAM

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

def create(make: Callable[[nnx.Rngs], nnx.Module], keys: jax.Array):
    """Build one model per key; return `(graphdef, state)` with a leading key axis on `state`.

    The model is built under an (eager) `jax.vmap`, once for all runs rather than once per run
    (`train.fit` and `experiment.map_runs` spread the run axis over the devices).
    Initialization draws from its own stream of each key (`rng.INIT_STREAM`), so it never
    shares random numbers with training.
    """
    graphdef, _ = nnx.split(nnx.eval_shape(lambda: make(nnx.Rngs(0))))
    state = jax.vmap(lambda key: nnx.state(make(nnx.Rngs(jax.random.fold_in(key, INIT_STREAM)))))(keys)
    return graphdef, state


def count_params(state) -> int:
    """Number of trainable scalars in one model's `State` (no seed axis)."""
    return sum(int(x.size) for x in jax.tree.leaves(nnx.filter_state(state, nnx.Param)))


