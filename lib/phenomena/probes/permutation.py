"""Permutation symmetry of MLPs: parameters compared modulo a reordering of hidden units.

Permuting the units of a hidden layer (its kernel's columns and bias, and the next layer's
kernel rows) leaves the function unchanged, so two trained nets are compared after putting
their units in a common order. Two orders, from crude to fine:

- `canonical_vector`: each layer's units sorted by the norm of their incoming weights (one
  representative of the permuted copies, whatever the other net is);
- `matched_vectors`: the second net's units matched to the first's by weight matching
  (Ainsworth, Hayase & Srinivasa 2023, "Git Re-Basin", Algorithm 1): for each hidden layer,
  the permutation that maximizes the summed inner products of its units' incoming weights
  (bias included) AND outgoing weights with the first net's, each solved exactly by
  `scipy.optimize.linear_sum_assignment`, by coordinate descent over layers in random order
  until no layer's permutation improves (one exact assignment for one hidden layer);
  `matched_state` returns the matched second net as a dict, to interpolate with the first.
  `weight_matching` returns the permutations themselves.

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


def _assignment_gain(ref: list[dict], layers: list[dict], perms: list[np.ndarray],
                     i: int) -> np.ndarray:
    """(reference unit, other unit) summed inner products of hidden layer `i`'s units.

    Incoming weights (kernel column and bias) and outgoing weights (next kernel's row), with
    `other`'s neighbouring layers put in `reference`'s order by their current permutations;
    the next layer is the head when `i` is the last hidden layer (its outputs are not permuted).
    """
    incoming = layers[i]["kernel"] if i == 0 else layers[i]["kernel"][perms[i - 1], :]
    outgoing = layers[i + 1]["kernel"]
    if i + 1 < len(perms):
        outgoing = outgoing[:, perms[i + 1]]
    return (ref[i]["kernel"].T @ incoming + np.outer(ref[i]["bias"], layers[i]["bias"])
            + ref[i + 1]["kernel"] @ outgoing.T)


def weight_matching(reference: dict, other: dict, depth: int, seed: int = 0,
                    max_sweeps: int = 100) -> list[np.ndarray]:
    """Per hidden layer, the order of `other`'s units that best matches `reference`'s units.

    Weight matching (Ainsworth et al. 2023, Algorithm 1): maximize Σ_layers ⟨W_ref, P W_other Pᵀ⟩
    over the hidden layers' permutations P, both incoming and outgoing weights of every unit
    counted. Each layer's permutation, the others held fixed, is a linear assignment problem
    solved exactly; sweeps over the layers in a random order (`seed`) repeat until a whole
    sweep improves nothing (or `max_sweeps`). With one hidden layer the first assignment is the
    exact optimum; with several, a local one (starting, as the paper does, from the identity):
    a permuted copy is matched back exactly unless units have a handful of inputs each.
    `perms[i][j]` is the unit of `other` matched to unit j of `reference`.
    """
    ref, layers = _layers(reference, depth), _layers(other, depth)
    perms = [np.arange(layers[i]["bias"].size) for i in range(depth)]
    order = np.random.default_rng(seed)
    for _ in range(max_sweeps):
        improved = False
        for i in order.permutation(depth):
            gain = _assignment_gain(ref, layers, perms, i)
            _, best = linear_sum_assignment(gain, maximize=True)
            units = np.arange(best.size)
            # Compare objectives, not permutations: ties could otherwise swap forever.
            if gain[units, best].sum() > gain[units, perms[i]].sum() + 1e-9 * np.abs(gain).max():
                perms[i], improved = best, True
        if not improved:
            break
    return perms


def _matched_layers(reference: dict, other: dict, depth: int) -> tuple[list[dict], list[dict]]:
    """Both runs' layers, `other`'s hidden units matched to `reference`'s (see `weight_matching`)."""
    ref, layers = _layers(reference, depth), _layers(other, depth)
    for i, order in enumerate(weight_matching(reference, other, depth)):
        _permute_units(layers, i, order)
    return ref, layers


def matched_vectors(reference: dict, other: dict, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Both runs' parameters as vectors, `other`'s hidden units matched to `reference`'s.

    The permutations of `weight_matching` (incoming and outgoing weights, all hidden layers
    jointly); each is carried to the next layer's rows, so `other`'s function is unchanged.
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
