"""Residual connections: with plain SGD, a 48-layer plain CNN ends at 12x the training loss of a 4-layer one (1.92 vs 0.17 nats; chance 2.30); identity shortcuts bring the 48-layer net to 0.18x the plain one's (0.35).

Q&A: Q71, Q29 ("deeper plain nets train worse; residual connections fix it"). Setup: scikit-
learn's 8x8 digits as images (1500 training, 297 test; `image_data.digits_images`, no
download). Convolutional nets of one shape at every depth: a 4x4 stem convolution of stride 4
(8x8 -> 2x2 maps, `width` = 8 filters), then (depth - 2) / 2 blocks of two 3x3 convolutions,
global average pooling and a linear head. Depth counts the layers with weights as He et al.
(2016) count them (their plain-34 / ResNet-34: 33 convolutions and the head), so depth 48 has
47 convolutions and depth 4 has 3; the figure's series is 4, 8, 16, 32, 48. Each convolution
is followed by BatchNorm (`norm`; He et al. used it in both nets) before its ReLU. The only
difference between the architectures is the identity shortcut: a plain block is
relu(bn(conv(relu(bn(conv(h)))))), a residual block adds h before the last ReLU; every block
keeps `width` channels and the map size, so no projection is needed and both nets have exactly
the same parameters. Both use He-normal kernels, BatchNorm scale 1 and shift 0: the residual
branches are not zeroed, and the residual net of a seed starts from the very weights of that
seed's plain net (the shortcut is a per-run state value, `SkipScale`, so both architectures of
a depth share one compiled program; the blocks run under `nnx.scan`).

Training: plain SGD (Adam hides degradation: LITERATURE.md "Degradation"), batch 16 drawn with
replacement, a constant rate, 300 steps; every (depth, architecture) at every rate of `rates`
(0.03, 0.1, 0.3; vmapped), the same seed keys for all (paired: same initial weights, same
batches). Read before the run: the TRAINING loss (the claim is about optimization) is the
cross-entropy on a fixed subset of 256 training images in training mode, i.e. BatchNorm with
the subset's own batch statistics, the function SGD minimizes; each net at the rate whose final
training loss is lowest on the OTHER seeds (leave-one-seed-out, `selection.held_out_best`; a
rate where one of their runs diverged is excluded). Test accuracy is measured in evaluation
mode (BatchNorm's running averages), as a deployed net runs. Claims (95 % t-intervals over
seeds of per-seed ratios):
- plain_deep_degrades: final training loss plain-48 / plain-4: the CI lies above 2.
- residual_fixes_degradation: residual-48 / plain-48: the CI lies below 0.75.

Choices, measured (seed 0 unless stated):
- Data: on MNIST-1D (the brief's first suggestion; stem 40 -> 10, width 16) a plain-4 CNN was
  still at training loss 0.5-0.9 after 300-400 SGD steps and falling, so "plain-4 fits" needed
  a budget that 48-layer nets cannot afford on a CPU; on the digits it reaches 0.17 in 300.
- Width 8 for cost (a depth-48 step costs half of width 16's). A width-16 pilot of the same
  nets (300 steps) gave the same picture: plain-4 0.074, plain-48 1.71, residual-48 0.13.
- Rates: a 0.01-1.0 grid at depths 4 and 48 (`--set "depths=(4,48)" --set
  "rates=(0.01,0.03,0.1,0.3,1.0)"`) chose the same rates and gave the same numbers and
  verdicts: 1.0 is worse for plain-4 (0.196 vs 0.165) and plain-48 (1.95 vs 1.92), 0.01 for
  residual-48 (0.54 vs 0.30).
- Budget: at 300 steps the curves still fall (last-quarter drop: plain-4 0.09, residual-48
  0.16, plain-48 0.11 of 1.92). At 4x the budget (`--set "depths=(4,48)" --set
  train.steps=1200 --set train.eval_every=200`) both claims hold more strongly: plain-4 0.039,
  plain-48 1.53, residual-48 0.061; ratios 43.8 [34.6, 53.0] and 0.052 [0.023, 0.080].
  Plain-48 is still slowly descending (2.02 at step 200, 1.53 at 1200): degradation here is a
  far slower optimization at equal budget, as in He et al., not a wall.
- BatchNorm (`norm=batch`) is the fair choice: without it (`--set norm=none --set
  "depths=(4,48)" --set "rates=(0.003,0.01,0.03,0.1,0.3,1.0)"`) plain-48 sits at chance
  (2.30-2.32) at every rate, plain-4 reaches 0.45 (rate 0.3), and the residual-48 net's 23
  unscaled He-initialized branches add up to an initial loss of 10.4: it trains only at small
  rates (best 0.01: 1.54; 2-8 of 8 runs diverge at rates >= 0.1), and at 300 steps residual / plain =
  0.67 [0.57, 0.77] does not clear the 0.75 bar, but residual-48 is still falling fast there
  (last-quarter drop 0.38 of 1.54) while plain-48 is flat. At 900 steps (review: `--set
  norm=none --set "depths=(4,48)" --set "rates=(0.003,0.01,0.03,0.3)" --set train.steps=900
  --set train.eval_every=150`) it clears it: 0.28 [0.14, 0.43] (residual-48 0.65 at rate 0.01,
  plain-48 2.30). Without normalization the shortcut fixes depth too, only more slowly;
  scaled or zeroed branches (Fixup, SkipInit) were not measured.

Command:  python -m experiments.residual_connections --profile quick
Expected (quick, 8 seeds; seed 0 / seed 1):
- plain_deep_degrades: reproduced. plain-48 / plain-4 = 12.1 [9.5, 14.7] / 11.8 [10.0, 13.6];
  plain-4 0.165 [0.138, 0.192] / 0.186 [0.158, 0.213] (rate 0.3), plain-48 1.92 [1.78, 2.05]
  / 2.13 [2.04, 2.23]. Plain by depth 4, 8, 16, 32, 48: 0.165, 0.32, 1.02, 1.80, 1.92 /
  0.186, 0.38, 1.02, 1.71, 2.13.
- residual_fixes_degradation: reproduced. residual-48 / plain-48 = 0.184 [0.143, 0.226] /
  0.174 [0.147, 0.201]; residual-48 0.353 [0.271, 0.434] / 0.372 [0.307, 0.438] (rates 0.03
  and 0.1). Residual by depth: 0.163, 0.169, 0.243, 0.231, 0.353 / 0.177, 0.240, 0.248,
  0.292, 0.372.
- Loss at init (training mode): plain 2.43-2.48 at depths 4 and 48 (BatchNorm normalizes every
  layer); residual 2.72 / 2.73 at depth 4 and 7.0 [5.2, 8.8] / 7.6 [5.5, 9.7] at depth 48 (the
  stem and 23 normalized branches add up, so the logits grow with depth); SGD brings it below
  chance within 60 steps.
- Accuracy, training / test (seed 0 | seed 1): plain-4 0.955 / 0.890 | 0.946 / 0.902; plain-48 0.25 / 0.10 |
  0.19 / 0.15; residual-48 0.90 / 0.86 | 0.89 / 0.80. Plain-48's test accuracy is at chance
  below its training accuracy: the running averages of a barely trained 48-layer plain net do
  not match its batch statistics.
Runtime: smoke ~10 s wall warm (~50 s CPU cold: two training programs); quick 75-76 s CPU warm
(user + sys; 143-197 s wall on 2 cores shared with ~8 other jobs; the runs are sharded over
the two cores, so an idle machine should take ~40 s, not measured), ~180 s CPU cold (one
training program per depth, ~20 s CPU each; the library's unrolled ConvNet took over 5 minutes
to compile one depth-48 program); full (16 seeds, width 16, five rates, 3000 steps at batch
64) is sized for one GPU and was not run. `--set dataset=cifar10 --set test_size=0 --set
data_dir=FOLDER` trains on CIFAR-10 files you provide (8x8 maps after the stem; not run).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from phenomena import curves, data, image_data, losses, plots, selection, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main
from phenomena.models.conv import Conv, global_pool
from phenomena.models.convnet import CONV_NORMS
from phenomena.models.core import INITIALIZERS, create
from phenomena.results import Results
from phenomena.train import TrainConfig

ARCHS = ("plain", "residual")  # a block without / with its identity shortcut
INIT = "he_normal"  # every kernel, both architectures (He et al. 2015, for ReLU nets)
BODY_KERNEL = 3  # the blocks' convolutions are 3x3
CHANCE_LOSS = float(np.log(image_data.CLASSES))  # cross-entropy of a uniform guess over 10 classes


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    dataset: str = "digits"  # digits (bundled), or mnist / fashion_mnist / cifar10 read from data_dir
    data_dir: str = ""  # folder of the mnist / fashion_mnist / cifar10 files ('': $PHENOMENA_DATA/<dataset>)
    test_size: int = 297  # digits: images split off as the test set (0 for the others: they have their own)
    depths: tuple[int, ...] = (4, 8, 16, 32, 48)  # layers with weights: stem conv + 2 per block + head
    shallow: int = 4  # the shallow plain net of plain_deep_degrades
    deep: int = 48  # the deep nets both claims compare
    width: int = 8  # channels of every convolution
    stem_kernel: int = 4  # window of the stem convolution (square on images)
    stem_stride: int = 4  # stride of the stem convolution (8x8 digits -> 2x2 maps)
    norm: str = "batch"  # after every convolution, before its ReLU: batch or none
    rates: tuple[float, ...] = (0.03, 0.1, 0.3)  # SGD learning rates (vmapped); each net keeps its best
    train_eval_size: int = 256  # training images the training loss and accuracy are measured on
    degrade_factor: float = 2.0  # plain deep / plain shallow training loss must exceed this
    fix_factor: float = 0.75  # residual deep / plain deep training loss must stay below this
    train: TrainConfig = TrainConfig(optimizer="sgd", lr=0.1, steps=300, batch_size=16,
                                     eval_every=60)  # plain SGD; lr unused: the grid `rates` sets it

    IGNORED_KEYS: ClassVar[Mapping[str, str]] = {
        "train.lr": "the learning rates are the grid `rates`; each net keeps its best"}

    def __post_init__(self):
        super().__post_init__()
        check(self.dataset in image_data.IMAGE_DATASETS,
              f"dataset must be one of {', '.join(image_data.IMAGE_DATASETS)}; got {self.dataset!r}")
        if self.dataset == "digits":
            check(0 < self.test_size < data.DIGITS_SIZE, f"test_size must be in [1, {data.DIGITS_SIZE - 1}]")
            check(self.train_eval_size <= data.DIGITS_SIZE - self.test_size,
                  f"train_eval_size must be at most the {data.DIGITS_SIZE - self.test_size} training images")
            check(not self.data_dir, "digits is bundled with scikit-learn: data_dir must stay empty")
        else:
            check(self.test_size == 0, f"{self.dataset} has its own test set: set test_size=0")
        check(all(d >= 4 and d % 2 == 0 for d in self.depths),
              f"depths must be even and at least 4 (stem + blocks of two convolutions + head), "
              f"got {self.depths}")
        check(self.shallow in self.depths and self.deep in self.depths and self.shallow < self.deep,
              f"shallow ({self.shallow}) and deep ({self.deep}) must be trained depths, shallow < deep")
        check(self.width > 0, f"width must be positive, got {self.width}")
        check(self.stem_kernel > 0 and self.stem_stride > 0, "stem_kernel and stem_stride must be positive")
        check(self.norm in CONV_NORMS, f"norm must be one of {', '.join(CONV_NORMS)}; got {self.norm!r}")
        check(len(self.rates) >= 1 and all(r > 0 for r in self.rates),
              f"rates must be one or more positive learning rates, got {self.rates}")
        check(self.seeds >= 2, "seeds must be at least 2 (each seed's rate is chosen on the others)")
        check(self.train_eval_size > 0, f"train_eval_size must be positive, got {self.train_eval_size}")
        check(self.degrade_factor > 1, f"degrade_factor must exceed 1, got {self.degrade_factor}")
        check(0 < self.fix_factor < 1, f"fix_factor must be in (0, 1), got {self.fix_factor}")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "depths": (4, 6), "deep": 6, "width": 4, "rates": (0.1,),
              "train_eval_size": 32, "train.steps": 20, "train.eval_every": 10},
    "quick": {},
    "full": {"seeds": 16, "width": 16, "rates": (0.01, 0.03, 0.1, 0.3, 1.0), "train.steps": 3000,
             "train.batch_size": 64, "train.eval_every": 250, "train_eval_size": 1000},
}


# ---------------------------------------------------------------------------------- the nets

class SkipScale(nnx.Variable):
    """How much of a block's input its shortcut adds back: 1 (residual) or 0 (plain).

    A state value, not structure: plain and residual nets of one depth share one graph, so
    `train.fit` compiles one program for both.
    """


class ConvNorm(nnx.Module):
    """A convolution with a He-normal kernel, then BatchNorm when `norm` is "batch"."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, dims: int,
                 norm: str, *, rngs: nnx.Rngs):
        self.conv = Conv(in_channels, out_channels, kernel, dims=dims, stride=stride,
                         padding="SAME", kernel_init=INITIALIZERS[INIT], rngs=rngs)
        self.norm = nnx.BatchNorm(out_channels, rngs=rngs) if norm == "batch" else None

    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        z = self.conv(x)
        return z if self.norm is None else self.norm(z, use_running_average=not train)


