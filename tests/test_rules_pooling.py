"""pooling's claim rules on fabricated results (every verdict branch), and its small pure pieces."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from experiments import pooling as experiment
from phenomena import models
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, NUANCED, REPRODUCED

SEEDS = 6
SHIFT_RATES = (0.01, 0.03)
MOTIF_RATES = (0.03, 0.1, 0.3)
LENGTHS = (32, 64, 128)
CONFIG = dataclasses.replace(experiment.CONFIG, seeds=SEEDS, shift_arms=experiment.SHIFT_ARMS,
                             shift_lrs=SHIFT_RATES, motif_lrs=MOTIF_RATES, lengths=LENGTHS)
ARMS = CONFIG.shift_arms
JITTER = np.linspace(-1, 1, SEEDS)


def _shift_part(results: Results, tv: dict, best_rate: int = 1) -> None:
    """Part 1's arrays: each arm's softmax change per shift `tv[arm]` (3 shifts) after training
    at rate index `best_rate` (the best validation accuracy; 0.01 at initialization); the other
    rate's runs end at 0.9 and score 20 points lower on validation."""
    shape = (len(ARMS), len(SHIFT_RATES), SEEDS)
    accuracy = np.full(shape + (2,), 0.6)
    accuracy[:, best_rate, :, -1] = 0.8 + 0.01 * JITTER
    changes = np.full(shape + (2, len(CONFIG.shifts)), 0.9)
    changes[..., 0, :] = 0.01
    for i, arm in enumerate(ARMS):
        changes[i, best_rate, :, -1] = np.asarray(tv[arm])[None, :] * (1 + 0.1 * JITTER[:, None])
    axes = ("arm", "shift_lr", "seed", "step")
    results.add("shift_val_accuracy", accuracy, axes, arm=list(ARMS), shift_lr=list(SHIFT_RATES),
                seed=list(range(SEEDS)), step=[0, 1000])
    results.add("shift_test_accuracy", accuracy, axes)
    results.add("shift_train_accuracy", accuracy + 0.1, axes)
    results.add("shift_diverged_at", np.full(shape, -1), axes[:-1])
    results.add("shift_tv", changes, (*axes, "shift"), shift=list(CONFIG.shifts))
    results.add("shift_flips", changes / 2, (*axes, "shift"))
    results.add("shift_feature_change", changes, (*axes, "shift"))
    results.add("params", [1000, 1000, 1000, 3000][:len(ARMS)], ("arm",))


def _motif_part(results: Results, max_acc, avg_acc, best_rate: int = 2) -> None:
    """Part 2's arrays: final test accuracy per length of the max and avg detectors at rate
    index `best_rate` (best on validation); the other rates sit at 0.5."""
    shape = (len(LENGTHS), len(experiment.POOLS), len(MOTIF_RATES), SEEDS, 3)
    accuracy = np.full(shape, 0.5)
    for p, values in enumerate((max_acc, avg_acc)):
        for t, value in enumerate(values):
            accuracy[t, p, best_rate, :, 1:] = (value + 0.005 * JITTER)[:, None]
    axes = ("length", "pool", "motif_lr", "seed", "motif_step")
    results.add("motif_val_accuracy", accuracy, axes, length=list(LENGTHS),
                pool=list(experiment.POOLS), motif_lr=list(MOTIF_RATES), motif_step=[0, 500, 1000])
    results.add("motif_test_accuracy", accuracy[..., -1].copy(), axes[:-1])
    results.add("motif_diverged_at", np.full(shape[:-1], -1), axes[:-1])
    results.add("bayes_accuracy", np.full((len(LENGTHS), SEEDS), 0.95), ("length", "seed"))


def _fabricated(tv=None, max_acc=(0.95, 0.94, 0.92), avg_acc=(0.94, 0.90, 0.80)) -> Results:
    tv = tv or {"max": [0.05, 0.08, 0.09], "avg": [0.04, 0.06, 0.07], "stride": [0.12, 0.15, 0.16],
                "full": [0.03, 0.05, 0.06]}
    results = Results()
    _shift_part(results, tv)
    _motif_part(results, max_acc, avg_acc)
    return results


