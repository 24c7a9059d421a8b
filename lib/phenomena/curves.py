"""Reading recorded curves: final values, gaps, slopes, steps to a target, best steps.

Every function works on numpy arrays whose last axis is the evaluation index (leading axes
are runs, seeds, variants) and is NaN-safe: a NaN (a diverged run, an undefined metric) is
never selected nor counted as reaching a target, and a curve with no finite value selects
index -1, whose value reads as NaN.

Early stopping is a selection over a recorded curve, never a re-training: `train.fit` records
every split's metrics at each evaluation, so stopping early is a question asked afterwards of
those curves (at which evaluation is the validation loss best, and what was the test loss
there?).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

MODES = ("min", "max")
NO_INDEX = -1  # what a curve without a finite value selects


def _as_minimized(curve, mode: str) -> np.ndarray:
    """The curve as float64, negated for `mode="max"` so that smaller is always better."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    values = np.asarray(curve, dtype=np.float64)
    return values if mode == "min" else -values


def best_step(curve, mode: str = "min") -> np.ndarray:
    """Index (along the last axis) of each curve's best finite value; the first one on ties.

    `mode="min"` for losses, `"max"` for accuracies. Returns an int array of the leading shape;
    `NO_INDEX` (-1) where the curve has no finite value.
    """
    values = _as_minimized(curve, mode)
    finite = np.isfinite(values)
    index = np.argmin(np.where(finite, values, np.inf), axis=-1)
    return np.where(finite.any(axis=-1), index, NO_INDEX)


def value_at(curve, index) -> np.ndarray:
    """`curve[..., index]` per leading entry; NaN where `index` is `NO_INDEX`."""
    values = np.asarray(curve, dtype=np.float64)
    index = np.asarray(index)
    picked = np.take_along_axis(values, np.maximum(index, 0)[..., None], axis=-1)[..., 0]
    return np.where(index == NO_INDEX, np.nan, picked)


def value_at_best(selection_curve, target_curve, mode: str = "min") -> np.ndarray:
    """`target_curve` at the evaluation where `selection_curve` is best.

    E.g. the test loss of the model early stopping keeps: `value_at_best(val_loss, test_loss)`.
    Both curves share their shape; the result has the leading shape.
    """
    return value_at(target_curve, best_step(selection_curve, mode))


def first_stall(curve, patience: int, mode: str = "min", min_delta: float = 0.0) -> np.ndarray:
    """Index at which a patience rule stops: `patience` evaluations without an improvement.

    Evaluation i improves when its value beats the best of all earlier values by more than
    `min_delta`; evaluation 0 counts as an improvement. Training stops at the first i with
    `i - (last improvement) >= patience`; a curve that never stalls stops at its last index.
    NaNs never improve. The model kept at the stop is `best_step(curve[..., :stop + 1])`.
    """
    if patience < 1:
        raise ValueError(f"patience must be >= 1, got {patience}")
    values = _as_minimized(curve, mode)
    n = values.shape[-1]
    filled = np.where(np.isfinite(values), values, np.inf)
    best_before = np.concatenate(
        [np.full(values.shape[:-1] + (1,), np.inf), np.minimum.accumulate(filled, axis=-1)[..., :-1]],
        axis=-1)
    improves = filled < best_before - min_delta
    improves[..., 0] = True
    steps = np.arange(n)
    last_improvement = np.maximum.accumulate(np.where(improves, steps, 0), axis=-1)
    stalled = steps - last_improvement >= patience
    return np.where(stalled.any(axis=-1), np.argmax(stalled, axis=-1), n - 1)


def best_step_until(curve, stop, mode: str = "min") -> np.ndarray:
    """Best index within `curve[..., :stop + 1]` for each leading entry (the model a stop keeps)."""
    values = _as_minimized(curve, mode)
    stop = np.asarray(stop)
    visible = np.arange(values.shape[-1]) <= stop[..., None]
    masked = np.where(visible, values, np.nan)
    return best_step(masked, "min")


def loglog_slope(x: Sequence[float], y: np.ndarray) -> np.ndarray:
    """Least-squares slope of log y against log x, along the last axis of `y` (one per row)."""
    log_x = np.log(np.asarray(x, np.float64))
    log_y = np.log(np.asarray(y, np.float64))
    centred = log_x - log_x.mean()
    return ((log_y - log_y.mean(axis=-1, keepdims=True)) @ centred) / np.sum(centred**2)


def steps_to_target(steps: Sequence[float], curves: np.ndarray, target: float) -> np.ndarray:
    """First step at which each curve (rows of `curves`, sampled at `steps`) reaches `target`.

    The crossing is interpolated linearly between the two evaluations that bracket it, so the
    answer is finer than the evaluation interval. NaN where a curve never gets to `target`
    (or is NaN there, as a diverged run is).
    """
    steps = np.asarray(steps, np.float64)
    curves = np.atleast_2d(np.asarray(curves, np.float64))
    out = np.full(curves.shape[0], np.nan)
    for run, curve in enumerate(curves):
        reached = np.flatnonzero(curve <= target)
        if reached.size == 0:
            continue
        i = reached[0]
        if i == 0:
            out[run] = steps[0]
            continue
        before, after = curve[i - 1], curve[i]
        fraction = (before - target) / (before - after)
        out[run] = steps[i - 1] + fraction * (steps[i] - steps[i - 1])
    return out