class Block(nnx.Module):
    """Two 3x3 convolutions: relu(skip * h + bn(conv(relu(bn(conv(h)))))), skip 1 or 0."""

    def __init__(self, width: int, dims: int, norm: str, *, rngs: nnx.Rngs):
        self.first = ConvNorm(width, width, BODY_KERNEL, 1, dims, norm, rngs=rngs)
        self.second = ConvNorm(width, width, BODY_KERNEL, 1, dims, norm, rngs=rngs)

    def __call__(self, h: jax.Array, skip: jax.Array, train: bool) -> jax.Array:
        branch = self.second(jax.nn.relu(self.first(h, train)), train)
        return jax.nn.relu(skip * h + branch)


class DeepConvNet(nnx.Module):
    """Stem convolution, `(depth - 2) / 2` blocks, global average pooling and a linear head.

    The blocks are identical in shape, so they are stored stacked and applied with `nnx.scan`:
    the compiled program holds one block, not 23. (The library's `ConvNet` computes the same
    function, tested, but unrolls its layers: a depth-48 BatchNorm net compiled for over five
    minutes here.) Returns `(logits, {"features": pooled features})`.
    """

    def __init__(self, input_shape: Sequence[int], out_features: int, depth: int, width: int,
                 stem_kernel: int, stem_stride: int, norm: str, residual: bool, *,
                 rngs: nnx.Rngs):
        dims = 2
        self.add_channel_axis = len(tuple(input_shape)) == dims
        in_channels = 1 if self.add_channel_axis else input_shape[-1]
        self.stem = ConvNorm(in_channels, width, stem_kernel, stem_stride, dims, norm, rngs=rngs)

        @nnx.split_rngs(splits=(depth - 2) // 2)
        @nnx.vmap(in_axes=(0,), out_axes=0)
        def blocks(rngs: nnx.Rngs) -> Block:
            return Block(width, dims, norm, rngs=rngs)

        self.blocks = blocks(rngs)
        self.skip = SkipScale(jnp.float32(1.0 if residual else 0.0))
        self.head = nnx.Linear(width, out_features, kernel_init=INITIALIZERS[INIT], rngs=rngs)

    def __call__(self, x: jax.Array, *, train: bool = False, key: jax.Array | None = None):
        h = x[..., None] if self.add_channel_axis else x
        h = jax.nn.relu(self.stem(h, train))
        skip = self.skip[...]

        @nnx.scan(in_axes=(nnx.Carry, 0), out_axes=nnx.Carry)
        def through(h, block):
            return block(h, skip, train)

        features = global_pool(through(h, self.blocks), "avg")
        return self.head(features), {"features": features}


def nets(config: Config, input_shape: Sequence[int], depth: int, arch: str, keys: jax.Array):
    """`(graphdef, state)` of one net per key; the same key gives the same weights in both
    architectures (only the shortcut's `SkipScale` differs)."""
    return create(lambda rngs: DeepConvNet(
        input_shape, image_data.CLASSES, depth, config.width, config.stem_kernel,
        config.stem_stride, config.norm, arch == "residual", rngs=rngs), keys)


def conv_layers(depth: int) -> int:
    """Convolutions of a net of `depth` layers with weights (all but the linear head)."""
    return depth - 1


# --------------------------------------------------------------------------------- training

def evaluate(model, splits: Mapping[str, Mapping[str, jax.Array]]) -> dict:
    """Test loss and accuracy in evaluation mode (BatchNorm's running averages), then the
    training loss and accuracy in training mode on the fixed training subset (BatchNorm with
    that subset's batch statistics: the function SGD minimizes).

    The test set goes first: a training-mode call updates the running averages of this copy
    of the model, and the test must not see that.
    """
    test = losses.classification_metrics(model, {"test": splits["test"]})
    loss, aux = losses.cross_entropy(model, splits["train"], train=True)
    return {**test, "train/loss": loss, "train/accuracy": aux["accuracy"]}


def _splits(config: Config) -> dict:
    return image_data.image_splits(config.dataset, config.data_dir, test_size=config.test_size)


def run(config: Config) -> Results:
    """Train every (depth, architecture) at every rate; all seeds and rates of a cell at once."""
    splits = _splits(config)
    eval_sets = {"train": {k: v[:config.train_eval_size] for k, v in splits["train"].items()},
                 "test": splits["test"]}
    input_shape = splits["train"]["x"].shape[1:]

    def fit_cell(arm, keys, rates):
        graphdef, state = nets(config, input_shape, arm["depth"], arm["arch"], keys)
        return train.fit(graphdef, state, losses.cross_entropy, splits["train"], config.train,
                         keys, hparams={"learning_rate": rates}, evaluate=evaluate,
                         eval_data=eval_sets, name=f"{arm['arch']}-{arm['depth']}")

    grid = grid_fit({"depth": list(config.depths), "arch": list(ARCHS), "lr": list(config.rates)},
                    fit_cell, seed=config.seed, seeds=config.seeds, vmapped="lr")
    return grid.add_to(Results(), evals={"train/loss": "train_loss",
                                         "train/accuracy": "train_accuracy",
                                         "test/loss": "test_loss",
                                         "test/accuracy": "test_accuracy"},
                       diverged="diverged_at")


# ------------------------------------------------------------------------- reading results

def chosen_rates(results: Results, depth: int, arch: str) -> np.ndarray:
    """Per seed, the index of the rate with the lowest mean final training loss on the other
    seeds (a rate where one of their runs diverged is excluded): `(seed,)`."""
    final = curves.final(results.sel("train_loss", depth=depth, arch=arch))  # (lr, seed)
    diverged = results.sel("diverged_at", depth=depth, arch=arch) >= 0
    return selection.held_out_best(final, excluded=diverged | ~np.isfinite(final))


def at_chosen_rate(results: Results, name: str, depth: int, arch: str) -> np.ndarray:
    """`name` of every seed at its chosen rate: `(seed, step)`."""
    return selection.per_seed(results.sel(name, depth=depth, arch=arch),
                              chosen_rates(results, depth, arch))


def final_loss(results: Results, depth: int, arch: str) -> np.ndarray:
    """Final training loss of every seed at its chosen rate: `(seed,)`."""
    return curves.final(at_chosen_rate(results, "train_loss", depth, arch))


def _summary(results: Results, config: Config, depth: int, arch: str) -> dict:
    """What the report shows of one net: losses at init and at the end, accuracies, the
    chosen rates and the last quarter's change (near 0 once the budget has converged)."""
    loss = at_chosen_rate(results, "train_loss", depth, arch)
    steps = results.coords["step"]
    return {
        "train_loss_at_init": stats.mean_ci(loss[:, 0]),
        "train_loss": stats.mean_ci(curves.final(loss)),
        "train_loss_drop_last_quarter": stats.mean_ci(curves.last_quarter_drop(steps, loss)),
        "train_accuracy": stats.mean_ci(curves.final(
            at_chosen_rate(results, "train_accuracy", depth, arch)), bounds=(0, 1)),
        "test_accuracy": stats.mean_ci(curves.final(
            at_chosen_rate(results, "test_accuracy", depth, arch)), bounds=(0, 1)),
        "chosen_rates": [config.rates[i] for i in chosen_rates(results, depth, arch)],
    }


def _by_depth(results: Results, config: Config) -> dict:
    """Final training loss of every trained net, `{arch: {depth: interval}}`."""
    return {arch: {d: stats.mean_ci(final_loss(results, d, arch)) for d in config.depths}
            for arch in ARCHS}


claims = ClaimBook("residual_connections", questions="Q71, Q29")


@claims.rule("plain_deep_degrades",
             rule="final training loss (cross-entropy on a fixed training subset, BatchNorm in "
                  "training mode) of the plain net of depth `deep` (48) / that of the plain net "
                  "of depth `shallow` (4), per seed, each net at the SGD rate with the lowest "
                  "final training loss on the other seeds: the 95 % CI over seeds of the ratio "
                  "lies above degrade_factor (2)")
def _(results: Results, config: Config):
    ratio = stats.mean_ci(final_loss(results, config.deep, "plain")
                          / final_loss(results, config.shallow, "plain"))
    return stats.decide(
        ratio.above(config.degrade_factor),
        f"training loss plain-{config.deep} / plain-{config.shallow}", ratio,
        threshold=config.degrade_factor, chance_loss=CHANCE_LOSS,
        **{f"plain_{config.shallow}": _summary(results, config, config.shallow, "plain"),
           f"plain_{config.deep}": _summary(results, config, config.deep, "plain")},
        train_loss_by_depth=_by_depth(results, config))


@claims.rule("residual_fixes_degradation",
             rule="final training loss of the residual net of depth `deep` (48) / that of the "
                  "plain net of the same depth, per seed (same initial weights and batches), "
                  "each at the SGD rate with the lowest final training loss on the other "
                  "seeds: the 95 % CI over seeds of the ratio lies below fix_factor (0.75)")
def _(results: Results, config: Config):
    ratio = stats.mean_ci(final_loss(results, config.deep, "residual")
                          / final_loss(results, config.deep, "plain"))
    return stats.decide(
        ratio.below(config.fix_factor),
        f"training loss residual-{config.deep} / plain-{config.deep}", ratio,
        threshold=config.fix_factor,
        **{f"residual_{config.deep}": _summary(results, config, config.deep, "residual"),
           f"residual_{config.shallow}": _summary(results, config, config.shallow, "residual")})


# ------------------------------------------------------------------------------- figures

COLORS = {"plain": plots.PALETTE[1], "residual": plots.PALETTE[0]}
LOG_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20)  # labelled losses on log axes


