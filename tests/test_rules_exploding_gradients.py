"""exploding_gradients' claim rules on fabricated results: each verdict branch."""

import numpy as np
import pytest

from experiments import exploding_gradients as eg
from phenomena.results import Results
from phenomena.stats import NOT_REPRODUCED, REPRODUCED

SEEDS, DEPTH, TIME = 4, 6, 8
CONFIG = eg.Config(depth=DEPTH, rnn_steps=TIME)
LABELS = [v.label for v in eg.variants(CONFIG)]


ZERO_PREDICTOR = 0.5


def _results(growth=1.2, control_growth=1.0, unclipped_finite=0, clipped_final=1e-3,
             proper_final=1e-3) -> Results:
    """Gradient profiles growing by `growth` per layer/step (the g = 1 control by
    `control_growth`); losses start at 1 (1000 for g); `clipped_final` is clip 1's final loss."""
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
    finals = {"g = 1.2, no clip": np.nan, "g = 1.2, clip 1": clipped_final,
              "g = 1, no clip": proper_final, "orthogonal, no clip": proper_final}
    loss = np.empty((len(LABELS), SEEDS, 2))
    diverged = np.full((len(LABELS), SEEDS), -1)
    for i, label in enumerate(LABELS):
        loss[i, :, 0] = 1000.0 if label.startswith("g = 1.2") else 1.0
        loss[i, :, 1] = finals.get(label, 0.1)
    unclipped = LABELS.index("g = 1.2, no clip")
    diverged[unclipped] = 2
    diverged[unclipped, :unclipped_finite] = -1
    loss[unclipped, :unclipped_finite, 1] = 0.5
    results = Results(meta={"zero_predictor_loss": ZERO_PREDICTOR})
    results.add("layer_grad_norm", layer_norms, ("init", "seed", "layer"),
                init=["g = 1.2", "g = 1", "orthogonal"], layer=list(range(1, DEPTH + 1)))
    results.add("input_grad_norm", time_norms, ("rnn", "seed", "time"),
                rnn=["linear, radius 1.2", "linear, radius 1", "tanh, radius 1.2"],
                time=list(range(1, TIME + 1)))
    results.add("train_loss", loss, ("variant", "seed", "step"), variant=LABELS, step=[0, 1000])
    results.add("diverged_at", diverged, ("variant", "seed"))
    return results


def _verdicts(results: Results) -> dict[str, str]:
    return eg.claims.verdicts(results, CONFIG)


def test_the_textbook_picture_reproduces_every_claim():
    assert set(_verdicts(_results()).values()) == {REPRODUCED}


def test_slopes_are_read_per_layer_from_the_output():
    decided = {v.claim.id: v for v in eg.claims.decide(_results(), CONFIG)}
    explodes = decided["exploding_gradients.large_init_explodes"]
    assert explodes.interval.mean == pytest.approx(np.log10(1.2))
    assert explodes.details["rnn_slope_per_step"].mean == pytest.approx(np.log10(1.2))
    assert explodes.details["other_slopes"]["tanh, radius 1.2"].mean == pytest.approx(np.log10(0.5))
    clipping = decided["exploding_gradients.clipping_stabilizes"]
    assert clipping.interval.mean == pytest.approx(np.log10(1e-3 / ZERO_PREDICTOR))
    assert clipping.details["final_over_initial"].low >= 0


def test_flat_gradient_profiles_do_not_explode():
    assert _verdicts(_results(growth=1.0))["large_init_explodes"] == NOT_REPRODUCED


def test_growth_below_half_the_theory_slope_does_not_count():
    # 1.05 per layer is a slope of 0.021 < 0.5 x log10 1.2 = 0.040
    assert _verdicts(_results(growth=1.05))["large_init_explodes"] == NOT_REPRODUCED


def test_a_growing_g1_control_voids_the_explosion_claim():
    assert _verdicts(_results(control_growth=1.1))["large_init_explodes"] == NOT_REPRODUCED


def test_one_finite_unclipped_seed_in_four_is_below_ninety_percent():
    assert _verdicts(_results(unclipped_finite=1))["unclipped_diverges"] == NOT_REPRODUCED


def test_clipping_must_bring_every_seed_below_one_percent_of_the_zero_predictor():
    assert _verdicts(_results(clipped_final=0.02 * ZERO_PREDICTOR))["clipping_stabilizes"] == NOT_REPRODUCED


def test_one_percent_of_the_huge_initial_loss_is_not_enough():
    # final/initial = 0.4/1000 = 4e-4 < 1 %, but 0.4 is most of the zero-predictor loss 0.5
    assert _verdicts(_results(clipped_final=0.4))["clipping_stabilizes"] == NOT_REPRODUCED


def test_a_proper_init_ending_above_its_initial_loss_counts_as_exploding():
    assert _verdicts(_results(proper_final=2.0))["proper_init_avoids"] == NOT_REPRODUCED


def test_a_diverged_clipped_seed_fails_clipping():
    results = _results()
    clip1 = LABELS.index("g = 1.2, clip 1")
    results.arrays["diverged_at"][clip1, 0] = 7
    results.arrays["train_loss"][clip1, 0, 1] = np.nan
    assert _verdicts(results)["clipping_stabilizes"] == NOT_REPRODUCED
