"""CNN vs MLP: on MNIST-1D a CNN with 10x fewer parameters beats an MLP by 26-27 points (88-89 % vs 62 % test accuracy); on spatially shuffled positions it falls 10-12 points behind it (50-52 %), while the MLP and logistic regression do not change.

Q&A: Q30, Q63 ("a CNN exploits the spatial structure an MLP ignores, with fewer parameters").
Setup: MNIST-1D (Greydanus 2020; 40-sample signals of ten digit shapes) in two orders: as
generated, and spatially shuffled (one fixed permutation of the 40 positions, drawn from the
root seed's key, the same for training and test signals; `data.shuffle_positions`). Three
architectures: logistic regression (an MLP of depth 0), an MLP (2 hidden ReLU layers of 100, the
paper's) and a 1-D CNN (`models.CNN1D`: 3 convolutions of kernel 5, the last two of stride 2,
ReLU, a linear head). Each seed splits the 4000 training signals into its own training and
validation parts (the claim is about generalization: the interval covers the split); every
architecture and order of a seed sees the same split, init key stream and batches (paired).
Adam at batch 100, every rate of the grid vmapped (one program per architecture; the second
order reuses it). Read as fixed before the first run: each run's test accuracy at the
evaluation where its own validation accuracy peaks (early stopping on validation; the final
value is a detail), at the rate chosen per seed on the other seeds' peak validation accuracy
(`selection.held_out_best`), so no seed is judged at a rate it chose.

Quick profile: 8 seeds, 3500 training + 500 validation signals per seed, MLP 2 x 100 (15,210
parameters), CNN of 8 channels (1,514; not the paper's 25, because the CNN's training step
dominates the CPU time, ~2-3x more per doubling of the channels), Adam rates {0.01, 0.03},
1000 steps, evaluated every 125. Convergence (validation accuracy over the last quarter,
steps 750 -> 1000, seed 0 / seed 1): logistic, MLP and shuffled CNN move by -1.1 to +1.4
points (every CI contains 0); the ordered CNN still gains 1.1 [-0.1, 2.3] / 2.7 [1.0, 4.4]
points, so claim 1's lead is if anything understated. The MLP is not at its ceiling either: it
gains ~3 points between 1500 and 3000 steps (62 -> 65 %), which only widens its claim-2
advantage over the shuffled CNN. 1000 steps is the floor (review): at 750 steps one seed's
held-out choice picks 0.03 for the ordered CNN and claim 1 fails at seed 1. Every arm chose
0.01 at every seed but the shuffled CNN at one seed of eight (at both root seeds); a first run
(1500 steps) with the grid {0.003, 0.01, 0.03} never chose 0.003 and gave the same numbers.

Command:  python -m experiments.cnn_vs_mlp --profile quick   (root seed: --seed 1)
Expected (quick, 8 seeds; seed 0 / seed 1), test accuracy in %, ordered / shuffled:
logistic 31.0 / 30.5 and 30.8 / 30.8; MLP 61.7 / 61.9 and 61.9 / 62.1; CNN 88.9 / 52.3 and
88.0 / 50.4 (Greydanus 2020 with 4000 training signals and 8000 steps: 32 / 32, 68 / 68,
94 / 56).
- cnn_wins_with_fewer_params: reproduced. CNN - MLP on ordered signals 27.1 [25.3, 29.0] /
  26.2 [23.7, 28.6] points (paper: 26) with 1,514 against 15,210 parameters.
- advantage_needs_spatial_order: reproduced. CNN - MLP on shuffled signals -9.6 [-11.5, -7.6]
  / -11.7 [-14.3, -9.2] points (paper: -12). Shuffled - ordered: CNN -36.5 [-38.0, -35.0] /
  -37.7 [-40.5, -34.8] points, MLP +0.2 [-1.1, 1.5] / +0.2 [-2.2, 2.6], logistic
  -0.5 [-1.9, 0.8] / -0.0 [-0.5, 0.4] (over their i.i.d. initial weights they cannot tell the
  orders apart); the CNN's lead shrinks by 36.7 [34.7, 38.7] / 37.9 [34.2, 41.6] points.
Robustness: root seed 2 at this profile gives 24.7 [20.1, 29.3] and -8.3 [-11.0, -5.5]. The
review's runs: root seeds 2 / 3 hold (claim 1: 25.6 [22.2, 28.9] / 26.5 [24.6, 28.4]; claim 2:
-8.5 [-11.0, -6.0] / -9.1 [-10.5, -7.7]); a regularized MLP (dropout 0.2) cuts the ordered
lead to 23.8 [22.4, 25.3] and a wider one (width 256, dropout 0.3; 78,858 parameters) to
19.7 [18.4, 20.9], both still above the 15-point margin; at rate 0.1 the shuffled CNN reaches
~33 %, so the grid's top (0.03) cuts off no optimum. Exploration (4 seeds with their own
splits, before the budget was cut to 1000 steps): at 3000 steps the MLP reached 65 % and the
8-channel CNN 90 % / 53 %, the same verdicts; a 16-channel CNN (4,298 parameters) reached
93 % ordered and 56 % shuffled (MLP 63-65 %), the paper's picture; the MLP's best rate on the
grid {0.001, 0.003, 0.01, 0.03} was 0.01 in both orders.
Runtime: smoke ~9 s (warm compilation cache); quick 49-58 s of CPU time (user + sys) with a
warm compilation cache, ~67 s cold, measured with the 2 cores shared by other jobs (load
average 6-14; wall time 75 s to 3 min); full (32 seeds, the paper's setup: rate 0.01 only,
8000 steps, 25 channels; still with the 500-signal validation split) is sized for one GPU and
was not run.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar, Mapping

import jax
import numpy as np

from phenomena import activations, curves, data, losses, models, plots, rng, selection, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main
from phenomena.models import MLPConfig
from phenomena.models.cnn import CNNConfig
from phenomena.results import Results
from phenomena.train import TrainConfig

ARCHS = ("logistic", "mlp", "cnn")  # logistic regression is the MLP of depth 0
ORDERS = ("ordered", "shuffled")  # MNIST-1D as generated; its positions permuted once
ARCH_NAMES = {"logistic": "logistic", "mlp": "MLP", "cnn": "CNN"}
# Greydanus 2020 (4000 training signals; Adam 1e-2, batch 100, 8000 steps): test accuracy, %.
PAPER_ACCURACY = {"logistic": {"ordered": 32.0, "shuffled": 32.0},
                  "mlp": {"ordered": 68.0, "shuffled": 68.0},
                  "cnn": {"ordered": 94.0, "shuffled": 56.0}}
WIN_MARGIN = 15.0  # points the CNN must lead the MLP by on ordered signals
ORDER_MARGIN = 5.0  # points the CNN's lead must stay below on shuffled signals
SPLIT_STREAM = 2  # each seed key's stream for its training / validation split
SHUFFLE_PART = 1  # the family of seed keys the one position permutation is drawn from


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    val_size: int = 500  # validation signals per seed, held out of the 4000 training signals
    train_eval_size: int = 500  # training signals the training accuracy is measured on
    lrs: tuple[float, ...] = (0.01, 0.03)  # Adam rates (vmapped); each arm keeps its best
    mlp: MLPConfig = MLPConfig(width=100, depth=2)  # the MLP (Greydanus: 2 hidden layers of 100)
    cnn: CNNConfig = CNNConfig(channels=8, layers=3, kernel=5, stride=2)  # the CNN
    train: TrainConfig = TrainConfig(optimizer="adam", lr=1e-2, steps=1000, batch_size=100,
                                     eval_every=125)  # every arm's optimization (lr: see `lrs`)

    IGNORED_KEYS: ClassVar[Mapping[str, str]] = {
        "train.lr": "the learning rates are the grid `lrs`; each arm keeps its best"}

    def __post_init__(self):
        super().__post_init__()
        check(0 < self.val_size < data.MNIST1D_TRAIN_SIZE,
              f"val_size must be in [1, {data.MNIST1D_TRAIN_SIZE - 1}], got {self.val_size}")
        check(0 < self.train_eval_size <= data.MNIST1D_TRAIN_SIZE - self.val_size,
              f"train_eval_size must be in [1, {data.MNIST1D_TRAIN_SIZE} - val_size], "
              f"got {self.train_eval_size}")
        check(self.mlp.depth >= 1, f"mlp.depth must be at least 1 (depth 0 is the logistic "
                                   f"regression arm), got {self.mlp.depth}")
        check(len(self.lrs) >= 1 and all(lr > 0 for lr in self.lrs),
              f"lrs must be positive learning rates, got {self.lrs}")
        check(self.seeds >= 2, "seeds must be at least 2 (each seed's rate is chosen on the others)")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "lrs": (0.01,), "val_size": 100, "train_eval_size": 100,
              "mlp.width": 16, "cnn.channels": 4, "train.steps": 40, "train.eval_every": 20},
    "quick": {},
    # Greydanus's setup: Adam 1e-2, batch 100, 8000 steps, 25 channels, MLP 2 x 100.
    "full": {"seeds": 32, "lrs": (0.01,), "cnn.channels": 25, "train.steps": 8000,
             "train.eval_every": 500},
}


def _model(config: Config, arch: str, keys: jax.Array):
    """`(graphdef, state)` of one `arch` classifier per key."""
    length, classes = data.MNIST1D_LENGTH, data.MNIST1D_CLASSES
    if arch == "cnn":
        return models.cnns(length, classes, config.cnn, keys)
    depth = 0 if arch == "logistic" else config.mlp.depth
    return models.mlps(length, classes, dataclasses.replace(config.mlp, depth=depth), keys)


@functools.partial(jax.jit, static_argnums=0)  # one program, not one per operation
def _datasets(config: Config, splits: dict, shuffle_key: jax.Array, split_keys: jax.Array) -> dict:
    """Per order, `(train_sets, eval_sets)` with one entry per run (runs rate-major, as
    `grid_fit` orders them): each seed's own training / validation split of the 4000 training
    signals (the same examples in both orders) and the shared test signals."""
    orders = {"ordered": splits, "shuffled": data.shuffle_positions(splits, shuffle_key)}
    sets = {}
    for order, order_splits in orders.items():
        per_seed = activations.per_seed_splits(order_splits, split_keys, config.val_size,
                                               config.train_eval_size)
        sets[order] = activations.for_every_rate(per_seed, len(config.lrs))
    return sets


def run(config: Config) -> Results:
    """Train every architecture on both orders at every rate (rates and seeds vmapped)."""
    keys = rng.seed_keys(config.seed, config.seeds)
    per_run = _datasets(config, data.mnist1d_splits(),
                        rng.seed_keys(config.seed, 1, SHUFFLE_PART)[0],
                        rng.run_stream(keys, SPLIT_STREAM))
    initial = {}  # one init per architecture, shared by both orders (paired)

    def fit_arm(arm, run_keys, rates):
        arch, order = arm["arch"], arm["order"]
        if arch not in initial:
            initial[arch] = _model(config, arch, run_keys)
        graphdef, state = initial[arch]
        train_sets, eval_sets = per_run[order]
        return train.fit(graphdef, state, losses.cross_entropy, train_sets, config.train,
                         run_keys, hparams={"learning_rate": rates},
                         evaluate=losses.classification_metrics, eval_data=eval_sets,
                         data_axis=0, name=f"{ARCH_NAMES[arch]}, {order}")

    grid = grid_fit({"arch": ARCHS, "order": ORDERS, "lr": config.lrs}, fit_arm,
                    seed=config.seed, seeds=config.seeds, vmapped="lr")
    results = grid.add_to(Results(), evals={
        "train/accuracy": "train_accuracy", "val/accuracy": "val_accuracy",
        "val/loss": "val_loss", "test/accuracy": "test_accuracy"}, diverged="diverged_at")
    one_run = {arch: jax.tree.map(lambda a: a[0], initial[arch][1]) for arch in ARCHS}
    results.add("params", [models.count_params(one_run[a]) for a in ARCHS], ("arch",))
    return results


# ------------------------------------------------------------------------------- readings

def chosen_rate(results: Results, arch: str, order: str) -> np.ndarray:
    """Per seed, the index of the rate with the best mean peak validation accuracy on the
    other seeds (never a rate at which one of them diverged)."""
    val = results.sel("val_accuracy", arch=arch, order=order)  # (lr, seed, step)
    peak = curves.value_at_best(val, val, mode="max")
    diverged = results.sel("diverged_at", arch=arch, order=order) >= 0
    return selection.held_out_best(peak, excluded=diverged, mode="max")


def at_chosen_rate(results: Results, name: str, arch: str, order: str) -> np.ndarray:
    """Curve `name` of each seed at its chosen rate: (seed, step)."""
    index = chosen_rate(results, arch, order)
    return selection.per_seed(results.sel(name, arch=arch, order=order), index)


def accuracy(results: Results, arch: str, order: str) -> np.ndarray:
    """Per seed, test accuracy in points at the evaluation where the run's validation
    accuracy peaks, at its chosen rate."""
    val = at_chosen_rate(results, "val_accuracy", arch, order)
    test = at_chosen_rate(results, "test_accuracy", arch, order)
    return 100 * curves.value_at_best(val, test, mode="max")


def final_test_accuracy(results: Results, arch: str, order: str) -> np.ndarray:
    """Per seed, the last evaluation's test accuracy in points, at the chosen rate."""
    return 100 * curves.final(at_chosen_rate(results, "test_accuracy", arch, order))


