"""convexity's claim rules on made-up results: each claim can come out either way."""

import numpy as np
import pytest

from experiments import convexity
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, NUANCED, REPRODUCED

SEEDS = 8
PAIRS = SEEDS // 2
ALPHAS = np.linspace(-0.2, 1.2, 29)
STEPS = [0, 50, 100, 150, 1000]  # the quick profile's first 10 %: steps 0, 50 and 100
RNG = np.random.default_rng(0)
CONFIG = resolve_config(convexity, "quick")
WIDTHS = list(CONFIG.barrier_widths)  # 8, 32, 128, 256


def _noise(shape, scale):
    return scale * RNG.normal(size=shape)


def _made_up(logistic_distance=3e-6, mlp_distance=1.4, mlp_losses=0.004, mlp_barrier=4.0,
             logistic_barrier=0.0, init_bump=0.0, early_lambda_min=-0.05,
             matched_share=(0.7, 0.6, 0.3, 0.1)):
    """Textbook lines, distances and eigenvalues; keyword arguments break one claim at a time."""
    downhill = 2.3 - 2.3 * np.clip(ALPHAS, 0, 1) + init_bump * np.exp(-((ALPHAS - 0.5) / 0.05) ** 2)
    hill = 0.01 + mlp_barrier * np.sin(np.pi * np.clip(ALPHAS, 0, 1)) ** 2
    flat = 1.5 + logistic_barrier * np.sin(np.pi * np.clip(ALPHAS, 0, 1)) ** 2
    results = Results()
    results.add("line_init_to_solution", np.stack([np.tile(downhill, (SEEDS, 1))] * 2),
                ("model", "seed", "alpha"), model=list(convexity.MODELS), alpha=ALPHAS.tolist())
    results.add("line_between_solutions",
                np.stack([np.tile(flat, (PAIRS, 1)), np.tile(hill, (PAIRS, 1)) + _noise((PAIRS, 1), 0.1)]),
                ("model", "pair", "alpha"))
    # Per width: the pair line as trained, and weight-matched with `matched_share` of its barrier.
    shares = np.asarray(matched_share)[:, None, None, None]
    per_width = np.stack([np.tile(hill, (PAIRS, 1)) + _noise((PAIRS, 1), 0.1)] * len(WIDTHS))
    matched = 0.01 + shares[:, 0] * (per_width - 0.01) * (1 + _noise((len(WIDTHS), PAIRS, 1), 0.05))
    results.add("barrier_lines", np.stack([per_width, matched], axis=1),
                ("width", "alignment", "pair", "alpha"), width=WIDTHS, alignment=list(convexity.ALIGNMENTS))
    results.add("barrier_final_loss", np.full((len(WIDTHS), SEEDS), 0.004), ("width", "seed"))
    results.add("pair_distance", np.stack([logistic_distance * (1 + _noise(PAIRS, 0.05)),
                                           mlp_distance * (1 + _noise(PAIRS, 0.05))]), ("model", "pair"))
    results.add("mlp_matched_pair_distance", np.full(PAIRS, 1.17), ("pair",))
    mlp_final = mlp_losses * np.exp(_noise(SEEDS, 1.0 if mlp_losses > 0.1 else 0.05))
    results.add("final_train_loss", np.stack([np.full(SEEDS, 1.5), mlp_final]), ("model", "seed"))
    lambda_min = np.tile([early_lambda_min, early_lambda_min, early_lambda_min, -1e-3, 1e-5], (SEEDS, 1))
    results.add("lambda_min", lambda_min * (1 + _noise((SEEDS, 5), 0.05)), ("seed", "step"), step=STEPS)
    results.add("lambda_max", np.full((SEEDS, 5), 5.0), ("seed", "step"))
    return results


def _verdicts(results):
    return convexity.claims.verdicts(results, CONFIG)


def test_textbook_values_give_every_expected_verdict():
    verdicts = _verdicts(_made_up())
    assert verdicts.pop("barrier_between_solutions") == NUANCED
    assert set(verdicts.values()) == {REPRODUCED}


@pytest.mark.parametrize("broken, claim", [
    ({"logistic_distance": 0.01}, "convex_unique_minimum"),
    ({"mlp_distance": 0.01}, "nonconvex_many_minima"),
    ({"mlp_losses": 1.0}, "nonconvex_many_minima"),      # losses spread by e^±1: not similar
    ({"init_bump": 0.5}, "no_barrier_init_to_solution"),
    ({"early_lambda_min": 1e-3}, "saddles_early"),
])
def test_each_rule_can_fail(broken, claim):
    verdicts = _verdicts(_made_up(**broken))
    assert verdicts.pop(claim) == NOT_REPRODUCED
    assert verdicts.pop("barrier_between_solutions", NUANCED) == NUANCED
    assert all(v == REPRODUCED for v in verdicts.values())


