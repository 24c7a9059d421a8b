"""Positional encoding: (measured numbers go here once the quick profile has run)

Q&A: Q75 (why transformers need positional encodings).

Part 1, `no_pe_permutation_equivariant` (check). Per seed, a randomly initialized two-layer
encoder without positions (`models.Transformer`, positions "none", logits at every position)
on random token sequences and a random permutation of their positions: the output of the
permuted input must be the permuted output. Statistic: the largest max|f(Px) − P f(x)| /
max|f(x)| over seeds (float32; tolerance 1e-5). A sinusoidal encoding gives ~1 (a test).

Part 2, the order task (`sequence_tasks.order_task`): sequences of `length` tokens hold two
markers A and B at distinct random positions among filler tokens; the label is whether A comes
first. Both answers have the same bag of tokens, so a model blind to order can only guess.
The same two-layer encoder, reading the mean of its last stream (a readout that is itself
order-blind, so whatever order the model uses must come from its positions), is trained with
positions none, sinusoidal (added to the embeddings), learned (one vector per position) and
rotary (queries and keys rotated by position). Adam with cosine decay to 0, fresh sequences
every step (drawn inside the compiled program), every peak rate of `lrs` (vmapped; one program
per encoding); each (encoding, seed) is judged at the rate with the best mean final validation
accuracy on the other seeds. Measured: test accuracy on held-out sequences per seed.

Command:  python -m experiments.positional_encoding --profile quick
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar, Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from phenomena import curves, losses, models, plots, rng, selection, sequence_tasks, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main
from phenomena.models import TransformerConfig
from phenomena.results import Results
from phenomena.train import TrainConfig

ENCODINGS = ("none", "sinusoidal", "learned", "rotary")  # the arms (TransformerConfig.positions)
WITH_POSITIONS = ENCODINGS[1:]
EQUIVARIANCE_TOLERANCE = 1e-5  # relative, float32
CHANCE = 50.0  # the order task's two answers are equally likely
FAIL_MARGIN = 5.0  # points: "fails" means accuracy within 5 points of chance
SOLVE_LEVEL = 95.0  # percent: "solves" means accuracy of at least 95 %
CHECK_BATCH = 4  # sequences per seed in the equivariance check
CHECK_STREAM, VAL_STREAM, TEST_STREAM = 2, 3, 4  # each seed key's streams


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    length: int = 16  # tokens per sequence (two markers and length - 2 fillers)
    fillers: int = 8  # distinct filler tokens
    model: TransformerConfig = TransformerConfig(
        d_model=32, heads=2, layers=2, max_len=16, readout="mean")  # positions: each arm's
    lrs: tuple[float, ...] = (0.001, 0.003, 0.01)  # Adam peak rates (vmapped)
    train: TrainConfig = TrainConfig(optimizer="adam", lr=0.003, steps=1500, batch_size=64,
                                     eval_every=250)  # fresh sequences every step
    val_size: int = 512  # validation sequences per seed (choose the rate)
    test_size: int = 2048  # test sequences per seed

    IGNORED_KEYS: ClassVar[Mapping[str, str]] = {
        "train.lr": "the peak rates are the grid `lrs`; each arm keeps its best on the other seeds",
        "model.positions": "every arm of ENCODINGS is trained; the arm sets the positions",
        "model.causal": "an encoder: every position sees every other",
        "model.readout": "the order-blind mean readout is part of the design"}

    def __post_init__(self):
        super().__post_init__()
        check(self.length >= 3, f"length must be at least 3, got {self.length}")
        check(self.fillers >= 1, f"fillers must be positive, got {self.fillers}")
        check(self.model.max_len >= self.length,
              f"model.max_len must be at least length ({self.length}), got {self.model.max_len}")
        check((self.model.d_model // self.model.heads) % 2 == 0,
              "model.d_model / model.heads must be even (rotary positions rotate pairs)")
        check(len(self.lrs) >= 1 and all(r > 0 for r in self.lrs), "lrs must be positive rates")
        check(self.seeds >= 2, "seeds must be at least 2 (each seed's rate is chosen on the others)")
        check(self.train.batch_size > 0, "train.batch_size must be positive (fresh draws per step)")
        check(self.val_size > 0 and self.test_size > 0, "val_size and test_size must be positive")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "lrs": (0.003,), "train.steps": 40, "train.eval_every": 20,
              "val_size": 64, "test_size": 64},
    "quick": {},
    "full": {"seeds": 32, "length": 64, "fillers": 32, "model.d_model": 64, "model.max_len": 64,
             "lrs": (0.0003, 0.001, 0.003, 0.01), "train.steps": 10000,
             "train.batch_size": 128, "train.eval_every": 1000, "test_size": 4096},
}


def _model(config: Config, positions: str) -> TransformerConfig:
    return dataclasses.replace(config.model, positions=positions, causal=False)


# ----------------------------------------------------------------- part 1: equivariance

@functools.partial(jax.jit, static_argnums=(0, 1))
def _equivariance_errors(config: Config, positions: str, keys: jax.Array) -> jax.Array:
    """Per seed key: max|f(Px) − P f(x)| / max|f(x)| of a random encoder with `positions`."""
    vocab = config.fillers + 2
    every = dataclasses.replace(_model(config, positions), readout="every")

    def one(key):
        k_model, k_x, k_perm = jax.random.split(key, 3)
        net = models.Transformer(vocab, 2, every, rngs=nnx.Rngs(k_model))
        x = jax.random.randint(k_x, (CHECK_BATCH, config.length), 0, vocab)
        perm = jax.random.permutation(k_perm, config.length)
        out = net(x)[0]
        return jnp.max(jnp.abs(net(x[:, perm])[0] - out[:, perm])) / jnp.max(jnp.abs(out))

    return jax.vmap(one)(keys)


# ----------------------------------------------------------------- part 2: the order task

def draw(config: Config, key: jax.Array, *, n: int) -> dict:
    """`n` order-task sequences from `key`."""
    return sequence_tasks.order_task(key, n, config.length, config.fillers)


def _held_out_sets(config: Config, keys: jax.Array) -> dict:
    """Every seed's validation and test sequences (a seed axis; drawn once)."""
    return jax.jit(jax.vmap(lambda kv, kt: {"val": draw(config, kv, n=config.val_size),
                                            "test": draw(config, kt, n=config.test_size)}))(
        rng.run_stream(keys, VAL_STREAM), rng.run_stream(keys, TEST_STREAM))