def params(results: Results, arch: str) -> int:
    """Trainable parameters of one `arch` classifier."""
    return int(results.sel("params", arch=arch))


def _accuracy_table(results: Results, read) -> dict:
    """`{arch: {order: mean_ci}}` of a per-seed accuracy reading in points."""
    return {a: {o: stats.mean_ci(read(results, a, o), bounds=(0, 100)) for o in ORDERS}
            for a in ARCHS}


def _convergence(results: Results) -> dict:
    """Per arm, how far validation accuracy (points) still rose over the last quarter of the
    steps at the chosen rate: near 0 once a run has converged."""
    steps = results.coords["step"]
    return {a: {o: stats.mean_ci(-100 * curves.last_quarter_drop(
        steps, at_chosen_rate(results, "val_accuracy", a, o))) for o in ORDERS} for a in ARCHS}


def _rates_chosen(results: Results, config: Config) -> dict:
    """Per arm, how many seeds chose each rate (`{"0.01": 8}`)."""
    return {a: {o: {f"{lr:g}": int(np.sum(chosen_rate(results, a, o) == i))
                    for i, lr in enumerate(config.lrs)} for o in ORDERS} for a in ARCHS}


def _shared_details(results: Results, config: Config) -> dict:
    """What both claims report beside their statistic: every arm's accuracy, the paper's,
    parameter counts, chosen rates, convergence."""
    return {"test_accuracy": _accuracy_table(results, accuracy),
            "paper_test_accuracy": PAPER_ACCURACY,
            "final_test_accuracy": _accuracy_table(results, final_test_accuracy),
            "params": {a: params(results, a) for a in ARCHS},
            "rates_chosen": _rates_chosen(results, config),
            "val_accuracy_rise_last_quarter": _convergence(results)}


