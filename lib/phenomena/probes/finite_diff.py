"""Central finite differences of a scalar function of a parameter pytree, in float64.

Backpropagation claims to compute the exact gradient (up to rounding), not an approximation.
The independent reference is the central difference

    ∂f/∂θ_i ≈ (f(θ + ε e_i) − f(θ − ε e_i)) / (2ε),

whose error is O(ε² f''') from truncation plus O(u |f| / ε) from rounding (u the unit
roundoff). In float64 (u ≈ 1e-16) with ε ≈ 1e-5 both are around 1e-10 relative, far below any
tolerance that could hide a wrong gradient; in float32 (u ≈ 6e-8) the rounding term alone is
~1e-3, so the comparison must run in float64. It costs 2p evaluations of f for p parameters,
which is the point of comparison: reverse mode costs a small constant times one evaluation.

Everything here works on one parameter pytree (no seed axis); `jax.vmap` over seeds outside.
Callers must enable float64 (`with jax.enable_x64(True):`) around creation and use, as
`central_differences` computes in the dtype of its parameters.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

DEFAULT_STEP = 1e-5  # ε: balances float64 truncation (ε²) against rounding (u/ε) errors


def central_differences(fn: Callable, params, step: float = DEFAULT_STEP, chunk: int | None = None):
    """The gradient of scalar `fn(params)` by central differences, as a pytree like `params`.

    The 2p perturbed evaluations run vmapped over the p coordinates (in `lax.map` batches of
    `chunk` coordinates when given, to bound memory for large p). Compute in float64: call it
    inside `jax.enable_x64(True)` with float64 parameters.
    """
    flat, unravel = ravel_pytree(params)
    basis_step = jnp.asarray(step, flat.dtype)

    def derivative(i):
        shift = jnp.zeros_like(flat).at[i].set(basis_step)
        return (fn(unravel(flat + shift)) - fn(unravel(flat - shift))) / (2 * basis_step)

    index = jnp.arange(flat.size)
    slopes = (jax.vmap(derivative)(index) if chunk is None
              else jax.lax.map(derivative, index, batch_size=chunk))
    return unravel(slopes.astype(flat.dtype))


def relative_error(a, b) -> jax.Array:
    """‖a − b‖ / max(‖a‖, ‖b‖) over all leaves of two pytrees of the same structure.

    0 for identical trees; symmetric; scale-free, so one tolerance serves every model size.
    Two zero trees give 0 (not NaN).
    """
    flat_a, _ = ravel_pytree(a)
    flat_b, _ = ravel_pytree(b)
    scale = jnp.maximum(jnp.linalg.norm(flat_a), jnp.linalg.norm(flat_b))
    difference = jnp.linalg.norm(flat_a - flat_b)
    return jnp.where(scale > 0, difference / jnp.where(scale > 0, scale, 1.0), 0.0)


def gradient_check(fn: Callable, params, step: float = DEFAULT_STEP, chunk: int | None = None):
    """Relative error between reverse mode (`jax.grad(fn)`) and central differences at `params`."""
    return relative_error(jax.grad(fn)(params), central_differences(fn, params, step, chunk))
