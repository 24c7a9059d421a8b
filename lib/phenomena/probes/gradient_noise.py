"""Minibatch gradient noise and what it costs: noise variance, noise scale, steps to a target.

A minibatch gradient g_B is the mean of B per-example gradients drawn with replacement, so
g_B − g_full has covariance Σ / B, where Σ is the per-example gradient covariance, and
E‖g_B − g_full‖² = tr Σ / B exactly. `minibatch_noise` estimates that expectation by Monte
Carlo over many draws (vmapped); `noise_trace` gives tr Σ itself, so the two can be checked
against each other. `simple_noise_scale` is McCandlish et al. (2018)'s B_simple = tr Σ / ‖g‖²,
their estimate of the critical batch size, beyond which a larger batch no longer cuts the step
count. `steps_to_target` and `critical_batch_fit` read that trade-off off training curves.

All JAX functions act on one model (no seed axis) unless their name says otherwise.
"""

from __future__ import annotations

import functools
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.flatten_util import ravel_pytree


def per_example_gradients(graphdef, state, loss_fn: Callable, data) -> jax.Array:
    """The gradient of `loss_fn` on each example of `data`, flattened: shape (n, parameters).

    `loss_fn(model, batch) -> scalar` is the mean loss of a batch; each example is passed as a
    batch of one, so the model must treat examples independently (no batch norm, no dropout).
    """
    _, params, rest = nnx.split(nnx.merge(graphdef, state), nnx.Param, ...)

    def gradient_of(example):
        batch = jax.tree.map(lambda a: a[None], example)

        def loss_of(p):
            return loss_fn(nnx.merge(graphdef, p, rest, copy=True), batch)

        return ravel_pytree(jax.grad(loss_of)(params))[0]

    return jax.vmap(gradient_of)(data)


def minibatch_noise(per_example: jax.Array, key: jax.Array, batch_size: int, draws: int) -> jax.Array:
    """Monte Carlo E‖g_B − g_full‖² over `draws` minibatches of `batch_size`, with replacement.

    Sampling matches `train.sample_batch`; the expectation is tr Σ / B (see `noise_trace`).
    """
    full = per_example.mean(axis=0)
    n = per_example.shape[0]

    def squared_deviation(draw_key):
        index = jax.random.randint(draw_key, (batch_size,), 0, n)
        return jnp.sum((per_example[index].mean(axis=0) - full) ** 2)

    return jax.vmap(squared_deviation)(jax.random.split(key, draws)).mean()


def noise_trace(per_example: jax.Array) -> jax.Array:
    """tr Σ = mean over examples of ‖g_i − g_full‖²: the batch-1 noise variance (population Σ)."""
    return jnp.mean(jnp.sum((per_example - per_example.mean(axis=0, keepdims=True)) ** 2, axis=1))


def simple_noise_scale(per_example: jax.Array) -> jax.Array:
    """McCandlish et al.'s B_simple = tr Σ / ‖g_full‖²: the batch at which noise equals signal."""
    return noise_trace(per_example) / jnp.sum(per_example.mean(axis=0) ** 2)


@functools.partial(jax.jit, static_argnums=(0, 2, 5, 6))
def noise_per_seed(graphdef, states, loss_fn: Callable, data, keys: jax.Array,
                   batch_sizes: tuple[int, ...], draws: int) -> dict[str, jax.Array]:
    """Gradient noise of every seed's model (leading axis of `states`), in one program.

    Returns `noise` of shape (seeds, len(batch_sizes)) (the Monte Carlo E‖g_B − g_full‖²; each
    batch size B of a seed draws its minibatches from its own key, `fold_in(key, B)`, so the
    sizes' estimates are independent), `trace` (tr Σ) and `noise_scale` (B_simple), each of
    shape (seeds,).
    """

    def one_seed(state, key):
        grads = per_example_gradients(graphdef, state, loss_fn, data)
        noise = jnp.stack([minibatch_noise(grads, jax.random.fold_in(key, b), b, draws)
                           for b in batch_sizes])
        return {"noise": noise, "trace": noise_trace(grads), "noise_scale": simple_noise_scale(grads)}

    return jax.vmap(one_seed)(states, keys)


def critical_batch_fit(batch_sizes: Sequence[float], steps: Sequence[float]) -> tuple[float, float]:
    """Fit McCandlish et al.'s S(B) = S_min (1 + B_crit / B); return (S_min, B_crit).

    The model is a line in 1/B (S = S_min + S_min·B_crit / B), so this is ordinary least
    squares. Examples to the target then follow E(B) = E_min (1 + B / B_crit), E_min = S_min·B_crit.
    Batch sizes whose step count is NaN (never reached) are left out; with fewer than two left,
    both values are NaN.
    """
    inverse = 1.0 / np.asarray(batch_sizes, np.float64)
    steps = np.asarray(steps, np.float64)
    finite = np.isfinite(steps)
    if finite.sum() < 2:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(inverse[finite], steps[finite], 1)
    return float(intercept), float(slope / intercept)
