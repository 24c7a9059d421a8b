"""Decision boundaries of 2-D classifiers: evaluated on a grid in one compiled program, drawn
as filled regions with the training points on top.

`grid(extent, size)` lays a `size x size` grid over a rectangle; `class_one_probability`
evaluates every trained run on it at once (`experiment.map_runs`: one jitted, vmapped
program); `draw` fills one axes with the regions the model assigns to each class, its 0.5
contour and the training points; `panels` draws one such axes per cell of a (row, column)
grid, e.g. (depth, width).
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from phenomena import plots
from phenomena.experiment import map_runs

CLASS_COLORS = ("#1b6ca8", "#d1495b")  # class 0, class 1 (points and regions alike)
REGION_LEVELS = np.linspace(0.0, 1.0, 11)  # P(class 1) bands: the shade shows the confidence
REGION_CMAP = "RdBu_r"  # blue where class 0 is likely, red where class 1 is, white at 0.5


def extent(x, margin: float = 0.15) -> tuple[float, float, float, float]:
    """`(x_min, x_max, y_min, y_max)` spanning every point of `x` (..., 2), widened by `margin`
    of each side's range, so the regions show a little beyond the data."""
    x = np.asarray(x, np.float64).reshape(-1, 2)
    low, high = x.min(axis=0), x.max(axis=0)
    pad = margin * (high - low)
    return (float(low[0] - pad[0]), float(high[0] + pad[0]),
            float(low[1] - pad[1]), float(high[1] + pad[1]))


def grid(span: Sequence[float], size: int) -> jax.Array:
    """The `size * size` points of an evenly spaced grid over `span` = (x0, x1, y0, y1), row-major
    with y as the row: reshaped to `(size, size)`, entry `[i, j]` is at (x_j, y_i)."""
    x0, x1, y0, y1 = span
    xs, ys = jnp.meshgrid(jnp.linspace(x0, x1, size), jnp.linspace(y0, y1, size))
    return jnp.stack([xs.ravel(), ys.ravel()], axis=-1).astype(jnp.float32)


def probability_of_class_one(model, points: jax.Array) -> jax.Array:
    """P(class 1) of one classifier at `points`: the sigmoid of a single logit, or the softmax
    share of class 1 for two logits."""
    logits, _ = model(points)
    if logits.shape[-1] == 1:
        return jax.nn.sigmoid(logits[..., 0])
    return jax.nn.softmax(logits, axis=-1)[..., 1]


def class_one_probability(graphdef, states, span: Sequence[float], size: int) -> np.ndarray:
    """P(class 1) of every trained run (leading axis of `states`) on the `size x size` grid over
    `span`, as one compiled, vmapped program: `(runs, size, size)`, rows along y."""
    probability = map_runs(probability_of_class_one, graphdef, states, grid(span, size))
    return np.asarray(probability).reshape(-1, size, size)


def draw(ax, span: Sequence[float], probability: np.ndarray, x=None, y=None,
         title: str | None = None, point_size: float = 10.0) -> None:
    """One classifier's decision regions on `ax`: P(class 1) on the grid (`(size, size)`, rows
    along y) filled in bands of 0.1 (blue for class 0, red for class 1, white where the model
    is undecided), the 0.5 contour (the boundary), and the points `x` (n, 2) coloured by their
    label `y`. Returns the filled contour set (for a colour bar)."""
    probability = np.asarray(probability, np.float64)
    size = probability.shape[0]
    xs = np.linspace(span[0], span[1], size)
    ys = np.linspace(span[2], span[3], size)
    regions = ax.contourf(xs, ys, probability, levels=REGION_LEVELS, cmap=REGION_CMAP,
                          vmin=0.0, vmax=1.0, alpha=0.45)
    if probability.min() < 0.5 < probability.max():
        ax.contour(xs, ys, probability, levels=[0.5], colors="k", linewidths=1.0)
    if x is not None:
        x, y = np.asarray(x), np.asarray(y).ravel()
        for label, color in enumerate(CLASS_COLORS):
            pick = y == label
            ax.scatter(x[pick, 0], x[pick, 1], s=point_size, color=color, edgecolors="white",
                       linewidths=0.4, label=f"class {label}", zorder=3)
    ax.set_xlim(span[0], span[1])
    ax.set_ylim(span[2], span[3])
    ax.set_aspect("equal")
    ax.grid(False)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return regions


def colorbar(fig, regions, axes) -> None:
    """One colour bar for every panel: what the shades of `draw` mean."""
    fig.colorbar(regions, ax=axes, shrink=0.6, label="P(class 1)", ticks=[0, 0.5, 1])


def legend_panel(ax, source_ax) -> None:
    """Use the spare axes `ax` for the class legend of the points drawn on `source_ax`."""
    handles, labels = source_ax.get_legend_handles_labels()
    ax.set_axis_off()
    ax.legend(handles, labels, loc="center left")


def panels(probabilities: np.ndarray, span: Sequence[float], x=None, y=None,
           row_labels: Sequence[str] = (), col_labels: Sequence[str] = (),
           titles=None, panel_size: float = 1.9):
    """A grid of decision-region panels, one per cell of `probabilities` (rows, cols, G, G).

    `x`, `y` are the training points drawn on every panel, either shared ((n, 2), (n,)) or one
    set per cell ((rows, cols, n, 2), (rows, cols, n)). `row_labels` and `col_labels` label the
    outer axes (e.g. "depth 2", "width 8"); `titles[r][c]` adds a per-panel title. Returns the
    figure (the caller titles it with what the panels show).
    """
    probabilities = np.asarray(probabilities)
    rows, cols = probabilities.shape[:2]
    fig, axes = plots.figure(ncols=cols, nrows=rows, width=panel_size, height=panel_size)
    per_cell = x is not None and np.ndim(x) == 4
    for r in range(rows):
        for c in range(cols):
            ax = axes[r, c]
            points = (x[r][c], y[r][c]) if per_cell else (x, y)
            regions = draw(ax, span, probabilities[r, c], *points,
                 title=titles[r][c] if titles is not None else None, point_size=6.0)
            if c == 0 and row_labels:
                ax.set_ylabel(row_labels[r])
            if r == rows - 1 and col_labels:
                ax.set_xlabel(col_labels[c])
    if x is not None:
        plots.legend_outside(axes[0, -1], markerscale=1.5)
    colorbar(fig, regions, axes)
    return fig
