"""The compiled training loop: `lax.scan` over steps in chunks, `vmap` over runs.

A *run* is one seed of one variant. All runs of a call share one compiled program: the
chunk function scans `eval_every` optimizer steps and then evaluates, and the host loop calls
it `steps / eval_every` times (progress line, NaN count), syncing once per chunk, never per
step. Runs that go non-finite record the step and freeze; their later metrics are NaN, so a
diverging learning rate is data, not a crash.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from phenomena.config import check
from phenomena.optim import BASE_OPTIMIZERS, OptimizerSpec, make_optimizer
from phenomena.probes.units import tree_norm
from phenomena.rng import TRAIN_STREAM, seed_keys
from phenomena.runtime import program_cache, shard_runs


DEFAULT_MOMENTUM = 0.9
MOMENTUM_OPTIMIZERS = ("momentum", "nesterov", "adam")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Optimization settings shared by every experiment that trains."""

    optimizer: str = "adam"  # sgd, momentum, nesterov, adam, rmsprop or adagrad (Optax)
    lr: float = 1e-2  # learning rate (the peak rate under a schedule)
    momentum: float = DEFAULT_MOMENTUM  # heavy-ball / Nesterov coefficient, Adam's beta1
    steps: int = 1000  # optimizer steps
    batch_size: int = 128  # examples per step, drawn with replacement; 0 = full batch
    eval_every: int = 100  # steps between evaluations (and between progress lines)

    def __post_init__(self):
        check(self.lr > 0, f"train.lr must be positive, got {self.lr}")
        check(self.steps > 0, f"train.steps must be positive, got {self.steps}")
        check(self.batch_size >= 0, f"train.batch_size must be >= 0, got {self.batch_size}")
        check(self.eval_every > 0, f"train.eval_every must be positive, got {self.eval_every}")
        check(self.steps % self.eval_every == 0,
              f"train.steps ({self.steps}) must be a multiple of train.eval_every ({self.eval_every})")
        check(0 <= self.momentum < 1, f"train.momentum must be in [0, 1), got {self.momentum}")
        check(self.optimizer in BASE_OPTIMIZERS,
              f"train.optimizer must be one of {', '.join(BASE_OPTIMIZERS)}; got {self.optimizer!r}")

    def uses_momentum(self) -> bool:
        """Whether `momentum` takes effect (plain SGD, RMSProp and Adagrad have no momentum term;
        Adam reads it as beta1)."""
        return self.optimizer in MOMENTUM_OPTIMIZERS

    def spec(self, **extras) -> OptimizerSpec:
        """The optimizer's static structure, with optional extras (clip, decay, l1)."""
        return OptimizerSpec(name=self.optimizer, momentum=self.momentum, **extras)


@dataclasses.dataclass
class History:
    """What one `fit` call recorded, as numpy arrays with a leading run axis."""

    steps: np.ndarray                  # (steps,) 1-based index of each optimizer step
    step_metrics: dict[str, np.ndarray]  # name -> (runs, steps)
    eval_steps: np.ndarray             # (evals,) step at which each evaluation ran (0 = init)
    evals: dict[str, np.ndarray]       # name -> (runs, evals, ...)
    diverged_at: np.ndarray            # (runs,) first non-finite step, -1 if never
    state: Any                         # final nnx.State, leading run axis (last finite values)
    graphdef: Any                      # the model's structure: nnx.merge(graphdef, one run's state)
    seconds: float                     # wall time of the loop, compile included


@dataclasses.dataclass(frozen=True)
class Sweep:
    """Runs for every (value, seed) pair of a swept hyperparameter, trained as one program.

    Runs are value-major: run `i` has value `values[i // seeds]` and seed `i % seeds`. Every
    value uses the same seed keys, so comparisons across values are paired (same init, same
    batches). `unflatten` puts a run axis back as `(value, seed)`.
    """

    values: tuple
    seeds: int
    seed: int = 0
    part: int = 0  # the family of seed keys (`rng.seed_keys`)

    @property
    def runs(self) -> int:
        """Number of runs: values times seeds."""
        return len(self.values) * self.seeds

    def keys(self) -> jax.Array:
        """One key per run, repeating the seeds' keys for every value."""
        return jnp.tile(seed_keys(self.seed, self.seeds, self.part), len(self.values))

    def run_values(self) -> jax.Array:
        """The swept value of every run, as float32 (for `fit`'s `hparams`)."""
        return jnp.repeat(jnp.asarray(self.values, jnp.float32), self.seeds)

    def unflatten(self, array) -> np.ndarray:
        """`array` with its leading run axis split into (value, seed)."""
        array = np.asarray(array)
        return array.reshape(len(self.values), self.seeds, *array.shape[1:])


