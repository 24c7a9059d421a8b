"""Attention mechanics: attention equals softmax(QKᵀ/√d)V to 2.6e-7, and a trained head that
retrieves a value correctly 99.7 % of the time puts only 0.59 of its attention on the right key.

Q&A: Q74 (what attention computes), Q76 (attention as a soft lookup of values by keys).

Part 1, `attention_formula` (check). Per seed, the library's multi-head attention layer
(`models.transformer.Attention`, on `jax.nn.dot_product_attention`; 4 heads, width 32) with a
random initialization, on random inputs (4 sequences of 12 vectors), with no mask, a causal
mask and a padding mask; its output is compared with softmax(QKᵀ/√d)V written out in numpy
float64 from the layer's own projections (`explicit_attention`); its returned weights must
equal the formula's softmax and their rows sum to 1. Statistic: the largest
max|out − reference| / max|reference| over masks and seeds; a missing 1/√d scale gives
0.6–1.3 on random inputs (a test).

Part 2, `attention_finds_key`. Key-value retrieval with one token per pair
(`sequence_tasks.key_value_retrieval`): `pairs` pairs with distinct keys out of `keys`, each
with a random value out of `values`, then a query token naming one key; the answer is its
value. A one-layer, one-head transformer without positions (the pair tokens carry everything;
order is irrelevant) reads the answer from the query's position. Trained with Adam (cosine
decay to 0) on fresh sequences drawn from each step's key inside the compiled program (no
fixed training set, so nothing to memorize), at every peak rate of `lrs` (vmapped); each seed
is judged at the rate with the best mean final validation accuracy on the other seeds.
Measured on held-out sequences: the query's attention weight on the queried pair, averaged
over sequences (per seed), and the accuracy.

Measured (quick, seed 0): formula error 2.6e-7 (24 mask x seed cases); after training, the
query's weight on the queried pair 0.59 [0.56, 0.62], on itself 0.27, accuracy 99.7 %; the claim
"> 0.9" is not reproduced at this converged setup (a recorded deviation: see the claim).

Command:  python -m experiments.attention_mechanics --profile quick
Runtime:  smoke ~10 s; quick ~90 s CPU (62 programs; 3 rates x 8 seeds x 3000 steps);
          full (32 seeds, 32 pairs, 10000 steps) is for a GPU.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar, Mapping

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from flax import nnx

from phenomena import curves, losses, models, plots, rng, selection, sequence_tasks, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main, map_runs
from phenomena.models import TransformerConfig
from phenomena.models import transformer as tf
from phenomena.results import Results
from phenomena.train import TrainConfig

ERROR_TOLERANCE = 1e-5  # float32 attention against the float64 formula (relative to max |ref|)
WEIGHT_TOLERANCE = 1e-5  # float32 attention weights against the formula's (absolute; in [0, 1])
SUM_TOLERANCE = 1e-6  # attention rows must sum to 1 within this
MASS_THRESHOLD = 0.9  # the claim: attention mass on the correct key above 0.9
MASKS = ("none", "causal", "padding")  # the masks of the formula check
CHECK_HEADS, CHECK_WIDTH, CHECK_BATCH, CHECK_LENGTH = 4, 32, 4, 12  # the formula check's layer
CHECK_STREAM, VAL_STREAM, TEST_STREAM = 2, 3, 4  # each seed key's streams
MAP_EXAMPLES = 12  # test sequences whose attention rows are kept for the maps


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    pairs: int = 4  # key-value pairs per sequence
    keys: int = 8  # distinct keys (each sequence uses `pairs` of them)
    values: int = 4  # distinct values (the classes)
    model: TransformerConfig = TransformerConfig(
        d_model=32, heads=1, layers=1, positions="none", readout="last")  # the retriever
    lrs: tuple[float, ...] = (0.0003, 0.001, 0.003)  # Adam peak rates (vmapped)
    train: TrainConfig = TrainConfig(optimizer="adam", lr=0.001, steps=3000, batch_size=32,
                                     eval_every=250)  # fresh sequences every step
    val_size: int = 512  # validation sequences per seed (choose the rate)
    test_size: int = 1024  # test sequences per seed (the attention mass and accuracy)

    IGNORED_KEYS: ClassVar[Mapping[str, str]] = {
        "train.lr": "the peak rates are the grid `lrs`; each seed keeps the best on the others",
        "model.max_len": "no learned positions: nothing is sized by max_len"}

    def __post_init__(self):
        super().__post_init__()
        check(1 <= self.pairs <= self.keys, f"pairs must be in [1, keys], got {self.pairs}")
        check(self.values >= 2, f"values must be at least 2, got {self.values}")
        check(self.model.layers == 1 and self.model.heads == 1,
              "model.layers and model.heads must be 1: the claim reads one head's attention")
        check(self.model.positions == "none", "model.positions must be none (order is irrelevant)")
        check(not self.model.causal, "model.causal must be false (the query reads every pair)")
        check(self.model.readout == "last",
              "model.readout must be last: the answer is read at the query, the last position")
        check(len(self.lrs) >= 1 and all(r > 0 for r in self.lrs), "lrs must be positive rates")
        check(self.seeds >= 2, "seeds must be at least 2 (each seed's rate is chosen on the others)")
        check(self.train.batch_size > 0, "train.batch_size must be positive (fresh draws per step)")
        check(self.val_size > 0 and self.test_size > 0, "val_size and test_size must be positive")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "lrs": (0.003,), "train.steps": 40, "train.eval_every": 20,
              "val_size": 64, "test_size": 64},
    "quick": {},
    "full": {"seeds": 32, "pairs": 32, "keys": 64, "values": 32, "model.d_model": 64,
             "lrs": (0.0003, 0.001, 0.003, 0.01), "train.steps": 10000,
             "train.batch_size": 128, "train.eval_every": 1000, "test_size": 4096},
}


# --------------------------------------------------------------------- part 1: the formula

def explicit_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray,
                       mask) -> tuple[np.ndarray, np.ndarray]:
    """softmax(q kᵀ / √d) v in float64 numpy, per sequence and head: q, k, v are
    (batch, time, heads, d); `mask` broadcasts to (batch, heads, q, k), True where allowed.
    Returns the heads' outputs (batch, time, heads, d) and the weights (batch, heads, q, k)."""
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    logits = np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(q.shape[-1])
    if mask is not None:
        logits = np.where(np.asarray(mask), logits, -np.inf)
    weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    return np.einsum("bhqk,bkhd->bqhd", weights, v), weights