def _decided(results) -> dict:
    return {v.claim.id.split(".")[1]: v for v in experiment.claims.decide(results, CONFIG)}


def test_pooling_steadier_at_every_shift_and_a_growing_max_lead_reproduce():
    decided = _decided(_fabricated())
    assert {k: v.verdict for k, v in decided.items()} == {
        "pooling_adds_shift_invariance": REPRODUCED, "max_wins_presence_detection": REPRODUCED}
    shift = decided["pooling_adds_shift_invariance"]
    assert shift.interval.mean == pytest.approx(0.07, abs=1e-9)  # s = 1 and 3: 0.12 - 0.05
    assert shift.details["rates_chosen"]["max pool 2"] == {"0.01": 0, "0.03": SEEDS}
    assert shift.details["tv_minus_max_pool"]["full resolution"]["s=2"].mean == pytest.approx(-0.03)
    motif = decided["max_wins_presence_detection"]
    assert motif.interval.mean == pytest.approx(12.0, abs=1e-9)
    assert motif.details["gap_by_length"]["T=32"].mean == pytest.approx(1.0, abs=1e-9)
    assert motif.details["trend_turn_length"] == 128
    assert motif.details["rates_chosen"]["avg"]["T=64"] == {"0.03": 0, "0.1": 0, "0.3": SEEDS}


def test_pooling_steadier_at_some_shifts_only_is_nuanced():
    tv = {"max": [0.05, 0.15, 0.09], "avg": [0.05] * 3, "stride": [0.12, 0.15, 0.16], "full": [0.1] * 3}
    assert _decided(_fabricated(tv=tv))["pooling_adds_shift_invariance"].verdict == NUANCED


def test_pooling_never_steadier_is_not_reproduced():
    tv = {"max": [0.2, 0.2, 0.2], "avg": [0.05] * 3, "stride": [0.12, 0.15, 0.16], "full": [0.1] * 3}
    decided = _decided(_fabricated(tv=tv))["pooling_adds_shift_invariance"]
    assert decided.verdict == NOT_REPRODUCED
    assert decided.interval.mean == pytest.approx(-0.08, abs=1e-9)  # the smallest gap, s = 1


def test_each_arm_is_read_at_its_chosen_rate_and_never_at_a_diverged_one():
    results = _fabricated()
    np.testing.assert_array_equal(experiment.shift_rate(results, "stride"), np.ones(SEEDS, int))
    np.testing.assert_allclose(experiment.shift_tv(results, "stride")[:, 0],
                               0.12 * (1 + 0.1 * JITTER))
    results.arrays["shift_diverged_at"][ARMS.index("stride"), 1, 0] = 17
    np.testing.assert_array_equal(experiment.shift_rate(results, "stride")[1:], np.zeros(SEEDS - 1))


def test_a_max_lead_at_every_length_that_does_not_grow_is_nuanced():
    decided = _decided(_fabricated(max_acc=(0.95,) * 3, avg_acc=(0.90,) * 3))
    motif = decided["max_wins_presence_detection"]
    assert motif.verdict == NUANCED
    assert motif.details["gap_above_0_at_longest"] and motif.details["trend"] == NOT_REPRODUCED


def test_a_growing_gap_that_stays_below_0_is_nuanced():
    motif = _decided(_fabricated(max_acc=(0.80, 0.85, 0.90), avg_acc=(0.95,) * 3))[
        "max_wins_presence_detection"]
    assert motif.verdict == NUANCED
    assert motif.details["trend"] == REPRODUCED and not motif.details["gap_above_0_at_longest"]


def test_pools_that_tie_at_every_length_are_not_reproduced():
    motif = _decided(_fabricated(max_acc=(0.93,) * 3, avg_acc=(0.93,) * 3))[
        "max_wins_presence_detection"]
    assert motif.verdict == NOT_REPRODUCED