def sample_batch(data: Mapping[str, jax.Array], key: jax.Array, batch_size: int):
    """A minibatch drawn with replacement (the whole set when `batch_size` is 0)."""
    n = jax.tree.leaves(data)[0].shape[0]
    if batch_size == 0:
        return data
    index = jax.random.randint(key, (batch_size,), 0, n)
    return jax.tree.map(lambda a: a[index], data)


def _all_finite(tree) -> jax.Array:
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def _where_tree(condition, new, old):
    return jax.tree.map(lambda a, b: jnp.where(condition, a, b), new, old)


def _no_metrics(model, data) -> dict:
    return {}


@program_cache(maxsize=64)
def _programs(graphdef, loss_fn, evaluate, optimizer: OptimizerSpec, batch_size: int,
              eval_every: int, data_axis, hparam_names: tuple[str, ...]):
    """The jitted programs of `fit`, cached on everything that shapes them.

    A second `fit` with the same model, loss, optimizer structure and batching reuses these
    function objects, so JAX's jit cache serves it without tracing or compiling again.
    Learning rates and other values are not part of the key: they are data (per-run arrays).
    """
    tx_factory = make_optimizer(optimizer)
    # Every update reads its values from `opt_state.hyperparams`; these defaults are unused.
    tx = tx_factory(**{k: 0.0 for k in hparam_names})

    def init_one(state_one, key, hp):
        _, params, rest = nnx.split(nnx.merge(graphdef, state_one), nnx.Param, ...)
        opt_state = tx_factory(**hp).init(params)
        # Batches and dropout draw from their own stream, apart from the initialization's.
        return dict(params=params, rest=rest, opt_state=opt_state,
                    key=jax.random.fold_in(key, TRAIN_STREAM),
                    step=jnp.int32(0), diverged_at=jnp.int32(-1))

    def model_of(carry):
        return nnx.merge(graphdef, carry["params"], carry["rest"], copy=True)

    def evaluate_one(carry, data):
        metrics = evaluate(model_of(carry), data)
        failed = carry["diverged_at"] >= 0
        return jax.tree.map(lambda m: jnp.where(failed, jnp.nan, m), metrics)

    def step_one(carry, data):
        step = carry["step"] + 1
        batch_key, model_key = jax.random.split(jax.random.fold_in(carry["key"], step))
        batch = sample_batch(data, batch_key, batch_size)

        def loss_of(params):
            model = nnx.merge(graphdef, params, carry["rest"], copy=True)
            loss, aux = loss_fn(model, batch, train=True, key=model_key)
            _, _, new_rest = nnx.split(model, nnx.Param, ...)
            return loss, (aux, new_rest)

        (loss, (aux, rest)), grads = jax.value_and_grad(loss_of, has_aux=True)(carry["params"])
        updates, opt_state = tx.update(grads, carry["opt_state"], carry["params"])
        params = optax.apply_updates(carry["params"], updates)
        alive = carry["diverged_at"] < 0
        ok = alive & jnp.isfinite(loss) & _all_finite(params)
        # A run that goes non-finite keeps its last finite state and records the step.
        new = dict(
            params=_where_tree(ok, params, carry["params"]),
            rest=_where_tree(ok, rest, carry["rest"]),
            opt_state=_where_tree(ok, opt_state, carry["opt_state"]),
            key=carry["key"],
            step=step,
            diverged_at=jnp.where(alive & ~ok, step, carry["diverged_at"]),
        )
        metrics = {"loss": loss, "grad_norm": tree_norm(grads), **aux}
        metrics = jax.tree.map(lambda m: jnp.where(alive, m, jnp.nan), metrics)
        return new, metrics

    def chunk_one(carry, data, eval_data):
        carry, metrics = jax.lax.scan(lambda c, _: step_one(c, data), carry, None,
                                      length=eval_every)
        return carry, metrics, evaluate_one(carry, eval_data)

    init = jax.jit(jax.vmap(init_one))
    first_eval = jax.jit(jax.vmap(evaluate_one, in_axes=(0, data_axis)))
    chunk = jax.jit(jax.vmap(chunk_one, in_axes=(0, data_axis, data_axis)), donate_argnums=0)
    final_state = jax.jit(jax.vmap(lambda c: nnx.state(model_of(c))))
    return init, first_eval, chunk, final_state


