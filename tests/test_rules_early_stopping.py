"""early_stopping's claim rules on made-up results: each verdict branch can come out."""

import numpy as np
import pytest

from experiments import early_stopping
from phenomena.results import Results
from phenomena.stats import NOT_REPRODUCED, REPRODUCED

SEEDS = 8
STEPS = list(range(0, 220, 20))  # 11 evaluations


def _results(val_shape, test_shift=0.0):
    """Curves (seed, step): a given validation shape, test = validation + `test_shift` after
    the validation minimum, and a falling training loss."""
    rng = np.random.default_rng(0)
    val = np.asarray(val_shape, float)[None, :] + rng.normal(0, 0.01, (SEEDS, len(STEPS)))
    best = np.argmin(val, axis=1)
    after = np.arange(len(STEPS))[None, :] > best[:, None]
    test = val + np.where(after, test_shift, 0.0)
    results = Results()
    results.add("val_loss", val, ("seed", "step"), seed=list(range(SEEDS)), step=STEPS)
    results.add("test_loss", test, ("seed", "step"))
    results.add("train_loss", np.broadcast_to(np.linspace(2.3, 0.01, len(STEPS)), (SEEDS, len(STEPS))),
                ("seed", "step"))
    for split in ("train", "val", "test"):
        results.add(f"{split}_accuracy", np.full((SEEDS, len(STEPS)), 0.5), ("seed", "step"))
    results.meta["patience"] = 3
    return results


U_SHAPE = [2.3, 1.9, 1.7, 1.6, 1.65, 1.75, 1.85, 1.95, 2.05, 2.15, 2.25]
FALLING = list(np.linspace(2.3, 1.2, 11))


def _verdicts(results):
    return {v.claim.id.split(".")[1]: v for v in early_stopping.claims(results)}


def test_a_u_shaped_validation_loss_is_reproduced_and_early_stopping_helps():
    verdicts = _verdicts(_results(U_SHAPE))
    assert verdicts["validation_u_curve"].verdict == REPRODUCED
    assert verdicts["validation_u_curve"].interval.mean == pytest.approx(2.25 - 1.6, abs=0.02)
    assert verdicts["early_stop_not_worse"].verdict == REPRODUCED
    # Minimum at evaluation 3 (step 60); patience 3 stops at evaluation 6 (step 120).
    patience = verdicts["early_stop_not_worse"].details["patience_rule"]
    assert patience["stop_step"].mean == pytest.approx(120)


def test_a_validation_loss_that_only_falls_is_no_u():
    assert _verdicts(_results(FALLING))["validation_u_curve"].verdict == NOT_REPRODUCED


def test_a_test_loss_that_improves_after_the_selected_step_makes_stopping_worse():
    verdicts = _verdicts(_results(U_SHAPE, test_shift=-1.0))
    assert verdicts["early_stop_not_worse"].verdict == NOT_REPRODUCED