def test_ignored_keys_are_refused():
    assert set(experiment.Config.IGNORED_KEYS) == {"shift_train.lr", "motif_train.lr"}
    for key in experiment.Config.IGNORED_KEYS:
        with pytest.raises(ConfigError, match=key):
            resolve_config(experiment, "quick", overrides={key: "0.5"})


@pytest.mark.parametrize("override", [{"shift_arms": "(max,avg)"}, {"shift_arms": "(max,stride,mean)"},
                                      {"lengths": "(64,32)"}, {"lengths": "(8,64)"},
                                      {"layers": "6"}, {"seeds": "1"}])
def test_impossible_values_are_config_errors(override):
    with pytest.raises(ConfigError):
        resolve_config(experiment, "quick", overrides=override)


# --------------------------------------------------------------------------- pure pieces

def test_shifted_versions_are_circular_shifts_in_both_directions():
    x = jnp.arange(10.0).reshape(2, 5)
    versions = experiment.shifted_versions(x, (1, 2))
    assert versions.shape == (5, 2, 5)
    np.testing.assert_array_equal(versions[0], x)
    np.testing.assert_array_equal(versions[1, 0], [4, 0, 1, 2, 3])  # +1: right
    np.testing.assert_array_equal(versions[2, 0], [1, 2, 3, 4, 0])  # -1: left
    np.testing.assert_array_equal(versions[3, 1], [8, 9, 5, 6, 7])  # +2


class _FirstSampleModel:
    """Logits (x_0, 0) and features x: a stand-in with exactly known outputs."""

    def __call__(self, x, train=False, key=None):
        logits = jnp.stack([x[:, 0], jnp.zeros(x.shape[0])], axis=-1)
        return logits, {"features": (x,)}


def test_shift_changes_on_a_model_with_known_outputs():
    x = jnp.array([[0.0, 0.0, 3.0], [1.0, 1.0, 1.0]])
    versions = experiment.shifted_versions(x, (1,))  # +1 moves 3.0 first in row 0
    found = experiment.shift_changes(_FirstSampleModel(), versions)
    # Row 0: p = (½, ½) -> (σ(3), 1 - σ(3)): TV = σ(3) - ½ under +1, 0 under -1 (x_0 stays 0);
    # row 1 is constant: no change.
    tv = float(jax.nn.sigmoid(3.0)) - 0.5
    np.testing.assert_allclose(found["tv"], [tv / 2, 0.0], rtol=1e-6)
    # The argmax of (½, ½) is class 0; (σ(3), ...) keeps it: nothing flips.
    np.testing.assert_allclose(found["flips"], [0.0, 0.0])
    # Both directions move row 0's 3.0 (||Δ||² = 18) and leave row 1 alone, over Σ||f||² = 9 + 3.
    np.testing.assert_allclose(found["feature_change"], [np.sqrt(1.5)] * 2, rtol=1e-6)


def test_motif_is_added_at_one_position_to_class_1_only():
    motif = jnp.array([1.0, -2.0, 3.0])
    key = jax.random.key(3)
    planted = experiment.motif_sequences(key, motif, 64, 12)
    noise = experiment.motif_sequences(key, jnp.zeros(3), 64, 12)
    added = np.asarray(planted["x"] - noise["x"])
    labels = np.asarray(planted["y"])
    assert 10 < labels.sum() < 54
    assert np.all(added[labels == 0] == 0)
    for row in added[labels == 1]:
        start = int(np.flatnonzero(row)[0])
        np.testing.assert_allclose(row[start:start + 3], motif, rtol=1e-6)
        assert np.count_nonzero(row) == 3


def test_draw_motif_has_the_asked_norm():
    np.testing.assert_allclose(jnp.linalg.norm(experiment.draw_motif(jax.random.key(0), 5, 4.0)),
                               4.0, rtol=1e-6)


