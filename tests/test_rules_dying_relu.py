"""dying_relu's claim rules on fabricated results: every verdict branch, no training."""

import numpy as np
import pytest

from experiments import dying_relu
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, NUANCED, REPRODUCED

CONFIG = resolve_config(dying_relu, "quick")
SEEDS = CONFIG.seeds  # 8
DEPTHS = list(CONFIG.born_depths)  # 2, 5, 10, 20, 30
KILLS = list(CONFIG.kill_fractions)  # 0, 0.25, 0.5, 0.75, 0.9
ACTIVATIONS = ["ReLU", "Leaky ReLU", "PReLU"]
LAYERS = [1, 2, 3]
UNITS = 40
NORMAL_RATE = 0.25  # activity rate of the units of an unkilled net (measured: 24-26 %)
LITERATURE_P = (0.05, 0.29, 0.65, 0.90, 0.97)  # Lu et al. 2020 at depths 5/10/20, 2 and 30 added


def _born(p_by_depth, rng):
    """(activation, depth, init) flags with P = `p_by_depth` at every depth."""
    return np.stack([np.stack([rng.random(CONFIG.inits) < p for p in p_by_depth])
                     for _ in ACTIVATIONS])


def _activity(recovered_share, rng):
    """(kill, seed, layer, unit) killed mask and final rates of one activation.

    A kill fraction k kills the first round(k x UNITS) units of every layer; a killed unit
    recovers with probability `recovered_share[layer]` (rate 0.25 like the unkilled net's
    units) or stays barely active (rate 0.01: alive, not recovered)."""
    shape = (len(KILLS), SEEDS, len(LAYERS), UNITS)
    killed = np.zeros(shape)
    for i, k in enumerate(KILLS):
        killed[i, ..., : round(k * UNITS)] = 1
    recovers = rng.random(shape) < np.asarray(recovered_share)[:, None]
    final = np.where(killed == 1, np.where(recovers, NORMAL_RATE, 0.01), NORMAL_RATE)
    return killed, final * np.exp(rng.normal(0, 0.05, shape))


def _results(born_p=LITERATURE_P, recovered=None, drop_at_largest=(18.0, 10.0, 8.0),
             relu_drop_shape=None) -> Results:
    """Fabricated results. `recovered` maps an activation to its share of killed units that
    recover, per layer; `drop_at_largest` is each activation's accuracy drop (points) at the
    largest kill fraction, linear in the kill fraction unless `relu_drop_shape` (one factor per
    kill fraction) gives ReLU's drop another shape."""
    rng = np.random.default_rng(0)
    recovered = {"ReLU": (0.0, 0.0, 0.0), "Leaky ReLU": (0.0, 0.95, 0.95),
                 "PReLU": (0.0, 0.9, 0.9), **(recovered or {})}
    killed, final = zip(*(_activity(recovered[a], rng) for a in ACTIVATIONS))
    kills = np.asarray(KILLS)
    shapes = {a: kills / kills[-1] for a in ACTIVATIONS}
    if relu_drop_shape is not None:
        shapes["ReLU"] = np.asarray(relu_drop_shape)
    final_accuracy = np.stack([
        0.62 - drop / 100 * shapes[a][:, None] + rng.normal(0, 0.005, (len(KILLS), SEEDS))
        for a, drop in zip(ACTIVATIONS, drop_at_largest)])
    accuracy = np.stack([np.full_like(final_accuracy, 0.1), final_accuracy], axis=-1)
    dead = np.stack([np.mean(k, axis=(-2, -1)) for k in killed])  # (activation, kill, seed)
    results = Results()
    results.add("born_dead", _born(born_p, rng), ("activation", "depth", "init"),
                activation=ACTIVATIONS, depth=DEPTHS)
    results.add("output_constant", np.zeros((3, len(DEPTHS), CONFIG.inits)),
                ("activation", "depth", "init"))
    axes = ("activation", "kill", "seed", "layer", "unit")
    results.add("killed", np.stack(killed), axes, kill=KILLS, layer=LAYERS)
    results.add("final_activity", np.stack(final), axes)
    results.add("test_accuracy", accuracy, ("activation", "kill", "seed", "step"), step=[0, 1000])
    results.add("dead_fraction", np.stack([dead, dead], axis=-1), ("activation", "kill", "seed", "step"))
    results.add("diverged_at", np.full((3, len(KILLS), SEEDS), -1), ("activation", "kill", "seed"))
    return results


def _verdicts(results: Results) -> dict[str, str]:
    return dying_relu.claims.verdicts(results, CONFIG)


def _decided(results: Results, name: str):
    return {v.claim.id: v for v in dying_relu.claims.decide(results, CONFIG)}[f"dying_relu.{name}"]


# ---------------------------------------------------------------- born dead

@pytest.mark.parametrize("born_p, verdict", [
    (LITERATURE_P, REPRODUCED),
    ((0.05, 0.29, 0.55, 0.70, 0.80), NOT_REPRODUCED),  # rises, but P(20) = 0.7 misses 0.75
    ((0.9, 0.9, 0.9, 0.9, 0.9), NOT_REPRODUCED),       # P(20) = 0.9 but no rise with depth
    ((0.05, 0.29, 0.65, 0.90, 0.60), NUANCED),          # rises to depth 20, then falls
])
def test_born_dead_rule_judges_the_whole_depth_range(born_p, verdict):
    assert _verdicts(_results(born_p=born_p))["born_dead_with_depth"] == verdict


