"""data.shuffle_positions: one permutation of the signal positions, shared by every split."""

import jax
import numpy as np
import pytest

from phenomena import data


def _splits(length=40):
    """Signals whose value names their split, row and position: x = 1000 * split + 100 * row
    + position (train split 0, test split 1), so a permutation can be read off the values."""
    def split(index, rows):
        x = 1000 * index + 100 * np.arange(rows)[:, None] + np.arange(length)[None, :]
        return {"x": x.astype(np.float32), "y": np.arange(rows, dtype=np.int32)}

    return {"train": split(0, 5), "test": split(1, 3)}


def test_one_permutation_moves_the_positions_of_every_split_alike():
    splits = _splits()
    shuffled = data.shuffle_positions(splits, jax.random.key(0))
    train_order = np.asarray(shuffled["train"]["x"][0]).astype(int)  # row 0 of split 0: positions
    test_order = np.asarray(shuffled["test"]["x"][0]).astype(int) - 1000
    np.testing.assert_array_equal(train_order, test_order)  # the same permutation on both
    np.testing.assert_array_equal(train_order, np.asarray(jax.random.permutation(jax.random.key(0), 40)))
    assert sorted(train_order) == list(range(40))  # a permutation of the 40 positions
    assert np.sum(train_order == np.arange(40)) <= 5  # it does move (almost) every position
    for name in splits:  # every row: the same values (a multiset), permuted alike; labels kept
        x, moved = np.asarray(splits[name]["x"]), np.asarray(shuffled[name]["x"])
        np.testing.assert_array_equal(np.sort(moved, axis=1), np.sort(x, axis=1))
        np.testing.assert_array_equal(moved, x[:, train_order])
        np.testing.assert_array_equal(shuffled[name]["y"], splits[name]["y"])


def test_the_permutation_is_fixed_by_the_key():
    splits = _splits()
    first = data.shuffle_positions(splits, jax.random.key(3))
    again = data.shuffle_positions(splits, jax.random.key(3))
    other = data.shuffle_positions(splits, jax.random.key(4))
    np.testing.assert_array_equal(first["test"]["x"], again["test"]["x"])
    assert not np.array_equal(np.asarray(first["test"]["x"]), np.asarray(other["test"]["x"]))


def test_splits_of_different_lengths_are_refused():
    splits = {"train": _splits(40)["train"], "test": _splits(30)["test"]}
    with pytest.raises(ValueError, match="one length"):
        data.shuffle_positions(splits, jax.random.key(0))
