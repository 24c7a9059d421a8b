"""Transfer learning: features learned on one task help most when the new task has little data.

Q&A: Q61, Q79. Setup: a small 1-D CNN (3 conv layers of 8 channels, linear head) is pretrained
with Adam on the MNIST-1D digits 0-4 (all their ~2000 training examples), one source net per
seed (90 % source test accuracy). The target task is digits 5-9 (relabelled 0-4) with 5, 20,
60 and 300 training examples per class, drawn per seed as nested balanced subsets; a further
90 per class per seed, held out from every training set, is the validation set that picks
each arm's learning rate per size (best seed-mean validation accuracy over its grid). Arms:
*scratch* (fresh init; rates 3e-3-3e-2); *frozen* = linear probe (a linear head on the
source's last feature map, trained on features computed once per run; rates 3e-3-1e-1); and
*fine-tuned* = LP-FT (Kumar et al. 2022): every layer trained from the source features under
the chosen probe head (rates 1e-3-1e-2). Each grid reaches one step above the rate its arm
chose in the review's runs (scratch 1e-2 at 20/class, fine-tuning 3e-3 at 60 and 300/class,
the probe 3e-2 at 20/class were the tops of the earlier grids). Sizes <= 20/class train 200
steps of 32 (converged: flat after ~150), the larger ones 600 steps. These 600 steps do not
saturate scratch: a longer budget with a wider grid took scratch from 92.3 to 94.4 % at
300/class and from 64.8 to 72.3 % at 60/class (review, seed 0); the quick CPU budget does not
hold it, so the gains at 60 and 300/class are read as "small or negative", not to the point
(`full` trains 2000 steps). Score: test accuracy on the ~490 digits 5-9 test examples at the
last step. All arms share each seed's target keys (same fresh head, same batches): they are
compared paired.

Re-decided (issue 9). Old setup: 8 seeds, a 16-channel CNN, sizes 5/20/100, the frozen
arm a fresh head on frozen convs and the fine-tuned arm a fresh head trained with the body at
scratch's rate, one rate for all arms, gap judged from the two end sizes; both claims were
deviations (fine-tuned +1.6 at 5/class; its gain grew to 100/class). New setup: above, with a
rate grid per arm, LP-FT, sizes 5-300/class, and the gap judged over the whole range with
`stats.trend_verdict`. Second pass (review): the grids were widened (scratch to 3e-2,
fine-tuning to 1e-2, the probe to 1e-1) because chosen rates sat at their tops; with the
narrow fine-tuning grid LP-FT had ended below scratch at 300/class (88 vs 92 %), a grid
artefact: at 1e-2 it ends level (92.4 vs 92.3 %).
Power: the sign of the small-n gain is solid (every interval at every seed lies far above 0),
but the 5-point margin at 20/class is on the edge. The weakest case, frozen at 20/class, has a
per-seed SD of ~4.7-6.0 points and a fair gain of ~5.5-6 points; the rule "CI above 5" then
needs ~80-100 seeds for 80 % power (n >= (2.9 SD / (g - 5))^2), more than the quick minute
holds (20 seeds; the wider grids use the budget that 32 seeds would need). So the quick verdict
depends on the root seed: the review's 32-seed runs (sizes 5/10/20 only) gave frozen at
20/class +8.18 [6.04, 10.33] (seed 0, reproduced), +6.81 [5.11, 8.50] (seed 1, reproduced),
+5.24 [3.35, 7.12] (seed 2, not reproduced). `full` (64 seeds) is the deciding run; the rule
is unchanged.

Command:  python -m experiments.transfer_learning --profile quick
Expected: at <= 20 examples per class both transfer arms beat scratch by over 5 points
(Yosinski et al. 2014); the advantage shrinks as target data grow. Measured (20 seeds, widened
grids): gains over scratch at 5 / 20 / 60 / 300 per class, seed 0: frozen +7.7 / +8.2 / -11.5 /
-24.9, fine-tuned +7.9 / +10.0 / -1.6 / +0.1 (scratch 28 / 42 / 71 / 92 %).
`transfer_beats_scratch_small_n`: reproduced at seed 0, weakest case frozen at 20/class +8.16
[5.10, 11.23]; not reproduced at seed 1, frozen at 20/class +6.00 [2.41, 9.60] (every other
small-n case passes at seed 1: frozen at 5/class +7.87 [5.79, 9.95], fine-tuned +7.31 [5.03,
9.59] and +8.25 [4.44, 12.05]). The effect sits near the bar: at 20 seeds the verdict depends
on the root seed (power, above); `expected` stays the ledger's.
`gap_closes_with_data`: reproduced at seed 0 (fine-tuned peak at 20/class minus 300/class 9.86
[7.03, 12.69]; frozen 33.10 [30.18, 36.02]); nuanced at seed 1: the frozen arm reproduces
(36.22 [33.53, 38.91]) and fine-tuning rises to its peak (7.99 [4.47, 11.51]) but first dips
at 60/class below its 300/class gain (300/class minus 60/class 4.78 [0.39, 9.17]), where
scratch, not saturated at 600 steps but at a fast rate, outruns LP-FT (73.8 vs 69.3 %).
With data the frozen features fall far behind (64-67 % vs 92 % at 300/class); LP-FT ends
level with scratch (92.4-92.7 vs 92.3-92.4 %).
Runtime: smoke ~10 s of CPU after compiling; quick ~101 s of CPU time (94-95 s user + 7 s
sys; ~5 min wall with two quick runs sharing 2 loaded cores), 20 seeds: slightly over the
90 s target, the price of the wider grids; full: 64 seeds, 6 sizes, a 25-channel CNN, 4000
source steps, 2000 target steps, 4-rate grids; not yet run (minutes on one GPU).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from phenomena import curves, data, losses, models, plots, rng, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, main, map_runs
from phenomena.models import CNNConfig, MLPConfig
from phenomena.optim import PathMask
from phenomena.results import Results
from phenomena.train import TrainConfig
from phenomena.transfer import graft, per_class_indices, with_part

SOURCE_DIGITS = (0, 1, 2, 3, 4)
TARGET_DIGITS = (5, 6, 7, 8, 9)
CLASSES = len(TARGET_DIGITS)
ARMS = ("scratch", "frozen", "fine-tuned")
FEATURES = PathMask("['convs']")  # what is transferred: every layer below the head
PROBE = MLPConfig(depth=0)  # the linear probe: a linear model on the frozen features
TARGET_PART = 1  # seed-key part of the target runs (the source nets use part 0)
SUBSET_STREAM = 2  # each target key's stream for choosing its training and validation examples
MARGIN_POINTS = 5.0  # CLAIMS.md: transfer must win by at least this many accuracy points
SMALL_N = 20  # "small target data": at most this many examples per class


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    # The rates come from the three grids; target.lr would change nothing.
    IGNORED_KEYS: ClassVar[Mapping[str, str]] = {
        "target.lr": "every target run takes its rate from scratch_lrs, probe_lrs or finetune_lrs",
        "target.eval_every": "every target run is evaluated once, at its last step"}

    seeds: int = 20  # independent runs per arm: what the quick CPU budget holds (power: docstring)
    cnn: CNNConfig = CNNConfig(  # the 1-D CNN of both tasks (its convs are the transferred features)
        channels=8, layers=3, kernel=5, stride=2)
    per_class: tuple[int, ...] = (5, 20, 60, 300)  # target training examples per class
    val_per_class: int = 90  # held-out target examples per class (per seed) that choose each rate
    source: TrainConfig = TrainConfig(  # pretraining on digits 0-4 (all ~2000 examples)
        optimizer="adam", lr=3e-3, steps=600, batch_size=64, eval_every=300)
    target: TrainConfig = TrainConfig(  # target runs above SMALL_N per class: steps, batch (rates below)
        optimizer="adam", lr=1e-3, steps=600, batch_size=32, eval_every=50)
    short_steps: int = 200  # steps of the target runs at <= 20 per class (converged by then)
    scratch_lrs: tuple[float, ...] = (3e-3, 1e-2, 3e-2)  # Adam rates tried for training from scratch
    probe_lrs: tuple[float, ...] = (3e-3, 1e-2, 3e-2, 1e-1)  # Adam rates tried for the linear probe
    finetune_lrs: tuple[float, ...] = (1e-3, 3e-3, 1e-2)  # Adam rates tried for fine-tuning after the probe

    def __post_init__(self):
        super().__post_init__()
        check(len(self.per_class) >= 3 and list(self.per_class) == sorted(set(self.per_class)),
              f"per_class needs at least three increasing sizes (a trend), got {self.per_class}")
        check(self.per_class[0] >= 1, "per_class sizes must be >= 1")
        check(self.per_class[0] <= SMALL_N, f"the smallest per_class size must be <= {SMALL_N}")
        largest = self.per_class[-1]
        check(all(largest % n == 0 for n in self.per_class),
              f"every per_class size must divide the largest ({largest}), so that tiling each "
              f"subset to one length keeps its sampling uniform; got {self.per_class}")
        check(self.short_steps >= 1, f"short_steps must be >= 1, got {self.short_steps}")
        check(self.val_per_class >= 1, f"val_per_class must be >= 1, got {self.val_per_class}")
        for name in ("scratch_lrs", "probe_lrs", "finetune_lrs"):
            rates = getattr(self, name)
            check(len(rates) >= 1 and all(r > 0 for r in rates),
                  f"{name} needs at least one positive rate, got {rates}")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "per_class": (5, 10, 20), "val_per_class": 10, "cnn.channels": 4,
              "cnn.layers": 1, "source.steps": 50, "source.eval_every": 50, "short_steps": 50,
              "target.steps": 50,
              "scratch_lrs": (1e-3,), "probe_lrs": (1e-2,), "finetune_lrs": (3e-4,)},
    "quick": {},
    "full": {"seeds": 64, "per_class": (5, 10, 20, 60, 100, 300), "cnn.channels": 25,
             "source.steps": 4000, "source.batch_size": 128, "source.eval_every": 500,
             "target.steps": 2000, "short_steps": 1000,
             "scratch_lrs": (1e-3, 3e-3, 1e-2, 3e-2), "probe_lrs": (3e-3, 1e-2, 3e-2, 1e-1),
             "finetune_lrs": (3e-4, 1e-3, 3e-3, 1e-2)},
}


# ----------------------------------------------------------------------------- data

def _target_sets(target_train: dict, keys, config: Config) -> tuple[dict, dict]:
    """Per seed, balanced nested training sets of every size (runs size-major) and a validation
    set of `val_per_class` examples per class that no training set of that seed holds."""
    sizes, largest = config.per_class, config.per_class[-1]
    train_sets = data.balanced_nested_subsets(target_train, keys, CLASSES, sizes)
    labels = np.asarray(target_train["y"])
    # The same per-class orders: the training sets take their first `largest`, validation the next.
    order = jax.vmap(lambda key: per_class_indices(labels, key, CLASSES, largest + config.val_per_class))
    held_out = order(keys)[:, :, largest:].reshape(len(keys), -1)
    return train_sets, jax.tree.map(lambda a: a[held_out], target_train)


def _tile(tree, times: int):
    """`tree`'s runs repeated `times` times along the run axis (run i is copy i // runs)."""
    return jax.tree.map(lambda a: jnp.concatenate([a] * times), tree)


