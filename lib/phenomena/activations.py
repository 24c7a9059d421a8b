"""Comparing activation functions fairly (CLAIMS.md, "fair setups").

Every activation gets its conventional initializer, trains over one shared learning-rate grid
(the grid vmapped: one compiled program per (activation, depth) cell, every rate and seed of
the cell inside it) and is judged at its own best rate from that grid. The cost of a training
step is counted by XLA's cost analysis, never timed.

`activation_comparison` and `swish_vs_relu` are built from these pieces.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from phenomena import data, losses, models, selection, train
from phenomena.config import check
from phenomena.experiment import Grid, grid_fit
from phenomena.models import MLP, MLPConfig
from phenomena.optim import make_optimizer
from phenomena.probes import costs

SATURATING = ("identity", "sigmoid", "tanh")  # initialized with Glorot; the rest with He
CELL_SEPARATOR = "@"  # a cell's label: "<activation>@<depth>", e.g. "relu@10"


def conventional_init(activation: str) -> str:
    """The initializer an activation is usually paired with.

    Glorot & Bengio (2010) derived their scale for symmetric saturating units (sigmoid, tanh,
    and the identity, for which tanh is linear near 0); He et al. (2015) derived theirs for
    ReLU, which passes half of its input's variance. The rest of the ReLU family (Leaky ReLU,
    PReLU, ELU, GELU, Swish) is ReLU for large positive inputs and is given He init in practice.
    Each activation at its own conventional init is the fair comparison: Glorot would starve a
    deep ReLU net and He would saturate a deep sigmoid one.
    """
    return "glorot_normal" if activation in SATURATING else "he_normal"


def cell_label(activation: str, depth: int) -> str:
    """The label of one (activation, depth) cell, e.g. `relu@10`."""
    return f"{activation}{CELL_SEPARATOR}{depth}"


def parse_cell(label: str) -> tuple[str, int]:
    """`(activation, depth)` of a cell label made by `cell_label`."""
    activation, depth = label.rsplit(CELL_SEPARATOR, 1)
    return activation, int(depth)


def mlp_config(activation: str, depth: int, width: int) -> MLPConfig:
    """The MLP of one cell: `depth` hidden layers of `width`, the activation's conventional init."""
    return MLPConfig(width=width, depth=depth, activation=activation,
                     init=conventional_init(activation))


def check_grid_config(config) -> None:
    """Validate the fields every activation-grid config shares (`rates`, `val_size`,
    `train_eval_size`, `margin`): a one-line error (exit 2) for an impossible value."""
    check(len(config.rates) >= 2 and all(r > 0 for r in config.rates),
          "rates must be at least two positive learning rates")
    check(0 < config.val_size < data.MNIST1D_TRAIN_SIZE,
          f"val_size must be in [1, {data.MNIST1D_TRAIN_SIZE - 1}]")
    check(0 < config.train_eval_size <= data.MNIST1D_TRAIN_SIZE - config.val_size,
          "train_eval_size must be in [1, training examples left after the validation split]")
    check(0 < config.margin < 1, "margin must be in (0, 1)")


def per_seed_splits(splits: dict, split_keys: jax.Array, n_val: int, train_eval_size: int):
    """Each seed's own split of the training examples into training and validation parts.

    Returns `(train_sets, eval_sets)`, both with a leading seed axis: `train_sets` holds each
    seed's training part (all training examples but its `n_val` validation ones, in random
    order), `eval_sets` the first `train_eval_size` of them as "train", the seed's validation
    part as "val" (it chooses the learning rate) and the shared test split as "test" (it
    decides the claims, and never chooses anything).
    """
    examples = jax.tree.map(jnp.asarray, splits["train"])  # indexed by traced permutations
    train_sets, val_sets = jax.vmap(
        lambda key: data.split_validation(examples, key, n_val))(split_keys)
    eval_sets = {"train": jax.tree.map(lambda a: a[:, :train_eval_size], train_sets),
                 "val": val_sets,
                 "test": data.same_for_every_run(splits["test"], split_keys.shape[0])}
    return train_sets, eval_sets


