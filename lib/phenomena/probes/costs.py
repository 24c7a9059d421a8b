"""Costs as counts: the floating-point operations of a compiled function, from XLA.

Experiments compare costs on counts, never on wall time (which depends on the machine and on
who else shares it). `flops` asks XLA's cost analysis of the compiled program. Two caveats
worth knowing: the count is per call of the compiled program, after XLA's simplifications;
and on a CPU the dense linear-algebra kernels that JAX hands to LAPACK as custom calls
(`jnp.linalg.solve`, `cholesky`, `eigh`) are not counted, so a program that solves a
p x p system reports less than its true cost (the O(p³) of the solve is missing, the rest is
there). Counts are therefore lower bounds for such programs.
"""

from __future__ import annotations

from typing import Any, Callable

import jax


def _first_analysis(analysis: Any) -> dict:
    """XLA returns one dict per program (a list) in some JAX versions, a dict in others."""
    if isinstance(analysis, (list, tuple)):
        if not analysis:
            raise ValueError("XLA's cost analysis returned no program")
        analysis = analysis[0]
    if not isinstance(analysis, dict):
        raise ValueError(f"unexpected cost analysis of type {type(analysis).__name__}")
    return analysis


def compiled_flops(compiled) -> float:
    """FLOPs of one call of an already compiled program (`jax.jit(f).lower(...).compile()`).

    Lets a caller that also times the program compile it once.
    """
    return float(_first_analysis(compiled.cost_analysis()).get("flops", 0.0))


def cost_analysis(fn: Callable, *args, **kwargs) -> dict:
    """XLA's cost analysis (a dict: "flops", "bytes accessed", ...) of `jax.jit(fn)(*args)`.

    `args` may be arrays or `jax.ShapeDtypeStruct`s: only their shapes and dtypes matter,
    nothing is executed.
    """
    compiled = jax.jit(fn).lower(*args, **kwargs).compile()
    return _first_analysis(compiled.cost_analysis())


def flops(fn: Callable, *args, **kwargs) -> float:
    """Floating-point operations of one call of `jax.jit(fn)` on arguments shaped like `args`.

    A (n, k) @ (k, m) matmul counts 2·n·k·m (a multiply and an add per term). LAPACK custom
    calls on a CPU count as (almost) nothing; see the module docstring.
    """
    return float(cost_analysis(fn, *args, **kwargs).get("flops", 0.0))