def _features(model, x):
    """The transferred features of `x`: the last convolution's map after its ReLU, flattened."""
    _, aux = model(x)
    h = jax.nn.relu(aux["preacts"][-1])
    return h.reshape(h.shape[0], -1)


# ----------------------------------------------------------------------------- training

def _pretrain(config: Config, source: dict, keys):
    """One source net per seed on digits 0-4: its `(graphdef, final state)` and test accuracy."""
    graphdef, state = models.cnns(data.MNIST1D_LENGTH, len(SOURCE_DIGITS), config.cnn, keys)
    history = train.fit(graphdef, state, losses.cross_entropy, source["train"], config.source, keys,
                        evaluate=losses.classification_metrics, eval_data={"test": source["test"]},
                        name="source")
    return graphdef, history.state, curves.final(history.evals["test/accuracy"])


def _budgets(config: Config) -> list[tuple[list[int], TrainConfig]]:
    """The target runs' groups by budget: sizes <= SMALL_N per class train `short_steps`
    (they have converged by then), the larger ones `target.steps`; each evaluates once, at
    its end. Returns `(size indices, training config)` per non-empty group."""
    sizes = config.per_class
    groups = [([i for i, n in enumerate(sizes) if n <= SMALL_N], config.short_steps),
              ([i for i, n in enumerate(sizes) if n > SMALL_N], config.target.steps)]
    return [(indices, dataclasses.replace(config.target, steps=steps, eval_every=steps))
            for indices, steps in groups if indices]