def run(config: Config) -> Results:
    """The equivariance check, then every encoding at every rate (seeds and rates vmapped)."""
    results = Results()
    keys = rng.seed_keys(config.seed, config.seeds)
    check_keys = rng.run_stream(keys, CHECK_STREAM)
    results.add("equivariance_error",
                np.stack([np.asarray(_equivariance_errors(config, p, check_keys))
                          for p in ("none", "sinusoidal")]),
                ("positions", "seed"), positions=["none", "sinusoidal"])

    held_out = _held_out_sets(config, keys)
    per_run = jax.tree.map(lambda a: jnp.concatenate([a] * len(config.lrs)), held_out)
    spec = config.train.spec(schedule="warmup_cosine", warmup_steps=0,
                             decay_steps=config.train.steps)
    vocab = config.fillers + 2

    def fit(arm, run_keys, lrs):
        graphdef, state = models.transformers(vocab, 2, _model(config, arm["encoding"]), run_keys)
        loss = losses.OnFreshBatches(losses.cross_entropy, functools.partial(
            draw, config, n=config.train.batch_size))
        return train.fit(graphdef, state, loss, losses.fresh_placeholder(run_keys.shape[0]),
                         config.train, run_keys, hparams={"learning_rate": lrs}, optimizer=spec,
                         evaluate=losses.classification_metrics, eval_data=per_run, data_axis=0,
                         name=f"positions: {arm['encoding']}")

    grid = grid_fit({"encoding": ENCODINGS, "lr": config.lrs}, fit, seed=config.seed,
                    seeds=config.seeds, vmapped="lr")
    grid.add_to(results, evals={"val/accuracy": "val_accuracy", "test/accuracy": "test_accuracy",
                                "val/loss": "val_loss"}, diverged="diverged_at")
    return results


# ------------------------------------------------------------------------------- readings

def chosen_rate(results: Results, encoding: str) -> np.ndarray:
    """Per seed, the index of `encoding`'s rate with the best mean final validation accuracy
    on the other seeds (never a rate at which one of them diverged)."""
    return selection.held_out_best(curves.final(results.sel("val_accuracy", encoding=encoding)),
                                   excluded=results.sel("diverged_at", encoding=encoding) >= 0,
                                   mode="max")


def accuracy(results: Results, encoding: str, name: str = "test_accuracy") -> np.ndarray:
    """Per seed, `encoding`'s curve `name` (points) at its chosen rate: (seed, step)."""
    return 100 * selection.per_seed(results.sel(name, encoding=encoding),
                                    chosen_rate(results, encoding))


def final_accuracy(results: Results, encoding: str) -> np.ndarray:
    """Per seed, `encoding`'s final test accuracy (points) at its chosen rate."""
    return curves.final(accuracy(results, encoding))


def _rates(results: Results, config: Config, encoding: str) -> dict:
    index = chosen_rate(results, encoding)
    return {f"{lr:g}": int(np.sum(index == i)) for i, lr in enumerate(config.lrs)}


# --------------------------------------------------------------------------------- claims

claims = ClaimBook("positional_encoding", questions="Q75")


@claims.rule("no_pe_permutation_equivariant", kind=stats.CHECK,
             rule=f"per seed, a randomly initialized two-layer encoder without positions, on random "
                  f"tokens and a random permutation P of the positions: the largest "
                  f"max|f(Px) − P f(x)| / max|f(x)| over seeds is below {EQUIVARIANCE_TOLERANCE:g} "
                  f"(the same with sinusoidal positions is reported: it must not be)")
