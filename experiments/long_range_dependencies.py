"""Long-range dependencies: recalling a token across 8-64 fillers after 300 steps, a 2-layer transformer stays at 100 % while a vanilla RNN (41 % at d = 64) and an LSTM (11 %) fall, but a GRU at its own rate holds too (92 %): nuanced; the RNN's input gradient falls 4 decades over 63 steps.

Q&A: Q73 (RNNs "struggle with long-range dependencies", "suffer from vanishing gradients",
"process sequential data step-by-step"), Q80 (attention "directly attends to any position").

Task (`sequence_tasks.token_at_distance`): recall one token across d filler tokens. A sequence
is [s, f_1, ..., f_d]: s is one of `classes` tokens, the fillers are drawn from `fillers`
tokens of their own, and the answer, read at the last position, is s: a dependency that
spans exactly d positions, with nothing after s carrying the answer. Every training step draws
fresh sequences inside the compiled program (`losses.OnFreshBatches`): there is no training
set to memorize, so accuracy on held-out sequences measures the learned dependency.

Models, matched in size: a 2-layer transformer encoder (2 heads, width `transformer.d_model`,
pre-LayerNorm, GELU MLP; read at the last position) with rotary positions: they add no
parameter, so its parameter count is the same at every distance, and attention then sees
offsets, which is what a distance task is about (the answer token is also recognizable by its
content, so the choice of positions matters little here). Against it, a vanilla (tanh) RNN,
an LSTM and a GRU (`models.recurrents`, token embedding of width `embed`, read from the last
state), each with the hidden size whose parameter count is nearest the transformer's (the
counts are recorded). The LSTM's forget gate starts with bias `forget_bias` (1: it starts
remembering, Gers et al. 2000, Jozefowicz et al. 2015), its fairest setting for long lags.

Training: Adam at every rate of `rates` (`gru_rates` for the GRU; vmapped), batch
`train.batch_size`, `train.steps` steps; every model x distance is trained on the same seed keys (same batches), and each seed is
judged at the rate with the best mean final validation accuracy on the OTHER seeds
(`selection.held_out_best`; a rate where one of their runs diverged is excluded). Accuracy is
measured on `test_size` held-out sequences per seed.

Probes: for the vanilla RNN, ||d loss / d x_t||, the gradient of the loss read at the end with
respect to the embedded input at position t, against its lag (the distance back from the read
position), on held-out sequences of the largest distance; at initialization and after
training at the largest distance. For `parallel_over_time`, the jaxpr of one forward pass
(`jax.make_jaxpr`) at two lengths: the trip count of its loops over time, and its critical
path (the longest chain of dependent operations, a scan counted as its length times its body's).

Claims (rules fixed before the deciding run):
- rnn_gradient_decays_with_distance: per seed, log10 of the mean (over sequences) gradient norm
  at the filler lags 1, 2, 4, ... and the last filler's (largest distance - 1: positions
  holding the same kind of token; the recalled token's own lag is reported apart);
  `stats.trend_verdict` (falls with lag, over the whole range) at initialization and after
  training: reproduced when it falls in both, nuanced when in one, not reproduced in neither.
- transformer_holds_on_recall: the transformer holds when the 95 % CI of its test accuracy lies
  above 90 % at every distance and the paired CI of its drop from the smallest to the largest
  distance lies below 5 points; a recurrent model "falls" when the paired CI of
  (transformer - it) at the largest distance lies above 0 and `stats.trend_verdict` says its
  accuracy falls with distance. Reproduced: the transformer holds and all three fall;
  nuanced: it holds and one or two fall; not reproduced otherwise.
- not_universal (descriptive): nuanced by construction; states the task family measured here
  and Long Range Arena's contrary evidence, with the measured advantage at every distance.
- parallel_over_time (check): every recurrent net's forward pass loops over time exactly T
  times at both lengths; the transformer's has no loop and the same critical path at both.

Setup choices, measured before the deciding run (other seeds):
- Cost: a step of the transformer at T = 65 costs ~7.5 ms CPU per run at batch 8 (attention's
  T^2; 61 MFLOP per run-step at batch 16), so quick uses width 16 (d_model 32 cost 3x), batch
  8 and 300 steps; the recurrent nets are matched to it (4872 parameters; vanilla RNN 57,
  LSTM 26, GRU 31 hidden units: 4938, 4944, 4976).
- Rates: a pilot (seed 100) on one grid 0.003-0.03 chose its bottom for the transformer,
  vanilla RNN and LSTM and its top for the GRU at d >= 16, so each now has a window around its
  best: 0.001-0.01, and 0.01-0.1 for the GRU. Seed 0 chose 0.01 (the window's top) for the
  vanilla RNN at d = 64 (40.9 % there); 0.03 gave 28 % against 31 % at 0.01 in a separate
  earlier run of the same seeds, and 28 % against 49 % at 900 steps (review, seed 1); the
  pilot did not choose 0.03 either.
- Budget: the transformer has converged at 300 steps (100 % at every distance; steps to 90 %
  validation accuracy 98 / 96 / 147 / 204 at d = 8 / 16 / 32 / 64, seed 0); the GRU reaches 90 %
  in ~90-130 steps at every distance; the vanilla RNN and the LSTM are still learning at
  d >= 32. With 8x the steps (2400, d = 64, seed 200, 4 seeds): LSTM (forget bias 1) at rate
  0.001 38 % at step 300, 77 % at 600, 100 % in 4/4 seeds from 1500; vanilla RNN at 0.003
  ~71 % from step 900 on (2/4 seeds at 100 %); GRU at 0.1 100 % from step 300. But at seed 4
  (4 seeds, 2400 steps, rate 0.001; review) the LSTM stayed at chance (16 %) and the vanilla
  RNN solved 1/4: "falls" is partly about training time, partly about whether a seed leaves
  the chance plateau at all.
- The full range (d = 256, seed 300, 4 seeds, 300 steps): transformer at 0.01 100 % (4/4), at
  0.003 96 %; GRU at 0.1 3/4 seeds at 100 %, one at chance; at 0.01 and 0.03 chance.
- The LSTM's forget gate starts at bias 1 (with Flax's default 0 it halves its memory every
  step at init). With bias 0 the LSTM stayed at chance at d = 64 after 2000 steps (batch 16,
  rates 0.01 and 0.03, 4 seeds); the two were not compared at the same rates, so what the bias
  adds here is not measured.

Command:  python -m experiments.long_range_dependencies --profile quick
Expected (quick, 8 seeds; seed 0 / seed 1):
- rnn_gradient_decays_with_distance: reproduced. log10 ||d loss / d x_t|| falls from lag 1 to
  63 by 4.10 [4.00, 4.21] / 3.90 [3.68, 4.12] decades at init (x0.86 per step) and by 16.5
  [9.1, 23.9] / 19.8 [10.7, 29.0] in the RNN trained at d = 64 (x0.57 / x0.51 per step),
  falling to a minimum near lag 59, then rising 0.8 [0.5, 1.2] decades over the first fillers
  of the sequence (lags 60-63, not among the power-of-two lags the rule reads); the trained
  net's gradient at the recalled token itself is 16 / 19 decades below lag 1 (it did not learn to read it: 41 / 33 %). Seed 2 (review): nuanced,
  trained fall 5.5 [-3.2, 14.3] decades: the RNN's rate at d = 64 was 0.003 (7/8 seeds), where
  5 of 8 trained nets keep a flat input gradient (-0.5 to +0.3 decades from lag 1 to 63); the
  at-init half fell 3.8-4.1 decades in all five review runs. The trained half holds at one
  rate, not in general; the full profile's 16 seeds should settle the expected verdict.
- transformer_holds_on_recall: nuanced (recorded deviation). Test accuracy at d = 8 / 16 / 32 /
  64, seed 0 | seed 1: transformer 100 / 100 / 99.8 / 100 | 100 everywhere; vanilla RNN 100 /
  100 / 92 / 41 | 100 / 100 / 95 / 33; LSTM 99 / 89 / 65 / 11 | 100 / 98 / 38 / 35; GRU 100 / 91
  / 100 / 92 | 100 everywhere. Transformer - net at d = 64: vanilla RNN 59.1 [46.4, 71.7] |
  67.1 [51.3, 82.9], LSTM 89.0 [86.5, 91.4] | 65.0 [32.2, 97.8], GRU 8.4 [-11.5, 28.3] | 0.
- not_universal: nuanced (by construction). The advantage over the best recurrent net is 0 at
  d = 8 and 16 (every net recalls), and at d = 64 it is over the vanilla RNN and the LSTM only.
- parallel_over_time: reproduced. Loops over time: 9 / 65 for every recurrent net at T = 9 /
  65, none in the transformer; critical path: transformer 147 at both lengths, vanilla RNN
  46 -> 270, LSTM 82 -> 530, GRU 100 -> 660.
Runtime: smoke ~31 s CPU warm (~160 s cold: eight training programs, one per model and
distance); quick 159-204 s CPU warm (user + sys; 98-233 s wall on 2 cores shared with other jobs),
~390 s CPU cold (16 training programs, ~20 s CPU each to compile); both over the suite's
120 s aim. Full (16 seeds, d = 8-512, width 32, batch 32, 3000 steps) is sized for a GPU and
was not run.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from phenomena import curves, losses, models, plots, rng, selection, sequence_tasks, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main, map_runs
from phenomena.models import RecurrentConfig, TransformerConfig
from phenomena.probes.units import safe_norm
from phenomena.results import Results
from phenomena.train import TrainConfig

RECURRENT = ("rnn", "lstm", "gru")  # the recurrent nets, `models.recurrents` cells
MODELS = ("transformer", *RECURRENT)
NAMES = {"transformer": "transformer", "rnn": "vanilla RNN", "lstm": "LSTM", "gru": "GRU"}
HIGH_ACCURACY = 90.0  # points: the transformer's accuracy CI must stay above this everywhere
HOLD_MARGIN = 5.0  # points: its paired drop from the smallest to the largest distance stays below
VAL_STREAM, TEST_STREAM = 2, 3  # each seed key's streams for the held-out sequences
TINY = float(np.finfo(np.float32).tiny)  # a gradient norm that underflows float32 counts as this
# Long Range Arena (Tay et al. 2020; LITERATURE.md): average accuracy over its six tasks.
LRA = {"vanilla transformer": 54.4, "S4 (Gu et al. 2022, a recurrent state-space model)": 86.1}


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    distances: tuple[int, ...] = (8, 16, 32, 64)  # filler tokens between the token and where it is read
    classes: int = 8  # tokens to recall (chance accuracy 1 / classes)
    fillers: int = 8  # filler tokens, a vocabulary of their own
    transformer: TransformerConfig = TransformerConfig(
        d_model=16, heads=2, layers=2, mlp_ratio=2, positions="rotary",
        readout="last")  # the attention model; the recurrent nets are matched to its size
    embed: int = 16  # token embedding width of the recurrent nets
    forget_bias: float = 1.0  # initial bias of the LSTM's forget gate (Flax's default is 0)
    rates: tuple[float, ...] = (0.001, 0.003, 0.01)  # Adam rates (vmapped) of the transformer, RNN and LSTM
    gru_rates: tuple[float, ...] = (0.01, 0.03, 0.1)  # the GRU's Adam rates (it learns best at larger ones)
    train: TrainConfig = TrainConfig(optimizer="adam", lr=0.01, steps=300, batch_size=8,
                                     eval_every=100)  # fresh sequences every step
    val_size: int = 128  # validation sequences per seed and distance (choose the rate)
    test_size: int = 128  # test sequences per seed and distance (the accuracy)
    gradient_examples: int = 64  # test sequences of the largest distance for the gradient probe

    IGNORED_KEYS: ClassVar[Mapping[str, str]] = {
        "train.lr": "the rates are the grids `rates` and `gru_rates`; each seed keeps the best "
                    "on the other seeds",
        "transformer.max_len": "rotary positions: nothing is sized by max_len"}

    def __post_init__(self):
        super().__post_init__()
        check(len(self.distances) >= 2 and self.distances[0] >= 1 and self.distances[-1] >= 3
              and list(self.distances) == sorted(set(self.distances)),
              f"distances must be at least two increasing positive ints, the largest >= 3 (the "
              f"gradient probe compares fillers at two lags), got {self.distances}")
        check(self.classes >= 2 and self.fillers >= 1,
              f"classes must be >= 2 and fillers >= 1, got {self.classes} and {self.fillers}")
        check(self.transformer.layers == 2, "transformer.layers must be 2 (the claim's model)")
        check(self.transformer.readout == "last",
              "transformer.readout must be last (the answer is read at the last position)")
        check(self.transformer.positions == "rotary",
              "transformer.positions must be rotary (no parameters that depend on the length)")
        check(self.embed > 0, f"embed must be positive, got {self.embed}")
        check(len(self.rates) >= 1 and all(r > 0 for r in self.rates + self.gru_rates),
              "rates and gru_rates must be positive")
        check(len(self.gru_rates) == len(self.rates),
              "gru_rates must have as many rates as rates (they share the results' rate axis)")
        check(self.seeds >= 2, "seeds must be at least 2 (each seed's rate is chosen on the others)")
        check(self.train.batch_size > 0, "train.batch_size must be positive (fresh draws per step)")
        check(self.val_size > 0 and self.test_size > 0, "val_size and test_size must be positive")
        check(0 < self.gradient_examples <= self.test_size,
              f"gradient_examples must be in [1, test_size], got {self.gradient_examples}")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "distances": (2, 4), "rates": (0.01,), "gru_rates": (0.03,),
              "train.steps": 20,
              "train.eval_every": 10, "val_size": 16, "test_size": 16, "gradient_examples": 8},
    "quick": {},
    "full": {"seeds": 16, "distances": (8, 16, 32, 64, 128, 256, 512), "transformer.d_model": 32,
             "embed": 32, "rates": (0.0003, 0.001, 0.003, 0.01),
             "gru_rates": (0.003, 0.01, 0.03, 0.1), "train.steps": 3000,
             "train.batch_size": 32, "train.eval_every": 300, "test_size": 1024},
}


# ------------------------------------------------------------------------ task and models

def draw(config: Config, distance: int, key: jax.Array, *, n: int) -> dict:
    """`n` sequences of the recall task at `distance` (the token, then `distance` fillers)."""
    return sequence_tasks.token_at_distance(key, n, distance, config.classes, config.fillers)


def model_rates(config: Config, model: str) -> tuple[float, ...]:
    """The Adam rates `model` is trained at."""
    return config.gru_rates if model == "gru" else config.rates


def vocabulary(config: Config) -> int:
    """Recalled tokens plus filler tokens."""
    return config.classes + config.fillers


def recurrent_config(config: Config, cell: str, hidden: int) -> RecurrentConfig:
    """The recurrent net of `cell` with `hidden` units, read from its last state."""
    return RecurrentConfig(cell=cell, hidden=hidden, embed=config.embed, readout="last")


def _module(config: Config, model: str, rngs: nnx.Rngs, hidden: int | None = None):
    """One `model` as this experiment builds it (`hidden` overrides a recurrent net's size)."""
    if model == "transformer":
        return models.Transformer(vocabulary(config), config.classes, config.transformer,
                                  rngs=rngs)
    hidden = hidden_size(config, model) if hidden is None else hidden
    return models.Recurrent(vocabulary(config), config.classes,
                            recurrent_config(config, model, hidden), rngs=rngs)


def _count(make) -> int:
    """Trainable parameters of the module `make(rngs)` builds (shapes only, nothing computed)."""
    return models.count_params(nnx.state(nnx.eval_shape(lambda: make(nnx.Rngs(0)))))


@functools.lru_cache(maxsize=None)
def parameter_count(config: Config, model: str) -> int:
    """Trainable parameters of `model` as this experiment builds it."""
    return _count(lambda rngs: _module(config, model, rngs))


@functools.lru_cache(maxsize=None)
def hidden_size(config: Config, cell: str) -> int:
    """The hidden size whose parameter count is nearest the transformer's (counts grow with
    the hidden size, so a bisection finds the first size at or above it)."""
    target = parameter_count(config, "transformer")

    def count(hidden):
        return _count(lambda rngs: _module(config, cell, rngs, hidden))

    low, high = 1, 1
    while count(high) < target:
        low, high = high, 2 * high
    while high - low > 1:  # count(low) < target <= count(high), or low == high == 1
        middle = (low + high) // 2
        low, high = (middle, high) if count(middle) < target else (low, middle)
    return min((low, high), key=lambda h: abs(count(h) - target))


def build(config: Config, model: str, keys: jax.Array):
    """`(graphdef, state)` of one `model` per key, at initialization (the LSTM's forget gate
    bias set to `forget_bias`)."""
    if model == "transformer":
        return models.transformers(vocabulary(config), config.classes, config.transformer, keys)
    graphdef, state = models.recurrents(vocabulary(config), config.classes,
                                        recurrent_config(config, model, hidden_size(config, model)),
                                        keys)
    if model == "lstm":
        state = jax.tree.map(lambda a: a, state)  # a copy: the built state stays as Flax made it
        bias = state["cell"]["hf"]["bias"]
        bias.set_value(bias.get_value() + config.forget_bias)
    return graphdef, state


# -------------------------------------------------------------------------------- training

def _metrics(model, splits: dict) -> dict:
    """Accuracy on each held-out split (the evaluate hook)."""
    return {f"{name}/accuracy": losses.cross_entropy(model, data)[1]["accuracy"]
            for name, data in splits.items()}


def held_out_sets(config: Config, keys: jax.Array, distance: int) -> dict:
    """Every seed's validation and test sequences at `distance` (a seed axis; drawn once)."""
    def one(k_val, k_test):
        return {"val": draw(config, distance, k_val, n=config.val_size),
                "test": draw(config, distance, k_test, n=config.test_size)}

    fold = jax.vmap(lambda k: jax.random.fold_in(k, distance))
    return jax.vmap(one)(fold(rng.run_stream(keys, VAL_STREAM)),
                         fold(rng.run_stream(keys, TEST_STREAM)))


def run(config: Config) -> Results:
    """Every model at every distance and rate, all seeds of a cell in one program; then the
    RNN's input-gradient norms and the forward passes' sequential depth."""
    results = Results()
    keys = rng.seed_keys(config.seed, config.seeds)
    held_out = {d: held_out_sets(config, keys, d) for d in config.distances}

    def fit(arm, run_keys, rate_index):
        model, distance = arm["model"], arm["distance"]
        lrs = jnp.asarray(model_rates(config, model), jnp.float32)[np.asarray(rate_index, int)]
        graphdef, state = build(config, model, run_keys)
        # Every step draws its own sequences inside the program (no fixed training set).
        loss = losses.OnFreshBatches(losses.cross_entropy, functools.partial(
            draw, config, distance, n=config.train.batch_size))
        per_run = jax.tree.map(lambda a: jnp.concatenate([a] * len(config.rates)),
                               held_out[distance])
        return train.fit(graphdef, state, loss, losses.fresh_placeholder(run_keys.shape[0]),
                         config.train, run_keys, hparams={"learning_rate": lrs},
                         evaluate=_metrics, eval_data=per_run, data_axis=0,
                         name=f"{model}, d={distance}")

    # The rate axis holds each model's i-th rate (`model_rates`), all of them in one program.
    grid = grid_fit({"model": MODELS, "distance": config.distances,
                     "rate": tuple(range(len(config.rates)))}, fit,
                    seed=config.seed, seeds=config.seeds, vmapped="rate")
    grid.add_to(results, evals={"val/accuracy": "val_accuracy", "test/accuracy": "test_accuracy"},
                diverged="diverged_at")
    results.add("learning_rate", [model_rates(config, m) for m in MODELS], ("model", "rate"))
    results.add("parameters", [parameter_count(config, m) for m in MODELS], ("model",))
    results.add("hidden", [0] + [hidden_size(config, c) for c in RECURRENT], ("model",))

    # The vanilla RNN's input gradients against the lag, at init and trained at the largest
    # distance, on the first test sequences of that distance.
    longest = config.distances[-1]
    probe = jax.tree.map(lambda a: a[:, :config.gradient_examples], held_out[longest]["test"])
    graphdef, state = build(config, "rnn", keys)
    results.add("gradient_norm_init", map_runs(input_gradient_norms, graphdef, state, probe,
                                               run_axes=(0,)), ("seed", "lag"),
                lag=list(range(longest + 1)))
    trained = grid.history(model="rnn", distance=longest)
    per_run = jax.tree.map(lambda a: jnp.concatenate([a] * len(config.rates)), probe)
    norms = map_runs(input_gradient_norms, trained.graphdef, trained.state, per_run, run_axes=(0,))
    results.add("gradient_norm_trained", norms.reshape(len(config.rates), config.seeds, -1),
                ("rate", "seed", "lag"))

    lengths = (config.distances[0] + 1, longest + 1)
    profile = np.asarray([[sequential_profile(config, m, t) for t in lengths] for m in MODELS])
    results.add("loop_steps", profile[..., 0], ("model", "length"), length=list(lengths))
    results.add("critical_path", profile[..., 1], ("model", "length"))
    return results


# ------------------------------------------------------------------------------ the probes

def input_gradient_norms(model, data: dict) -> jax.Array:
    """||d loss / d x_t|| of a recurrent `model` on `data`, where x_t is the embedded input at
    position t and the loss is the cross-entropy read at the end: the mean over sequences
    (scale-safe norms), indexed by lag = distance back from the read position (0: the last)."""
    inputs = model.embed_inputs(data["x"])

    def loss_of(embedded):
        logits = model.head(model.run(embedded)[:, -1])
        # Summed, not averaged: each sequence's gradient is then its own loss's gradient.
        return optax.softmax_cross_entropy_with_integer_labels(logits, data["y"]).sum()

    grads = jax.grad(loss_of)(inputs)  # (n, time, embed)
    norms = jax.vmap(jax.vmap(safe_norm))(grads)  # (n, time)
    return jnp.mean(norms, axis=0)[::-1]


def _subjaxprs(eqn) -> list:
    """The jaxprs nested in an equation's parameters (scan bodies, jitted calls, branches)."""
    found = []
    for value in eqn.params.values():
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(item, jax.extend.core.ClosedJaxpr):
                found.append(item.jaxpr)
            elif isinstance(item, jax.extend.core.Jaxpr):
                found.append(item)
    return found


def loop_steps(jaxpr) -> int:
    """Sequential loop iterations in `jaxpr`: a scan of length L counts L times its body's
    (at least 1); nested calls count what they contain. A while loop (unknown trip count)
    is refused."""
    total = 0
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "while":
            raise ValueError("a while loop has no static trip count")
        inner = sum(loop_steps(sub) for sub in _subjaxprs(eqn))
        total += eqn.params["length"] * max(1, inner) if eqn.primitive.name == "scan" else inner
    return total


def critical_path(jaxpr) -> int:
    """The longest chain of dependent operations in `jaxpr` (the depth of the computation):
    each equation adds 1, a nested call adds its own critical path, a scan adds its length
    times its body's (every iteration waits for the previous one's carry)."""
    depth: dict = {}
    for eqn in jaxpr.eqns:
        start = max((depth.get(v, 0) for v in eqn.invars if isinstance(v, jax.extend.core.Var)),
                    default=0)
        subs = [critical_path(sub) for sub in _subjaxprs(eqn)]
        cost = max(subs, default=0) or 1
        if eqn.primitive.name == "scan":
            cost *= eqn.params["length"]
        for v in eqn.outvars:
            depth[v] = start + cost
    return max((depth.get(v, 0) for v in jaxpr.outvars if isinstance(v, jax.extend.core.Var)),
               default=0)


def sequential_profile(config: Config, model: str, length: int) -> tuple[int, int]:
    """(loop iterations, critical path) of one forward pass of `model` on one sequence of
    `length` tokens, read from its jaxpr."""
    graphdef, state = nnx.split(nnx.eval_shape(lambda: _module(config, model, nnx.Rngs(0))))
    jaxpr = jax.make_jaxpr(lambda s, x: nnx.merge(graphdef, s)(x)[0])(
        state, jax.ShapeDtypeStruct((1, length), jnp.int32)).jaxpr
    return loop_steps(jaxpr), critical_path(jaxpr)


# ------------------------------------------------------------------------------- readings

def chosen_rate(results: Results, model: str, distance: int) -> np.ndarray:
    """Per seed, the index of the rate with the best mean final validation accuracy on the
    other seeds (never a rate at which one of them diverged)."""
    return selection.held_out_best(
        curves.final(results.sel("val_accuracy", model=model, distance=distance)),
        excluded=results.sel("diverged_at", model=model, distance=distance) >= 0, mode="max")


def curve_at_chosen_rate(results: Results, name: str, model: str, distance: int) -> np.ndarray:
    """Curve `name` of `model` at `distance`, each seed at its chosen rate: (seed, step)."""
    return selection.per_seed(results.sel(name, model=model, distance=distance),
                              chosen_rate(results, model, distance))


def test_accuracy(results: Results, model: str) -> np.ndarray:
    """Final test accuracy in points of `model` at each seed's chosen rate: (seed, distance)."""
    return 100 * np.stack([curves.final(curve_at_chosen_rate(results, "test_accuracy", model, d))
                           for d in results.coords["distance"]], axis=1)


def rate_counts(results: Results, model: str, distance: int) -> dict:
    """How many seeds chose each rate."""
    chosen = chosen_rate(results, model, distance)
    return {f"{lr:g}": int(np.sum(chosen == i))
            for i, lr in enumerate(results.sel("learning_rate", model=model))}


def late_rise(results: Results, model: str, distance: int) -> stats.Interval:
    """How much the validation accuracy (points) still rose over the last quarter of training
    at the chosen rate: a convergence reading (0: flat)."""
    curve = curve_at_chosen_rate(results, "val_accuracy", model, distance)
    return stats.mean_ci(-100 * curves.last_quarter_drop(results.coords["step"], curve))


def steps_to_accuracy(results: Results, model: str, distance: int, target: float) -> stats.Interval:
    """Steps until the validation accuracy (chosen rate) first reaches `target` (a share),
    interpolated between evaluations; a run that never does counts as the budget."""
    steps = results.coords["step"]
    curve = curve_at_chosen_rate(results, "val_accuracy", model, distance)
    reached = curves.steps_to_target(steps, -curve, -target)  # the helper finds falls
    return stats.mean_ci(curves.censored(reached, steps[-1]), bounds=(0, steps[-1]))


def log_gradient_norms(norms: np.ndarray, lags) -> np.ndarray:
    """log10 of the gradient norms (seed, lag) at `lags`, underflowed ones counted as TINY."""
    return np.log10(np.maximum(np.asarray(norms, np.float64)[:, list(lags)], TINY))


def probe_lags(config: Config) -> list[int]:
    """The lags the gradient rule reads: 1, 2, 4, ... below the largest distance, and the last
    filler's (largest distance - 1). All hold filler tokens, so they compare like with like;
    the recalled token itself sits at the largest distance, and a trained net that reads it
    keeps a large gradient there (reported apart)."""
    last_filler = config.distances[-1] - 1
    lags = [2 ** i for i in range(int(np.log2(last_filler)) + 1)]
    return lags if lags[-1] == last_filler else [*lags, last_filler]


def trained_gradient_norms(results: Results, config: Config) -> np.ndarray:
    """The trained RNN's gradient norms (seed, lag), each seed at the rate chosen for the RNN
    at the largest distance."""
    return selection.per_seed(results["gradient_norm_trained"],
                              chosen_rate(results, "rnn", config.distances[-1]))


# --------------------------------------------------------------------------------- claims

claims = ClaimBook("long_range_dependencies", questions="Q73, Q80")


def _decay(log_norms: np.ndarray, lags) -> dict:
    """The trend of log10 gradient norms (seed, lag) against the lag, with readable numbers."""
    trend = stats.trend_verdict(log_norms, direction=-1)
    slope = np.polyfit(np.asarray(lags, np.float64), log_norms.T, 1)[0]  # per seed, per step
    return {"verdict": trend.verdict, "turn_lag": lags[trend.turn], "fall_in_decades": trend.towards,
            "rise_back_in_decades": trend.back, "first_rise_in_decades": trend.against,
            "log10_norm_by_lag": {lag: stats.mean_ci(log_norms[:, i]) for i, lag in enumerate(lags)},
            "factor_per_step": stats.mean_ci(10 ** slope)}


@claims.rule("rnn_gradient_decays_with_distance", questions="Q73",
             rule="vanilla RNN, held-out sequences of the largest distance: per seed, log10 of the "
                  "mean norm of d loss / d x_t (x_t the embedded input at lag t back from the read "
                  "position, the loss read at the end) at the filler lags 1, 2, 4, ... and the "
                  "last filler's (largest distance - 1; the recalled token's own lag is reported "
                  "apart); stats.trend_verdict (falls with the lag, judged over the whole range) "
                  "at initialization and after training at the largest distance (each seed at "
                  "its held-out rate): reproduced when it falls in both, nuanced when it falls in "
                  "one, not reproduced when in neither")
def _(results: Results, config: Config):
    lags = probe_lags(config)
    at_init = _decay(log_gradient_norms(results["gradient_norm_init"], lags), lags)
    trained = _decay(log_gradient_norms(trained_gradient_norms(results, config), lags), lags)
    falls = [at_init["verdict"] == stats.REPRODUCED, trained["verdict"] == stats.REPRODUCED]
    longest = config.distances[-1]
    at_token = {name: stats.mean_ci(np.log10(np.maximum(norms[:, longest], TINY))
                                    - np.log10(np.maximum(norms[:, 1], TINY)))
                for name, norms in (("at_initialization", results["gradient_norm_init"]),
                                    ("trained", trained_gradient_norms(results, config)))}
    verdict = (stats.REPRODUCED if all(falls) else stats.NUANCED if any(falls)
               else stats.NOT_REPRODUCED)
    return stats.outcome(
        verdict, f"fall of log10 ||d loss / d x_t|| from lag 1 to lag {trained['turn_lag']} "
                 "(decades; trained RNN)", trained["fall_in_decades"],
        at_initialization=at_init, trained=trained, lags=lags,
        recalled_token_vs_lag_1_in_decades=at_token,
        chosen_rates=rate_counts(results, "rnn", config.distances[-1]),
        hidden=int(results.sel("hidden", model="rnn")))


@claims.rule("transformer_holds_on_recall", questions="Q73, Q80", expected=stats.NUANCED,
             deviation="at a fair setup the GRU holds too: at its own best rate (0.1, chosen on the "
                       "other seeds from 0.01-0.1) it recalls across 64 fillers at 91.6 [74.8, "
                       "100] % after 300 steps at seed 0 and 100 [100, 100] % at seed 1, and its "
                       "accuracy does not fall with distance (8.4 [-11.5, 28.3] and 0 points "
                       "behind the transformer at d = 64); the vanilla RNN (41 / 33 %) and the "
                       "LSTM (11 / 35 %; chance 12.5) fall, as claimed. Longer training rescues "
                       "them only in some seeds: at d = 64 the LSTM (forget bias 1) solves the "
                       "task in 3 of 8 seeds after 900 steps (seeds 1 and 3, 4 each: 61.7 [23.4, "
                       "100] and 36.5 [13.3, 74.8] %), in 4/4 after 2400 at seed 200 but in 0/4 "
                       "after 2400 at seed 4 (rate 0.001: 16.4 %); the vanilla RNN in 2/8 after "
                       "900 and 1/4 after 2400 (seed 4): an all-or-nothing plateau, not a "
                       "uniform slowness; and the GRU still recalls at d = 256 (3/4 seeds at 100 % "
                       "after 300 steps, seed 300). One token kept across fillers of their own "
                       "vocabulary is a job a gate learns fast; attention's edge at equal size is "
                       "reported for heavier recall (many key-value pairs; Arora et al. 2023), "
                       "not measured here",
             rule=f"recall of a token across d fillers, each model x distance at each seed's "
                  f"held-out Adam rate, test accuracy in points: the transformer holds when the "
                  f"95 % CI of its accuracy lies above {HIGH_ACCURACY:g} at every distance and the "
                  f"paired CI of its drop from the smallest to the largest distance lies below "
                  f"{HOLD_MARGIN:g}; a recurrent net (vanilla RNN, LSTM, GRU, parameter counts "
                  f"matched) falls when the paired CI of transformer - it at the largest distance "
                  f"lies above 0 and stats.trend_verdict finds its accuracy falling with distance "
                  f"over the whole range; reproduced when the transformer holds and all three "
                  f"fall, nuanced when it holds and one or two fall, not reproduced otherwise")
def _(results: Results, config: Config):
    accuracy = {m: test_accuracy(results, m) for m in MODELS}
    ours = accuracy["transformer"]
    lowest = {d: stats.mean_ci(ours[:, i], bounds=(0, 100))
              for i, d in enumerate(config.distances)}
    drop = stats.paired_diff_ci(ours[:, 0], ours[:, -1])
    holds = bool(all(ci.above(HIGH_ACCURACY) for ci in lowest.values())
                 and drop.below(HOLD_MARGIN))
    lead = {m: stats.paired_diff_ci(ours[:, -1], accuracy[m][:, -1]) for m in RECURRENT}
    trends = {m: stats.trend_verdict(accuracy[m], direction=-1) for m in RECURRENT}
    falls = {m: bool(lead[m].above(0) and trends[m].verdict == stats.REPRODUCED) for m in RECURRENT}
    verdict = (stats.NOT_REPRODUCED if not holds or not any(falls.values()) else
               stats.REPRODUCED if all(falls.values()) else stats.NUANCED)
    weakest = min(RECURRENT, key=lambda m: lead[m].low)
    longest = config.distances[-1]
    return stats.outcome(
        verdict, f"test accuracy, transformer - {NAMES[weakest]} at d = {longest} (points; the "
                 "recurrent net closest to it)", lead[weakest],
        transformer_holds=holds, transformer_accuracy=lowest, transformer_drop=drop,
        falls=falls, lead_at_largest_distance={NAMES[m]: lead[m] for m in RECURRENT},
        fall_with_distance={NAMES[m]: {"verdict": trends[m].verdict, "fall": trends[m].towards,
                                       "rise_back": trends[m].back} for m in RECURRENT},
        test_accuracy={NAMES[m]: {d: stats.mean_ci(accuracy[m][:, i], bounds=(0, 100))
                                  for i, d in enumerate(config.distances)} for m in MODELS},
        chance=100 / config.classes,
        parameters={NAMES[m]: int(results.sel("parameters", model=m)) for m in MODELS},
        hidden={NAMES[m]: int(results.sel("hidden", model=m)) for m in RECURRENT},
        chosen_rates={NAMES[m]: {d: rate_counts(results, m, d) for d in config.distances}
                      for m in MODELS},
        val_accuracy_rise_last_quarter={NAMES[m]: {d: late_rise(results, m, d)
                                                   for d in config.distances} for m in MODELS},
        steps_to_90_percent_val_accuracy={NAMES[m]: {d: steps_to_accuracy(results, m, d, 0.9)
                                                     for d in config.distances} for m in MODELS})


@claims.rule("not_universal", kind=stats.DESCRIPTIVE, literature=stats.NUANCED, questions="Q80",
             rule="descriptive, nuanced by construction: the advantage measured here is for one "
                  "task family, recall of a single token across d filler tokens (an associative "
                  "recall / copy dependency at a known distance, trained on fresh sequences at "
                  "equal parameter counts and equal steps); Long Range Arena (Tay et al. 2020) "
                  "found no general transformer advantage at long range (the vanilla transformer "
                  "averages 54.4 % over its six tasks and fails Path-X; the recurrent state-space "
                  "model S4 averages 86.1 %). Reported, not thresholded: test accuracy of the "
                  "transformer minus the best recurrent net at each distance (the statistic: at "
                  "the largest distance)")
def _(results: Results, config: Config):
    accuracy = {m: test_accuracy(results, m) for m in MODELS}
    advantage, best = {}, {}
    for i, d in enumerate(config.distances):
        best[d] = max(RECURRENT, key=lambda m: float(np.mean(accuracy[m][:, i])))
        advantage[d] = stats.paired_diff_ci(accuracy["transformer"][:, i], accuracy[best[d]][:, i])
    longest = config.distances[-1]
    return stats.outcome(
        stats.NUANCED, f"test accuracy, transformer - best recurrent net ({NAMES[best[longest]]}) "
                       f"at d = {longest} (points)", advantage[longest],
        task_family="recall of one token across d distinct filler tokens, read at the end",
        advantage_by_distance={d: {"over": NAMES[best[d]], "points": advantage[d]}
                               for d in config.distances},
        long_range_arena_average_accuracy=LRA,
        ahead_at_largest_distance_of=[NAMES[m] for m in RECURRENT if stats.paired_diff_ci(
            accuracy["transformer"][:, -1], accuracy[m][:, -1]).above(0)],
        not_shown_for="tasks that need compressing or aggregating a long input (LRA's ListOps, "
                      "text, retrieval, images, Path-X), nor recurrent models built for long "
                      "range (state-space models)")


@claims.rule("parallel_over_time", kind=stats.CHECK, questions="Q73, Q80",
             rule="the jaxpr of one forward pass at two lengths T (the smallest and the largest "
                  "distance + 1): every recurrent net loops over time exactly T times (scan trip "
                  "count) and its critical path grows with T; the transformer has no loop and the "
                  "same critical path at both lengths (O(1) sequential steps per layer, against "
                  "the RNN's O(T))")
def _(results: Results, config: Config):
    lengths = results.coords["length"]
    steps = {m: [int(v) for v in results.sel("loop_steps", model=m)] for m in MODELS}
    path = {m: [int(v) for v in results.sel("critical_path", model=m)] for m in MODELS}
    recurrent_ok = all(steps[m] == list(lengths) and path[m][1] > path[m][0] for m in RECURRENT)
    transformer_ok = steps["transformer"] == [0, 0] and path["transformer"][0] == path["transformer"][1]
    growth = path["transformer"][1] - path["transformer"][0]
    return stats.decide(
        recurrent_ok and transformer_ok,
        f"growth of the transformer's critical path from T = {lengths[0]} to T = {lengths[1]} "
        "(operations)", stats.Interval.exact(growth),
        loop_steps={NAMES[m]: dict(zip(lengths, steps[m])) for m in MODELS},
        critical_path={NAMES[m]: dict(zip(lengths, path[m])) for m in MODELS})


# -------------------------------------------------------------------------------- figures

COLORS = {m: plots.PALETTE[i] for i, m in enumerate(MODELS)}


def plot(results: Results, config: Config) -> dict:
    """Accuracy against distance per model, the training curves at the largest distance, the
    RNN's gradient norms against the lag, and the forward pass's depth against the length."""
    distances = config.distances
    longest = distances[-1]
    fig, axes = plots.figure(ncols=2, width=5.0)
    ax = axes[0, 0]
    for m in MODELS:
        plots.band(ax, distances, test_accuracy(results, m), label=NAMES[m], color=COLORS[m],
                   marker="o", bounds=(0, 100))
    ax.axhline(100 / config.classes, color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log", base=2)
    ax.set_xticks(distances, [str(d) for d in distances])
    ax.set_xlabel("distance d (fillers between the token and the read position)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 102)
    ax.set_title("recall accuracy (dotted: chance)")
    ax = axes[0, 1]
    steps = results.coords["step"]
    for m in MODELS:
        plots.band(ax, steps, 100 * curve_at_chosen_rate(results, "val_accuracy", m, longest),
                   label=NAMES[m], color=COLORS[m], bounds=(0, 100))
    ax.axhline(100 / config.classes, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("training step")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_ylim(0, 102)
    ax.set_title(f"training at d = {longest}")
    plots.legend_outside(ax)
    at_longest = ", ".join(f"{NAMES[m]} {test_accuracy(results, m)[:, -1].mean():.0f} %"
                           for m in MODELS)
    plots.title(fig, f"Recall across d = {longest} fillers after {steps[-1]} steps: {at_longest}\n"
                     f"(mean and 95 % CI over {config.seeds} seeds, each at its held-out rate; "
                     f"chance {100 / config.classes:.1f} %)")
    figures = {"accuracy": fig}

    fig, axes = plots.figure(ncols=2, width=5.0)
    ax = axes[0, 0]
    lags = np.arange(1, longest + 1)
    init = results["gradient_norm_init"][:, 1:]
    trained = trained_gradient_norms(results, config)[:, 1:]
    plots.band(ax, lags, np.maximum(init, TINY), label="at initialization", color=plots.PALETTE[0],
               log=True)
    plots.band(ax, lags, np.maximum(trained, TINY), label=f"trained at d = {longest}",
               color=plots.PALETTE[1], log=True)
    ax.set_yscale("log")
    ax.set_xlabel("lag t (positions back from the read position)")
    ax.set_ylabel("||d loss / d x_t|| (geometric mean over seeds)")
    ax.axvline(longest, color="grey", linestyle=":", linewidth=1)
    ax.set_title(f"vanilla RNN: gradient reaching input t\n(dotted: the recalled token, lag {longest})")
    plots.legend_outside(ax)
    ax = axes[0, 1]
    lengths = results.coords["length"]
    for m in MODELS:
        ax.plot(lengths, results.sel("critical_path", model=m), marker="o", color=COLORS[m],
                label=NAMES[m])
    ax.set_xlabel("sequence length T")
    ax.set_ylabel("critical path of the forward pass (operations)")
    ax.set_ylim(0, None)
    ax.set_xticks(lengths)
    ax.set_title("sequential depth of one forward pass\n(recurrent nets loop T times; "
                 "attention, never)")
    plots.legend_outside(ax)
    last = probe_lags(config)[-1]  # the last filler's lag
    falls = [np.mean(log_gradient_norms(norms, [1])[:, 0] - log_gradient_norms(norms, [last])[:, 0])
             for norms in (results["gradient_norm_init"], trained_gradient_norms(results, config))]
    path = results["critical_path"]
    plots.title(fig, f"The RNN's input gradient falls {falls[0]:.1f} decades from lag 1 to {last} "
                     f"at init, {falls[1]:.1f} trained;\nits forward pass's depth grows "
                     f"{path[MODELS.index('rnn'), 0]} -> {path[MODELS.index('rnn'), 1]} with T, "
                     f"the transformer's stays {path[0, 0]}")
    figures["gradients_and_depth"] = fig
    return figures


main(__spec__)
