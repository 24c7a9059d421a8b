"""Coupled weight penalties: an L2 term (λ/2)‖w‖² added to the loss.

This is the *coupled* form of weight decay: the penalty's gradient λw joins the data gradient
before the optimizer sees it, so an adaptive optimizer (Adam) rescales it along with the data
gradient. The *decoupled* form shrinks the weights outside the gradient
(`optax.add_decayed_weights`, `optax.adamw`; `OptimizerSpec(decoupled_decay=True)`). Under
plain SGD the two are the same update; under Adam they are not (Loshchilov & Hutter 2019).

The group-lasso proximal step (`group_soft_threshold`, `group_l1_proximal`) zeroes whole rows
of a weight matrix at once, e.g. every weight leaving one input (`OptimizerSpec(l1=True,
l1_rows=True)`).

`with_l2(loss_fn, λ)` is a frozen dataclass, so it hashes by value and `train.fit` reuses its
compiled programs for equal penalties.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
import optax
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


def group_soft_threshold(w: jax.Array, threshold) -> jax.Array:
    """The group-lasso proximal map over the rows of `w` (groups along the last axis).

    Each row r becomes `r * max(0, 1 - t / ‖r‖)` with `t = threshold * √(row length)` (Yuan &
    Lin 2006's weighting, so `threshold` is on the scale of an element-wise L1 strength): a row
    whose norm is at most `t` becomes exactly 0 as a whole, a longer one shrinks towards 0
    without changing direction. For a first-layer kernel (inputs, units) a row is all the
    weights leaving one input, so a zero row removes that input from the network.
    """
    t = threshold * jnp.sqrt(jnp.asarray(w.shape[-1], w.dtype))
    norm = jnp.linalg.norm(w, axis=-1, keepdims=True)
    # where(): a zero row has no direction; its scale is 0 either way (no 0/0 gradient path).
    scale = jnp.where(norm > t, 1.0 - t / jnp.where(norm > 0, norm, 1.0), 0.0)
    return w * scale


def group_l1_proximal(threshold):
    """Optax transform: after the preceding update, apply `group_soft_threshold` to every
    parameter (rows as groups). Chained after `sgd(lr)` with `threshold = lr * λ` it is the
    proximal-gradient step of the group lasso λ Σ_rows √(row length) ‖row‖ (Optax and Flax
    provide no group prox)."""
    def init(params):
        del params
        return optax.EmptyState()

    def update(updates, state, params):
        if params is None:
            raise ValueError("group_l1_proximal needs params")
        return jax.tree.map(lambda u, w: group_soft_threshold(w + u, threshold) - w,
                            updates, params), state

    return optax.GradientTransformation(init, update)
