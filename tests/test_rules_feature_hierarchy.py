"""feature_hierarchy's claim rules on fabricated results: each verdict branch, no training."""

import dataclasses

import numpy as np
import pytest

from experiments import feature_hierarchy
from phenomena import stats
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config

SEEDS = 6
CONFIG = dataclasses.replace(feature_hierarchy.CONFIG, seeds=SEEDS)
FORMULA = (5, 9, 17)  # the default CNN's fields: kernels 5, strides 1, 2, 2


def _fabricated(trained=(0.27, 0.46, 0.60, 0.76), random=(0.27, 0.40, 0.41, 0.42),
                fields=None) -> Results:
    """Probe test accuracy per layer (input, conv1-3) of both networks with a little seed noise
    (none at the input, which both networks share), and measured fields (default: the formula
    for every network and seed)."""
    noise = 0.01 * np.random.default_rng(0).standard_normal((2, 4, SEEDS))
    noise[:, 0] = 0.0
    accuracy = np.array([trained, random])[..., None] + noise  # (network, layer, seed)
    results = Results()
    coords = dict(network=["trained", "random"], layer=["input", "conv1", "conv2", "conv3"])
    results.add("probe_test_accuracy", accuracy, ("network", "layer", "seed"), **coords)
    results.add("probe_val_accuracy", accuracy + 0.01, ("network", "layer", "seed"))
    results.add("probe_train_accuracy", np.ones_like(accuracy), ("network", "layer", "seed"))
    l2 = np.full_like(accuracy, 1e-3)
    l2[:, 0] = 1e-4  # the input's probes at the grid's lower edge
    results.add("probe_l2", l2, ("network", "layer", "seed"))
    results.add("feature_dim", np.array([40, 320, 320, 320]), ("layer",))
    curve = np.tile([0.1, 0.7, 0.8, 0.81, 0.81], (SEEDS, 1))
    step = dict(seed=list(range(SEEDS)), step=[0, 150, 300, 450, 600])
    results.add("cnn_test_accuracy", curve, ("seed", "step"), **step)
    results.add("cnn_train_accuracy", np.minimum(curve + 0.19, 1.0), ("seed", "step"))
    results.add("cnn_train_loss", np.tile([2.3, 0.3, 0.05, 0.012, 0.012], (SEEDS, 1)),
                ("seed", "step"))
    measured = np.broadcast_to(np.array(FORMULA if fields is None else fields),
                               (2, SEEDS, 3)).copy()
    results.add("measured_field", measured, ("network", "seed", "conv_layer"),
                conv_layer=["conv1", "conv2", "conv3"])
    return results


def _decided(results, config=CONFIG) -> dict:
    return {v.claim.id.split(".")[1]: v for v in feature_hierarchy.claims.decide(results, config)}


def test_fields_equal_to_the_formula_are_reproduced():
    decided = _decided(_fabricated())["receptive_field_grows"]
    assert decided.verdict == stats.REPRODUCED
    assert decided.interval.mean == 1.0 and decided.interval.n == 2 * SEEDS * 3
    assert decided.details["formula_by_layer"] == {"conv1": 5, "conv2": 9, "conv3": 17}


def test_one_field_off_the_formula_is_not_reproduced():
    results = _fabricated()
    results["measured_field"][1, 2, 2] = 15  # one random-init seed's conv3 field
    decided = _decided(results)["receptive_field_grows"]
    assert decided.verdict == stats.NOT_REPRODUCED
    assert decided.interval.mean == pytest.approx(1 - 1 / 36)
    assert decided.details["mismatches_by_network"] == {"trained": 0, "random": 1}
    assert decided.details["measured_range_by_layer"]["conv3"] == [15, 17]


def test_fields_that_match_but_do_not_grow_are_not_reproduced():
    # A 1-tap middle layer: the formula stays at 5, and so does the measured field.
    config = dataclasses.replace(CONFIG, model=dataclasses.replace(CONFIG.model, kernels=(5, 1, 5)))
    decided = _decided(_fabricated(fields=(5, 5, 13)), config)["receptive_field_grows"]
    assert decided.interval.mean == 1.0  # every field equals the formula ...
    assert decided.details["grows_strictly"] is False
    assert decided.verdict == stats.NOT_REPRODUCED  # ... but they do not grow


