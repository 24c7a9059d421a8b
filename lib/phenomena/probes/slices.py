"""Loss slices: the loss along a line between two parameter sets, and 1-D/2-D random slices.

`loss(params)` is a scalar function of a parameter pytree (see `curvature`). Every slice
evaluates the loss on its whole grid with `jax.vmap`, so one compiled call draws a curve or a
contour map; vmap these functions again over seeds.

Random directions are filter-normalized (Li et al. 2018, "Visualizing the Loss Landscape of
Neural Nets"): each filter of a Gaussian direction is rescaled to the norm of the matching
filter of the parameters, so the slice does not depend on the scale invariances of the net.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

Loss = Callable[[Any], jax.Array]


def interpolate(params_a, params_b, alpha):
    """(1 - alpha) A + alpha B, leaf by leaf."""
    return jax.tree.map(lambda a, b: (1 - alpha) * a + alpha * b, params_a, params_b)


def line_losses(loss: Loss, params_a, params_b, alphas) -> jax.Array:
    """Loss at (1 - a) A + a B for every a in `alphas` (alpha 0 is A, 1 is B): shape (len(alphas),)."""
    return jax.vmap(lambda alpha: loss(interpolate(params_a, params_b, alpha)))(jnp.asarray(alphas))


def _filter_axes(leaf) -> tuple[int, ...]:
    """Axes a filter spans: all but the last (output) axis, e.g. a Dense kernel's column."""
    return tuple(range(leaf.ndim - 1))


def filter_normalized_direction(key: jax.Array, params):
    """A Gaussian direction with each filter rescaled to the norm of the params' filter.

    For a kernel with two or more axes the filters are slices along the last (output) axis:
    for a Dense kernel of shape (in, out) one filter is one unit's incoming weights (a
    column); for a conv kernel (h, w, in, out) one output channel. Biases and other 1-D or
    scalar parameters (BatchNorm scale and bias) are zero in the direction, as in Li et al.
    """
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))

    def direction_leaf(leaf, leaf_key):
        if leaf.ndim < 2:
            return jnp.zeros_like(leaf)
        axes = _filter_axes(leaf)
        gaussian = jax.random.normal(leaf_key, leaf.shape, leaf.dtype)
        target = jnp.sqrt(jnp.sum(leaf**2, axis=axes, keepdims=True))
        current = jnp.sqrt(jnp.sum(gaussian**2, axis=axes, keepdims=True))
        return gaussian * (target / current)

    return jax.tree.unflatten(treedef, [direction_leaf(x, k) for x, k in zip(leaves, keys)])


def _shift(params, direction, step):
    return jax.tree.map(lambda p, d: p + step * d, params, direction)


def slice_1d(loss: Loss, params, direction, alphas) -> jax.Array:
    """Loss at params + a d for every a in `alphas`: shape (len(alphas),)."""
    return jax.vmap(lambda a: loss(_shift(params, direction, a)))(jnp.asarray(alphas))


def slice_2d(loss: Loss, params, d1, d2, alphas, betas) -> jax.Array:
    """Loss at params + a d1 + b d2 on the grid: shape (len(alphas), len(betas)), [i, j] = (a_i, b_j)."""

    def at(a, b):
        return loss(_shift(_shift(params, d1, a), d2, b))

    along_betas = jax.vmap(at, in_axes=(None, 0))
    return jax.vmap(along_betas, in_axes=(0, None))(jnp.asarray(alphas), jnp.asarray(betas))
