"""phenomena.plots: the band drawn over seeds."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from phenomena import plots  # noqa: E402


def test_band_clips_its_interval_to_bounds():
    # Steps to a target censored at 10: two seeds at 0, one at 10; the t-interval of the mean
    # (3.33) reaches below 0 and above 10, the clipped band does not.
    values = np.array([[0.0], [0.0], [10.0]])
    mean, low, high = plots.seed_band(values)
    assert low[0] < 0 and high[0] > 10
    fig, axes = plots.figure()
    ax = np.ravel(axes)[0]
    plots.band(ax, [1.0], values, bounds=(0, 10))
    band_vertices = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band_vertices.min() == 0.0 and band_vertices.max() == 10.0
    assert np.isclose(ax.lines[0].get_ydata()[0], 10 / 3)
