"""The per-run training-set loaders of `phenomena.data`: shapes, nesting, balance, and the same
examples as the op-by-op construction they replace."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from phenomena import data, rng

# 60 examples whose x records their own index, 3 classes of 20.
EXAMPLES = {"x": jnp.arange(60, dtype=jnp.float32)[:, None] * jnp.ones((1, 2)),
            "y": jnp.arange(60, dtype=jnp.int32) % 3}
KEYS = rng.seed_keys(0, 2)


def _ids(split) -> np.ndarray:
    """The example indices held by a (run, row, feature) or (row, feature) split."""
    return np.asarray(split["x"][..., 0]).astype(int)


def test_random_subsets_match_the_vmapped_subset_and_are_without_replacement():
    subsets = data.random_subsets(EXAMPLES, KEYS, 10)
    eager = jax.vmap(lambda key: data.random_subset(EXAMPLES, key, 10))(KEYS)
    np.testing.assert_array_equal(subsets["x"], eager["x"])
    for run in _ids(subsets):
        assert len(set(run)) == 10


def test_nested_subsets_are_size_major_tiled_and_nested():
    sets = data.nested_subsets(EXAMPLES, KEYS, (5, 10), 20)
    assert sets["x"].shape == (4, 20, 2)  # (size * key, length, feature)
    ids = _ids(sets)
    for key in range(2):
        small, large = ids[key], ids[2 + key]  # run i: size i // 2, key i % 2
        np.testing.assert_array_equal(small[:5], small[5:10])  # tiled 4 times
        assert set(small) < set(large) and len(set(large)) == 10
    # The same examples as repeating each key's subset op by op.
    eager = jax.vmap(lambda key: data.repeat_to(data.random_subset(EXAMPLES, key, 5), 20))(KEYS)
    np.testing.assert_array_equal(sets["x"][:2], eager["x"])


def test_pools_with_validation_carve_disjoint_splits_from_one_pool():
    train, val = data.pools_with_validation(EXAMPLES, KEYS, rng.run_stream(KEYS, 2), pool=30, n_val=10)
    assert train["x"].shape == (2, 20, 2) and val["x"].shape == (2, 10, 2)
    pools = [set(data.random_subsets(EXAMPLES, KEYS, 30)["x"][k, :, 0].astype(int).tolist())
             for k in range(2)]
    for key in range(2):
        t, v = set(_ids(train)[key]), set(_ids(val)[key])
        assert not t & v and t | v == pools[key]


def test_balanced_nested_subsets_hold_n_of_every_class_nested_across_sizes():
    sets = data.balanced_nested_subsets(EXAMPLES, KEYS, classes=3, per_class=(2, 4))
    assert sets["y"].shape == (4, 12)  # (size * key, classes * largest)
    ids = _ids(sets)
    for key in range(2):
        small, large = ids[key], ids[2 + key]
        assert np.bincount(np.asarray(sets["y"][key]), minlength=3).tolist() == [4, 4, 4]  # 2 each, tiled
        assert len(set(small)) == 6 and len(set(large)) == 12 and set(small) < set(large)
    with pytest.raises(ValueError, match="divide"):
        data.balanced_nested_subsets(EXAMPLES, KEYS, classes=3, per_class=(3, 4))


def test_flip_labels_flips_about_the_share_always_to_another_class_and_only_labels():
    labels = {"x": jnp.zeros((4000, 1)), "y": jnp.arange(4000, dtype=jnp.int32) % 10}
    flipped = jax.vmap(lambda key: data.flip_labels(labels, key, 0.3, 10))(KEYS)
    changed = np.asarray(flipped["y"]) != np.asarray(labels["y"])[None]
    assert np.all(np.abs(changed.mean(axis=1) - 0.3) < 0.03)  # ~0.3 of 4000, each key
    assert not np.array_equal(changed[0], changed[1])  # a fresh draw per key
    assert np.all((np.asarray(flipped["y"]) >= 0) & (np.asarray(flipped["y"]) < 10))
    assert flipped["y"].dtype == labels["y"].dtype and flipped["x"].shape == (2, 4000, 1)
    unchanged = data.flip_labels(labels, KEYS[0], 0.0, 10)
    np.testing.assert_array_equal(unchanged["y"], labels["y"])
