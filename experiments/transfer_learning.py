"""Transfer learning: features learned on one task help most when the new task has little data.

Q&A: Q61, Q79. Setup: an MLP (2 hidden layers of 128 ReLU units) is pretrained with Adam on
the MNIST-1D digits 0-4 (all their ~2000 training examples), one source net per seed. The
target task is digits 5-9 (relabelled 0-4) with 5-100 training examples per class, drawn per
seed as nested balanced subsets. Three arms train on each target set for the same steps:
*scratch* (fresh init), *frozen* (the source's hidden layers, frozen through Optax's
`multi_transform`, with a fresh head) and *fine-tuned* (the same start, every layer trained).
The score is test accuracy on the digits 5-9 test examples at the last step (no selection).
Scratch and fine-tuned runs share one compiled program; frozen runs a second. Every
target-set size runs in the same program: each run's examples are tiled to one common length,
which keeps sampling with replacement uniform over that run's subset. All arms start from the
same fresh heads (same target keys) and see the same batches: they are compared paired.

Command:  python -m experiments.transfer_learning --profile quick
Expected: at <= 20 examples per class both transfer arms beat scratch by well over 5 points
(Yosinski et al. 2014: transferred features help, most at small target sets); the advantage
shrinks as target data grows. Measured (seed 0): the source CNN reaches 97 % on digits 0-4;
gains over scratch are +4.2 / +6.8 / -8.2 points (frozen) and +1.6 / +7.3 / +7.4 (fine-tuned)
at 5 / 20 / 100 per class, so both claims are recorded deviations (see CLAIMS).
Why a CNN: an MLP (2 x 128) reached only 69 % on the source digits and its features gained
0-5 points on the target; set `architecture=mlp` to see it.
Runtime: smoke ~10 s; quick ~30 s on 2 CPU cores (8 seeds, 52 s of CPU time); full: 32 seeds,
7 target sizes up to 320 per class, 5000 source steps; not yet run (minutes on one GPU).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from phenomena import curves, data, losses, models, plots, rng, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main
from phenomena.models import CNNConfig, MLPConfig
from phenomena.optim import PathMask
from phenomena.results import Results
from phenomena.train import TrainConfig
from phenomena.transfer import graft

SOURCE_DIGITS = (0, 1, 2, 3, 4)
TARGET_DIGITS = (5, 6, 7, 8, 9)
ARMS = ("scratch", "frozen", "fine-tuned")
# What is transferred (and frozen in the frozen arm): everything below the head.
FEATURES = {"cnn": PathMask("['convs']"), "mlp": PathMask("['hidden']")}
TARGET_PART = 1  # seed-key part of the target models (the source nets use part 0)
SUBSET_STREAM = 2  # each target run key's stream for choosing its examples
MARGIN_POINTS = 5.0  # CLAIMS.md: transfer must win by at least this many accuracy points
SMALL_N = 20  # "small target data": at most this many examples per class


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    architecture: str = "cnn"  # network of both tasks: "cnn" (section cnn) or "mlp" (section mlp)
    cnn: CNNConfig = CNNConfig(  # the 1-D CNN (read only with architecture=cnn)
        channels=16, layers=3, kernel=5, stride=2)
    mlp: MLPConfig = MLPConfig(  # the MLP (read only with architecture=mlp)
        width=128, depth=2, activation="relu", init="he_normal")
    per_class: tuple[int, ...] = (5, 20, 100)  # target training examples per class
    source: TrainConfig = TrainConfig(  # pretraining on digits 0-4
        optimizer="adam", lr=3e-3, steps=1000, batch_size=64, eval_every=500)
    # 1000 steps of 32 is 64 epochs of the largest target set: every arm trains to a near-zero
    # training loss (at 300 steps of 16, scratch at 100/class was still undertrained: 55 % vs 74 %).
    target: TrainConfig = TrainConfig(  # training of every arm on digits 5-9
        optimizer="adam", lr=1e-3, steps=1000, batch_size=32, eval_every=500)

    def __post_init__(self):
        super().__post_init__()
        check(len(self.per_class) >= 2 and list(self.per_class) == sorted(set(self.per_class)),
              f"per_class needs at least two increasing sizes, got {self.per_class}")
        check(self.per_class[0] >= 1, "per_class sizes must be >= 1")
        check(self.per_class[0] <= SMALL_N, f"the smallest per_class size must be <= {SMALL_N}")
        largest = self.per_class[-1]
        check(all(largest % n == 0 for n in self.per_class),
              f"every per_class size must divide the largest ({largest}), so that tiling each "
              f"subset to one length keeps its sampling uniform; got {self.per_class}")
        check(self.architecture in FEATURES,
              f"architecture must be one of {', '.join(FEATURES)}; got {self.architecture!r}")
        check(self.mlp.depth >= 1, "mlp.depth must be >= 1 (there must be features to transfer)")
        # The other architecture's section is not read: an override of it would change nothing.
        unused = "mlp" if self.architecture == "cnn" else "cnn"
        default = type(self).__dataclass_fields__[unused].default
        changed = [f"{unused}.{f.name}={getattr(default, f.name)!r}"
                   for f in dataclasses.fields(default)
                   if getattr(getattr(self, unused), f.name) != getattr(default, f.name)]
        check(not changed, f"architecture={self.architecture!r} does not read the {unused} section, "
                           f"so a change to it would be ignored; set {', '.join(changed)} back")

    def networks(self, classes: int, keys):
        """`(graphdef, state)` of one network per key with `classes` outputs."""
        if self.architecture == "cnn":
            return models.cnns(data.MNIST1D_LENGTH, classes, self.cnn, keys)
        return models.mlps(data.MNIST1D_LENGTH, classes, self.mlp, keys)


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "per_class": (5, 20), "cnn.channels": 4, "cnn.layers": 1,
              "source.steps": 50, "source.eval_every": 50, "target.steps": 50,
              "target.eval_every": 50},
    "quick": {},
    "full": {"seeds": 32, "per_class": (5, 10, 20, 40, 80, 160, 320),
             "cnn.channels": 32, "source.steps": 5000, "source.batch_size": 128,
             "target.steps": 2000, "target.batch_size": 32, "target.eval_every": 500},
}


def _pretrain(config: Config, source: dict, keys):
    """Train one source net per seed on digits 0-4; return its final state and test accuracy."""
    graphdef, state = config.networks(len(SOURCE_DIGITS), keys)
    history = train.fit(graphdef, state, losses.cross_entropy, source["train"], config.source, keys,
                        evaluate=losses.classification_metrics, eval_data={"test": source["test"]},
                        name="source")
    return history.state, curves.final(history.evals["test/accuracy"])


def run(config: Config) -> Results:
    """Pretrain on digits 0-4, then train the three arms on every target size of digits 5-9."""
    splits = data.mnist1d_splits()
    source = {name: data.select_classes(split, SOURCE_DIGITS) for name, split in splits.items()}
    target = {name: data.select_classes(split, TARGET_DIGITS) for name, split in splits.items()}
    pretrained, source_accuracy = _pretrain(config, source, rng.seed_keys(config.seed, config.seeds))

    target_keys = rng.seed_keys(config.seed, config.seeds, part=TARGET_PART)  # grid_fit's keys
    graphdef, fresh = config.networks(len(TARGET_DIGITS), target_keys)
    features = FEATURES[config.architecture]
    transferred = graft(pretrained, fresh, features)
    start = {"scratch": fresh, "frozen": transferred, "fine-tuned": transferred}
    optimizer = {"scratch": config.target.spec(), "frozen": config.target.spec(freeze=features),
                 "fine-tuned": config.target.spec()}
    target_sets = data.balanced_nested_subsets(
        target["train"], rng.run_stream(target_keys, SUBSET_STREAM), len(TARGET_DIGITS),
        config.per_class)

    def fit_arm(arm, keys, _):
        """Every (size, seed) run of one arm; each size starts from its seed's net. Scratch and
        fine-tuned differ only in their start, so they share one compiled program."""
        name = arm["arm"]
        sizes = len(config.per_class)
        start_runs = jax.tree.map(lambda a: jnp.concatenate([a] * sizes), start[name])
        test = data.same_for_every_run({"test": target["test"]}, len(keys))
        return train.fit(graphdef, start_runs, losses.cross_entropy, target_sets, config.target,
                         keys, optimizer=optimizer[name], evaluate=losses.classification_metrics,
                         eval_data=test, data_axis=0, name=name)

    grid = grid_fit({"arm": ARMS, "per_class": config.per_class}, fit_arm, seed=config.seed,
                    seeds=config.seeds, part=TARGET_PART, vmapped="per_class")
    results = Results()
    results.add("test_accuracy", 100 * curves.final(grid.evals("test/accuracy")),
                ("arm", "per_class", "seed"), arm=list(ARMS), per_class=list(config.per_class),
                seed=list(range(config.seeds)))
    results.add("source_test_accuracy", 100 * np.asarray(source_accuracy), ("seed",))
    return results


def _gain(results: Results, arm: str, n: int) -> np.ndarray:
    """Target test accuracy of `arm` minus scratch's, per seed (points), at `n` per class."""
    return (results.sel("test_accuracy", arm=arm, per_class=n)
            - results.sel("test_accuracy", arm="scratch", per_class=n))