def _plain_log_ticks(ax) -> None:
    """A log y-axis labelled 0.1, 0.2, 0.5, 1, 2, 5 rather than 2 x 10^-1."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(FixedLocator(LOG_TICKS))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _loss_by_depth(ax, results: Results, config: Config) -> None:
    """Final training loss against depth, plain and residual, mean and 95 % band over seeds."""
    for arch in ARCHS:
        values = np.stack([final_loss(results, d, arch) for d in config.depths], axis=1)
        plots.band(ax, config.depths, values, label=arch, color=COLORS[arch],
                   marker="o", log=True)
    ax.axhline(CHANCE_LOSS, color="k", linestyle=":", linewidth=1, label="chance (ln 10)")
    _plain_log_ticks(ax)
    ax.set_xticks(config.depths)
    ax.set_xlabel("depth (layers with weights)")
    ax.set_ylabel("final training loss (cross-entropy)")
    ax.set_title("each net at its own best SGD rate")
    plots.legend_outside(ax)


def _curves(ax, results: Results, config: Config) -> None:
    """Training loss against steps of the shallow and the deep nets, both architectures."""
    steps = results.coords["step"]
    for arch in ARCHS:
        for depth, style in ((config.shallow, "--"), (config.deep, "-")):
            plots.band(ax, steps, at_chosen_rate(results, "train_loss", depth, arch),
                       label=f"{arch}-{depth}", color=COLORS[arch],
                       linestyle=style, log=True)
    ax.axhline(CHANCE_LOSS, color="k", linestyle=":", linewidth=1, label="chance (ln 10)")
    _plain_log_ticks(ax)
    ax.set_xlabel("SGD step")
    ax.set_ylabel("training loss (cross-entropy)")
    ax.set_title(f"depth {config.shallow} (dashed) and {config.deep} (solid)")
    plots.legend_outside(ax)


def _accuracy_by_depth(ax, results: Results, config: Config) -> None:
    """Final training and test accuracy against depth, both architectures."""
    for arch in ARCHS:
        for name, style, label in (("train_accuracy", "-", "training"),
                                   ("test_accuracy", "--", "test")):
            values = np.stack([curves.final(at_chosen_rate(results, name, d, arch))
                               for d in config.depths], axis=1)
            plots.band(ax, config.depths, values, label=f"{arch}, {label}",
                       color=COLORS[arch], linestyle=style, marker="o", bounds=(0, 1))
    ax.axhline(1 / image_data.CLASSES, color="k", linestyle=":", linewidth=1, label="chance")
    ax.set_xticks(config.depths)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("depth (layers with weights)")
    ax.set_ylabel("final accuracy")
    ax.set_title("training (BN batch stats) and test (running stats)")
    plots.legend_outside(ax)


def plot(results: Results, config: Config) -> dict:
    """Training loss by depth and over training, and accuracies by depth."""
    fig, axes = plots.figure(ncols=3, width=4.6, height=3.6)
    _loss_by_depth(axes[0, 0], results, config)
    _curves(axes[0, 1], results, config)
    _accuracy_by_depth(axes[0, 2], results, config)
    plain = float(np.mean(final_loss(results, config.deep, "plain")))
    shallow = float(np.mean(final_loss(results, config.shallow, "plain")))
    residual = float(np.mean(final_loss(results, config.deep, "residual")))
    plots.title(fig, f"With SGD, plain-{config.deep} ends at training loss {plain:.2f} (chance "
                     f"{CHANCE_LOSS:.2f}), plain-{config.shallow} at {shallow:.2f}, residual-"
                     f"{config.deep} at {residual:.2f}")
    return {"degradation": fig}


main(__spec__)