def test_born_dead_reports_the_rise_and_p_at_depth_20():
    decided = _decided(_results(), "born_dead_with_depth")
    assert decided.interval.mean == pytest.approx(0.90, abs=0.02)
    assert decided.interval.n == CONFIG.inits
    assert decided.details["peak_depth"] == 30
    assert decided.details["rise_to_peak"].mean == pytest.approx(0.92, abs=0.03)


def test_born_dead_by_seed_splits_the_inits_evenly():
    by_seed = dying_relu.born_dead_by_seed(_results(), CONFIG)
    assert by_seed.shape == (SEEDS, len(DEPTHS))
    np.testing.assert_allclose(by_seed.mean(axis=0), LITERATURE_P, atol=0.03)


# ---------------------------------------------------------------- stay dead

@pytest.mark.parametrize("recovered, verdict", [
    ({}, REPRODUCED),
    ({"Leaky ReLU": (0.0, 0.2, 0.2)}, NUANCED),          # PReLU recovers, Leaky ReLU does not
    ({"ReLU": (0.0, 0.5, 0.5)}, NOT_REPRODUCED),          # ReLU units recover too
    ({"Leaky ReLU": (0.0, 0.2, 0.2), "PReLU": (0.0, 0.3, 0.3)}, NOT_REPRODUCED),  # none do
])
def test_stay_dead_rule_has_three_outcomes(recovered, verdict):
    assert _verdicts(_results(recovered=recovered))["relu_units_stay_dead"] == verdict


def test_barely_active_units_are_not_recovered():
    # Every killed unit of the fabricated nets that does not recover is active on 1 % of the
    # inputs: alive by "active on one input", but far below half the unkilled median (12.5 %).
    decided = _decided(_results(), "relu_units_stay_dead")
    assert decided.interval.mean == 0.0 and decided.interval.high == 0.0
    assert decided.details["leaky_relu"].mean == pytest.approx(0.95, abs=0.03)


def test_first_layer_is_evidence_not_the_test():
    # First-layer ReLU units recovering (impossible in a real net) does not change the verdict,
    # which is decided on layers 2..L; the first layer is reported on its own.
    results = _results(recovered={"ReLU": (1.0, 0.0, 0.0)})
    decided = _decided(results, "relu_units_stay_dead")
    assert decided.verdict == REPRODUCED
    assert decided.details["relu_first_layer"].mean == 1.0


def test_recovery_counts_against_the_unkilled_net_of_the_same_seed():
    killed = np.zeros((2, 1, 1, 4))
    killed[1, ..., :3] = 1  # kill fraction > 0: units 0-2 killed
    final = np.array([[[[0.2, 0.3, 0.4, 0.5]]],      # unkilled net: median 0.35, half 0.175
                      [[[0.18, 0.17, 0.0, 0.5]]]])   # unit 0 recovered, 1 just short, 2 dead
    recovered, counted = dying_relu.recovery_counts(killed, final, 0.5)
    assert recovered.tolist() == [[1]] and counted.tolist() == [[3]]


def test_diverged_runs_count_neither_as_recovered_nor_as_dead():
    killed = np.zeros((3, 2, 1, 2))
    killed[1:, ..., 0] = 1
    final = np.full((3, 2, 1, 2), 0.3)
    final[1, 0] = np.nan   # kill 1 of seed 0 diverged
    final[0, 1] = np.nan   # seed 1's unkilled net diverged: no reference for seed 1
    recovered, counted = dying_relu.recovery_counts(killed, final, 0.5)
    assert recovered.tolist() == [[1], [0]] and counted.tolist() == [[1], [0]]
    results = _results()
    relu = results.coords["activation"].index("ReLU")
    results.arrays["final_activity"][relu, 2, 0] = np.nan
    results.arrays["diverged_at"][relu, 2, 0] = 500
    assert _decided(results, "relu_units_stay_dead").details["diverged_runs_excluded"] == 1


# ---------------------------------------------------------------- cost of dead units

@pytest.mark.parametrize("drops, shape, verdict", [
    ((18.0, 10.0, 8.0), None, REPRODUCED),               # ReLU loses 8 points beyond Leaky ReLU
    ((10.0, 10.0, 8.0), None, NOT_REPRODUCED),           # the shift costs both the same
    ((18.0, 10.0, 8.0), (0, 0.6, 1.0, 0.6, 0.6), NUANCED),  # excess peaks at kill 0.5, then falls
])
def test_accuracy_rule_compares_relu_with_its_matched_control(drops, shape, verdict):
    results = _results(drop_at_largest=drops, relu_drop_shape=shape)
    assert _verdicts(results)["dead_units_cost_accuracy"] == verdict


def test_accuracy_excess_is_read_at_the_last_step_and_paired():
    decided = _decided(_results(), "dead_units_cost_accuracy")
    assert decided.interval.mean == pytest.approx(8.0, abs=0.7)  # 18 - 10 points at kill 0.9
    assert decided.details["peak_kill_fraction"] == 0.9
    assert decided.details["drop_at_largest"]["ReLU"].mean == pytest.approx(18.0, abs=0.7)
    assert decided.details["excess_over_prelu_at_largest"].mean == pytest.approx(10.0, abs=0.7)
    excess = dying_relu.excess_drop(_results())
    assert excess.shape == (SEEDS, len(KILLS)) and np.all(excess[:, 0] == 0)