def test_a_learned_gain_rising_to_the_last_layer_is_reproduced():
    decided = _decided(_fabricated())
    gain = decided["deeper_features_more_linear_separable"]
    assert gain.verdict == stats.REPRODUCED
    assert gain.details["turn_layer"] == "conv3"
    assert gain.interval.mean == pytest.approx(34.0, abs=1.5)  # 76 - 42 points, seed noise
    assert gain.details["gain_by_layer"]["input"] == 0.0
    # Each layer's step: conv2 -> conv3 adds (76 - 42) - (60 - 41) = 15 points of gain.
    assert gain.details["gain_change_by_step"]["conv2 -> conv3"].mean == pytest.approx(15.0, abs=1.5)
    rises = gain.details["gain_rise_between_conv_layers"]
    assert list(rises) == ["conv1 -> conv2", "conv2 -> conv3", "conv1 -> conv3"]
    # conv1 -> conv3: (76 - 42) - (46 - 40) = 28 points of gain.
    assert rises["conv1 -> conv3"].mean == pytest.approx(28.0, abs=1.5)
    assert rises["conv1 -> conv3"].low > 20
    assert gain.details["l2_grid_edge_choices"]["trained"]["input"] == {"lowest": SEEDS,
                                                                        "highest": 0}
    assert decided["trained_probe_accuracy_rises"].verdict == stats.REPRODUCED


def test_a_gain_that_rises_to_a_plateau_passes_the_rule():
    # The rule does not demand a rise at every layer: 0 / 10 / 10 / 10 points reproduces;
    # the conv-to-conv rises in the details show the plateau.
    decided = _decided(_fabricated(trained=(0.27, 0.50, 0.50, 0.50),
                                   random=(0.27, 0.40, 0.40, 0.40)))
    gain = decided["deeper_features_more_linear_separable"]
    assert gain.verdict == stats.REPRODUCED
    rises = gain.details["gain_rise_between_conv_layers"]
    assert abs(rises["conv1 -> conv3"].mean) < 1.5 and rises["conv1 -> conv3"].low < 0


def test_a_rise_that_random_features_match_is_not_learned():
    # Trained and random init rise alike: the literal reading holds, the learned gain is 0.
    same = (0.27, 0.46, 0.60, 0.76)
    decided = _decided(_fabricated(trained=same, random=same))
    assert decided["deeper_features_more_linear_separable"].verdict == stats.NOT_REPRODUCED
    assert decided["trained_probe_accuracy_rises"].verdict == stats.REPRODUCED


def test_a_gain_that_peaks_and_falls_back_is_nuanced():
    decided = _decided(_fabricated(trained=(0.27, 0.46, 0.70, 0.50)))
    gain = decided["deeper_features_more_linear_separable"]
    assert gain.verdict == stats.NUANCED
    assert gain.details["turn_layer"] == "conv2"
    assert gain.details["fall_after_turn"].mean == pytest.approx(21.0, abs=1.5)
    assert decided["trained_probe_accuracy_rises"].verdict == stats.NUANCED


def test_accuracy_that_never_rises_is_not_reproduced():
    # Training makes the features worse than the random init's at every layer.
    decided = _decided(_fabricated(trained=(0.27, 0.25, 0.24, 0.24)))
    assert decided["trained_probe_accuracy_rises"].verdict == stats.NOT_REPRODUCED
    assert decided["deeper_features_more_linear_separable"].verdict == stats.NOT_REPRODUCED


def test_no_key_is_ignored_and_impossible_values_are_refused():
    assert feature_hierarchy.Config.IGNORED_KEYS == {}
    assert resolve_config(feature_hierarchy, "quick", overrides={"probe_steps": "30"}).probe_steps == 30
    with pytest.raises(ConfigError, match="pool_size"):
        resolve_config(feature_hierarchy, "quick", overrides={"probe_size": "1500"})
    with pytest.raises(ConfigError, match="model.dims"):
        resolve_config(feature_hierarchy, "quick", overrides={"model.dims": "2"})
    with pytest.raises(ConfigError, match="receptive field"):
        resolve_config(feature_hierarchy, "quick", overrides={"model.kernels": "(11, 11, 11)"})
