"""swish_vs_relu's claim rules on fabricated results: each verdict branch, no training."""

import dataclasses

import numpy as np
import pytest

from experiments import swish_vs_relu as sr
from phenomena import activations, stats
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config

SEEDS = 6
STEPS = [0, 400, 800]
BEST = 0  # the rate index every cell's validation accuracy favours


def _fabricated(config, gain=None, noise=0.002, swish_operations=110.0) -> Results:
    """Both activations at every depth of `config`: final test accuracy at the best rate is
    0.5 for ReLU and 0.5 + `gain[depth]` for Swish, plus seed noise of SD `noise`; the
    validation accuracy is highest at rate `BEST`. ReLU's step costs 100 operations, Swish's `swish_operations`."""
    gain = gain or {}
    generator = np.random.default_rng(0)
    cells = [(a, d) for a in (sr.RELU, sr.SWISH) for d in config.depths]
    shape = (len(cells), len(config.rates), SEEDS, len(STEPS))
    test_accuracy, val_accuracy = np.full(shape, 0.2), np.full(shape, 0.4)
    for c, (activation, depth) in enumerate(cells):
        final = 0.5 + (gain.get(depth, 0.0) if activation == sr.SWISH else 0.0)
        test_accuracy[c, :, :, -1] = final + noise * generator.standard_normal(SEEDS)
        test_accuracy[c, BEST + 1:, :, -1] = 0.9  # a better test score at a worse-validating rate
        val_accuracy[c, BEST, :, -1] = 0.6
    results = Results()
    axes = ("cell", "lr", "seed", "step")
    results.add("val_accuracy", val_accuracy, axes,
                cell=[activations.cell_label(a, d) for a, d in cells], lr=list(config.rates),
                seed=list(range(SEEDS)), step=STEPS)
    results.add("val_loss", np.ones(shape), axes)
    results.add("test_accuracy", test_accuracy, axes)
    operations = np.array([[100.0] * len(config.depths), [swish_operations] * len(config.depths)])
    results.add("step_operations", operations, ("activation", "depth"),
                activation=[sr.RELU, sr.SWISH], depth=list(config.depths))
    results.add("step_flops", operations - 1, ("activation", "depth"))
    return results


def _decided(results, config) -> dict:
    return {v.claim.id.split(".")[1]: v for v in sr.claims.decide(results, config)}


CONFIG = dataclasses.replace(sr.CONFIG, seeds=SEEDS)


def test_parity_reproduced_when_every_depth_sits_inside_the_band():
    verdict = _decided(_fabricated(CONFIG, gain={2: 0.01, 4: -0.01, 8: 0.0}), CONFIG)["swish_parity"]
    assert verdict.verdict == stats.REPRODUCED
    assert verdict.details["difference_by_depth"][2].mean == pytest.approx(0.01, abs=0.004)
    assert verdict.details["chosen_rate"]["Swish"][8] == CONFIG.rates[BEST]
    # The rate is chosen on the training loss: the 0.9 test scores at other rates never count.
    assert verdict.details["test_accuracy"]["ReLU"][4].mean == pytest.approx(0.5, abs=0.01)


def test_parity_nuanced_when_one_depth_leaves_the_band():
    verdict = _decided(_fabricated(CONFIG, gain={8: 0.05}), CONFIG)["swish_parity"]
    assert verdict.verdict == stats.NUANCED
    assert "depth 8" in verdict.statistic
    assert verdict.interval.mean == pytest.approx(0.05, abs=0.004)


def test_parity_not_reproduced_when_no_depth_is_inside_the_band():
    verdict = _decided(_fabricated(CONFIG, gain={2: 0.05, 4: 0.05, 8: -0.05}), CONFIG)["swish_parity"]
    assert verdict.verdict == stats.NOT_REPRODUCED
    wide = _decided(_fabricated(CONFIG, noise=0.08), CONFIG)["swish_parity"]
    assert wide.verdict == stats.NOT_REPRODUCED  # no power, no equivalence


def test_cost_check_needs_swish_strictly_above_relu():
    assert _decided(_fabricated(CONFIG), CONFIG)["swish_costs_more"].verdict == stats.REPRODUCED
    assert _decided(_fabricated(CONFIG), CONFIG)["swish_costs_more"].interval.mean \
        == pytest.approx(1.1)
    tie = _decided(_fabricated(CONFIG, swish_operations=100.0), CONFIG)["swish_costs_more"]
    assert tie.verdict == stats.NOT_REPRODUCED


def test_ignored_keys_are_refused():
    assert set(sr.Config.IGNORED_KEYS) == {"train.lr"}
    for key in sr.Config.IGNORED_KEYS:
        with pytest.raises(ConfigError, match=key):
            resolve_config(sr, "quick", overrides={key: "0.5"})
    assert resolve_config(sr, "quick", overrides={"train.steps": "500"}).train.steps == 500


def test_impossible_configs_are_refused():
    with pytest.raises(ConfigError):
        dataclasses.replace(sr.CONFIG, depths=(4, 2))
    with pytest.raises(ConfigError):
        dataclasses.replace(sr.CONFIG, train_eval_size=5000)
