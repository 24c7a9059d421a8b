"""exploding_gradients' claim rules on fabricated results: each verdict branch."""

import numpy as np
import pytest

from experiments import exploding_gradients as eg
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, REPRODUCED

SEEDS, DEPTH, TIME = 4, 6, 8
CONFIG = eg.Config(depth=DEPTH, rnn_steps=TIME)
VARIANTS = [eg.unclipped(i) for i in eg.inits(CONFIG)]
CLIPS = [1.0, 10.0]
ZERO_PREDICTOR = 0.5
CLIP_STEPS = [0, 1000, 2000, 3000, 4000]


def _results(growth=1.2, control_growth=1.0, unclipped_finite=0, proper_final=1e-3,
             clip_curve=(1000.0, 0.3, 0.01, 1e-3, 1e-4)) -> Results:
    """Gradient profiles growing by `growth` per layer/step (the g = 1 control by
    `control_growth`); unclipped losses start at 1 (1000 for g = 1.2); `clip_curve` is clip 1's
    loss at `CLIP_STEPS` (its target is 1 % of the zero predictor's 0.5, i.e. 0.005)."""
    wobble = np.array([1.0, 1.1, 0.9, 1.05])[:, None]
    layers_to_output = DEPTH - np.arange(1, DEPTH + 1)
    steps_back = TIME - np.arange(1, TIME + 1)
    # Seed-to-seed scatter per layer, so the control's slopes have a spread around their mean.
    jitter = 10 ** (0.01 * np.random.default_rng(0).standard_normal((SEEDS, DEPTH)))
    flat_layers = np.ones((SEEDS, DEPTH)) * wobble * jitter
    control = flat_layers * control_growth ** layers_to_output
    layer_norms = np.stack([wobble * growth ** layers_to_output, control, flat_layers])
    flat_time = np.ones((SEEDS, TIME)) * wobble
    time_norms = np.stack([wobble * growth ** steps_back, flat_time, flat_time * 0.5 ** steps_back])

    loss = np.empty((len(VARIANTS), SEEDS, 2))
    loss[:, :, 0] = [[1000.0], [1.0], [1.0]]
    loss[:, :, 1] = [[np.nan], [proper_final], [proper_final]]
    diverged = np.full((len(VARIANTS), SEEDS), -1)
    diverged[0] = 2
    diverged[0, :unclipped_finite] = -1
    loss[0, :unclipped_finite, 1] = 0.5

    clip_loss = np.empty((len(CLIPS), SEEDS, len(CLIP_STEPS)))
    clip_loss[0] = clip_curve
    clip_loss[1] = [1000.0, 1e-6, 1e-8, 1e-9, 1e-9]
    results = Results(meta={"zero_predictor_loss": ZERO_PREDICTOR})
    results.add("layer_grad_norm", layer_norms, ("init", "seed", "layer"),
                init=["g = 1.2", "g = 1", "orthogonal"], layer=list(range(1, DEPTH + 1)))
    results.add("input_grad_norm", time_norms, ("rnn", "seed", "time"),
                rnn=["linear, radius 1.2", "linear, radius 1", "tanh, radius 1.2"],
                time=list(range(1, TIME + 1)))
    results.add("train_loss", loss, ("variant", "seed", "step"), variant=VARIANTS, step=[0, 1000])
    results.add("diverged_at", diverged, ("variant", "seed"))
    results.add("clip_loss", clip_loss, ("clip", "seed", "clip_step"), clip=CLIPS,
                clip_step=CLIP_STEPS)
    results.add("clip_diverged_at", np.full((len(CLIPS), SEEDS), -1), ("clip", "seed"))
    return results


def _verdicts(results: Results) -> dict[str, str]:
    return eg.claims.verdicts(results, CONFIG)


def _decided(results: Results) -> dict:
    return {v.claim.id.split(".")[1]: v for v in eg.claims.decide(results, CONFIG)}


def test_the_textbook_picture_reproduces_every_claim():
    assert set(_verdicts(_results()).values()) == {REPRODUCED}


def test_slopes_are_read_per_layer_from_the_output():
    decided = _decided(_results())
    explodes = decided["large_init_explodes"]
    assert explodes.interval.mean == pytest.approx(np.log10(1.2))
    assert explodes.details["rnn_slope_per_step"].mean == pytest.approx(np.log10(1.2))
    assert explodes.details["other_slopes"]["tanh, radius 1.2"].mean == pytest.approx(np.log10(0.5))


def test_flat_gradient_profiles_do_not_explode():
    assert _verdicts(_results(growth=1.0))["large_init_explodes"] == NOT_REPRODUCED


def test_growth_below_half_the_theory_slope_does_not_count():
    # 1.05 per layer is a slope of 0.021 < 0.5 x log10 1.2 = 0.040
    assert _verdicts(_results(growth=1.05))["large_init_explodes"] == NOT_REPRODUCED


def test_a_growing_g1_control_voids_the_explosion_claim():
    assert _verdicts(_results(control_growth=1.1))["large_init_explodes"] == NOT_REPRODUCED


def test_one_finite_unclipped_seed_in_four_is_below_ninety_percent():
    assert _verdicts(_results(unclipped_finite=1))["unclipped_diverges"] == NOT_REPRODUCED


def test_clipping_is_decided_on_interpolated_steps_to_the_target():
    # The target 0.005 lies halfway (in loss) between 0.01 at step 2000 and 1e-3 at 3000.
    clipping = _decided(_results())["clipping_stabilizes"]
    assert clipping.verdict == REPRODUCED
    assert clipping.interval.mean == pytest.approx(2000 + 1000 * 0.005 / 0.009)
    assert clipping.details["by_clip"]["10"]["steps_to_target"].mean < 1000


def test_a_seed_that_never_reaches_the_target_is_censored_and_fails_clipping():
    results = _results()
    results.arrays["clip_loss"][0, 0] = [1000.0, 0.3, 0.2, 0.1, 0.05]
    clipping = _decided(results)["clipping_stabilizes"]
    assert clipping.verdict == NOT_REPRODUCED
    assert clipping.details["reached"].mean == pytest.approx(0.75)
    # The censored seed counts at the budget, not dropped.
    assert clipping.interval.n == SEEDS and clipping.interval.high <= CLIP_STEPS[-1]


def test_one_percent_of_the_huge_initial_loss_is_not_enough():
    # 0.4 < 1 % of the initial 1000, but most of the zero-predictor loss 0.5: not learned.
    assert _verdicts(_results(clip_curve=(1000.0, 0.45, 0.42, 0.41, 0.4)))["clipping_stabilizes"] \
        == NOT_REPRODUCED


def test_a_diverged_clipped_seed_fails_clipping():
    results = _results()
    results.arrays["clip_diverged_at"][0, 0] = 7
    results.arrays["clip_loss"][0, 0, 1:] = np.nan
    assert _verdicts(results)["clipping_stabilizes"] == NOT_REPRODUCED


def test_a_proper_init_ending_above_its_initial_loss_counts_as_exploding():
    assert _verdicts(_results(proper_final=2.0))["proper_init_avoids"] == NOT_REPRODUCED


def test_clip_steps_must_be_a_multiple_of_their_evaluation_interval():
    with pytest.raises(ConfigError, match="clip_steps"):
        resolve_config(eg, "quick", overrides={"clip_steps": "1100", "clip_eval_every": "250"})
    assert resolve_config(eg, "quick", overrides={"clip_steps": "2000"}).clip_steps == 2000
