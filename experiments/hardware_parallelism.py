"""Hardware parallelism: on a 2-core CPU, one run per core, batching an MNIST-1D MLP's training step from 1 to 1024 examples raises examples/s 7-8x, short of the ledger's 10x; the verdict depends on the machine.

Q&A: Q5 ("GPUs accelerate deep learning by enabling parallel processing"). Setup: the
training step of an MNIST-1D MLP (40 -> 128 -> 128 -> 10, ReLU, 23,050 parameters; forward,
backward and an Adam update on a minibatch drawn from the 4000 training signals). One run per
device, the run axis sharded over the platform's devices as the training engine does, so at
batch 1 each device steps exactly one example per step. For each batch size one program is
compiled per platform; it runs a `lax.scan` of as many steps as make `examples_per_call`
examples per run (so a batch-1 step pays no Python dispatch, as in the engine's chunks).
`seeds` counts independent timed repeats, each with its own initialization (and batch keys);
within a repeat every batch size is timed once, interleaved, so a load spike on this shared
machine hits all batch sizes alike; one warm-up call per batch size precedes them. Every
platform present is measured: the CPU always, and a GPU beside it where JAX sees one. For
reference: the float32 matmul peak (FLOP/s of a large jitted matmul, one per device), the
step's achieved FLOP/s (XLA's cost analysis of one step, times steps, over the wall time) as a
share of that peak, and the share of a step's FLOPs that is Adam's update.

Wall times are the measurement here (the claim is about speed), so they stay out of the
seed-indexed metrics: `metrics.csv` holds only each repeat's training loss after a call, which
is deterministic; the timings are arrays indexed by repeat (`arrays.npz`). The verdict is a
property of the machine that ran it (the suite's only claim decided on wall time): another
CPU, a quieter one, or a GPU may decide it the other way.

Command:  python -m experiments.hardware_parallelism --profile quick
Expected (measured, quick, 30 repeats, on this 2-core CPU, devices 0 and 1 one run each, no
GPU, shared with other jobs): examples/s at batch 1024 / batch 1 = 7.43 [6.76, 7.72] (median
over repeats, bootstrap CI; the committed run) at seed 0 and 7.56 [7.10, 8.26] at seed 1:
not reproduced (the CI lies below 10), a recorded deviation; five runs at seeds 0 and 1 gave
medians 6.9-8.0 (CIs within 5.9-8.7). Throughput is flat from batch 1 to 4 (50-65k examples/s), rises
steeply to 64 and flattens by 256-1024 (350-470k examples/s). A batch-1 step takes 32-40 us and
69 % of its FLOPs are Adam's update of all parameters (O(p) whatever the batch; the rest are
matrix-vector products); at batch 1024 the step reaches 39 % [38, 43] of the matmul peak
in the committed run (36-48 % over the five).
An earlier setup that vmapped 8 runs into each program (so "batch 1" stepped 8 rows) measured
9.94 [7.07, 12.01] over 8 repeats. Where a GPU runs (the full profile), the rule also needs
GPU/CPU examples/s at the largest batch > 1.
Runtime: smoke ~7.5 s CPU (user + sys); quick 18.5-20 s CPU warm, ~53 s with a cold
compilation cache; full (30 repeats, width 512, batches to 4096, 8192 x 8192 peak matmul) is for a GPU
host and was not run.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from phenomena import data, losses, models, plots, rng, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, main
from phenomena.models import MLPConfig
from phenomena.probes import costs
from phenomena.results import Results

SPEEDUP_MARGIN = 10.0  # examples/s at the largest batch over batch 1, on every platform
DATA_STREAM = 2  # unused by init (0) and training (1): nothing else is drawn here
EXPECTED = stats.NOT_REPRODUCED  # measured here; see DEVIATION
DEVIATION = ("on this 2-core CPU (devices 0 and 1, one run each, no GPU present) examples/s at "
             "batch 1024 / batch 1 = 6.9-8.0 (CIs within 5.9-8.7) in five runs at seeds 0 and 1 "
             "(median over 30 timed repeats each, bootstrap CI; this run's in `interval`): batching "
             "helps seven- to eightfold, short of the 10x margin. The batch-1 step is already "
             "cheap on a CPU: 32-40 us, 69 % "
             "of its FLOPs Adam's O(p) update of all 23,050 parameters (paid once per step at any "
             "batch), the rest memory-bound matrix-vector products; at batch 1024 the step uses "
             "36-48 % of the matmul peak (the whole curve moves with the machine's load). Decided "
             "on wall time, the verdict depends on the machine (8 runs vmapped per program, an "
             "earlier setup, gave 9.94 [7.07, 12.01]); a GPU run (full profile) is still open.")


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them. `seeds` counts the
    independent timed repeats (the intervals' n), each with its own initialization."""

    batch_sizes: tuple[int, ...] = (1, 4, 16, 64, 256, 1024)  # examples per step per run (must include 1)
    examples_per_call: int = 1024  # examples per run in one timed call (steps = this / batch, at least 1)
    model: MLPConfig = MLPConfig(width=128, depth=2)  # the MLP whose training step is timed
    lr: float = 1e-3  # Adam learning rate of the timed steps (the speed does not depend on it)
    matmul_size: int = 1024  # n of the n x n float32 matmuls that measure the peak FLOP/s
    gpu: bool = True  # also measure a GPU (beside the CPU) where JAX sees one

    def __post_init__(self):
        super().__post_init__()
        check(len(self.batch_sizes) >= 2 and self.batch_sizes[0] == 1
              and list(self.batch_sizes) == sorted(set(self.batch_sizes)),
              f"batch_sizes must start at 1 and rise, got {self.batch_sizes}")
        check(self.examples_per_call >= self.batch_sizes[-1],
              f"examples_per_call must be at least the largest batch, got {self.examples_per_call}")
        check(self.seeds >= 3, f"seeds (timed repeats) must be at least 3 (an interval needs them), "
                               f"got {self.seeds}")
        check(self.matmul_size > 0 and self.lr > 0, "matmul_size and lr must be positive")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 3, "batch_sizes": (1, 16), "examples_per_call": 32,
              "model.width": 16, "matmul_size": 128},
    "quick": {"seeds": 30},
    "full": {"seeds": 30, "batch_sizes": (1, 4, 16, 64, 256, 1024, 4096),
             "examples_per_call": 16384, "model.width": 512, "matmul_size": 8192},
}


