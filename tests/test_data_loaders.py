"""The data loaders moved out of experiments: the digits split and MNIST-1D with noise inputs."""

import jax
import numpy as np

from phenomena import data


def test_digits_splits_are_disjoint_fixed_and_scaled():
    splits = data.digits_splits(test_size=497)
    assert splits["train"]["x"].shape == (data.DIGITS_SIZE - 497, data.DIGITS_PIXELS)
    assert splits["test"]["y"].shape == (497,)
    x = np.concatenate([np.asarray(splits["train"]["x"]), np.asarray(splits["test"]["x"])])
    assert x.min() == 0.0 and x.max() == 1.0  # 0..16 grey levels scaled to [0, 1]
    # Every digit is in exactly one split: the union is the whole set (rows as bytes).
    from sklearn.datasets import load_digits
    whole = (load_digits().data / 16.0).astype(np.float32)
    assert sorted(map(bytes, x)) == sorted(map(bytes, whole))
    again = data.digits_splits(test_size=497)
    assert np.array_equal(np.asarray(again["test"]["y"]), np.asarray(splits["test"]["y"]))
    other = data.digits_splits(test_size=497, split_seed=1)
    assert not np.array_equal(np.asarray(other["test"]["y"]), np.asarray(splits["test"]["y"]))


def test_noise_inputs_are_appended_per_split_with_their_own_key():
    rng = np.random.default_rng(0)
    splits = {"train": {"x": rng.standard_normal((6, 3)).astype(np.float32), "y": np.arange(6)},
              "test": {"x": rng.standard_normal((4, 3)).astype(np.float32), "y": np.arange(4)}}
    key = jax.random.key(3)
    noisy = data.append_noise_inputs(splits, key, 5)
    for name in splits:
        x = np.asarray(noisy[name]["x"])
        assert x.shape == (len(splits[name]["y"]), 8)
        np.testing.assert_array_equal(x[:, :3], splits[name]["x"])  # the signal is untouched
        np.testing.assert_array_equal(noisy[name]["y"], splits[name]["y"])
    # Split i draws from key i of `split(key, 2)`, in the order the splits are given.
    train_key, _ = jax.random.split(key)
    expected = jax.random.normal(train_key, (6, 5), np.float32)
    np.testing.assert_array_equal(np.asarray(noisy["train"]["x"])[:, 3:], np.asarray(expected))
