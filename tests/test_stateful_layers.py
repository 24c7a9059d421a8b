"""Stateful layers through the pure boundary: dropout's key and batch norm's running statistics.

Dropout is on in training and off in evaluation (outputs differ across keys only with
`train=True`; evaluation is bit-identical whatever the key). Batch-norm running statistics
change in a `train.fit` training step and never in evaluation, including the evaluate hook.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from phenomena import losses, models, rng, train
from phenomena.models import MLPConfig


def _one_model(config: MLPConfig, seed: int = 0):
    graphdef, state = models.mlps(6, 3, config, rng.seed_keys(seed, 1))
    return nnx.merge(graphdef, jax.tree.map(lambda a: a[0], state))


def _inputs(n: int = 16):
    return jax.random.normal(jax.random.key(5), (n, 6))


def _batch_stats(state) -> list[np.ndarray]:
    return [np.asarray(x) for x in jax.tree.leaves(nnx.filter_state(state, nnx.BatchStat))]


# ---------------------------------------------------------------- dropout

def test_dropout_outputs_differ_across_keys_only_in_training():
    model = _one_model(MLPConfig(width=32, depth=2, dropout=0.5))
    x = _inputs()
    key_a, key_b = jax.random.key(1), jax.random.key(2)
    train_a, _ = model(x, train=True, key=key_a)
    train_b, _ = model(x, train=True, key=key_b)
    assert not np.array_equal(train_a, train_b)
    np.testing.assert_array_equal(train_a, model(x, train=True, key=key_a)[0])  # same key, same mask
    eval_a, _ = model(x, train=False, key=key_a)
    np.testing.assert_array_equal(eval_a, model(x, train=False, key=key_b)[0])
    np.testing.assert_array_equal(eval_a, model(x)[0])


def test_evaluation_with_dropout_is_the_plain_network():
    # Dropout has no parameters, so the same key builds the same weights; inverted dropout
    # scales in training, so evaluation needs no rescaling and equals the plain net exactly.
    x = _inputs()
    with_dropout = _one_model(MLPConfig(width=32, depth=2, dropout=0.5))
    plain = _one_model(MLPConfig(width=32, depth=2))
    np.testing.assert_array_equal(with_dropout(x)[0], plain(x)[0])
    assert not np.array_equal(with_dropout(x, train=True, key=jax.random.key(0))[0], plain(x)[0])


def test_dropout_in_training_needs_a_key():
    model = _one_model(MLPConfig(width=8, depth=1, dropout=0.5))
    with pytest.raises(ValueError, match="key"):
        model(_inputs(), train=True)


def _frozen_fit_losses(dropout: float) -> np.ndarray:
    """Per-step full-batch losses of a net whose updates are below float32 resolution."""
    config = MLPConfig(width=16, depth=2, dropout=dropout)
    keys = rng.seed_keys(0, 1)
    graphdef, state = models.mlps(6, 3, config, keys)
    data = {"x": _inputs(32), "y": jnp.arange(32, dtype=jnp.int32) % 3}
    settings = train.TrainConfig(optimizer="sgd", lr=1e-30, steps=6, batch_size=0, eval_every=6)
    history = train.fit(graphdef, state, losses.cross_entropy, data, settings, keys, progress=False)
    return history.step_metrics["loss"][0]


def test_fit_gives_every_step_a_fresh_dropout_key():
    # The weights do not move (lr 1e-30), so the plain net's loss is the same at every step and
    # any change of the dropout net's loss comes from a new mask, i.e. a new key.
    plain = _frozen_fit_losses(0.0)
    assert np.all(plain == plain[0])
    dropped = _frozen_fit_losses(0.5)
    assert len(np.unique(dropped)) == len(dropped)


# ---------------------------------------------------------------- batch norm

def _bn_fit(evaluate=None, steps: int = 1):
    config = MLPConfig(width=8, depth=2, norm="batch")
    keys = rng.seed_keys(0, 2)
    graphdef, state = models.mlps(6, 3, config, keys)
    data = {"x": 3.0 + 2.0 * _inputs(64), "y": jnp.arange(64, dtype=jnp.int32) % 3}
    settings = train.TrainConfig(optimizer="sgd", lr=0.1, steps=steps, batch_size=16, eval_every=1)
    history = train.fit(graphdef, state, losses.cross_entropy, data, settings, keys,
                        evaluate=evaluate, eval_data=data, progress=False)
    return state, history


def test_batch_norm_statistics_change_in_a_training_step():
    initial, history = _bn_fit()
    before, after = _batch_stats(initial), _batch_stats(history.state)
    assert len(before) == 4  # mean and var of two BN layers
    for b, a in zip(before, after):
        assert np.all(b != a)  # every unit's running mean and variance moved
    # Flax's BatchNorm starts at mean 0, var 1 and moves 1 % of the way (momentum 0.99).
    assert np.all(np.abs(after[0]) > 0) and np.all(np.abs(after[0]) < 1)


def _train_mode_probe(model, data):
    """An evaluate hook that runs a training-mode forward pass (it updates the copy's statistics)."""
    logits, _ = model(data["x"], train=True)
    return {"mean_logit": jnp.mean(logits)}


def test_evaluation_never_changes_batch_norm_statistics():
    model = _one_model(MLPConfig(width=8, depth=2, norm="batch"))
    before = _batch_stats(nnx.state(model))
    model(3.0 + _inputs(), train=False)
    np.testing.assert_array_equal(_batch_stats(nnx.state(model)), before)
    # fit's evaluate hook works on a copy: even a training-mode pass there leaves the carried
    # statistics exactly as training alone leaves them.
    _, plain = _bn_fit(steps=3)
    _, probed = _bn_fit(evaluate=_train_mode_probe, steps=3)
    for a, b in zip(_batch_stats(plain.state), _batch_stats(probed.state)):
        np.testing.assert_array_equal(a, b)


def test_batch_norm_evaluation_is_per_example_and_training_is_per_batch():
    model = _one_model(MLPConfig(width=8, depth=2, norm="batch"))
    x = _inputs()
    # Evaluation uses the running statistics: an example's output does not depend on its batch.
    np.testing.assert_allclose(model(x[:1])[0], model(x)[0][:1], rtol=1e-6)
    # Training normalizes with the batch's own statistics: it does.
    alone = model(x[:4], train=True)[0][:1]
    in_batch = model(x, train=True)[0][:1]
    assert not np.allclose(alone, in_batch, rtol=1e-3)
