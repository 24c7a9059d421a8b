"""Shallow baselines from scikit-learn, tuned on a validation split, and engineered features.

The question "does a network learn its own features?" needs a fair shallow opponent: the same
training examples, its own hyperparameters chosen on held-out data, and the test set the net
is scored on. `tuned_score` fits a `Baseline` (standardized inputs, then a scikit-learn
classifier) at every point of its small grid, keeps the one with the best validation accuracy,
and returns its test accuracy. Fits run on the host (scikit-learn), not in a compiled program,
so experiments keep them few: the grid can be searched on a subsample of the training set
(`tune_size`), and only the chosen setting is refit on all of it.

`fft_features` is the classic engineered representation of a signal whose pattern may sit
anywhere: the magnitudes of its discrete Fourier transform, unchanged by a circular shift.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any, Callable, Mapping

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


def fft_features(x) -> np.ndarray:
    """Magnitudes of the real FFT of each signal: `(n, length)` -> `(n, length // 2 + 1)`.

    A circular shift of a signal multiplies each Fourier coefficient by a unit phase, so the
    magnitudes are shift-invariant; the phases (where the pattern is, and much of its shape)
    are dropped. Pure: numpy in, numpy out, no fitted state (standardize downstream).

    With standardized features, any circular smoothing (or other circular filter) applied to
    the signal before the FFT is a no-op: it multiplies each magnitude by the filter's own
    constant gain at that frequency, and standardization divides that constant out again.
    """
    return np.abs(np.fft.rfft(np.asarray(x, np.float64), axis=-1)).astype(np.float32)


def _logistic(features: int, C: float) -> Any:
    return LogisticRegression(C=C, max_iter=2000)


def _rbf_svm(features: int, C: float, gamma_scale: float) -> Any:
    # On standardized inputs gamma = 1 / features is scikit-learn's "scale": the grid is
    # relative to it, so it means the same for 40 raw samples and 21 Fourier magnitudes.
    return SVC(C=C, kernel="rbf", gamma=gamma_scale / features)


@dataclasses.dataclass(frozen=True)
class Baseline:
    """A shallow model: a factory of scikit-learn estimators and the grid to tune it over."""

    name: str
    make: Callable[..., Any]           # make(features, **params) -> an unfitted estimator
    grid: Mapping[str, tuple]          # each hyperparameter's candidate values

    def settings(self) -> list[dict]:
        """Every point of the grid, as keyword arguments of `make`."""
        names = list(self.grid)
        return [dict(zip(names, values)) for values in itertools.product(*self.grid.values())]

    def at_edge(self, params: Mapping[str, Any]) -> list[str]:
        """The hyperparameters whose chosen value is the first or last of its grid (a choice
        there may mean the optimum lies beyond the grid)."""
        return [name for name, values in self.grid.items()
                if len(values) > 1 and params[name] in (values[0], values[-1])]

    def estimator(self, features: int, **params):
        """Standardize the inputs (statistics of the training set), then the classifier."""
        return make_pipeline(StandardScaler(), self.make(features, **params))


LOGISTIC = Baseline("logistic regression", _logistic, {"C": (0.01, 0.1, 1.0)})
# On MNIST-1D these grids put some choices at an edge (the SVM's kernel width at 0.3 on FFT
# features, at 3 on raw signals). A wider search (logistic C to 100; SVM C to 1000, width
# 0.03-30) moved no mean test accuracy by more than 1 point and cost a third more CPU time.
RBF_SVM = Baseline("RBF-kernel SVM", _rbf_svm, {"C": (1.0, 10.0, 100.0),
                                                "gamma_scale": (0.3, 1.0, 3.0)})
BASELINES = {"logistic": LOGISTIC, "rbf_svm": RBF_SVM}


@dataclasses.dataclass(frozen=True)
class TunedScore:
    """A baseline at its best grid point: its test accuracy (refit on the whole training set),
    its validation accuracy in the grid search (fit on the tuning examples), and the point."""

    test_accuracy: float
    val_accuracy: float
    params: dict


def _accuracy(model, x, y) -> float:
    return float(np.mean(model.predict(x) == y))


def tuned_score(baseline: Baseline, train: Mapping[str, Any], val: Mapping[str, Any],
                test: Mapping[str, Any], tune_size: int = 0) -> TunedScore:
    """Tune `baseline` on `val`, refit it on all of `train`, score it on `test`.

    Each split is `{"x": (n, features), "y": (n,)}`. Every grid point is fit on the first
    `tune_size` training examples (all of them when 0; pass a random subset, so the first
    are a random sample) and scored on `val`; the best (the first of ties, so the grid's
    order decides them) is refit on the whole training set.
    """
    x, y = np.asarray(train["x"]), np.asarray(train["y"])
    xv, yv = np.asarray(val["x"]), np.asarray(val["y"])
    n = tune_size or len(y)
    if not 0 < n <= len(y):
        raise ValueError(f"tune_size must be in (0, {len(y)}], got {tune_size}")
    features = x.shape[1]
    scores = [_accuracy(baseline.estimator(features, **p).fit(x[:n], y[:n]), xv, yv)
              for p in baseline.settings()]
    best = int(np.argmax(scores))
    params = baseline.settings()[best]
    model = baseline.estimator(features, **params).fit(x, y)
    return TunedScore(_accuracy(model, np.asarray(test["x"]), np.asarray(test["y"])),
                      scores[best], params)
