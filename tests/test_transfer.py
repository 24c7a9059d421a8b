import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from phenomena import losses, models, rng, train
from phenomena.models import MLPConfig
from phenomena.optim import PathMask
from phenomena.train import TrainConfig
from phenomena.transfer import graft, load_state, per_class_indices, save_state, with_part

FEATURES = PathMask("['hidden']")


def _nets(seed, runs=2):
    return models.mlps(8, 3, MLPConfig(width=16, depth=2), rng.seed_keys(seed, runs))


def _leaf(state, *path):
    for name in path:
        state = state[name]
    return np.asarray(state[...])


def test_save_and_load_round_trip_is_exact(tmp_path):
    _, state = _nets(0)
    path = save_state(tmp_path / "net.npz", state)
    _, template = _nets(1)
    loaded = load_state(path, template)
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(loaded)):
        np.testing.assert_array_equal(a, b)
    _, wider = models.mlps(8, 3, MLPConfig(width=32, depth=2), rng.seed_keys(0, 2))
    with pytest.raises(ValueError, match="shape"):
        load_state(path, wider)


def test_graft_takes_the_features_and_keeps_the_fresh_head():
    _, pretrained = _nets(0)
    _, fresh = _nets(1)
    grafted = graft(pretrained, fresh, FEATURES)
    np.testing.assert_array_equal(_leaf(grafted, "hidden", 1, "kernel"), _leaf(pretrained, "hidden", 1, "kernel"))
    np.testing.assert_array_equal(_leaf(grafted, "head", "kernel"), _leaf(fresh, "head", "kernel"))
    assert not np.array_equal(_leaf(grafted, "head", "kernel"), _leaf(pretrained, "head", "kernel"))


def test_frozen_features_stay_bit_identical_while_fine_tuning_the_head():
    graphdef, pretrained = _nets(0)
    _, fresh = _nets(1)
    start = graft(pretrained, fresh, FEATURES)
    x = jax.random.normal(jax.random.key(3), (64, 8))
    data = {"x": x, "y": jnp.argmax(x[:, :3], axis=1)}
    config = TrainConfig(optimizer="adam", lr=1e-2, steps=30, eval_every=10, batch_size=16)
    history = train.fit(graphdef, start, losses.cross_entropy, data, config, rng.seed_keys(5, 2),
                        optimizer=config.spec(freeze=FEATURES), progress=False)
    after = nnx.filter_state(history.state, nnx.Param)
    for layer in (0, 1):
        for name in ("kernel", "bias"):
            np.testing.assert_array_equal(_leaf(after, "hidden", layer, name),
                                          _leaf(start, "hidden", layer, name))
    assert np.abs(_leaf(after, "head", "kernel") - _leaf(start, "head", "kernel")).max() > 1e-3


def test_per_class_indices_are_balanced_nested_and_keyed():
    labels = np.repeat(np.arange(3), 10)
    order = per_class_indices(labels, jax.random.key(0), classes=3, n_max=4)
    assert order.shape == (3, 4)
    for c in range(3):
        assert set(labels[np.asarray(order[c])]) == {c}
        assert len(set(np.asarray(order[c]).tolist())) == 4
    other = per_class_indices(labels, jax.random.key(1), classes=3, n_max=4)
    assert not np.array_equal(order, other)
    with pytest.raises(ValueError, match="fewer than"):
        per_class_indices(labels, jax.random.key(0), classes=3, n_max=11)


def test_with_part_sets_one_entry_and_leaves_the_rest_and_the_original_alone():
    _, pretrained = _nets(0)
    _, other = _nets(1)
    combined = with_part(pretrained, "head", other["head"])
    np.testing.assert_array_equal(_leaf(combined, "head", "kernel"), _leaf(other, "head", "kernel"))
    np.testing.assert_array_equal(_leaf(combined, "hidden", 0, "kernel"),
                                  _leaf(pretrained, "hidden", 0, "kernel"))
    assert not np.array_equal(_leaf(pretrained, "head", "kernel"), _leaf(other, "head", "kernel"))
