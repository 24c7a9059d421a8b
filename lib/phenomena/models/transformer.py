"""Transformers on token sequences: encoder-only, decoder-only and encoder-decoder stacks.

Attention runs on `jax.nn.dot_product_attention` (XLA's fused kernel, cuDNN's on a GPU); the
attention weights softmax(QKᵀ/√d + mask) are returned beside it for attention maps (XLA drops
them from a compiled program that does not use them). Blocks are pre-LayerNorm (attention, then
a GELU MLP, each added to its input). Positions are none, sinusoidal (Vaswani et al. 2017),
learned (one vector per position up to `max_len`) or rotary (Su et al. 2021: queries and keys
rotated by their position, so attention sees only offsets).

Every model returns `(logits, intermediates)` with `intermediates["attention"]`, one
`(batch, heads, queries, keys)` array per layer (the decoder's self-attention, then its
cross-attention, for the encoder-decoder), and `intermediates["hidden"]`, the residual stream
after every block.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from phenomena.config import check
from phenomena.models.core import create

POSITIONS = ("none", "sinusoidal", "learned", "rotary")
READOUTS = ("every", "first", "last", "mean")
ROTARY_BASE = 10_000.0  # the wavelength base of sinusoidal and rotary positions (Vaswani et al.)


@dataclasses.dataclass(frozen=True)
class TransformerConfig:
    """A stack of `layers` pre-LayerNorm blocks of width `d_model` with `heads` heads."""

    d_model: int = 64  # width of the residual stream (and of the token embedding)
    heads: int = 4  # attention heads per layer (d_model must divide evenly)
    layers: int = 2  # blocks of the stack (each of the encoder and decoder, for encoder-decoder)
    mlp_ratio: int = 4  # each block's MLP has mlp_ratio * d_model hidden units
    positions: str = "sinusoidal"  # none, sinusoidal, learned or rotary
    causal: bool = False  # a decoder (each token sees itself and earlier ones) or an encoder
    max_len: int = 512  # the longest sequence (learned positions have one vector per position)
    readout: str = "every"  # logits at every position, or of the first / last / mean position

    def __post_init__(self):
        check(self.d_model > 0 and self.heads > 0 and self.d_model % self.heads == 0,
              f"d_model must be a positive multiple of heads, got {self.d_model} and {self.heads}")
        check(self.positions != "rotary" or (self.d_model // self.heads) % 2 == 0,
              "rotary positions need an even head width (d_model / heads)")
        check(self.layers >= 1 and self.mlp_ratio >= 1 and self.max_len >= 1,
              "layers, mlp_ratio and max_len must be positive")
        check(self.positions in POSITIONS,
              f"positions must be one of {', '.join(POSITIONS)}; got {self.positions!r}")
        check(self.readout in READOUTS,
              f"readout must be one of {', '.join(READOUTS)}; got {self.readout!r}")


# ------------------------------------------------------------------------------ positions

def sinusoidal_positions(length: int, width: int) -> jax.Array:
    """Vaswani et al.'s encoding `(length, width)`: sin and cos of position / base^(2i/width)."""
    position = np.arange(length)[:, None]
    frequency = ROTARY_BASE ** (-np.arange(0, width, 2) / width)
    table = np.zeros((length, width), np.float32)
    table[:, 0::2] = np.sin(position * frequency)
    table[:, 1::2] = np.cos(position * frequency)[:, : width // 2]
    return jnp.asarray(table)


def rotate(x: jax.Array, positions: jax.Array) -> jax.Array:
    """Rotary position embedding of queries or keys `x` (batch, time, heads, width) at integer
    `positions` (time,): each pair of features (2i, 2i+1) is rotated by position / base^(2i/width),
    so the dot product of a rotated query and key depends on their offset only."""
    width = x.shape[-1]
    frequency = ROTARY_BASE ** (-jnp.arange(0, width, 2) / width)
    angle = positions[None, :, None, None] * frequency[None, None, None, :]  # (1, time, 1, w/2)
    cos, sin = jnp.cos(angle), jnp.sin(angle)
    even, odd = x[..., 0::2], x[..., 1::2]
    rotated = jnp.stack([even * cos - odd * sin, even * sin + odd * cos], axis=-1)
    return rotated.reshape(x.shape)


# ---------------------------------------------------------------------------------- masks

def causal_mask(length: int) -> jax.Array:
    """`(1, 1, length, length)` True where query i may attend to key j (j <= i)."""
    return jnp.tril(jnp.ones((length, length), bool))[None, None]


def padding_mask(lengths: jax.Array, length: int) -> jax.Array:
    """`(batch, 1, 1, length)` True at the real (unpadded) keys of sequences of `lengths`."""
    return (jnp.arange(length)[None, :] < lengths[:, None])[:, None, None, :]


def combine_masks(*masks) -> jax.Array | None:
    """The conjunction of the given masks (None entries ignored); None if there are none."""
    present = [m for m in masks if m is not None]
    if not present:
        return None
    out = present[0]
    for m in present[1:]:
        out = out & m
    return out


# ------------------------------------------------------------------------------ attention

def attention_weights(q: jax.Array, k: jax.Array, mask: jax.Array | None) -> jax.Array:
    """softmax(q kᵀ / √d) over the keys, masked: `(batch, heads, queries, keys)` from q
    (batch, queries, heads, d) and k (batch, keys, heads, d)."""
    logits = jnp.einsum("bqhd,bkhd->bhqk", q, k) / jnp.sqrt(q.shape[-1]).astype(q.dtype)
    if mask is not None:
        logits = jnp.where(mask, logits, jnp.finfo(logits.dtype).min)
    return jax.nn.softmax(logits, axis=-1)


class Attention(nnx.Module):
    """Multi-head attention of queries from `x` over keys and values from `context` (x itself
    for self-attention). Returns `(output (batch, queries, d_model), weights)`."""

    def __init__(self, d_model: int, heads: int, *, rotary: bool = False, rngs: nnx.Rngs):
        self.query = nnx.Linear(d_model, d_model, rngs=rngs)
        self.key = nnx.Linear(d_model, d_model, rngs=rngs)
        self.value = nnx.Linear(d_model, d_model, rngs=rngs)
        self.out = nnx.Linear(d_model, d_model, rngs=rngs)
        self.heads, self.rotary = heads, rotary

    def _split(self, x: jax.Array) -> jax.Array:
        return x.reshape(*x.shape[:-1], self.heads, x.shape[-1] // self.heads)

    def __call__(self, x: jax.Array, context: jax.Array | None = None,
                 mask: jax.Array | None = None):
        context = x if context is None else context
        q, k, v = (self._split(self.query(x)), self._split(self.key(context)),
                   self._split(self.value(context)))
        if self.rotary:
            q = rotate(q, jnp.arange(q.shape[1]))
            k = rotate(k, jnp.arange(k.shape[1]))
        out = jax.nn.dot_product_attention(q, k, v, mask=mask)
        return self.out(out.reshape(*out.shape[:-2], -1)), attention_weights(q, k, mask)


class Block(nnx.Module):
    """A pre-LayerNorm block: self-attention, optional cross-attention over an encoder's
    output, and a GELU MLP, each added to the residual stream."""

    def __init__(self, config: TransformerConfig, *, cross: bool = False, rngs: nnx.Rngs):
        d, rotary = config.d_model, config.positions == "rotary"
        self.norm_self = nnx.LayerNorm(d, rngs=rngs)
        self.attend = Attention(d, config.heads, rotary=rotary, rngs=rngs)
        if cross:  # cross-attention compares positions of two sequences: no rotation there
            self.norm_cross = nnx.LayerNorm(d, rngs=rngs)
            self.cross = Attention(d, config.heads, rngs=rngs)
        else:
            self.norm_cross = self.cross = None
        self.norm_mlp = nnx.LayerNorm(d, rngs=rngs)
        self.mlp_in = nnx.Linear(d, config.mlp_ratio * d, rngs=rngs)
        self.mlp_out = nnx.Linear(config.mlp_ratio * d, d, rngs=rngs)

    def __call__(self, x, mask=None, memory=None, memory_mask=None):
        attended, weights = self.attend(self.norm_self(x), mask=mask)
        x = x + attended
        maps = [weights]
        if self.cross is not None:
            attended, weights = self.cross(self.norm_cross(x), memory, mask=memory_mask)
            x = x + attended
            maps.append(weights)
        x = x + self.mlp_out(jax.nn.gelu(self.mlp_in(self.norm_mlp(x))))
        return x, maps


class _Embedding(nnx.Module):
    """Token embedding plus the configured absolute positions (none and rotary add none)."""

    def __init__(self, vocab: int, config: TransformerConfig, *, rngs: nnx.Rngs):
        self.tokens = nnx.Embed(vocab, config.d_model, rngs=rngs)
        self.kind = config.positions
        self.learned = (nnx.Embed(config.max_len, config.d_model, rngs=rngs)
                        if config.positions == "learned" else None)
        self.d_model = config.d_model

    def __call__(self, tokens: jax.Array) -> jax.Array:
        x = self.tokens(tokens)
        length = tokens.shape[1]
        if self.kind == "sinusoidal":
            x = x + sinusoidal_positions(length, self.d_model)[None]
        elif self.kind == "learned":
            x = x + self.learned(jnp.arange(length))[None]
        return x


def _stack(config: TransformerConfig, cross: bool, rngs: nnx.Rngs) -> nnx.List:
    return nnx.List([Block(config, cross=cross, rngs=rngs) for _ in range(config.layers)])


def _read(x: jax.Array, readout: str) -> jax.Array:
    """The positions the head reads: every one, the first, the last, or their mean."""
    if readout == "first":
        return x[:, 0]
    if readout == "last":
        return x[:, -1]
    if readout == "mean":
        return x.mean(axis=1)
    return x


class Transformer(nnx.Module):
    """An encoder (bidirectional) or decoder (`causal`) stack over tokens `(batch, time)`.

    Returns `(logits, {"attention": per-layer weights, "hidden": per-block streams})`; logits
    are `(batch, time, out)` with `readout="every"`, else `(batch, out)`. `lengths` (batch,)
    masks padded keys past each sequence's length.
    """

    def __init__(self, vocab: int, out_features: int, config: TransformerConfig, *,
                 rngs: nnx.Rngs):
        self.embed = _Embedding(vocab, config, rngs=rngs)
        self.blocks = _stack(config, False, rngs)
        self.norm = nnx.LayerNorm(config.d_model, rngs=rngs)
        self.head = nnx.Linear(config.d_model, out_features, rngs=rngs)
        self.causal, self.readout = config.causal, config.readout

    def encode(self, tokens: jax.Array, lengths: jax.Array | None = None):
        """The final, normalized stream `(batch, time, d_model)` and the intermediates."""
        length = tokens.shape[1]
        mask = combine_masks(causal_mask(length) if self.causal else None,
                             padding_mask(lengths, length) if lengths is not None else None)
        x = self.embed(tokens)
        maps, hidden = [], []
        for block in self.blocks:
            x, weights = block(x, mask=mask)
            maps.extend(weights)
            hidden.append(x)
        return self.norm(x), {"attention": tuple(maps), "hidden": tuple(hidden)}

    def __call__(self, tokens: jax.Array, *, lengths: jax.Array | None = None,
                 train: bool = False, key: jax.Array | None = None):
        del train, key  # no dropout: training and evaluation agree
        x, intermediates = self.encode(tokens, lengths)
        return self.head(_read(x, self.readout)), intermediates


class EncoderDecoder(nnx.Module):
    """A bidirectional encoder over source tokens and a causal decoder over target tokens that
    cross-attends to the encoder's output. `__call__(source, target_in)` gives next-token logits
    `(batch, target_time, vocab)`; source and target lengths are independent."""

    def __init__(self, vocab: int, config: TransformerConfig, *, rngs: nnx.Rngs):
        encoder = dataclasses.replace(config, causal=False)
        decoder = dataclasses.replace(config, causal=True)
        self.source_embed = _Embedding(vocab, encoder, rngs=rngs)
        self.target_embed = _Embedding(vocab, decoder, rngs=rngs)
        self.encoder = _stack(encoder, False, rngs)
        self.decoder = _stack(decoder, True, rngs)
        self.encoder_norm = nnx.LayerNorm(config.d_model, rngs=rngs)
        self.decoder_norm = nnx.LayerNorm(config.d_model, rngs=rngs)
        self.head = nnx.Linear(config.d_model, vocab, rngs=rngs)

    def __call__(self, source: jax.Array, target_in: jax.Array, *, train: bool = False,
                 key: jax.Array | None = None):
        del train, key
        memory = self.source_embed(source)
        maps = []
        for block in self.encoder:
            memory, weights = block(memory)
            maps.extend(weights)
        memory = self.encoder_norm(memory)
        x, mask = self.target_embed(target_in), causal_mask(target_in.shape[1])
        for block in self.decoder:
            x, weights = block(x, mask=mask, memory=memory)
            maps.extend(weights)
        return self.head(self.decoder_norm(x)), {"attention": tuple(maps)}


def transformers(vocab: int, out_features: int, config: TransformerConfig, keys: jax.Array):
    """`(graphdef, state)` of one transformer per key (state has a leading key axis)."""
    return create(lambda rngs: Transformer(vocab, out_features, config, rngs=rngs), keys)


def encoder_decoders(vocab: int, config: TransformerConfig, keys: jax.Array):
    """`(graphdef, state)` of one encoder-decoder per key (state has a leading key axis)."""
    return create(lambda rngs: EncoderDecoder(vocab, config, rngs=rngs), keys)


# ----------------------------------------------------------------------------- generation

def greedy_decode(next_logits, prompt: jax.Array, steps: int) -> jax.Array:
    """Extend `prompt` (batch, p) by `steps` greedy tokens: `(batch, p + steps)`.

    `next_logits(tokens) -> (batch, time, vocab)` is a causal model's forward pass. The buffer
    has a fixed length (the prompt, then placeholders) so the loop compiles once; a causal
    model's logits at position t never see the placeholders after t.
    """
    batch, p = prompt.shape
    buffer = jnp.concatenate([prompt, jnp.zeros((batch, steps), prompt.dtype)], axis=1)

    def extend(t, tokens):
        logits = next_logits(tokens)
        token = jnp.argmax(jax.lax.dynamic_index_in_dim(logits, t - 1, axis=1, keepdims=False),
                           axis=-1)
        return jax.lax.dynamic_update_index_in_dim(tokens, token.astype(tokens.dtype), t, axis=1)

    return jax.lax.fori_loop(p, p + steps, extend, buffer)