# ------------------------------------------------------------------------------- devices

def platforms(config: Config) -> list[str]:
    """The platforms to measure: the CPU always, and the default backend where it is another
    (a GPU or TPU) and `config.gpu` allows it."""
    default = jax.default_backend()
    return ["cpu"] + ([default] if default != "cpu" and config.gpu else [])


def _mesh(platform: str) -> Mesh:
    """A 1-D mesh over every device of the platform: one run per device."""
    return Mesh(np.array(jax.devices(platform)), ("runs",))


def _place(tree, mesh: Mesh, split: bool):
    """Put `tree` on the mesh: split along its leading (run) axis, or replicated."""
    spec = PartitionSpec("runs") if split else PartitionSpec()
    return jax.device_put(tree, NamedSharding(mesh, spec))


# --------------------------------------------------------------------------- the programs

def _train_step(graphdef, tx, batch_size: int, params, opt_state, key, step, pool):
    """One training step of one run: a minibatch from `pool`, forward, backward, update."""
    batch = train.sample_batch(pool, jax.random.fold_in(key, step), batch_size)

    def loss_of(p):
        return losses.cross_entropy(nnx.merge(graphdef, p), batch)[0]

    loss, grads = jax.value_and_grad(loss_of)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


def _train_call(graphdef, tx, batch_size: int, steps: int, params, opt_state, keys, pool):
    """`steps` training steps of every run (one per device, vmapped over the sharded run
    axis as the engine does), scanned: the program that is timed. Returns the new parameters
    and optimizer states and each run's last loss."""

    def one_run(params, opt_state, key):
        def body(carry, step):
            params, opt_state, loss = _train_step(graphdef, tx, batch_size, *carry, key, step, pool)
            return (params, opt_state), loss

        (params, opt_state), loss = jax.lax.scan(body, (params, opt_state), jnp.arange(steps))
        return params, opt_state, loss[-1]

    return jax.vmap(one_run)(params, opt_state, keys)


