"""Transfer learning plumbing: store a trained `State`, graft its layers into a fresh model.

A pretrained network is an `nnx.State` (with or without a leading run axis). `save_state`
writes it to an `.npz` keyed by each leaf's path; `load_state` reads it back into the shape of
a template state. `graft` copies the pretrained leaves selected by a `PathMask` (say the hidden
layers) into a freshly initialized state, so the head stays fresh. Freezing the grafted layers
is the optimizer's job (`OptimizerSpec(freeze=...)`, Optax's `multi_transform`), not this
module's.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from phenomena.optim import PathMask


def _paths_and_leaves(state) -> dict[str, jax.Array]:
    flat, _ = jax.tree_util.tree_flatten_with_path(state)
    return {jax.tree_util.keystr(path): leaf for path, leaf in flat}


def save_state(path: str | os.PathLike, state) -> Path:
    """Write every leaf of `state` to `path` (.npz, keyed by leaf path), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {key: np.asarray(leaf) for key, leaf in _paths_and_leaves(state).items()}
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as f:
        np.savez(f, **arrays)
    os.replace(f.name, path)
    return path


def load_state(path: str | os.PathLike, like):
    """The state stored at `path`, with the structure of `like` (same paths, shapes, dtypes).

    A stored file that does not match the template (a leaf missing, another shape) is an
    error rather than a silent partial load.
    """
    with np.load(path) as stored:
        arrays = {key: stored[key] for key in stored.files}
    flat, treedef = jax.tree_util.tree_flatten_with_path(like)
    leaves = []
    for key_path, leaf in flat:
        key = jax.tree_util.keystr(key_path)
        if key not in arrays:
            raise ValueError(f"{path}: no stored parameter {key}")
        if arrays[key].shape != np.shape(leaf):
            raise ValueError(f"{path}: {key} has shape {arrays[key].shape}, expected {np.shape(leaf)}")
        leaves.append(jnp.asarray(arrays[key], dtype=leaf.dtype))
    return jax.tree_util.tree_unflatten(treedef, leaves)


def graft(pretrained, fresh, keep: PathMask):
    """`fresh` with the leaves selected by `keep` replaced by `pretrained`'s (same structure)."""
    selected = keep(fresh)
    return jax.tree.map(lambda take, old, new: old if take else new, selected, pretrained, fresh)


def with_part(state, name: str, part):
    """A copy of `state` whose top-level entry `name` is `part` (e.g. a head trained apart,
    as a linear probe on precomputed features, set on top of the pretrained features)."""
    out = jax.tree.map(lambda leaf: leaf, state)  # a new container: `state` stays as it was
    out[name] = part
    return out


def per_class_indices(labels: np.ndarray, key: jax.Array, classes: int, n_max: int) -> jax.Array:
    """For each class, `n_max` of its example indices in a random order: shape (classes, n_max).

    Taking the first `n` of each row gives a balanced subset of `n` per class, and the subsets
    are nested as `n` grows (paired across sizes). Pure in `key`, so it vmaps over seeds.
    """
    labels = np.asarray(labels)
    rows = []
    for c, class_key in zip(range(classes), jax.random.split(key, classes)):
        members = np.flatnonzero(labels == c)
        if len(members) < n_max:
            raise ValueError(f"class {c} has {len(members)} examples, fewer than {n_max}")
        rows.append(jax.random.permutation(class_key, jnp.asarray(members))[:n_max])
    return jnp.stack(rows)
