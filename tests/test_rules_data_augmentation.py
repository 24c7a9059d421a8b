"""data_augmentation's claim rule on made-up results: each verdict branch can come out, no training."""

import numpy as np
import pytest

from experiments import data_augmentation as experiment
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, NUANCED, REPRODUCED

CONFIG = resolve_config(experiment, "quick")
SEEDS = CONFIG.seeds
SIZES = list(CONFIG.sizes)  # 125 ... 4000, six sizes
PLAIN = [0.3, 0.4, 0.5, 0.55, 0.6, 0.65]


def _results(gains):
    """Plain final test accuracy `PLAIN` by size; augmented adds `gains` (with seed noise)."""
    rng = np.random.default_rng(0)
    plain = np.array(PLAIN)[:, None] + 0.01 * rng.standard_normal((len(SIZES), SEEDS))
    augmented = plain + np.asarray(gains)[:, None] + 0.01 * rng.standard_normal(plain.shape)
    final = np.stack([plain, augmented])
    curves = np.stack([np.full_like(final, 0.1), final], axis=-1)  # (arm, size, seed, step)
    results = Results()
    for split in ("train", "test"):
        results.add(f"{split}_accuracy", curves, ("arm", "size", "seed", "step"),
                    arm=list(experiment.ARMS), size=SIZES, seed=list(range(SEEDS)), step=[0, 1000])
    return results


def _decided(gains):
    (verdict,) = experiment.claims.decide(_results(gains), CONFIG)
    return verdict


def test_a_gain_that_shrinks_with_data_is_reproduced():
    gains = [0.15, 0.12, 0.10, 0.06, 0.04, 0.02]
    assert experiment.claims.verdicts(_results(gains), CONFIG) == {
        "augmentation_helps_small_data": REPRODUCED}
    verdict = _decided(gains)
    assert verdict.interval.mean == pytest.approx(0.15, abs=0.01)
    assert verdict.details["gain_smallest_minus_largest"].mean == pytest.approx(0.13, abs=0.02)
    assert verdict.details["gain_by_size"][4000].mean == pytest.approx(0.02, abs=0.01)
    # Accuracies get intervals inside [0, 1].
    accuracy = verdict.details["test_accuracy"]["augmented n=125"]
    assert accuracy.mean == pytest.approx(0.45, abs=0.01) and 0 <= accuracy.low <= accuracy.high <= 1


def test_no_gain_at_small_n_is_not_reproduced():
    assert _decided([0.0] * 6).verdict == NOT_REPRODUCED
    # Even an inverted U does not count when the smallest n gains nothing.
    assert _decided([0.0, 0.10, 0.20, 0.10, 0.05, 0.0]).verdict == NOT_REPRODUCED


def test_a_gain_that_does_not_shrink_is_not_reproduced():
    assert _decided([0.10, 0.10, 0.10, 0.11, 0.11, 0.12]).verdict == NOT_REPRODUCED
    assert _decided([0.05, 0.08, 0.10, 0.12, 0.14, 0.16]).verdict == NOT_REPRODUCED


def test_a_gain_that_rises_to_an_inner_peak_then_falls_is_nuanced():
    verdict = _decided([0.14, 0.19, 0.23, 0.21, 0.16, 0.06])
    assert verdict.verdict == NUANCED
    assert verdict.details["peak_size"] == 500
    assert verdict.details["rise_to_peak"].mean == pytest.approx(0.09, abs=0.015)
    assert verdict.details["fall_after_peak"].mean == pytest.approx(0.17, abs=0.015)
    assert verdict.details["lowest_gain_size"] == 4000


def test_a_gain_that_falls_then_comes_back_is_nuanced():
    verdict = _decided([0.15, 0.08, 0.03, 0.02, 0.08, 0.12])
    assert verdict.verdict == NUANCED
    assert verdict.details["lowest_gain_size"] == 1000
    assert verdict.details["back_after_lowest"].mean == pytest.approx(0.10, abs=0.015)


def test_a_flat_start_before_the_fall_is_still_reproduced():
    # A rise within seed noise before the fall is no inner peak.
    assert _decided([0.15, 0.152, 0.12, 0.08, 0.04, 0.02]).verdict == REPRODUCED


def test_the_gain_claim_records_its_deviation():
    (claim,) = experiment.claims
    assert (claim.literature, claim.expected) == (REPRODUCED, NUANCED)
    assert "n = 500" in claim.deviation