def _masks(key: jax.Array) -> list:
    """The check's masks, in the order of `MASKS`: none, causal, random lengths 1..T padded."""
    lengths = jax.random.randint(key, (CHECK_BATCH,), 1, CHECK_LENGTH + 1)
    return [None, tf.causal_mask(CHECK_LENGTH), tf.padding_mask(lengths, CHECK_LENGTH)]


@jax.jit
def _layer_outputs(keys: jax.Array) -> dict:
    """Per seed key (vmapped, one program): a random layer's projections, output and weights
    under every mask of `MASKS`, and the masks themselves, broadcast to (batch, 1, q, k)."""
    def one(key):
        k_layer, k_x, k_mask = jax.random.split(key, 3)
        layer = tf.Attention(CHECK_WIDTH, CHECK_HEADS, rngs=nnx.Rngs(k_layer))
        x = jax.random.normal(k_x, (CHECK_BATCH, CHECK_LENGTH, CHECK_WIDTH))
        masks = _masks(k_mask)
        outputs = [layer(x, mask=m) for m in masks]
        full = (CHECK_BATCH, 1, CHECK_LENGTH, CHECK_LENGTH)
        return {"q": layer.query(x), "k": layer.key(x), "v": layer.value(x),
                "kernel": layer.out.kernel[...], "bias": layer.out.bias[...],
                "out": jnp.stack([o for o, _ in outputs]),
                "weights": jnp.stack([w for _, w in outputs]),
                "mask": jnp.stack([jnp.ones(full, bool) if m is None else jnp.broadcast_to(m, full)
                                   for m in masks])}
    return jax.vmap(one)(keys)


