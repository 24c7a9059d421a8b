"""loss_landscape's claim rules on fabricated results: each verdict branch, no training.

(The local-minimum counter the rule uses is `curves.count_local_minima`, tested in test_curves.)
"""

import numpy as np
import pytest

from experiments import loss_landscape
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, REPRODUCED

SEEDS = 8
ALPHAS = np.linspace(-1.0, 1.0, 51)
BOWL = 0.1 + 3 * ALPHAS**2
# A bowl with two extra dips of depth 0.3 at α = ±0.6 (range ~3: well above 1e-3 of it).
ROUGH = BOWL - 0.3 * np.exp(-((np.abs(ALPHAS) - 0.6) / 0.05) ** 2)
CONFIG = resolve_config(loss_landscape, "quick")  # minimum_prominence 1e-3


def _landscape(plain_curve=ROUGH, plain_ratio=0.1, plain_error=0.4):
    """Two variants x 8 seeds with jittered curves, eigenvalues and test errors."""
    rng = np.random.default_rng(0)
    slices = np.stack([np.broadcast_to(c, (SEEDS, 2, ALPHAS.size)) for c in (plain_curve, BOWL)])
    lambda_max = np.full((2, SEEDS), 50.0) * np.exp(rng.normal(0, 0.1, (2, SEEDS)))
    ratio = np.stack([np.full(SEEDS, plain_ratio), np.full(SEEDS, 0.01)]) * np.exp(rng.normal(0, 0.1, (2, SEEDS)))
    error = np.stack([np.full(SEEDS, plain_error), np.full(SEEDS, 0.3)]) + rng.normal(0, 0.01, (2, SEEDS))
    results = Results()
    results.add("slices", slices, ("variant", "seed", "direction", "alpha"),
                variant=["plain", "residual"], alpha=ALPHAS.tolist())
    results.add("lambda_max", lambda_max, ("variant", "seed"))
    results.add("lambda_min", -ratio * lambda_max, ("variant", "seed"))
    results.add("test_error", np.stack([np.full((2, SEEDS), 0.9), error], -1), ("variant", "seed", "step"),
                step=[0, 100])
    results.add("train_loss", np.full((2, SEEDS, 2), 1.0), ("variant", "seed", "step"))
    return results


def _decided(results) -> dict:
    return {v.claim.id.split(".")[1]: v for v in loss_landscape.claims.decide(results, CONFIG)}


def test_a_rough_sharp_plain_net_that_generalizes_worse_reproduces_both_claims():
    assert loss_landscape.claims.verdicts(_landscape(), CONFIG) == {
        "skips_smooth_landscape": REPRODUCED, "plain_generalizes_worse": REPRODUCED}
    decided = _decided(_landscape())
    # Rough slices have 3 minima, bowls 1; test errors 0.4 vs 0.3.
    assert decided["skips_smooth_landscape"].interval.mean == pytest.approx(2.0)
    assert decided["skips_smooth_landscape"].details["log10_eigen_ratio_gap"].mean == pytest.approx(1.0, abs=0.1)
    assert decided["plain_generalizes_worse"].interval.mean == pytest.approx(0.1, abs=0.01)
    error = decided["plain_generalizes_worse"].details["test_error"]["plain"]
    assert 0 <= error.low <= error.high <= 1


@pytest.mark.parametrize("changes", [{"plain_curve": BOWL}, {"plain_ratio": 0.01}])
def test_smoothness_needs_both_more_minima_and_a_larger_eigenvalue_ratio(changes):
    assert loss_landscape.claims.verdicts(_landscape(**changes), CONFIG)["skips_smooth_landscape"] \
        == NOT_REPRODUCED


def test_equal_test_errors_do_not_reproduce_the_generalization_claim():
    assert loss_landscape.claims.verdicts(_landscape(plain_error=0.3), CONFIG)["plain_generalizes_worse"] \
        == NOT_REPRODUCED


def test_the_prominence_comes_from_the_config():
    # With a tolerance above the dips' depth (0.3 of a range ~3), rough slices count one minimum.
    import dataclasses
    lenient = dataclasses.replace(CONFIG, minimum_prominence=0.5)
    assert loss_landscape.claims.verdicts(_landscape(), lenient)["skips_smooth_landscape"] == NOT_REPRODUCED


def test_only_the_generalization_claim_is_post_hoc():
    # The ledger lists skips_smooth_landscape; plain_generalizes_worse was added by the module.
    post_hoc = {claim.id.split(".")[1]: claim.post_hoc for claim in loss_landscape.claims}
    assert post_hoc == {"skips_smooth_landscape": False, "plain_generalizes_worse": True}


def test_every_seed_trains_on_its_own_subset_and_probes_a_piece_of_it():
    import dataclasses
    config = dataclasses.replace(CONFIG, seeds=3, train_size=50, landscape_examples=20)
    subsets, batch, test = loss_landscape._training_sets(config)
    x = np.asarray(subsets["x"])
    assert x.shape[:2] == (3, 50) and np.asarray(test["x"]).shape[0] == 3
    assert not np.array_equal(x[0], x[1])  # drawn per seed, not the first 50 examples for all
    np.testing.assert_array_equal(batch["x"], x[:, :20])
    again, _, _ = loss_landscape._training_sets(config)
    np.testing.assert_array_equal(np.asarray(again["x"]), x)  # the same seed, the same subset