def _rate_sweep(graphdef, start, train_sets, eval_sets, keys, config: Config, rates, name) -> dict:
    """Train every (rate, size, seed) run from `start` (runs size-major over seeds), one
    compiled program per budget group. Returns the final `val` and `test` accuracies (%) as
    `(rate, per_class, seed)` and the final `state` with leading axes `(rate, per_class, seed)`."""
    n, seeds, sizes = len(rates), config.seeds, len(config.per_class)
    out = {"val": np.zeros((n, sizes, seeds)), "test": np.zeros((n, sizes, seeds)), "state": None}
    for indices, budget in _budgets(config):
        runs = np.concatenate([i * seeds + np.arange(seeds) for i in indices])
        pick = lambda tree: _tile(jax.tree.map(lambda a: a[runs], tree), n)  # noqa: E731
        history = train.fit(
            graphdef, pick(start), losses.cross_entropy, pick(train_sets), budget, pick(keys),
            hparams={"learning_rate": np.repeat(np.asarray(rates, np.float32), len(runs))},
            evaluate=losses.classification_metrics, eval_data=pick(eval_sets), data_axis=0,
            name=f"{name}, {budget.steps} steps")
        for split in ("val", "test"):
            final = 100 * curves.final(np.asarray(history.evals[f"{split}/accuracy"]))
            out[split][:, indices] = final.reshape(n, len(indices), seeds)
        state = jax.tree.map(lambda a: np.asarray(a).reshape(n, len(indices), seeds, *a.shape[1:]),
                             history.state)
        if out["state"] is None:
            out["state"] = jax.tree.map(lambda a: np.zeros((n, sizes, *a.shape[2:]), a.dtype), state)
        for whole, part in zip(jax.tree.leaves(out["state"]), jax.tree.leaves(state)):
            whole[:, indices] = part
    return out