def _one_run_step_flops(graphdef, tx, batch_size: int, params, opt_state, key, pool) -> float:
    """FLOPs of one training step of one run, from XLA's cost analysis (a scan's body would be
    counted once whatever its length, so the step is analysed on its own)."""
    step = functools.partial(_train_step, graphdef, tx, batch_size)
    return costs.flops(step, params, opt_state, key, jnp.int32(0), pool)


def _adam_flops(tx, params, opt_state) -> float:
    """FLOPs of one Adam update of one run's parameters (gradients shaped like them)."""

    def update(grads, opt_state, params):
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    return costs.flops(update, params, opt_state, params)


def _timed(call, args) -> tuple[float, object]:
    """Wall seconds of one call, waiting for its results, and the results."""
    start = time.perf_counter()
    out = jax.block_until_ready(call(*args))
    return time.perf_counter() - start, out


def _peak_flops(mesh: Mesh, size: int, repeats: int) -> np.ndarray:
    """FLOP/s of a jitted float32 n x n matmul on every device of `mesh` at once, per repeat."""
    devices = mesh.devices.size
    a = _place(jax.random.normal(jax.random.key(0), (devices, size, size), jnp.float32), mesh, True)
    matmul = jax.jit(lambda x: jnp.einsum("dij,djk->dik", x, x)).lower(a).compile()
    jax.block_until_ready(matmul(a))  # warm-up
    flops = 2.0 * devices * size**3
    return np.array([flops / _timed(matmul, (a,))[0] for _ in range(repeats)])


def _repeat_states(config: Config, devices: int):
    """Per repeat, one freshly initialized MLP, Adam state and batch key per device: leaves
    shaped (repeat, device, ...)."""
    keys = rng.seed_keys(config.seed, config.seeds * devices)
    graphdef, state = models.mlps(data.MNIST1D_LENGTH, data.MNIST1D_CLASSES, config.model, keys)
    tx = optax.adam(config.lr)
    opt_state = jax.vmap(tx.init)(state)
    batch_keys = rng.run_stream(keys, DATA_STREAM)
    # Held in host memory, (repeat, device, ...): taking repeat r is then a numpy view, not a
    # compiled slicing program per leaf.
    split = lambda x: np.asarray(x).reshape((config.seeds, devices) + x.shape[1:])  # noqa: E731
    key_data = split(jax.random.key_data(batch_keys))
    return graphdef, tx, (jax.tree.map(split, (state, opt_state)), key_data)


