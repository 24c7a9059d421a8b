"""decision_boundaries' claim rule on fabricated results, the parameter count, and the
zero-padding that trains several widths in one program."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from experiments import decision_boundaries as exp
from phenomena import losses, models, rng, stats
from phenomena.config import ConfigError
from phenomena.models import MLPConfig
from phenomena.results import Results
from phenomena.runner import resolve_config

SEEDS = 8
CONFIG = dataclasses.replace(exp.CONFIG, seeds=SEEDS)


def _fabricated(rising=True) -> Results:
    """Final test accuracy per (depth, width) cell: rising with the parameter count (plus
    seed noise), or unrelated to it (a fixed random order of the cells)."""
    noise = np.random.default_rng(0).normal(0, 1e-4, (3, 5, SEEDS))
    capacity = exp.capacities(CONFIG)
    level = np.log(capacity) if rising else np.random.default_rng(1).permutation(15).reshape(3, 5)
    level = (level - level.min()) / (level.max() - level.min())
    accuracy = np.zeros((3, 5, SEEDS, 2))
    accuracy[..., -1] = 0.55 + 0.4 * level[..., None] + noise
    results = Results()
    axes = ("depth", "width", "seed", "step")
    results.add("test_accuracy", accuracy, axes, depth=[1, 2, 3], width=[2, 4, 8, 16, 32],
                seed=list(range(SEEDS)), step=[0, 100])
    results.add("train_loss", np.ones((3, 5, SEEDS, 2)), axes)
    results.add("padding_size", np.zeros((3, 5, SEEDS)), ("depth", "width", "seed"))
    return results


def test_accuracy_rising_with_capacity_is_reproduced_and_an_unrelated_order_is_not():
    decided = exp.claims.decide(_fabricated(), CONFIG)[0]
    assert decided.verdict == stats.REPRODUCED
    assert decided.interval.mean > 0.99  # monotone in capacity (two cells tie at 42 parameters)
    assert decided.interval.low > 0.8
    shuffled = exp.claims.decide(_fabricated(rising=False), CONFIG)[0]
    assert shuffled.verdict == stats.NOT_REPRODUCED and shuffled.interval.mean < 0.8


def test_parameter_count_of_an_mlp():
    assert exp.parameter_count(2, 1) == 2 * 2 + 2 + 2 * 2 + 2  # 12
    assert exp.parameter_count(32, 3) == 96 + 2 * (32 * 32 + 32) + 66  # 2274
    _, state = models.mlps(2, 2, MLPConfig(width=8, depth=2), rng.seed_keys(0, 1))
    assert models.count_params(jax.tree.map(lambda a: a[0], state)) == exp.parameter_count(8, 2)


def _narrowed(width, full=8, depth=3):
    graphdef, state = models.mlps(2, 2, MLPConfig(width=full, depth=depth), rng.seed_keys(0, 1))
    model = nnx.merge(graphdef, jax.tree.map(lambda a: a[0], state))
    return graphdef, exp.narrow(model, jnp.float32(width))


def test_narrowed_units_stay_zero_under_training_and_the_rest_is_rescaled():
    graphdef, state = _narrowed(3)
    model = nnx.merge(graphdef, state)
    assert float(exp.padding_size(model, 3.0)) == 0.0
    batch = {"x": jax.random.normal(jax.random.key(1), (20, 2)), "y": jnp.arange(20) % 2}
    _, params, rest = nnx.split(model, nnx.Param, ...)

    def loss(p):
        return losses.cross_entropy(nnx.merge(graphdef, p, rest), batch)[0]

    grads = nnx.merge(graphdef, jax.grad(loss)(params), rest)
    assert float(exp.padding_size(grads, 3.0)) == 0.0  # zero gradients: the units stay zero
    assert float(jnp.max(jnp.abs(grads.hidden[1].kernel[:3, :3]))) > 0  # the kept ones learn
    # Above the first layer the kept weights are scaled by sqrt(8 / 3) (He fan-in of 3 units).
    _, unscaled = models.mlps(2, 2, MLPConfig(width=8, depth=3), rng.seed_keys(0, 1))
    ratio = model.hidden[1].kernel[:3, :3] / unscaled["hidden"][1]["kernel"][0, :3, :3]
    np.testing.assert_allclose(ratio, np.sqrt(8 / 3), rtol=1e-5)


def test_width_groups_split_the_widths_in_order():
    assert exp.width_groups(CONFIG) == [(2, 4, 8), (16, 32)]
    with pytest.raises(ConfigError, match="width_groups"):
        resolve_config(exp, "quick", overrides={"width_groups": "6"})