claims = ClaimBook("transfer_learning", questions="Q61, Q79")


@claims.rule("transfer_beats_scratch_small_n",
             rule=f"at every target size <= {SMALL_N} examples per class, the paired 95 % CI of "
                  f"the test-accuracy gain over scratch lies above {MARGIN_POINTS:g} points, for "
                  "the frozen and for the fine-tuned arm",
             expected=stats.NOT_REPRODUCED,
             deviation="Transfer helps at small n, but by less than the 5-point bar with a CI: at "
                       "5/class frozen features gain +4.2 points and fine-tuning +1.6 [-2.0, 5.2] "
                       "(25 examples are too few to fine-tune 6k weights without losing some of "
                       "what was transferred); at 20/class +6.8 and +7.3. Checked first: the MLP "
                       "version gained only 0-5 points (its source features reach 69 % on digits "
                       "0-4, position-specific), so the net is a 1-D CNN (97 % on the source); "
                       "the target runs train 64 epochs of the largest set, so no arm is undertrained.")
def _(results: Results, config: Config):
    sizes = config.per_class
    small = [n for n in sizes if n <= SMALL_N]
    gains = {(arm, n): stats.mean_ci(_gain(results, arm, n)) for arm in ARMS[1:] for n in sizes}
    worst = min(((arm, n) for arm in ARMS[1:] for n in small), key=lambda k: gains[k].low)
    beats = all(gains[arm, n].above(MARGIN_POINTS) for arm in ARMS[1:] for n in small)
    return stats.decide(
        beats, f"accuracy gain over scratch (points), weakest small-n case: {worst[0]} at "
               f"{worst[1]}/class", gains[worst],
        mean_gain={f"{arm} @ {n}/class": gains[arm, n].mean for arm in ARMS[1:] for n in sizes},
        scratch_accuracy={n: float(np.mean(results.sel("test_accuracy", arm="scratch", per_class=n)))
                          for n in sizes},
        source_test_accuracy=stats.mean_ci(results["source_test_accuracy"], bounds=(0, 100)))


