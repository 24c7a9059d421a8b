"""Curvature probes: Hessian-vector products, extreme eigenvalues, dense Hessians, Newton steps.

Every function takes a scalar `loss(params)` over any pytree of float parameters (for an NNX
model, close over the graphdef and the non-parameter state and pass the `nnx.Param` state)
and is jittable and vmappable (no Python control flow on values; fixed iteration counts).
For networks use `hvp`, `lanczos_eigenvalues`, `extreme_eigenvalues` or `top_eigenvalue`:
they never form the Hessian. `dense_hessian` and `newton_step` build the (p, p) matrix and
are for small models only (logistic regression, toy surfaces).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import jax.scipy.linalg
from jax.flatten_util import ravel_pytree

Loss = Callable[[Any], jax.Array]


def hvp(loss: Loss, params, vector):
    """Hessian-vector product H(params) @ vector, forward-over-reverse (jvp of grad).

    `vector` has the structure of `params`; so does the result. Costs about two gradients.
    """
    return jax.jvp(jax.grad(loss), (params,), (vector,))[1]


def _flat_hvp(loss: Loss, params):
    """(flat params, v -> H v on raveled vectors) for the Krylov methods."""
    flat, unravel = ravel_pytree(params)

    def flat_loss(f):
        return loss(unravel(f))

    def product(v):
        return jax.jvp(jax.grad(flat_loss), (flat,), (v,))[1]

    return flat, product


def _unit(v):
    return v / jnp.linalg.norm(v)


def lanczos_eigenvalues(loss: Loss, params, key: jax.Array, iterations: int = 30) -> jax.Array:
    """Ritz values (ascending) of the Hessian at `params` from Lanczos on HVPs.

    Full reorthogonalization (twice, Gram-Schmidt against every earlier Lanczos vector) keeps
    the basis orthogonal in float32, so no spurious copies of converged eigenvalues appear.
    Runs `min(iterations, p)` steps for p parameters; if the Krylov space is exhausted early
    (a residual of ~0), it restarts from a random vector orthogonal to the basis, so every
    returned value is still an eigenvalue estimate of H. The extremes converge first: with
    30 steps λmin and λmax are usually accurate to a few digits, interior values are not.
    Returns an array of shape `(min(iterations, p),)`.
    """
    flat, product = _flat_hvp(loss, params)
    p = flat.shape[0]
    m = min(iterations, p)
    dtype = flat.dtype
    start_key, restart_key = jax.random.split(key)
    # One spare row: step j writes the next vector to row j + 1, the last one unused.
    basis = jnp.zeros((m + 1, p), dtype)
    v0 = _unit(jax.random.normal(start_key, (p,), dtype))
    basis = basis.at[0].set(v0)

    def orthogonalize(w, basis):
        # Rows not yet filled are zero, so they do not contribute.
        for _ in range(2):
            w = w - basis.T @ (basis @ w)
        return w

    def step(j, carry):
        basis, alphas, betas = carry
        v = basis[j]
        w = product(v)
        alpha = jnp.dot(w, v)
        w = orthogonalize(w, basis)
        beta = jnp.linalg.norm(w)
        scale = jnp.maximum(jnp.max(jnp.abs(alphas)), jnp.abs(alpha))
        exhausted = beta <= 1e-6 * jnp.maximum(scale, 1e-30)
        fresh = orthogonalize(jax.random.normal(jax.random.fold_in(restart_key, j), (p,), dtype), basis)
        next_v = jnp.where(exhausted, _unit(fresh), w / jnp.where(exhausted, 1.0, beta))
        beta = jnp.where(exhausted, 0.0, beta)
        basis = basis.at[j + 1].set(next_v)
        return basis, alphas.at[j].set(alpha), betas.at[j].set(beta)

    alphas = jnp.zeros((m,), dtype)
    betas = jnp.zeros((m,), dtype)
    _, alphas, betas = jax.lax.fori_loop(0, m, step, (basis, alphas, betas))
    # JAX's bisection (Sturm sequences), not LAPACK: LAPACK calls from the two per-core CPU
    # devices at once deadlock in a multithreaded OpenBLAS (see `newton_step`).
    return jnp.sort(jax.scipy.linalg.eigh_tridiagonal(alphas, betas[:-1], eigvals_only=True))


def extreme_eigenvalues(loss: Loss, params, key: jax.Array, iterations: int = 30):
    """`(lambda_min, lambda_max)` of the Hessian at `params`, from `lanczos_eigenvalues`."""
    ritz = lanczos_eigenvalues(loss, params, key, iterations)
    return ritz[0], ritz[-1]


def top_eigenvalue(loss: Loss, params, key: jax.Array, iterations: int = 100) -> jax.Array:
    """The Hessian eigenvalue of largest magnitude, by power iteration on HVPs.

    Returns the Rayleigh quotient v^T H v of the final iterate. Power iteration finds the
    eigenvalue largest in absolute value (at a minimum that is λmax, the sharpness); it
    converges at rate |λ2/λ1| per step, so prefer Lanczos when the top two are close.
    """
    flat, product = _flat_hvp(loss, params)
    v = _unit(jax.random.normal(key, flat.shape, flat.dtype))
    v = jax.lax.fori_loop(0, iterations, lambda _, v: _unit(product(v)), v)
    return jnp.dot(v, product(v))


def dense_hessian(loss: Loss, params) -> jax.Array:
    """The full (p, p) Hessian over the raveled parameters (small models only: p^2 memory)."""
    flat, unravel = ravel_pytree(params)
    return jax.hessian(lambda f: loss(unravel(f)))(flat)


def newton_step(loss: Loss, params, damping: float = 0.0):
    """One (damped) Newton step: params - (H + damping I)^-1 g, with the structure of params.

    On a quadratic with positive definite H and no damping this lands on the minimum exactly.
    The solve calls LAPACK: under `vmap` over runs sharded on several CPU devices, run with
    `OPENBLAS_NUM_THREADS=1` (concurrent calls into a multithreaded OpenBLAS can deadlock).
    """
    flat, unravel = ravel_pytree(params)

    def flat_loss(f):
        return loss(unravel(f))

    gradient = jax.grad(flat_loss)(flat)
    hessian = jax.hessian(flat_loss)(flat)
    direction = jnp.linalg.solve(hessian + damping * jnp.eye(flat.shape[0], dtype=flat.dtype), gradient)
    return unravel(flat - direction)
