"""Where every random number comes from: keys per seed, and named streams of each run's key.

Two words, one meaning each:

- a **part** is an independent family of *seed keys* under one integer seed
  (`seed_keys(seed, n, part=1)`), for a separate part of an experiment (a second set of
  inits, the target task of a transfer experiment) that must not share random numbers with
  the first;
- a **stream** is an independent sequence folded out of *each run's key*
  (`run_stream(keys, stream)`): stream 0 initializes the model (`models.create`), stream 1
  draws the batches and dropout masks (`train.fit`), and an experiment's own draws (data
  subsets, probe directions, perturbations) take streams from 2 up.

There is no global RNG anywhere: the same seed gives the same numbers on every device count.
"""

from __future__ import annotations

import jax

INIT_STREAM = 0   # each run key's stream for the model's initialization
TRAIN_STREAM = 1  # each run key's stream for batches and dropout
FIRST_FREE_STREAM = 2  # an experiment's own draws use this stream or higher


def seed_keys(seed: int, n: int, part: int = 0) -> jax.Array:
    """`n` independent run keys from one integer seed; `part` names an independent family."""
    return jax.random.split(jax.random.fold_in(jax.random.key(seed), part), n)


def run_stream(keys: jax.Array, stream: int) -> jax.Array:
    """Stream `stream` of every run key, for an experiment's own random draws.

    Streams 0 and 1 belong to initialization and training; reusing them would correlate,
    say, a data draw with the batch order, so they are refused.
    """
    if stream < FIRST_FREE_STREAM:
        raise ValueError(f"streams 0 and 1 are the init's and training's; use {FIRST_FREE_STREAM} "
                         f"or more, not {stream}")
    return jax.vmap(lambda key: jax.random.fold_in(key, stream))(keys)