def cnn_lead(results: Results, order: str) -> stats.Interval:
    """Paired CI over seeds of CNN − MLP test accuracy (points) on `order` signals."""
    return stats.paired_diff_ci(accuracy(results, "cnn", order),
                                accuracy(results, "mlp", order))


claims = ClaimBook("cnn_vs_mlp", questions="Q30, Q63")


@claims.rule("cnn_wins_with_fewer_params",
             rule=f"on MNIST-1D as generated, the paired 95 % CI over seeds of CNN − MLP test "
                  f"accuracy (points; each run read at its peak-validation evaluation, each "
                  f"architecture at the rate chosen on the other seeds' validation accuracy) lies "
                  f"above {WIN_MARGIN:g}, and the CNN has fewer trainable parameters than the MLP")
def _(results: Results, config: Config):
    lead = cnn_lead(results, "ordered")
    fewer = params(results, "cnn") < params(results, "mlp")
    return stats.decide(lead.above(WIN_MARGIN) and fewer,
                        "CNN − MLP test accuracy on ordered signals, points", lead,
                        cnn_has_fewer_params=fewer,
                        paper_cnn_lead=PAPER_ACCURACY["cnn"]["ordered"]
                        - PAPER_ACCURACY["mlp"]["ordered"],
                        **_shared_details(results, config))


