"""Linear probes: how linearly decodable the labels are from a trained network's frozen features.

`linear_probe` fits one multinomial logistic regression per run on that run's features
(standardized with the fitting set's mean and standard deviation) for every L2 strength of
a small grid, picks the strength by accuracy on a validation split carved from the
training set, and reports that fit's test, validation and training accuracy. Every run and
every L2 value is fit at once, in one jitted program (vmapped over runs; the grid's problems
share one wide weight matrix), one program per feature width; `linear_probes` pads every
layer to one width, so a whole network is one program. The optimizer is Optax's L-BFGS for
a fixed number of iterations from zero weights, so a probe is deterministic.

The objective is mean cross-entropy + (l2 / 2) * ||W||^2, the bias unpenalized: the same
minimizer as scikit-learn's `LogisticRegression(C=...)` (which minimizes
C * summed cross-entropy + ||W||^2 / 2) at `l2 = 1 / (C * n)` for n fitting examples; on
scikit-learn's digits (raw, and 600 random ReLU features) the two agree within one test
example (0.1 points) at C from 0.01 to 100 (tests/test_linear_probe.py).

Cost: an iteration is about one evaluation of the loss and its gradient, ~4 n d G C flops
per run and layer (n fitting examples, d features, G L2 values, C classes). Measured on the
shared 2-core machine: 8 runs x 3 layers padded to d = 1280, n = 1600, G = 4, C = 10, 50
iterations: ~37 s of CPU. Size the examples, the grid and `steps` of a quick profile to fit.

`layer_features` reads the intermediate maps of every trained run (the models return
`(logits, {"preacts": ..., "features": ...})`) to feed the probe.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from phenomena.experiment import map_runs
from phenomena.runtime import shard_runs

L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1)  # per-example L2 strengths searched by default
STEPS = 100  # L-BFGS iterations (digits: test accuracy within 0.2 points of 200 iterations' by 25)
# Backtracking (Armijo) rather than Optax's default zoom line search: on these smooth convex
# objectives it converges as well, and the program compiles in about half the time. The
# tolerance `atol` accepts a step that raises the objective by at most 1e-7 (float32 noise on
# objectives of order 0.01-2): without it, once a fit has converged every iteration fails the
# sufficient-decrease test and runs all 20 trials (measured: ~4.5 value-and-gradient
# evaluations per iteration over 100 iterations instead of ~1), and under vmap every fit of
# the batch waits for the slowest.
LINESEARCH = optax.scale_by_backtracking_linesearch(max_backtracking_steps=20, store_grad=True,
                                                    atol=1e-7)
EPS = 1e-6  # floor on a feature's standard deviation: constant features standardize to 0


@dataclasses.dataclass(frozen=True)
class ProbeResult:
    """A linear probe's scores, one entry per run (accuracies are fractions in [0, 1])."""

    test_accuracy: np.ndarray  # of the chosen fit on the test features
    val_accuracy: np.ndarray  # of the chosen fit on the validation split (NaN without one)
    l2: np.ndarray  # the chosen L2 strength (the first of ties in the grid's order)
    train_accuracy: np.ndarray  # of the chosen fit on the examples it was fit on


