"""Image datasets without downloads: scikit-learn's bundled 8x8 digits, and MNIST, Fashion-MNIST
and CIFAR-10 read from a folder the user names.

Every loader returns `{"train": {"x", "y"}, "test": {"x", "y"}}` device arrays: float32 images
in [0, 1] and int32 labels 0..9. Grey images have no channel axis, (n, 8, 8) or (n, 28, 28);
CIFAR-10 is (n, 32, 32, 3), channels last. Nothing here downloads: the `full` profile of an
experiment reads the files the user already has.

Naming the folder (the convention for experiments). A config carries two fields,

    dataset: str = "digits"  # digits | mnist | fashion_mnist | cifar10
    data_dir: str = ""  # folder with the dataset's files; "" -> $PHENOMENA_DATA/<dataset>

checks `dataset in image_data.IMAGE_DATASETS` in `__post_init__`, and calls
`image_splits(config.dataset, config.data_dir, test_size=...)`. Its `full` profile sets
`"dataset": "mnist"`; the user passes `--set data_dir=/data/mnist`, or sets `PHENOMENA_DATA`
once to a folder holding `mnist/`, `fashion_mnist/` and `cifar10/`. A missing folder or file
is a one-line `ConfigError` (the CLI prints it and exits 2) that lists the files expected.

The files. MNIST and Fashion-MNIST: the four IDX files `train-images-idx3-ubyte`,
`train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each either
gzipped as distributed (`.gz`) or uncompressed; where both lie in the folder the `.gz` is read,
because only it has a published checksum. CIFAR-10: the binary version (`data_batch_1.bin` ..
`data_batch_5.bin`, `test_batch.bin`, as unpacked from `cifar-10-binary.tar.gz`), never the
pickled Python version (unpickling runs code from the file).

What is verified, and why this way.
- Checksums are SHA-256 of each file as it lies in the folder (for a `.gz`, the compressed
  file as distributed), because that is the form in which checksums are published. The
  constants below are the published SHA-256 of the gzipped IDX files: MNIST as listed in
  TensorFlow Datasets' `url_checksums/mnist.txt` (the cvdf mirror), Fashion-MNIST as in its
  `url_checksums/fashion_mnist.txt`; several independent loaders (torchvision's port, other
  repositories) carry the same values, and the file sizes match the ones published with them.
  They were found with a code search, not checked against downloaded files (nothing can be
  downloaded where this was written).
- No published SHA-256 was found for the uncompressed IDX files or for CIFAR-10's individual
  `.bin` files (only for the archive `cifar-10-binary.tar.gz`: TFDS lists
  c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd, which a user can check with
  `sha256sum` before unpacking). Those files get no built-in checksum; they are verified by
  structure only, unless the caller passes its own expected checksums (`sha256=`, file name ->
  hex digest; a user value replaces the built-in one for that file).
- Structure, always: IDX magic numbers (2051 for images, 2049 for labels: unsigned bytes with
  3 or 1 dimensions, read big-endian with numpy), the dimensions (60000 / 10000 images of
  28 x 28), the exact byte count, labels in 0..9; CIFAR-10 files of exactly 10000 records of
  1 + 3072 bytes, labels in 0..9, and the class balance the dataset's page states (the test
  batch holds exactly 1000 images of each class, the training batches together 5000).
  Structure cannot tell MNIST from Fashion-MNIST (same layout): only a checksum can.

Parsed arrays are cached as uint8 `.npz` under `paths.cache_dir()/images`, written atomically
and only after every check passed. The cache file is named by the dataset, the folder and each
file's size and modification time (and any user checksums), so a replaced file is read and
checked again.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
import tempfile
import zlib
from pathlib import Path
from typing import Mapping

import jax.numpy as jnp
import numpy as np

from phenomena import data
from phenomena.config import ConfigError
from phenomena.paths import cache_dir

DATA_ENV = "PHENOMENA_DATA"  # a folder holding one sub-folder per dataset, named as below
IMAGE_DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10")
IMAGE_SHAPES = {"digits": (8, 8), "mnist": (28, 28), "fashion_mnist": (28, 28),
                "cifar10": (32, 32, 3)}  # one image, as the loaders return it
CLASSES = 10  # every one of these datasets has ten classes, labelled 0..9

IDX_IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions (count, rows, columns)
IDX_LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension (count)
CIFAR_RECORD = 1 + 32 * 32 * 3  # one label byte, then the red, green and blue 32 x 32 planes


@dataclasses.dataclass(frozen=True)
class IdxDataset:
    """An IDX image dataset (MNIST's layout): its name, sizes and the published checksums."""

    name: str  # names the dataset in errors and in the cache
    train_size: int  # images in the training files
    test_size: int  # images in the test (t10k) files
    rows: int  # image height in pixels
    cols: int  # image width in pixels
    sha256: Mapping[str, str]  # published SHA-256 of files as distributed, by file name

    files = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@dataclasses.dataclass(frozen=True)
class CifarDataset:
    """CIFAR-10's binary version: file names, records per file and the published class balance."""

    name: str  # names the dataset in errors and in the cache
    records: int  # records (images) in each .bin file
    train_per_class: int  # images of each class over all training batches together
    test_per_class: int  # images of each class in the test batch
    sha256: Mapping[str, str]  # expected SHA-256 by file name (none is published per file)

    train_files = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
    test_file = "test_batch.bin"


MNIST = IdxDataset("mnist", 60000, 10000, 28, 28, {
    # TensorFlow Datasets, url_checksums/mnist.txt (sizes 9912422, 28881, 1648877, 4542 bytes).
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
})
FASHION_MNIST = IdxDataset("fashion_mnist", 60000, 10000, 28, 28, {
    # TensorFlow Datasets, url_checksums/fashion_mnist.txt (26421880, 29515, 4422102, 5148 bytes).
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
})
CIFAR10 = CifarDataset("cifar10", 10000, 5000, 1000, {})


def digits_images(test_size: int, split_seed: int = 0) -> dict[str, dict[str, jnp.ndarray]]:
    """scikit-learn's 8x8 digits as images: `data.digits_splits` with `x` shaped (n, 8, 8).

    Same split, same [0, 1] scaling; only the 64 pixels of a row are laid out as the image
    (row-major, as scikit-learn's `load_digits().images`).
    """
    splits = data.digits_splits(test_size, split_seed)
    return {name: {**split, "x": split["x"].reshape(-1, *IMAGE_SHAPES["digits"])}
            for name, split in splits.items()}


def mnist(folder, sha256: Mapping[str, str] | None = None) -> dict[str, dict[str, jnp.ndarray]]:
    """MNIST from its four IDX files in `folder` (gzipped or not): 60000 train, 10000 test."""
    return load_idx(MNIST, folder, sha256)


def fashion_mnist(folder, sha256: Mapping[str, str] | None = None) -> dict[str, dict[str, jnp.ndarray]]:
    """Fashion-MNIST from its four IDX files in `folder` (gzipped or not): 60000 train, 10000 test."""
    return load_idx(FASHION_MNIST, folder, sha256)


def cifar10(folder, sha256: Mapping[str, str] | None = None) -> dict[str, dict[str, jnp.ndarray]]:
    """CIFAR-10 from its binary batches in `folder`: 50000 train, 10000 test, (n, 32, 32, 3)."""
    return load_cifar(CIFAR10, folder, sha256)


_LOADERS = {"mnist": mnist, "fashion_mnist": fashion_mnist, "cifar10": cifar10}
_EXPECTED = {"mnist": MNIST, "fashion_mnist": FASHION_MNIST, "cifar10": CIFAR10}


def image_splits(name: str, folder: str = "", test_size: int = 0, split_seed: int = 0,
                 sha256: Mapping[str, str] | None = None) -> dict[str, dict[str, jnp.ndarray]]:
    """The image dataset `name` (one of `IMAGE_DATASETS`) as `{"train", "test"}` device arrays.

    "digits" is bundled with scikit-learn: `test_size` random examples (drawn from
    `split_seed`) are its test set, and it takes no folder. The others have their own published
    test sets (`test_size` must stay 0) and are read from `folder`, or from
    `$PHENOMENA_DATA/<name>` when `folder` is empty (`data_folder`). Any argument the dataset
    would ignore is an error, so a mistyped setup fails instead of running something else.
    """
    if name not in IMAGE_DATASETS:
        raise ConfigError(f"unknown image dataset {name!r}; one of {', '.join(IMAGE_DATASETS)}")
    if name == "digits":
        if folder or sha256:
            raise ConfigError("digits is bundled with scikit-learn: a data folder or checksum "
                              "applies only to mnist, fashion_mnist and cifar10")
        if not 0 < test_size < data.DIGITS_SIZE:
            raise ConfigError(f"digits needs 0 < test_size < {data.DIGITS_SIZE} (it has no fixed "
                              f"test set), got {test_size}")
        return digits_images(test_size, split_seed)
    if test_size:
        spec = _EXPECTED[name]
        raise ConfigError(f"{name} has its own {spec.test_size}-image test set; "
                          f"test_size applies to digits only, got {test_size}")
    return _LOADERS[name](data_folder(name, folder), sha256)


def data_folder(name: str, folder: str = "") -> Path:
    """The folder holding dataset `name`'s files: `folder` if given, else `$PHENOMENA_DATA/<name>`.

    Raises a one-line `ConfigError` when neither names one, listing the files to put there.
    """
    if folder:
        return Path(folder).expanduser()
    root = os.environ.get(DATA_ENV)
    if root:
        return Path(root).expanduser() / name
    raise ConfigError(f"{name} is read from files you provide (nothing is downloaded): pass "
                      f"--set data_dir=FOLDER or set {DATA_ENV} to a folder holding {name}/; "
                      f"expected files: {_expected_list(_EXPECTED[name])}")


def parse_checksums(pairs) -> dict[str, str]:
    """`("FILE=SHA256", ...)` (a tuple config field) as `{file: lower-case hex digest}`."""
    parsed = {}
    for pair in pairs:
        file, sep, digest = pair.partition("=")
        digest = digest.strip().lower()
        if not sep or not file.strip() or len(digest) != 64 or not _is_hex(digest):
            raise ConfigError(f"expected FILE=SHA256 (64 hex digits), got {pair!r}")
        parsed[file.strip()] = digest
    return parsed


def load_idx(spec: IdxDataset, folder, sha256: Mapping[str, str] | None = None) -> dict:
    """An IDX dataset (`spec`) from `folder`, verified (see the module docstring), cached.

    Raises a one-line `ConfigError` naming the folder and the expected files when any is
    missing, or naming the file and the fault when one is corrupt; nothing is cached then.
    """
    paths = _find_files(spec, Path(folder), {f: (f + ".gz", f) for f in spec.files})
    expected = _expected_checksums(spec, paths, sha256)
    cache = _cache_path(spec, paths, expected)
    if cache.exists():
        return _as_splits(_read_cache(cache))
    images = (spec.rows, spec.cols)
    arrays = {}
    for split, prefix, count in (("train", "train", spec.train_size), ("test", "t10k", spec.test_size)):
        x_path, y_path = paths[f"{prefix}-images-idx3-ubyte"], paths[f"{prefix}-labels-idx1-ubyte"]
        arrays[f"x_{split}"] = _parse_idx(_read(spec, x_path, expected), (count, *images), x_path, spec)
        labels = _parse_idx(_read(spec, y_path, expected), (count,), y_path, spec)
        arrays[f"y_{split}"] = _check_labels(labels, y_path, spec)
    _write_cache(cache, arrays)
    return _as_splits(arrays)


def load_cifar(spec: CifarDataset, folder, sha256: Mapping[str, str] | None = None) -> dict:
    """CIFAR-10's binary batches (`spec`) from `folder`, verified, cached; errors as `load_idx`."""
    names = (*spec.train_files, spec.test_file)
    paths = _find_files(spec, Path(folder), {f: (f,) for f in names})
    expected = _expected_checksums(spec, paths, sha256)
    cache = _cache_path(spec, paths, expected)
    if cache.exists():
        return _as_splits(_read_cache(cache))
    parts = {f: _parse_cifar(_read(spec, paths[f], expected), paths[f], spec) for f in names}
    x_train = np.concatenate([parts[f][0] for f in spec.train_files])
    y_train = np.concatenate([parts[f][1] for f in spec.train_files])
    x_test, y_test = parts[spec.test_file]
    _check_balance(y_train, spec.train_per_class, f"{Path(folder)}/data_batch_1..5.bin", spec)
    _check_balance(y_test, spec.test_per_class, paths[spec.test_file], spec)
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    _write_cache(cache, arrays)
    return _as_splits(arrays)


def _fail(spec, path, what: str):
    """Raise the one-line error for a faulty file: the dataset, the file, what is wrong."""
    raise ConfigError(f"{spec.name}: {path}: {what}")


def _expected_list(spec) -> str:
    if isinstance(spec, IdxDataset):
        return ", ".join(f"{f}[.gz]" for f in spec.files)
    return ", ".join((*spec.train_files, spec.test_file))


def _find_files(spec, folder: Path, candidates: dict[str, tuple[str, ...]]) -> dict[str, Path]:
    """`{file: its path}`, taking the first of each file's candidate names present in `folder`;
    one error lists everything missing."""
    if not folder.is_dir():
        raise ConfigError(f"{spec.name}: folder {folder} does not exist; it should hold "
                          f"{_expected_list(spec)}")
    found, missing = {}, []
    for file, names in candidates.items():
        present = [folder / n for n in names if (folder / n).is_file()]
        if present:
            found[file] = present[0]
        else:
            missing.append(file + ("[.gz]" if len(names) > 1 else ""))
    if missing:
        raise ConfigError(f"{spec.name}: folder {folder} lacks {', '.join(missing)}; it should "
                          f"hold {_expected_list(spec)}")
    return found


def _expected_checksums(spec, paths: dict[str, Path], sha256) -> dict[Path, str]:
    """`{path: expected hex digest}` for the files that have one: the built-in table, then the
    caller's (which wins). A caller's key that names no file being read is an error."""
    user = {k: v.strip().lower() for k, v in (sha256 or {}).items()}
    malformed = [k for k, v in user.items() if len(v) != 64 or not _is_hex(v)]
    if malformed:
        raise ConfigError(f"{spec.name}: the checksum for {malformed[0]} is not a SHA-256 hex "
                          f"digest (64 hex digits): {user[malformed[0]]!r}")
    read = {p.name: p for p in paths.values()}
    unknown = sorted(set(user) - set(read))
    if unknown:
        raise ConfigError(f"{spec.name}: checksums given for {', '.join(unknown)}, which is not "
                          f"among the files read: {', '.join(sorted(read))}")
    table = {**spec.sha256, **user}
    return {path: table[name] for name, path in read.items() if name in table}


def _read(spec, path: Path, expected: dict[Path, str]) -> bytes:
    """The content of `path`, checked against its expected checksum and un-gzipped if `.gz`."""
    raw = path.read_bytes()
    if path in expected:
        digest = hashlib.sha256(raw).hexdigest()
        if digest != expected[path]:
            _fail(spec, path, f"SHA-256 is {digest}, expected {expected[path]} "
                              f"(a corrupt, truncated or different file)")
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:  # bad header, cut short, bad CRC
            _fail(spec, path, f"not a readable gzip file ({error})")
    return raw


def _parse_idx(raw: bytes, shape: tuple[int, ...], path: Path, spec) -> np.ndarray:
    """The uint8 array of an IDX file, after checking its magic number, dimensions and size."""
    header = 4 + 4 * len(shape)
    if len(raw) < header:
        _fail(spec, path, f"truncated: {len(raw)} bytes, less than the {header}-byte IDX header")
    magic = int(np.frombuffer(raw, ">u4", count=1)[0])
    wanted = IDX_IMAGES_MAGIC if len(shape) == 3 else IDX_LABELS_MAGIC
    if magic != wanted:
        _fail(spec, path, f"bad IDX magic number {magic:#010x}, expected {wanted:#010x} "
                          f"(unsigned bytes in {len(shape)} dimension{'s' * (len(shape) > 1)})")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=len(shape), offset=4))
    if dims != shape:
        _fail(spec, path, f"dimensions {dims} in the header, expected {shape}")
    size = header + int(np.prod(shape))
    if len(raw) != size:
        fault = "truncated" if len(raw) < size else "trailing bytes"
        _fail(spec, path, f"{fault}: {len(raw)} bytes, expected {size} for dimensions {shape}")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def _parse_cifar(raw: bytes, path: Path, spec: CifarDataset) -> tuple[np.ndarray, np.ndarray]:
    """`(images (n, 32, 32, 3), labels (n,))` of one binary batch, after checking its size."""
    size = spec.records * CIFAR_RECORD
    if len(raw) != size:
        fault = "truncated" if len(raw) < size else "trailing bytes"
        _fail(spec, path, f"{fault}: {len(raw)} bytes, expected {size} "
                          f"({spec.records} records of {CIFAR_RECORD} bytes)")
    records = np.frombuffer(raw, np.uint8).reshape(spec.records, CIFAR_RECORD)
    labels = _check_labels(records[:, 0], path, spec)
    # Each record stores the red, green and blue planes one after another (channel-major).
    images = records[:, 1:].reshape(spec.records, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, labels


def _check_labels(labels: np.ndarray, path: Path, spec) -> np.ndarray:
    """`labels` if every one is a class 0..9, else the error naming the first bad one."""
    bad = np.flatnonzero(labels >= CLASSES)
    if bad.size:
        _fail(spec, path, f"label {int(labels[bad[0]])} at record {int(bad[0])} is outside "
                          f"0..{CLASSES - 1} ({bad.size} such labels)")
    return labels


def _check_balance(labels: np.ndarray, per_class: int, where, spec) -> None:
    """The published class balance: exactly `per_class` examples of each class."""
    counts = np.bincount(labels, minlength=CLASSES)
    if np.any(counts != per_class):
        _fail(spec, where, f"class counts {counts.tolist()}, expected {per_class} of each class")


def _cache_path(spec, paths: dict[str, Path], expected: dict[Path, str]) -> Path:
    """Where the parsed arrays of these exact files are cached: named by the dataset's spec, the
    folder, each file's size and modification time, and the checksums it is held to."""
    stats = [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in paths.values()]
    key = json.dumps([repr(spec), stats, sorted((str(p), d) for p, d in expected.items())])
    return cache_dir() / "images" / f"{spec.name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"


def _write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a concurrent or interrupted run never reads half a file.
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as f:
        np.savez(f, **arrays)
    os.replace(f.name, path)


def _read_cache(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as stored:
        return {k: stored[k] for k in stored.files}


def _as_splits(arrays: dict[str, np.ndarray]) -> dict[str, dict[str, jnp.ndarray]]:
    """uint8 arrays as `{"train", "test"}` device arrays: images / 255 in float32, int32 labels."""
    return {split: {"x": jnp.asarray(arrays[f"x_{split}"].astype(np.float32) / np.float32(255)),
                    "y": jnp.asarray(arrays[f"y_{split}"].astype(np.int32))}
            for split in ("train", "test")}


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)
