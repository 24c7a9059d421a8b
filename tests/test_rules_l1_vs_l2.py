"""l1_vs_l2's claim rules on fabricated results: every verdict branch, no training."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from experiments import l1_vs_l2 as experiment
from phenomena import data
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, NUANCED, REPRODUCED

CONFIG = resolve_config(experiment, "quick")  # p = 100 inputs, k = 10 informative
SEEDS = 4
P, K = CONFIG.p, CONFIG.k
STRENGTHS = sorted({*CONFIG.strengths, CONFIG.universal_threshold})
LOGISTIC_STRENGTHS = sorted({*CONFIG.strengths, *CONFIG.cv_strengths, CONFIG.logistic_threshold})
CV_CHOICE = CONFIG.cv_strengths[2]  # the fabricated CV loss is smallest here
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


def _fabricated(kept_noise=5, missed=0, l2_zero=False, l2_norm_rises=False, l1_outlier_error=5.0,
                l2_outlier_error=4.0, lad_outlier_error=1.2, scale_fit=(1, 0), cv_fit=(40, 0),
                mlp_noise_pruned=0.0, mlp_signal_pruned=0.0, mlp_l2_pruned=0.0) -> Results:
    """Results as the run writes them. `*_outlier_error`: the factor (times a small per-seed
    jitter) by which outliers multiply each fit's error; `scale_fit`, `cv_fit`: (kept noise
    inputs, missed informative inputs) of logistic L1 at the residual-scale and the CV λ."""
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
    clean = np.stack([l1, l2])
    factor = np.array([l1_outlier_error, l2_outlier_error])[:, None, None, None]
    results.add("weights_outliers", w_true + factor * jitter * (clean - w_true),
                ("penalty", "strength", "seed", "input"))
    lad_clean = w_true + 0.1
    results.add("lad_weights", np.stack([lad_clean, w_true + lad_outlier_error * jitter * 0.1]),
                ("lad_target", "seed", "input"), lad_target=["clean", "outliers"])
    logistic_l1 = np.stack([_l1_fit(w_true, 1, 3)] * len(LOGISTIC_STRENGTHS))  # fails elsewhere
    logistic_l1[LOGISTIC_STRENGTHS.index(CONFIG.logistic_threshold)] = _l1_fit(w_true, *scale_fit)
    logistic_l1[LOGISTIC_STRENGTHS.index(CV_CHOICE)] = _l1_fit(w_true, *cv_fit)
    logistic_l2 = np.stack([_l2_fit(w_true, s) for s in LOGISTIC_STRENGTHS])
    results.add("weights_logistic", np.stack([logistic_l1, logistic_l2]),
                ("penalty", "logistic_strength", "seed", "input"), logistic_strength=LOGISTIC_STRENGTHS)
    cv_loss = 0.5 + np.abs(np.log(np.asarray(CONFIG.cv_strengths) / CV_CHOICE))
    results.add("cv_loss", np.repeat(cv_loss[:, None], SEEDS, axis=1), ("cv_strength", "seed"),
                cv_strength=list(CONFIG.cv_strengths))

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
    loss_curve = np.array([2.3, 0.5, 0.42, 0.40])  # flattening: last change 0.02 / 0.40
    results.add("mlp_train_loss", np.broadcast_to(loss_curve, (3, len(strengths), SEEDS, 4)),
                ("mlp_penalty", "mlp_strength", "seed", "mlp_step"), mlp_step=[0, 1, 2, 3])
    return results


def _verdicts(**changes) -> dict:
    return experiment.claims.verdicts(_fabricated(**changes), CONFIG)


def _decided(**changes) -> dict:
    return {v.claim.id.split(".")[1]: v for v in experiment.claims.decide(_fabricated(**changes), CONFIG)}


def test_the_measured_outcome_gives_every_expected_verdict():
    expected = experiment.claims.expected()
    # The quick run prunes the noise inputs, and its L1 penalty is a little more robust than L2.
    verdicts = _verdicts(mlp_noise_pruned=1.0, l1_outlier_error=3.5)
    assert verdicts == expected
    decided = _decided()
    # 10 informative + 5 noise weights kept of 100: 85 % exact zeros; recall 1, precision 10/15.
    assert decided["l1_exact_zeros"].interval.mean == pytest.approx(0.85)
    assert decided["l1_selects_features"].interval.mean == pytest.approx(1.0)
    assert decided["l1_selects_features"].details["precision"].mean == pytest.approx(10 / 15)
    assert decided["l2_shrinks_evenly"].interval.mean == 0.0


def test_the_post_hoc_labels_are_honest():
    book = {c.id.split(".")[1]: c for c in experiment.claims.claims}
    assert book["outlier_sentence_is_about_loss"].kind == "claim"  # its rule can fail
    for name in ("outlier_sentence_is_about_loss", "logistic_l1_sparse_and_selective",
                 "l1_prunes_noise_inputs"):
        assert book[name].post_hoc


def test_the_bernoulli_scale_matches_a_monte_carlo_of_the_setup():
    # E[Φ(sZ)(1 − Φ(sZ))] at s² = E‖w*‖²/σ² = 10 · 7/3, against the arcsine closed form.
    z = np.random.default_rng(0).standard_normal(400_000)
    p = norm.cdf(math.sqrt(CONFIG.k * 7 / 3) / CONFIG.noise * z)
    assert CONFIG.bernoulli_scale == pytest.approx(np.sqrt(np.mean(p * (1 - p))), abs=2e-3)
    assert CONFIG.bernoulli_scale == pytest.approx(0.214, abs=1e-3)
    assert CONFIG.logistic_threshold == pytest.approx(0.214 * CONFIG.unit_threshold, abs=3e-4)


def test_held_out_cross_entropy_is_the_mean_logistic_loss():
    x = np.array([[[1.0], [-1.0]]])  # one seed, two examples, one input
    w = np.array([[np.log(3.0)]])   # predicted probabilities 0.75 and 0.25
    y = np.array([[1.0, 1.0]])
    loss = experiment.held_out_cross_entropy(w, x, y)
    assert loss.shape == (1,)
    assert loss[0] == pytest.approx(-(np.log(0.75) + np.log(0.25)) / 2)


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


def test_outliers_need_a_fragile_penalty_and_a_robust_loss():
    decided = _decided()["outlier_sentence_is_about_loss"]
    assert decided.verdict == REPRODUCED
    jitter = np.mean(1 + 0.01 * np.arange(SEEDS))
    assert decided.interval.mean == pytest.approx((5.0 - 4.0) * jitter)
    assert decided.details["absolute_loss_ratio"].mean == pytest.approx(1.2 * jitter)
    # L2's best clean λ: the smallest error ‖(w* + 0.1)/(1 + 10λ) − w*‖ on the grid.
    shrink = 1 / (1 + 10 * np.asarray(STRENGTHS))
    errors = 10 * (1.6 * shrink - 1.5) ** 2 + (P - K) * (0.1 * shrink) ** 2
    assert decided.details["l2_lambda"] == STRENGTHS[int(np.argmin(errors))] == 0.01
    # Equal ratios: the L1 penalty is no more robust than L2 (the CI is not below 0).
    assert _verdicts(l1_outlier_error=4.0)["outlier_sentence_is_about_loss"] == REPRODUCED
    # The L1 penalty clearly more robust than L2: not reproduced.
    assert _verdicts(l1_outlier_error=2.0)["outlier_sentence_is_about_loss"] == NOT_REPRODUCED
    # The absolute loss not robust either: not reproduced.
    assert _verdicts(lad_outlier_error=3.0)["outlier_sentence_is_about_loss"] == NOT_REPRODUCED


def test_logistic_rule_is_three_way_over_the_two_choices_of_lambda():
    name = "logistic_l1_sparse_and_selective"
    assert _verdicts(cv_fit=(1, 0))[name] == REPRODUCED        # both choices pass
    assert _verdicts()[name] == NUANCED                         # CV keeps 40 noise inputs
    assert _verdicts(scale_fit=(1, 3), cv_fit=(1, 0))[name] == NUANCED  # the scale λ misses 3
    assert _verdicts(scale_fit=(1, 3))[name] == NOT_REPRODUCED  # neither passes
    details = _decided()[name].details
    assert details["cross-validation: lambda"].mean == pytest.approx(CV_CHOICE)
    assert details["residual scale: lambda"].mean == pytest.approx(CONFIG.logistic_threshold)
    assert details["cross-validation: precision"].mean == pytest.approx(10 / 50)
    assert details["residual scale: holds"] and not details["cross-validation: holds"]


def test_the_most_selective_lambda_breaks_ties_towards_the_larger():
    tied = {lam: type("I", (), {"mean": 0.0})() for lam in (0.001, 0.003, 0.01)}
    assert experiment._most_selective([0.001, 0.003, 0.01], tied) == 0.01
    tied[0.003].mean = 0.2
    assert experiment._most_selective([0.001, 0.003, 0.01], tied) == 0.003


def test_pruning_rule_needs_selective_group_l1_and_no_l2_pruning():
    nothing = _decided()["l1_prunes_noise_inputs"]
    assert nothing.verdict == NOT_REPRODUCED
    assert nothing.statistic.endswith(f"λ={CONFIG.mlp_strengths[-1]:g}")  # ties: the largest λ
    decided = _decided(mlp_noise_pruned=1.0)["l1_prunes_noise_inputs"]
    assert decided.verdict == REPRODUCED
    assert decided.interval.mean == pytest.approx(1.0)
    label = f"λ={CONFIG.mlp_strengths[-1]:g}"
    assert decided.details["noise_over_signal_row_norm"]["group L1"][label].mean == pytest.approx(0.1)
    assert decided.details["test_accuracy"]["group L1"][label].mean == pytest.approx(0.6)
    assert decided.details["train_loss_change_last_interval"]["L2"][label].mean == \
        pytest.approx(-0.05)
    assert _verdicts(mlp_noise_pruned=0.5, mlp_signal_pruned=0.5)["l1_prunes_noise_inputs"] \
        == NOT_REPRODUCED
    assert _verdicts(mlp_noise_pruned=1.0, mlp_l2_pruned=1.0)["l1_prunes_noise_inputs"] \
        == NOT_REPRODUCED
