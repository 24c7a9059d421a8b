"""Convolution mechanics: the library's conv is an explicit sliding dot product (largest relative error 2.7e-7) whose output length follows floor((n + 2p - k)/s) + 1 and XLA's shape rule on all 199 tested shapes; with a class-coding motif at the signal's border SAME padding beats VALID by 11 points [8, 14], at the centre it does not (-0.5 [-1.5, 0.6]).

Q&A: Q65 (a filter slides over the input, a dot product at each location, shared weights),
Q68 (padding lets filters use the edge pixels and keeps the output size), Q64 (components).

Part 1, `conv_is_sliding_dot_product` (check). Thirteen convolutions (`CASES`): 1-D and 2-D,
SAME, VALID, CIRCULAR, int and unequal (lo, hi) paddings, strides 1-3, dilations 1-3, an even
kernel, unequal axes; per seed a random input (2 examples, 3 channels), kernel (4 filters) and
bias, all standard normals cut from one draw. The library's `models.conv.conv` (float32; the
layer `ConvNet` uses) is compared with `reference_conv`, written here in numpy float64: pad by
the conventions' definitions (`reference_pads`, not the library's), then, one loop iteration
per output position, take the window (every d-th sample from position x stride) and dot it
with the one shared kernel. Statistic: max |conv - reference| / max |reference| per case and
seed; a flipped kernel (a true convolution, not the cross-correlation) scores ~1 (a test).
The SAME cases are also compared with XLA's own `jax.lax.conv_general_dilated(padding="SAME")`
(a detail, not part of the rule): largest relative error 1.9e-7 / 2.5e-7 (seed 0 / seed 1).
Part 2, `output_size_formula` (check): output lengths read from the library's actual outputs
(one program) for every (n, k, s, p) of n in {7, 8, 13}, k in {1, 2, 3, 5}, s in {1, 2, 3},
p in {0, 1, 2} and the SAME (ceil(n / s)) and VALID (p = 0) conventions (180 shapes), and for
each axis of the 13 value-check cases (19 axes; dilation d enters as the span d (k - 1) + 1).
The library slices its patches with its own `output_size`, so its outputs alone would only
compare the library's formula with this file's; each length is therefore also compared with
an independent reference, the output shape of `jax.lax.conv_general_dilated` under the same
padding, stride and dilation (`jax.eval_shape`: XLA's shape rule, nothing compiles or runs;
CIRCULAR as SAME), and a shape counts as matching only if it equals both.
Part 3, `padding_keeps_edges`. Signals of 20 samples of N(0, 1) noise hold one motif of 4
samples, amplitude 1.5 per sample; its shape is the class (3 classes: rows 1-3 of the 4 x 4
Hadamard matrix, zero-mean, orthogonal, equal energy). At the border a motif starts at sample
0 or 1 or ends at the last or last-but-one sample; in the matched control it starts at one of
4 middle positions (6-9), so the motif sits >= 6 samples (the receptive field 7 - 1) from both
ends. Per seed, 1024 training, 512 validation and 1024 test signals; the border and centre
sets share their noise, classes and slot draws (paired). The network is the same for both
arms (identical parameters: 3 conv layers of 8 filters of width 3, ReLU, global max pool,
linear head; `ConvNet`), padding SAME or VALID. Adam at batch 32 for 600 steps with the rate
decaying (cosine) to 0; peak rates 0.003, 0.01, 0.03 trained side by side (one program per
padding: rates x regions x seeds); each (padding, region) cell is judged, per seed, at the
rate with the best final validation accuracy on the other seeds. The claim is relative to
the control: A = test accuracy(SAME) - test accuracy(VALID), paired per seed, must be above
0 at the border and above its centre value (a difference of differences).
Why VALID loses at the border. A VALID convolution does read the border samples (its first
window starts at sample 0), but each border sample lies in fewer windows, and the maps
shrink with depth (20 -> 18 -> 16 -> 14 positions), so the deficit compounds: sample 0 reaches
the last map through 1 path of taps (an interior sample through 3^3 = 27) and lies in 1 of
its windows (interior: 7); samples 0-3, where a border motif sits, enter through 1, 4, 10, 17
paths. So the motif is seen only at the edge of a single window, through the weights that
every interior position shares. SAME's zeros let the windows centre on the edge samples
(13, 22, 26, 27 paths; 4-7 windows), as they do on a centre motif. In the centre both nets
see the motif alike, and VALID is if anything slightly ahead (its max pool ranges over 14
positions, SAME's over 20, of which the noise-only ones can only raise false maxima).
How the 11.8 points (seed 0) split: A(border) - A(centre) = [SAME(border) - SAME(centre)] +
[VALID(centre) - VALID(border)]. SAME itself scores higher at the border than at the centre,
77.9 vs 73.5 % (4.4 points; 3.5-7.8 over seeds 0-4): a window that hangs over the end holds
zeros where it would otherwise hold noise, so the edge windows are less noisy. So ~4 of the
11.8 points are SAME's zero padding helping, and ~7.4 are VALID's own loss from centre to
border (74.0 -> 66.6 %).

Command:  python -m experiments.conv_mechanics --profile quick
Expected (quick, 8 seeds; seed 0 / seed 1):
- conv_is_sliding_dot_product (check), reproduced: largest relative error 2.7e-7 / 2.1e-7
  over 13 cases x 8 seeds (tolerance 1e-5; float32 rounding), output shapes equal.
- output_size_formula (check), reproduced: 199 of 199 shapes match the formula and XLA's
  lax.conv_general_dilated shape (Wilson [0.981, 1]).
- padding_keeps_edges, reproduced: A(border) - A(centre) = 11.8 [8.4, 15.1] / 10.0 [7.4, 12.6]
  points; A(border) = 11.3 [8.1, 14.4] / 8.9 [6.3, 11.5], A(centre) = -0.5 [-1.5, 0.6] /
  -1.1 [-2.0, -0.2]. Test accuracy (%): SAME 77.9 / 77.5 and VALID 66.6 / 68.6 at the
  border, SAME 73.5 / 73.5 and VALID 74.0 / 74.6 at the centre (chance 33.3).
  Budget: the rate decays (cosine) to 0, so every run's last quarter is flat and flatness
  says nothing about convergence; the budget was tested directly at seed 2 (8 seeds; quick
  there: difference 9.7 [6.5, 12.8], A(border) 8.8 [5.5, 12.0]). 2400 steps, 5 rates
  0.001-0.1: difference 6.9 [5.1, 8.7], A(border) 5.9 [4.1, 7.7], A(centre) -1.0; 6000
  steps, rates 0.003 and 0.01: difference 8.3 [5.9, 10.6], A(border) 7.3 [5.4, 9.3]. At 4x
  the budget VALID's border test accuracy rises 68.9 -> 71.8 % (SAME's 77.6 -> 77.7 %): the
  effect's size depends on the budget (6-12 points), its sign does not.
  Chosen rates: 0.01 or 0.03; 0.03 (the grid's top) in the centre at seed 0 for
  SAME (8/8) and VALID (3/8), and in both regions for VALID at seed 1 (8/8): a rerun at seed
  1 with 0.1 added chose the same rates (0.1 ends at 40-53 % validation accuracy, 20+ points
  below) and gave identical numbers.
Tried to break it: other seeds (difference of differences, quick profile): seed 2 9.7
[6.5, 12.8]; seed 3 15.5 [9.3, 21.8]; 16 seeds at seed 4 13.5 [9.4, 17.6]; longer budgets
above. At seed 0: 400 steps with a fourth rate 0.1: A(border) 13.9 [10.6, 17.2],
A(centre) -0.4; batch 16 for 600 steps: 16.7 [7.8, 25.6] / -1.7 [-2.8, -0.6]; 6 filters,
500 steps: 13.6 [6.9, 20.3] / -0.6. A first design with an 8-sample motif (4 classes) in
32 samples, 512 training signals and 4 layers (receptive field 9) gave a smaller effect at
900 steps: A(border) 4.4 [0.2, 8.5], A(centre) -1.6 [-3.3, 0.2], difference 6.0 [1.9, 10.1]:
a motif that fills the one edge window reaches its well-connected middle too, so the
advantage depends on how much of the signal lies in the outermost few samples.
Runtime: smoke ~12 s CPU (user + sys, warm compilation cache); quick ~25 s CPU warm (above
the ~20 s aim: 2 x 48 runs x 600 steps are ~13 s of it), ~50 s cold; 2 cores shared with
other jobs. Full (32 seeds, more data, 16 filters, 5 rates, 3000 steps at batch 64) is sized
for one GPU and was not run.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from typing import ClassVar, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from phenomena import curves, losses, models, plots, rng, selection, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, main
from phenomena.models import ConvNetConfig
from phenomena.models.conv import conv
from phenomena.results import Results
from phenomena.train import TrainConfig

CHECK_STREAM, TASK_STREAM = 2, 3  # each seed key's streams for the check's draws and the task's
PADDINGS = ("SAME", "VALID")  # the compared arms of the padding task
REGIONS = ("border", "centre")  # where the motif sits: the claim's condition and its control
SPLITS = ("train", "val", "test")
ERROR_TOLERANCE = 1e-5  # largest relative error (float32 library vs float64 reference) allowed
COLORS = {"SAME": plots.PALETTE[0], "VALID": plots.PALETTE[1]}
REGION_COLORS = (plots.PALETTE[3], plots.PALETTE[4])  # shading of the border and centre samples


class ConvCase(NamedTuple):
    """One convolution of the value check: spatial input shape, window, stride, padding
    (SAME, VALID, CIRCULAR, an int or `(lo, hi)` pairs per dim) and dilation, per dim."""

    spatial: tuple[int, ...]
    window: tuple[int, ...]
    stride: tuple[int, ...]
    padding: str | int | tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]

    @property
    def label(self) -> str:
        """A short name: dims, input, window, stride, padding, dilation."""
        join = lambda v: "x".join(str(i) for i in v)  # noqa: E731
        if isinstance(self.padding, str):
            pad = self.padding
        elif isinstance(self.padding, int):
            pad = f"p{self.padding}"
        else:
            pad = "p" + "|".join(f"{lo},{hi}" for lo, hi in self.padding)
        return (f"{len(self.spatial)}-D n{join(self.spatial)} k{join(self.window)} "
                f"s{join(self.stride)} d{join(self.dilation)} {pad}")


# The value check's convolutions: 1-D and 2-D, every padding kind, strides, dilations,
# even kernels (SAME's extra zero goes on the high side) and unequal axes.
CASES = (
    ConvCase((17,), (3,), (1,), "VALID", (1,)),
    ConvCase((17,), (3,), (1,), "SAME", (1,)),
    ConvCase((16,), (4,), (2,), "SAME", (1,)),
    ConvCase((19,), (5,), (3,), 2, (1,)),
    ConvCase((20,), (3,), (1,), "SAME", (2,)),
    ConvCase((20,), (3,), (2,), ((1, 4),), (3,)),
    ConvCase((12,), (5,), (1,), "CIRCULAR", (1,)),
    ConvCase((9, 9), (3, 3), (1, 1), "VALID", (1, 1)),
    ConvCase((8, 8), (3, 3), (1, 1), "SAME", (1, 1)),
    ConvCase((10, 7), (3, 2), (2, 1), "SAME", (1, 1)),
    ConvCase((9, 11), (3, 3), (1, 2), 1, (2, 1)),
    ConvCase((8, 8), (4, 4), (2, 2), ((1, 2), (0, 1)), (1, 1)),
    ConvCase((6, 6), (3, 3), (1, 1), "CIRCULAR", (1, 1)),
)


def centre_first_start(config: "Config") -> int:
    """The first of the centre region's 2 * slots motif starts (the region is centred)."""
    return (config.length - config.motif_length) // 2 - config.slots


