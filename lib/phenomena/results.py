"""Results: labelled arrays with a seed axis, and atomic reads and writes of `results/`.

Layout: `results/<experiment>/<profile>/` holds `config.json`, `metrics.csv` (long format:
variant, seed, step, metric, value), `arrays.npz` + `arrays.json` (what `plot` reads),
`summary.json` (one entry per claim) and the figures. A run writes everything into a
temporary sibling folder and renames it into place at the end, so a failed or interrupted run
leaves the previous results untouched and nothing half-written.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from phenomena import paths

def default_results_dir() -> Path:
    """`$PHENOMENA_RESULTS` if set, else `results/` under the current working directory."""
    return paths.results_dir()


@dataclasses.dataclass
class Results:
    """Named numpy arrays, each with named axes; coordinates label the axes' entries.

    Example: `results.add("ratio", r, axes=("combo", "depth", "seed"))` with coordinates
    `combo=["sigmoid/glorot", ...]`, `depth=[5, 10, ...]`. The `seed` axis is what the
    statistics reduce over; a `step` axis becomes the step column of `metrics.csv`.
    """

    arrays: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    axes: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    coords: dict[str, list] = dataclasses.field(default_factory=dict)
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)

    def add(self, name: str, values, axes: Sequence[str], **coords) -> None:
        """Store `values` under `name`; `axes` names its dimensions in order."""
        values = np.asarray(values)
        if values.ndim != len(axes):
            raise ValueError(f"{name}: {values.ndim} dims but axes {tuple(axes)}")
        for axis, labels in coords.items():
            labels = [v.item() if isinstance(v, np.generic) else v for v in labels]
            if axis in self.coords and self.coords[axis] != labels:
                # Coordinates are shared by every array with that axis name: never relabel.
                raise ValueError(f"{name}: axis {axis!r} already has coordinates "
                                 f"{self.coords[axis]}, not {labels}")
            self.coords[axis] = labels
        for axis, size in zip(axes, values.shape):
            if axis in self.coords and len(self.coords[axis]) != size:
                raise ValueError(f"{name}: axis {axis!r} has {size} entries, coords have "
                                 f"{len(self.coords[axis])}")
        self.arrays[name] = values
        self.axes[name] = tuple(axes)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def sel(self, name: str, **where) -> np.ndarray:
        """The array `name` indexed by coordinate labels, e.g. `sel("r", combo="relu/he")`."""
        values, axes = self.arrays[name], list(self.axes[name])
        for axis, label in where.items():
            i = axes.index(axis)
            values = np.take(values, self.coords[axis].index(label), axis=i)
            axes.pop(i)
        return values

    def metrics_rows(self):
        """Long-format rows (variant, seed, step, metric, value) of every array with a seed axis.

        The step column comes from the axis named `step`, or else one whose name ends in
        `_step` (an experiment with several step grids names them apart, e.g. `memorize_step`).
        """
        for name, values in self.arrays.items():
            axes = self.axes[name]
            if "seed" not in axes or values.dtype.kind not in "fiub":
                continue
            step_axes = [a for a in axes if a == "step" or a.endswith("_step")]
            step_axis = step_axes[0] if step_axes else None
            labels = [self.coords.get(a, list(range(n))) for a, n in zip(axes, values.shape)]
            for index in itertools.product(*(range(n) for n in values.shape)):
                variant = "/".join(f"{a}={labels[d][i]}" for d, (a, i) in enumerate(zip(axes, index))
                                   if a not in ("seed", step_axis))
                seed = index[axes.index("seed")]
                step = labels[axes.index(step_axis)][index[axes.index(step_axis)]] if step_axis else ""
                value = values[index]
                yield variant, seed, step, name, f"{float(value):.6g}"


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value)}")


def dump_json(value) -> str:
    """JSON text of `value` (numpy values converted), indented for diffs."""
    return json.dumps(value, indent=2, default=_json_default, allow_nan=True) + "\n"


class RunWriter:
    """Collects one run's files in a temporary folder; `commit()` renames it into place."""

    def __init__(self, root: Path, experiment: str, profile: str):
        self.final = Path(root) / experiment / profile
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{profile}.tmp-", dir=self.final.parent))

    def path(self, name: str) -> Path:
        """Where to write file `name` inside the (temporary) run folder."""
        return self.tmp / name

    def write_text(self, name: str, text: str) -> None:
        """Write `text` to file `name` of the run folder."""
        self.path(name).write_text(text)

    def write_results(self, results: Results) -> None:
        """`arrays.npz`, `arrays.json` (axes, coords, meta) and `metrics.csv`."""
        np.savez_compressed(self.path("arrays.npz"), **results.arrays)
        self.write_text("arrays.json", dump_json(
            {"axes": results.axes, "coords": results.coords, "meta": results.meta}))
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["variant", "seed", "step", "metric", "value"])
        writer.writerows(results.metrics_rows())
        self.write_text("metrics.csv", buffer.getvalue())

    def commit(self) -> Path:
        """Replace the previous results of this experiment and profile with this run's."""
        os.chmod(self.tmp, 0o755)  # mkdtemp makes it private; results are for everyone
        old = None
        if self.final.exists():
            old = self.final.with_name(self.final.name + f".old-{os.getpid()}")
            os.replace(self.final, old)
        try:
            os.replace(self.tmp, self.final)
        except OSError:
            if old is not None:
                os.replace(old, self.final)  # put the previous results back
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.final

    def abort(self) -> None:
        """Remove the temporary folder (the previous results stay as they were)."""
        shutil.rmtree(self.tmp, ignore_errors=True)


def load_results(folder: Path) -> Results:
    """Read `arrays.npz` and `arrays.json` written by `RunWriter.write_results`."""
    folder = Path(folder)
    meta = json.loads((folder / "arrays.json").read_text())
    with np.load(folder / "arrays.npz") as stored:
        arrays = {k: stored[k] for k in stored.files}
    axes = {k: tuple(v) for k, v in meta["axes"].items()}
    return Results(arrays=arrays, axes=axes, coords=meta["coords"], meta=meta.get("meta", {}))


def load_summary(folder: Path) -> dict | None:
    """The `summary.json` of a results folder, or None if that run does not exist."""
    path = Path(folder) / "summary.json"
    return json.loads(path.read_text()) if path.exists() else None