def _(results: Results, config: Config):
    errors = results.sel("equivariance_error", positions="none")
    worst = float(np.max(errors))
    return stats.decide(worst < EQUIVARIANCE_TOLERANCE,
                        "largest relative change of f(Px) against P f(x), no positions",
                        stats.Interval.exact(worst, errors.size),
                        with_sinusoidal_positions=float(np.min(
                            results.sel("equivariance_error", positions="sinusoidal"))))


@claims.rule("no_pe_fails_order_tasks",
             rule=f"test accuracy (%) on the order task of the encoder without positions, per "
                  f"seed at the rate chosen on the other seeds: reproduced when the 95 % CI lies "
                  f"at or below chance + {FAIL_MARGIN:g} ({CHANCE + FAIL_MARGIN:g} %), not "
                  f"reproduced when it lies above, nuanced when it holds it")
def _(results: Results, config: Config):
    interval = stats.mean_ci(final_accuracy(results, "none"), bounds=(0, 100))
    bar = CHANCE + FAIL_MARGIN
    verdict = (stats.REPRODUCED if interval.high <= bar else stats.NOT_REPRODUCED
               if interval.low > bar else stats.NUANCED)
    return stats.outcome(verdict, "test accuracy without positions, %", interval,
                         chance=CHANCE, rates_chosen=_rates(results, config, "none"))


@claims.rule("any_pe_solves_order_tasks",
             rule=f"test accuracy (%) on the order task with sinusoidal, learned and rotary "
                  f"positions, each per seed at its rate chosen on the other seeds: an encoding "
                  f"solves the task when the 95 % CI of its accuracy lies at or above "
                  f"{SOLVE_LEVEL:g} %; reproduced when all three do, nuanced when one or two, "
                  f"not reproduced when none (the statistic shown is the weakest encoding's)")
def _(results: Results, config: Config):
    intervals = {e: stats.mean_ci(final_accuracy(results, e), bounds=(0, 100))
                 for e in WITH_POSITIONS}
    solved = [intervals[e].low >= SOLVE_LEVEL for e in WITH_POSITIONS]
    verdict = (stats.REPRODUCED if all(solved) else stats.NUANCED if any(solved)
               else stats.NOT_REPRODUCED)
    weakest = min(WITH_POSITIONS, key=lambda e: intervals[e].mean)
    steps = results.coords["step"]
    return stats.outcome(
        verdict, f"test accuracy of the weakest encoding ({weakest}), %", intervals[weakest],
        test_accuracy=intervals, solved=dict(zip(WITH_POSITIONS, solved)),
        rates_chosen={e: _rates(results, config, e) for e in WITH_POSITIONS},
        val_accuracy_rise_last_quarter={
            e: stats.mean_ci(-curves.last_quarter_drop(steps, accuracy(results, e, "val_accuracy")))
            for e in WITH_POSITIONS})


# -------------------------------------------------------------------------------- figures

def plot(results: Results, config: Config) -> dict:
    """Test accuracy along training per encoding (each seed at its chosen rate), and the final
    accuracies against the 95 % and chance + 5 lines."""
    fig, axes = plots.figure(ncols=2, width=4.6)
    steps = results.coords["step"]
    ax = axes[0, 0]
    for i, encoding in enumerate(ENCODINGS):
        plots.band(ax, steps, accuracy(results, encoding), label=encoding,
                   color=plots.PALETTE[i], bounds=(0, 100))
    ax.axhline(SOLVE_LEVEL, color="grey", linestyle="--", linewidth=1)
    ax.axhline(CHANCE, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("training step")
    ax.set_ylabel("order-task test accuracy (%)")
    ax.set_title(f"along training (dashed: {SOLVE_LEVEL:g} %; dotted: chance)")
    ax = axes[0, 1]
    for i, encoding in enumerate(ENCODINGS):
        values = final_accuracy(results, encoding)
        interval = stats.mean_ci(values, bounds=(0, 100))
        ax.errorbar([i], [interval.mean], yerr=[[interval.mean - interval.low],
                                                [interval.high - interval.mean]],
                    fmt="o", color=plots.PALETTE[i], capsize=4)
        ax.scatter(np.full(values.shape, i) + 0.15, values, s=10, color=plots.PALETTE[i],
                   alpha=0.5)
    ax.axhline(SOLVE_LEVEL, color="grey", linestyle="--", linewidth=1)
    ax.axhline(CHANCE + FAIL_MARGIN, color="grey", linestyle=":", linewidth=1)
    ax.set_xticks(range(len(ENCODINGS)), ENCODINGS)
    ax.set_xlabel("positional encoding")
    ax.set_ylabel("final test accuracy (%)")
    ax.set_title("per seed (dots) and mean, 95 % CI")
    plots.legend_outside(axes[0, 0])
    none = stats.mean_ci(final_accuracy(results, "none"), bounds=(0, 100))
    weakest = min(stats.mean_ci(final_accuracy(results, e)).mean for e in WITH_POSITIONS)
    plots.title(fig, f"Which marker comes first? Without positions the encoder scores "
                     f"{none.mean:.1f} % (chance 50); with positions the weakest encoding scores "
                     f"{weakest:.1f} % (length {config.length}, {config.seeds} seeds)")
    return {"order_task": fig}


main(__spec__)
