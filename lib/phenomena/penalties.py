"""Coupled weight penalties: an L2 term (λ/2)‖w‖² added to the loss.

This is the *coupled* form of weight decay: the penalty's gradient λw joins the data gradient
before the optimizer sees it, so an adaptive optimizer (Adam) rescales it along with the data
gradient. The *decoupled* form shrinks the weights outside the gradient
(`optax.add_decayed_weights`, `optax.adamw`; `OptimizerSpec(decoupled_decay=True)`). Under
plain SGD the two are the same update; under Adam they are not (Loshchilov & Hutter 2019).

`with_l2(loss_fn, λ)` is a frozen dataclass, so it hashes by value and `train.fit` reuses its
compiled programs for equal penalties.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
from flax import nnx


@dataclasses.dataclass(frozen=True)
class KernelMask:
    """Selects the weight matrices (`kernel`) of a parameter tree, leaving biases and scales."""

    def __call__(self, params):
        return jax.tree_util.tree_map_with_path(
            # An nnx.State path ends in the variable's `.value`, after the `['kernel']` key.
            lambda path, _: "['kernel']" in jax.tree_util.keystr(path), params)


def squared_norm(params, mask: Callable | None = None) -> jax.Array:
    """‖w‖² summed over the leaves of `params` that `mask` selects (all leaves when None)."""
    selected = mask(params) if mask is not None else jax.tree.map(lambda _: True, params)
    terms = [jnp.sum(jnp.square(w)) for w, keep in zip(jax.tree.leaves(params),
                                                       jax.tree.leaves(selected)) if keep]
    return sum(terms, jnp.zeros((), jax.tree.leaves(params)[0].dtype))


@dataclasses.dataclass(frozen=True)
class WithL2:
    """`loss_fn` plus (coefficient / 2) times the squared norm of the model's parameters.

    `mask` (a hashable callable on the parameter tree, e.g. `KernelMask()` or
    `optim.PathMask`) restricts the penalty; None penalizes every parameter, which matches
    `optax.add_decayed_weights` without a mask. The penalty is logged as `l2_penalty`.
    """

    loss_fn: Callable
    coefficient: float
    mask: Callable | None = None

    def __post_init__(self):
        if self.coefficient < 0:
            raise ValueError(f"L2 coefficient must be >= 0, got {self.coefficient}")

    def __call__(self, model, batch, *, train: bool = False, key=None):
        loss, aux = self.loss_fn(model, batch, train=train, key=key)
        params = nnx.state(model, nnx.Param)
        penalty = 0.5 * self.coefficient * squared_norm(params, self.mask)
        return loss + penalty, {**aux, "l2_penalty": penalty}


def with_l2(loss_fn: Callable, coefficient: float, mask: Callable | None = None) -> WithL2:
    """`loss_fn` with the coupled L2 penalty (coefficient/2)‖w‖² (over `mask`'s parameters)."""
    return WithL2(loss_fn, coefficient, mask)


def zero_loss(model, batch, *, train: bool = False, key=None):
    """A loss with no data gradient (always 0): with `with_l2` only the penalty drives training."""
    del model, batch, train, key
    return jnp.zeros(()), {}
