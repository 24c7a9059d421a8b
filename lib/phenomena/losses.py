"""Losses and evaluation metrics, each `loss(model, batch, *, train, key) -> (loss, aux)`.

The arithmetic comes from Optax (`softmax_cross_entropy_with_integer_labels`,
`sigmoid_binary_cross_entropy`); these wrappers only call the model and name what is logged.
`aux` holds scalars that `train.fit` records at every step.
"""

from __future__ import annotations

from typing import Mapping

import jax
import jax.numpy as jnp
import optax


def cross_entropy(model, batch, *, train: bool = False, key=None):
    """Mean softmax cross-entropy of a classifier on `batch = {"x", "y"}`, with accuracy as aux."""
    logits, _ = model(batch["x"], train=train, key=key)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, batch["y"]).mean()
    accuracy = jnp.mean(jnp.argmax(logits, -1).astype(batch["y"].dtype) == batch["y"])
    return loss, {"accuracy": accuracy}


def squared_error(model, batch, *, train: bool = False, key=None):
    """Half the mean squared error of a regressor on `batch = {"x", "y"}` (y of shape (n, out))."""
    prediction, _ = model(batch["x"], train=train, key=key)
    return 0.5 * jnp.mean(jnp.sum((prediction - batch["y"]) ** 2, axis=-1)), {}


def binary_cross_entropy(model, batch, *, train: bool = False, key=None):
    """Mean sigmoid cross-entropy of a one-logit classifier on `batch = {"x", "y"}` (y in {0, 1})."""
    logits, _ = model(batch["x"], train=train, key=key)
    return optax.sigmoid_binary_cross_entropy(logits, batch["y"]).mean(), {}


def cross_entropy_loss(model, batch) -> jax.Array:
    """Mean cross-entropy alone (for probes that differentiate a scalar loss)."""
    return cross_entropy(model, batch)[0]


def classification_metrics(model, splits: Mapping[str, Mapping[str, jax.Array]]) -> dict:
    """Loss and accuracy on each named split (e.g. train and test), in evaluation mode."""
    out = {}
    for split_name, data in splits.items():
        loss, aux = cross_entropy(model, data, train=False)
        out[f"{split_name}/loss"] = loss
        out[f"{split_name}/accuracy"] = aux["accuracy"]
    return out
