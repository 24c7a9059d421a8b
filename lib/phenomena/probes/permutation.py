"""Permutation symmetry of MLPs: parameters compared modulo a reordering of hidden units.

Permuting the units of a hidden layer (its kernel's columns and bias, and the next layer's
kernel rows) leaves the function unchanged, so two trained nets are compared after putting
their units in a common order. Two orders, from crude to fine:

- `canonical_vector`: each layer's units sorted by the norm of their incoming weights (one
  representative of the permuted copies, whatever the other net is);
- `matched_vectors`: the second net's units matched to the first's, layer by layer, by
  `scipy.optimize.linear_sum_assignment` on the inner products of incoming weights (weight
  matching, Ainsworth et al. 2023); `matched_state` returns the matched second net as a dict,
  to interpolate with the first.

Both work on one run's parameters as a plain dict (`nnx.to_pure_dict` of an `MLP`'s state:
`{"hidden": [{"kernel", "bias"}, ...], "head": {"kernel", "bias"}}`); `runs_as_dicts` splits a
state with a leading run axis into those.
"""

from __future__ import annotations

import jax
import numpy as np
from flax import nnx
from scipy.optimize import linear_sum_assignment


def _layers(state: dict, depth: int) -> list[dict]:
    """The hidden layers then the head, each `{"kernel", "bias"}` as numpy arrays (copies)."""
    layers = [{k: np.array(v) for k, v in state["hidden"][i].items()} for i in range(depth)]
    layers.append({k: np.array(v) for k, v in state["head"].items()})
    return layers


def _permute_units(layers: list[dict], i: int, order: np.ndarray) -> None:
    """Reorder the units of hidden layer `i` (and the next layer's inputs) in place."""
    layers[i]["kernel"] = layers[i]["kernel"][:, order]
    layers[i]["bias"] = layers[i]["bias"][order]
    layers[i + 1]["kernel"] = layers[i + 1]["kernel"][order, :]


def _flatten(layers: list[dict]) -> np.ndarray:
    return np.concatenate([layer[k].ravel() for layer in layers for k in ("kernel", "bias")])


def canonical_vector(state: dict, depth: int) -> np.ndarray:
    """One run's parameters as a vector, hidden units of each layer sorted by incoming-weight norm.

    Sorting by a per-unit key picks one representative of the permuted copies, so two nets
    are compared modulo that symmetry (a crude alignment: units of similar norm may swap).
    """
    layers = _layers(state, depth)
    for i in range(depth):
        _permute_units(layers, i, np.argsort(np.linalg.norm(layers[i]["kernel"], axis=0)))
    return _flatten(layers)


def _unlayer(layers: list[dict], depth: int, like: dict) -> dict:
    """The inverse of `_layers`, in `like`'s layout (`hidden` a list, or a dict keyed 0, 1, …
    as `nnx.to_pure_dict` gives it)."""
    hidden = layers[:depth]
    return {"hidden": dict(enumerate(hidden)) if isinstance(like["hidden"], dict) else hidden,
            "head": layers[depth]}


def _matched_layers(reference: dict, other: dict, depth: int) -> tuple[list[dict], list[dict]]:
    """Both runs' layers, `other`'s hidden units matched to `reference`'s (see `matched_vectors`)."""
    ref, layers = _layers(reference, depth), _layers(other, depth)
    for i in range(depth):
        incoming_ref = np.vstack([ref[i]["kernel"], ref[i]["bias"][None]])
        incoming = np.vstack([layers[i]["kernel"], layers[i]["bias"][None]])
        _, order = linear_sum_assignment(incoming_ref.T @ incoming, maximize=True)
        _permute_units(layers, i, order)
    return ref, layers


def matched_vectors(reference: dict, other: dict, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Both runs' parameters as vectors, `other`'s hidden units matched to `reference`'s.

    Layer by layer, the permutation of `other`'s units that maximizes the summed inner
    products of incoming weights (bias included) with `reference`'s units; the permutation is
    carried to the next layer's rows, so `other`'s function is unchanged.
    """
    ref, layers = _matched_layers(reference, other, depth)
    return _flatten(ref), _flatten(layers)


def matched_state(reference: dict, other: dict, depth: int) -> dict:
    """`other`'s parameters as a plain dict (its own layout), hidden units matched to `reference`'s.

    The same weight matching as `matched_vectors`; the result computes the same function as
    `other` and can be interpolated with `reference` unit by unit (Ainsworth et al. 2023). Its
    layout is `other`'s, so `nnx.replace_by_pure_dict` loads it back into a state.
    """
    return _unlayer(_matched_layers(reference, other, depth)[1], depth, other)


def runs_as_dicts(state, runs: int) -> list[dict]:
    """Each run's parameters as a plain dict of numpy arrays (from a state with a run axis)."""
    plain = jax.tree.map(np.asarray, nnx.to_pure_dict(state))
    return [jax.tree.map(lambda x: x[r], plain) for r in range(runs)]


def relative_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """‖a − b‖ / mean(‖a‖, ‖b‖) along the last axis (0: the same; ≈ √2: independent vectors)."""
    norms = (np.linalg.norm(a, axis=-1) + np.linalg.norm(b, axis=-1)) / 2
    return np.linalg.norm(a - b, axis=-1) / norms