def _best_rate(val_accuracy: np.ndarray) -> np.ndarray:
    """Per size, the rate whose seed-mean validation accuracy is highest: `val_accuracy` is
    `(rate, per_class, seed)`, the result one rate index per size."""
    return np.argmax(np.asarray(val_accuracy).mean(axis=-1), axis=0)


def _at_best_rate(sweep: dict):
    """A sweep's final states at each size's chosen rate, as `(size, seed)` runs (size-major)."""
    chosen = _best_rate(sweep["val"])
    return jax.tree.map(
        lambda a: jnp.asarray(np.stack([a[r, i] for i, r in enumerate(chosen)]).reshape(-1, *a.shape[3:])),
        sweep["state"])


def run(config: Config) -> Results:
    """Pretrain on digits 0-4; then, on every target size of digits 5-9, train from scratch,
    probe the frozen features linearly, and fine-tune from the probe (LP-FT), each over its
    rate grid; each arm's rate per size is chosen on held-out validation examples."""
    splits = data.mnist1d_splits()
    source = {name: data.select_classes(split, SOURCE_DIGITS) for name, split in splits.items()}
    target = {name: data.select_classes(split, TARGET_DIGITS) for name, split in splits.items()}
    graphdef, pretrained, source_accuracy = _pretrain(config, source,
                                                      rng.seed_keys(config.seed, config.seeds))

    keys = rng.seed_keys(config.seed, config.seeds, part=TARGET_PART)
    sizes = len(config.per_class)
    train_sets, val = _target_sets(target["train"], rng.run_stream(keys, SUBSET_STREAM), config)
    evals = {"val": _tile(val, sizes),
             "test": data.same_for_every_run(target["test"], sizes * config.seeds)}
    run_keys = _tile(keys, sizes)  # one run per (size, seed): paired across sizes and arms
    _, fresh = models.cnns(data.MNIST1D_LENGTH, CLASSES, config.cnn, keys)
    sweeps = {"scratch": _rate_sweep(graphdef, _tile(fresh, sizes), train_sets, evals, run_keys,
                                     config, config.scratch_lrs, "scratch")}

    # Linear probe: a linear model on the frozen features, computed once per run (Kumar et al.
    # 2022's LP); same as training the CNN's head with its convolutions frozen, at a fraction
    # of the cost.
    source_runs = _tile(pretrained, sizes)

    def featurized(split):
        """`split` (one set per run) with its inputs replaced by each run's source features."""
        return {"x": map_runs(_features, graphdef, source_runs, split["x"], run_axes=(0,)),
                "y": split["y"]}

    probe_train = featurized(train_sets)
    probe_evals = {name: featurized(split) for name, split in evals.items()}
    probe_graphdef, probe_init = models.mlps(probe_train["x"].shape[-1], CLASSES, PROBE, keys)
    sweeps["frozen"] = _rate_sweep(probe_graphdef, _tile(probe_init, sizes), probe_train,
                                   probe_evals, run_keys, config, config.probe_lrs, "linear probe")

    # Fine-tuning (LP-FT): every layer from the pretrained features under the chosen probe head.
    probe_heads = _at_best_rate(sweeps["frozen"])
    start = with_part(graft(source_runs, _tile(fresh, sizes), FEATURES), "head", probe_heads["head"])
    sweeps["fine-tuned"] = _rate_sweep(graphdef, start, train_sets, evals, run_keys, config,
                                       config.finetune_lrs, "fine-tuned (LP-FT)")

    results = Results()
    rates = {"scratch": config.scratch_lrs, "frozen": config.probe_lrs,
             "fine-tuned": config.finetune_lrs}
    for arm, sweep in sweeps.items():
        for split in ("val", "test"):
            results.add(f"{_key(arm)}_{split}_accuracy", sweep[split],
                        (f"{_key(arm)}_lr", "per_class", "seed"),
                        **{f"{_key(arm)}_lr": list(rates[arm])}, per_class=list(config.per_class),
                        seed=list(range(config.seeds)))
    results.add("source_test_accuracy", 100 * np.asarray(source_accuracy), ("seed",))
    return results