def centre_margin(config: "Config") -> int:
    """Samples between the centre region's motifs and the nearer end of the signal."""
    first = centre_first_start(config)
    last_sample = first + 2 * config.slots - 1 + config.motif_length - 1
    return min(first, config.length - 1 - last_sample)


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    check_batch: int = 2  # examples per random input of the value check
    check_in_channels: int = 3  # input channels of the value check's convolutions
    check_out_channels: int = 4  # output channels (kernels) of the value check's convolutions
    size_lengths: tuple[int, ...] = (7, 8, 13)  # input lengths n of the output-size grid
    size_kernels: tuple[int, ...] = (1, 2, 3, 5)  # kernel sizes k of the output-size grid
    size_strides: tuple[int, ...] = (1, 2, 3)  # strides s of the output-size grid
    size_pads: tuple[int, ...] = (0, 1, 2)  # zeros p on each side of the output-size grid
    length: int = 20  # samples per signal of the padding task
    classes: int = 3  # motif shapes (rows 1.. of a Hadamard matrix; row 0 is constant)
    motif_length: int = 4  # samples per motif (a power of 2: the Hadamard order)
    amplitude: float = 1.5  # motif amplitude per sample; the background noise has SD 1
    slots: int = 2  # motif starts per end (border); the centre has 2 * slots middle starts
    train_size: int = 1024  # training signals per seed and region (a fresh draw per seed)
    val_size: int = 512  # validation signals per seed and region (choose the rate)
    test_size: int = 1024  # test signals per seed and region
    model: ConvNetConfig = ConvNetConfig(
        dims=1, channels=(8, 8, 8), kernels=(3, 3, 3), strides=(1, 1, 1),
        global_pool="max")  # the network both paddings share (its padding is the arm)
    lrs: tuple[float, ...] = (0.003, 0.01, 0.03)  # Adam peak rates (vmapped; best on validation)
    train: TrainConfig = TrainConfig(optimizer="adam", lr=0.01, steps=600, batch_size=32,
                                     eval_every=150)  # cosine decay of the rate to 0 at `steps`

    IGNORED_KEYS: ClassVar[Mapping[str, str]] = {
        "train.lr": "the peak rates are the grid `lrs`, each (padding, region) keeps its best",
        "model.padding": "the padding is the compared arm: SAME and VALID both train"}

    def __post_init__(self):
        super().__post_init__()
        check(min(self.check_batch, self.check_in_channels, self.check_out_channels) >= 1,
              "check_batch, check_in_channels and check_out_channels must be positive")
        check(all(v >= 1 for v in self.size_kernels + self.size_strides)
              and all(p >= 0 for p in self.size_pads) and self.size_lengths and self.size_pads,
              "the output-size grid needs kernels and strides >= 1, pads >= 0, lengths and pads")
        check(min(self.size_lengths) >= max(self.size_kernels),
              f"every size_length must be at least the largest size_kernel (a VALID output needs "
              f"one window), got {self.size_lengths} and {self.size_kernels}")
        check(self.motif_length >= 2 and self.motif_length & (self.motif_length - 1) == 0,
              f"motif_length must be a power of 2 (the Hadamard order), got {self.motif_length}")
        check(2 <= self.classes < self.motif_length,
              f"classes must be in [2, motif_length - 1], got {self.classes}")
        check(self.amplitude > 0 and self.slots >= 1, "amplitude and slots must be positive")
        check(min(self.train_size, self.val_size, self.test_size) >= 2,
              "train_size, val_size and test_size must be at least 2")
        check(self.model.dims == 1 and not self.model.residual
              and set(self.model.layer_pools) == {1},
              "the padding task's model must be 1-D, not residual, without pooling layers")
        check(len(self.lrs) >= 1 and all(lr > 0 for lr in self.lrs),
              f"lrs must be positive, got {self.lrs}")
        check(self.seeds >= 2, "seeds must be at least 2 (each seed's rate is chosen on the others)")
        margin = centre_margin(self)
        field = models.receptive_fields(self.model)[-1]
        check(margin >= field - 1,
              f"the centre motif must sit at least a receptive field ({field}) - 1 samples from "
              f"both ends (it sits {margin} away): raise length or lower slots/motif_length")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "size_lengths": (8,), "size_kernels": (1, 3), "size_strides": (1, 2),
              "size_pads": (0, 1), "train_size": 64, "val_size": 32, "test_size": 64,
              "lrs": (0.01,), "train.steps": 20, "train.eval_every": 10},
    "quick": {},
    "full": {"seeds": 32, "train_size": 2048, "val_size": 1024, "test_size": 8192,
             "model.channels": (16, 16, 16), "lrs": (0.001, 0.003, 0.01, 0.03, 0.1),
             "train.steps": 3000, "train.batch_size": 64, "train.eval_every": 300},
}