LossFn = Callable[..., tuple[jax.Array, dict]]
EvalFn = Callable[[nnx.Module, Any], dict]


def fit(
    graphdef,
    state,
    loss_fn: LossFn,
    train_data: Mapping[str, jax.Array],
    config: TrainConfig,
    keys: jax.Array,
    *,
    hparams: Mapping[str, Any] | None = None,
    optimizer: OptimizerSpec | None = None,
    evaluate: EvalFn | None = None,
    eval_data: Any = None,
    data_axis: int | None = None,
    name: str = "train",
    progress: bool = True,
) -> History:
    """Train every run in one compiled program and return its `History`.

    Args:
      graphdef, state: from `models.create`; `state` has a leading run axis.
      loss_fn: `loss_fn(model, batch, train=True, key=key) -> (loss, aux)`, `aux` a dict of
        scalars logged every step.
      train_data: dict of arrays with examples on axis 0 (axis 1 if `data_axis` is 0, i.e.
        one dataset per run).
      config: steps, batch size, evaluation interval and the default hyperparameters.
      keys: one key per run (batch sampling and dropout streams come from it by `fold_in`).
      hparams: per-run hyperparameter arrays (`learning_rate`, `clip_norm`, `weight_decay`,
        `l1`), broadcast from scalars; default `learning_rate = config.lr`.
      optimizer: static optimizer structure; default `config.spec()`.
      evaluate: `evaluate(model, eval_data) -> dict of arrays`, run at step 0 and after every
        chunk, in evaluation mode; probes go here.
      eval_data: passed to `evaluate` (shared by all runs unless `data_axis` is 0).
    """
    runs = keys.shape[0]
    values = {"learning_rate": config.lr, **(hparams or {})}
    values = {k: jnp.broadcast_to(jnp.asarray(v, jnp.float32), (runs,)) for k, v in values.items()}
    programs = _programs(graphdef, loss_fn, evaluate or _no_metrics, optimizer or config.spec(),
                         config.batch_size, config.eval_every, data_axis, tuple(sorted(values)))
    init, first_eval, chunk, final_state_of = programs

    start = time.perf_counter()
    state, keys, values = shard_runs((state, keys, values))
    # Values that do not depend on the runs (zeroed optimizer moments, the step counter) come
    # out of `init` replicated; laid out like the rest, the chunk program compiles once, not
    # once for the first chunk's layout and again for the later ones'.
    carry = shard_runs(init(state, keys, values))
    evals = [first_eval(carry, eval_data)]
    step_metrics = []
    n_chunks = config.steps // config.eval_every
    first_chunk = 0.0
    for i in range(n_chunks):
        carry, metrics, ev = chunk(carry, train_data, eval_data)
        step_metrics.append(metrics)
        evals.append(ev)
        if progress and (sys.stderr.isatty() or i == n_chunks - 1):
            # One host sync per chunk: the progress line and the divergence count.
            loss = np.asarray(metrics["loss"][:, -1])
            failed = int(np.sum(np.asarray(carry["diverged_at"]) >= 0))
            mean = np.nanmean(loss) if np.isfinite(loss).any() else float("nan")
            elapsed = time.perf_counter() - start
            if i == 0:
                first_chunk = elapsed  # holds the compile; later chunks run at full speed
            # Time left from the chunks after the first (compile-free), once there are some.
            per_chunk = (elapsed - first_chunk) / i if i else first_chunk
            left = per_chunk * (n_chunks - i - 1)
            sys.stderr.write(f"\r  {name}: step {(i + 1) * config.eval_every}/{config.steps}"
                             f"  loss {mean:.4g}  diverged {failed}/{runs}  "
                             f"{elapsed:.1f} s, ~{left:.0f} s left ")
            sys.stderr.flush()
    if progress:
        sys.stderr.write("\n")
    step_metrics = jax.tree.map(lambda *xs: np.concatenate(xs, axis=1), *step_metrics)
    evals = jax.tree.map(lambda *xs: np.stack(xs, axis=1), *evals)
    final_state = final_state_of(carry)
    diverged_at = np.asarray(carry["diverged_at"])
    return History(
        steps=np.arange(1, config.steps + 1),
        step_metrics=step_metrics,
        eval_steps=np.arange(0, config.steps + 1, config.eval_every),
        evals=evals,
        diverged_at=diverged_at,
        state=final_state,
        graphdef=graphdef,
        seconds=time.perf_counter() - start,
    )