# ----------------------------------------------------------------------------- reading results

def _key(arm: str) -> str:
    """An arm's name in results keys (no hyphen)."""
    return arm.replace("-", "_")


def _chosen_rate(results: Results, arm: str) -> np.ndarray:
    """Per size, the index of `arm`'s rate with the best seed-mean validation accuracy."""
    return _best_rate(results[f"{_key(arm)}_val_accuracy"])


def test_accuracy(results: Results, arm: str) -> np.ndarray:
    """`arm`'s final target test accuracy (%) at its chosen rate per size: `(seed, per_class)`."""
    test = results[f"{_key(arm)}_test_accuracy"]  # (rate, per_class, seed)
    chosen = _chosen_rate(results, arm)
    return np.stack([test[r, i] for i, r in enumerate(chosen)], axis=1)


def gain(results: Results, arm: str) -> np.ndarray:
    """Test accuracy of `arm` minus scratch's, per seed and size (points): `(seed, per_class)`."""
    return test_accuracy(results, arm) - test_accuracy(results, "scratch")


def _chosen_rates(results: Results, config: Config) -> dict:
    """The rate each arm uses at each size (for the details)."""
    grids = {"scratch": config.scratch_lrs, "frozen": config.probe_lrs,
             "fine-tuned": config.finetune_lrs}
    return {arm: {n: grids[arm][r] for n, r in zip(config.per_class, _chosen_rate(results, arm))}
            for arm in ARMS}


claims = ClaimBook("transfer_learning", questions="Q61, Q79")


@claims.rule("transfer_beats_scratch_small_n",
             rule=f"at every target size <= {SMALL_N} examples per class, the paired 95 % CI of "
                  f"the test-accuracy gain over scratch lies above {MARGIN_POINTS:g} points, for "
                  "the frozen arm (linear probe) and for the fine-tuned arm (LP-FT); every arm at "
                  "its rate chosen on held-out validation examples")
def _(results: Results, config: Config):
    sizes = config.per_class
    small = [i for i, n in enumerate(sizes) if n <= SMALL_N]
    gains = {(arm, n): stats.mean_ci(gain(results, arm)[:, i])
             for arm in ARMS[1:] for i, n in enumerate(sizes)}
    cases = [(arm, sizes[i]) for arm in ARMS[1:] for i in small]
    worst = min(cases, key=lambda k: gains[k].low)
    return stats.decide(
        all(gains[k].above(MARGIN_POINTS) for k in cases),
        f"accuracy gain over scratch (points), weakest small-n case: {worst[0]} at "
        f"{worst[1]}/class", gains[worst],
        gain={f"{arm} @ {n}/class": gains[arm, n] for arm in ARMS[1:] for n in sizes},
        accuracy={arm: {n: float(m) for n, m in zip(sizes, test_accuracy(results, arm).mean(0))}
                  for arm in ARMS},
        chosen_rates=_chosen_rates(results, config),
        source_test_accuracy=stats.mean_ci(results["source_test_accuracy"], bounds=(0, 100)))


