"""cnn_vs_mlp's claim rules on fabricated results: each verdict branch, no training."""

import dataclasses

import numpy as np
import pytest

from experiments import cnn_vs_mlp
from phenomena import stats
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config

SEEDS = 6
LRS = (0.01, 0.03)
CONFIG = dataclasses.replace(cnn_vs_mlp.CONFIG, seeds=SEEDS, lrs=LRS)
STEPS = [0, 500, 1000, 1500]
PAPER_LIKE = {"logistic": {"ordered": 0.31, "shuffled": 0.31},
              "mlp": {"ordered": 0.62, "shuffled": 0.63},
              "cnn": {"ordered": 0.90, "shuffled": 0.53}}
PARAMS = (410, 15210, 1514)  # logistic, MLP, CNN


def _fabricated(accuracy=PAPER_LIKE, params=PARAMS, worse_rate=1, peak_then_drop=0.0,
                diverged_rate=None) -> Results:
    """Accuracy curves rising from 0.1 to `accuracy[arch][order]` by step 1000 (validation =
    test), the same for every seed but for a little noise; the rate `worse_rate` ends 0.1
    lower. `peak_then_drop` lowers the last evaluation (validation and test) by that much;
    `diverged_rate` marks every run at that rate as diverged (and its curves as NaN)."""
    noise = 0.004 * np.random.default_rng(0).standard_normal(SEEDS)
    shape = (len(cnn_vs_mlp.ARCHS), len(cnn_vs_mlp.ORDERS), len(LRS), SEEDS, len(STEPS))
    curves = np.zeros(shape)
    diverged = np.full(shape[:-1], -1)
    for a, arch in enumerate(cnn_vs_mlp.ARCHS):
        for o, order in enumerate(cnn_vs_mlp.ORDERS):
            for r in range(len(LRS)):
                top = accuracy[arch][order] - (0.1 if r == worse_rate else 0.0)
                curve = np.array([0.1, (0.1 + top) / 2, top, top - peak_then_drop])
                curves[a, o, r] = curve[None, :] + noise[:, None]
                if r == diverged_rate:
                    curves[a, o, r, :, 2:] = np.nan
                    diverged[a, o, r] = 700
    results = Results()
    axes = ("arch", "order", "lr", "seed", "step")
    coords = dict(arch=list(cnn_vs_mlp.ARCHS), order=list(cnn_vs_mlp.ORDERS), lr=list(LRS),
                  seed=list(range(SEEDS)), step=STEPS)
    for name in ("train_accuracy", "val_accuracy", "test_accuracy"):
        results.add(name, curves, axes, **coords)
    results.add("val_loss", 2.0 - curves, axes)
    results.add("diverged_at", diverged, axes[:-1])
    results.add("params", list(params), ("arch",))
    return results


def _decided(results) -> dict:
    return {v.claim.id.split(".")[1]: v for v in cnn_vs_mlp.claims.decide(results, CONFIG)}


def test_a_cnn_far_ahead_with_fewer_params_and_behind_on_shuffled_data_is_reproduced():
    decided = _decided(_fabricated())
    wins, order = decided["cnn_wins_with_fewer_params"], decided["advantage_needs_spatial_order"]
    assert wins.verdict == stats.REPRODUCED
    assert wins.interval.mean == pytest.approx(28.0, abs=1e-6)  # 90 - 62 points
    assert wins.details["params"] == {"logistic": 410, "mlp": 15210, "cnn": 1514}
    assert wins.details["paper_cnn_lead"] == 26.0
    assert order.verdict == stats.REPRODUCED
    assert order.interval.mean == pytest.approx(-10.0, abs=1e-6)  # 53 - 63 points
    assert order.details["cnn_lead_lost_to_shuffling"].mean == pytest.approx(38.0, abs=1e-6)
    assert order.details["shuffled_minus_ordered"]["cnn"].mean == pytest.approx(-37.0, abs=1e-6)
    assert order.details["paper_cnn_lead"] == -12.0