@claims.rule("advantage_needs_spatial_order",
             rule=f"on the spatially shuffled MNIST-1D (one fixed permutation of the 40 positions, "
                  f"the same for training and test), the paired 95 % CI over seeds of CNN − MLP "
                  f"test accuracy (points; read as in cnn_wins_with_fewer_params) lies below "
                  f"{ORDER_MARGIN:g}")
def _(results: Results, config: Config):
    lead = cnn_lead(results, "shuffled")
    change = {a: stats.paired_diff_ci(accuracy(results, a, "shuffled"),
                                      accuracy(results, a, "ordered")) for a in ARCHS}
    lost = stats.paired_diff_ci(
        accuracy(results, "cnn", "ordered") - accuracy(results, "mlp", "ordered"),
        accuracy(results, "cnn", "shuffled") - accuracy(results, "mlp", "shuffled"))
    return stats.decide(lead.below(ORDER_MARGIN),
                        "CNN − MLP test accuracy on shuffled signals, points", lead,
                        cnn_lead_lost_to_shuffling=lost, shuffled_minus_ordered=change,
                        paper_cnn_lead=PAPER_ACCURACY["cnn"]["shuffled"]
                        - PAPER_ACCURACY["mlp"]["shuffled"],
                        **_shared_details(results, config))


