"""The claim rules on made-up results: each verdict branch can come out, not just the expected one."""

import numpy as np
import pytest

from experiments import dying_relu, vanishing_gradients
from phenomena.results import Results
from phenomena.stats import NOT_REPRODUCED, NUANCED, REPRODUCED

SEEDS = 8
DEPTHS = [5, 10, 20, 30, 50]


def _jitter(shape, seed=0, scale=0.05):
    return np.exp(np.random.default_rng(seed).normal(0, scale, shape))


def _vanishing(tanh_base=0.9, relu_final_loss=0.3):
    """Textbook gradient ratios r = base^(L-1) per combo, and textbook final losses."""
    bases = {"sigmoid/glorot": 0.25, "tanh/glorot": tanh_base, "relu/glorot": 2 ** -0.5,
             "relu/he": 0.99}
    ratio = np.stack([np.stack([np.full(SEEDS, b ** (d - 1)) * _jitter(SEEDS, d) for d in DEPTHS])
                      for b in bases.values()])
    finals = {"sigmoid + SGD": 2.305, "ReLU/He + SGD": relu_final_loss, "sigmoid + Adam": 1.5}
    curves = np.stack([np.stack([np.full(SEEDS, 2.3), np.full(SEEDS, f) * _jitter(SEEDS, 1)], -1)
                       for f in finals.values()])
    results = Results()
    results.add("ratio", ratio, ("combo", "depth", "seed"), combo=list(bases), depth=DEPTHS)
    results.add("train_loss", curves, ("variant", "seed", "step"), variant=list(finals),
                step=[0, 100])
    return results


def _verdicts(module, results):
    return {v.claim.id.split(".")[1]: v.verdict for v in module.claims(results)}


def test_vanishing_textbook_values_give_the_expected_verdicts():
    verdicts = _verdicts(vanishing_gradients, _vanishing())
    assert verdicts == {c.id.split(".")[1]: c.expected for c in vanishing_gradients.CLAIMS}


@pytest.mark.parametrize("tanh_base, verdict", [
    (0.25, REPRODUCED),      # tanh vanishing like sigmoid: 10 decades at depth 10
    (0.9, NUANCED),          # r = 0.39: below 1, within a decade
    (1.1, NOT_REPRODUCED),   # no decay at all
    (0.6, NOT_REPRODUCED),   # r ≈ 0.01: between the two bands, inconclusive
])
def test_tanh_rule_has_three_outcomes(tanh_base, verdict):
    assert _verdicts(vanishing_gradients, _vanishing(tanh_base=tanh_base))["tanh_moderate"] == verdict


def test_sigmoid_stall_claim_fails_when_relu_does_not_train_either():
    verdicts = _verdicts(vanishing_gradients, _vanishing(relu_final_loss=2.2))
    assert verdicts["sigmoid_stalls_training"] == NOT_REPRODUCED


KILLS = [0.0, 0.5, 0.9]
ACTIVATIONS = ["ReLU", "Leaky ReLU", "PReLU"]


def _dying(relu_revival_by_layer=(0.0, 0.0, 0.0), accuracy_drop=(20.0, 1.0, 1.0)):
    rng = np.random.default_rng(0)
    # Born dead at depth 5 and 20 with P = 0.3 and 0.9 (Lu et al. 2020's numbers).
    born = np.stack([np.stack([rng.random(2000) < p for p in (0.3, 0.9)]) for _ in ACTIVATIONS])
    revival = {"ReLU": relu_revival_by_layer, "Leaky ReLU": (0.97,) * 3, "PReLU": (0.99,) * 3}
    revived = np.stack([np.broadcast_to(np.asarray(revival[a]), (3, SEEDS, 3)) * _jitter((3, SEEDS, 3))
                        for a in ACTIVATIONS])
    revived = np.clip(revived, 0, 1)
    killed = np.broadcast_to(np.array([0.0, 32.0, 58.0])[:, None, None], (3, SEEDS, 3))
    killed = np.stack([killed] * 3)
    accuracy = np.stack([np.stack([np.full(SEEDS, 0.62 - drop / 100 * k / 0.9) for k in KILLS])
                         + rng.normal(0, 0.005, (3, SEEDS)) for drop in accuracy_drop])
    results = Results()
    results.add("born_dead", born, ("activation", "depth", "init"), activation=ACTIVATIONS,
                depth=[5, 20])
    results.add("output_constant", np.zeros_like(born), ("activation", "depth", "init"))
    results.add("revived", revived, ("activation", "kill", "seed", "layer"), kill=KILLS,
                layer=[1, 2, 3])
    results.add("killed_units", killed, ("activation", "kill", "seed", "layer"))
    results.add("test_accuracy", accuracy, ("activation", "kill", "seed"))
    results.add("diverged", np.zeros((3, 3, SEEDS), bool), ("activation", "kill", "seed"))
    return results


@pytest.mark.parametrize("relu_revival, verdict", [
    ((0.0, 0.02, 0.03), REPRODUCED),
    ((0.0, 0.5, 0.6), NUANCED),
    ((0.5, 0.5, 0.6), NOT_REPRODUCED),
])
def test_stay_dead_rule_has_three_outcomes(relu_revival, verdict):
    verdicts = _verdicts(dying_relu, _dying(relu_revival_by_layer=relu_revival))
    assert verdicts["relu_units_stay_dead"] == verdict
    assert verdicts["born_dead_with_depth"] == REPRODUCED


def test_accuracy_rule_follows_the_drops():
    assert _verdicts(dying_relu, _dying())["dead_units_cost_accuracy"] == REPRODUCED
    assert _verdicts(dying_relu, _dying(accuracy_drop=(20.0, 9.0, 6.0)))["dead_units_cost_accuracy"] \
        == NOT_REPRODUCED


def test_diverged_runs_count_neither_as_dead_nor_alive():
    revived = np.array([[1.0, np.nan], [0.0, 0.5]])  # (kill, seed): seed 1 diverged at kill 0
    killed = np.array([[10.0, 10.0], [10.0, 10.0]])
    np.testing.assert_allclose(dying_relu.revived_per_seed(revived, killed, axis=0), [0.5, 0.5])
