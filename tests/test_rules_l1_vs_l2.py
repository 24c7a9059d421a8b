"""l1_vs_l2's claim rules on fabricated results: every verdict branch, no training."""

import numpy as np
import pytest

from experiments import l1_vs_l2 as experiment
from phenomena import data
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, REPRODUCED

CONFIG = resolve_config(experiment, "quick")  # p = 100 inputs, k = 10 informative
SEEDS = 4
P, K = CONFIG.p, CONFIG.k
STRENGTHS = sorted({*CONFIG.strengths, CONFIG.universal_threshold})
LOGISTIC_STRENGTHS = sorted({*CONFIG.strengths, CONFIG.logistic_threshold})
MLP_INPUTS = data.MNIST1D_LENGTH + CONFIG.noise_inputs


def _l1_fit(w_true, kept_noise: int, missed: int) -> np.ndarray:
    """An L1 fit: the informative weights (but `missed` of them zeroed) and `kept_noise` small
    nonzero weights on uninformative inputs; every other weight exactly 0."""
    w = 0.9 * w_true.copy()
    w[:, :missed] = 0.0
    w[:, K:K + kept_noise] = 0.05
    return w


def _l2_fit(w_true, strength: float) -> np.ndarray:
    """An L2 fit: everything shrunk by 1 / (1 + 10 λ), nothing exactly 0."""
    return (w_true + 0.1) / (1 + 10 * strength)


def _fabricated(kept_noise=5, missed=0, l2_zero=False, l2_norm_rises=False, outlier_error=5.0,
                logistic_missed=3, mlp_noise_pruned=0.0, mlp_signal_pruned=0.0,
                mlp_l2_pruned=0.0) -> Results:
    w_true = np.zeros((SEEDS, P))
    w_true[:, :K] = 1.5
    l1 = np.stack([_l1_fit(w_true, kept_noise, missed)] * len(STRENGTHS))
    l2 = np.stack([_l2_fit(w_true, s) for s in STRENGTHS])
    if l2_zero:
        l2[0, 0, -1] = 0.0
    if l2_norm_rises:
        l2[-1] *= 100
    results = Results()
    results.add("weights", np.stack([l1, l2]), ("penalty", "strength", "seed", "input"),
                penalty=list(experiment.PENALTIES), strength=STRENGTHS)
    results.add("true_weights", w_true, ("seed", "input"))
    jitter = 1 + 0.01 * np.arange(SEEDS)[:, None]
    # The clean fit is 0.1 * 1.5 = 0.15 off on each informative input (plus the noise weights).
    clean = _l1_fit(w_true, kept_noise, missed)
    results.add("weights_outliers", w_true + outlier_error * jitter * (clean - w_true),
                ("seed", "input"))
    logistic_l1 = np.stack([_l1_fit(w_true, 1, logistic_missed)] * len(LOGISTIC_STRENGTHS))
    logistic_l2 = np.stack([_l2_fit(w_true, s) for s in LOGISTIC_STRENGTHS])
    results.add("weights_logistic", np.stack([logistic_l1, logistic_l2]),
                ("penalty", "logistic_strength", "seed", "input"), logistic_strength=LOGISTIC_STRENGTHS)
    results.add("weights_logistic_scaled",
                np.stack([_l1_fit(w_true, 1, logistic_missed), _l2_fit(w_true, 0.07)]),
                ("penalty", "seed", "input"))
    # Scaled-lasso λ per round: from ½√(2 ln p/n) down to a residual scale of 0.35.
    lambdas = np.array([CONFIG.logistic_threshold, 0.40 * CONFIG.unit_threshold,
                        0.36 * CONFIG.unit_threshold, 0.35 * CONFIG.unit_threshold])
    results.add("logistic_scaled_lambda", np.repeat(lambdas[:, None], SEEDS, axis=1),
                ("scale_round", "seed"))

    strengths = list(CONFIG.mlp_strengths)
    penalties = list(experiment.MLP_PENALTIES)  # L1, group L1, L2
    pruned = np.zeros((3, len(strengths), SEEDS, MLP_INPUTS))
    signal, noise = slice(0, data.MNIST1D_LENGTH), slice(data.MNIST1D_LENGTH, None)
    rng = np.random.default_rng(0)
    group = penalties.index("group L1")
    pruned[group, -1, :, noise] = rng.random((SEEDS, MLP_INPUTS - data.MNIST1D_LENGTH)) < mlp_noise_pruned
    pruned[group, -1, :, signal] = rng.random((SEEDS, data.MNIST1D_LENGTH)) < mlp_signal_pruned
    pruned[penalties.index("L2"), -1, :, :3] = mlp_l2_pruned
    zero_share = np.maximum(pruned, 0.5)
    dims = ("mlp_penalty", "mlp_strength", "seed", "mlp_input")
    results.add("mlp_input_pruned", pruned, dims, mlp_penalty=penalties, mlp_strength=strengths)
    results.add("mlp_zero_weights", zero_share, dims)
    results.add("mlp_input_norm", 1.0 - 0.9 * pruned, dims)  # a pruned row keeps norm 0.1 here
    results.add("mlp_test_accuracy", np.full((3, len(strengths), SEEDS), 0.6),
                ("mlp_penalty", "mlp_strength", "seed"))
    return results


