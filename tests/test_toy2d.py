"""The 2-D toy datasets of `phenomena.toy2d`: gates, shapes, balance, geometry, keys."""

import jax
import numpy as np
import pytest

from phenomena import rng, toy2d

KEY = jax.random.key(0)


def test_gates_hold_the_four_points_with_their_truth_tables():
    xor = toy2d.gate("xor")
    np.testing.assert_array_equal(xor["x"], [[0, 0], [0, 1], [1, 0], [1, 1]])
    assert xor["y"].tolist() == [0, 1, 1, 0]
    assert toy2d.gate("and")["y"].tolist() == [0, 0, 0, 1]
    assert toy2d.gate("or")["y"].tolist() == [0, 1, 1, 1]
    np.testing.assert_array_equal(toy2d.gate("xor", signed=True)["x"],
                                  [[-1, -1], [-1, 1], [1, -1], [1, 1]])
    with pytest.raises(ValueError, match="gate must be one of"):
        toy2d.gate("nand")


@pytest.mark.parametrize("name", ["circles", "moons", "spirals"])
def test_every_dataset_is_balanced_float32_and_determined_by_its_key(name):
    make = toy2d.DATASETS[name]
    a, b, c = make(KEY, 100), make(KEY, 100), make(jax.random.key(1), 100)
    assert a["x"].shape == (100, 2) and a["x"].dtype == np.float32 and a["y"].dtype == np.int32
    assert np.bincount(np.asarray(a["y"])).tolist() == [50, 50]
    np.testing.assert_array_equal(a["x"], b["x"])
    assert not np.allclose(a["x"], c["x"])
    with pytest.raises(ValueError, match="even number"):
        make(KEY, 101)


def test_circles_lie_on_radius_one_and_factor_without_noise():
    d = toy2d.circles(KEY, 200, noise=0.0, factor=0.3)
    radius = np.linalg.norm(np.asarray(d["x"]), axis=1)
    np.testing.assert_allclose(radius[:100], 1.0, atol=1e-6)
    np.testing.assert_allclose(radius[100:], 0.3, atol=1e-6)


def test_moons_arcs_are_the_upper_and_shifted_lower_half_circles():
    d = toy2d.moons(KEY, 200, noise=0.0)
    x = np.asarray(d["x"])
    np.testing.assert_allclose(np.linalg.norm(x[:100], axis=1), 1.0, atol=1e-6)
    assert (x[:100, 1] >= 0).all()
    np.testing.assert_allclose(np.linalg.norm(x[100:] - [1.0, 0.5], axis=1), 1.0, atol=1e-6)
    assert (x[100:, 1] <= 0.5 + 1e-6).all()


def test_spirals_radius_spans_zero_to_one_and_the_arms_are_opposite():
    d = toy2d.spirals(KEY, 2000, noise=0.0, turns=1.5)
    x = np.asarray(d["x"])
    radius = np.linalg.norm(x, axis=1)
    assert radius.min() >= 0 and radius.max() <= 1 + 1e-6
    assert radius.min() < 0.01 and radius.max() > 0.99
    # A point of arm 0 at fraction t has angle 3π t; arm 1 the same plus π.
    angle = np.arctan2(x[:, 1], x[:, 0])
    for arm, phase in ((slice(0, 1000), 0.0), (slice(1000, 2000), np.pi)):
        expected = 2 * np.pi * 1.5 * radius[arm] + phase
        np.testing.assert_allclose(np.cos(angle[arm] - expected), 1.0, atol=1e-4)


def test_train_test_draws_independent_sets_per_key():
    keys = rng.seed_keys(0, 3)
    sets = toy2d.train_test("spirals", keys, 40, 60, 0.05)
    assert sets["train"]["x"].shape == (3, 40, 2) and sets["test"]["y"].shape == (3, 60)
    one = toy2d.train_test("spirals", keys[:1], 40, 60, 0.05)
    np.testing.assert_array_equal(one["train"]["x"][0], sets["train"]["x"][0])  # pure per key
    assert not np.allclose(sets["train"]["x"][0], sets["train"]["x"][1])  # a fresh draw per key
    assert not np.allclose(sets["train"]["x"][0], sets["test"]["x"][0, :40])  # train != test
    circles = toy2d.train_test("circles", keys, 40, 40, 0.0, shape=0.25)
    np.testing.assert_allclose(np.linalg.norm(circles["test"]["x"][:, 20:], axis=-1), 0.25, atol=1e-6)
