"""probes.permutation: comparing MLPs modulo a reordering of their hidden units."""

import jax
import numpy as np
import pytest
from flax import nnx

from phenomena import models
from phenomena.probes import permutation


def _state(rng, sizes=(3, 4, 5, 2)):
    """A depth-2 MLP's parameters as a plain dict: layers of sizes 3 -> 4 -> 5 -> 2."""
    hidden = [{"kernel": rng.normal(size=(a, b)), "bias": rng.normal(size=b)}
              for a, b in zip(sizes[:-2], sizes[1:-1])]
    head = {"kernel": rng.normal(size=sizes[-2:]), "bias": rng.normal(size=sizes[-1])}
    return {"hidden": hidden, "head": head}


def _permuted(state, p1, p2):
    """`state` with the units of hidden layer 1 permuted by p1 and of layer 2 by p2 (same function)."""
    first, second = state["hidden"]
    return {"hidden": [{"kernel": first["kernel"][:, p1], "bias": first["bias"][p1]},
                       {"kernel": second["kernel"][p1][:, p2], "bias": second["bias"][p2]}],
            "head": {"kernel": state["head"]["kernel"][p2], "bias": state["head"]["bias"]}}


def test_canonical_vector_is_invariant_to_permuting_hidden_units():
    rng = np.random.default_rng(1)
    state = _state(rng)
    permuted = _permuted(state, rng.permutation(4), rng.permutation(5))
    np.testing.assert_allclose(permutation.canonical_vector(state, 2),
                               permutation.canonical_vector(permuted, 2))
    assert permutation.canonical_vector(state, 2).size == 3 * 4 + 4 + 4 * 5 + 5 + 5 * 2 + 2


def test_weight_matching_undoes_a_permutation_of_hidden_units():
    rng = np.random.default_rng(2)
    # Big enough for weight matching (a local search) to find the exact match; on nets with a
    # handful of inputs per unit (3 -> 6 -> 5 -> 2) it stops at a near miss in ~1 case of 5.
    state = _state(rng, sizes=(8, 16, 12, 2))
    permuted = _permuted(state, rng.permutation(16), rng.permutation(12))
    reference, matched = permutation.matched_vectors(state, permuted, 2)
    np.testing.assert_allclose(reference, matched)
    assert not np.allclose(permuted["hidden"][0]["kernel"], state["hidden"][0]["kernel"])
    _, unmatched = permutation.matched_vectors(state, state, 2)
    np.testing.assert_allclose(unmatched, reference)


def _permuted_deep(state, perms):
    """`state` (any depth) with hidden layer i's units reordered by perms[i] (same function)."""
    layers = state["hidden"] + [state["head"]]
    out = [dict(layer) for layer in layers]
    for i, p in enumerate(perms):
        out[i]["kernel"], out[i]["bias"] = out[i]["kernel"][:, p], out[i]["bias"][p]
        out[i + 1]["kernel"] = out[i + 1]["kernel"][p, :]
    return {"hidden": out[:-1], "head": out[-1]}


@pytest.mark.parametrize("sizes", [(8, 16, 3), (8, 16, 12, 3), (6, 10, 12, 9, 4)])
def test_weight_matching_finds_the_exact_permutation_at_every_depth(sizes):
    rng = np.random.default_rng(5)
    state = _state(rng, sizes)
    depth = len(sizes) - 2
    applied = [rng.permutation(n) for n in sizes[1:-1]]
    found = permutation.weight_matching(state, _permuted_deep(state, applied), depth)
    # Unit k of the permuted copy is unit applied[k] of the original: the inverse order.
    for got, p in zip(found, applied):
        np.testing.assert_array_equal(got, np.argsort(p))


def test_weight_matching_uses_outgoing_weights():
    # Two units with the same incoming weights differ only downstream: incoming weights alone
    # cannot tell them apart; the outgoing weights can.
    rng = np.random.default_rng(6)
    state = _state(rng, (5, 4, 3))
    state["hidden"][0]["kernel"][:, 1] = state["hidden"][0]["kernel"][:, 0]
    state["hidden"][0]["bias"][1] = state["hidden"][0]["bias"][0]
    swapped = _permuted_deep(state, [np.array([1, 0, 2, 3])])
    np.testing.assert_array_equal(permutation.weight_matching(state, swapped, 1)[0], [1, 0, 2, 3])
    reference, matched = permutation.matched_vectors(state, swapped, 1)
    np.testing.assert_allclose(reference, matched)


