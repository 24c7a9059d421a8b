"""hardware_parallelism's claim rule on fabricated timings: each verdict branch, no timing."""

import dataclasses

import numpy as np
import pytest

from experiments import hardware_parallelism as hw
from phenomena import stats
from phenomena.results import Results

REPEATS = 6  # the seeds: one timed repeat per seed
BATCHES = [1, 32, 1024]
CONFIG = dataclasses.replace(hw.CONFIG, seeds=REPEATS, batch_sizes=tuple(BATCHES))


def _fabricated(speedups: dict, gpu_over_cpu: float = 20.0) -> Results:
    """Examples/s per platform: 1000 at batch 1 (x100 on a GPU at the largest batch relative to
    `gpu_over_cpu`), `speedup` times that at the largest batch; a little repeat noise."""
    names = list(speedups)
    noise = 1 + 0.01 * np.random.default_rng(0).standard_normal((len(names), len(BATCHES), REPEATS))
    base = np.array([1000.0 if p == "cpu" else 1000.0 * gpu_over_cpu * speedups["cpu"]
                     / speedups[p] for p in names])
    curve = np.stack([[1.0, np.sqrt(s), s] for s in speedups.values()])  # (platform, batch)
    throughput = base[:, None, None] * curve[..., None] * noise
    results = Results()
    results.add("examples_per_second", throughput, ("platform", "batch", "repeat"),
                platform=names, batch=BATCHES, repeat=list(range(REPEATS)))
    results.add("achieved_flops", throughput * 1e5, ("platform", "batch", "repeat"))
    results.add("peak_flops", np.full((len(names), REPEATS), 1e10), ("platform", "repeat"))
    # Batch 1: 1024 steps of 0.5 s in all (~488 us a step), 4e5 FLOPs a step, 3e5 of them Adam's.
    results.add("seconds_per_call", np.full((len(names), len(BATCHES), REPEATS), 0.5),
                ("platform", "batch", "repeat"))
    results.add("steps_per_call", np.tile([1024.0, 32.0, 1.0], (len(names), 1)), ("platform", "batch"))
    results.add("flops_per_step", np.tile([4e5, 1e7, 3e8], (len(names), 1)), ("platform", "batch"))
    results.add("adam_flops_per_step", np.full(len(names), 3e5), ("platform",))
    results.add("loss_after_call", np.zeros((len(names), len(BATCHES), REPEATS)),
                ("platform", "batch", "seed"), seed=list(range(REPEATS)))
    results.meta["devices"] = {p: {"count": 2, "ids": [0, 1], "kind": p, "runs_per_device": 1}
                               for p in names}
    return results


def _decided(results):
    return hw.claims.decide(results, CONFIG)[0]


def test_a_large_speedup_on_the_cpu_alone_is_reproduced_and_no_gpu_is_said():
    decided = _decided(_fabricated({"cpu": 30.0}))
    assert decided.verdict == stats.REPRODUCED
    assert decided.interval.mean == pytest.approx(30.0, rel=0.05)
    assert decided.details["accelerator_over_cpu_at_largest_batch"].startswith("no GPU")
    # Achieved 1000 * 30 * 1e5 FLOP/s against a 1e10 peak: 30 %.
    assert decided.details["peak_share_by_platform_and_batch"]["cpu"][1024].mean \
        == pytest.approx(0.3, rel=0.05)


def test_the_batch1_step_reading_and_the_devices_are_reported():
    decided = _decided(_fabricated({"cpu": 30.0}))
    step = decided.details["batch1_step"]["cpu"]
    assert step["microseconds_per_step"] == pytest.approx(1e6 * 0.5 / 1024)
    assert step["adam_share_of_step_flops"] == pytest.approx(0.75)
    assert decided.details["devices"]["cpu"]["ids"] == [0, 1]
    assert hw._device_label(_fabricated({"cpu": 30.0}), "cpu") == "CPU (devices 0, 1: one run each)"


def test_the_title_words_follow_the_interval():
    assert hw._verdict_text(stats.Interval(12.0, 11.0, 13.0, 30)) == "above"
    assert hw._verdict_text(stats.Interval(10.5, 9.0, 12.0, 30)) == "not clearly above"
    assert hw._verdict_text(stats.Interval(8.0, 7.2, 8.5, 30)) == "below"


def test_a_speedup_below_the_margin_is_not_reproduced():
    decided = _decided(_fabricated({"cpu": 8.0}))
    assert decided.verdict == stats.NOT_REPRODUCED
    assert decided.interval.mean == pytest.approx(8.0, rel=0.05)


def test_with_a_gpu_every_platform_must_pass_and_the_gpu_must_beat_the_cpu():
    assert _decided(_fabricated({"cpu": 30.0, "gpu": 200.0})).verdict == stats.REPRODUCED
    both = _decided(_fabricated({"cpu": 30.0, "gpu": 200.0}))
    assert both.details["accelerator_over_cpu_at_largest_batch"]["gpu"].mean \
        == pytest.approx(20.0, rel=0.05)
    # The GPU's own speedup short of the margin.
    assert _decided(_fabricated({"cpu": 30.0, "gpu": 5.0})).verdict == stats.NOT_REPRODUCED
    # Both speed up, but the GPU is slower than the CPU at the largest batch.
    assert _decided(_fabricated({"cpu": 30.0, "gpu": 200.0}, gpu_over_cpu=0.5)).verdict \
        == stats.NOT_REPRODUCED


def test_nothing_is_ignored_batch_sizes_start_at_one_and_repeats_suffice():
    assert hw.Config.IGNORED_KEYS == {}
    from phenomena.config import ConfigError
    with pytest.raises(ConfigError, match="batch_sizes"):
        dataclasses.replace(hw.CONFIG, batch_sizes=(4, 16))
    with pytest.raises(ConfigError, match="seeds"):
        dataclasses.replace(hw.CONFIG, seeds=2)
    assert hw.Config(**hw.PROFILES["quick"]).seeds == 30