def for_every_rate(per_seed, rates: int):
    """Per-seed arrays (leading seed axis) repeated for every rate: runs are rate-major, as
    `grid_fit` orders them (run i = rate i // seeds, seed i % seeds)."""
    return jax.tree.map(lambda a: jnp.concatenate([a] * rates), per_seed)


def fit_cells(cells: Sequence[tuple[str, int]], rates: Sequence[float], *, width: int,
              train_sets: dict, eval_sets: dict, train_config: train.TrainConfig, seed: int,
              seeds: int, part: int = 0, in_features: int = data.MNIST1D_LENGTH,
              out_features: int = data.MNIST1D_CLASSES, axis: str = "cell") -> Grid:
    """Train an MLP classifier for every (activation, depth) cell at every learning rate.

    One compiled program per cell; its rates and seeds are vmapped. Every cell and rate shares
    the seed keys, so all comparisons are paired (same init keys, batches and training subset
    per seed). `train_sets` and `eval_sets` have a leading seed axis (`per_seed_sets`). The
    returned grid's arrays are `(cell, lr, seed, ...)`, cells labelled by `cell_label`; `axis`
    renames the cell axis, so that two grids (say, of different widths) fit in one `Results`.
    """
    runs_train = for_every_rate(train_sets, len(rates))
    runs_eval = for_every_rate(eval_sets, len(rates))

    def fit_cell(arm, keys, run_rates):
        activation, depth = parse_cell(arm[axis])
        graphdef, state = models.mlps(in_features, out_features,
                                      mlp_config(activation, depth, width), keys)
        return train.fit(graphdef, state, losses.cross_entropy, runs_train, train_config, keys,
                         hparams={"learning_rate": run_rates},
                         evaluate=losses.classification_metrics, eval_data=runs_eval,
                         data_axis=0, name=arm[axis])

    labels = [cell_label(a, d) for a, d in cells]
    return grid_fit({axis: labels, "lr": list(rates)}, fit_cell, seed=seed, seeds=seeds,
                    part=part, vmapped="lr")


def best_validation_rate(val_accuracy, val_loss) -> int:
    """Index of the rate with the highest mean final validation accuracy over seeds.

    `val_accuracy` and `val_loss` are one cell's `(lr, seed, step)` curves on each seed's own
    validation split: the choice never looks at the test set the accuracy claims are judged
    on. A rate at which any seed's validation loss went non-finite (a diverged run, whose
    accuracy is an argmax of garbage) is disqualified (`selection.best_by_mean`).
    """
    final = np.asarray(val_accuracy, np.float64)[..., -1]
    diverged = ~np.isfinite(np.asarray(val_loss, np.float64)[..., -1])
    return selection.best_by_mean(final, excluded=diverged, mode="max")


def train_step_cost(activation: str, depth: int, width: int, batch_size: int,
                    train_config: train.TrainConfig, in_features: int = data.MNIST1D_LENGTH,
                    out_features: int = data.MNIST1D_CLASSES) -> dict[str, float]:
    """XLA's count of one training step of a cell's MLP: forward, backward and optimizer update.

    Returns `{"flops", "transcendentals", "operations"}`. XLA counts exp, log, tanh, logistic
    and sqrt as *transcendentals*, apart from its flops, so tanh's forward pass costs no flops
    at all there; `operations` = flops + transcendentals counts each such call as one
    operation (a lower bound: a transcendental costs several flops in practice).
    """
    model = MLP(in_features, out_features, mlp_config(activation, depth, width), rngs=nnx.Rngs(0))
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    optimizer = make_optimizer(train_config.spec())(learning_rate=train_config.lr)
    opt_state = optimizer.init(params)
    batch = {"x": jax.ShapeDtypeStruct((batch_size, in_features), jnp.float32),
             "y": jax.ShapeDtypeStruct((batch_size,), jnp.int32)}

    def step(params, opt_state, batch):
        def loss_of(p):
            return losses.cross_entropy(nnx.merge(graphdef, p, rest), batch)[0]

        loss, grads = jax.value_and_grad(loss_of)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    analysis = costs.cost_analysis(step, params, opt_state, batch)
    flops = float(analysis.get("flops", 0.0))
    transcendentals = float(analysis.get("transcendentals", 0.0))
    return {"flops": flops, "transcendentals": transcendentals,
            "operations": flops + transcendentals}
