"""Datasets, all made offline: MNIST-1D (generated, cached as .npz) and synthetic tasks.

Nothing here downloads. MNIST-1D is generated with `mnist1d.data.make_dataset` (about a second)
and cached under `$PHENOMENA_CACHE` (default `~/.cache/phenomena`).
"""

from __future__ import annotations

import functools
import os
import tempfile

import jax
import jax.numpy as jnp
import numpy as np

from phenomena.paths import cache_dir

MNIST1D_CLASSES = 10
MNIST1D_LENGTH = 40  # samples per signal: the input width of an MLP on MNIST-1D
MNIST1D_TRAIN_SIZE = 4000  # training examples of the standard MNIST-1D (1000 more for test)


def mnist1d(seed: int = 42) -> dict[str, np.ndarray]:
    """MNIST-1D (Greydanus 2020): 4000 train and 1000 test signals of length 40, 10 classes.

    Returns float32 `x`, `x_test` of shape (n, 40) and int32 `y`, `y_test`. The default seed
    is the package's own, so this is the standard dataset; other seeds give fresh draws.
    """
    path = cache_dir() / f"mnist1d_seed{seed}.npz"
    if not path.exists():
        from mnist1d.data import get_dataset_args, make_dataset

        args = get_dataset_args()
        args.seed = seed
        raw = make_dataset(args)  # generates offline; `get_dataset` would download
        arrays = {
            "x": raw["x"].astype(np.float32), "y": raw["y"].astype(np.int32),
            "x_test": raw["x_test"].astype(np.float32), "y_test": raw["y_test"].astype(np.int32),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a concurrent or interrupted run never reads half a file.
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as f:
            np.savez(f, **arrays)
        os.replace(f.name, path)
    with np.load(path) as stored:
        return {k: stored[k] for k in stored.files}


def mnist1d_splits(seed: int = 42, train_size: int = 0) -> dict[str, dict[str, jnp.ndarray]]:
    """MNIST-1D as `{"train": {"x", "y"}, "test": {"x", "y"}}` device arrays.

    `train_size > 0` keeps the first that many training examples (a fixed subset).
    """
    raw = mnist1d(seed)
    n = train_size or len(raw["y"])
    return {
        "train": {"x": jnp.asarray(raw["x"][:n]), "y": jnp.asarray(raw["y"][:n])},
        "test": {"x": jnp.asarray(raw["x_test"]), "y": jnp.asarray(raw["y_test"])},
    }


def sparse_linear_regression(key: jax.Array, n: int, p: int, k: int, noise: float):
    """y = X w* + ε with `k` of `p` inputs informative; pure in `key`, so it vmaps over seeds.

    X ~ N(0, 1); the informative weights have random signs and magnitudes in [1, 2], so every
    one of them stands clear of the noise; ε ~ N(0, noise²). Returns `{"x", "y", "w_true"}`.
    """
    kx, kw, ks, kperm, ke = jax.random.split(key, 5)
    x = jax.random.normal(kx, (n, p))
    magnitude = jax.random.uniform(kw, (k,), minval=1.0, maxval=2.0)
    sign = jnp.where(jax.random.bernoulli(ks, 0.5, (k,)), 1.0, -1.0)
    support = jax.random.permutation(kperm, p)[:k]
    w_true = jnp.zeros(p).at[support].set(sign * magnitude)
    y = x @ w_true + noise * jax.random.normal(ke, (n,))
    return {"x": x, "y": y[:, None], "w_true": w_true}


def uniform_grid(n: int, low: float = -1.0, high: float = 1.0) -> jnp.ndarray:
    """`n` evenly spaced 1-D inputs in [low, high], shape (n, 1)."""
    return jnp.linspace(low, high, n)[:, None]


def split_validation(data: dict, key: jax.Array, n_val: int) -> tuple[dict, dict]:
    """Carve `n_val` random examples out of `data` as a validation split: `(train, val)`.

    The two parts are disjoint and together hold every example; pure in `key`, so it vmaps
    over seeds (each seed its own split) as well as running once for a shared split.
    """
    n = jax.tree.leaves(data)[0].shape[0]
    if not 0 < n_val < n:
        raise ValueError(f"n_val must be in (0, {n}), got {n_val}")
    order = jax.random.permutation(key, n)
    return (jax.tree.map(lambda a: a[order[n_val:]], data),
            jax.tree.map(lambda a: a[order[:n_val]], data))


def flip_labels(data: dict, key: jax.Array, share: float, classes: int) -> dict:
    """`data` with a random `share` of its labels flipped to another class (pure in `key`).

    Each example is picked with probability `share`; a picked label becomes one of the other
    `classes - 1` classes uniformly, so every flipped label is wrong (symmetric label noise, as
    in Arpit et al. 2017). `vmap` over keys gives each run its own draw.
    """
    pick, shift = jax.random.split(key)
    flipped = jax.random.bernoulli(pick, share, data["y"].shape)
    other = (data["y"] + jax.random.randint(shift, data["y"].shape, 1, classes)) % classes
    return {**data, "y": jnp.where(flipped, other, data["y"]).astype(data["y"].dtype)}


def random_subset(data: dict, key: jax.Array, n: int) -> dict:
    """`n` examples of `data` drawn without replacement (pure in `key`; vmaps over seeds)."""
    total = jax.tree.leaves(data)[0].shape[0]
    if not 0 < n <= total:
        raise ValueError(f"subset size must be in (0, {total}], got {n}")
    index = jax.random.permutation(key, total)[:n]
    return jax.tree.map(lambda a: a[index], data)


def select_classes(data: dict, classes) -> dict:
    """The examples whose label is in `classes`, relabelled 0..k-1 in the order given.

    Runs eagerly (the result's size depends on the labels), e.g. MNIST-1D digits 5-9 as a
    five-class task for transfer learning.
    """
    classes = np.asarray(classes)
    labels = np.asarray(data["y"])
    keep = np.isin(labels, classes)
    relabel = np.full(max(int(labels.max()), int(classes.max())) + 1, -1, np.int32)
    relabel[classes] = np.arange(len(classes), dtype=np.int32)
    out = {k: jnp.asarray(np.asarray(v)[keep]) for k, v in data.items() if k != "y"}
    out["y"] = jnp.asarray(relabel[labels[keep]])
    return out


def repeat_to(data: dict, size: int) -> dict:
    """`data` repeated to `size` examples, where its own size divides `size`.

    Sampling a batch uniformly with replacement from the repeated set is the same as sampling
    from `data`, so training sets of different sizes get one common shape and one compiled
    program can train all of them (a training-set-size sweep under `vmap`).
    """
    n = jax.tree.leaves(data)[0].shape[0]
    if size % n:
        raise ValueError(f"a set of {n} examples cannot be repeated to {size}: {n} must divide it")
    return jax.tree.map(lambda a: jnp.concatenate([a] * (size // n)), data)


def same_for_every_run(data: dict, runs: int) -> dict:
    """One shared dataset given to each of `runs` runs (for `fit(..., data_axis=0)`)."""
    return jax.tree.map(lambda a: jnp.broadcast_to(a, (runs, *a.shape)), data)


@functools.partial(jax.jit, static_argnames=("sizes", "length"))  # one program, not one per operation
def nested_subsets(data: dict, keys: jax.Array, sizes: tuple[int, ...], length: int) -> dict:
    """For every size and key, a random subset of `data` tiled to `length` rows: one training
    set per run, runs size-major (run i has size `sizes[i // len(keys)]`, key `i % len(keys)`).

    A key's subsets are prefixes of one permutation, so they are nested (the 250 hold the 125)
    and sizes are compared paired. Each size must divide `length`; batches sampled uniformly from
    the tiled rows are uniform over the subset (`repeat_to`), so every size trains in one
    program. The result has a leading run axis, for `fit(..., data_axis=0)`.
    """
    parts = [jax.vmap(lambda key, n=n: repeat_to(random_subset(data, key, n), length))(keys)
             for n in sizes]
    return jax.tree.map(lambda *xs: jnp.concatenate(xs), *parts)


DIGITS_CLASSES = 10
DIGITS_SIZE = 1797  # examples in scikit-learn's 8x8 digits
DIGITS_PIXELS = 64  # 8 x 8 grey levels, the input width of an MLP on the digits
# `split_validation` as one compiled program (eagerly, every gather and slice is its own).
_split_once = jax.jit(split_validation, static_argnums=2)


def digits_splits(test_size: int, split_seed: int = 0) -> dict[str, dict[str, jnp.ndarray]]:
    """scikit-learn's 8x8 digits (bundled, no download) as `{"train", "test"}` device arrays.

    Pixels are scaled from 0..16 to [0, 1]; `test_size` random examples (one permutation drawn
    from `split_seed`) are the test set, the rest the training set.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    everything = {"x": (digits.data / 16.0).astype(np.float32), "y": digits.target.astype(np.int32)}
    train_set, test_set = _split_once(everything, jax.random.key(split_seed), test_size)
    return {"train": train_set, "test": test_set}


def append_noise_inputs(splits: dict, key: jax.Array, count: int) -> dict:
    """Every split of `splits` with `count` pure-noise N(0, 1) inputs appended to its `x`.

    Each split draws its noise from its own key (`jax.random.split(key, len(splits))`, in the
    order of `splits`); the labels are unchanged. MNIST-1D's signals have unit scale, so on
    MNIST-1D the noise inputs look like the signal's: only their relation to the labels differs.
    """
    keys = jax.random.split(key, len(splits))
    return {name: {**split, "x": _with_noise_inputs(split["x"], k, count)}
            for (name, split), k in zip(splits.items(), keys)}


@functools.partial(jax.jit, static_argnums=2)  # one program, not one per operation
def _with_noise_inputs(x: jax.Array, key: jax.Array, count: int) -> jax.Array:
    noise = jax.random.normal(key, (x.shape[0], count), x.dtype)
    return jnp.concatenate([x, noise], axis=1)


@functools.partial(jax.jit, static_argnames=("pool", "n_val"))  # one program, not one per operation
def pools_with_validation(data: dict, pool_keys: jax.Array, split_keys: jax.Array, pool: int,
                          n_val: int) -> tuple[dict, dict]:
    """Per key pair: a random `pool`-example subset of `data`, carved into training and
    validation splits of `pool - n_val` and `n_val` examples (`random_subset`, then
    `split_validation`). Returns `(train, val)` with a leading key axis, for `data_axis=0`."""
    def one(pool_key, split_key):
        return split_validation(random_subset(data, pool_key, pool), split_key, n_val)

    return jax.vmap(one)(pool_keys, split_keys)


def balanced_nested_subsets(data: dict, keys: jax.Array, classes: int, per_class) -> dict:
    """For every size `n` of `per_class` and every key, `n` random examples of each of the
    `classes` labels, tiled to `classes * max(per_class)` rows: one balanced training set per
    run, runs size-major (run i has `per_class[i // len(keys)]` per class, key `i % len(keys)`).

    A key's subsets are nested (the first `n` of one random order per class,
    `transfer.per_class_indices`), so sizes are compared paired; each size must divide the
    largest, so that uniform batches from the tiled rows stay uniform over the subset.
    """
    from phenomena.transfer import per_class_indices  # transfer sits above data

    largest = max(per_class)
    if any(largest % n for n in per_class):
        raise ValueError(f"every per-class size must divide the largest, got {tuple(per_class)}")
    labels = np.asarray(data["y"])  # concrete: each class's members are found with numpy

    @jax.jit  # one program, not one per operation (index arithmetic: the same examples)
    def subsets(keys, data):
        order = jax.vmap(lambda key: per_class_indices(labels, key, classes, largest))(keys)
        index = jnp.concatenate([jnp.tile(order[:, :, :n].reshape(len(keys), -1), (1, largest // n))
                                 for n in per_class])  # (size * key, classes * largest)
        return jax.tree.map(lambda a: a[index], data)

    return subsets(keys, data)


@functools.partial(jax.jit, static_argnames="n")  # one program, not one per operation
def random_subsets(data: dict, keys: jax.Array, n: int) -> dict:
    """One random `n`-example subset of `data` per key (`random_subset` under `vmap`): a
    training set per run with a leading run axis, for `fit(..., data_axis=0)`."""
    return jax.vmap(lambda key: random_subset(data, key, n))(keys)


def shuffle_positions(splits: dict, key: jax.Array) -> dict:
    """Every split of `splits` with the positions of its signals `x` (last axis) reordered by
    one permutation drawn from `key`, the same for every split; labels unchanged.

    The spatially shuffled MNIST-1D of Greydanus 2020: a fixed scrambling of the 40 sample
    positions destroys the neighbourhoods a convolution relies on, while a fully connected
    layer, which has no notion of which inputs are neighbours, loses nothing.
    """
    lengths = {split["x"].shape[-1] for split in splits.values()}
    if len(lengths) != 1:
        raise ValueError(f"every split's signals must have one length, got {sorted(lengths)}")
    order = jax.random.permutation(key, lengths.pop())
    return {name: {**split, "x": jnp.asarray(split["x"])[..., order]}
            for name, split in splits.items()}
