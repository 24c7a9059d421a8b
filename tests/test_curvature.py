import jax
import jax.numpy as jnp
import numpy as np
import pytest

from phenomena.probes import curvature

A = jnp.array([[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]])
B = jnp.array([1.0, -2.0, 0.5])


def quadratic(params):
    """0.5 x^T A x + b^T x, with x split across a pytree (a 2-vector and a scalar)."""
    x = jnp.concatenate([params["u"], params["w"][None]])
    return 0.5 * x @ A @ x + B @ x


PARAMS = {"u": jnp.array([0.3, -0.7]), "w": jnp.array(1.2)}


def saddle(params):
    """(1 - w1 w2)^2: at the origin the Hessian is [[0, -2], [-2, 0]], eigenvalues ±2."""
    return (1.0 - params[0] * params[1]) ** 2


def test_dense_hessian_of_a_quadratic_is_its_matrix():
    np.testing.assert_allclose(curvature.dense_hessian(quadratic, PARAMS), A, atol=1e-6)


def test_one_newton_step_lands_on_the_minimum_of_a_quadratic():
    new = curvature.newton_step(quadratic, PARAMS)
    x = np.concatenate([np.asarray(new["u"]), np.asarray(new["w"])[None]])
    np.testing.assert_allclose(x, -np.linalg.solve(np.asarray(A), np.asarray(B)), atol=1e-5)
    assert new["w"].shape == ()  # same pytree structure back


def test_damped_newton_step_is_shorter():
    full = curvature.newton_step(quadratic, PARAMS)
    damped = curvature.newton_step(quadratic, PARAMS, damping=10.0)
    start = np.asarray(PARAMS["u"])
    assert np.linalg.norm(damped["u"] - start) < np.linalg.norm(full["u"] - start)


def test_hvp_equals_matrix_times_vector():
    vector = {"u": jnp.array([1.0, 2.0]), "w": jnp.array(-1.0)}
    out = curvature.hvp(quadratic, PARAMS, vector)
    expected = A @ jnp.array([1.0, 2.0, -1.0])
    np.testing.assert_allclose(out["u"], expected[:2], atol=1e-6)
    np.testing.assert_allclose(out["w"], expected[2], atol=1e-6)


def test_saddle_of_one_minus_w1w2_squared_has_eigenvalues_plus_minus_two():
    origin = jnp.zeros(2)
    np.testing.assert_allclose(np.linalg.eigvalsh(curvature.dense_hessian(saddle, origin)), [-2, 2],
                               atol=1e-6)
    ritz = curvature.lanczos_eigenvalues(saddle, origin, jax.random.key(0))
    assert ritz.shape == (2,)  # capped at the number of parameters
    np.testing.assert_allclose(ritz, [-2, 2], atol=1e-5)
    low, high = curvature.extreme_eigenvalues(saddle, origin, jax.random.key(1))
    assert float(low) == pytest.approx(-2, abs=1e-5) and float(high) == pytest.approx(2, abs=1e-5)


def test_lanczos_recovers_the_extremes_of_a_known_spectrum():
    # 200 eigenvalues from -0.5 to 10 (a few negative, like a net early in training).
    spectrum = jnp.concatenate([jnp.array([-0.5, -0.1]), jnp.linspace(0.01, 10.0, 198)])

    def diagonal(x):
        return 0.5 * jnp.sum(spectrum * x**2)

    x = jnp.ones(200)
    low, high = jax.jit(lambda x: curvature.extreme_eigenvalues(diagonal, x, jax.random.key(3),
                                                                iterations=60))(x)
    assert float(low) == pytest.approx(-0.5, abs=1e-4)
    assert float(high) == pytest.approx(10.0, abs=1e-4)


def test_lanczos_vmaps_over_parameter_sets():
    scales = jnp.array([1.0, 3.0])
    low = jax.vmap(lambda s: curvature.extreme_eigenvalues(
        lambda w: s * saddle(w), jnp.zeros(2), jax.random.key(0))[0])(scales)
    np.testing.assert_allclose(low, [-2.0, -6.0], atol=1e-4)


def test_power_iteration_finds_the_largest_eigenvalue():
    top = curvature.top_eigenvalue(quadratic, PARAMS, jax.random.key(0), iterations=200)
    assert float(top) == pytest.approx(float(np.linalg.eigvalsh(np.asarray(A))[-1]), rel=1e-4)


def test_lanczos_makes_no_lapack_call():
    # LAPACK called from two per-core CPU devices at once deadlocks in a multithreaded
    # OpenBLAS; the tridiagonal eigenvalues come from JAX's own bisection instead.
    program = jax.jit(lambda w: curvature.lanczos_eigenvalues(saddle, w, jax.random.key(0)))
    assert "custom_call" not in program.lower(jnp.zeros(2)).as_text()
    dense = jax.jit(lambda w: jnp.linalg.eigvalsh(curvature.dense_hessian(saddle, w)))
    assert "custom_call" in dense.lower(jnp.zeros(2)).as_text()  # the check can see LAPACK
