"""probes.linear_probe: logistic-regression probes on frozen features, checked against
scikit-learn and on problems whose answer is known."""

import jax
import numpy as np
import pytest
from flax import nnx
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from phenomena import models
from phenomena.probes.linear_probe import layer_features, linear_probe, linear_probes


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's digits (64 pixels, 10 classes), shuffled: 500 train, the rest test."""
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order].astype(np.float32), y[order]
    return x[:500], y[:500], x[500:], y[500:]


def _sklearn_accuracies(xtr, ytr, xte, yte, C):
    """scikit-learn's logistic regression at `C` on standardized features: (test, train)."""
    scaler = StandardScaler().fit(xtr)
    model = LogisticRegression(C=C, max_iter=10000, tol=1e-8).fit(scaler.transform(xtr), ytr)
    return model.score(scaler.transform(xte), yte), model.score(scaler.transform(xtr), ytr)


# The tests share a few shapes (500 training and 1297 test examples, 64 features, 10 classes):
# each new shape is a new compiled program, ~5 s on 2 CPU cores.


@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
def test_matches_scikit_learn_at_the_same_C(digits, C):
    xtr, ytr, xte, yte = digits
    # Run 0: raw pixels, zero-padded to 600 features (constant, so inert); run 1: 600 random
    # ReLU features of them (more features than examples).
    w = np.random.default_rng(1).normal(size=(64, 600))
    runs = [(xtr, xte), (np.maximum(xtr @ w, 0), np.maximum(xte @ w, 0))]
    padded = [np.stack([np.pad(run[i], ((0, 0), (0, 600 - run[i].shape[1]))) for run in runs])
              for i in (0, 1)]
    result = linear_probe(padded[0], ytr, padded[1], yte, l2_grid=(1 / (C * 500),),
                          val_fraction=0.0)
    for run, (a, b) in enumerate(runs):
        test, train = _sklearn_accuracies(a, ytr, b, yte, C)
        # Measured: equal, or one test example apart (0.08 points).
        assert abs(result.test_accuracy[run] - test) <= 0.005, (run, result, test)
        assert abs(result.train_accuracy[run] - train) <= 0.005, (run, result, train)
    assert np.all(np.isnan(result.val_accuracy))


def test_linearly_separable_features_are_decoded_perfectly():
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(4, 64)) * 3  # four far-apart class means (distance ~34)
    y, y_test = rng.integers(0, 4, 500), rng.integers(0, 4, 1297)
    x = centres[y] + rng.normal(size=(2, 500, 64))
    x_test = centres[y_test] + rng.normal(size=(2, 1297, 64))
    result = linear_probe(x, y, x_test, y_test, classes=10)  # 6 classes never seen: harmless
    assert np.all(result.test_accuracy >= 0.995) and np.all(result.train_accuracy == 1.0)


def test_random_features_with_random_labels_are_at_chance_on_test():
    rng = np.random.default_rng(3)
    x, x_test = rng.normal(size=(2, 500, 64)), rng.normal(size=(2, 1297, 64))
    y, y_test = rng.integers(0, 10, (2, 500)), rng.integers(0, 10, (2, 1297))
    result = linear_probe(x, y, x_test, y_test, classes=10)
    # Chance is 0.1; with 1297 test examples the standard error is ~0.008 per run.
    assert np.all(np.abs(result.test_accuracy - 0.1) < 0.03), result.test_accuracy
    assert np.all(result.train_accuracy > 0.2)  # it fits noise it cannot generalize


def test_permuting_and_rescaling_features_leaves_the_probe_unchanged(digits):
    xtr, ytr, xte, yte = digits
    rng = np.random.default_rng(4)
    order, scale = rng.permutation(64), rng.choice([-3.0, -0.5, 0.2, 7.0], 64)
    result = linear_probe(np.stack([xtr, xtr[:, order] * scale]), ytr,
                          np.stack([xte, xte[:, order] * scale]), yte)
    # Standardization undoes the scale (a sign flip is undone by the weight's sign) and the
    # fit does not depend on the order of features: equal up to float rounding.
    assert abs(result.test_accuracy[0] - result.test_accuracy[1]) <= 1 / len(yte)
    assert result.l2[0] == result.l2[1]
    assert result.test_accuracy[0] > 0.9


