"""Synthetic sequence tasks, drawn by key inside a compiled program (no files, no downloads).

Every task is a pure function `task(key, n, ...) -> dict of arrays` with static shapes, so it
can be jitted, vmapped over seeds, and called inside a training step to draw fresh examples.
Tokens are int32; each task documents its vocabulary. Tasks with a single answer return
`{"x": (n, time), "y": (n,)}`; sequence-to-sequence tasks return `source`, `target_in` (the
decoder's input: BOS then the target shifted right), `target` and a `target_mask` of the
positions that count (padding excluded).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

PAD, BOS, EOS = 0, 1, 2  # special tokens of the sequence-to-sequence tasks
SPECIALS = 3  # ordinary tokens of those tasks start after the specials


# ---------------------------------------------------------------------- retrieval, distance

def key_value_retrieval(key: jax.Array, n: int, pairs: int, keys: int, values: int) -> dict:
    """Key-value retrieval with one token per pair: `pairs` distinct keys, each with a random
    value, then a query naming one of them; the answer is its value.

    Pair (k, v) is the token `k * values + v`; the query for key k is `keys * values + k`, the
    last token (vocabulary `keys * (values + 1)`). Returns `x` (n, pairs + 1), `y` (n,) the
    value, and `target_position` (n,), the index of the queried pair (where an attention head
    that retrieves should put its mass).
    """
    k_keys, k_values, k_query = jax.random.split(key, 3)
    chosen = jax.vmap(lambda k: jax.random.permutation(k, keys)[:pairs])(
        jax.random.split(k_keys, n))  # (n, pairs) distinct keys per sequence
    value = jax.random.randint(k_values, (n, pairs), 0, values)
    position = jax.random.randint(k_query, (n,), 0, pairs)
    queried = jnp.take_along_axis(chosen, position[:, None], axis=1)[:, 0]
    x = jnp.concatenate([chosen * values + value, (keys * values + queried)[:, None]], axis=1)
    y = jnp.take_along_axis(value, position[:, None], axis=1)[:, 0]
    return {"x": x.astype(jnp.int32), "y": y.astype(jnp.int32),
            "target_position": position.astype(jnp.int32)}


def token_at_distance(key: jax.Array, n: int, distance: int, classes: int, fillers: int) -> dict:
    """Remember the first token across `distance` filler tokens: `x` = [s, f_1, ..., f_d], the
    answer `y` = s (one of `classes`). Fillers are drawn from their own `fillers` tokens
    (`classes` ... `classes + fillers - 1`), so nothing after the first token carries the answer.
    """
    k_first, k_fill = jax.random.split(key)
    first = jax.random.randint(k_first, (n, 1), 0, classes)
    fill = classes + jax.random.randint(k_fill, (n, distance), 0, fillers)
    return {"x": jnp.concatenate([first, fill], axis=1).astype(jnp.int32),
            "y": first[:, 0].astype(jnp.int32)}


def order_task(key: jax.Array, n: int, length: int, fillers: int) -> dict:
    """Which comes first? Two marker tokens A (0) and B (1) at distinct random positions among
    `length - 2` fillers (tokens 2 ... fillers + 1); `y` = 1 if A precedes B, else 0. The bag
    of tokens is the same for both answers, so a model blind to order scores chance (50 %)."""
    k_place, k_fill = jax.random.split(key)
    places = jax.vmap(lambda k: jax.random.permutation(k, length)[:2])(jax.random.split(k_place, n))
    x = 2 + jax.random.randint(k_fill, (n, length), 0, fillers)
    rows = jnp.arange(n)
    x = x.at[rows, places[:, 0]].set(0).at[rows, places[:, 1]].set(1)
    return {"x": x.astype(jnp.int32), "y": (places[:, 0] < places[:, 1]).astype(jnp.int32)}


def fill_in_middle(key: jax.Array, n: int, length: int, vocab: int) -> dict:
    """A masked middle token that needs both sides: random tokens 1 ... vocab - 1 with the
    middle one replaced by MASK (0); the answer is (left neighbour + right neighbour) mod
    (vocab - 1), so a model that sees only the left side is at chance. `position` is the
    masked index (the same for every sequence)."""
    x = 1 + jax.random.randint(key, (n, length), 0, vocab - 1)
    middle = length // 2
    y = (x[:, middle - 1] - 1 + x[:, middle + 1] - 1) % (vocab - 1)
    return {"x": x.at[:, middle].set(0).astype(jnp.int32), "y": y.astype(jnp.int32),
            "position": jnp.full((n,), middle, jnp.int32)}


# --------------------------------------------------------------------- a synthetic language

def markov_language(key: jax.Array, vocab: int, successors: int) -> jax.Array:
    """A random first-order language: each token's next token is uniform over `successors`
    tokens drawn for it. Returns the transition matrix `(vocab, vocab)` (rows sum to 1)."""
    scores = jax.random.uniform(key, (vocab, vocab))
    threshold = jnp.sort(scores, axis=1)[:, -successors][:, None]
    allowed = (scores >= threshold).astype(jnp.float32)
    return allowed / allowed.sum(axis=1, keepdims=True)


def sample_language(key: jax.Array, transitions: jax.Array, n: int, length: int) -> jax.Array:
    """`n` sequences of `length` tokens from the chain `transitions` (uniform first token)."""
    vocab = transitions.shape[0]
    k_first, k_steps = jax.random.split(key)
    first = jax.random.randint(k_first, (n,), 0, vocab)

    def step(token, k):
        nxt = jax.random.categorical(k, jnp.log(transitions[token] + 1e-30))
        return nxt, nxt

    _, rest = jax.lax.scan(step, first, jax.random.split(k_steps, length - 1))
    return jnp.concatenate([first[:, None], rest.T], axis=1).astype(jnp.int32)


def language_nll(transitions: jax.Array, tokens: jax.Array) -> jax.Array:
    """The true chain's mean next-token negative log-likelihood (nats) on `tokens` (n, length):
    the floor no language model of this language can beat."""
    p = transitions[tokens[:, :-1], tokens[:, 1:]]
    return -jnp.mean(jnp.log(p))


# --------------------------------------------------------------- sequence to sequence (masks)

def _variable_tokens(key, n: int, max_length: int, min_length: int, tokens: int):
    k_len, k_tok = jax.random.split(key)
    lengths = jax.random.randint(k_len, (n,), min_length, max_length + 1)
    x = SPECIALS + jax.random.randint(k_tok, (n, max_length), 0, tokens)
    real = jnp.arange(max_length)[None, :] < lengths[:, None]
    return jnp.where(real, x, PAD), lengths, real


def _seq2seq(source, lengths, output, out_lengths, out_length: int) -> dict:
    """Decoder input/target pair: target = output then EOS then PAD, target_in = BOS + target[:-1]."""
    n = source.shape[0]
    positions = jnp.arange(out_length + 1)[None, :]
    padded = jnp.concatenate([output, jnp.full((n, 1), PAD, output.dtype)], axis=1)
    target = jnp.where(positions < out_lengths[:, None], padded,
                       jnp.where(positions == out_lengths[:, None], EOS, PAD))
    target_in = jnp.concatenate([jnp.full((n, 1), BOS, target.dtype), target[:, :-1]], axis=1)
    return {"source": source.astype(jnp.int32), "source_lengths": lengths.astype(jnp.int32),
            "target_in": target_in.astype(jnp.int32), "target": target.astype(jnp.int32),
            "target_mask": positions <= out_lengths[:, None]}


def reversal(key: jax.Array, n: int, max_length: int, tokens: int, min_length: int = 1) -> dict:
    """Reverse a sequence of `min_length` ... `max_length` tokens (padded with PAD to
    `max_length`); the target is the reversed tokens, then EOS (vocabulary SPECIALS + tokens)."""
    x, lengths, real = _variable_tokens(key, n, max_length, min_length, tokens)
    index = jnp.clip(lengths[:, None] - 1 - jnp.arange(max_length)[None, :], 0, max_length - 1)
    output = jnp.where(real, jnp.take_along_axis(x, index, axis=1), PAD)
    return _seq2seq(x, lengths, output, lengths, max_length)


def sort_unique(key: jax.Array, n: int, max_length: int, tokens: int, min_length: int = 1) -> dict:
    """Sort a sequence's tokens and drop repeats: the output is usually shorter than the input
    (different input and output lengths), then EOS (vocabulary SPECIALS + tokens)."""
    x, lengths, real = _variable_tokens(key, n, max_length, min_length, tokens)
    present = jnp.zeros((n, SPECIALS + tokens), bool).at[jnp.arange(n)[:, None], x].max(real)
    present = present[:, SPECIALS:]  # (n, tokens): which tokens occur
    out_lengths = present.sum(axis=1)
    # Present tokens in increasing order first, then the absent ones (masked to PAD).
    order = jnp.argsort(~present, axis=1, stable=True)[:, :max_length]
    if order.shape[1] < max_length:  # fewer distinct tokens than positions: pad the columns
        order = jnp.pad(order, ((0, 0), (0, max_length - order.shape[1])))
    output = jnp.where(jnp.arange(max_length)[None, :] < out_lengths[:, None], SPECIALS + order, PAD)
    return _seq2seq(x, lengths, output, out_lengths, max_length)