def censored(steps: np.ndarray, budget: float) -> np.ndarray:
    """Steps to a target with runs that never reached it (NaN) set to `budget`.

    A censored run took at least the budget, so a median or a rank over censored steps is a
    lower bound for it; use this where "did not get there" must count as slow, not be dropped.
    """
    steps = np.asarray(steps, np.float64)
    return np.where(np.isfinite(steps), steps, float(budget))


def final(curve: np.ndarray) -> np.ndarray:
    """The last evaluation of each curve (last axis)."""
    return np.asarray(curve)[..., -1]


def final_gap(upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """`upper - lower` at the last evaluation (e.g. train minus test accuracy), per run."""
    return final(upper) - final(lower)


def first_step_reaching(steps: Sequence[float], curve: np.ndarray, target: float,
                        mode: str = "max") -> np.ndarray:
    """The first recorded step at which each curve (last axis, sampled at `steps`) reaches
    `target`: `>= target` with `mode="max"` (an accuracy), `<= target` with `"min"` (a loss).

    Unlike `steps_to_target` nothing is interpolated: the answer is one of `steps` (use it for
    a curve recorded at every step). NaN where a curve never gets there (a NaN never does).
    Works over any leading axes.
    """
    values = _as_minimized(curve, mode)
    bound = target if mode == "min" else -target
    reached = values <= bound  # False for NaN
    steps = np.asarray(steps, np.float64)
    return np.where(reached.any(axis=-1), steps[np.argmax(reached, axis=-1)], np.nan)


def count_local_minima(curve, prominence: float) -> np.ndarray:
    """Local minima of each sampled curve (last axis) that stand out by `prominence` x its range.

    A minimum is an interior sample whose prominence (scipy's: how far the curve must rise, on
    the lower of its two sides, before it meets a lower value or the curve's end) exceeds
    `prominence` times the curve's range, so float noise and tiny wiggles are not minima and a
    flat-bottomed valley counts once; a constant curve has none. Returns a float array of the
    leading shape, NaN for a curve with a non-finite value (a diverged solution).
    """
    from scipy.signal import find_peaks

    values = np.asarray(curve, np.float64)
    rows = values.reshape(-1, values.shape[-1])
    counts = np.full(rows.shape[0], np.nan)
    for i, row in enumerate(rows):
        if not np.all(np.isfinite(row)):
            continue
        spread = float(np.ptp(row))
        counts[i] = 0 if spread == 0.0 else find_peaks(-row, prominence=prominence * spread)[0].size
    return counts.reshape(values.shape[:-1])


def log10_slope(x: Sequence[float], y: np.ndarray) -> np.ndarray:
    """Least-squares slope of log10 y against x (not log x), along the last axis of `y`.

    The growth rate of a geometric profile in decades per unit of x: a gradient norm that
    gains a factor g per layer has slope log10 g against the layer count. One per row.
    """
    x = np.asarray(x, np.float64)
    log_y = np.log10(np.asarray(y, np.float64))
    centred = x - x.mean()
    return ((log_y - log_y.mean(axis=-1, keepdims=True)) @ centred) / np.sum(centred**2)


def span_below(x: Sequence[float], values: np.ndarray, threshold) -> np.ndarray:
    """Length of `x` over which the piecewise-linear interpolant of `values` is ≤ `threshold`.

    `values` is sampled at the increasing points `x` along its last axis (leading axes are runs);
    `threshold` broadcasts against the leading shape. Between a sample at or below the threshold
    and a neighbour above it, the span ends where the straight line between them crosses the
    threshold, so the answer is not quantised to the sampling (a hyperparameter grid counted in
    whole points is). A non-finite sample (a diverged run) counts as infinitely high: the span
    stops at its finite neighbour, since no crossing can be placed. The span never extends
    beyond the first or last sample. Every stretch below the threshold counts, not only one.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(values, np.float64)
    y = np.where(np.isfinite(y), y, np.inf)
    t = np.asarray(threshold, np.float64)[..., None]
    left, right, dx = y[..., :-1], y[..., 1:], np.diff(x)
    left_in, right_in = left <= t, right <= t  # False for a NaN threshold
    with np.errstate(invalid="ignore", divide="ignore"):
        # The share of a segment below the threshold, from its low end to the crossing.
        share = np.where(np.isinf(left) | np.isinf(right), 0.0,
                         (t - np.minimum(left, right)) / np.abs(right - left))
    inside = np.where(left_in & right_in, 1.0, np.where(left_in ^ right_in, share, 0.0))
    return np.sum(inside * dx, axis=-1)


def last_quarter_drop(steps: Sequence[float], curve, relative: bool = False) -> np.ndarray:
    """How far a loss still fell over the last quarter of the steps (a convergence reading):
    the value at the last evaluation by 3/4 of the final step minus the final value, along
    the last axis; with `relative`, divided by the final value (0: flat, 1: it halved)."""
    steps = np.asarray(steps)
    at = np.flatnonzero(steps <= 0.75 * steps[-1])[-1]
    curve = np.asarray(curve, np.float64)
    drop = curve[..., at] - curve[..., -1]
    return drop / curve[..., -1] if relative else drop
