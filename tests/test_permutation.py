"""probes.permutation: comparing MLPs modulo a reordering of their hidden units."""

import numpy as np

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
    state = _state(rng, sizes=(3, 6, 5, 2))
    permuted = _permuted(state, rng.permutation(6), rng.permutation(5))
    reference, matched = permutation.matched_vectors(state, permuted, 2)
    np.testing.assert_allclose(reference, matched)
    assert not np.allclose(permuted["hidden"][0]["kernel"], state["hidden"][0]["kernel"])
    _, unmatched = permutation.matched_vectors(state, state, 2)
    np.testing.assert_allclose(unmatched, reference)


def test_matched_state_undoes_a_permutation_and_keeps_the_layout():
    rng = np.random.default_rng(4)
    state = _state(rng, sizes=(3, 6, 5, 2))
    permuted = _permuted(state, rng.permutation(6), rng.permutation(5))
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
