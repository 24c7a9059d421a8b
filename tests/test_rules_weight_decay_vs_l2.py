"""weight_decay_vs_l2's claim rules on made-up results: each verdict branch can come out."""

import dataclasses

import numpy as np
import pytest

from experiments import weight_decay_vs_l2 as experiment
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import CHECK, CLAIM, NOT_REPRODUCED, NUANCED, REPRODUCED

SEEDS = 8
STRENGTHS = [1e-4, 1e-2, 1.0]
CONFIG = resolve_config(experiment, "quick")
LR, STEPS = CONFIG.adam_lr, CONFIG.adam_steps  # 1e-3, 1000: e^(-ηλt) = e^(-λ)


def _results(sgd_difference=0.0, momentum_difference=0.5, control=0.1, adam_l2_spread=1e-5,
             adamw_follows_law=True, trained_differ=True):
    rng = np.random.default_rng(0)
    results = Results()
    same = np.array([np.full(SEEDS, sgd_difference), np.full(SEEDS, momentum_difference)])
    same = same * (1 + 0.1 * rng.random((2, SEEDS)))  # (optimizer: sgd, momentum; seed)
    results.add("sgd_difference", np.stack([same, np.full((2, SEEDS), control)], axis=1),
                ("optimizer", "comparison", "seed"), optimizer=list(experiment.OPTIMIZERS),
                comparison=["L2 vs decay", "none vs decay"])
    # Final ‖w‖ under momentum (review's wd_mom.py): SGDW 20.5, L2 at λ 14.6, none 21.5.
    norms = np.array([[20.5, 14.6, 21.5]] * 2)[..., None, None] * np.ones((2, 3, SEEDS, 2))
    results.add("sgd_weight_norm", norms, ("optimizer", "form", "seed", "step"),
                form=list(experiment.FORMS), step=[0, 500])
    results.add("matched_l2_weight_norm", np.full((SEEDS, 2), 20.55), ("seed", "step"))
    results.add("matched_l2_difference", np.full(SEEDS, 0.25), ("seed",))
    lam = np.asarray(STRENGTHS)
    law = np.exp(-LR * lam * STEPS) if adamw_follows_law else np.full(len(lam), 0.5)
    adamw = law[None, :] * (1 + 1e-4 * rng.standard_normal((SEEDS, len(lam))))
    adam_l2 = np.full((SEEDS, len(lam)), 0.015)
    results.add("adam_final_norm", np.stack([adam_l2, adamw]),
                ("adam_form", "seed", "adam_strength"), adam_form=list(experiment.ADAM_FORMS),
                adam_strength=STRENGTHS)
    spread = adam_l2_spread * (1 + 0.1 * rng.random((SEEDS, len(lam))))
    results.add("adam_l2_spread", spread, ("seed", "adam_strength"))
    trained = 1 + 0.01 * rng.standard_normal((2, len(STRENGTHS), SEEDS))
    if trained_differ:
        trained[0] *= 0.5  # Adam + L2: half AdamW's norm and accuracy
    results.add("trained_norm", 10 * trained, ("adam_form", "trained_strength", "seed"),
                trained_strength=STRENGTHS)
    results.add("trained_test_accuracy", 0.4 * trained, ("adam_form", "trained_strength", "seed"))
    return results


def _verdicts(results, config=CONFIG):
    return experiment.claims.verdicts(results, config)


def test_the_literature_case_is_nuanced():
    assert _verdicts(_results()) == {"equal_under_sgd": NUANCED, "differ_under_adam": REPRODUCED,
                                     "weight_decay_equals_l2": NUANCED}
    assert _verdicts(_results()) == experiment.claims.expected()
    decided = {v.claim.id.split(".")[1]: v for v in experiment.claims.decide(_results(), CONFIG)}
    assert decided["differ_under_adam"].details["trained_lambdas_differing"] == STRENGTHS
    spread = decided["differ_under_adam"].interval
    assert 1e-5 <= spread.low <= spread.mean <= spread.high <= 1.1e-5
    # equal_under_sgd's statistic is the part that can fail: the momentum difference.
    gap = decided["equal_under_sgd"].interval
    assert 0.5 <= gap.low <= gap.mean <= gap.high <= 0.55
    assert decided["equal_under_sgd"].details["sgd_equal"] is True


