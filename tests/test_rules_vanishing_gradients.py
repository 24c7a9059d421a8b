"""vanishing_gradients' claim rules on fabricated results: every verdict branch, no training."""

import math

import numpy as np
import pytest

from experiments import vanishing_gradients as vg
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, NUANCED, REPRODUCED

CONFIG = resolve_config(vg, "quick")
SEEDS = 8
DEPTHS = list(CONFIG.depths)  # 5, 10, 20, 30, 50
TEXTBOOK = {"sigmoid/glorot": 0.25, "tanh/glorot": 0.9, "relu/glorot": 2 ** -0.5, "relu/he": 0.99}


def _jitter(shape, seed=0, scale=0.05):
    return np.exp(np.random.default_rng(seed).normal(0, scale, shape))


def _results(relu_final_loss=0.3, sigmoid_final_loss=2.305, **bases) -> Results:
    """Gradient ratios r = base^(L-1) per combo (textbook bases unless given), and final losses."""
    bases = {**TEXTBOOK, **{k.replace("_", "/"): v for k, v in bases.items()}}
    ratio = np.stack([np.stack([np.full(SEEDS, b ** (d - 1)) * _jitter(SEEDS, d) for d in DEPTHS])
                      for b in bases.values()])
    finals = {"sigmoid + SGD": sigmoid_final_loss, "ReLU/He + SGD": relu_final_loss,
              "sigmoid + Adam": 1.5}
    losses = np.stack([np.stack([np.full(SEEDS, 2.3), np.full(SEEDS, f) * _jitter(SEEDS, 1)], -1)
                       for f in finals.values()])
    results = Results()
    results.add("ratio", ratio, ("combo", "depth", "seed"), combo=list(bases), depth=DEPTHS)
    results.add("train_loss", losses, ("variant", "seed", "step"), variant=list(finals),
                step=[0, 100])
    return results


def _verdicts(results: Results) -> dict[str, str]:
    return vg.claims.verdicts(results, CONFIG)


def test_textbook_values_give_the_expected_verdicts():
    assert _verdicts(_results()) == vg.claims.expected()
    assert vg.claims.expected()["tanh_moderate"] == NUANCED


def test_sigmoid_that_vanishes_too_little_is_not_reproduced():
    # log10 r at depth 10 = 9 log10 0.6 = -2.0: not below -4 (though it falls with depth)
    assert _verdicts(_results(sigmoid_glorot=0.6))["sigmoid_vanishes"] == NOT_REPRODUCED


def test_sigmoid_ratio_must_fall_at_every_depth_step():
    results = _results()
    ratio = results.arrays["ratio"]
    sigmoid = results.coords["combo"].index("sigmoid/glorot")
    ratio[sigmoid, DEPTHS.index(50)] = ratio[sigmoid, DEPTHS.index(30)] * 10  # depth 50 above 30
    assert _verdicts(results)["sigmoid_vanishes"] == NOT_REPRODUCED


def test_relu_he_must_keep_r_above_a_tenth_at_every_depth():
    # 0.95^49 = 0.08 at depth 50: the worst depth fails the rule.
    verdicts = _verdicts(_results(relu_he=0.95))
    assert verdicts["relu_he_preserves"] == NOT_REPRODUCED
    assert verdicts["init_matters"] == REPRODUCED  # 0.95^19 = 0.38 at depth 20 is still above 0.1


def test_init_matters_fails_when_glorot_does_not_decay():
    assert _verdicts(_results(relu_glorot=0.9))["init_matters"] == NOT_REPRODUCED  # r(20) = 0.14


@pytest.mark.parametrize("tanh_base, verdict", [
    (0.25, REPRODUCED),      # tanh vanishing like sigmoid: 5.4 decades at depth 10
    (0.9, NUANCED),          # r = 0.39: below 1, within a decade
    (1.1, NOT_REPRODUCED),   # no decay at all
    (0.6, NOT_REPRODUCED),   # r ≈ 0.01: between the two bands, inconclusive
])
def test_tanh_rule_has_three_outcomes(tanh_base, verdict):
    assert _verdicts(_results(tanh_glorot=tanh_base))["tanh_moderate"] == verdict


def test_sigmoid_stall_claim_fails_when_relu_does_not_train_either():
    assert _verdicts(_results(relu_final_loss=2.2))["sigmoid_stalls_training"] == NOT_REPRODUCED


def test_sigmoid_stall_claim_fails_when_sigmoid_trains():
    # 1.9 < 0.9 ln 10 = 2.07: not near chance
    assert _verdicts(_results(sigmoid_final_loss=1.9))["sigmoid_stalls_training"] == NOT_REPRODUCED


def test_final_loss_interval_is_bounded_and_reports_adam():
    outcome = {v.claim.id: v for v in vg.claims.decide(_results(), CONFIG)}
    stall = outcome["vanishing_gradients.sigmoid_stalls_training"]
    assert stall.interval.low >= 0 and stall.interval.n == SEEDS
    assert stall.details["chance_loss"] == pytest.approx(math.log(10))
    assert stall.details["adam_rescues_sigmoid"] is False  # 1.5 is above 0.5 ln 10 = 1.15


def test_optimizer_override_is_refused():
    with pytest.raises(ConfigError, match="train.optimizer"):
        resolve_config(vg, "quick", overrides={"train.optimizer": "adam"})