def test_bayes_accuracy_matches_a_direct_computation_and_its_limits():
    key = jax.random.key(1)
    motif = experiment.draw_motif(key, 4, 2.0)
    sets = experiment.motif_sequences(jax.random.key(2), motif, 200, 16)
    x, m = np.asarray(sets["x"], np.float64), np.asarray(motif, np.float64)
    windows = np.stack([x[:, p:p + 4] for p in range(13)], axis=1)
    ratio = np.mean(np.exp(windows @ m - 0.5 * m @ m), axis=1)
    expected = np.mean((ratio > 1) == np.asarray(sets["y"]))
    assert float(experiment.bayes_accuracy(motif, sets)) == pytest.approx(expected, abs=1 / 200)
    loud = experiment.draw_motif(key, 4, 40.0)
    assert float(experiment.bayes_accuracy(
        loud, experiment.motif_sequences(jax.random.key(2), loud, 200, 16))) == 1.0


def test_part_1_arms_share_conv_layers_and_head_except_full_resolution():
    counts = {}
    for arm in experiment.SHIFT_ARMS:
        net = models.ConvNet((40,), 10, experiment.shift_net(CONFIG, arm), rngs=nnx.Rngs(0))
        counts[arm] = (net.head.in_features, models.count_params(nnx.state(net)))
    c, layers = CONFIG.channels, CONFIG.layers
    convs = (5 * 1 + 1) * c + (layers - 1) * (5 * c + 1) * c
    small, full = 40 // 2 ** layers * c, 40 * c
    assert counts == {"max": (small, convs + (small + 1) * 10), "avg": (small, convs + (small + 1) * 10),
                      "stride": (small, convs + (small + 1) * 10), "full": (full, convs + (full + 1) * 10)}


def test_changes_at_initialization_are_read_at_step_0():
    decided = _decided(_fabricated())["pooling_adds_shift_invariance"]
    assert decided.details["tv_at_init"]["stride 2, no pool"]["s=3"].mean == pytest.approx(0.01)
    assert decided.details["tv_trained"]["max pool 2"]["s=2"].mean == pytest.approx(0.08)


def test_the_schedule_warms_up_over_the_asked_share_then_decays_to_0():
    spec = experiment.schedule(CONFIG.shift_train, 0.1)
    assert (spec.schedule, spec.warmup_steps, spec.decay_steps) == (
        "warmup_cosine", CONFIG.shift_train.steps // 10, CONFIG.shift_train.steps)
    assert experiment.schedule(CONFIG.motif_train).warmup_steps == 0


def test_shift_metrics_adds_the_changes_to_the_classification_metrics():
    x = jnp.array([[0.0, 0.0, 3.0], [1.0, 1.0, 1.0]])
    found = experiment.shift_metrics(_FirstSampleModel(), {
        "test": {"x": x, "y": jnp.array([0, 1])},
        "versions": experiment.shifted_versions(x, (1,))})
    assert set(found) == {"test/loss", "test/accuracy", "shift/tv", "shift/flips",
                          "shift/feature_change"}
    assert float(found["test/accuracy"]) == 0.5  # logits (0, 0) and (1, 0): class 0 both times


def test_the_gap_at_the_rate_max_pooling_chose_reads_both_pools_there():
    results = _fabricated()
    results.arrays["motif_val_accuracy"][2, 0, 0, :, -1] = 0.99  # max at T=128 chooses rate 0
    results.arrays["motif_test_accuracy"][2, 0, 0] = 0.96  # where max scores 96 %
    results.arrays["motif_test_accuracy"][2, 1, 0] = 0.70  # and avg (its own choice: rate 2) 70 %
    np.testing.assert_allclose(experiment.gap_at_rate_of(results, 128, "max"), 26.0, atol=1e-6)
    np.testing.assert_allclose(experiment.motif_gap(results)[:, 2], 96.0 - 80.0, atol=1.0)
