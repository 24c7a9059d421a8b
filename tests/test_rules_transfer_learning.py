"""transfer_learning's claim rules on made-up results: each verdict branch can come out, no
training; and a change to the network section the run does not read is refused."""

import numpy as np
import pytest

from experiments import transfer_learning as experiment
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, REPRODUCED

CONFIG = resolve_config(experiment, "quick")
SEEDS = CONFIG.seeds
SIZES = list(CONFIG.per_class)  # 5, 20, 100 examples per class
SCRATCH = [40.0, 60.0, 75.0]    # scratch accuracy (%) by size


def _results(frozen_gains, fine_tuned_gains):
    """Scratch at `SCRATCH`; the transfer arms add their gains (points, with seed noise)."""
    rng = np.random.default_rng(0)
    scratch = np.array(SCRATCH)[:, None] + rng.normal(0, 1.0, (len(SIZES), SEEDS))
    arms = [scratch] + [scratch + np.asarray(g)[:, None] + rng.normal(0, 1.0, scratch.shape)
                        for g in (frozen_gains, fine_tuned_gains)]
    results = Results()
    results.add("test_accuracy", np.stack(arms), ("arm", "per_class", "seed"),
                arm=list(experiment.ARMS), per_class=SIZES, seed=list(range(SEEDS)))
    results.add("source_test_accuracy", 97 + rng.normal(0, 0.5, SEEDS), ("seed",))
    return results


def _decided(results):
    return {v.claim.id.split(".")[1]: v for v in experiment.claims.decide(results, CONFIG)}


def test_large_gains_at_small_n_that_shrink_with_data_reproduce_both_claims():
    results = _results(frozen_gains=[15, 12, 2], fine_tuned_gains=[14, 11, 3])
    assert experiment.claims.verdicts(results, CONFIG) == {
        "transfer_beats_scratch_small_n": REPRODUCED, "gap_closes_with_data": REPRODUCED}
    decided = _decided(results)
    beats = decided["transfer_beats_scratch_small_n"]
    # The statistic is the weakest small-n case: fine-tuned at 20/class (gain ~11).
    assert "fine-tuned at 20/class" in beats.statistic
    assert beats.interval.mean == pytest.approx(11, abs=1.5)
    source = beats.details["source_test_accuracy"]
    assert source.mean == pytest.approx(97, abs=0.5) and source.high <= 100
    closes = decided["gap_closes_with_data"]
    assert closes.interval.mean == pytest.approx(11, abs=1.5)  # fine-tuned: 14 - 3
    assert closes.details["frozen_gain_drop"].mean == pytest.approx(13, abs=1.5)


def test_one_arm_below_the_five_point_bar_at_small_n_is_not_reproduced():
    verdicts = experiment.claims.verdicts(_results([15, 12, 2], [1.5, 7, 7]), CONFIG)
    assert verdicts["transfer_beats_scratch_small_n"] == NOT_REPRODUCED
    # Fine-tuning's gain grows with data: the gap does not close for both arms.
    assert verdicts["gap_closes_with_data"] == NOT_REPRODUCED


def test_a_gap_that_closes_for_fine_tuning_but_not_for_frozen_features_is_not_reproduced():
    verdicts = experiment.claims.verdicts(_results([8, 8, 10], [10, 8, 2]), CONFIG)
    assert verdicts["transfer_beats_scratch_small_n"] == REPRODUCED
    assert verdicts["gap_closes_with_data"] == NOT_REPRODUCED


def test_a_change_to_the_unread_network_section_is_refused():
    with pytest.raises(ConfigError, match="does not read the mlp section"):
        resolve_config(experiment, "quick", overrides={"mlp.width": "64"})
    with pytest.raises(ConfigError, match="does not read the cnn section"):
        resolve_config(experiment, "quick", overrides={"architecture": "mlp", "cnn.channels": "8"})
    # The section of the chosen architecture takes effect.
    config = resolve_config(experiment, "quick", overrides={"architecture": "mlp", "mlp.width": "64"})
    assert config.mlp.width == 64
    assert resolve_config(experiment, "quick", overrides={"cnn.channels": "8"}).cnn.channels == 8
