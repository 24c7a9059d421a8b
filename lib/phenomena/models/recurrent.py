"""Recurrent sequence models: a vanilla RNN, an LSTM or a GRU cell unrolled by `lax.scan`.

The cells are Flax NNX's (`SimpleCell`, `LSTMCell`, `GRUCell`); this module adds what a
sequence task needs around them: an embedding of token inputs (or a linear map of real-valued
features), the scan over time, and a readout of the last state or of every state. Like every
model of the library it returns `(logits, intermediates)`; `intermediates["hidden"]` holds every
step's hidden state, so probes (gradient norm against distance) need no plumbing.

The scan runs the T steps one after another: its sequential depth is O(T), the fact
`long_range_dependencies` contrasts with attention's O(1).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import nnx

from phenomena.config import check
from phenomena.models.core import create

CELLS = ("rnn", "lstm", "gru")
READOUTS = ("last", "every")


@dataclasses.dataclass(frozen=True)
class RecurrentConfig:
    """A single-layer recurrent net over a sequence of tokens (or of feature vectors)."""

    cell: str = "lstm"  # rnn (tanh SimpleCell), lstm or gru
    hidden: int = 64  # units of the recurrent state
    embed: int = 32  # width of the token embedding (token inputs only)
    readout: str = "last"  # "last": logits from h_T; "every": logits at every step

    def __post_init__(self):
        check(self.cell in CELLS, f"cell must be one of {', '.join(CELLS)}; got {self.cell!r}")
        check(self.hidden > 0 and self.embed > 0,
              f"hidden and embed must be positive, got {self.hidden} and {self.embed}")
        check(self.readout in READOUTS,
              f"readout must be one of {', '.join(READOUTS)}; got {self.readout!r}")


def _cell(kind: str, in_features: int, hidden: int, rngs: nnx.Rngs) -> nnx.Module:
    """The Flax NNX cell of `kind` (orthogonal recurrent kernels, Flax's defaults otherwise)."""
    if kind == "rnn":
        return nnx.SimpleCell(in_features, hidden, activation_fn=jnp.tanh,
                              recurrent_kernel_init=jax.nn.initializers.orthogonal(), rngs=rngs)
    if kind == "lstm":
        return nnx.LSTMCell(in_features, hidden, rngs=rngs)
    return nnx.GRUCell(in_features, hidden, rngs=rngs)


class Recurrent(nnx.Module):
    """A recurrent net returning `(logits, {"hidden": (batch, time, hidden)})`.

    Inputs are integer tokens `(batch, time)` when `vocab > 0` (embedded), else real features
    `(batch, time, features)` with `features = in_features`. Logits are `(batch, out)` for
    `readout="last"`, `(batch, time, out)` for `"every"`.
    """

    def __init__(self, vocab: int, out_features: int, config: RecurrentConfig, *,
                 in_features: int = 0, rngs: nnx.Rngs):
        check(vocab > 0 or in_features > 0, "a recurrent net needs vocab > 0 or in_features > 0")
        self.embed = nnx.Embed(vocab, config.embed, rngs=rngs) if vocab > 0 else None
        width = config.embed if vocab > 0 else in_features
        self.cell = _cell(config.cell, width, config.hidden, rngs)
        self.head = nnx.Linear(config.hidden, out_features, rngs=rngs)
        self.kind, self.hidden_features, self.readout = config.cell, config.hidden, config.readout

    def initial_carry(self, batch: int, dtype=jnp.float32):
        """The zero state of `batch` sequences (an (h, c) pair for the LSTM)."""
        h = jnp.zeros((batch, self.hidden_features), dtype)
        return (h, h) if self.kind == "lstm" else h

    def embed_inputs(self, x: jax.Array) -> jax.Array:
        """The per-step input vectors `(batch, time, width)` of tokens or features `x`."""
        return self.embed(x) if self.embed is not None else x

    def run(self, inputs: jax.Array) -> jax.Array:
        """Every step's hidden state `(batch, time, hidden)` from embedded `inputs`."""

        def step(carry, x_t):
            carry, h = self.cell(carry, x_t)  # read-only use of the parameters: safe in scan
            return carry, h

        _, hidden = jax.lax.scan(step, self.initial_carry(inputs.shape[0], inputs.dtype),
                                 jnp.swapaxes(inputs, 0, 1))
        return jnp.swapaxes(hidden, 0, 1)

    def __call__(self, x: jax.Array, *, train: bool = False, key: jax.Array | None = None):
        del train, key  # no dropout or batch statistics: training and evaluation agree
        hidden = self.run(self.embed_inputs(x))
        readout = hidden[:, -1] if self.readout == "last" else hidden
        return self.head(readout), {"hidden": hidden}


def recurrents(vocab: int, out_features: int, config: RecurrentConfig, keys: jax.Array, *,
               in_features: int = 0):
    """`(graphdef, state)` of one recurrent net per key (state has a leading key axis)."""
    return create(lambda rngs: Recurrent(vocab, out_features, config, in_features=in_features,
                                         rngs=rngs), keys)