def formula_errors(keys: jax.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per mask and seed (arrays (mask, seed)): the layer's relative output error against
    `explicit_attention` (the output projection applied in float64 too), the largest absolute
    difference of its weights from the formula's, and the largest |row sum − 1| of its weights."""
    found = jax.tree.map(np.asarray, _layer_outputs(keys))
    split = lambda a: a.reshape(CHECK_BATCH, CHECK_LENGTH, CHECK_HEADS, -1)  # noqa: E731
    errors = np.zeros((len(MASKS), keys.shape[0]))
    weight_errors, sums = np.zeros_like(errors), np.zeros_like(errors)
    for seed in range(keys.shape[0]):
        q, k, v = (split(found[name][seed]) for name in ("q", "k", "v"))
        kernel, bias = (np.asarray(found[name][seed], np.float64) for name in ("kernel", "bias"))
        for i in range(len(MASKS)):
            heads, weights = explicit_attention(q, k, v, found["mask"][seed, i])
            reference = heads.reshape(CHECK_BATCH, CHECK_LENGTH, CHECK_WIDTH) @ kernel + bias
            out = found["out"][seed, i]
            errors[i, seed] = np.max(np.abs(out - reference)) / np.max(np.abs(reference))
            found_weights = found["weights"][seed, i].astype(np.float64)
            weight_errors[i, seed] = np.max(np.abs(found_weights - weights))
            sums[i, seed] = np.max(np.abs(found_weights.sum(-1) - 1))
    return errors, weight_errors, sums


# ------------------------------------------------------------------- part 2: the retrieval

def draw(config: Config, key: jax.Array, *, n: int) -> dict:
    """`n` retrieval sequences of the configured task from `key`."""
    return sequence_tasks.key_value_retrieval(key, n, config.pairs, config.keys, config.values)


def vocabulary(config: Config) -> int:
    """Pair tokens plus query tokens."""
    return config.keys * (config.values + 1)


def retrieval_metrics(model, data: dict) -> dict:
    """Accuracy on `data` and the query's mean attention weight on the queried pair."""
    logits, extras = model(data["x"])
    query_row = extras["attention"][0][:, 0, -1, :]  # (n, pairs + 1): the one head's query row
    on_target = jnp.take_along_axis(query_row, data["target_position"][:, None], axis=1)[:, 0]
    return {"accuracy": jnp.mean(jnp.argmax(logits, -1) == data["y"]),
            "target_mass": jnp.mean(on_target),
            "self_mass": jnp.mean(query_row[:, -1])}


def _evaluate(model, splits: dict) -> dict:
    """`retrieval_metrics` on each split (the evaluate hook)."""
    return {f"{name}/{k}": v for name, data in splits.items()
            for k, v in retrieval_metrics(model, data).items()}


def _held_out_sets(config: Config, keys: jax.Array) -> dict:
    """Every seed's validation and test sequences (a seed axis; fixed, drawn once)."""
    return jax.jit(jax.vmap(lambda kv, kt: {"val": draw(config, kv, n=config.val_size),
                                            "test": draw(config, kt, n=config.test_size)}))(
        rng.run_stream(keys, VAL_STREAM), rng.run_stream(keys, TEST_STREAM))


def run(config: Config) -> Results:
    """The formula check per seed, then every seed trained at every rate in one program."""
    results = Results()
    keys = rng.seed_keys(config.seed, config.seeds)
    errors, weight_errors, sums = formula_errors(rng.run_stream(keys, CHECK_STREAM))
    results.add("formula_error", errors, ("mask", "seed"), mask=list(MASKS))
    results.add("weight_error", weight_errors, ("mask", "seed"))
    results.add("row_sum_error", sums, ("mask", "seed"))

    held_out = _held_out_sets(config, keys)
    per_run = jax.tree.map(lambda a: jnp.concatenate([a] * len(config.lrs)), held_out)
    def fit(arm, run_keys, lrs):
        graphdef, state = models.transformers(vocabulary(config), config.values, config.model,
                                              run_keys)
        # Every step draws its own sequences inside the program (no fixed training set).
        loss = losses.OnFreshBatches(losses.cross_entropy, functools.partial(
            draw, config, n=config.train.batch_size))
        return train.fit(graphdef, state, loss, losses.fresh_placeholder(run_keys.shape[0]),
                         config.train,
                         run_keys, hparams={"learning_rate": lrs},
                         optimizer=config.train.spec(schedule="warmup_cosine", warmup_steps=0,
                                                     decay_steps=config.train.steps),
                         evaluate=_evaluate, eval_data=per_run, data_axis=0, name="retrieval")

    grid = grid_fit({"lr": config.lrs}, fit, seed=config.seed, seeds=config.seeds, vmapped="lr")
    grid.add_to(results, evals={f"{s}/{m}": f"{s}_{m}" for s in ("val", "test")
                                for m in ("accuracy", "target_mass", "self_mass")},
                diverged="diverged_at")
    # The query's attention row on the first few test sequences, for the attention maps.
    examples = jax.tree.map(lambda a: a[:, :MAP_EXAMPLES], per_run["test"])
    history = grid.histories[()]
    rows = map_runs(query_rows, history.graphdef, history.state, examples, run_axes=(0,))
    shape = (len(config.lrs), config.seeds)
    results.add("query_rows", rows.reshape(*shape, *rows.shape[1:]),
                ("lr", "seed", "example", "position"))
    results.add("example_target", np.asarray(examples["target_position"]).reshape(
        *shape, MAP_EXAMPLES), ("lr", "seed", "example"))
    return results


def query_rows(model, data: dict) -> jax.Array:
    """The query's attention weights over the positions of each sequence of `data`."""
    return model(data["x"])[1]["attention"][0][:, 0, -1, :]


# ------------------------------------------------------------------------------- readings

def chosen_rate(results: Results) -> np.ndarray:
    """Per seed, the index of the rate with the best mean final validation accuracy on the
    other seeds (never a rate at which one of them diverged)."""
    return selection.held_out_best(curves.final(results["val_accuracy"]),
                                   excluded=results["diverged_at"] >= 0, mode="max")


def at_chosen_rate(results: Results, name: str) -> np.ndarray:
    """Array `name` (lr, seed, step) at each seed's chosen rate: (seed, step)."""
    return selection.per_seed(results[name], chosen_rate(results))


# --------------------------------------------------------------------------------- claims

claims = ClaimBook("attention_mechanics", questions="Q74, Q76")


@claims.rule("attention_formula", kind=stats.CHECK, questions="Q74",
             rule=f"per seed, a randomly initialized 4-head attention layer on random inputs, with "
                  f"no mask, a causal mask and a padding mask: its output equals softmax(QKᵀ/√d)V "
                  f"written out in float64 numpy from its own projections (largest "
                  f"max|out − reference| / max|reference| over masks and seeds < "
                  f"{ERROR_TOLERANCE:g}), its weights equal the formula's softmax (largest "
                  f"absolute difference < {WEIGHT_TOLERANCE:g}) and every row of its weights "
                  f"sums to 1 (within {SUM_TOLERANCE:g})")
def _(results: Results, config: Config):
    errors, sums = results["formula_error"], results["row_sum_error"]
    weight_errors = results["weight_error"]
    holds = bool(np.all(errors < ERROR_TOLERANCE) and np.all(weight_errors < WEIGHT_TOLERANCE)
                 and np.all(sums < SUM_TOLERANCE))
    return stats.decide(holds, "largest relative error of attention against the formula "
                               "(masks x seeds)", stats.Interval.exact(float(np.max(errors)), errors.size),
                        largest_error_per_mask=dict(zip(results.coords["mask"], np.max(errors, axis=1))),
                        largest_weight_error=float(np.max(weight_errors)),
                        largest_row_sum_error=float(np.max(sums)))


SOFT_HEAD = (
    "At a converged setup (test accuracy 99.7 %, flat over the last 1500 of 3000 steps; each "
    "seed at the rate chosen on the other seeds' validation accuracy, 0.001 for 7 of 8 seeds, "
    "ties at 100 % going to the lowest rate) one trained head puts 0.59 [0.56, 0.62] of the "
    "query's attention on the queried pair, 0.27 on the query itself and the rest on the other "
    "pairs (0.80 of the pairs' share). Retrieval is solved by a soft lookup: the readout decodes "
    "the answer from a weighted mix of values, and once the answer is right the cross-entropy "
    "(last-step training loss 0.014, mean over the 24 runs) no longer drives the weights apart. "
    "Every rate gives the same picture (0.56, 0.59, 0.65 at 0.0003, 0.001, 0.003); the sharpest "
    "is the least accurate (97.9 %). An adversarial review found no setup near 0.9: 3x the steps "
    "0.58, a constant rate 0.61, width 64 0.61, 16 pairs 0.52, seeds 1 and 2 0.54 and 0.60; the "
    "sharpest head seen, 0.77 at rate 0.01 and 3x the steps, retrieves only 90.6 % correctly.")


@claims.rule("attention_finds_key", questions="Q76", expected=stats.NOT_REPRODUCED,
             deviation=SOFT_HEAD,
             rule=f"after training on key-value retrieval (one layer, one head, each seed at the "
                  f"rate chosen on the other seeds' validation accuracy), the query's attention "
                  f"weight on the queried pair, averaged over held-out sequences per seed: "
                  f"reproduced when the 95 % CI over seeds lies above {MASS_THRESHOLD}, not "
                  f"reproduced when it lies below, nuanced when it holds {MASS_THRESHOLD}")
def _(results: Results, config: Config):
    mass = curves.final(at_chosen_rate(results, "test_target_mass"))
    interval = stats.mean_ci(mass, bounds=(0, 1))
    verdict = (stats.REPRODUCED if interval.above(MASS_THRESHOLD) else stats.NOT_REPRODUCED
               if interval.below(MASS_THRESHOLD) else stats.NUANCED)
    steps = results.coords["step"]
    return stats.outcome(
        verdict, "mean attention weight of the query on the queried pair (trained)", interval,
        test_accuracy=stats.mean_ci(100 * curves.final(at_chosen_rate(results, "test_accuracy")),
                                    bounds=(0, 100)),
        chance_accuracy=100 / config.values,
        uniform_mass=1 / (config.pairs + 1),
        mass_at_init=stats.mean_ci(at_chosen_rate(results, "test_target_mass")[:, 0], bounds=(0, 1)),
        weight_on_itself=stats.mean_ci(curves.final(at_chosen_rate(results, "test_self_mass")),
                                       bounds=(0, 1)),
        # The claim reads the whole row; this is the share of the pairs' total that the
        # queried pair gets, for readers who count the query's weight on itself apart.
        share_among_pairs=stats.mean_ci(
            curves.final(at_chosen_rate(results, "test_target_mass"))
            / (1 - curves.final(at_chosen_rate(results, "test_self_mass"))), bounds=(0, 1)),
        rates_chosen={f"{lr:g}": int(np.sum(chosen_rate(results) == i))
                      for i, lr in enumerate(config.lrs)},
        val_accuracy_rise_last_quarter=stats.mean_ci(
            -100 * curves.last_quarter_drop(steps, at_chosen_rate(results, "val_accuracy"))))


# -------------------------------------------------------------------------------- figures

def _attention_map(ax, results: Results, config: Config) -> None:
    """The first seed's query rows on a few test sequences (its chosen rate), the queried pair
    outlined: where a trained head looks."""
    index = chosen_rate(results)[0]
    rows = results["query_rows"][index, 0]  # (example, position)
    targets = results["example_target"][index, 0]
    image = ax.imshow(rows, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    for example, target in enumerate(targets):
        ax.add_patch(plt.Rectangle((target - 0.5, example - 0.5), 1, 1, fill=False,
                                   edgecolor="white", linewidth=1.5))
    ax.set_xticks(range(config.pairs + 1), [*(str(i + 1) for i in range(config.pairs)), "query"])
    ax.set_xlabel("position (pair number, then the query)")
    ax.set_ylabel("test sequence")
    ax.set_title("query's attention, first seed\n(white box: the queried pair)")
    plt.colorbar(image, ax=ax, label="attention weight")


def plot(results: Results, config: Config) -> dict:
    """The query's attention on the queried pair and the accuracy along training (each seed at
    its chosen rate), and the attention map of a few test sequences."""
    fig, axes = plots.figure(ncols=3, width=4.6)
    steps = results.coords["step"]
    ax = axes[0, 0]
    plots.band(ax, steps, at_chosen_rate(results, "test_target_mass"), label="on the queried pair",
               color=plots.PALETTE[0], bounds=(0, 1))
    plots.band(ax, steps, at_chosen_rate(results, "test_self_mass"), label="on the query itself",
               color=plots.PALETTE[2], bounds=(0, 1))
    ax.axhline(MASS_THRESHOLD, color="grey", linestyle="--", linewidth=1)
    ax.axhline(1 / (config.pairs + 1), color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("training step")
    ax.set_ylabel("query's attention weight (test mean)")
    ax.set_ylim(0, 1)
    ax.set_title(f"where the query looks\n(dashed: {MASS_THRESHOLD}; dotted: uniform)")
    plots.legend_outside(ax)
    ax = axes[0, 1]
    plots.band(ax, steps, 100 * at_chosen_rate(results, "test_accuracy"), color=plots.PALETTE[1],
               bounds=(0, 100))
    ax.axhline(100 / config.values, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("training step")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("retrieval accuracy (dotted: chance)")
    _attention_map(axes[0, 2], results, config)
    mass = stats.mean_ci(curves.final(at_chosen_rate(results, "test_target_mass")), bounds=(0, 1))
    plots.title(fig, f"After training, the query puts {mass.mean:.2f} [{mass.low:.2f}, "
                     f"{mass.high:.2f}] of its attention on the queried pair "
                     f"({config.pairs} pairs; mean, 95 % CI over {config.seeds} seeds)")
    return {"retrieval": fig}


main(__spec__)
