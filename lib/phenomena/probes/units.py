"""Diagnostics computed inside jit: gradient norms, dead units, activation statistics, sparsity.

All functions are pure and work on one model (no seed axis); callers vmap them.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from flax import nnx


def safe_norm(x: jax.Array) -> jax.Array:
    """Euclidean norm of all entries of `x`, computed scale-safely.

    Dividing by the largest magnitude first keeps the squares of tiny values (1e-25 and below,
    common for vanishing gradients) from underflowing to zero in float32.
    """
    x = jnp.ravel(x)
    scale = jnp.max(jnp.abs(x))
    safe_scale = jnp.where(scale > 0, scale, 1.0)
    return jnp.where(scale > 0, scale * jnp.sqrt(jnp.sum((x / safe_scale) ** 2)), 0.0)


def tree_norm(tree) -> jax.Array:
    """Scale-safe global norm of a pytree."""
    leaves = [jnp.ravel(leaf) for leaf in jax.tree.leaves(tree)]
    return safe_norm(jnp.concatenate(leaves)) if leaves else jnp.float32(0)


def hidden_bias_grads(grads) -> list[jax.Array]:
    """The bias gradients ∂L/∂b_l of an MLP's hidden layers, first to last."""
    return [grads["hidden"][i]["bias"][...] for i in range(len(grads["hidden"]))]


def hidden_bias_grad_norms(graphdef, state, loss_fn, batch) -> jax.Array:
    """Per-layer ‖∂L/∂b_l‖ of an MLP at `state` on `batch`, shape (depth,).

    Bias gradients equal the pre-activation gradients summed over the batch, so unlike weight
    gradients they are not confounded by the scale of each layer's input.
    """
    model = nnx.merge(graphdef, state)
    _, params, rest = nnx.split(model, nnx.Param, ...)

    def loss_of(p):
        return loss_fn(nnx.merge(graphdef, p, rest, copy=True), batch)

    grads = jax.grad(loss_of)(params)
    return jnp.stack([safe_norm(g) for g in hidden_bias_grads(grads)])


@functools.partial(jax.jit, static_argnums=(0, 2))
def bias_grad_norms_per_seed(graphdef, state, loss_fn, batch) -> jax.Array:
    """`hidden_bias_grad_norms` for every seed of `state` (leading axis), shape (seeds, depth).

    `graphdef` and `loss_fn` are static: models of one shape share one compiled program
    whatever their initializer.
    """
    return jax.vmap(lambda s: hidden_bias_grad_norms(graphdef, s, loss_fn, batch))(state)


def dead_mask(preact: jax.Array) -> jax.Array:
    """Per unit: True if its pre-activation is ≤ 0 for every example (axis 0) of the set."""
    return jnp.all(preact <= 0, axis=0)


def activity_rates(preact: jax.Array) -> jax.Array:
    """Per unit: the share of examples (axis 0) on which its pre-activation is > 0.

    A dead unit (`dead_mask`) has rate 0; the rate also grades a unit that came back, which
    "active on at least one example" cannot (one example in thousands is not recovery).
    """
    return jnp.mean(preact > 0, axis=0)


def dead_fractions(preacts) -> jax.Array:
    """Fraction of dead units in each layer, shape (depth,)."""
    return jnp.stack([jnp.mean(dead_mask(z)) for z in preacts])


def activation_stats(preacts) -> dict[str, jax.Array]:
    """Mean and standard deviation of each layer's pre-activation, each of shape (depth,)."""
    return {
        "preact_mean": jnp.stack([jnp.mean(z) for z in preacts]),
        "preact_std": jnp.stack([jnp.std(z) for z in preacts]),
    }


def zero_fraction(x: jax.Array, tol: float = 0.0) -> jax.Array:
    """Fraction of entries with |x| ≤ tol (tol = 0: exactly zero)."""
    return jnp.mean(jnp.abs(x) <= tol)
