"""FLOP counts from XLA's cost analysis."""

import jax
import jax.numpy as jnp
import pytest

from phenomena.probes import costs


@pytest.mark.parametrize("n,k,m", [(30, 40, 50), (8, 128, 3)])
def test_matmul_counts_two_nkm(n, k, m):
    shapes = (jax.ShapeDtypeStruct((n, k), jnp.float32), jax.ShapeDtypeStruct((k, m), jnp.float32))
    assert costs.flops(lambda a, b: a @ b, *shapes) == pytest.approx(2 * n * k * m, rel=0.01)


def test_count_grows_linearly_with_repeated_work():
    x = jnp.ones((64, 64))
    once = costs.flops(lambda a: a @ a, x)
    twice = costs.flops(lambda a: (a @ a) @ a, x)
    assert twice == pytest.approx(2 * once, rel=0.01)


def test_analysis_list_or_dict_both_accepted():
    assert costs._first_analysis([{"flops": 3.0}])["flops"] == 3.0
    assert costs._first_analysis({"flops": 5.0})["flops"] == 5.0
    with pytest.raises(ValueError):
        costs._first_analysis([])


def test_missing_flops_key_reads_as_zero():
    # A function with no arithmetic (a copy) costs no floating-point operations.
    assert costs.flops(lambda a: a, jnp.ones(3)) == 0.0


def test_compiled_flops_matches_flops():
    a = jnp.ones((16, 8))
    compiled = jax.jit(lambda x: x @ x.T).lower(a).compile()
    assert costs.compiled_flops(compiled) == costs.flops(lambda x: x @ x.T, a) == pytest.approx(2 * 16 * 8 * 16, rel=0.01)