def test_equal_under_sgd_is_a_check_and_reports_the_matched_strength():
    kinds = {c.id.split(".")[1]: c.kind for c in experiment.claims}
    assert kinds == {"equal_under_sgd": CHECK, "differ_under_adam": CLAIM,
                     "weight_decay_equals_l2": CHECK}
    details = {v.claim.id.split(".")[1]: v for v in
               experiment.claims.decide(_results(), CONFIG)}["equal_under_sgd"].details
    norms = details["momentum_final_weight_norm"]
    assert set(norms) == {"decay", "L2", "none", experiment.MATCHED}
    assert norms[experiment.MATCHED].mean == pytest.approx(20.55)
    assert norms["L2"].mean == pytest.approx(14.6)
    assert details["momentum_matched_l2_difference"].mean == pytest.approx(0.25)
    assert details["momentum_control_difference"].mean == pytest.approx(0.1)


def test_a_float_level_difference_under_sgd_still_passes_but_a_real_one_does_not():
    assert _verdicts(_results(sgd_difference=1e-13))["equal_under_sgd"] == NUANCED
    verdicts = _verdicts(_results(sgd_difference=1e-3))
    assert verdicts["equal_under_sgd"] == NOT_REPRODUCED
    assert verdicts["weight_decay_equals_l2"] == NOT_REPRODUCED


def test_momentum_that_keeps_sgdw_and_l2_together_makes_sgd_reproduced():
    verdicts = _verdicts(_results(momentum_difference=1e-5))
    assert verdicts["equal_under_sgd"] == REPRODUCED
    # Adam still differs, so the sentence is still only partly true.
    assert verdicts["weight_decay_equals_l2"] == NUANCED


def test_a_blind_comparison_cannot_claim_equality():
    # The unpenalized control must differ, or "equal" would mean nothing.
    verdicts = _verdicts(_results(control=1e-6))
    assert verdicts["equal_under_sgd"] == NOT_REPRODUCED
    assert verdicts["weight_decay_equals_l2"] == NOT_REPRODUCED


def test_adam_that_kept_l_two_and_decay_equal_leaves_only_momentum_differing():
    verdicts = _verdicts(_results(adam_l2_spread=0.2))
    assert verdicts["differ_under_adam"] == NOT_REPRODUCED
    assert verdicts["weight_decay_equals_l2"] == NUANCED  # momentum still differs
    assert _verdicts(_results(adamw_follows_law=False))["differ_under_adam"] == NOT_REPRODUCED
    assert _verdicts(_results(trained_differ=False))["differ_under_adam"] == NOT_REPRODUCED


def test_equal_everywhere_makes_the_sentence_true():
    verdicts = _verdicts(_results(adam_l2_spread=0.2, momentum_difference=1e-5))
    assert verdicts["weight_decay_equals_l2"] == REPRODUCED


def test_the_decay_law_is_read_with_the_configs_rate_and_steps():
    # Twice the steps: the fabricated norms (e^(-λ)) no longer follow e^(-ηλt) = e^(-2λ).
    longer = dataclasses.replace(CONFIG, adam_steps=2 * STEPS)
    assert _verdicts(_results(), longer)["differ_under_adam"] == NOT_REPRODUCED


def test_the_optimizer_override_is_refused():
    # The SGD comparison runs both plain SGD and momentum, so `train.optimizer` changes nothing.
    with pytest.raises(ConfigError, match="train.optimizer"):
        resolve_config(experiment, "quick", overrides={"train.optimizer": "adam"})
    assert resolve_config(experiment, "quick", overrides={"train.lr": "0.1"}).train.lr == 0.1
