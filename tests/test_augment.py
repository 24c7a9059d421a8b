import jax
import jax.numpy as jnp
import numpy as np
import pytest

from phenomena import augment, losses, models, rng, train
from phenomena.models import MLPConfig


def _ramp(batch=3, length=10):
    return jnp.tile(jnp.arange(length, dtype=jnp.float32), (batch, 1))


def test_circular_shift_moves_a_known_signal_by_k_samples():
    x = _ramp(3, 10)
    out = np.asarray(augment.shift_signals(x, jnp.array([0, 3, -2]), "circular"))
    np.testing.assert_array_equal(out[0], np.arange(10))
    np.testing.assert_array_equal(out[1], [7, 8, 9, 0, 1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(out[2], [2, 3, 4, 5, 6, 7, 8, 9, 0, 1])


def test_zero_padded_shift_fills_the_vacated_samples_with_zeros():
    x = _ramp(2, 6) + 1.0
    out = np.asarray(augment.shift_signals(x, jnp.array([2, -1]), "zeros"))
    np.testing.assert_array_equal(out[0], [0, 0, 1, 2, 3, 4])
    np.testing.assert_array_equal(out[1], [2, 3, 4, 5, 6, 0])


def test_random_shift_stays_within_its_range_and_varies_per_example():
    # A one-hot spike at position 20 reveals each example's shift.
    x = jnp.zeros((2000, 40)).at[:, 20].set(1.0)
    out = np.asarray(augment.Shift(3)(jax.random.key(0), x))
    shifts = out.argmax(axis=1) - 20
    assert set(np.unique(shifts)) == {-3, -2, -1, 0, 1, 2, 3}
    np.testing.assert_array_equal(out.sum(axis=1), 1.0)  # circular: nothing is lost


def test_noise_has_the_stated_std_and_zero_mean():
    x = jnp.ones((400, 50))
    noise = np.asarray(augment.GaussianNoise(0.3)(jax.random.key(1), x)) - 1.0
    assert abs(noise.std() - 0.3) < 0.005  # 20000 draws: sd of the estimate ≈ 0.0015
    assert abs(noise.mean()) < 0.01


def test_scale_multiplies_each_signal_by_one_factor_in_range():
    x = _ramp(500, 10) + 1.0
    out = np.asarray(augment.Scale(0.8, 1.2)(jax.random.key(2), x))
    factors = out / np.asarray(x)
    np.testing.assert_allclose(factors, factors[:, :1] * np.ones((1, 10)), rtol=1e-6)
    assert factors.min() >= 0.8 and factors.max() <= 1.2
    assert factors.max() - factors.min() > 0.35  # the range is used, not a constant


def test_compose_applies_in_order_and_is_hashable():
    transform = augment.compose(augment.Scale(2.0, 2.0), augment.Shift(0))
    out = transform(jax.random.key(3), _ramp(2, 5))
    np.testing.assert_array_equal(np.asarray(out), 2 * np.asarray(_ramp(2, 5)))
    assert hash(transform) == hash(augment.compose(augment.Scale(2.0, 2.0), augment.Shift(0)))


def test_bad_parameters_raise():
    with pytest.raises(ValueError):
        augment.Shift(-1)
    with pytest.raises(ValueError):
        augment.Shift(2, mode="reflect")
    with pytest.raises(ValueError):
        augment.Scale(1.2, 0.8)
    with pytest.raises(ValueError):
        augment.GaussianNoise(-0.1)


def _recording_loss(model, batch, *, train=False, key=None):
    """A loss that returns the batch it saw, to check what the wrapper passed on."""
    return jnp.sum(batch["x"]), {"x": batch["x"]}


def test_augmentation_is_identity_when_not_training():
    loss = augment.augmented(_recording_loss, augment.GaussianNoise(1.0))
    batch = {"x": _ramp(2, 5), "y": jnp.zeros(2, jnp.int32)}
    _, aux = loss(None, batch, train=False, key=jax.random.key(0))
    np.testing.assert_array_equal(np.asarray(aux["x"]), np.asarray(batch["x"]))
    _, aux_train = loss(None, batch, train=True, key=jax.random.key(0))
    assert not np.allclose(np.asarray(aux_train["x"]), np.asarray(batch["x"]))
    with pytest.raises(ValueError):
        loss(None, batch, train=True, key=None)


def test_augmented_training_runs_in_fit_and_reuses_programs():
    keys = rng.seed_keys(0, 2)
    graphdef, state = models.mlps(8, 3, MLPConfig(width=8, depth=1), keys)
    x = jax.random.normal(jax.random.key(5), (64, 8))
    data = {"x": x, "y": jnp.argmax(x[:, :3], axis=1).astype(jnp.int32)}
    config = train.TrainConfig(optimizer="adam", lr=1e-2, steps=20, batch_size=16, eval_every=10)
    loss = augment.augmented(losses.cross_entropy, augment.GaussianNoise(0.1))
    history = train.fit(graphdef, state, loss, data, config, keys, progress=False)
    assert np.all(np.isfinite(history.step_metrics["loss"]))
    again = augment.augmented(losses.cross_entropy, augment.GaussianNoise(0.1))
    assert again == loss and hash(again) == hash(loss)  # the same cached program
