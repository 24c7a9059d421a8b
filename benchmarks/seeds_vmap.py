"""Benchmark: training 8 seeds as one vmapped program vs 8 separate one-seed programs.

What it compares (an MNIST-1D MLP, width 64, depth 3, Adam, batch 100, 1000 steps):
  1. whole processes, compile included: one process training 8 seeds vs eight processes
     training one seed each (each process starts Python, imports JAX, compiles, trains);
  2. in one process, after compilation: one 8-seed `fit` vs eight 1-seed `fit`s;
  3. on a CPU only: per-core CPU devices (the default) vs one device, for the 8-seed program.
Each process gets a fresh, empty compilation cache so compile time is really paid.

Usage:  python benchmarks/seeds_vmap.py            (about 1-2 minutes on 2 cores)

Seen (8 seeds): 2-core CPU: 4.6x (processes), 2.7x (compiled fits), 2.0x (per-core devices);
one H100: 7.4x (processes, 14.2 s vs 104.7 s), 8.2x (compiled fits, 0.075 s vs 0.614 s).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = 1000


def worker(seeds: int, repeats: int) -> None:
    """Train `seeds` seeds `repeats` times; print the wall time of the last repeat."""
    from phenomena import runtime

    runtime.setup()
    from phenomena import data, losses, models, rng, train
    from phenomena.models import MLPConfig
    from phenomena.train import TrainConfig

    splits = data.mnist1d_splits()
    config = TrainConfig(optimizer="adam", lr=1e-2, steps=STEPS, batch_size=100, eval_every=100)
    for _ in range(repeats):
        keys = rng.seed_keys(0, seeds)
        graphdef, state = models.mlps(data.MNIST1D_LENGTH, data.MNIST1D_CLASSES, MLPConfig(width=64, depth=3), keys)
        start = time.perf_counter()
        history = train.fit(graphdef, state, losses.cross_entropy, splits["train"], config, keys,
                            progress=False)
        history.step_metrics["loss"].sum()  # results are on the host already: the run is done
        elapsed = time.perf_counter() - start
    import jax

    print(f"{jax.default_backend()} {elapsed:.4f}")


def _process(seeds: int, repeats: int = 1, cpu_devices: int | None = None) -> tuple[float, float, str]:
    """(whole-process wall time, last in-process fit time, JAX backend) of one worker process."""
    env = dict(os.environ)
    cache = tempfile.mkdtemp(prefix="phenomena-bench-cache-")
    # Share the generated dataset but not compiled programs.
    from phenomena.data import mnist1d
    from phenomena.paths import cache_dir

    mnist1d()
    shutil.copy(cache_dir() / "mnist1d_seed42.npz", cache)
    env["PHENOMENA_CACHE"] = cache
    if cpu_devices is not None:
        env["PHENOMENA_CPU_DEVICES"] = str(cpu_devices)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--worker", "--seeds", str(seeds),
                          "--repeats", str(repeats)], env=env, capture_output=True, text=True,
                         check=True)
    total = time.perf_counter() - start
    shutil.rmtree(cache, ignore_errors=True)
    backend, fit_seconds = out.stdout.strip().splitlines()[-1].split()
    return total, float(fit_seconds), backend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    if args.worker:
        worker(args.seeds, args.repeats)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
    n = args.seeds
    print(f"{n} seeds, MNIST-1D MLP 64x3, Adam, {STEPS} steps; fresh compile cache per process\n")

    one_process, _, backend = _process(n)
    print(f"JAX backend: {backend}\n")
    separate = [_process(1)[0] for _ in range(n)]
    print("1. whole processes, compile included")
    print(f"   one process, {n} seeds vmapped  : {one_process:7.2f} s")
    print(f"   {n} processes, 1 seed each      : {sum(separate):7.2f} s  "
          f"(each {min(separate):.2f}-{max(separate):.2f} s)")
    print(f"   ratio separate / vmapped       : {sum(separate) / one_process:7.2f}x\n")

    _, vmapped_fit, _ = _process(n, repeats=2)
    _, single_fit, _ = _process(1, repeats=2)
    print("2. in one process, compiled (second call of fit)")
    print(f"   one {n}-seed fit                : {vmapped_fit:7.3f} s")
    print(f"   {n} x 1-seed fit               : {n * single_fit:7.3f} s")
    print(f"   ratio                          : {n * single_fit / vmapped_fit:7.2f}x\n")

    if backend != "cpu":
        return  # per-core devices only matter when JAX computes on the CPU
    _, one_device, _ = _process(n, repeats=2, cpu_devices=1)
    print("3. seed axis over per-core devices vs one device (compiled)")
    print(f"   {os.cpu_count()} devices (default)           : {vmapped_fit:7.3f} s")
    print(f"   1 device                       : {one_device:7.3f} s")
    print(f"   ratio one device / per-core    : {one_device / vmapped_fit:7.2f}x")


if __name__ == "__main__":
    main()