def test_the_l2_is_the_first_best_on_validation(digits):
    """The grid's choice equals probing each value alone on the same validation split
    (100 examples of 500)."""
    xtr, ytr, xte, yte = digits
    grid = (1e-3, 1e-2, 1e-1, 1.0)
    features = (xtr[None], ytr, xte[None], yte)  # one run
    alone = [linear_probe(*features, l2_grid=(l2,)) for l2 in grid]
    chosen = linear_probe(*features, l2_grid=grid)
    vals = [r.val_accuracy[0] for r in alone]
    assert chosen.l2[0] == np.float32(grid[int(np.argmax(vals))])
    # Fit jointly (one L-BFGS over the grid) or alone: the same minimizer, to an example or two.
    assert chosen.val_accuracy[0] == pytest.approx(max(vals), abs=1.5 / 100)
    assert chosen.test_accuracy[0] == pytest.approx(alone[int(np.argmax(vals))].test_accuracy[0],
                                                    abs=2.5 / len(yte))
    # A strong penalty underfits: the largest L2 has the lowest training accuracy.
    assert alone[-1].train_accuracy[0] < alone[0].train_accuracy[0]


def test_runs_are_probed_independently_with_their_own_labels(digits):
    xtr, ytr, xte, yte = digits
    shuffled = np.random.default_rng(5).permutation(ytr)  # run 1's labels carry no signal
    both = linear_probe(np.stack([xtr, xtr]), np.stack([ytr, shuffled]),
                        np.stack([xte, xte]), np.stack([yte, yte]))
    first = linear_probe(xtr[None], ytr, xte[None], yte)
    assert both.test_accuracy[0] == pytest.approx(first.test_accuracy[0], abs=1 / len(yte))
    assert both.test_accuracy[0] > 0.9 and both.test_accuracy[1] < 0.2


def test_linear_probes_pads_layers_to_one_program_without_changing_them(digits):
    xtr, ytr, xte, yte = digits
    # Two "layers" of different widths with map shapes: (n, 8, 8) pixels and (n, 4, 4) means.
    pooled = [f.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)) for f in (xtr, xte)]
    train = [xtr.reshape(1, -1, 8, 8), pooled[0][None]]
    test = [xte.reshape(1, -1, 8, 8), pooled[1][None]]
    together = linear_probes(train, ytr, test, yte)
    for layer, result in enumerate(together):
        alone = linear_probe(train[layer], ytr, test[layer], yte)
        np.testing.assert_allclose(result.test_accuracy, alone.test_accuracy, atol=1 / len(yte))
        np.testing.assert_array_equal(result.l2, alone.l2)
    assert together[0].test_accuracy[0] > together[1].test_accuracy[0]  # pooling lost detail
    # Per-run labels (runs, n) are repeated for every layer: the same probes.
    per_run = linear_probes(train, ytr[None], test, yte[None])
    assert [r.test_accuracy[0] for r in per_run] == [r.test_accuracy[0] for r in together]


def test_layer_features_returns_every_runs_maps():
    config = models.ConvNetConfig(channels=(4, 4), kernels=(3, 3), strides=(1, 2))
    graphdef, state = models.convnets((20,), 10, config, jax.random.split(jax.random.key(0), 3))
    x = jax.random.normal(jax.random.key(1), (5, 20))
    maps = layer_features(graphdef, state, x)  # "features": each layer's output
    assert [m.shape for m in maps] == [(3, 5, 20, 4), (3, 5, 10, 4)]
    second_run = nnx.merge(graphdef, jax.tree.map(lambda a: a[1], state))
    np.testing.assert_allclose(maps[1][1], second_run(x)[1]["features"][1], rtol=1e-5, atol=1e-6)
    preacts = layer_features(graphdef, state, x, key="preacts")
    assert np.all(maps[0] >= 0) and np.any(preacts[0] < 0)  # ReLU'd features, raw preacts


def test_bad_shapes_and_splits_are_refused(digits):
    xtr, ytr, xte, yte = digits
    with pytest.raises(ValueError, match="runs, n, features"):
        linear_probe(xtr, ytr, xte, yte)
    with pytest.raises(ValueError, match="do not match"):
        linear_probe(xtr[None], ytr, xte[None, :, :32], yte)
    with pytest.raises(ValueError, match="train_labels must have shape"):
        linear_probe(xtr[None], ytr[:10], xte[None], yte)
    with pytest.raises(ValueError, match="needs a validation split"):
        linear_probe(xtr[None], ytr, xte[None], yte, val_fraction=0.0)
    with pytest.raises(ValueError, match="same number of train and test layers"):
        linear_probes([xtr[None]], ytr, [], yte)
