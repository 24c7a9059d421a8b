"""Process-wide JAX settings: per-core CPU devices and the persistent compilation cache.

On a CPU, XLA's intra-op threading is poor at the sizes used here: two single-threaded
programs (one per core) ran an MNIST-1D sweep 1.35-1.5x faster than one two-threaded program.
So `setup` exposes one JAX device per core and `shard_runs` spreads the run (seed) axis over
them. On a GPU or TPU host the accelerators are the devices and the same code shards over them.
"""

from __future__ import annotations

import functools
import os

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from phenomena.paths import cache_dir

CPU_DEVICES_ENV = "PHENOMENA_CPU_DEVICES"
_done = False


def setup() -> None:
    """Enable the compilation cache and per-core CPU devices (idempotent).

    Call before the first JAX operation; if JAX is already running (say, in a notebook that
    used it first), the device count stays as it is and everything still works.
    """
    global _done
    _listen_to_compiles()
    if _done:
        return
    jax.config.update("jax_compilation_cache_dir", str(cache_dir() / "jax"))
    # Every program goes to the disk cache, the small ones too: a smoke run compiles ~40
    # programs of which most take under 0.2 s, and together they were a third of a warm run.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    # Full float32 matmuls everywhere: GPUs otherwise use TF32 (10-bit mantissa) by default,
    # and verdicts must not depend on the device they were computed on.
    jax.config.update("jax_default_matmul_precision", "highest")
    count = int(os.environ.get(CPU_DEVICES_ENV, os.cpu_count() or 1))
    try:
        jax.config.update("jax_num_cpu_devices", max(1, count))
    except RuntimeError:
        pass  # backends already initialized: keep the devices they have
    _done = True


def shard_runs(tree):
    """Place `tree` with its leading (run) axis split across all devices, when it divides evenly.

    Otherwise (one device, or a run count that does not divide) the tree is returned as is;
    results are identical either way, only the speed differs.
    """
    devices = jax.devices()
    leaves = jax.tree.leaves(tree)
    if len(devices) == 1 or not leaves or leaves[0].shape[0] % len(devices):
        return tree
    sharding = NamedSharding(Mesh(np.array(devices), ("runs",)), PartitionSpec("runs"))
    return jax.device_put(tree, sharding)


_PROGRAM_CACHES = []


def program_cache(maxsize: int = 64):
    """`functools.lru_cache` for functions that build jitted programs, releasable as a group.

    Holding a jitted function keeps its compiled executables alive; `release_compiled` drops
    every cache made with this decorator along with JAX's own.
    """

    def decorate(build):
        cached = functools.lru_cache(maxsize=maxsize)(build)
        _PROGRAM_CACHES.append(cached)
        return cached

    return decorate


MAPS_BEFORE_RELEASE = 30000  # half the kernel's default limit of 65530


def memory_maps() -> int:
    """How many memory maps this process holds (0 where /proc is not available)."""
    try:
        with open("/proc/self/maps", "rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


def release_compiled_if_crowded() -> bool:
    """`release_compiled` once the process holds many memory maps; True if it released.

    Keeping programs while there is room lets later runs of the same shapes skip compiling.
    """
    if memory_maps() < MAPS_BEFORE_RELEASE:
        return False
    release_compiled()
    return True


def release_compiled() -> None:
    """Drop every compiled program this process holds (the library's caches and JAX's).

    Each XLA CPU executable maps its machine code into memory, and the kernel allows a process
    65530 maps (`vm.max_map_count`). A process that runs many experiments (the test suite runs
    all of them, about 3500 maps each) crashes with a segmentation fault when it runs out.
    Releasing after each experiment keeps the count flat; the persistent compilation cache on
    disk still serves the next compile of the same program.
    """
    for cache in _PROGRAM_CACHES:
        cache.cache_clear()
    jax.clear_caches()


# JAX reports how long it spends tracing, lowering and compiling each program; the runner
# splits a run's time into compiling and running with these totals.
_COMPILE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration",
                   "/jax/core/compile/jaxpr_to_mlir_module_duration",
                   "/jax/core/compile/backend_compile_duration")
_BACKEND_COMPILE = _COMPILE_EVENTS[-1]
_compile_totals = {"seconds": 0.0, "programs": 0}
_listening = False


def _on_event(event: str, duration: float, **_) -> None:
    if event in _COMPILE_EVENTS:
        _compile_totals["seconds"] += duration
        _compile_totals["programs"] += event == _BACKEND_COMPILE


def compile_totals() -> tuple[float, int]:
    """Seconds this process has spent tracing and compiling, and programs compiled (or loaded
    from the persistent cache), since `setup`. Take differences around a run."""
    return _compile_totals["seconds"], _compile_totals["programs"]


def _listen_to_compiles() -> None:
    global _listening
    if not _listening:
        jax.monitoring.register_event_duration_secs_listener(_on_event)
        _listening = True
