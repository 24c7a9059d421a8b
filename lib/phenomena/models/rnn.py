"""A vanilla (Elman) recurrent network in Flax NNX behind the same pure boundary as `models.MLP`.

`h_t = act(U x_t + W h_{t-1} + b)` over a sequence, then a linear readout of the last hidden
state. The cell is Flax's `nnx.SimpleCell`; time is a `jax.lax.scan`, so the model vmaps over
seeds and differentiates like the MLP. The recurrent kernel starts orthogonal times
`recurrent_gain`, so every eigenvalue of `W` has modulus exactly `recurrent_gain`: its spectral
radius is a knob (Pascanu et al. 2013: radius > 1 is necessary for exploding gradients in a
linear RNN, < 1 sufficient for vanishing).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import nnx

from phenomena.models import core
from phenomena.config import check
from phenomena.probes.units import safe_norm


@dataclasses.dataclass(frozen=True)
class RNNConfig:
    """A single-layer vanilla RNN with `hidden` units and a linear readout of the last state."""

    hidden: int = 32  # hidden units of the recurrent cell
    activation: str = "tanh"  # the cell's nonlinearity (identity gives a linear RNN)
    recurrent_gain: float = 1.0  # spectral radius of the (scaled orthogonal) recurrent kernel

    def __post_init__(self):
        check(self.hidden > 0, f"rnn.hidden must be positive, got {self.hidden}")
        check(self.activation in core.ACTIVATIONS,
              f"rnn.activation must be one of {', '.join(core.ACTIVATIONS)}; got {self.activation!r}")
        check(self.recurrent_gain > 0, f"rnn.recurrent_gain must be positive, got {self.recurrent_gain}")


class RNN(nnx.Module):
    """Vanilla RNN returning `(readout of h_T, {"hidden": (h_1, ..., h_T)})`.

    Inputs are `(batch, time, features)`; `hidden` is `(batch, time, hidden)`. The initial
    state is zero unless `initial_hidden` (batch, hidden) is given, so a probe can
    differentiate with respect to it.
    """

    def __init__(self, in_features: int, out_features: int, config: RNNConfig, *, rngs: nnx.Rngs):
        self.cell = nnx.SimpleCell(
            in_features, config.hidden, activation_fn=core.ACTIVATIONS[config.activation],
            kernel_init=jax.nn.initializers.lecun_normal(),
            recurrent_kernel_init=jax.nn.initializers.orthogonal(scale=config.recurrent_gain),
            rngs=rngs)
        self.head = nnx.Linear(config.hidden, out_features, rngs=rngs)
        self.hidden_features = config.hidden

    def __call__(self, x: jax.Array, *, train: bool = False, key: jax.Array | None = None,
                 initial_hidden: jax.Array | None = None):
        del train, key  # no dropout or batch statistics: training and evaluation agree
        if initial_hidden is None:
            initial_hidden = jnp.zeros((x.shape[0], self.hidden_features), x.dtype)

        def step(h, x_t):
            h, _ = self.cell(h, x_t)  # read-only use of the parameters: safe inside scan
            return h, h

        last, hidden = jax.lax.scan(step, initial_hidden, jnp.swapaxes(x, 0, 1))
        return self.head(last), {"hidden": jnp.swapaxes(hidden, 0, 1)}


def rnns(in_features: int, out_features: int, config: RNNConfig, keys: jax.Array):
    """`(graphdef, state)` of one RNN per key (state has a leading key axis), as `models.mlps`."""
    return core.create(lambda rngs: RNN(in_features, out_features, config, rngs=rngs), keys)


def recurrent_spectral_radius(model: RNN) -> jax.Array:
    """Largest eigenvalue modulus of the recurrent kernel `W` (h_t depends on W h_{t-1})."""
    return jnp.max(jnp.abs(jnp.linalg.eigvals(model.cell.dense_h.kernel[...])))


def input_grad_norms(model: nnx.Module, loss_fn, batch) -> jax.Array:
    """‖∂L/∂x_t‖ for every time step t of `batch["x"]` (batch, time, features): shape (time,).

    `loss_fn(model, batch) -> scalar`. The gradient at an early step has travelled back
    through T - t applications of the recurrence, so this profile shows exploding (or
    vanishing) gradients over time. Norms are scale-safe (exploding values overflow squares).
    """

    def loss_of(x):
        return loss_fn(model, {**batch, "x": x})

    grad = jax.grad(loss_of)(batch["x"])
    return jax.vmap(safe_norm, in_axes=1)(grad)


def last_step_squared_error(model: nnx.Module, batch) -> jax.Array:
    """Half the mean squared error of the readout of h_T against `batch["y"]` (batch, out)."""
    prediction, _ = model(batch["x"])
    return 0.5 * jnp.mean(jnp.sum((prediction - batch["y"]) ** 2, axis=-1))
