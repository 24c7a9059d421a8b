"""2-D test surfaces and optimizer trajectories on them, all in one compiled program each.

Surfaces are frozen dataclasses registered as JAX pytrees whose fields are data: calling one
on a (2,) point gives a scalar, and passing two surfaces of the same kind (an axis-aligned and
a rotated quadratic) to a jitted function reuses one compiled program.

- `Quadratic(kappa, angle)`: f(p) = ½ pᵀ A p with A = R(angle) diag(1, 1/κ) R(angle)ᵀ, so the
  largest curvature is L = 1, the smallest μ = 1/κ, and the minimum is f(0) = 0. angle = 0 puts
  the eigenvectors on the axes; angle = π/4 rotates them 45°.
- `Rosenbrock(a, b)`: (a − x)² + b (y − x²)², a curved valley with its minimum 0 at (a, a²).
- `Saddle(a, b)`: a x² − b y² (Dauphin et al. 2014's 5x² − y²), a saddle at the origin.

`trajectories` runs Optax optimizers (by `optim.OptimizerSpec`, built with `make_optimizer`)
or Newton's method (`NEWTON`, through `curvature.newton_step`) from many starting points and
learning rates at once: `vmap` over learning rates and starts, `lax.scan` over steps, one
program per optimizer structure. `steps_to_tolerance` reads off when f first falls below
tol·f₀. Quadratic theory for choosing learning rates without a search: `gd_learning_rate`
(2/(L+μ), the fastest constant step, contraction (κ−1)/(κ+1)) and `heavy_ball` (Polyak's
optimal step and momentum, contraction (√κ−1)/(√κ+1); Goh 2017).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping, Union

import jax
import jax.numpy as jnp
import optax

from phenomena.probes import curvature
from phenomena.optim import OptimizerSpec, make_optimizer
from phenomena.runtime import program_cache

NEWTON = "newton"  # the optimizer name `trajectories` runs as Newton's method
Optimizer = Union[OptimizerSpec, str]


def rotation(angle) -> jax.Array:
    """The 2x2 rotation matrix by `angle` radians (counter-clockwise)."""
    c, s = jnp.cos(angle), jnp.sin(angle)
    return jnp.array([[c, -s], [s, c]])


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Quadratic:
    """½ pᵀ A p with eigenvalues 1 and 1/κ along axes rotated by `angle` radians."""

    kappa: float = 1000.0
    angle: float = 0.0

    def hessian(self) -> jax.Array:
        """A = R diag(1, 1/κ) Rᵀ (the Hessian everywhere)."""
        r = rotation(self.angle)
        return r @ jnp.diag(jnp.array([1.0, 1.0 / self.kappa])) @ r.T

    def eigenbasis(self) -> jax.Array:
        """Columns: the eigenvectors of A for eigenvalues 1 (stiff) and 1/κ (flat)."""
        return rotation(self.angle)

    def __call__(self, point: jax.Array) -> jax.Array:
        return 0.5 * point @ self.hessian() @ point


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Rosenbrock:
    """(a − x)² + b (y − x²)²: minimum 0 at (a, a²) at the end of a curved, flat valley."""

    a: float = 1.0
    b: float = 100.0

    def minimum(self) -> jax.Array:
        """The global minimizer (a, a²)."""
        return jnp.array([self.a, self.a**2])

    def __call__(self, point: jax.Array) -> jax.Array:
        x, y = point[0], point[1]
        return (self.a - x) ** 2 + self.b * (y - x**2) ** 2


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Saddle:
    """a x² − b y²: a saddle at the origin (curvatures 2a and −2b), unbounded below in y."""

    a: float = 5.0
    b: float = 1.0

    def __call__(self, point: jax.Array) -> jax.Array:
        return self.a * point[0] ** 2 - self.b * point[1] ** 2


def gd_learning_rate(largest: float, smallest: float) -> float:
    """2/(L+μ): the constant gradient-descent step that contracts fastest, by (κ−1)/(κ+1)."""
    return 2.0 / (largest + smallest)


def heavy_ball(largest: float, smallest: float) -> tuple[float, float]:
    """Polyak's optimal (learning rate, momentum) on a quadratic with curvatures in [μ, L].

    lr = (2/(√L+√μ))², momentum = ((√κ−1)/(√κ+1))²; the error then contracts by
    (√κ−1)/(√κ+1) per step (Goh 2017, "Why momentum really works"). In Optax's
    `sgd(lr, momentum)` form (trace = g + β·trace, step = −lr·trace) these are the same numbers.
    """
    root_kappa = math.sqrt(largest / smallest)
    lr = (2.0 / (math.sqrt(largest) + math.sqrt(smallest))) ** 2
    return lr, ((root_kappa - 1) / (root_kappa + 1)) ** 2


def _newton_run(surface, start, lr, steps: int):
    def step(point, _):
        # A learning rate below 1 damps the step along the Newton direction.
        target = curvature.newton_step(surface, point)
        point = point + lr * (target - point)
        return point, point

    _, points = jax.lax.scan(step, start, None, length=steps)
    return points


def _optax_run(optimizer: OptimizerSpec, surface, start, lr, steps: int):
    tx = make_optimizer(optimizer)(learning_rate=lr)

    def step(carry, _):
        point, state = carry
        updates, state = tx.update(jax.grad(surface)(point), state, point)
        point = optax.apply_updates(point, updates)
        return (point, state), point

    _, points = jax.lax.scan(step, (start, tx.init(start)), None, length=steps)
    return points


@program_cache(maxsize=64)
def _program(optimizer: Optimizer, steps: int):
    """The jitted (lrs, starts) -> points program of one optimizer structure (cached)."""

    def run_one(surface, start, lr):
        if optimizer == NEWTON:
            points = _newton_run(surface, start, lr, steps)
        else:
            points = _optax_run(optimizer, surface, start, lr, steps)
        points = jnp.concatenate([start[None], points])
        return points, jax.vmap(surface)(points)

    over_starts = jax.vmap(run_one, in_axes=(None, 0, None))
    return jax.jit(jax.vmap(over_starts, in_axes=(None, None, 0)))


def trajectory(surface, optimizer: Optimizer, starts: jax.Array, steps: int, lrs: jax.Array):
    """Run one optimizer from every start at every learning rate, in one compiled program.

    Args:
      surface: a pure function of a (2,) point (one of this module's surfaces, or any
        jittable callable; surfaces of the same kind share a compiled program).
      optimizer: an `optim.OptimizerSpec` (sgd, momentum, nesterov, rmsprop, adagrad, adam,
        with its static momentum), or `NEWTON`.
      starts: (S, 2) starting points. steps: optimizer steps. lrs: (K,) learning rates
        (Newton: a step fraction, 1.0 is the pure Newton step).
    Returns:
      `(points, values)`: (K, S, steps + 1, 2) and (K, S, steps + 1), index 0 the start.
      Runs that diverge carry inf/NaN (they never reach a tolerance).
    """
    starts = jnp.asarray(starts)
    lrs = jnp.asarray(lrs, starts.dtype)
    return _program(optimizer, steps)(surface, starts, lrs)


def trajectories(surface, optimizers: Mapping[str, Optimizer], starts: jax.Array, steps: int,
                 lrs: Mapping[str, jax.Array]) -> dict[str, tuple[jax.Array, jax.Array]]:
    """`trajectory` for every named optimizer: `{name: (points, values)}`.

    `lrs[name]` is that optimizer's learning-rate grid. Each optimizer structure compiles
    once; every start and learning rate of it runs in that one program.
    """
    return {name: trajectory(surface, optimizer, starts, steps, lrs[name])
            for name, optimizer in optimizers.items()}


def steps_to_tolerance(values, f0, tol: float):
    """Steps until f first falls to `tol`·f₀ or below (the surface's minimum value is 0).

    `values` has steps on its last axis (index 0 = the start), `f0` the shape of the other
    axes. Runs that never get there (or diverge) give `inf`: callers decide how to censor.
    """
    values = jnp.asarray(values)
    reached = values <= tol * jnp.asarray(f0)[..., None]
    first = jnp.argmax(reached, axis=-1).astype(values.dtype)
    return jnp.where(jnp.any(reached, axis=-1), first, jnp.inf)


def grid_values(surface, xs: jax.Array, ys: jax.Array) -> jax.Array:
    """f on the grid (len(ys), len(xs)) for contour plots (vmapped, one program)."""
    points = jnp.stack(jnp.meshgrid(xs, ys), axis=-1)
    return jax.vmap(jax.vmap(surface))(points)
