"""2-D test surfaces, trajectories of Optax optimizers and Newton on them, steps to tolerance."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from phenomena import surfaces
from phenomena.probes import curvature
from phenomena.optim import OptimizerSpec


@pytest.mark.parametrize("angle", [0.0, math.pi / 4, 1.0])
def test_rotated_quadratic_has_the_stated_eigenvalues(angle):
    quadratic = surfaces.Quadratic(kappa=50.0, angle=angle)
    hessian = curvature.dense_hessian(quadratic, jnp.array([0.3, -0.7]))
    np.testing.assert_allclose(np.linalg.eigvalsh(np.asarray(hessian)), [1 / 50, 1.0], rtol=1e-5)
    # The stiff eigenvector is the first column of the rotation.
    stiff = quadratic.eigenbasis()[:, 0]
    np.testing.assert_allclose(hessian @ stiff, stiff, atol=1e-6)


def test_rotation_45_degrees_mixes_the_axes_equally():
    hessian = np.asarray(surfaces.Quadratic(kappa=1000.0, angle=math.pi / 4).hessian())
    np.testing.assert_allclose(hessian, [[0.5005, 0.4995], [0.4995, 0.5005]], atol=1e-6)


def test_rosenbrock_minimum_at_one_one():
    rosenbrock = surfaces.Rosenbrock()
    minimum = rosenbrock.minimum()
    np.testing.assert_allclose(minimum, [1.0, 1.0])
    assert float(rosenbrock(minimum)) == 0.0
    np.testing.assert_allclose(jax.grad(rosenbrock)(minimum), [0.0, 0.0], atol=1e-6)
    assert float(rosenbrock(jnp.array([-1.0, 1.0]))) == pytest.approx(4.0)


def test_saddle_curvatures_and_newton_jumps_to_it():
    saddle = surfaces.Saddle()
    hessian = np.asarray(curvature.dense_hessian(saddle, jnp.array([0.2, 0.1])))
    np.testing.assert_allclose(hessian, [[10.0, 0.0], [0.0, -2.0]], atol=1e-6)
    # Newton's step solves for the stationary point: it lands on the saddle, not away from it.
    points, _ = surfaces.trajectory(saddle, surfaces.NEWTON, jnp.array([[0.5, 0.5]]), 1,
                                    jnp.array([1.0]))
    np.testing.assert_allclose(points[0, 0, 1], [0.0, 0.0], atol=1e-6)


def test_gd_contracts_by_kappa_ratio_at_the_optimal_rate():
    kappa = 100.0
    quadratic = surfaces.Quadratic(kappa=kappa, angle=0.3)
    lr = surfaces.gd_learning_rate(1.0, 1.0 / kappa)
    assert lr == pytest.approx(2 / (1 + 0.01))
    start = jnp.array([[1.0, -2.0]])
    points, values = surfaces.trajectory(quadratic, OptimizerSpec("sgd"), start, 20, jnp.array([lr]))
    distances = np.linalg.norm(np.asarray(points[0, 0]), axis=-1)
    # Both eigen-directions contract by exactly (κ−1)/(κ+1) at lr = 2/(L+μ), so ‖x‖ does too.
    np.testing.assert_allclose(distances[1:] / distances[:-1], (kappa - 1) / (kappa + 1), rtol=1e-4)
    np.testing.assert_allclose(values[0, 0, 1:] / values[0, 0, :-1], ((kappa - 1) / (kappa + 1)) ** 2,
                               rtol=1e-4)


def test_heavy_ball_numbers_from_goh():
    lr, momentum = surfaces.heavy_ball(1.0, 1.0 / 100)
    assert lr == pytest.approx((2 / 1.1) ** 2)
    assert momentum == pytest.approx((9 / 11) ** 2)


def test_trajectory_shapes_and_lr_axis_first():
    starts = jnp.array([[1.0, 1.0], [-1.0, 0.5], [0.2, 0.0]])
    lrs = jnp.array([0.1, 0.5])
    points, values = surfaces.trajectory(surfaces.Quadratic(10.0), OptimizerSpec("adam"), starts, 7, lrs)
    assert points.shape == (2, 3, 8, 2) and values.shape == (2, 3, 8)
    np.testing.assert_allclose(points[1, 2, 0], starts[2])  # index 0 is the start itself


def test_trajectories_runs_every_named_optimizer():
    optimizers = {"gd": OptimizerSpec("sgd"), "newton": surfaces.NEWTON}
    lrs = {"gd": jnp.array([1.0]), "newton": jnp.array([1.0])}
    out = surfaces.trajectories(surfaces.Quadratic(4.0), optimizers, jnp.array([[1.0, 1.0]]), 3, lrs)
    assert set(out) == {"gd", "newton"}
    # Newton lands on the minimum of a quadratic in one step.
    assert float(out["newton"][1][0, 0, 1]) == pytest.approx(0.0, abs=1e-10)


def test_gd_and_newton_are_rotation_invariant_adam_is_not():
    kappa = 1000.0
    starts = jnp.array([[0.6, 0.8], [-0.28, 0.96]])  # in eigen-coordinates, unit length
    steps = {}
    for angle in (0.0, math.pi / 4):
        quadratic = surfaces.Quadratic(kappa, angle)
        rotated_starts = starts @ quadratic.eigenbasis().T
        for name, optimizer, lr in (("gd", OptimizerSpec("sgd"), surfaces.gd_learning_rate(1, 1 / kappa)),
                                    ("adam", OptimizerSpec("adam"), 0.1)):
            _, values = surfaces.trajectory(quadratic, optimizer, rotated_starts, 4000, jnp.array([lr]))
            steps[name, angle] = np.asarray(surfaces.steps_to_tolerance(values, values[..., 0], 1e-6))
    # GD: exactly ln(1e-6) / (2 ln((κ−1)/(κ+1))) ≈ 3454 steps in both orientations.
    np.testing.assert_allclose(steps["gd", 0.0], 3454, atol=2)
    np.testing.assert_allclose(steps["gd", math.pi / 4], steps["gd", 0.0], atol=2)
    assert np.all(steps["adam", math.pi / 4] > 5 * steps["adam", 0.0])


def test_steps_to_tolerance_first_crossing_and_never():
    values = jnp.array([[4.0, 2.0, 1e-3, 1e-7, 1.0], [4.0, 3.0, 2.0, 1.0, jnp.nan]])
    steps = surfaces.steps_to_tolerance(values, values[:, 0], 1e-6)
    assert float(steps[0]) == 3.0
    assert float(steps[1]) == math.inf


def test_grid_values_shape_and_entries():
    xs, ys = jnp.array([0.0, 1.0, 2.0]), jnp.array([-1.0, 1.0])
    grid = surfaces.grid_values(surfaces.Saddle(), xs, ys)
    assert grid.shape == (2, 3)
    assert float(grid[1, 2]) == pytest.approx(5 * 4 - 1)
