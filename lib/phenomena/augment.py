"""Data augmentation for 1-D signals as pure, keyed transforms applied per batch inside the loss.

A transform is a frozen dataclass called as `transform(key, x) -> x'` on a batch `x` of shape
`(batch, length)`; every example draws its own random parameters from `key`. Being pure and
hashable, transforms compose (`Compose`), run under `jit`/`vmap`, and `augmented(loss_fn,
transform)` wraps a loss for `train.fit` so augmented training stays one compiled program
whose cached programs are reused (the wrapper compares and hashes by value). Augmentation
acts only in training (`train=True`); evaluation sees the data unchanged.

The transforms mirror how MNIST-1D is generated (Greydanus 2020: random circular translation,
amplitude scaling by 1 ± 0.2, added noise), so they preserve the label.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp

SHIFT_MODES = ("circular", "zeros")


def shift_signals(x: jax.Array, shifts: jax.Array, mode: str = "circular") -> jax.Array:
    """Move each row of `x` right by its entry of `shifts` samples (left when negative).

    `out[i, t] = x[i, t - shifts[i]]`; positions that come from outside the signal wrap around
    (`"circular"`) or are zero (`"zeros"`: a padded shift).
    """
    if mode not in SHIFT_MODES:
        raise ValueError(f"shift mode must be one of {SHIFT_MODES}, got {mode!r}")
    length = x.shape[-1]
    source = jnp.arange(length)[None, :] - shifts[:, None]  # (batch, length) indices into x
    moved = jnp.take_along_axis(x, source % length, axis=-1)
    if mode == "circular":
        return moved
    inside = (source >= 0) & (source < length)
    return jnp.where(inside, moved, jnp.zeros((), x.dtype))


@dataclasses.dataclass(frozen=True)
class Shift:
    """Shift every signal by a uniform random integer in [-max_shift, max_shift] samples."""

    max_shift: int
    mode: str = "circular"

    def __post_init__(self):
        if self.max_shift < 0:
            raise ValueError(f"max_shift must be >= 0, got {self.max_shift}")
        if self.mode not in SHIFT_MODES:
            raise ValueError(f"shift mode must be one of {SHIFT_MODES}, got {self.mode!r}")

    def __call__(self, key: jax.Array, x: jax.Array) -> jax.Array:
        shifts = jax.random.randint(key, x.shape[:1], -self.max_shift, self.max_shift + 1)
        return shift_signals(x, shifts, self.mode)


@dataclasses.dataclass(frozen=True)
class GaussianNoise:
    """Add independent N(0, std²) noise to every sample."""

    std: float

    def __post_init__(self):
        if self.std < 0:
            raise ValueError(f"noise std must be >= 0, got {self.std}")

    def __call__(self, key: jax.Array, x: jax.Array) -> jax.Array:
        return x + self.std * jax.random.normal(key, x.shape, x.dtype)


@dataclasses.dataclass(frozen=True)
class Scale:
    """Multiply every signal by its own factor drawn uniformly from [low, high]."""

    low: float
    high: float

    def __post_init__(self):
        if not 0 < self.low <= self.high:
            raise ValueError(f"scale range needs 0 < low <= high, got [{self.low}, {self.high}]")

    def __call__(self, key: jax.Array, x: jax.Array) -> jax.Array:
        shape = x.shape[:1] + (1,) * (x.ndim - 1)
        return x * jax.random.uniform(key, shape, x.dtype, self.low, self.high)


@dataclasses.dataclass(frozen=True)
class Compose:
    """Apply `transforms` in order, each with its own key split from the call's key."""

    transforms: tuple

    def __call__(self, key: jax.Array, x: jax.Array) -> jax.Array:
        for transform, k in zip(self.transforms, jax.random.split(key, len(self.transforms))):
            x = transform(k, x)
        return x


def compose(*transforms) -> Compose:
    """The transforms applied one after another (a hashable `Compose`)."""
    return Compose(tuple(transforms))


@dataclasses.dataclass(frozen=True)
class Augmented:
    """`loss_fn` evaluated on a transformed batch in training, on the batch itself otherwise.

    The step key is split: one part draws the augmentation, the other goes on to the model
    (dropout), so the two never share random numbers.
    """

    loss_fn: Callable
    transform: Callable

    def __call__(self, model, batch, *, train: bool = False, key=None):
        if not train:
            return self.loss_fn(model, batch, train=False, key=key)
        if key is None:
            raise ValueError("augmented training needs a key (train=True)")
        augment_key, model_key = jax.random.split(key)
        batch = {**batch, "x": self.transform(augment_key, batch["x"])}
        return self.loss_fn(model, batch, train=True, key=model_key)


def augmented(loss_fn: Callable, transform: Callable) -> Augmented:
    """A loss for `train.fit` that trains on `transform`ed batches (keyed by the step key)."""
    return Augmented(loss_fn, transform)