def test_weight_matching_is_a_local_optimum_of_the_summed_inner_products():
    rng = np.random.default_rng(7)
    a, b = _state(rng, (8, 16, 12, 3)), _state(rng, (8, 16, 12, 3))
    perms = permutation.weight_matching(a, b, 2)

    def agreement(orders):
        reference, matched = permutation._flatten(permutation._layers(a, 2)), _permuted_deep(b, orders)
        return reference @ permutation._flatten(permutation._layers(matched, 2))

    assert agreement(perms) > agreement([np.arange(16), np.arange(12)])
    for i in range(2):  # no single transposition of one layer's units does better
        for j, k in [(0, 1), (3, 7), (10, 11)]:
            tried = [p.copy() for p in perms]
            tried[i][[j, k]] = tried[i][[k, j]]
            assert agreement(tried) <= agreement(perms) + 1e-9


def test_matched_network_computes_the_same_function():
    config = models.MLPConfig(width=24, depth=2, activation="relu", init="he_normal")
    graphdef, state = models.mlps(7, 3, config, jax.random.split(jax.random.key(0), 2))
    reference, other = permutation.runs_as_dicts(state, 2)
    matched = permutation.matched_state(reference, other, 2)
    x = jax.random.normal(jax.random.key(1), (32, 7))

    def outputs(params):
        one = jax.tree.map(lambda v: v[1], state)
        nnx.replace_by_pure_dict(one, params)
        return np.asarray(nnx.merge(graphdef, one)(x)[0])

    np.testing.assert_allclose(outputs(matched), outputs(other), rtol=1e-5, atol=1e-5)
    assert not np.allclose(matched["hidden"][0]["kernel"], other["hidden"][0]["kernel"])


def test_matched_state_undoes_a_permutation_and_keeps_the_layout():
    rng = np.random.default_rng(4)
    # Big enough for weight matching (a local search) to find the exact match; on nets with a
    # handful of inputs per unit (3 -> 6 -> 5 -> 2) it stops at a near miss in ~1 case of 5.
    state = _state(rng, sizes=(8, 16, 12, 2))
    permuted = _permuted(state, rng.permutation(16), rng.permutation(12))
    matched = permutation.matched_state(state, permuted, 2)
    assert len(matched["hidden"]) == 2 and set(matched["head"]) == {"kernel", "bias"}
    for got, want in zip(matched["hidden"] + [matched["head"]], state["hidden"] + [state["head"]]):
        np.testing.assert_allclose(got["kernel"], want["kernel"])
        np.testing.assert_allclose(got["bias"], want["bias"])
    flat = np.concatenate([layer[k].ravel() for layer in matched["hidden"] + [matched["head"]]
                           for k in ("kernel", "bias")])
    np.testing.assert_allclose(permutation.matched_vectors(state, permuted, 2)[1], flat)
    # The layout of `nnx.to_pure_dict` (hidden layers keyed 0, 1, ...) is kept too.
    keyed = dict(permuted, hidden=dict(enumerate(permuted["hidden"])))
    matched_keyed = permutation.matched_state(state, keyed, 2)
    assert list(matched_keyed["hidden"]) == [0, 1]
    np.testing.assert_allclose(matched_keyed["hidden"][1]["kernel"], state["hidden"][1]["kernel"])


def test_matching_leaves_its_inputs_untouched():
    rng = np.random.default_rng(3)
    state = _state(rng)
    other = _state(rng)
    before = other["hidden"][0]["kernel"].copy()
    permutation.matched_vectors(state, other, 2)
    permutation.canonical_vector(other, 2)
    np.testing.assert_array_equal(other["hidden"][0]["kernel"], before)


def test_relative_distance_of_equal_orthogonal_and_opposite_vectors():
    a = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    b = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    np.testing.assert_allclose(permutation.relative_distance(a, b), [0.0, np.sqrt(2), 2.0])