def test_a_lead_within_the_margin_or_more_parameters_is_not_reproduced():
    close = {**PAPER_LIKE, "cnn": {"ordered": 0.72, "shuffled": 0.53}}  # 10 points ahead
    assert _decided(_fabricated(close))["cnn_wins_with_fewer_params"].verdict \
        == stats.NOT_REPRODUCED
    bigger_cnn = _decided(_fabricated(params=(410, 15210, 20000)))["cnn_wins_with_fewer_params"]
    assert bigger_cnn.verdict == stats.NOT_REPRODUCED
    assert bigger_cnn.details["cnn_has_fewer_params"] is False


def test_a_cnn_lead_kept_on_shuffled_signals_is_not_reproduced():
    kept = {**PAPER_LIKE, "cnn": {"ordered": 0.90, "shuffled": 0.73}}  # 10 points ahead
    decided = _decided(_fabricated(kept))["advantage_needs_spatial_order"]
    assert decided.verdict == stats.NOT_REPRODUCED
    assert decided.interval.mean == pytest.approx(10.0, abs=1e-6)


def test_each_arm_keeps_its_better_rate_and_never_a_diverged_one():
    # The second rate is 0.1 worse: every seed keeps the first ...
    results = _fabricated(worse_rate=1)
    np.testing.assert_array_equal(cnn_vs_mlp.chosen_rate(results, "cnn", "ordered"), [0] * SEEDS)
    # ... and the first when it is the worse one but the second diverged.
    results = _fabricated(worse_rate=0, diverged_rate=1)
    np.testing.assert_array_equal(cnn_vs_mlp.chosen_rate(results, "mlp", "shuffled"), [0] * SEEDS)
    assert _decided(results)["cnn_wins_with_fewer_params"].interval.mean \
        == pytest.approx(28.0, abs=1e-6)
    assert _decided(results)["cnn_wins_with_fewer_params"].details["rates_chosen"]["cnn"] \
        == {"ordered": {"0.01": SEEDS, "0.03": 0}, "shuffled": {"0.01": SEEDS, "0.03": 0}}


def test_test_accuracy_is_read_where_validation_peaks_not_at_the_end():
    results = _fabricated(peak_then_drop=0.05)
    np.testing.assert_allclose(cnn_vs_mlp.accuracy(results, "cnn", "ordered"),
                               100 * results.sel("test_accuracy", arch="cnn", order="ordered")[0, :, 2])
    details = _decided(results)["cnn_wins_with_fewer_params"].details
    assert details["test_accuracy"]["cnn"]["ordered"].mean == pytest.approx(90.0, abs=0.5)
    assert details["final_test_accuracy"]["cnn"]["ordered"].mean == pytest.approx(85.0, abs=0.5)


def test_a_learning_rate_override_is_refused_and_depth_0_rejected():
    # The rates are the grid `lrs`: `--set train.lr` would change nothing.
    assert set(cnn_vs_mlp.Config.IGNORED_KEYS) == {"train.lr"}
    with pytest.raises(ConfigError, match=r"train\.lr"):
        resolve_config(cnn_vs_mlp, "quick", overrides={"train.lr": "0.5"})
    assert resolve_config(cnn_vs_mlp, "quick", overrides={"lrs": "(0.003, 0.01)"}).lrs \
        == (0.003, 0.01)
    with pytest.raises(ConfigError, match="mlp.depth"):
        resolve_config(cnn_vs_mlp, "quick", overrides={"mlp.depth": "0"})


@pytest.mark.parametrize("key, value, message", [
    ("val_size", "0", r"val_size must be in \[1, 3999\]"),
    ("val_size", "4000", r"val_size must be in \[1, 3999\]"),
    ("train_eval_size", "0", "train_eval_size must be in"),
    ("train_eval_size", "3501", "train_eval_size must be in"),  # 4000 - 500 validation signals
    ("lrs", "()", "lrs must be positive learning rates"),
    ("lrs", "(0.01, -0.03)", "lrs must be positive learning rates"),
    ("seeds", "1", "seeds must be at least 2"),
])
def test_impossible_config_values_are_refused(key, value, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config(cnn_vs_mlp, "quick", overrides={key: value})


def test_the_edge_values_of_the_splits_are_accepted():
    config = resolve_config(cnn_vs_mlp, "quick",
                            overrides={"val_size": "3999", "train_eval_size": "1"})
    assert (config.val_size, config.train_eval_size) == (3999, 1)
    assert resolve_config(cnn_vs_mlp, "quick", overrides={"train_eval_size": "3500"}) \
        .train_eval_size == 3500
