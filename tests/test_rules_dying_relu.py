"""dying_relu's claim rules on fabricated results: every verdict branch, no training."""

import numpy as np
import pytest

from experiments import dying_relu
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, NUANCED, REPRODUCED

CONFIG = resolve_config(dying_relu, "quick", overrides={"born_depths": "(5, 20)"})
SEEDS = 8
KILLS = list(CONFIG.kill_fractions)  # 0, 0.5, 0.9
ACTIVATIONS = ["ReLU", "Leaky ReLU", "PReLU"]
LAYERS = [1, 2, 3]


def _jitter(shape, seed=0, scale=0.05):
    return np.exp(np.random.default_rng(seed).normal(0, scale, shape))


def _results(relu_revival_by_layer=(0.0, 0.0, 0.0), accuracy_drop=(20.0, 1.0, 1.0),
             born_p=(0.3, 0.9)) -> Results:
    """Born dead at depths 5 and 20 with P = `born_p` (Lu et al. 2020: 0.3, 0.9); the share of
    killed units revived per ReLU layer; the accuracy drop (points) at 90 % killed."""
    rng = np.random.default_rng(0)
    born = np.stack([np.stack([rng.random(2000) < p for p in born_p]) for _ in ACTIVATIONS])
    revival = {"ReLU": relu_revival_by_layer, "Leaky ReLU": (0.97,) * 3, "PReLU": (0.99,) * 3}
    shape = (len(KILLS), SEEDS, len(LAYERS))
    revived = np.clip(np.stack([np.broadcast_to(np.asarray(revival[a]), shape) * _jitter(shape)
                                for a in ACTIVATIONS]), 0, 1)
    killed = np.broadcast_to(np.array([0.0, 32.0, 58.0])[:, None, None], shape)
    killed = np.stack([killed] * len(ACTIVATIONS))
    final = np.stack([np.stack([np.full(SEEDS, 0.62 - drop / 100 * k / 0.9) for k in KILLS])
                      + rng.normal(0, 0.005, (len(KILLS), SEEDS)) for drop in accuracy_drop])
    accuracy = np.stack([np.full_like(final, 0.1), final], axis=-1)  # (activation, kill, seed, step)
    results = Results()
    results.add("born_dead", born, ("activation", "depth", "init"), activation=ACTIVATIONS,
                depth=[5, 20])
    results.add("output_constant", np.zeros_like(born), ("activation", "depth", "init"))
    results.add("revived", revived, ("activation", "kill", "seed", "layer"), kill=KILLS, layer=LAYERS)
    results.add("killed_units", killed, ("activation", "kill", "seed", "layer"))
    results.add("test_accuracy", accuracy, ("activation", "kill", "seed", "step"), step=[0, 1000])
    results.add("diverged_at", np.full((3, len(KILLS), SEEDS), -1), ("activation", "kill", "seed"))
    return results


def _verdicts(results: Results) -> dict[str, str]:
    return dying_relu.claims.verdicts(results, CONFIG)


def test_born_dead_rule():
    assert _verdicts(_results())["born_dead_with_depth"] == REPRODUCED
    # P(20) = 0.7: its CI does not clear 0.75.
    assert _verdicts(_results(born_p=(0.3, 0.7)))["born_dead_with_depth"] == NOT_REPRODUCED
    # P(20) = 0.9 but P(5) as high: no growth with depth.
    assert _verdicts(_results(born_p=(0.9, 0.9)))["born_dead_with_depth"] == NOT_REPRODUCED


@pytest.mark.parametrize("relu_revival, verdict", [
    ((0.0, 0.02, 0.03), REPRODUCED),
    ((0.0, 0.5, 0.6), NUANCED),
    ((0.5, 0.5, 0.6), NOT_REPRODUCED),
])
def test_stay_dead_rule_has_three_outcomes(relu_revival, verdict):
    assert _verdicts(_results(relu_revival_by_layer=relu_revival))["relu_units_stay_dead"] == verdict


def test_stay_dead_needs_leaky_and_prelu_to_revive():
    results = _results()
    leaky = results.coords["activation"].index("Leaky ReLU")
    results.arrays["revived"][leaky] *= 0.3  # 0.29: Leaky ReLU units mostly stay dead too
    assert _verdicts(results)["relu_units_stay_dead"] == NOT_REPRODUCED


def test_revival_interval_stays_in_zero_one_and_counts_diverged_runs():
    results = _results(relu_revival_by_layer=(0.0, 0.0, 0.0))
    results.arrays["diverged_at"][0, 2, 0] = 500
    results.arrays["revived"][0, 2, 0] = np.nan
    stay = {v.claim.id: v for v in dying_relu.claims.decide(results, CONFIG)}[
        "dying_relu.relu_units_stay_dead"]
    assert stay.interval.low == 0.0 and stay.interval.high == 0.0  # t would also give 0, not below
    assert stay.details["leaky_relu"].high <= 1.0
    assert stay.details["diverged_runs_excluded"] == 1


def test_accuracy_rule_follows_the_drops():
    assert _verdicts(_results())["dead_units_cost_accuracy"] == REPRODUCED
    assert _verdicts(_results(accuracy_drop=(20.0, 9.0, 6.0)))["dead_units_cost_accuracy"] \
        == NOT_REPRODUCED
    assert _verdicts(_results(accuracy_drop=(2.0, 1.0, 1.0)))["dead_units_cost_accuracy"] \
        == NOT_REPRODUCED


def test_accuracy_drop_is_read_at_the_last_step():
    cost = {v.claim.id: v for v in dying_relu.claims.decide(_results(), CONFIG)}[
        "dying_relu.dead_units_cost_accuracy"]
    assert cost.interval.mean == pytest.approx(20.0, abs=0.5)
    assert cost.details["largest_kill_fraction"] == 0.9


def test_diverged_runs_count_neither_as_dead_nor_alive():
    revived = np.array([[1.0, np.nan], [0.0, 0.5]])  # (kill, seed): seed 1 diverged at kill 0
    killed = np.array([[10.0, 10.0], [10.0, 10.0]])
    np.testing.assert_allclose(dying_relu.revived_per_seed(revived, killed, axis=0), [0.5, 0.5])
