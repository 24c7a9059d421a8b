"""data_augmentation's claim rule on made-up results: each verdict branch can come out."""

import numpy as np

from experiments import data_augmentation as experiment
from phenomena.results import Results
from phenomena.stats import NOT_REPRODUCED, REPRODUCED

SEEDS = 8
SIZES = [125, 500, 4000]


def _results(gains):
    """Plain accuracy 0.3, 0.5, 0.6 by size; augmented adds `gains` (with seed noise)."""
    rng = np.random.default_rng(0)
    plain = np.array([0.3, 0.5, 0.6])[:, None] + 0.01 * rng.standard_normal((len(SIZES), SEEDS))
    augmented = plain + np.asarray(gains)[:, None] + 0.01 * rng.standard_normal(plain.shape)
    final = np.stack([plain, augmented])
    curves = np.stack([np.full_like(final, 0.1), final], axis=-1)  # (arm, size, seed, step)
    results = Results()
    for split in ("train", "test"):
        results.add(f"{split}_accuracy", curves, ("arm", "size", "seed", "step"),
                    arm=list(experiment.ARMS), size=SIZES, step=[0, 1000])
    return results


def _verdict(gains):
    (verdict,) = experiment.claims(_results(gains))
    return verdict


def test_a_gain_that_shrinks_with_data_is_reproduced():
    verdict = _verdict([0.15, 0.10, 0.02])
    assert verdict.verdict == REPRODUCED
    assert abs(verdict.details["gain_smallest_minus_largest"].mean - 0.13) < 0.02


def test_no_gain_at_small_n_is_not_reproduced():
    assert _verdict([0.0, 0.0, 0.0]).verdict == NOT_REPRODUCED


def test_a_gain_that_does_not_shrink_is_not_reproduced():
    assert _verdict([0.10, 0.10, 0.12]).verdict == NOT_REPRODUCED