def measure_platform(platform: str, config: Config, pool: dict) -> dict:
    """Every batch size's timed calls (one run per device, `seeds` repeats), FLOPs and final
    losses on one platform."""
    mesh = _mesh(platform)
    devices = mesh.devices.size
    graphdef, tx, per_repeat = _repeat_states(config, devices)
    pool_placed = _place(pool, mesh, False)

    (states, key_data) = per_repeat

    def args_of(r):
        params, opt_state = _place(jax.tree.map(lambda x: x[r], states), mesh, True)
        keys = _place(jax.random.wrap_key_data(key_data[r]), mesh, True)
        return params, opt_state, keys, pool_placed

    # One run's state, for the cost analysis.
    one = (*jax.tree.map(lambda x: x[0, 0], states), jax.random.wrap_key_data(key_data[0, 0]))
    args = args_of(0)
    calls, steps, flops = {}, {}, {}
    for b in config.batch_sizes:
        steps[b] = max(1, config.examples_per_call // b)
        fn = functools.partial(_train_call, graphdef, tx, b, steps[b])
        calls[b] = jax.jit(fn).lower(*args).compile()  # one program per batch size
        flops[b] = _one_run_step_flops(graphdef, tx, b, *one, pool)
        jax.block_until_ready(calls[b](*args))  # warm-up
    seconds = np.zeros((len(config.batch_sizes), config.seeds))
    last_loss = np.zeros((len(config.batch_sizes), config.seeds))
    for r in range(config.seeds):
        args = args_of(r)  # placed before the clock starts
        for i, b in enumerate(config.batch_sizes):  # interleaved: a load spike hits all alike
            seconds[i, r], out = _timed(calls[b], args)
            last_loss[i, r] = float(np.mean(out[2]))  # deterministic, unlike the seconds
    return {"seconds": seconds, "steps": steps, "flops": flops, "last_loss": last_loss,
            "adam_flops": _adam_flops(tx, one[0], one[1]),
            "peak": _peak_flops(mesh, config.matmul_size, config.seeds),
            "devices": devices, "device_kind": mesh.devices.flat[0].device_kind,
            "device_ids": [int(d.id) for d in mesh.devices.flat]}


def run(config: Config) -> Results:
    """Time the training step at every batch size on every platform present."""
    pool = data.mnist1d_splits()["train"]
    measured = {p: measure_platform(p, config, pool) for p in platforms(config)}
    names, batches = list(measured), list(config.batch_sizes)
    runs = np.array([measured[p]["devices"] for p in names], np.float64)[:, None]
    steps = np.array([[measured[p]["steps"][b] for b in batches] for p in names], np.float64)
    examples = runs * np.asarray(batches, np.float64) * steps  # (platform, batch), all devices
    seconds = np.stack([measured[p]["seconds"] for p in names])  # (platform, batch, repeat)
    step_flops = runs * np.array([[measured[p]["flops"][b] for b in batches] for p in names])
    results = Results()
    # Wall times sit on a `repeat` axis, never `seed`: metrics.csv (seed-indexed) stays
    # deterministic. Repeat r and seed r are the same initialization.
    coords = dict(platform=names, batch=batches, repeat=list(range(config.seeds)),
                  seed=list(range(config.seeds)))
    results.add("seconds_per_call", seconds, ("platform", "batch", "repeat"), **coords)
    results.add("examples_per_second", examples[..., None] / seconds, ("platform", "batch", "repeat"))
    results.add("achieved_flops", (step_flops * steps)[..., None] / seconds,
                ("platform", "batch", "repeat"))
    results.add("flops_per_step", step_flops, ("platform", "batch"))
    results.add("steps_per_call", steps, ("platform", "batch"))
    results.add("adam_flops_per_step", runs[:, 0] * np.array([measured[p]["adam_flops"] for p in names]),
                ("platform",))
    results.add("peak_flops", np.stack([measured[p]["peak"] for p in names]), ("platform", "repeat"))
    results.add("loss_after_call", np.stack([measured[p]["last_loss"] for p in names]),
                ("platform", "batch", "seed"))
    results.meta["devices"] = {p: {"count": measured[p]["devices"], "ids": measured[p]["device_ids"],
                                   "kind": measured[p]["device_kind"], "runs_per_device": 1}
                               for p in names}
    return results


# ------------------------------------------------------------------------------- readings

def speedup(results: Results, platform: str) -> np.ndarray:
    """Per repeat, examples/s at the largest batch over examples/s at batch 1."""
    throughput = results.sel("examples_per_second", platform=platform)
    return throughput[-1] / throughput[0]


def median_ci(samples) -> stats.Interval:
    """The median over repeats with its percentile-bootstrap 95 % interval (robust to the
    spikes a shared machine puts into a few timings)."""
    return stats.bootstrap_ci(samples, statistic=np.median)


def batch1_step_reading(results: Results, platform: str) -> dict:
    """What a batch-1 step costs: its wall microseconds (median over repeats), and the share of
    its FLOPs that Adam's update of every parameter takes (the rest is the matrix-vector
    products of forward and backward)."""
    first = results.sel("seconds_per_call", platform=platform)[0]
    steps = float(results.sel("steps_per_call", platform=platform)[0])
    flops = results.sel("flops_per_step", platform=platform)[0]
    adam = float(results.sel("adam_flops_per_step", platform=platform))
    return {"microseconds_per_step": 1e6 * float(np.median(first)) / steps,
            "adam_share_of_step_flops": adam / float(flops)}


claims = ClaimBook("hardware_parallelism", questions="Q5")


def _verdict_text(ci: stats.Interval) -> str:
    """Whether the interval clears the margin, in words (for the title)."""
    if ci.above(SPEEDUP_MARGIN):
        return "above"
    return "not clearly above" if ci.high >= SPEEDUP_MARGIN else "below"


@claims.rule("parallel_throughput",
             rule=f"one run per device (each device steps one example per step at batch 1), "
                  f"timed in `seeds` independent repeats (each with its own initialization, the "
                  f"batch sizes interleaved within a repeat): on every platform present (the CPU, "
                  f"and a GPU where one ran), the bootstrap 95 % CI of the median over repeats of "
                  f"examples/s at the largest batch (1024) / examples/s at batch 1 lies above "
                  f"{SPEEDUP_MARGIN:g}; where a GPU ran, also the CI of the median GPU / CPU "
                  f"examples/s at the largest batch lies above 1. Decided on wall time: the "
                  f"verdict is a property of the machine that ran it",
             expected=EXPECTED,
             deviation=DEVIATION)
def _(results: Results, config: Config):
    names = results.coords["platform"]
    ratios = {p: median_ci(speedup(results, p)) for p in names}
    holds = all(ci.above(SPEEDUP_MARGIN) for ci in ratios.values())
    details = {"speedup_by_platform": ratios,
               "devices": results.meta.get("devices", "not recorded")}
    gpus = [p for p in names if p != "cpu"]
    if gpus:
        cpu = results.sel("examples_per_second", platform="cpu")[-1]
        versus = {p: median_ci(results.sel("examples_per_second", platform=p)[-1] / cpu)
                  for p in gpus}
        details["accelerator_over_cpu_at_largest_batch"] = versus
        holds = holds and all(ci.above(1) for ci in versus.values())
    else:
        details["accelerator_over_cpu_at_largest_batch"] = "no GPU present: not measured"
    details["batch1_step"] = {p: batch1_step_reading(results, p) for p in names}
    details["peak_share_by_platform_and_batch"] = {
        p: {b: median_ci(results.sel("achieved_flops", platform=p)[i]
                         / np.median(results.sel("peak_flops", platform=p)))
            for i, b in enumerate(results.coords["batch"])} for p in names}
    details["examples_per_second_by_platform_and_batch"] = {
        p: {b: median_ci(results.sel("examples_per_second", platform=p)[i])
            for i, b in enumerate(results.coords["batch"])} for p in names}
    weakest = min(ratios, key=lambda p: ratios[p].mean)
    largest = results.coords["batch"][-1]
    return stats.decide(holds, f"{weakest}: examples/s at batch {largest} / at batch 1, one run "
                               "per device (median over repeats)", ratios[weakest], **details)


# ---------------------------------------------------------------------------------- figure

def _device_label(results: Results, platform: str) -> str:
    """'CPU (devices 0, 1: one run each)' from the run's metadata."""
    info = results.meta.get("devices", {}).get(platform, {})
    ids = ", ".join(str(i) for i in info.get("ids", [])) or "?"
    return f"{platform.upper()} (device{'s' if len(info.get('ids', [])) != 1 else ''} {ids}: one run each)"


def plot(results: Results, config: Config) -> dict:
    """Examples/s against batch size per platform, and the share of the matmul peak."""
    batches = np.asarray(results.coords["batch"], np.float64)
    fig, axes = plots.figure(ncols=2, width=4.6)
    throughput_ax, share_ax = axes[0, 0], axes[0, 1]
    for i, p in enumerate(results.coords["platform"]):
        color, label = plots.PALETTE[i], _device_label(results, p)
        plots.band(throughput_ax, batches, results.sel("examples_per_second", platform=p).T,
                   log=True, marker="o", color=color, label=label)
        share = results.sel("achieved_flops", platform=p) / np.median(
            results.sel("peak_flops", platform=p))
        plots.band(share_ax, batches, 100 * share.T, marker="o", color=color, label=label)
    for ax in axes[0]:
        ax.set_xscale("log", base=2)
        ax.set_xlabel("batch size (examples per step per device)")
    throughput_ax.set_yscale("log")
    throughput_ax.set_ylabel("training examples/s (all devices together)")
    throughput_ax.set_title("throughput of the training step")
    share_ax.set_ylabel("achieved FLOP/s, % of the matmul peak")
    share_ax.set_ylim(bottom=0)
    share_ax.set_title("share of the hardware it uses")
    plots.legend_outside(share_ax)
    parts = []
    for p in results.coords["platform"]:
        ci = median_ci(speedup(results, p))
        parts.append(f"{ci.mean:.1f}x [{ci.low:.1f}, {ci.high:.1f}] on the {p.upper()}, "
                     f"{_verdict_text(ci)} the claim's {SPEEDUP_MARGIN:g}x")
    plots.title(fig, f"Batch {int(batches[-1])} vs batch 1: " + "; ".join(parts)
                + f" (examples/s, median of {config.seeds} repeats, 95 % CI)")
    return {"throughput": fig}


main(__spec__)