def _verdicts(**changes) -> dict:
    return experiment.claims.verdicts(_fabricated(**changes), CONFIG)


def _decided(**changes) -> dict:
    return {v.claim.id.split(".")[1]: v for v in experiment.claims.decide(_fabricated(**changes), CONFIG)}


def test_the_measured_outcome_gives_every_expected_verdict():
    assert _verdicts() == experiment.claims.expected()
    decided = _decided()
    # 10 informative + 5 noise weights kept of 100: 85 % exact zeros; recall 1, precision 10/15.
    assert decided["l1_exact_zeros"].interval.mean == pytest.approx(0.85)
    assert decided["l1_selects_features"].interval.mean == pytest.approx(1.0)
    assert decided["l1_selects_features"].details["precision"].mean == pytest.approx(10 / 15)
    assert decided["l2_shrinks_evenly"].interval.mean == 0.0
    logistic = decided["logistic_l1_sparse_and_selective"]
    assert logistic.details["scaled_lambda"].mean == pytest.approx(0.35 * CONFIG.unit_threshold)
    assert logistic.details["residual_scale"].mean == pytest.approx(0.35)
    assert logistic.details["mean_lambda_by_round"][0] == pytest.approx(CONFIG.logistic_threshold)


def test_the_descriptive_and_post_hoc_labels_are_honest():
    book = {c.id.split(".")[1]: c for c in experiment.claims.claims}
    assert book["outlier_sentence_is_about_loss"].kind == "claim"  # its rule can fail
    for name in ("outlier_sentence_is_about_loss", "logistic_l1_sparse_and_selective",
                 "l1_prunes_noise_inputs"):
        assert book[name].post_hoc


def test_residual_scale_is_the_rms_of_y_minus_the_predicted_probability():
    x = np.array([[[1.0], [-1.0]]])  # one seed, two examples, one input
    w = np.array([[np.log(3.0)]])   # predicted probabilities 0.75 and 0.25
    y = np.array([[1.0, 1.0]])      # residuals 0.25 and 0.75
    assert experiment.residual_scale(w, x, y)[0] == pytest.approx(np.sqrt((0.25**2 + 0.75**2) / 2))


def test_exact_zeros_need_l1_sparse_and_l2_dense():
    assert _verdicts(kept_noise=40)["l1_exact_zeros"] == NOT_REPRODUCED  # 50 % zeros
    assert _verdicts(l2_zero=True)["l1_exact_zeros"] == REPRODUCED  # one zero, not at λ*
    decided = _decided(kept_noise=40)["l1_exact_zeros"]
    assert 0 <= decided.interval.low <= decided.interval.high <= 1


def test_feature_selection_needs_recall_and_precision():
    assert _verdicts(missed=3)["l1_selects_features"] == NOT_REPRODUCED   # recall 0.7
    assert _verdicts(kept_noise=20)["l1_selects_features"] == NOT_REPRODUCED  # precision 1/3


def test_l2_must_shrink_monotonically_without_zeros():
    assert _verdicts(l2_zero=True)["l2_shrinks_evenly"] == NOT_REPRODUCED
    assert _verdicts(l2_norm_rises=True)["l2_shrinks_evenly"] == NOT_REPRODUCED


def test_outliers_must_more_than_double_the_error():
    decided = _decided(outlier_error=5.0)["outlier_sentence_is_about_loss"]
    assert decided.verdict == REPRODUCED
    assert decided.interval.mean == pytest.approx(5.0 * np.mean(1 + 0.01 * np.arange(SEEDS)))
    assert _verdicts(outlier_error=1.5)["outlier_sentence_is_about_loss"] == NOT_REPRODUCED


def test_logistic_rule_reproduces_when_l1_keeps_every_informative_input():
    assert _verdicts(logistic_missed=0)["logistic_l1_sparse_and_selective"] == REPRODUCED
    assert _verdicts(logistic_missed=3)["logistic_l1_sparse_and_selective"] == NOT_REPRODUCED


def test_pruning_rule_needs_selective_group_l1_and_no_l2_pruning():
    assert _verdicts()["l1_prunes_noise_inputs"] == NOT_REPRODUCED  # nothing pruned
    decided = _decided(mlp_noise_pruned=1.0)["l1_prunes_noise_inputs"]
    assert decided.verdict == REPRODUCED
    assert decided.interval.mean == pytest.approx(1.0)
    ratio = decided.details["noise_over_signal_row_norm"]["group L1"]
    assert ratio[f"λ={CONFIG.mlp_strengths[-1]:g}"].mean == pytest.approx(0.1)
    assert _verdicts(mlp_noise_pruned=0.5, mlp_signal_pruned=0.5)["l1_prunes_noise_inputs"] \
        == NOT_REPRODUCED
    assert _verdicts(mlp_noise_pruned=1.0, mlp_l2_pruned=1.0)["l1_prunes_noise_inputs"] \
        == NOT_REPRODUCED