def _closes(results: Results, arm: str) -> stats.Trend:
    """Does `arm`'s gain grow as target data shrink? The trend over the sizes read from the
    largest down: reproduced if the gain rises towards small n and stays; nuanced if it rises
    and then falls back at the smallest sizes (an inverted U); not reproduced if it never rises."""
    return stats.trend_verdict(gain(results, arm)[:, ::-1], direction=1)


@claims.rule("gap_closes_with_data",
             rule="for each transfer arm, the gain over scratch read from the largest target size "
                  "down to the smallest (stats.trend_verdict, direction +1): reproduced if it "
                  "rises to its peak (paired CI of peak - largest-size gain above 0) and does not "
                  "fall significantly below the peak at the smallest size; nuanced if it does (an "
                  "inverted U: the gap closes only beyond the peak); not reproduced if it never "
                  "rises. Both arms reproduced -> reproduced; both not reproduced -> not "
                  "reproduced; otherwise nuanced")
def _(results: Results, config: Config):
    sizes = config.per_class
    trends = {arm: _closes(results, arm) for arm in ARMS[1:]}
    verdicts = {t.verdict for t in trends.values()}
    verdict = verdicts.pop() if len(verdicts) == 1 else stats.NUANCED
    reversed_sizes = sizes[::-1]
    return stats.outcome(
        verdict, f"fine-tuned gain at its peak minus at {sizes[-1]}/class (points)",
        trends["fine-tuned"].towards,
        **{arm: {"verdict": t.verdict, "peak_at_per_class": reversed_sizes[t.turn],
                 "peak_minus_largest_size": t.towards, "peak_minus_smallest_size": t.back}
           for arm, t in trends.items()})


# ----------------------------------------------------------------------------- figure

def plot(results: Results, config: Config) -> dict:
    """Target accuracy against examples per class for the three arms, and the gain over scratch."""
    sizes = config.per_class
    fig, axes = plots.figure(ncols=2)
    ax = axes[0, 0]
    for i, arm in enumerate(ARMS):
        plots.band(ax, sizes, test_accuracy(results, arm), label=arm, color=plots.PALETTE[i],
                   marker="o")
    ax.axhline(100 / CLASSES, color="grey", linestyle=":", linewidth=1, label="chance")
    ax.set_xscale("log")
    ax.set_xlabel("target training examples per class (digits 5-9)")
    ax.set_ylabel("test accuracy (%), chosen rate")
    ax.set_title("accuracy on the new task")
    plots.legend_outside(ax)
    ax = axes[0, 1]
    for i, arm in enumerate(ARMS[1:], start=1):
        plots.band(ax, sizes, gain(results, arm), label=arm, color=plots.PALETTE[i], marker="o")
    ax.axhline(MARGIN_POINTS, color="grey", linestyle=":", linewidth=1,
               label=f"{MARGIN_POINTS:g}-point bar")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("target training examples per class")
    ax.set_ylabel("accuracy gain over scratch (points)")
    ax.set_title("advantage of transferred features")
    plots.legend_outside(ax)
    plots.title(fig, _headline(results))
    return {"transfer": fig}


def _headline(results: Results) -> str:
    """The figure's title, from the measured gains: do the transfer arms win with few examples,
    and what happens to their advantage with the most data."""
    def fate(arm):
        mean = gain(results, arm).mean(axis=0)
        return ("reverses" if mean[-1] < 0 else "shrinks" if mean[-1] < mean.max() else "grows")
    few = gain(results, "frozen").mean(axis=0)[0] > 0 and gain(results, "fine-tuned").mean(axis=0)[0] > 0
    return (f"Digit 0-4 features {'beat' if few else 'do not beat'} scratch on digits 5-9 with few "
            f"examples;\nwith the most data the advantage {fate('frozen')} for frozen features and "
            f"{fate('fine-tuned')} for fine-tuning")


main(__spec__)
