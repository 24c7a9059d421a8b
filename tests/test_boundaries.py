"""Decision boundaries on a grid (`phenomena.boundaries`): the grid's layout, the probability of
every run in one program, and the drawing."""

import jax.numpy as jnp
import numpy as np
import pytest

from phenomena import boundaries, models, rng
from phenomena.models import MLPConfig


def test_extent_widens_the_data_range_by_the_margin():
    span = boundaries.extent(np.array([[0.0, -1.0], [2.0, 1.0]]), margin=0.25)
    assert span == pytest.approx((-0.5, 2.5, -1.5, 1.5))


def test_grid_is_row_major_with_y_along_rows():
    points = np.asarray(boundaries.grid((0.0, 1.0, 10.0, 20.0), 3)).reshape(3, 3, 2)
    np.testing.assert_allclose(points[0, :, 0], [0.0, 0.5, 1.0])  # x along a row
    np.testing.assert_allclose(points[:, 0, 1], [10.0, 15.0, 20.0])  # y down the rows


def _linear_runs(kernels, out):
    """Linear models (depth 0) whose head kernel is set to `kernels[i]`, zero bias."""
    graphdef, state = models.mlps(2, out, MLPConfig(depth=0), rng.seed_keys(0, len(kernels)))
    state["head"]["kernel"] = state["head"]["kernel"].replace(jnp.asarray(kernels, jnp.float32))
    return graphdef, state


def test_probability_of_every_run_on_the_grid_in_one_program():
    # Run 0: logit = x; run 1: logit = -y. P(class 1) = sigmoid(logit).
    graphdef, state = _linear_runs([[[1.0], [0.0]], [[0.0], [-1.0]]], out=1)
    p = boundaries.class_one_probability(graphdef, state, (-1.0, 1.0, -2.0, 2.0), 3)
    assert p.shape == (2, 3, 3)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    np.testing.assert_allclose(p[0, 1], sig(np.array([-1.0, 0.0, 1.0])), rtol=1e-6)
    np.testing.assert_allclose(p[1, :, 0], sig(np.array([2.0, 0.0, -2.0])), rtol=1e-6)


def test_two_logits_give_the_softmax_share_of_class_one():
    # Logits (0, x): P(class 1) = softmax(0, x)[1] = sigmoid(x).
    graphdef, state = _linear_runs([[[0.0, 1.0], [0.0, 0.0]]], out=2)
    p = boundaries.class_one_probability(graphdef, state, (-1.0, 1.0, 0.0, 1.0), 2)
    np.testing.assert_allclose(p[0, 0], [1 / (1 + np.e), 1 / (1 + np.exp(-1))], rtol=1e-6)


def test_panels_draw_one_axes_per_cell_with_regions_and_points():
    p = np.zeros((2, 3, 4, 4))
    p[..., 2:] = 1.0  # class 1 on the right half of every panel
    x = np.array([[0.0, 0.0], [1.0, 1.0]])
    fig = boundaries.panels(p, (0.0, 1.0, 0.0, 1.0), x, np.array([0, 1]),
                            row_labels=["depth 1", "depth 2"], col_labels=["a", "b", "c"])
    axes = fig.axes
    assert len(axes) == 7  # six panels and the shared colour bar
    assert axes[6].get_ylabel() == "P(class 1)"
    assert axes[0].get_ylabel() == "depth 1" and axes[5].get_xlabel() == "c"
    assert len(axes[0].collections) >= 3  # filled bands, the 0.5 contour, the points
    assert [t.get_text() for t in axes[2].get_legend().get_texts()] == ["class 0", "class 1"]
