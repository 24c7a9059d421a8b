"""activation_comparison's claim rules on fabricated results: each verdict branch, no training."""

import dataclasses

import numpy as np
import pytest

from experiments import activation_comparison as ac
from phenomena import activations, stats
from phenomena.config import ConfigError
from phenomena.runner import resolve_config
from phenomena.results import Results

SEEDS = 6
STEPS = list(range(0, 900, 100))  # evaluations of an 800-step budget
BEST = 1  # the rate index every cell's validation accuracy favours


def _config(depths=(10,)):
    return dataclasses.replace(ac.CONFIG, seeds=SEEDS, depths=depths)


def _ramp(reach_step):
    """A training-accuracy curve that rises linearly from 0.1 and crosses 0.6 at `reach_step`
    (None: it levels off at 0.3 and never gets there)."""
    steps = np.asarray(STEPS, float)
    if reach_step is None:
        return np.minimum(0.1 + steps / 1000, 0.3)
    return np.minimum(0.1 + 0.5 * steps / reach_step, 1.0)


def _fabricated(config, reach=None, accuracy_gain=None, noise=0.002, operations=None) -> Results:
    """Both grids of `config`: in the depth sweep, `reach[(activation, depth)]` is the step
    where the training accuracy crosses 0.6 at every rate (default 300; None never); in the
    family grid, the final test accuracy at the best rate is 0.5 + `accuracy_gain[activation]`
    + seed noise of SD `noise`. Validation accuracy is highest at rate `BEST` in both grids.
    `operations` per activation (default: ReLU 100, others 101-106)."""
    reach, accuracy_gain = reach or {}, accuracy_gain or {}
    generator = np.random.default_rng(0)
    rates = len(config.rates)
    results = Results()
    axes = ("lr", "seed", "step")
    family, deep = ac.family_cells(config), ac.deep_cells(config)
    shape = (len(family), rates, SEEDS, len(STEPS))
    test_accuracy, val_accuracy = np.zeros(shape), np.full(shape, 0.4)
    for c, (activation, depth) in enumerate(family):
        final = 0.5 + accuracy_gain.get(activation, 0.0) + noise * generator.standard_normal(SEEDS)
        test_accuracy[c] = np.linspace(0.1, 1, len(STEPS)) * final[None, :, None]
        test_accuracy[c, :, :, -2:] = final[None, :, None]  # flat over the last evaluations
        val_accuracy[c, BEST, :, -1] = 0.6
    coords = dict(cell=[activations.cell_label(a, d) for a, d in family], lr=list(config.rates),
                  seed=list(range(SEEDS)), step=STEPS)
    results.add("val_accuracy", val_accuracy, ("cell", *axes), **coords)
    results.add("val_loss", np.ones(shape), ("cell", *axes))
    results.add("test_accuracy", test_accuracy, ("cell", *axes))
    shape = (len(deep), rates, SEEDS, len(STEPS))
    train_accuracy, val_accuracy = np.zeros(shape), np.full(shape, 0.4)
    for c, (activation, depth) in enumerate(deep):
        train_accuracy[c] = _ramp(reach.get((activation, depth), 300))
        val_accuracy[c, BEST, :, -1] = 0.6
    deep_axes = ("deep_cell", "lr", "seed", "deep_step")
    results.add("deep_train_accuracy", train_accuracy, deep_axes,
                deep_cell=[activations.cell_label(a, d) for a, d in deep], deep_step=STEPS)
    results.add("deep_val_accuracy", val_accuracy, deep_axes)
    results.add("deep_val_loss", np.ones(shape), deep_axes)
    results.add("deep_test_accuracy", np.full(shape, 0.5), deep_axes)
    operations = operations or {a: 100.0 + (a != "relu") * (1 + i)
                                for i, a in enumerate(ac.LABELS)}
    names = list(ac.LABELS)
    results.add("step_operations", np.array([operations[a] for a in names]), ("activation",),
                activation=names)
    results.add("step_flops", np.array([operations[a] - 1 for a in names]), ("activation",))
    results.add("step_transcendentals", np.ones(len(names)), ("activation",))
    return results


def _decided(results, config) -> dict:
    return {v.claim.id.split(".")[1]: v for v in ac.claims.decide(results, config)}


def test_speed_rule_reproduced_when_sigmoid_never_reaches_the_target():
    config = _config()
    verdict = _decided(_fabricated(config, reach={("sigmoid", 10): None}), config)[
        "relu_family_trains_deep_nets_faster"]
    assert verdict.verdict == stats.REPRODUCED
    # ReLU crosses 0.6 at step 300; sigmoid counts as the 800-step budget.
    assert verdict.interval.mean == pytest.approx(500.0)
    assert verdict.details["censored_share_by_depth"]["sigmoid"][10] == 1.0


