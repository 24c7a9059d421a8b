"""The batch_size claim rules on fabricated results: each verdict branch."""

import numpy as np

from experiments import batch_size as exp
from phenomena import rng, stats
from phenomena.results import Results

NOISE_BATCHES = [1, 4, 16, 64, 256]
BATCHES = [4, 16, 64, 256]
SEEDS = 8
STEPS = np.arange(0, 3001, 20)
TARGET = 1.0


def _fabricated(noise_power=-1.0, steps_to_target=lambda b: 600 * (1 + 8 / b), escaped_full=0):
    rng = np.random.default_rng(0)
    results = Results()
    jitter = 1 + 0.02 * rng.standard_normal((2, SEEDS, len(NOISE_BATCHES)))
    noise = 50.0 * np.asarray(NOISE_BATCHES, float) ** noise_power * jitter
    results.add("noise", noise, ("point", "seed", "noise_batch"), point=list(exp.POINTS),
                noise_batch=NOISE_BATCHES)
    results.add("noise_scale", np.full((2, SEEDS), 10.0), ("point", "seed"))
    # Loss falls linearly from 2 and crosses TARGET (= 1) at the requested step.
    crossing = np.array([[steps_to_target(b) * (1 + 0.01 * rng.standard_normal())
                          for _ in range(SEEDS)] for b in BATCHES])
    curves = 2.0 - STEPS[None, None, :] / crossing[..., None]
    results.add("train_loss", curves, ("batch", "seed", "step"), batch=BATCHES, step=STEPS.tolist())
    final = np.full((4, SEEDS, 16), 2.0)  # everyone stays at the sharp minimum (s = 2) ...
    final[0] = 0.0                        # ... except the B = 1 arm
    final[3].flat[:escaped_full] = 0.0
    results.add("final_theta", final, ("arm", "seed", "start"),
                arm=["B = 1", "B = 4", "B = 16", "full batch"])
    results.meta.update(target_loss=TARGET, dip_at=2.0)
    return results


def _verdicts(results):
    return {v.claim.id.split(".")[1]: v.verdict for v in exp.claims(results)}


def test_all_reproduced_on_textbook_data():
    assert set(_verdicts(_fabricated()).values()) == {stats.REPRODUCED}


def test_noise_slope_outside_the_band_is_not_reproduced():
    assert _verdicts(_fabricated(noise_power=-0.5))["noise_shrinks_with_batch"] == stats.NOT_REPRODUCED


def test_tradeoff_fails_when_steps_do_not_fall_or_a_run_misses_the_target():
    flat = _verdicts(_fabricated(steps_to_target=lambda b: 600.0))
    assert flat["steps_vs_examples_tradeoff"] == stats.NOT_REPRODUCED  # slope 0: no fewer steps
    perfect = _verdicts(_fabricated(steps_to_target=lambda b: 600.0 * 256 / b))
    assert perfect["steps_vs_examples_tradeoff"] == stats.NOT_REPRODUCED  # slope −1: no more examples
    missed = _verdicts(_fabricated(steps_to_target=lambda b: 5000.0 if b == 4 else 600.0))
    assert missed["steps_vs_examples_tradeoff"] == stats.NOT_REPRODUCED


def test_escape_needs_the_small_batch_interval_above_full_batch():
    assert _verdicts(_fabricated(escaped_full=125))["sgd_noise_escapes"] == stats.NOT_REPRODUCED
    assert _verdicts(_fabricated(escaped_full=10))["sgd_noise_escapes"] == stats.REPRODUCED
