"""linear_collapse's claim rules on fabricated results, and the collapse of a linear net."""

import dataclasses

import jax
import numpy as np
import pytest
from flax import nnx

from experiments import linear_collapse as exp
from phenomena import models, rng, stats
from phenomena.config import ConfigError
from phenomena.experiment import map_runs
from phenomena.models import MLPConfig
from phenomena.results import Results
from phenomena.runner import resolve_config

SEEDS = 8
CONFIG = dataclasses.replace(exp.CONFIG, seeds=SEEDS, rates=(0.01, 0.1))


def _fabricated(linear_gap=(0.0, 0.0), relu_gain=(45.0, 20.0), error=1e-7) -> Results:
    """Logistic regression scores 50 / 85 % on circles / moons; the deep linear net and the ReLU
    net add `linear_gap` and `relu_gain` points at their best rate (rate 0.1: lowest training
    loss) and score 0 % at rate 0.01, so reading the wrong rate fails every rule."""
    jitter = 0.2 * np.random.default_rng(0).standard_normal(SEEDS)
    logistic = np.array([50.0, 85.0])[:, None] + jitter
    accuracy = np.zeros((2, 2, 2, SEEDS, 2))
    loss = np.ones((2, 2, 2, SEEDS, 2))
    loss[:, :, 1] = 0.1
    for d in range(2):
        accuracy[d, 0, 1, :, -1] = (logistic[d] + linear_gap[d]) / 100
        accuracy[d, 1, 1, :, -1] = (logistic[d] + relu_gain[d]) / 100
    results = Results()
    coords = dict(dataset=["circles", "moons"], model=list(exp.MODELS), rate=[0.01, 0.1],
                  seed=list(range(SEEDS)), step=[0, 100])
    axes = ("dataset", "model", "rate", "seed", "step")
    results.add("test_accuracy", accuracy, axes, **coords)
    results.add("train_loss", loss, axes)
    results.add("logistic_test_accuracy", logistic / 100, ("dataset", "seed"))
    results.add("logistic_train_loss", np.full((2, SEEDS), 0.1), ("dataset", "seed"))
    results.add("collapse_error", np.full((2, 2, SEEDS), error), ("dataset", "rate", "seed"))
    return results


def _verdicts(results) -> dict:
    return exp.claims.verdicts(results, CONFIG)


def test_collapse_check_needs_relative_error_below_1e_5():
    assert _verdicts(_fabricated())["deep_linear_is_linear"] == stats.REPRODUCED
    assert _verdicts(_fabricated(error=2e-5))["deep_linear_is_linear"] == stats.NOT_REPRODUCED


def test_nonlinearity_needed_combines_the_datasets():
    assert _verdicts(_fabricated())["nonlinearity_needed"] == stats.REPRODUCED
    # Moons: ReLU gains only 11 points (the measured case): one dataset of two holds.
    assert _verdicts(_fabricated(relu_gain=(45.0, 11.0)))["nonlinearity_needed"] == stats.NUANCED
    # The deep linear net 3 points off logistic regression on both: no dataset holds.
    assert _verdicts(_fabricated(linear_gap=(3.0, -3.0)))["nonlinearity_needed"] \
        == stats.NOT_REPRODUCED


def test_each_net_is_read_at_its_own_lowest_training_loss_rate():
    decided = {v.claim.id.split(".")[1]: v for v in exp.claims.decide(_fabricated(), CONFIG)}
    moons = decided["nonlinearity_needed"].details["by_dataset"]["moons"]
    assert moons["best_rate"] == {"deep linear": 0.1, "ReLU": 0.1}
    assert moons["relu_minus_logistic"].mean == pytest.approx(20.0)
    assert moons["deep_linear_minus_logistic"].mean == pytest.approx(0.0, abs=1e-9)


def test_error_closed_is_the_share_of_the_reference_error_removed():
    closed = exp.error_closed(np.array([99.0, 95.0, 100.0]), np.array([88.0, 95.0, 100.0]))
    np.testing.assert_allclose(closed[:2], [11 / 12, 0.0])
    assert np.isnan(closed[2])  # a perfect reference leaves no error to close
    decided = {v.claim.id.split(".")[1]: v for v in exp.claims.decide(_fabricated(), CONFIG)}
    moons = decided["nonlinearity_needed"].details["by_dataset"]["moons"]
    assert moons["relu_share_of_logistic_error_closed"].mean == pytest.approx(20.0 / 15.0, rel=0.05)


def test_collapse_is_exact_for_identity_activations_only():
    x = np.random.default_rng(1).standard_normal((50, 2)).astype(np.float32)
    for activation, small in (("identity", True), ("relu", False)):
        graphdef, state = models.mlps(2, 2, MLPConfig(width=8, depth=4, activation=activation),
                                      rng.seed_keys(0, 2))
        error = map_runs(exp.collapse_error, graphdef, state, x)
        assert (error.max() < 1e-5) == small
    weight, bias = exp.collapse(nnx.merge(graphdef, jax.tree.map(lambda a: a[0], state)))
    assert weight.shape == (2, 2) and bias.shape == (2,)


@pytest.mark.parametrize("key", sorted(exp.Config.IGNORED_KEYS))
def test_ignored_keys_are_refused(key):
    with pytest.raises(ConfigError, match=key):
        resolve_config(exp, "quick", overrides={key: "0.1"})