def test_speed_rule_not_reproduced_when_sigmoid_is_as_fast():
    config = _config()
    verdict = _decided(_fabricated(config, reach={("sigmoid", 10): 300}), config)[
        "relu_family_trains_deep_nets_faster"]
    assert verdict.verdict == stats.NOT_REPRODUCED
    assert verdict.interval.mean == pytest.approx(0.0)


def test_speed_rule_nuanced_when_it_holds_at_one_deep_depth_only():
    config = _config(depths=(10, 20))
    reach = {("sigmoid", 10): 600, ("sigmoid", 20): 300, ("relu", 20): 300}
    verdict = _decided(_fabricated(config, reach=reach), config)["relu_family_trains_deep_nets_faster"]
    assert verdict.verdict == stats.NUANCED
    assert verdict.details["gap_by_depth"][10].mean == pytest.approx(300.0)


def test_cost_check_needs_relu_at_most_every_other_activation():
    config = _config()
    verdict = _decided(_fabricated(config), config)["relu_cheapest"]
    assert verdict.verdict == stats.REPRODUCED
    assert verdict.interval.mean == pytest.approx(101 / 100)  # sigmoid, the cheapest other
    cheaper_tanh = {a: 100.0 for a in ac.LABELS} | {"tanh": 99.0}
    verdict = _decided(_fabricated(config, operations=cheaper_tanh), config)["relu_cheapest"]
    assert verdict.verdict == stats.NOT_REPRODUCED
    assert verdict.interval.mean == pytest.approx(0.99)
    ties = {a: 100.0 for a in ac.LABELS}  # "<=": a tie still passes
    assert _decided(_fabricated(config, operations=ties), config)["relu_cheapest"].verdict \
        == stats.REPRODUCED


def test_family_rule_reproduced_when_every_pair_sits_inside_the_band():
    config = _config()
    verdict = _decided(_fabricated(config, accuracy_gain={"elu": 0.01}), config)["relu_family_similar"]
    assert verdict.verdict == stats.REPRODUCED
    assert len(verdict.details["pairs"]) == 10  # 5 activations, every pair
    assert abs(verdict.interval.mean) == pytest.approx(0.01, abs=0.004)
    assert verdict.details["chosen_rate"]["ReLU"] == config.rates[BEST]


def test_family_rule_not_reproduced_for_a_real_difference():
    config = _config()
    verdict = _decided(_fabricated(config, accuracy_gain={"elu": 0.04}), config)["relu_family_similar"]
    assert verdict.verdict == stats.NOT_REPRODUCED
    assert "ELU" in verdict.statistic
    assert abs(verdict.interval.mean) == pytest.approx(0.04, abs=0.004)


def test_family_rule_not_reproduced_when_intervals_are_too_wide():
    config = _config()
    verdict = _decided(_fabricated(config, noise=0.05), config)["relu_family_similar"]
    assert verdict.verdict == stats.NOT_REPRODUCED  # an equivalence test: no power, no pass
    assert verdict.interval.high - verdict.interval.low > 2 * config.margin


def test_the_rate_comes_from_the_validation_split_not_the_test_set():
    config = _config()
    results = _fabricated(config)
    # A better test accuracy at a rate whose validation accuracy is worse does not count.
    results.arrays["test_accuracy"][:, 0, :, -1] = 0.9
    verdict = _decided(results, config)["relu_family_similar"]
    assert verdict.details["test_accuracy"]["ReLU"].mean == pytest.approx(0.5, abs=0.01)
    assert verdict.details["chosen_rate"]["ReLU"] == config.rates[BEST]


def test_ignored_keys_are_refused():
    assert set(ac.Config.IGNORED_KEYS) == {"train.lr", "deep_train.lr"}
    for key in ac.Config.IGNORED_KEYS:
        with pytest.raises(ConfigError, match=key):
            resolve_config(ac, "quick", overrides={key: "0.5"})
    assert resolve_config(ac, "quick", overrides={"train.steps": "500"}).train.steps == 500


def test_impossible_configs_are_refused():
    with pytest.raises(ConfigError):
        dataclasses.replace(ac.CONFIG, depth_activations=("relu",))  # the speed claim needs sigmoid
    with pytest.raises(ConfigError):
        dataclasses.replace(ac.CONFIG, depths=(4,))  # no depth >= deep_from
    with pytest.raises(ConfigError):
        dataclasses.replace(ac.CONFIG, family=("relu", "tanh"))  # tanh is not trained at family_depth
