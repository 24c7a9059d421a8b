"""The house style for figures. Reads results only; imports no JAX.

Every curve over seeds is drawn as its mean with a shaded 95 % interval; quantities that span
decades go on log axes (their mean and interval are then taken in log space, i.e. the
geometric mean); titles state the finding, not the variable names.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats as _scipy_stats  # noqa: E402

PALETTE = ["#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#6a4c93", "#00798c", "#8c564b", "#444444"]

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
}


# The style applies to every element drawn later too (legends, annotations, suptitles):
# wrapping only the creation of the axes in `rc_context` left legends framed and covering data.
matplotlib.rcParams.update(STYLE)


def figure(ncols: int = 1, nrows: int = 1, width: float = 4.6, height: float = 3.5, **kwargs):
    """A figure in the house style with `nrows x ncols` axes (always a 2-D array of axes)."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                             squeeze=False, layout="constrained", **kwargs)
    return fig, axes


def legend_outside(ax, **kwargs):
    """A legend to the right of the axes, where it can never cover the data."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, **kwargs)


def seed_band(values: np.ndarray, log: bool = False, confidence: float = 0.95):
    """Mean and t-interval over axis 0 (seeds) of `values`, ignoring NaNs (diverged runs).

    With `log=True` the statistics are taken of log10(values) and mapped back, so the line is
    the geometric mean and the band is symmetric on a log axis.
    """
    v = np.asarray(values, dtype=np.float64)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.log10(np.where(v > 0, v, np.nan))
    n = np.sum(np.isfinite(v), axis=0)
    # Columns where every run is NaN (all diverged, or undefined) simply draw no point.
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(v, axis=0)
        sd = np.nanstd(v, axis=0, ddof=1)
        half = _scipy_stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
    half = np.where(n > 1, half, 0.0)
    low, high = mean - half, mean + half
    if log:
        return 10**mean, 10**low, 10**high
    return mean, low, high


def band(ax, x: Sequence[float], values: np.ndarray, label: str | None = None, color=None,
         log: bool = False, marker: str | None = None, linestyle: str = "-",
         bounds: tuple[float, float] | None = None):
    """Draw the mean over seeds (axis 0 of `values`) with its shaded 95 % interval.

    `bounds` clips the interval to the quantity's range (a t-interval of steps to a target
    censored at the budget can reach below 0 or above the budget; the data cannot).
    """
    mean, low, high = seed_band(values, log=log)
    if bounds is not None:
        low, high = np.clip(low, *bounds), np.clip(high, *bounds)
    line, = ax.plot(x, mean, label=label, color=color, marker=marker, linestyle=linestyle,
                    markersize=4, linewidth=1.6)
    ax.fill_between(x, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    return line


def integer_ticks():
    """A tick locator for axes that count things (layers, depths)."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def title(fig, text: str) -> None:
    """The figure's headline: the finding, in one sentence."""
    fig.suptitle(text, fontsize=11.5, fontweight="bold")


def save(fig, path) -> None:
    """Write `fig` as PNG (through a temporary file, so a reader never sees half a figure)."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    # rc settings only apply while a context is active, so pass the saving ones explicitly.
    fig.savefig(tmp, dpi=STYLE["savefig.dpi"], bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)
