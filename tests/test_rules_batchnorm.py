"""batchnorm's claim rules on fabricated results: every verdict branch, no training."""

import math

import numpy as np
import pytest

from experiments import batchnorm as bn
from phenomena import stats
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config

LRS = [0.1, 0.2, 0.4, 0.8, 1.6]
STEPS = [20, 40, 60]
SEEDS = 4
CONFIG = resolve_config(bn, "quick")  # eval_every 20, as the fabricated steps


def _fabricated(plain_limit=0.2, bn_limit=1.6, gap_change=0.0, shift_ratio=0.1,
                sigmoid_plain=2.3, sigmoid_bn=0.3) -> Results:
    """Results where each model is stable up to its limit; BN reaches the target one interval in."""
    rng = np.random.default_rng(0)
    jitter = lambda *shape: 1e-3 * rng.standard_normal(shape)  # noqa: E731
    loss = np.full((2, len(LRS), SEEDS, len(STEPS)), 2.5)
    diverged = np.full((2, len(LRS), SEEDS), -1)
    for m, limit in enumerate((plain_limit, bn_limit)):
        for i, lr in enumerate(LRS):
            if lr <= limit:
                # No BN gets to the target at the last interval, BN at the first.
                loss[m, i] = [1.8, 1.5, 1.0] if m == 0 else [1.0, 0.6, 0.4]
            else:
                diverged[m, i] = 7
                loss[m, i] = np.nan
    results = Results()
    results.add("interval_loss", loss + jitter(*loss.shape), ("model", "lr", "seed", "step"),
                model=["no BN", "BN"], lr=LRS, step=STEPS)
    results.add("first_loss", np.full((2, len(LRS), SEEDS), 2.4), ("model", "lr", "seed"))
    results.add("diverged_at", diverged, ("model", "lr", "seed"))
    train_acc = np.full((2, len(LRS), SEEDS), 0.95)
    test_acc = train_acc - 0.05 + jitter(2, len(LRS), SEEDS)
    test_acc[1] += gap_change  # BN's gap is smaller by `gap_change`
    results.add("train_accuracy", train_acc, ("model", "lr", "seed"))
    results.add("test_accuracy", test_acc, ("model", "lr", "seed"))
    shift = np.ones((2, len(LRS), SEEDS, len(STEPS)))
    shift[1] *= shift_ratio
    results.add("shift", shift * np.exp(jitter(*shift.shape)), ("model", "lr", "seed", "step"))
    sigmoid = np.stack([np.full((1, SEEDS, len(STEPS)), sigmoid_plain),
                        np.full((1, SEEDS, len(STEPS)), sigmoid_bn)])
    results.add("sigmoid_interval_loss", sigmoid + jitter(*sigmoid.shape),
                ("model", "sigmoid_lr", "seed", "step"), sigmoid_lr=[0.5])
    return results


def _verdicts(results) -> dict:
    return {v.claim.id.split(".")[1]: v for v in bn.claims.decide(results, CONFIG)}


def test_the_expected_outcome_matches_every_expected_verdict():
    verdicts = _verdicts(_fabricated())
    assert bn.claims.verdicts(_fabricated(), CONFIG) == bn.claims.expected()
    assert verdicts["bn_allows_higher_lr"].details["ratio_all_seeds"] == 8.0
    assert verdicts["bn_allows_higher_lr"].interval.mean == pytest.approx(3.0)  # log2(1.6 / 0.2)
    assert verdicts["bn_converges_faster"].interval.mean == pytest.approx(40.0)  # 60 - 20 steps
    assert verdicts["bn_converges_faster"].details["shared_lr"] == 0.2


def test_a_twofold_rate_gain_is_not_enough():
    assert _verdicts(_fabricated(plain_limit=0.8))["bn_allows_higher_lr"].verdict == stats.NOT_REPRODUCED


def test_sigmoid_rescue_needs_both_sides():
    assert _verdicts(_fabricated())["bn_rescues_sigmoid"].verdict == stats.REPRODUCED
    assert _verdicts(_fabricated(sigmoid_bn=1.5))["bn_rescues_sigmoid"].verdict == stats.NOT_REPRODUCED
    assert _verdicts(_fabricated(sigmoid_plain=1.8))["bn_rescues_sigmoid"].verdict == stats.NOT_REPRODUCED


@pytest.mark.parametrize("change, verdict", [(0.05, stats.REPRODUCED), (-0.05, stats.NOT_REPRODUCED),
                                             (0.0, stats.NUANCED), (0.015, stats.NUANCED)])
def test_gap_rule_branches(change, verdict):
    assert _verdicts(_fabricated(gap_change=change))["bn_regularizes"].verdict == verdict


@pytest.mark.parametrize("ratio, verdict", [(0.1, stats.NOT_REPRODUCED), (3.0, stats.REPRODUCED),
                                            (1.0, stats.NUANCED), (1.5, stats.NUANCED)])
def test_covariate_shift_rule_branches(ratio, verdict):
    assert _verdicts(_fabricated(shift_ratio=ratio))["covariate_shift_not_the_reason"].verdict == verdict


def test_without_a_speed_up_reduced_shift_is_only_nuanced():
    results = _fabricated(shift_ratio=0.1)
    results.arrays["interval_loss"][1] = results.arrays["interval_loss"][0]  # BN no faster
    verdicts = _verdicts(results)
    assert verdicts["bn_converges_faster"].verdict == stats.NOT_REPRODUCED
    assert verdicts["covariate_shift_not_the_reason"].verdict == stats.NUANCED


def test_bounded_details_stay_in_range():
    verdicts = _verdicts(_fabricated())
    shift_bn = verdicts["covariate_shift_not_the_reason"].details["shift_bn"]
    assert 0 <= shift_bn.low <= shift_bn.mean <= shift_bn.high
    accuracy = verdicts["bn_regularizes"].details["train_accuracy_bn"]
    assert accuracy.high <= 1


def test_stability_helpers():
    stable = np.array([[True, True, False], [False, False, False]])
    np.testing.assert_array_equal(bn.largest_stable_lr(stable, [1.0, 2.0, 4.0]), [2.0, 0.5])
    losses = np.array([[2.0, 1.0, 0.5], [2.0, 2.0, 2.0]])
    np.testing.assert_array_equal(bn.steps_to_target(losses, [20, 40, 60], 20), [40.0, 80.0])
    assert bn.TARGET_LOSS == pytest.approx(0.5 * math.log(10))


def test_a_learning_rate_override_is_refused():
    # Every run's rate comes from the sweeps, so `--set train.lr` would change nothing.
    with pytest.raises(ConfigError, match="train.lr"):
        resolve_config(bn, "quick", overrides={"train.lr": "0.5"})
    assert resolve_config(bn, "quick", overrides={"train.steps": "200"}).train.steps == 200