# ---------------------------------------------------------------------------------- figure

ORDER_STYLE = {"ordered": {"alpha": 0.85, "hatch": None, "linestyle": "-"},
               "shuffled": {"alpha": 0.4, "hatch": "//", "linestyle": "--"}}


def _label(results: Results, arch: str) -> str:
    return f"{ARCH_NAMES[arch]}\n({params(results, arch):,} params)"


def _plot_bars(ax, results: Results):
    """Test accuracy per architecture and order (mean, 95 % CI), the paper's values marked."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    width = 0.38
    for i, arch in enumerate(ARCHS):
        color = plots.PALETTE[i]
        for j, order in enumerate(ORDERS):
            x = i + (j - 0.5) * width
            ci = stats.mean_ci(accuracy(results, arch, order), bounds=(0, 100))
            style = ORDER_STYLE[order]
            ax.bar(x, ci.mean, width * 0.92, color=color, alpha=style["alpha"],
                   hatch=style["hatch"], edgecolor=color)
            ax.errorbar(x, ci.mean, yerr=[[ci.mean - ci.low], [ci.high - ci.mean]],
                        color="black", capsize=3, linewidth=1)
            ax.plot([x - width / 2, x + width / 2], [PAPER_ACCURACY[arch][order]] * 2,
                    color="black", linewidth=2, linestyle=":")
    ax.axhline(100 / data.MNIST1D_CLASSES, color="grey", linewidth=1)  # labelled in the legend
    ax.set_xticks(range(len(ARCHS)), [_label(results, a) for a in ARCHS], fontsize=8.5)
    ax.set_ylim(0, 100)
    ax.set_ylabel("test accuracy (%), mean and 95 % CI")
    ax.set_title("test accuracy at each arm's best rate")
    grey = plots.PALETTE[-1]
    handles = [Patch(facecolor=grey, edgecolor=grey, alpha=ORDER_STYLE[o]["alpha"],
                     hatch=ORDER_STYLE[o]["hatch"], label=f"{o} positions") for o in ORDERS]
    handles.append(Line2D([], [], color="black", linewidth=2, linestyle=":",
                          label="Greydanus 2020\n(4000 train, 8000 steps)"))
    handles.append(Line2D([], [], color="grey", linewidth=1,
                          label=f"chance ({100 / data.MNIST1D_CLASSES:g} %)"))
    plots.legend_outside(ax, handles=handles)


def _plot_curves(ax, results: Results):
    """Validation accuracy over training at the chosen rates: the budget's convergence."""
    steps = results.coords["step"]
    for i, arch in enumerate(ARCHS):
        for order in ORDERS:
            plots.band(ax, steps, 100 * at_chosen_rate(results, "val_accuracy", arch, order),
                       color=plots.PALETTE[i], linestyle=ORDER_STYLE[order]["linestyle"],
                       label=f"{ARCH_NAMES[arch]}, {order}")
    ax.set_xlabel("step")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title("validation accuracy over training")
    plots.legend_outside(ax)


def plot(results: Results, config: Config) -> dict:
    """Test accuracy per architecture and order; the validation curves behind it."""
    fig, axes = plots.figure(ncols=2, width=5.4, height=3.8)
    _plot_bars(axes[0, 0], results)
    _plot_curves(axes[0, 1], results)
    ordered, shuffled = cnn_lead(results, "ordered"), cnn_lead(results, "shuffled")
    ratio = params(results, "mlp") / params(results, "cnn")
    size_text = (f"With {ratio:.0f}× fewer parameters" if ratio >= 1
                 else f"With {1 / ratio:.1f}× more parameters")
    lead_text = (f"leads the MLP by {ordered.mean:.0f} points" if ordered.mean >= 0
                 else f"trails the MLP by {-ordered.mean:.0f} points")
    shuffled_text = (f"leads by {shuffled.mean:.0f} points" if shuffled.mean >= 0
                     else f"trails by {-shuffled.mean:.0f} points")
    plots.title(fig, f"{size_text} the CNN {lead_text} on MNIST-1D; "
                     f"on shuffled positions it {shuffled_text}")
    return {"accuracy": fig}


main(__spec__)
