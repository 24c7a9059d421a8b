"""transfer_learning's claim rules on made-up results: each verdict branch can come out, no
training; each arm's rate is the one with the best validation accuracy; and overrides the run
would ignore are refused."""

import numpy as np
import pytest

from experiments import transfer_learning as experiment
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, NUANCED, REPRODUCED

CONFIG = resolve_config(experiment, "quick", overrides={"per_class": "5,20,60,300"})
SEEDS = CONFIG.seeds
SIZES = [5, 20, 60, 300]
SCRATCH = [35.0, 50.0, 65.0, 80.0]  # scratch accuracy (%) by size
RATES = {"scratch": CONFIG.scratch_lrs, "frozen": CONFIG.probe_lrs, "fine-tuned": CONFIG.finetune_lrs}


def _results(frozen_gains, fine_tuned_gains, noise=1.0):
    """Scratch at `SCRATCH`; the transfer arms add their gains (points, with seed noise). The
    arms' last rate is the best on validation; the others are 10 points worse on validation and
    20 on test, so a rule that read a wrong rate would be far off."""
    rng = np.random.default_rng(0)
    scratch = np.array(SCRATCH)[:, None] + rng.normal(0, noise, (len(SIZES), SEEDS))
    final = {"scratch": scratch}
    for arm, gains in (("frozen", frozen_gains), ("fine-tuned", fine_tuned_gains)):
        final[arm] = scratch + np.asarray(gains, float)[:, None] + rng.normal(0, noise, scratch.shape)
    results = Results()
    for arm, test in final.items():
        key = arm.replace("-", "_")
        n = len(RATES[arm])
        worse = np.arange(n - 1, -1, -1)[:, None, None]  # 0 for the last rate
        test_by_rate = test[None] - 20.0 * (worse > 0)
        val_by_rate = test[None] - 10.0 * worse
        axes = (f"{key}_lr", "per_class", "seed")
        results.add(f"{key}_val_accuracy", val_by_rate, axes, **{f"{key}_lr": list(RATES[arm])},
                    per_class=SIZES, seed=list(range(SEEDS)))
        results.add(f"{key}_test_accuracy", test_by_rate, axes)
    results.add("source_test_accuracy", 95 + rng.normal(0, 0.5, SEEDS), ("seed",))
    return results


def _decided(results):
    return {v.claim.id.split(".")[1]: v for v in experiment.claims.decide(results, CONFIG)}


def test_large_gains_at_small_n_that_shrink_with_data_reproduce_both_claims():
    results = _results(frozen_gains=[15, 12, 5, -5], fine_tuned_gains=[14, 11, 6, 1])
    assert experiment.claims.verdicts(results, CONFIG) == {
        "transfer_beats_scratch_small_n": REPRODUCED, "gap_closes_with_data": REPRODUCED}
    decided = _decided(results)
    beats = decided["transfer_beats_scratch_small_n"]
    # The statistic is the weakest small-n case: fine-tuned at 20/class (gain ~11).
    assert "fine-tuned at 20/class" in beats.statistic
    assert beats.interval.mean == pytest.approx(11, abs=1.5)
    # Every arm is read at its best-validation rate (the grid's last).
    assert beats.details["chosen_rates"]["scratch"] == {n: CONFIG.scratch_lrs[-1] for n in SIZES}
    assert beats.details["accuracy"]["scratch"][300] == pytest.approx(80, abs=1)
    source = beats.details["source_test_accuracy"]
    assert source.mean == pytest.approx(95, abs=0.5) and source.high <= 100
    closes = decided["gap_closes_with_data"]
    assert closes.interval.mean == pytest.approx(13, abs=1.5)  # fine-tuned: 14 - 1
    assert closes.details["frozen"]["peak_at_per_class"] == 5
    assert closes.details["frozen"]["peak_minus_largest_size"].mean == pytest.approx(20, abs=1.5)


def test_one_arm_below_the_five_point_bar_at_small_n_is_not_reproduced():
    verdicts = experiment.claims.verdicts(_results([15, 12, 5, -5], [2, 7, 7, 2]), CONFIG)
    assert verdicts["transfer_beats_scratch_small_n"] == NOT_REPRODUCED


def test_a_fine_tuning_gain_that_rises_then_closes_is_an_inverted_u_nuanced():
    decided = _decided(_results([15, 12, 5, -5], [2, 8, 7, 2.5]))
    assert decided["gap_closes_with_data"].verdict == NUANCED
    fine_tuned = decided["gap_closes_with_data"].details["fine-tuned"]
    assert fine_tuned["verdict"] == NUANCED and fine_tuned["peak_at_per_class"] == 20
    assert fine_tuned["peak_minus_smallest_size"].mean == pytest.approx(6, abs=1.5)
    assert decided["gap_closes_with_data"].details["frozen"]["verdict"] == REPRODUCED


def test_a_gap_that_closes_for_one_arm_but_grows_for_the_other_is_nuanced():
    verdicts = experiment.claims.verdicts(_results([8, 8, 9, 12], [10, 8, 4, 2]), CONFIG)
    assert verdicts["gap_closes_with_data"] == NUANCED


def test_gains_that_grow_with_data_for_both_arms_are_not_reproduced():
    verdicts = experiment.claims.verdicts(_results([2, 4, 8, 12], [3, 5, 8, 12]), CONFIG)
    assert verdicts["gap_closes_with_data"] == NOT_REPRODUCED
    assert verdicts["transfer_beats_scratch_small_n"] == NOT_REPRODUCED


def test_overrides_the_run_would_ignore_or_cannot_use_are_refused():
    for key, value in (("target.lr", "0.01"), ("target.eval_every", "300")):
        with pytest.raises(ConfigError, match=key):
            resolve_config(experiment, "quick", overrides={key: value})
    with pytest.raises(ConfigError, match="at least three"):
        resolve_config(experiment, "quick", overrides={"per_class": "5,300"})
    with pytest.raises(ConfigError, match="divide"):
        resolve_config(experiment, "quick", overrides={"per_class": "5,20,70"})
    with pytest.raises(ConfigError, match="finetune_lrs"):
        resolve_config(experiment, "quick", overrides={"finetune_lrs": "0"})


def test_validation_examples_are_held_out_from_every_training_set_of_their_seed():
    import jax.numpy as jnp

    from phenomena import rng

    config = resolve_config(experiment, "smoke", overrides={"per_class": "1,2,4", "val_per_class": "3"})
    pool = {"x": jnp.arange(50, dtype=jnp.float32)[:, None], "y": jnp.arange(50, dtype=jnp.int32) % 5}
    train_sets, val = experiment._target_sets(pool, rng.seed_keys(0, config.seeds), config)
    assert val["x"].shape == (config.seeds, 5 * 3, 1)
    for seed in range(config.seeds):
        held_out = set(np.asarray(val["x"][seed, :, 0]).astype(int))
        assert np.bincount(np.asarray(val["y"][seed]), minlength=5).tolist() == [3] * 5
        for size in range(3):  # runs are size-major
            trained = set(np.asarray(train_sets["x"][size * config.seeds + seed, :, 0]).astype(int))
            assert not trained & held_out


def test_small_sizes_train_the_short_budget_and_large_ones_the_full_one():
    budgets = experiment._budgets(resolve_config(experiment, "quick"))
    assert [(indices, b.steps, b.eval_every) for indices, b in budgets] == [
        ([0, 1], CONFIG.short_steps, CONFIG.short_steps), ([2, 3], CONFIG.target.steps, CONFIG.target.steps)]