@claims.rule("gap_closes_with_data",
             rule="for the frozen and for the fine-tuned arm, the gain over scratch at the smallest "
                  "target size minus the gain at the largest has a paired 95 % CI above 0",
             expected=stats.NOT_REPRODUCED,
             deviation="Only half holds: the frozen arm's gain falls by 12.4 [8.8, 16.1] points, from "
                       "+4.2 at 5/class to -8.2 at 100/class (fixed features cap what a linear head "
                       "can learn), but fine-tuning's gain grows, from +1.6 to +7.4 points at "
                       "100/class (a 500-example set does not yet erase a good initialization).")
def _(results: Results, config: Config):
    sizes = config.per_class
    closes = {arm: stats.paired_diff_ci(_gain(results, arm, sizes[0]), _gain(results, arm, sizes[-1]))
              for arm in ARMS[1:]}
    return stats.decide(
        all(ci.above(0) for ci in closes.values()),
        f"fine-tuned gain at {sizes[0]}/class minus at {sizes[-1]}/class (points)",
        closes["fine-tuned"], frozen_gain_drop=closes["frozen"])


def plot(results: Results, config: Config) -> dict:
    """Target accuracy against examples per class for the three arms, and the gain over scratch."""
    sizes = config.per_class
    fig, axes = plots.figure(ncols=2)
    ax = axes[0, 0]
    for i, arm in enumerate(ARMS):
        plots.band(ax, sizes, results.sel("test_accuracy", arm=arm).T, label=arm,
                   color=plots.PALETTE[i], marker="o")
    ax.axhline(100 / len(TARGET_DIGITS), color="grey", linestyle=":", linewidth=1, label="chance")
    ax.set_xscale("log")
    ax.set_xlabel("target training examples per class (digits 5-9)")
    ax.set_ylabel("target test accuracy (%)")
    ax.set_title("accuracy on the new task")
    ax.legend()
    ax = axes[0, 1]
    for i, arm in enumerate(ARMS[1:], start=1):
        gain = np.stack([_gain(results, arm, n) for n in sizes], axis=1)
        plots.band(ax, sizes, gain, label=arm, color=plots.PALETTE[i], marker="o")
    ax.axhline(MARGIN_POINTS, color="grey", linestyle=":", linewidth=1,
               label=f"{MARGIN_POINTS:g}-point bar")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("target training examples per class")
    ax.set_ylabel("accuracy gain over scratch (points)")
    ax.set_title("advantage of transferred features")
    ax.legend()
    plots.title(fig, "Digits 0-4 features on digits 5-9: frozen ones help only with few examples; "
                     "fine-tuning helps more as data grows")
    return {"transfer": fig}


main(__spec__)