def _standardizer(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Mean and standard deviation (floored at EPS) of each feature of `x` (n, d), as (1, d)."""
    return x.mean(axis=0, keepdims=True), jnp.maximum(x.std(axis=0, keepdims=True), EPS)


def _logits(params: dict, z: jax.Array) -> jax.Array:
    """Every grid member's logits `(n, grid, classes)` on standardized features `z` (n, d)."""
    d, grid, classes = params["w"].shape
    # One wide matmul for the whole grid: (n, d) @ (d, grid * classes).
    flat = z @ params["w"].reshape(d, grid * classes)
    return flat.reshape(-1, grid, classes) + params["b"][None]


def _fit(x: jax.Array, y: jax.Array, l2_grid: jax.Array, classes: int, steps: int):
    """Every L2 of the grid at once: L-BFGS on the sum over the grid of mean cross-entropy +
    l2/2 ||W||^2, over `x` (n, d) standardized by its own mean and standard deviation.

    The grid's problems share the features but not their weights, so the sum is minimized
    exactly where each is: one problem with a (d, grid, classes) weight, whose logits are
    one wide matmul. (Vmapping the fit over the grid instead made the line search's loop
    broadcast the features to every grid value: ~3x slower per iteration, measured.)
    Returns `(mean, std, params)`; zero initial weights make the fit deterministic.
    """
    mean, std = _standardizer(x)
    z = (x - mean) / std
    # One-hot targets, made once: the integer-label loss's gradient is a scatter-add, which
    # XLA's CPU backend ran inside every line-search trial (and constant-folded for > 1 s).
    targets = jax.nn.one_hot(y, classes, dtype=x.dtype)[:, None, :]  # (n, 1, classes)

    def objective(params):
        logits = _logits(params, z)
        ce = optax.softmax_cross_entropy(logits, jnp.broadcast_to(targets, logits.shape))
        penalty = jnp.sum(params["w"] ** 2, axis=(0, 2))  # (grid,)
        return jnp.sum(ce.mean(axis=0) + 0.5 * l2_grid * penalty)

    params = {"w": jnp.zeros((x.shape[1], l2_grid.shape[0], classes), x.dtype),
              "b": jnp.zeros((l2_grid.shape[0], classes), x.dtype)}
    opt = optax.lbfgs(linesearch=LINESEARCH)
    value_and_grad = optax.value_and_grad_from_state(objective)

    def step(carry, _):
        params, state = carry
        value, grad = value_and_grad(params, state=state)
        updates, state = opt.update(grad, state, params, value=value, grad=grad,
                                    value_fn=objective)
        return (optax.apply_updates(params, updates), state), None

    (params, _), _ = jax.lax.scan(step, (params, opt.init(params)), None, length=steps)
    return mean, std, params


def _accuracies(fitted, x: jax.Array, y: jax.Array) -> jax.Array:
    """Each grid member's accuracy `(grid,)` on features `x` (n, d) and labels `y` (n,)."""
    mean, std, params = fitted
    predictions = jnp.argmax(_logits(params, (x - mean) / std), axis=-1)  # (n, grid)
    return jnp.mean(predictions == y[:, None], axis=0)


def _probe_one_run(train_x, train_y, test_x, test_y, order, l2_grid, *, classes, steps, n_val):
    """One run: every L2 of the grid fit on the training set less validation, the best on
    validation (the first of ties) scored on the test set and on its fitting set."""
    fit_x, fit_y = train_x[order[n_val:]], train_y[order[n_val:]]
    val_x, val_y = train_x[order[:n_val]], train_y[order[:n_val]]
    fitted = _fit(fit_x, fit_y, l2_grid, classes, steps)
    val = _accuracies(fitted, val_x, val_y)
    best = jnp.argmax(val)  # the first maximum: the grid's order breaks ties (NaN: no split)
    return (_accuracies(fitted, test_x, test_y)[best], val[best], l2_grid[best],
            _accuracies(fitted, fit_x, fit_y)[best])


@functools.partial(jax.jit, static_argnames=("classes", "steps", "n_val"))
def _probe_runs(train_x, train_y, test_x, test_y, order, l2_grid, *, classes, steps, n_val):
    one = functools.partial(_probe_one_run, classes=classes, steps=steps, n_val=n_val)
    return jax.vmap(one, in_axes=(0, 0, 0, 0, None, None))(train_x, train_y, test_x, test_y,
                                                            order, l2_grid)


def _per_run_labels(labels, runs: int, n: int, name: str) -> jax.Array:
    """Labels `(n,)` shared by every run or `(runs, n)`, as int32 `(runs, n)`."""
    labels = jnp.asarray(labels, jnp.int32)
    if labels.shape not in ((n,), (runs, n)):
        raise ValueError(f"{name} must have shape ({n},) or ({runs}, {n}); got {labels.shape}")
    return jnp.broadcast_to(labels, (runs, n))


def _flat_features(features, name: str) -> jax.Array:
    """Features `(runs, n, ...)` as float32 `(runs, n, d)`: any trailing map shape flattened."""
    features = jnp.asarray(features, jnp.float32)
    if features.ndim < 3:
        raise ValueError(f"{name} must be (runs, n, features...); got shape {features.shape}")
    return features.reshape(features.shape[0], features.shape[1], -1)


def _validation_size(n: int, val_fraction: float, grid_size: int) -> int:
    """How many training examples the validation split takes (0 only for a single L2)."""
    n_val = int(round(val_fraction * n))
    if n_val == 0 and grid_size > 1:
        raise ValueError(f"choosing among {grid_size} L2 values needs a validation split; "
                         f"val_fraction {val_fraction} of {n} examples leaves none")
    if not 0 <= n_val < n:
        raise ValueError(f"val_fraction {val_fraction} leaves no fitting examples of {n}")
    return n_val


def _probe(train_x, train_y, test_x, test_y, *, classes, l2_grid, val_fraction, steps,
           split_seed) -> tuple[np.ndarray, ...]:
    """Checked, flattened features and labels of every run through the compiled probe."""
    runs, n, d = train_x.shape
    if test_x.shape[0] != runs or test_x.shape[2] != d:
        raise ValueError(f"test features {test_x.shape} do not match the training features "
                         f"{train_x.shape} in runs and feature size (flattened)")
    train_y = _per_run_labels(train_y, runs, n, "train_labels")
    test_y = _per_run_labels(test_y, runs, test_x.shape[1], "test_labels")
    grid = jnp.asarray(l2_grid, jnp.float32).reshape(-1)
    n_val = _validation_size(n, val_fraction, grid.size)
    if classes is None:
        classes = int(max(jnp.max(train_y), jnp.max(test_y))) + 1
    order = jax.random.permutation(jax.random.key(split_seed), n)
    data = shard_runs((train_x, train_y, test_x, test_y))
    out = _probe_runs(*data, order, grid, classes=classes, steps=steps, n_val=n_val)
    return tuple(np.asarray(a) for a in jax.device_get(out))


def linear_probe(train_features, train_labels, test_features, test_labels, *,
                 classes: int | None = None, l2_grid=L2_GRID, val_fraction: float = 0.2,
                 steps: int = STEPS, split_seed: int = 0) -> ProbeResult:
    """Test accuracy of a linear classifier on each run's frozen features, L2 tuned per run.

    `train_features` (runs, n, ...) and `test_features` (runs, m, ...) are one layer's
    features of every run (any trailing map shape is flattened); labels are `(n,)` shared
    by every run or `(runs, n)`. `classes` defaults to 1 + the largest label.

    A fixed random `val_fraction` of the training examples (drawn from `split_seed`, the
    same for every run) scores each value of `l2_grid`, fit on the rest; the best is scored
    on the test set. It is not refit on the whole training set: a second fit would double
    the program (~6 s of CPU to trace and compile here) for a fit on 25 % more examples.
    With a single L2, `val_fraction=0` fits on every training example (validation
    accuracy NaN). All runs and grid values run in one jitted program per feature width.
    """
    train_x = _flat_features(train_features, "train_features")
    test_x = _flat_features(test_features, "test_features")
    return ProbeResult(*_probe(train_x, train_labels, test_x, test_labels, classes=classes,
                               l2_grid=l2_grid, val_fraction=val_fraction, steps=steps,
                               split_seed=split_seed))


def _padded(layers: Sequence, width: int, name: str) -> jax.Array:
    """Layers of features `(runs, n, ...)`, flattened and zero-padded to `width`, stacked
    layer-major into one run axis `(layers * runs, n, width)`."""
    flat = [_flat_features(f, name) for f in layers]
    return jnp.concatenate([jnp.pad(f, ((0, 0), (0, 0), (0, width - f.shape[2])))
                            for f in flat])


def linear_probes(train_layers: Sequence, train_labels, test_layers: Sequence, test_labels, *,
                  classes: int | None = None, l2_grid=L2_GRID, val_fraction: float = 0.2,
                  steps: int = STEPS, split_seed: int = 0) -> list[ProbeResult]:
    """`linear_probe` of every layer (say, `layer_features`' output), all in one program.

    Each layer's flattened features are zero-padded to the widest layer's width and the
    layers stacked along the run axis. A padded feature is constant, so it standardizes to
    exactly 0 and its weights stay at 0: each layer's probe is the one `linear_probe` fits
    (up to float rounding), at the cost of computing the padding: one compile instead of
    one per width. The keywords are `linear_probe`'s.
    """
    if len(train_layers) != len(test_layers) or not train_layers:
        raise ValueError(f"need the same number of train and test layers (at least one); "
                         f"got {len(train_layers)} and {len(test_layers)}")
    runs = np.shape(train_layers[0])[0]
    width = max(int(np.prod(np.shape(f)[2:])) for f in train_layers)
    labels = [jnp.asarray(y) for y in (train_labels, test_labels)]
    # Per-run labels repeat once per layer; shared labels are shared by the stack as well.
    stacked = [jnp.tile(y, (len(train_layers), 1)) if y.ndim == 2 else y for y in labels]
    out = _probe(_padded(train_layers, width, "train_layers"), stacked[0],
                 _padded(test_layers, width, "test_layers"), stacked[1], classes=classes,
                 l2_grid=l2_grid, val_fraction=val_fraction, steps=steps, split_seed=split_seed)
    return [ProbeResult(*(a[i * runs:(i + 1) * runs] for a in out))
            for i in range(len(train_layers))]


@dataclasses.dataclass(frozen=True)
class _Intermediates:
    """For `map_runs`: a model's intermediate maps under `key` (hashable, so cached)."""

    key: str

    def __call__(self, model, x):
        return tuple(model(x)[1][self.key])


def layer_features(graphdef, state, x, key: str = "features") -> tuple[np.ndarray, ...]:
    """The intermediate maps `key` of every trained run on inputs `x`, one per layer.

    `state` has a leading run axis (a `History.state`); `x` is shared by every run. Returns
    one array per layer, each `(runs, n, ...)` (the model's own map shape), ready for
    `linear_probe`. One jitted program over all runs (`experiment.map_runs`).
    """
    return map_runs(_Intermediates(key), graphdef, state, x)
