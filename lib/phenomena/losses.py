"""Losses and evaluation metrics, each `loss(model, batch, *, train, key) -> (loss, aux)`.

The arithmetic comes from Optax (`softmax_cross_entropy_with_integer_labels`,
`sigmoid_binary_cross_entropy`, `l2_loss`, `huber_loss`; the absolute error is the one addition);
these wrappers only call the model and name what is logged.
`aux` holds scalars that `train.fit` records at every step.
"""

from __future__ import annotations

import dataclasses
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


def absolute_error(predictions, targets):
    """Elementwise |predictions − targets| (the L1 loss; Optax has `l2_loss` and `huber_loss`
    but no absolute error, so this is the one regression loss the suite adds)."""
    return jnp.abs(predictions - targets)


def _mean_over_examples(elementwise, model, batch, train, key):
    """Mean over examples of the per-example loss summed over outputs (y of shape (n, out))."""
    prediction, _ = model(batch["x"], train=train, key=key)
    return jnp.mean(jnp.sum(elementwise(prediction, batch["y"]), axis=-1))


def l2_error(model, batch, *, train: bool = False, key=None):
    """Mean of Optax's `l2_loss`, ½(prediction − y)², on `batch = {"x", "y"}`: half the MSE."""
    return _mean_over_examples(optax.l2_loss, model, batch, train, key), {}


def mean_absolute_error(model, batch, *, train: bool = False, key=None):
    """Mean absolute error |prediction − y| on `batch = {"x", "y"}` (the L1 loss)."""
    return _mean_over_examples(absolute_error, model, batch, train, key), {}


@dataclasses.dataclass(frozen=True)
class Huber:
    """Mean of Optax's `huber_loss` with threshold `delta`, as a loss `(model, batch) -> (loss, aux)`.

    Quadratic, ½r², for residuals |r| ≤ δ and linear, δ(|r| − ½δ), beyond. A frozen dataclass
    rather than a closure, so two `Huber(1.0)` compare equal and `train.fit` reuses one compiled
    program for them.
    """

    delta: float = 1.0  # where the loss turns from quadratic to linear

    def __call__(self, model, batch, *, train: bool = False, key=None):
        def elementwise(prediction, target):
            return optax.huber_loss(prediction, target, delta=self.delta)

        return _mean_over_examples(elementwise, model, batch, train, key), {}


def binary_cross_entropy(model, batch, *, train: bool = False, key=None):
    """Mean sigmoid cross-entropy of a one-logit classifier on `batch = {"x", "y"}` (y in {0, 1})."""
    logits, _ = model(batch["x"], train=train, key=key)
    return optax.sigmoid_binary_cross_entropy(logits, batch["y"]).mean(), {}


def probability_squared_error(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Per-example squared error of the sigmoid probability against a {0, 1} label, (σ(z) − y)².

    No factor ½ (Optax's `squared_error`, not `l2_loss`): at logit −5 with label 1 its slope
    is 2(σ − 1)σ(1 − σ) ≈ −0.013, against −0.993 for the cross-entropy (saturation).
    """
    return optax.squared_error(jax.nn.sigmoid(logits), labels.astype(logits.dtype))


def _binary_logits(model, batch, train, key) -> jax.Array:
    """The one logit per example of a one-output classifier, shape (n,)."""
    logits, _ = model(batch["x"], train=train, key=key)
    return logits[..., 0]


def _binary_accuracy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    return jnp.mean((logits > 0) == (labels > 0.5))


def sigmoid_cross_entropy(model, batch, *, train: bool = False, key=None):
    """Mean sigmoid cross-entropy of a one-logit classifier on `batch = {"x", "y"}` (y in {0, 1},
    shape (n,)), with accuracy (logit > 0 predicts 1) as aux."""
    logits = _binary_logits(model, batch, train, key)
    labels = batch["y"].astype(logits.dtype)
    loss = optax.sigmoid_binary_cross_entropy(logits, labels).mean()
    return loss, {"accuracy": _binary_accuracy(logits, labels)}


def sigmoid_squared_error(model, batch, *, train: bool = False, key=None):
    """Mean squared error of the sigmoid probability (`probability_squared_error`) of a one-logit
    classifier on `batch = {"x", "y"}` (y in {0, 1}, shape (n,)), with accuracy as aux."""
    logits = _binary_logits(model, batch, train, key)
    loss = probability_squared_error(logits, batch["y"]).mean()
    return loss, {"accuracy": _binary_accuracy(logits, batch["y"])}


def binary_classification_metrics(model, splits: Mapping[str, Mapping[str, jax.Array]]) -> dict:
    """Accuracy, cross-entropy and probability squared error of a one-logit classifier on each
    named split, in evaluation mode."""
    out = {}
    for split_name, data in splits.items():
        logits = _binary_logits(model, data, False, None)
        labels = data["y"].astype(logits.dtype)
        out[f"{split_name}/accuracy"] = _binary_accuracy(logits, labels)
        out[f"{split_name}/cross_entropy"] = optax.sigmoid_binary_cross_entropy(logits, labels).mean()
        out[f"{split_name}/squared_error"] = probability_squared_error(logits, labels).mean()
    return out


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


@dataclasses.dataclass(frozen=True)
class OnFreshBatches:
    """A training loss on a fresh batch drawn from each step's key: `draw(key) -> batch`.

    For tasks generated inside the compiled program (`sequence_tasks`): there is no fixed
    training set to memorize, and `train.fit`'s sampled batch (from a placeholder dataset,
    `fresh_placeholder`) is ignored. Frozen, so equal losses share `fit`'s compiled programs.
    """

    loss: object  # `loss(model, batch, train=..., key=...) -> (loss, aux)`, e.g. cross_entropy
    draw: object  # `draw(key) -> batch`; a hashable callable (a module-level function or partial)

    def __call__(self, model, batch, *, train: bool = False, key=None):
        del batch  # the placeholder's rows
        data_key, model_key = jax.random.split(key)
        return self.loss(model, self.draw(data_key), train=train, key=model_key)


def fresh_placeholder(runs: int) -> dict:
    """The training data `train.fit` needs with `OnFreshBatches` and `data_axis=0`: one
    one-row dataset per run (never read)."""
    return {"x": jnp.zeros((runs, 1), jnp.int32)}
