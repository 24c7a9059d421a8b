"""loss_landscape: the local-minimum counter on known curves, and each claim's verdict branches."""

import numpy as np
import pytest

from experiments import loss_landscape
from experiments.loss_landscape import count_local_minima
from phenomena.results import Results
from phenomena.stats import NOT_REPRODUCED, REPRODUCED

SEEDS = 8
ALPHAS = np.linspace(-1.0, 1.0, 51)
BOWL = 0.1 + 3 * ALPHAS**2
# A bowl with two extra dips of depth 0.3 at α = ±0.6 (range ~3: well above 1e-3 of it).
ROUGH = BOWL - 0.3 * np.exp(-((np.abs(ALPHAS) - 0.6) / 0.05) ** 2)


def test_a_bowl_has_one_minimum():
    assert count_local_minima(BOWL, 1e-3) == 1


def test_two_dips_beside_the_bowl_count_as_three_minima():
    assert count_local_minima(ROUGH, 1e-3) == 3


def test_float_noise_below_the_tolerance_is_not_a_minimum():
    noise = np.random.default_rng(0).normal(0, 1e-6, ALPHAS.size)
    assert count_local_minima(BOWL + noise, 1e-3) == 1


def test_a_flat_bottomed_valley_counts_once_and_a_monotone_curve_has_none():
    assert count_local_minima(np.array([3.0, 2.0, 1.0, 1.0, 1.0, 2.0, 3.0]), 1e-3) == 1
    assert count_local_minima(ALPHAS, 1e-3) == 0   # the end point is not an interior minimum
    assert count_local_minima(np.ones(9), 1e-3) == 0


def test_a_non_finite_curve_is_flagged():
    assert count_local_minima(np.array([1.0, np.nan, 2.0]), 1e-3) == -1


def _landscape(plain_curve=ROUGH, plain_ratio=0.1, plain_error=0.4):
    """Two variants x 8 seeds with jittered curves, eigenvalues and test errors."""
    rng = np.random.default_rng(0)
    curves = np.stack([np.broadcast_to(c, (SEEDS, 2, ALPHAS.size)) for c in (plain_curve, BOWL)])
    lambda_max = np.full((2, SEEDS), 50.0) * np.exp(rng.normal(0, 0.1, (2, SEEDS)))
    ratio = np.stack([np.full(SEEDS, plain_ratio), np.full(SEEDS, 0.01)]) * np.exp(rng.normal(0, 0.1, (2, SEEDS)))
    error = np.stack([np.full(SEEDS, plain_error), np.full(SEEDS, 0.3)]) + rng.normal(0, 0.01, (2, SEEDS))
    results = Results()
    results.add("slices", curves, ("variant", "seed", "direction", "alpha"),
                variant=["plain", "residual"], alpha=ALPHAS.tolist())
    results.add("lambda_max", lambda_max, ("variant", "seed"))
    results.add("lambda_min", -ratio * lambda_max, ("variant", "seed"))
    results.add("test_error", np.stack([np.full((2, SEEDS), 0.9), error], -1), ("variant", "seed", "step"),
                step=[0, 100])
    results.add("train_loss", np.full((2, SEEDS, 2), 1.0), ("variant", "seed", "step"))
    results.meta.update(minimum_prominence=1e-3, depth=20)
    return results


def _verdicts(results):
    return {v.claim.id.split(".")[1]: v.verdict for v in loss_landscape.claims(results)}


def test_a_rough_sharp_plain_net_that_generalizes_worse_reproduces_both_claims():
    assert _verdicts(_landscape()) == {"skips_smooth_landscape": REPRODUCED,
                                       "plain_generalizes_worse": REPRODUCED}


@pytest.mark.parametrize("changes", [{"plain_curve": BOWL}, {"plain_ratio": 0.01}])
def test_smoothness_needs_both_more_minima_and_a_larger_eigenvalue_ratio(changes):
    assert _verdicts(_landscape(**changes))["skips_smooth_landscape"] == NOT_REPRODUCED


def test_equal_test_errors_do_not_reproduce_the_generalization_claim():
    assert _verdicts(_landscape(plain_error=0.3))["plain_generalizes_worse"] == NOT_REPRODUCED
