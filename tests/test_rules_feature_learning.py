"""feature_learning's claim rules on fabricated results: each verdict branch, no training."""

import dataclasses

import numpy as np
import pytest

from experiments import feature_learning
from phenomena import stats
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config

SEEDS = 6
CONFIG = dataclasses.replace(feature_learning.CONFIG, seeds=SEEDS)


def _fabricated(cnn=0.87, raw=(0.32, 0.56), fft=(0.39, 0.39), lrs=(1e-2,)) -> Results:
    """CNN final test accuracy `cnn` (at every rate but the first, which is 0.2 worse);
    shallow models (logistic, SVM) at `raw` and `fft`, with a little seed noise."""
    noise = 0.005 * np.random.default_rng(0).standard_normal(SEEDS)
    results = Results()
    steps = [0, 500, 1000]
    curve = np.stack([np.full((SEEDS, 3), cnn - (0.2 if i == 0 and len(lrs) > 1 else 0.0))
                      + noise[:, None] for i in range(len(lrs))])
    coords = dict(lr=list(lrs), seed=list(range(SEEDS)), step=steps)
    results.add("cnn_test_accuracy", curve, ("lr", "seed", "step"), **coords)
    results.add("cnn_val_accuracy", curve, ("lr", "seed", "step"))
    results.add("cnn_train_accuracy", np.ones_like(curve), ("lr", "seed", "step"))
    results.add("cnn_train_loss", np.zeros_like(curve) + [2.3, 0.01, 0.01], ("lr", "seed", "step"))
    shallow_acc = np.array([raw, fft])[..., None] + noise  # (features, shallow, seed)
    results.add("shallow_test_accuracy", shallow_acc, ("features", "shallow", "seed"),
                features=["raw", "fft"], shallow=["logistic", "rbf_svm"])
    # Grid choices: the first point everywhere (every hyperparameter at its lower edge), but
    # the SVM on FFT features at index 1 (C at its lower edge, the kernel width inside its grid).
    choice = np.zeros((2, 2, SEEDS), int)
    choice[1, 1] = 1
    results.add("shallow_grid_choice", choice, ("features", "shallow", "seed"))
    return results


def _decided(results) -> dict:
    return {v.claim.id.split(".")[1]: v for v in feature_learning.claims.decide(results, CONFIG)}


def test_cnn_far_ahead_of_every_shallow_model_is_reproduced():
    decided = _decided(_fabricated())
    gap = decided["shallow_needs_features"]
    assert gap.verdict == stats.REPRODUCED
    assert gap.interval.mean == pytest.approx(31.0, abs=1e-6)  # the SVM: 87 - 56 points
    assert gap.details["gap_by_model"]["logistic"].mean == pytest.approx(55.0, abs=1e-6)


def test_grid_edge_choices_are_counted_per_hyperparameter():
    edges = _decided(_fabricated())["shallow_needs_features"].details["grid_edge_choices"]
    assert edges["raw"]["logistic"] == {"C": SEEDS, "of_seeds": SEEDS}
    assert edges["fft"]["rbf_svm"] == {"C": SEEDS, "gamma_scale": 0, "of_seeds": SEEDS}


def test_one_shallow_model_within_the_margin_is_nuanced_and_both_not_reproduced():
    assert _decided(_fabricated(raw=(0.32, 0.80)))["shallow_needs_features"].verdict == stats.NUANCED
    assert _decided(_fabricated(raw=(0.80, 0.80)))["shallow_needs_features"].verdict \
        == stats.NOT_REPRODUCED


def test_features_must_close_half_the_gap_for_every_model():
    # Raw gaps 55 and 31; FFT 39 for both: logistic closes 7/55, the SVM loses 17 points.
    decided = _decided(_fabricated())["engineered_features_close_gap"]
    assert decided.verdict == stats.NOT_REPRODUCED
    assert decided.interval.mean == pytest.approx(-17 - 15.5, abs=1e-6)  # SVM: -17 - 31/2
    assert decided.details["share_of_gap_closed_by_model"]["logistic"].mean \
        == pytest.approx(7 / 55, abs=1e-6)
    # FFT at 0.80 for both: the logistic closes 48/55, the SVM 24/31: both above half.
    assert _decided(_fabricated(fft=(0.80, 0.80)))["engineered_features_close_gap"].verdict \
        == stats.REPRODUCED
    # Only the logistic gets past the midpoint (0.62 > (0.32 + 0.87) / 2 = 0.595).
    assert _decided(_fabricated(fft=(0.62, 0.60)))["engineered_features_close_gap"].verdict \
        == stats.NUANCED


def test_cnn_rate_is_chosen_on_the_other_seeds_validation():
    # The first rate is 0.2 worse on validation and test: every seed gets the second.
    decided = _decided(_fabricated(lrs=(1e-3, 1e-2)))["shallow_needs_features"]
    assert decided.details["cnn_test_accuracy"].mean == pytest.approx(87.0, abs=0.5)
    np.testing.assert_allclose(feature_learning.cnn_test_accuracy(_fabricated(lrs=(1e-3, 1e-2))),
                               feature_learning.cnn_test_accuracy(_fabricated()))


def test_a_learning_rate_override_is_refused():
    # The CNN's rates are the grid `lrs`: `--set train.lr` would change nothing.
    assert set(feature_learning.Config.IGNORED_KEYS) == {"train.lr"}
    with pytest.raises(ConfigError, match=r"train\.lr"):
        resolve_config(feature_learning, "quick", overrides={"train.lr": "0.5"})
    assert resolve_config(feature_learning, "quick", overrides={"lrs": "(0.003, 0.01)"}).lrs \
        == (0.003, 0.01)
