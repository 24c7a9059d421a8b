"""phenomena.shallow: shift-invariant FFT features and tuned scikit-learn baselines."""

import numpy as np
import pytest

from phenomena import shallow


def test_fft_magnitudes_are_invariant_to_a_circular_shift():
    x = np.random.default_rng(0).standard_normal((5, 40)).astype(np.float32)
    features = shallow.fft_features(x)
    assert features.shape == (5, 21)
    for shift in (1, 7, 39):
        np.testing.assert_allclose(shallow.fft_features(np.roll(x, shift, axis=1)), features,
                                   rtol=1e-5, atol=1e-5)
    # The raw signal is not: the shift moves every sample.
    assert np.abs(np.roll(x, 7, axis=1) - x).max() > 1


def test_fft_features_of_known_signals():
    # A constant signal has only a DC term (its sum); a cosine of frequency 3 only bin 3 (n/2).
    np.testing.assert_allclose(shallow.fft_features(np.ones((1, 8))), [[8, 0, 0, 0, 0]], atol=1e-6)
    cosine = np.cos(2 * np.pi * 3 * np.arange(40) / 40)[None]
    magnitudes = shallow.fft_features(cosine)[0]
    assert magnitudes[3] == pytest.approx(20, abs=1e-4)
    assert np.delete(magnitudes, 3).max() < 1e-4


def _blobs(n, seed, offset=3.0):
    """Two Gaussian blobs in 2-D, `offset` apart along the first axis, labels 0/1."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.standard_normal((n, 2)) * 0.5
    x[:, 0] += offset * y
    return {"x": x, "y": y}


@pytest.mark.parametrize("name", sorted(shallow.BASELINES))
def test_baselines_separate_well_separated_blobs(name):
    found = shallow.tuned_score(shallow.BASELINES[name], _blobs(60, 0), _blobs(40, 1), _blobs(100, 2))
    assert found.test_accuracy == 1.0
    assert found.val_accuracy == 1.0
    assert found.params in shallow.BASELINES[name].settings()


def test_a_linear_model_cannot_fit_xor_but_the_rbf_svm_can():
    rng = np.random.default_rng(0)

    def xor(n):
        x = rng.uniform(-1, 1, (n, 2))
        return {"x": x, "y": (x[:, 0] * x[:, 1] > 0).astype(int)}

    train, val, test = xor(300), xor(200), xor(400)
    linear = shallow.tuned_score(shallow.LOGISTIC, train, val, test)
    kernel = shallow.tuned_score(shallow.RBF_SVM, train, val, test)
    assert linear.test_accuracy < 0.65
    assert kernel.test_accuracy > 0.9


def test_tuning_picks_the_grid_point_best_on_validation():
    # A kernel 10^4 times narrower than "scale" isolates every training point: away from them
    # the SVM predicts one class (about half right on balanced blobs). The search must pick 1.
    baseline = shallow.Baseline("svm", shallow.RBF_SVM.make, {"C": (1.0,), "gamma_scale": (1e4, 1.0)})
    found = shallow.tuned_score(baseline, _blobs(60, 0), _blobs(40, 1), _blobs(100, 2))
    assert found.params == {"C": 1.0, "gamma_scale": 1.0}
    assert found.test_accuracy == 1.0
    narrow = shallow.Baseline("svm", shallow.RBF_SVM.make, {"C": (1.0,), "gamma_scale": (1e4,)})
    assert shallow.tuned_score(narrow, _blobs(60, 0), _blobs(40, 1), _blobs(100, 2)).test_accuracy < 0.7


def test_grid_settings_and_tune_size():
    assert len(shallow.RBF_SVM.settings()) == 9
    assert shallow.RBF_SVM.settings()[0] == {"C": 1.0, "gamma_scale": 0.3}
    with pytest.raises(ValueError, match="tune_size"):
        shallow.tuned_score(shallow.LOGISTIC, _blobs(10, 0), _blobs(10, 1), _blobs(10, 2),
                            tune_size=11)
    # Tuning on the first 20 of 60 examples still refits the chosen point on all of them.
    found = shallow.tuned_score(shallow.LOGISTIC, _blobs(60, 0), _blobs(40, 1), _blobs(100, 2),
                                tune_size=20)
    assert found.test_accuracy == 1.0


def test_at_edge_names_the_hyperparameters_chosen_at_a_grid_end():
    baseline = shallow.Baseline("svm", shallow.RBF_SVM.make, {"C": (1.0, 10.0, 100.0),
                                                             "gamma_scale": (0.3, 1.0, 3.0)})
    assert baseline.at_edge({"C": 10.0, "gamma_scale": 1.0}) == []
    assert baseline.at_edge({"C": 100.0, "gamma_scale": 0.3}) == ["C", "gamma_scale"]
    assert shallow.Baseline("one", shallow.RBF_SVM.make, {"C": (1.0,)}).at_edge({"C": 1.0}) == []


def test_circular_smoothing_before_the_fft_is_undone_by_standardizing():
    # A circular filter multiplies each Fourier magnitude by its constant gain there; the
    # per-feature standardization divides it out again (the docstring's note).
    from sklearn.preprocessing import StandardScaler
    x = np.random.default_rng(0).standard_normal((50, 16))
    smoothed = (np.roll(x, 1, axis=1) + 2 * x + np.roll(x, -1, axis=1)) / 4
    plain = StandardScaler().fit_transform(shallow.fft_features(x)[:, :-1])
    smooth = StandardScaler().fit_transform(shallow.fft_features(smoothed)[:, :-1])
    np.testing.assert_allclose(smooth, plain, atol=1e-4)
