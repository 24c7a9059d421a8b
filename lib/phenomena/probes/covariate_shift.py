"""Internal covariate shift, measured as Santurkar et al. (2018) do: on the linear outputs.

A layer's *linear output* `W h + b` is the input of its normalization. With batch norm the
post-normalization pre-activation has batch mean 0 and variance 1 by construction, so a shift
statistic computed there would report "no shift" whatever happens; the distribution BN is said to
stabilize is the one it receives. `linear_output_moments` records, on a fixed probe batch, the
per-unit mean and standard deviation of every hidden layer's linear output; `moment_shift`
turns a sequence of such records into the change from one record to the next, in units that do
not depend on the layer's scale (so a net whose weights grow is not penalized for the growth).

Santurkar et al.'s own tests of the covariate-shift explanation are below: `noisy_cross_entropy`
trains a batch-norm net with shift injected after every normalization (`layer_preacts` draws
it; `preact_moments` measures what the next layers then receive), and `gradient_shift` measures
the shift a layer suffers in its gradient when the layers before it take their step.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from phenomena.models.core import ACTIVATIONS

TINY = 1e-12  # keeps a constant unit (std 0) finite in the log and the division


def linear_output_moments(model, x: jax.Array, *, train: bool = True):
    """Per hidden layer, the mean and std over `x` of each unit's linear output `W h + b`.

    Returns `(means, stds)`, each of shape (layers, width). The forward pass follows
    `models.MLP` (normalization, activation, residual connections; no dropout). With
    `train=True` batch norm normalizes with the probe batch's own statistics, as in a training
    step; its running statistics are updated on `model`, so pass a copy you can discard
    (as `train.fit`'s evaluate hook does).
    """
    means, stds = [], []
    h = x
    for i in range(len(model.hidden)):
        linear = model.hidden[i](h)
        means.append(jnp.mean(linear, axis=0))
        stds.append(jnp.std(linear, axis=0))
        _, a = model.hidden_layer(i, h, train=train)
        h = h + a if model.residual and i > 0 else a
    return jnp.stack(means), jnp.stack(stds)


def moment_shift(means, stds) -> dict[str, np.ndarray]:
    """Change of each unit's linear-output distribution between consecutive records.

    `means` and `stds` have shape (..., records, layers, units). Returns, each of shape
    (..., records - 1, layers), averaged over units:
      - `mean_shift`: |μ_t − μ_{t−1}| / σ_{t−1}, the mean's move in units of the earlier std;
      - `scale_shift`: |ln σ_t − ln σ_{t−1}|, the std's relative change;
      - `shift`: their sum, the statistic compared across nets.
    """
    means = np.asarray(means, np.float64)
    stds = np.asarray(stds, np.float64)
    mean_shift = np.abs(np.diff(means, axis=-3)) / (stds[..., :-1, :, :] + TINY)
    scale_shift = np.abs(np.diff(np.log(stds + TINY), axis=-3))
    mean_shift, scale_shift = mean_shift.mean(axis=-1), scale_shift.mean(axis=-1)
    return {"mean_shift": mean_shift, "scale_shift": scale_shift, "shift": mean_shift + scale_shift}


# ------------------------------------------------------ Santurkar et al. (2018)'s two tests
#
# The moments above cannot decide whether batch norm helps *by* reducing covariate shift.
# Santurkar et al. test it two ways: (§2.1) inject shift after every normalization, a random
# per-unit scale and offset redrawn at every step, and see whether training slows down;
# (§2.2) measure the shift a layer suffers in the quantity that matters to it, its gradient:
# how much G_i changes when the layers before it take their step (their Fig. 3).


def layer_preacts(model, x: jax.Array, *, train: bool = True, noise_key: jax.Array | None = None,
                  noise_mean: float = 0.0, noise_scale: float = 1.0):
    """`(logits, preacts)` of an MLP, with optional shift noise after every normalization.

    `preacts[i]` is what hidden layer i's nonlinearity sees (after normalization, and after the
    noise when `noise_key` is given). The noise is one random affine map per unit, shared by
    the whole batch: `z -> s * z + m` with `m ~ U(-noise_mean, noise_mean)` and
    `ln s ~ U(-ln noise_scale, ln noise_scale)`, drawn from `noise_key` (a new key per step
    makes the distribution every later layer receives change at every step). Follows
    `models.MLP` (residual connections; no dropout, no learned activations).
    """
    preacts = []
    h = x
    for i in range(len(model.hidden)):
        z, a = model.hidden_layer(i, h, train=train)
        if noise_key is not None:
            z = _shift_noise(jax.random.fold_in(noise_key, i), z, noise_mean, noise_scale)
            a = ACTIVATIONS[model.activation](z)
        preacts.append(z)
        h = h + a if model.residual and i > 0 else a
    return model.head(h), preacts


def _shift_noise(key, z, mean: float, scale: float):
    """`s * z + m` per unit (last axis): the same random offset and scale for every example."""
    offset_key, scale_key = jax.random.split(key)
    shape = (1,) * (z.ndim - 1) + z.shape[-1:]  # one value per unit, broadcast over examples
    offset = jax.random.uniform(offset_key, shape, z.dtype, -mean, mean)
    bound = jnp.log(scale)  # scale may be traced (a per-run value)
    log_scale = jax.random.uniform(scale_key, shape, z.dtype, -bound, bound)
    return z * jnp.exp(log_scale) + offset


@functools.lru_cache(maxsize=None)  # one function per noise level: `train.fit` reuses its program
def noisy_cross_entropy(noise_mean: float, noise_scale: float):
    """A `train.fit` loss: cross-entropy of an MLP with shift noise after every normalization
    in training (a new draw per step, from the step's key); the plain network otherwise."""

    def loss(model, batch, *, train: bool = False, key=None):
        if train and key is not None:
            logits, _ = layer_preacts(model, batch["x"], train=True, noise_key=key,
                                      noise_mean=noise_mean, noise_scale=noise_scale)
        else:
            logits, _ = model(batch["x"], train=train)
        per_example = optax.softmax_cross_entropy_with_integer_labels(logits, batch["y"])
        accuracy = jnp.mean(jnp.argmax(logits, -1).astype(batch["y"].dtype) == batch["y"])
        return per_example.mean(), {"accuracy": accuracy}

    return loss


def preact_moments(model, x: jax.Array, **noise):
    """Per hidden layer, the mean and std over `x` of each unit's pre-activation, `(layers, width)`
    each; `noise` as in `layer_preacts` (batch norm in training mode, batch statistics)."""
    _, preacts = layer_preacts(model, x, train=True, **noise)
    preacts = jnp.stack(preacts)
    return preacts.mean(axis=1), preacts.std(axis=1)


def _hidden_layer_of(path) -> int | None:
    """The hidden layer a parameter belongs to (its linear map or its normalization), else None."""
    names = [getattr(k, "key", getattr(k, "name", None)) for k in path]
    for owner in ("hidden", "norms"):
        if owner in names:
            return int(names[names.index(owner) + 1])
    return None


def gradient_shift(model, batch, learning_rate) -> dict[str, jax.Array]:
    """Santurkar et al.'s gradient-based internal covariate shift of each hidden layer i >= 2.

    G_i is the cross-entropy gradient of layer i's weight matrix on `batch` (batch norm with
    batch statistics, as in a training step); G'_i the same gradient after every earlier
    layer (its weights, bias and normalization) took its plain gradient step of size
    `learning_rate` on the same batch, layer i and the later ones unchanged. Returns, each of
    shape (layers - 1,): `relative` ||G_i - G'_i|| / ||G_i||, `absolute` ||G_i - G'_i|| and
    `cosine` cos(G_i, G'_i).
    """
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)

    def loss_of(p):
        logits, _ = nnx.merge(graphdef, p, rest, copy=True)(batch["x"], train=True)
        return optax.softmax_cross_entropy_with_integer_labels(logits, batch["y"]).mean()

    grad_of = jax.grad(loss_of)
    grads = grad_of(params)
    layers = [_hidden_layer_of(path) for path, _ in jax.tree_util.tree_flatten_with_path(params)[0]]
    shifted = jnp.arange(1, len(model.hidden))  # the layers i whose gradient shift is measured
    depth = len(model.hidden)  # a parameter outside the hidden layers (the head) never steps

    def stepped(i):
        """The parameters after every hidden layer before i took its gradient step."""
        return jax.tree.unflatten(treedef, [
            jnp.where((depth if layer is None else layer) < i, w - learning_rate * g, w)
            for w, g, layer in zip(jax.tree.leaves(params), jax.tree.leaves(grads), layers)])

    treedef = jax.tree.structure(params)
    after_all = jax.vmap(lambda i: grad_of(stepped(i)))(shifted)  # one gradient per i, vmapped
    relative, absolute, cosine = [], [], []
    for row, i in enumerate(range(1, depth)):
        before = grads["hidden"][i]["kernel"][...]
        after = after_all["hidden"][i]["kernel"][...][row]
        change = jnp.linalg.norm(after - before)
        norm_before, norm_after = jnp.linalg.norm(before), jnp.linalg.norm(after)
        absolute.append(change)
        relative.append(change / (norm_before + TINY))
        cosine.append(jnp.vdot(before, after) / (norm_before * norm_after + TINY))
    return {"relative": jnp.stack(relative), "absolute": jnp.stack(absolute),
            "cosine": jnp.stack(cosine)}