# ------------------------------------------------------------ part 1: the sliding dot product

def reference_pads(spatial, window, stride, padding, dilation) -> list[tuple[int, int]]:
    """`(lo, hi)` zeros per spatial dim, derived here from the conventions' definitions (not
    from the library): VALID none; SAME enough for ceil(n / s) outputs, the odd zero on the
    high side (XLA's and TensorFlow's rule); CIRCULAR as SAME; an int on both sides."""
    if isinstance(padding, int):
        return [(padding, padding)] * len(spatial)
    if not isinstance(padding, str):
        return [tuple(p) for p in padding]
    if padding == "VALID":
        return [(0, 0)] * len(spatial)
    pads = []
    for n, k, s, d in zip(spatial, window, stride, dilation):
        outputs = -(-n // s)
        total = max((outputs - 1) * s + d * (k - 1) + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def reference_conv(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray,
                   case: ConvCase) -> np.ndarray:
    """The convolution as an explicit sliding dot product, in float64 numpy.

    `x` is `(..., n, *spatial, c_in)`, `kernel` `(..., *window, c_in, c_out)`, `bias`
    `(..., c_out)` (leading axes: seeds). At every output position the window of the padded
    input (every `dilation`-th sample from `position * stride`) is multiplied with the same
    kernel and summed: one loop iteration per output position.
    """
    dims = len(case.spatial)
    x, kernel, bias = (np.asarray(a, np.float64) for a in (x, kernel, bias))
    lead = x.ndim - dims - 2  # seed axes
    pads = reference_pads(case.spatial, case.window, case.stride, case.padding, case.dilation)
    mode = "wrap" if case.padding == "CIRCULAR" else "constant"
    padded = np.pad(x, [(0, 0)] * (lead + 1) + pads + [(0, 0)], mode=mode)
    spans = [d * (k - 1) + 1 for k, d in zip(case.window, case.dilation)]
    outputs = [(m - span) // s + 1 for m, span, s in
               zip(padded.shape[lead + 1:lead + 1 + dims], spans, case.stride)]
    y = np.zeros((*x.shape[:lead + 1], *outputs, kernel.shape[-1]))
    for position in itertools.product(*(range(o) for o in outputs)):
        taps = tuple(slice(p * s, p * s + span, d) for p, s, span, d in
                     zip(position, case.stride, spans, case.dilation))
        window = padded[(Ellipsis, *taps, slice(None))]  # (..., n, *window, c_in)
        window = window.reshape(*window.shape[:lead + 1], -1)
        weights = kernel.reshape(*kernel.shape[:lead], -1, kernel.shape[-1])  # shared weights
        y[(Ellipsis, *position, slice(None))] = (
            np.einsum("...nk,...ko->...no", window, weights) + bias[..., None, :])
    return y


def check_sizes(config: Config) -> list[dict]:
    """The shapes of every case's random input, kernel and bias."""
    c_in, c_out = config.check_in_channels, config.check_out_channels
    return [{"x": (config.check_batch, *case.spatial, c_in), "kernel": (*case.window, c_in, c_out),
             "bias": (c_out,)} for case in CASES]


def check_draws(flat: np.ndarray, config: Config) -> list[dict]:
    """Every case's input, kernel and bias cut from one stream of standard normals per seed
    (`flat`: (seed, total)), each with a leading seed axis. (One draw, not one per array: every
    random call compiles threefry again, and 39 of them took ~1 min of CPU to compile.)"""
    draws, used = [], 0
    for shapes in check_sizes(config):
        draw = {}
        for name, shape in shapes.items():
            size = int(np.prod(shape))
            draw[name] = flat[:, used:used + size].reshape(flat.shape[0], *shape)
            used += size
        draws.append(draw)
    return draws


def check_total(config: Config) -> int:
    """How many standard normals the value check draws per seed."""
    return sum(int(np.prod(shape)) for shapes in check_sizes(config) for shape in shapes.values())


def _library_conv(draw: dict, case: ConvCase) -> jax.Array:
    """The library's convolution of one case."""
    return conv(draw["x"], draw["kernel"], draw["bias"], stride=case.stride,
                padding=case.padding, dilation=case.dilation)


def lax_padding(padding: str | int | tuple, dims: int) -> str | list[tuple[int, int]]:
    """`padding` as `jax.lax.conv_general_dilated` takes it: SAME and VALID as strings,
    CIRCULAR as SAME (wrapping changes the values, not the size), an int as (p, p) per dim,
    `(lo, hi)` pairs as given."""
    if padding == "CIRCULAR":
        return "SAME"
    if isinstance(padding, str):
        return padding
    if isinstance(padding, int):
        return [(padding, padding)] * dims
    return [tuple(pair) for pair in padding]


def _lax_conv(x: jax.Array, kernel: jax.Array, case: ConvCase) -> jax.Array:
    """XLA's own convolution of `x` (n, *spatial, c_in) with `kernel` (*window, c_in, c_out)
    under the case's stride, padding and dilation (no bias)."""
    spatial = "DHW"[-len(case.spatial):]
    return jax.lax.conv_general_dilated(
        x, kernel, window_strides=case.stride, padding=lax_padding(case.padding, len(case.spatial)),
        rhs_dilation=case.dilation,
        dimension_numbers=(f"N{spatial}C", f"{spatial}IO", f"N{spatial}C"))


def lax_output_shape(case: ConvCase) -> tuple[int, ...]:
    """The spatial output shape of `jax.lax.conv_general_dilated` for the case's input, window,
    stride, padding and dilation, from `jax.eval_shape` (XLA's shape rule; nothing compiles or
    runs). An independent reference: the library slices its patches with its own
    `output_size`, so its outputs alone only restate the library's formula."""
    x = jax.ShapeDtypeStruct((1, *case.spatial, 1), jnp.float32)
    kernel = jax.ShapeDtypeStruct((*case.window, 1, 1), jnp.float32)
    return tuple(jax.eval_shape(functools.partial(_lax_conv, case=case), x, kernel).shape[1:-1])


# The value check's SAME cases are also compared with XLA's SAME convolution (a second,
# independent reference for the values; float32 both, so only the summation order differs).
SAME_CASES = tuple(i for i, case in enumerate(CASES) if case.padding == "SAME")


@jax.jit
def _check_outputs(draws: list[dict]) -> tuple[list[jax.Array], list[jax.Array]]:
    """The library's output for every case and seed, and XLA's (`lax.conv_general_dilated`,
    plus the bias) for every SAME case, in one program."""
    library = [jax.vmap(functools.partial(_library_conv, case=case))(d)
               for d, case in zip(draws, CASES)]
    xla = [jax.vmap(functools.partial(_xla_conv_with_bias, case=CASES[i]))(draws[i])
           for i in SAME_CASES]
    return library, xla


def _xla_conv_with_bias(draw: dict, case: ConvCase) -> jax.Array:
    """`_lax_conv` of one case's input and kernel, plus its bias (broadcast over positions)."""
    y = _lax_conv(draw["x"], draw["kernel"], case)
    return y + draw["bias"].reshape((1,) * (y.ndim - 1) + (-1,))


def relative_error(found: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per seed (axis 0), max |found - reference| / max |reference|; inf if shapes differ."""
    if found.shape != reference.shape:
        return np.full(reference.shape[0], np.inf)
    axes = tuple(range(1, reference.ndim))
    return np.max(np.abs(found - reference), axis=axes) / np.max(np.abs(reference), axis=axes)


def _value_check(draws: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(relative error (case, seed), output spatial sizes (case, 2), relative error against
    XLA's SAME conv (SAME case, seed))` of the library's conv; the first against the
    sliding-dot-product reference (sizes: 0 where a case has one dim)."""
    found, xla = _check_outputs(draws)
    errors, sizes = [], np.zeros((len(CASES), 2), int)
    for i, (draw, y, case) in enumerate(zip(draws, found, CASES)):
        y = np.asarray(y)
        reference = reference_conv(np.asarray(draw["x"]), np.asarray(draw["kernel"]),
                                   np.asarray(draw["bias"]), case)
        errors.append(relative_error(y, reference))
        dims = len(case.spatial)
        sizes[i, :dims] = y.shape[2:2 + dims]  # (seed, n, *spatial, c_out)
    xla_errors = [relative_error(np.asarray(found[i]), np.asarray(y))
                  for i, y in zip(SAME_CASES, xla)]
    return np.stack(errors), sizes, np.stack(xla_errors)


# ------------------------------------------------------------------ part 2: the output size

def size_grid(config: Config) -> list[tuple[int, int, int, int | str]]:
    """The output-size grid: every (n, k, s, p) with p an int of `size_pads` or the SAME or
    VALID convention."""
    pads = (*config.size_pads, "SAME", "VALID")
    return list(itertools.product(config.size_lengths, config.size_kernels, config.size_strides,
                                  pads))


def formula_length(n: int, k: int, s: int, p: int | str | tuple[int, int], d: int = 1) -> int:
    """The textbook output length: floor((n + 2p - k) / s) + 1 (with a dilated window's span
    d (k - 1) + 1 for k, and lo + hi for 2p with unequal pads); SAME: ceil(n / s); VALID: p = 0."""
    if p == "SAME" or p == "CIRCULAR":
        return -(-n // s)
    lo, hi = (0, 0) if p == "VALID" else (p, p) if isinstance(p, int) else p
    return (n + lo + hi - (d * (k - 1) + 1)) // s + 1


@functools.partial(jax.jit, static_argnums=0)
def _grid_outputs(grid: tuple) -> list[jax.Array]:
    """The library's convolution of every grid shape (ones in, a ones kernel), in one program."""
    return [conv(jnp.ones((1, n, 1)), jnp.ones((k, 1, 1)), stride=s, padding=p)
            for n, k, s, p in grid]


def _grid_lengths(config: Config) -> np.ndarray:
    """Measured output length of the library's conv for every shape of `size_grid`."""
    return np.asarray([y.shape[1] for y in _grid_outputs(tuple(size_grid(config)))])


def grid_case(n: int, k: int, s: int, p: int | str) -> ConvCase:
    """A shape of `size_grid` as a 1-D `ConvCase` (dilation 1)."""
    return ConvCase((n,), (k,), (s,), p, (1,))


def _grid_reference_lengths(config: Config) -> np.ndarray:
    """XLA's output length (`lax_output_shape`) for every shape of `size_grid`."""
    return np.asarray([lax_output_shape(grid_case(*shape))[0] for shape in size_grid(config)])


def _case_reference_sizes() -> np.ndarray:
    """XLA's output spatial sizes of every value-check case, (case, 2), 0 where a case has
    one dim."""
    sizes = np.zeros((len(CASES), 2), int)
    for i, case in enumerate(CASES):
        sizes[i, :len(case.spatial)] = lax_output_shape(case)
    return sizes


def case_formula(case: ConvCase, dim: int) -> int:
    """The textbook output length of a value-check case along spatial dim `dim`."""
    padding = case.padding
    if isinstance(padding, tuple):
        padding = padding[dim]
    return formula_length(case.spatial[dim], case.window[dim], case.stride[dim], padding,
                          case.dilation[dim])


# ------------------------------------------------------------ part 3: padding at the border

def templates(config: Config) -> np.ndarray:
    """The motif of each class: rows 1..classes of the Hadamard matrix of order motif_length
    (±1 patterns of equal energy, zero mean, mutually orthogonal): (classes, motif_length)."""
    return scipy.linalg.hadamard(config.motif_length)[1:1 + config.classes].astype(np.float32)


def motif_starts(slot: jax.Array, region: str, config: Config) -> jax.Array:
    """Where each motif starts. Slots 0..2 slots - 1: at the border, slot u < slots starts
    at u (touching the left end when u = 0), slot slots + j ends j samples before the right
    end; at the centre, slot u starts at the centre region's first start + u."""
    if region == "centre":
        return centre_first_start(config) + slot
    last = config.length - config.motif_length
    return jnp.where(slot < config.slots, slot, last - (slot - config.slots))


def region_spans(region: str, config: Config) -> list[tuple[int, int]]:
    """The samples `[lo, hi)` a region's motifs can cover (the border has one span per end)."""
    if region == "centre":
        first = centre_first_start(config)
        return [(first, first + 2 * config.slots - 1 + config.motif_length)]
    return [(0, config.slots - 1 + config.motif_length),
            (config.length - config.motif_length - config.slots + 1, config.length)]


def place(draw: dict, region: str, config: Config) -> dict:
    """Signals with each example's motif added at its slot in `region`: `{"x", "y"}`.

    The same noise, classes and slots serve both regions, so border and centre are paired."""
    start = motif_starts(draw["slot"], region, config)
    offset = jnp.arange(config.length)[None, :] - start[:, None]
    inside = (offset >= 0) & (offset < config.motif_length)
    shapes = jnp.asarray(templates(config))[draw["y"]]  # (n, motif_length)
    motif = jnp.take_along_axis(shapes, jnp.clip(offset, 0, config.motif_length - 1), axis=1)
    return {"x": draw["noise"] + config.amplitude * jnp.where(inside, motif, 0.0), "y": draw["y"]}


def split_sizes(config: Config) -> dict:
    """Examples per split (per seed and region)."""
    return {"train": config.train_size, "val": config.val_size, "test": config.test_size}


def draw_examples(key: jax.Array, config: Config) -> dict:
    """Every split's examples for one seed: background noise (SD 1), class and slot, drawn
    together (two random calls, cut into the splits: each call costs compile time)."""
    total = sum(split_sizes(config).values())
    k_noise, k_labels = jax.random.split(key)
    noise = jax.random.normal(k_noise, (total, config.length))
    # Class (column 0) and slot (column 1) in one call.
    labels = jax.random.randint(k_labels, (total, 2), 0,
                                jnp.asarray([[config.classes, 2 * config.slots]]))
    draws, used = {}, 0
    for split, n in split_sizes(config).items():
        part = slice(used, used + n)
        draws[split] = {"noise": noise[part], "y": labels[part, 0], "slot": labels[part, 1]}
        used += n
    return draws


@functools.partial(jax.jit, static_argnums=0)
def random_draws(config: Config, keys: jax.Array) -> tuple[jax.Array, dict]:
    """Every random number of the run, in one program: per seed, the value check's standard
    normals (seed, total), and the task's splits per run, `{split: {"x", "y"}}` with a run
    axis ordered (lr, region, seed) (`runs_layout`)."""
    def task(key):
        draws = draw_examples(key, config)
        return {region: {split: place(d, region, config) for split, d in draws.items()}
                for region in REGIONS}

    check_keys = rng.run_stream(keys, CHECK_STREAM)
    normals = jax.vmap(lambda k: jax.random.normal(k, (check_total(config),)))(check_keys)
    return normals, runs_layout(jax.vmap(task)(rng.run_stream(keys, TASK_STREAM)), config)


def runs_layout(sets: dict, config: Config) -> dict:
    """Per-run splits ordered (lr, region, seed), for `fit(..., data_axis=0)`, from
    `{region: {split: ...}}` with a seed axis."""
    both = jax.tree.map(lambda *a: jnp.concatenate(a), *(sets[r] for r in REGIONS))
    return jax.tree.map(lambda a: jnp.tile(a, (len(config.lrs),) + (1,) * (a.ndim - 1)), both)


def _fit_padding(padding: str, config: Config, per_run: dict, keys: jax.Array) -> train.History:
    """Every (lr, region, seed) run of one padding, in one program."""
    model = dataclasses.replace(config.model, padding=padding)
    run_keys = jnp.tile(keys, len(config.lrs) * len(REGIONS))  # same init across lr and region
    rates = jnp.repeat(jnp.asarray(config.lrs, jnp.float32), len(REGIONS) * config.seeds)
    graphdef, state = models.convnets((config.length,), config.classes, model, run_keys)
    spec = config.train.spec(schedule="warmup_cosine", decay_steps=config.train.steps)
    return train.fit(graphdef, state, losses.cross_entropy, per_run["train"], config.train,
                     run_keys, hparams={"learning_rate": rates}, optimizer=spec,
                     evaluate=losses.classification_metrics,
                     eval_data={split: per_run[split] for split in ("val", "test")}, data_axis=0,
                     name=f"{padding} padding")


@functools.partial(jax.jit, static_argnums=(0, 1))
def _last_maps(model: ConvNetConfig, length: int) -> jax.Array:
    """The last conv map of a linear, all-ones version of `model` for each one-hot input."""
    h = jnp.eye(length)[..., None]
    for k, s, d in zip(model.kernels, model.strides, model.layer_dilations):
        h = conv(h, jnp.ones((k, 1, 1)), stride=s, padding=model.padding, dilation=d)
    return h[..., 0]


def path_counts(model: ConvNetConfig, length: int) -> tuple[np.ndarray, np.ndarray]:
    """For every input sample: the number of paths from it to the last conv map (through
    every layer's taps: the weight-sharing multiplicity with which it enters the network) and
    the number of the last map's positions whose window contains it. Computed with the
    library's conv on one-hot inputs and all-ones kernels, without activations."""
    h = np.asarray(_last_maps(model, length))
    return h.sum(axis=1), (h > 0).sum(axis=1)


def run(config: Config) -> Results:
    """The value check, the output-size grid, then the padding task (one program per padding)."""
    keys = rng.seed_keys(config.seed, config.seeds)
    results = Results()
    normals, per_run = random_draws(config, keys)
    errors, sizes, xla_errors = _value_check(check_draws(np.asarray(normals), config))
    results.add("conv_error", errors, ("case", "seed"), case=[c.label for c in CASES],
                seed=list(range(config.seeds)))
    results.add("xla_same_error", xla_errors, ("same_case", "seed"),
                same_case=[CASES[i].label for i in SAME_CASES])
    results.add("case_output_size", sizes, ("case", "dim"), dim=[0, 1])
    results.add("case_reference_size", _case_reference_sizes(), ("case", "dim"))
    results.add("grid_output_length", _grid_lengths(config), ("shape",),
                shape=[f"n{n} k{k} s{s} p{p}" for n, k, s, p in size_grid(config)])
    results.add("grid_reference_length", _grid_reference_lengths(config), ("shape",))

    histories = [_fit_padding(p, config, per_run, keys) for p in PADDINGS]
    shape = (len(PADDINGS), len(config.lrs), len(REGIONS), config.seeds)
    coords = dict(padding=list(PADDINGS), lr=list(config.lrs), region=list(REGIONS),
                  step=histories[0].eval_steps.tolist())
    axes = ("padding", "lr", "region", "seed", "step")
    for metric, name in (("val/accuracy", "val_accuracy"), ("test/accuracy", "test_accuracy")):
        values = np.stack([h.evals[metric] for h in histories]).reshape(*shape, -1)
        results.add(name, values, axes, **coords)
    chunks = config.train.steps // config.train.eval_every
    chunk_losses = np.stack([h.step_metrics["loss"] for h in histories]).reshape(*shape, chunks, -1)
    results.add("train_loss", chunk_losses.mean(axis=-1), (*axes[:-1], "chunk_step"),
                chunk_step=coords["step"][1:])
    results.add("diverged_at", np.stack([h.diverged_at for h in histories]).reshape(shape),
                axes[:-1])
    counts = [path_counts(dataclasses.replace(config.model, padding=p), config.length)
              for p in PADDINGS]
    results.add("paths", np.stack([c[0] for c in counts]), ("padding", "sample"),
                sample=list(range(config.length)))
    results.add("windows", np.stack([c[1] for c in counts]), ("padding", "sample"))
    return results


# ------------------------------------------------------------------------------ claims

def chosen_rates(results: Results, padding: str, region: str) -> np.ndarray:
    """Per seed, the index of the rate with the best final validation accuracy on the other
    seeds (never one where a run diverged): no seed is judged at a rate it chose."""
    val = curves.final(results.sel("val_accuracy", padding=padding, region=region))  # (lr, seed)
    if val.shape[0] == 1:
        return np.zeros(val.shape[1], int)
    diverged = results.sel("diverged_at", padding=padding, region=region) >= 0
    return selection.held_out_best(val, excluded=diverged, mode="max")


def at_chosen_rate(results: Results, name: str, padding: str, region: str) -> np.ndarray:
    """Array `name` of one (padding, region) cell at each seed's chosen rate: (seed, step)."""
    return selection.per_seed(results.sel(name, padding=padding, region=region),
                              chosen_rates(results, padding, region))


def test_accuracy(results: Results, padding: str, region: str) -> np.ndarray:
    """Final test accuracy per seed of one cell at its chosen rate."""
    return curves.final(at_chosen_rate(results, "test_accuracy", padding, region))


def same_advantage(results: Results, region: str) -> np.ndarray:
    """Per seed, test accuracy(SAME) - test accuracy(VALID) in `region` (paired: same data
    and init keys)."""
    return test_accuracy(results, "SAME", region) - test_accuracy(results, "VALID", region)


claims = ClaimBook("conv_mechanics", questions="Q65, Q68, Q64")


@claims.rule("conv_is_sliding_dot_product", kind=stats.CHECK, questions="Q65, Q64",
             rule=f"on every seed's random inputs, kernels and biases (standard normals) for "
                  f"{len(CASES)} convolutions (1-D and 2-D; SAME, VALID, CIRCULAR, int and (lo, hi) "
                  f"paddings; strides 1-3; dilations 1-3), the library's conv (float32) equals an "
                  f"explicit sliding dot product with one shared kernel in float64 numpy: largest "
                  f"max|conv - reference| / max|reference| over cases and seeds < {ERROR_TOLERANCE:g}, "
                  f"with equal output shapes")
def _(results: Results, config: Config):
    errors = results["conv_error"]
    worst = float(np.max(errors))
    return stats.decide(
        bool(np.all(errors < ERROR_TOLERANCE)),
        "largest relative error of conv against the sliding dot product (cases x seeds)",
        stats.Interval.exact(worst, errors.size),
        largest_error_per_case=dict(zip(results.coords["case"], np.max(errors, axis=1))),
        largest_error_vs_xla_same_conv=dict(zip(results.coords["same_case"],  # not in the rule
                                                np.max(results["xla_same_error"], axis=1))),
        share_of_seeds_within_tolerance=stats.proportion_ci(
            int(np.sum(np.all(errors < ERROR_TOLERANCE, axis=0))), errors.shape[1]))


@claims.rule("output_size_formula", kind=stats.CHECK, questions="Q65",
             rule="the output length of the library's conv, measured from its outputs, equals "
                  "floor((n + 2p - k) / s) + 1 for every (n, k, s, p) of the grid, ceil(n / s) "
                  "under SAME and floor((n - k) / s) + 1 under VALID, and the same formula per "
                  "axis (with a dilated kernel's span d (k - 1) + 1 and lo + hi for unequal pads) "
                  "for every case of the value check; and it equals, as an independent "
                  "reference, the output shape of jax.lax.conv_general_dilated (jax.eval_shape, "
                  "same padding, stride and dilation; CIRCULAR as SAME) (statistic: Wilson "
                  "interval of the share of shapes that match both; the rule needs every one)")
def _(results: Results, config: Config):
    matches, mismatched = size_matches(results, config)
    grid = len(results["grid_output_length"])
    return stats.decide(
        all(matches), "share of shapes whose output length equals the formula and XLA's",
        stats.proportion_ci(int(np.sum(matches)), len(matches)),
        grid_shapes=grid, case_axes=len(matches) - grid, mismatches=mismatched[:10])


def size_matches(results: Results, config: Config) -> tuple[list[bool], list[str]]:
    """Whether each grid shape's and each case axis's measured output length equals both the
    formula and XLA's (`lax_output_shape`), and a line for every one that does not."""
    expected = [formula_length(n, k, s, p) for n, k, s, p in size_grid(config)]
    matches, mismatched = [], []
    for label, m, e, x in zip(results.coords["shape"], results["grid_output_length"], expected,
                              results["grid_reference_length"]):
        matches.append(bool(m == e == x))
        if not matches[-1]:
            mismatched.append(f"{label}: {m} (formula {e}, XLA {x})")
    sizes, xla = results["case_output_size"], results["case_reference_size"]
    for i, case in enumerate(CASES):
        for dim in range(len(case.spatial)):
            formula = case_formula(case, dim)
            matches.append(bool(sizes[i, dim] == formula == xla[i, dim]))
            if not matches[-1]:
                mismatched.append(f"{case.label} axis {dim}: {sizes[i, dim]} "
                                  f"(formula {formula}, XLA {xla[i, dim]})")
    return matches, mismatched


@claims.rule("padding_keeps_edges", questions="Q68",
             rule="signals hold one class-coding motif (a Hadamard row) in noise, at the border "
                  "(touching or next to an end) or, as the matched control, in the middle; the "
                  "same network with SAME or VALID padding, each (padding, region) at its own "
                  "Adam rate (per seed, the rate best on the other seeds' validation accuracy), "
                  "per-seed data. With A = test accuracy(SAME) - test accuracy(VALID), paired "
                  "per seed: reproduced when the 95 % CI of A(border) lies above 0 and that of "
                  "A(border) - A(centre) lies above 0 (SAME's advantage is about the edges); "
                  "nuanced when A(border) is above 0 but the difference of differences is not; "
                  "otherwise not reproduced")
def _(results: Results, config: Config):
    border, centre = same_advantage(results, "border"), same_advantage(results, "centre")
    at_border = stats.mean_ci(border)
    difference = stats.paired_diff_ci(border, centre)
    if at_border.above(0) and difference.above(0):
        verdict = stats.REPRODUCED
    elif at_border.above(0):
        verdict = stats.NUANCED
    else:
        verdict = stats.NOT_REPRODUCED
    cells = {f"{p} {r}": stats.mean_ci(test_accuracy(results, p, r), bounds=(0, 1))
             for p in PADDINGS for r in REGIONS}
    return stats.outcome(
        verdict, "A(border) - A(centre), A = test accuracy(SAME) - (VALID), paired", difference,
        same_advantage_border=at_border, same_advantage_centre=stats.mean_ci(centre),
        test_accuracy=cells,
        chosen_rate_counts=_rate_counts(results, config),
        train_loss_drop_last_quarter={  # near 0 once a run has converged
            f"{p} {r}": stats.mean_ci(curves.last_quarter_drop(
                results.coords["chunk_step"], at_chosen_rate(results, "train_loss", p, r)))
            for p in PADDINGS for r in REGIONS},
        val_accuracy_rise_last_quarter={  # near 0 once validation accuracy has plateaued
            f"{p} {r}": stats.mean_ci(-curves.last_quarter_drop(
                results.coords["step"], at_chosen_rate(results, "val_accuracy", p, r)))
            for p in PADDINGS for r in REGIONS},
        paths_from_sample_0={p: float(results.sel("paths", padding=p)[0]) for p in PADDINGS},
        paths_from_centre_sample={p: float(results.sel("paths", padding=p)[config.length // 2])
                                  for p in PADDINGS})


def _rate_counts(results: Results, config: Config) -> dict:
    """Per (padding, region), how many seeds chose each rate (a choice at a grid edge shows)."""
    counts = {}
    for p in PADDINGS:
        for r in REGIONS:
            chosen = chosen_rates(results, p, r)
            counts[f"{p} {r}"] = {f"{lr:g}": int(np.sum(chosen == i))
                                  for i, lr in enumerate(config.lrs)}
    return counts


# ------------------------------------------------------------------------------- figures

def _plot_errors(ax, results: Results):
    """Largest relative error per value-check case (over seeds) against the tolerance."""
    worst = np.max(results["conv_error"], axis=1)
    labels = results.coords["case"]
    y = np.arange(len(labels))
    ax.scatter(np.maximum(worst, 1e-12), y, color=plots.PALETTE[0], zorder=3,
               label="largest over seeds")
    ax.axvline(ERROR_TOLERANCE, color="grey", linestyle="--", label=f"tolerance {ERROR_TOLERANCE:g}")
    ax.set_xscale("log")
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("max |conv - sliding dot product| / max |reference|")
    ax.set_title("library conv vs explicit sliding dot product")
    plots.legend_outside(ax)


def _plot_sizes(ax, results: Results, config: Config):
    """Measured output length against the formula, every grid shape (jittered by convention)."""
    grid = size_grid(config)
    expected = np.asarray([formula_length(n, k, s, p) for n, k, s, p in grid])
    measured = results["grid_output_length"]
    kinds = np.asarray(["int" if isinstance(p, int) else p for *_, p in grid])
    for kind, marker, color in (("int", "o", plots.PALETTE[0]), ("SAME", "s", plots.PALETTE[2]),
                                ("VALID", "^", plots.PALETTE[1])):
        keep = kinds == kind
        label = "p = 0, 1, 2" if kind == "int" else kind
        ax.scatter(expected[keep], measured[keep], marker=marker, color=color, alpha=0.6,
                   label=f"{label} ({int(keep.sum())} shapes)")
    top = max(expected.max(), measured.max()) + 1
    ax.plot([0, top], [0, top], color="grey", linewidth=0.8, label="measured = formula")
    ax.set_xlabel("formula: floor((n + 2p - k) / s) + 1; SAME: ceil(n / s); VALID: p = 0")
    ax.set_ylabel("measured output length")
    ax.xaxis.set_major_locator(plots.integer_ticks())
    ax.yaxis.set_major_locator(plots.integer_ticks())
    ax.set_title("output length over the (n, k, s, p) grid")
    plots.legend_outside(ax)


def _plot_schematic(ax, config: Config):
    """Where the motif sits: the border and centre slots on the signal's samples, and one
    example motif of each class."""
    shapes = templates(config)
    for region, color in zip(REGIONS, REGION_COLORS):
        for i, (lo, hi) in enumerate(region_spans(region, config)):
            ax.axvspan(lo - 0.5, hi - 0.5, color=color, alpha=0.25, linewidth=0,
                       label=f"{region}: a motif lies in here" if i == 0 else None)
    for c, shape in enumerate(shapes):
        start = 0 if c % 2 == 0 else centre_first_start(config)
        ax.step(np.arange(start, start + config.motif_length), shape * config.amplitude + 4 * c,
                where="mid", color="black", linewidth=1.2)
        ax.text(config.length - 0.3, 4 * c, f"class {c}", fontsize=7, va="center")
    ax.set_xlim(-0.5, config.length + 4)
    ax.set_yticks([])
    ax.set_xlabel("sample")
    ax.set_title("the task: one motif (class = shape) in N(0, 1) noise")
    plots.legend_outside(ax)


def _plot_paths(ax, results: Results, config: Config):
    """Paths from each input sample to the last conv map, per padding, with the regions."""
    x = np.arange(config.length)
    for region, color in zip(REGIONS, REGION_COLORS):
        for i, (lo, hi) in enumerate(region_spans(region, config)):
            ax.axvspan(lo - 0.5, hi - 0.5, color=color, alpha=0.25, linewidth=0,
                       label=f"{region} samples" if i == 0 else None)
    for p in PADDINGS:
        ax.step(x, results.sel("paths", padding=p), where="mid", color=COLORS[p], label=p)
    ax.set_yscale("log")
    ax.set_xlabel("input sample")
    ax.set_ylabel("paths to the last conv map")
    ax.set_title("how often each sample enters the network")
    plots.legend_outside(ax)


def _plot_accuracy(ax, results: Results):
    """Test accuracy per padding and region at each cell's chosen rate, with CIs."""
    for j, p in enumerate(PADDINGS):
        for i, r in enumerate(REGIONS):
            ci = stats.mean_ci(test_accuracy(results, p, r), bounds=(0, 1))
            ax.errorbar([i + (j - 0.5) * 0.2], [100 * ci.mean],
                        yerr=[[100 * (ci.mean - ci.low)], [100 * (ci.high - ci.mean)]],
                        fmt="o", color=COLORS[p], capsize=4, label=p if i == 0 else None)
    ax.set_xticks(range(len(REGIONS)), list(REGIONS))
    ax.set_xlim(-0.6, len(REGIONS) - 0.4)
    ax.set_xlabel("where the motif sits")
    ax.set_ylabel("test accuracy (%, mean, 95 % CI)")
    ax.set_title("SAME vs VALID, each at its best rate")
    plots.legend_outside(ax)


def plot(results: Results, config: Config) -> dict:
    """The two checks; the padding task's schematic, path counts and accuracies."""
    fig, axes = plots.figure(ncols=2, width=5.4, height=4.0)
    _plot_errors(axes[0, 0], results)
    _plot_sizes(axes[0, 1], results, config)
    worst = float(np.max(results["conv_error"]))
    matches, _ = size_matches(results, config)
    plots.title(fig, f"conv vs a sliding dot product: largest relative error {worst:.1g}; output "
                     f"length = the formula = XLA's on {sum(matches)} of {len(matches)} shapes")
    border_advantage = same_advantage(results, "border")
    centre_advantage = same_advantage(results, "centre")
    border, centre = stats.mean_ci(border_advantage), stats.mean_ci(centre_advantage)
    difference = stats.paired_diff_ci(border_advantage, centre_advantage)
    fig2, axes2 = plots.figure(ncols=3, width=4.6, height=3.6)
    _plot_schematic(axes2[0, 0], config)
    _plot_paths(axes2[0, 1], results, config)
    _plot_accuracy(axes2[0, 2], results)
    plots.title(fig2, f"SAME's advantage is {100 * difference.mean:.1f} points "
                      f"[{100 * difference.low:.1f}, {100 * difference.high:.1f}] larger at the "
                      f"border than at the centre: {100 * border.mean:.1f} "
                      f"[{100 * border.low:.1f}, {100 * border.high:.1f}] vs "
                      f"{100 * centre.mean:+.1f} [{100 * centre.low:.1f}, {100 * centre.high:.1f}]")
    return {"checks": fig, "padding": fig2}


main(__spec__)
