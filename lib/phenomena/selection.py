"""Choosing an arm's best hyperparameter without judging it on the seeds that chose it.

Picking the best learning rate by the mean over all seeds and then comparing the seeds at that
rate reuses the same noise twice: the chosen rate is partly chosen for its lucky seeds.
Leave-one-seed-out selection picks, for each seed, the value that is best on the *other* seeds,
so the seed it is judged on played no part in the choice (cross-fitting, at no extra training).
"""

from __future__ import annotations

import warnings

import numpy as np


def best_by_mean(scores, excluded=None, mode: str = "min") -> int:
    """Index of the best mean score over seeds among values no seed disqualified.

    `scores` is `(value, seed)`; `excluded` (same shape, bool) marks runs that disqualify
    their value (a diverged run); `mode` is "min" for a loss, "max" for an accuracy.
    """
    scores = _signed(scores, mode)
    excluded = np.zeros(scores.shape, bool) if excluded is None else np.asarray(excluded, bool)
    with warnings.catch_warnings():  # a value with no finite score: NaN, handled below
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(np.where(excluded, np.nan, scores), axis=1)
    # A disqualified value, or one with no finite score at all, can never be the best.
    mean = np.where(excluded.any(axis=1) | ~np.isfinite(mean), np.inf, mean)
    if not np.isfinite(mean).any():
        raise ValueError("every value is disqualified: no best value to choose")
    return int(np.argmin(mean))


def held_out_best(scores, excluded=None, mode: str = "min") -> np.ndarray:
    """Per seed, the index of the best value judged on the other seeds only: `(seed,)` ints.

    `scores`, `excluded` and `mode` as in `best_by_mean`; a value is disqualified for seed `s`
    when another seed's run at it is excluded. Needs at least two seeds.
    """
    scores = np.asarray(scores, np.float64)
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(f"scores must be (value, seed) with at least two seeds, got {scores.shape}")
    excluded = np.zeros(scores.shape, bool) if excluded is None else np.asarray(excluded, bool)
    seeds = scores.shape[1]
    return np.asarray([best_by_mean(np.delete(scores, s, axis=1), np.delete(excluded, s, axis=1),
                                    mode) for s in range(seeds)])


def per_seed(values, index) -> np.ndarray:
    """`values[index[s], s, ...]` for every seed `s`: `(value, seed, ...)` -> `(seed, ...)`."""
    values = np.asarray(values)
    index = np.asarray(index, int)
    return values[index, np.arange(values.shape[1])]


def _signed(scores, mode: str) -> np.ndarray:
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    scores = np.asarray(scores, np.float64)
    return scores if mode == "min" else -scores
