"""convexity's claim rules on made-up results: each claim can come out either way."""

import numpy as np
import pytest

from experiments import convexity
from phenomena.results import Results
from phenomena.stats import NOT_REPRODUCED, REPRODUCED

SEEDS = 8
PAIRS = SEEDS // 2
ALPHAS = np.linspace(-0.2, 1.2, 29)
STEPS = [0, 50, 100, 150, 1000]
RNG = np.random.default_rng(0)


def _noise(shape, scale):
    return scale * RNG.normal(size=shape)


def _made_up(logistic_distance=3e-6, mlp_distance=1.4, mlp_losses=0.004, mlp_barrier=4.0,
             init_bump=0.0, early_lambda_min=-0.05):
    """Textbook lines, distances and eigenvalues; keyword arguments break one claim at a time."""
    downhill = 2.3 - 2.3 * np.clip(ALPHAS, 0, 1) + init_bump * np.exp(-((ALPHAS - 0.5) / 0.05) ** 2)
    hill = 0.01 + mlp_barrier * np.sin(np.pi * np.clip(ALPHAS, 0, 1)) ** 2
    flat = np.full_like(ALPHAS, 1.5)
    results = Results(meta={"l2": 0.01, "mlp_steps": 1000})
    results.add("line_init_to_solution", np.stack([np.tile(downhill, (SEEDS, 1))] * 2),
                ("model", "seed", "alpha"), model=list(convexity.MODELS), alpha=ALPHAS.tolist())
    results.add("line_between_solutions",
                np.stack([np.tile(flat, (PAIRS, 1)), np.tile(hill, (PAIRS, 1)) + _noise((PAIRS, 1), 0.1)]),
                ("model", "pair", "alpha"))
    results.add("pair_distance", np.stack([logistic_distance * (1 + _noise(PAIRS, 0.05)),
                                           mlp_distance * (1 + _noise(PAIRS, 0.05))]), ("model", "pair"))
    mlp_final = mlp_losses * np.exp(_noise(SEEDS, 1.0 if mlp_losses > 0.1 else 0.05))
    results.add("final_train_loss", np.stack([np.full(SEEDS, 1.5), mlp_final]), ("model", "seed"))
    lambda_min = np.tile([early_lambda_min, early_lambda_min, early_lambda_min, -1e-3, 1e-5], (SEEDS, 1))
    results.add("lambda_min", lambda_min * (1 + _noise((SEEDS, 5), 0.05)), ("seed", "step"), step=STEPS)
    results.add("lambda_max", np.full((SEEDS, 5), 5.0), ("seed", "step"))
    return results


def _verdicts(results):
    return {v.claim.id.split(".")[1]: v.verdict for v in convexity.claims(results)}


def test_textbook_values_reproduce_every_claim():
    assert set(_verdicts(_made_up()).values()) == {REPRODUCED}


@pytest.mark.parametrize("broken, claim", [
    ({"logistic_distance": 0.01}, "convex_unique_minimum"),
    ({"mlp_distance": 0.01}, "nonconvex_many_minima"),
    ({"mlp_losses": 1.0}, "nonconvex_many_minima"),      # losses spread by e^±1: not similar
    ({"init_bump": 0.5}, "no_barrier_init_to_solution"),
    ({"mlp_barrier": 0.0}, "barrier_between_solutions"),
    ({"early_lambda_min": 1e-3}, "saddles_early"),
])
def test_each_rule_can_fail(broken, claim):
    verdicts = _verdicts(_made_up(**broken))
    assert verdicts[claim] == NOT_REPRODUCED
    assert all(v == REPRODUCED for k, v in verdicts.items() if k != claim)


def test_bump_and_barrier_on_hand_made_lines():
    assert convexity.bump(np.array([3.0, 2.0, 1.0, 0.0])) == 0.0
    assert convexity.bump(np.array([3.0, 1.0, 1.6, 0.0])) == pytest.approx(0.2)  # rise 0.6 of drop 3
    assert convexity.barrier(np.array([1.0, 3.0, 2.0])) == pytest.approx(1.0)
    assert convexity.barrier(np.array([1.0, 0.5, 2.0])) == pytest.approx(0.0)


def test_canonical_vector_is_invariant_to_permuting_hidden_units():
    rng = np.random.default_rng(1)
    state = {"hidden": [{"kernel": rng.normal(size=(3, 4)), "bias": rng.normal(size=4)},
                        {"kernel": rng.normal(size=(4, 5)), "bias": rng.normal(size=5)}],
             "head": {"kernel": rng.normal(size=(5, 2)), "bias": rng.normal(size=2)}}
    p1, p2 = rng.permutation(4), rng.permutation(5)
    permuted = {"hidden": [{"kernel": state["hidden"][0]["kernel"][:, p1], "bias": state["hidden"][0]["bias"][p1]},
                           {"kernel": state["hidden"][1]["kernel"][p1][:, p2], "bias": state["hidden"][1]["bias"][p2]}],
                "head": {"kernel": state["head"]["kernel"][p2], "bias": state["head"]["bias"]}}
    np.testing.assert_allclose(convexity.canonical_vector(state, 2), convexity.canonical_vector(permuted, 2))
    assert convexity.pair_distances(np.stack([np.ones(3), np.ones(3)])).tolist() == [0.0]  # one disjoint pair


def test_disjoint_pairs_share_no_seed_and_drop_an_odd_last_one():
    first, second = convexity.disjoint_pairs(np.arange(7))
    np.testing.assert_array_equal(first, [0, 2, 4])
    np.testing.assert_array_equal(second, [1, 3, 5])


def test_pair_distances_compare_within_each_disjoint_pair():
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(convexity.pair_distances(vectors), [0.0, np.sqrt(2)])


def test_weight_matching_undoes_a_permutation_of_hidden_units():
    rng = np.random.default_rng(2)
    state = {"hidden": [{"kernel": rng.normal(size=(3, 6)), "bias": rng.normal(size=6)},
                        {"kernel": rng.normal(size=(6, 5)), "bias": rng.normal(size=5)}],
             "head": {"kernel": rng.normal(size=(5, 2)), "bias": rng.normal(size=2)}}
    p1, p2 = rng.permutation(6), rng.permutation(5)
    permuted = {"hidden": [{"kernel": state["hidden"][0]["kernel"][:, p1], "bias": state["hidden"][0]["bias"][p1]},
                           {"kernel": state["hidden"][1]["kernel"][p1][:, p2], "bias": state["hidden"][1]["bias"][p2]}],
                "head": {"kernel": state["head"]["kernel"][p2], "bias": state["head"]["bias"]}}
    reference, matched = convexity.matched_vectors(state, permuted, 2)
    np.testing.assert_allclose(reference, matched)
    _, unmatched = convexity.matched_vectors(state, state, 2)
    assert not np.allclose(np.concatenate([x.ravel() for x in permuted["hidden"][0].values()]),
                           np.concatenate([x.ravel() for x in state["hidden"][0].values()]))
    np.testing.assert_allclose(unmatched, reference)