@pytest.mark.parametrize("kwargs, verdict", [
    ({}, NUANCED),                                  # matching leaves 10 % at the widest width
    ({"matched_share": (0.9, 0.8, 0.8, 0.7)}, REPRODUCED),   # the barrier survives alignment
    ({"matched_share": (0.2, 0.3, 0.3, 0.5)}, REPRODUCED),  # the widest is not below one half
    ({"mlp_barrier": 0.0}, NOT_REPRODUCED),         # no barrier even as trained
    ({"logistic_barrier": 1e-3}, NOT_REPRODUCED),   # the convex line must be flat
])
def test_barrier_between_solutions_has_three_outcomes(kwargs, verdict):
    assert _verdicts(_made_up(**kwargs))["barrier_between_solutions"] == verdict


def test_barrier_details_report_both_alignments_per_width():
    decided = {v.claim.id: v for v in convexity.claims.decide(_made_up(), CONFIG)}
    barrier = decided["convexity.barrier_between_solutions"]
    assert barrier.interval.mean == pytest.approx(0.1, abs=0.01)
    assert set(barrier.details["as_trained"]) == set(WIDTHS)
    assert barrier.details["as_trained"][WIDTHS[-1]].mean == pytest.approx(4.0, abs=0.2)
    assert barrier.details["weight_matched"][WIDTHS[-1]].mean == pytest.approx(0.4, abs=0.05)
    assert barrier.details["share_falls_with_width"] == REPRODUCED


def test_saddles_read_only_the_first_tenth_of_the_configured_steps():
    # Steps 0..100 are early for 1000 steps; at 150 the ratio is already -2e-4 (above -1e-3).
    verdict = {v.claim.id: v for v in convexity.claims.decide(_made_up(), CONFIG)}
    saddles = verdict["convexity.saddles_early"]
    assert set(saddles.details["early_checkpoints"]) == {0, 50, 100}
    longer = resolve_config(convexity, "quick", overrides={"mlp_train.steps": "2000"})
    assert convexity.claims.verdicts(_made_up(), longer)["saddles_early"] == NOT_REPRODUCED


def test_distances_and_loss_differences_have_bounded_intervals():
    decided = {v.claim.id: v for v in convexity.claims.decide(_made_up(mlp_losses=1.0), CONFIG)}
    gap = decided["convexity.nonconvex_many_minima"].details["relative_loss_difference"]
    assert 0 <= gap.low <= gap.high <= 2
    assert decided["convexity.convex_unique_minimum"].interval.low >= 0


def test_the_barrier_claim_expects_the_ledgers_nuanced_without_deviation():
    claim = {c.id: c for c in convexity.claims}["convexity.barrier_between_solutions"]
    assert (claim.literature, claim.expected, claim.deviation) == (NUANCED, NUANCED, "")


def test_bump_and_barrier_on_hand_made_lines():
    assert convexity.bump(np.array([3.0, 2.0, 1.0, 0.0])) == 0.0
    assert convexity.bump(np.array([3.0, 1.0, 1.6, 0.0])) == pytest.approx(0.2)  # rise 0.6 of drop 3
    assert convexity.barrier(np.array([1.0, 3.0, 2.0])) == pytest.approx(1.0)
    assert convexity.barrier(np.array([1.0, 0.5, 2.0])) == pytest.approx(0.0)


def test_disjoint_pairs_share_no_seed_and_drop_an_odd_last_one():
    first, second = convexity.disjoint_pairs(np.arange(7))
    np.testing.assert_array_equal(first, [0, 2, 4])
    np.testing.assert_array_equal(second, [1, 3, 5])


def test_partners_are_the_other_run_of_each_disjoint_pair():
    np.testing.assert_array_equal(convexity._partner_index(6), [1, 0, 3, 2, 5, 4])
    np.testing.assert_array_equal(convexity._partner_index(5), [1, 0, 3, 2, 4])
    runs = np.arange(6)  # the even runs' partners are the pairs' second runs
    np.testing.assert_array_equal(convexity.disjoint_pairs(runs[convexity._partner_index(6)])[0],
                                  convexity.disjoint_pairs(runs)[1])


def test_pair_distances_compare_within_each_disjoint_pair():
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(convexity.pair_distances(vectors), [0.0, np.sqrt(2)])
    assert convexity.pair_distances(np.stack([np.ones(3), np.ones(3)])).tolist() == [0.0]
