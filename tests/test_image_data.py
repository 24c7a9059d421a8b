"""Image data without downloads: the digits as images, and IDX / CIFAR-10 binary files read back
exactly from tiny files written here, with every fault a one-line error that caches nothing."""

import dataclasses
import gzip
import hashlib
import os

import numpy as np
import pytest

from phenomena import cli, data, image_data
from phenomena.config import ConfigError

# Tiny stand-ins with the real layouts: 3 training and 2 test images of 4 x 5 pixels (not square,
# so a transposed read would show), and CIFAR batches of 10 records (one per class).
TINY_IDX = image_data.IdxDataset("tiny_idx", train_size=3, test_size=2, rows=4, cols=5, sha256={})
TINY_CIFAR = image_data.CifarDataset("tiny_cifar", records=10, train_per_class=5,
                                     test_per_class=1, sha256={})
TRAIN_LABELS = np.array([3, 0, 9], np.uint8)
TEST_LABELS = np.array([7, 1], np.uint8)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """Every test caches into its own folder, so what a test leaves there can be checked."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("PHENOMENA_CACHE", str(folder))
    monkeypatch.delenv(image_data.DATA_ENV, raising=False)
    return folder


def cached_files(cache):
    return sorted(p.name for p in cache.rglob("*") if p.is_file())


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes: magic 0x0800 + ndim, big-endian dimensions, the data."""
    header = np.array([0x0800 + array.ndim, *array.shape], ">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def tiny_pixels(seed: int = 0):
    rng = np.random.default_rng(seed)
    train = rng.integers(0, 256, (3, 4, 5), dtype=np.uint8)
    train[0, 0, 0], train[0, 0, 1] = 0, 255  # both ends of the range
    return train, rng.integers(0, 256, (2, 4, 5), dtype=np.uint8)


def write_idx(folder, gz: bool, pixels=None):
    """The four tiny IDX files in `folder` (gzipped or raw); returns the pixels written."""
    folder.mkdir(exist_ok=True)
    train, test = pixels or tiny_pixels()
    contents = {"train-images-idx3-ubyte": idx_bytes(train),
                "train-labels-idx1-ubyte": idx_bytes(TRAIN_LABELS),
                "t10k-images-idx3-ubyte": idx_bytes(test), "t10k-labels-idx1-ubyte": idx_bytes(TEST_LABELS)}
    for name, content in contents.items():
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(content))
        else:
            (folder / name).write_bytes(content)
    return train, test


def cifar_records(images_hwc: np.ndarray, labels: np.ndarray) -> bytes:
    """CIFAR-10 binary records: a label byte, then the red, green and blue 32 x 32 planes."""
    planes = images_hwc.transpose(0, 3, 1, 2).reshape(len(labels), 3072)
    return np.concatenate([labels[:, None].astype(np.uint8), planes], axis=1).tobytes()


def write_cifar(folder):
    """Five tiny training batches and a test batch, each holding every class once."""
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(1)
    written = {}
    for name in (*TINY_CIFAR.train_files, TINY_CIFAR.test_file):
        images = rng.integers(0, 256, (10, 32, 32, 3), dtype=np.uint8)
        labels = rng.permutation(10).astype(np.uint8)
        (folder / name).write_bytes(cifar_records(images, labels))
        written[name] = (images, labels)
    return written


@pytest.mark.parametrize("gz", [False, True])
def test_idx_files_load_back_exactly(tmp_path, cache, gz):
    train, test = write_idx(tmp_path / "idx", gz)
    splits = image_data.load_idx(TINY_IDX, tmp_path / "idx")
    x = np.asarray(splits["train"]["x"])
    assert x.dtype == np.float32 and x.shape == (3, 4, 5)
    np.testing.assert_array_equal(x, train.astype(np.float32) / np.float32(255))
    assert x[0, 0, 0] == 0.0 and x[0, 0, 1] == 1.0
    np.testing.assert_array_equal(splits["test"]["x"], test.astype(np.float32) / np.float32(255))
    assert splits["train"]["y"].dtype == np.int32
    assert splits["train"]["y"].tolist() == [3, 0, 9] and splits["test"]["y"].tolist() == [7, 1]
    assert len(cached_files(cache)) == 1  # cached once every check passed


def test_gz_is_read_where_both_forms_lie_in_the_folder(tmp_path):
    write_idx(tmp_path / "idx", gz=False, pixels=tiny_pixels(seed=5))
    train, _ = write_idx(tmp_path / "idx", gz=True, pixels=tiny_pixels(seed=6))
    splits = image_data.load_idx(TINY_IDX, tmp_path / "idx")
    np.testing.assert_array_equal(splits["train"]["x"], train / np.float32(255))


def test_cache_is_used_until_a_file_changes(tmp_path, cache, monkeypatch):
    train, _ = write_idx(tmp_path / "idx", gz=False)
    first = image_data.load_idx(TINY_IDX, tmp_path / "idx")

    def refuse(*args):
        raise AssertionError("parsed again")

    monkeypatch.setattr(image_data, "_parse_idx", refuse)
    again = image_data.load_idx(TINY_IDX, tmp_path / "idx")  # from the cache: nothing parsed
    np.testing.assert_array_equal(again["train"]["x"], first["train"]["x"])
    np.testing.assert_array_equal(again["test"]["y"], first["test"]["y"])
    # A replaced file (new modification time) is read and checked again.
    labels = tmp_path / "idx" / "t10k-labels-idx1-ubyte"
    os.utime(labels, ns=(labels.stat().st_atime_ns, labels.stat().st_mtime_ns + 10**9))
    with pytest.raises(AssertionError, match="parsed again"):
        image_data.load_idx(TINY_IDX, tmp_path / "idx")


def test_checksums_of_files_as_they_lie_in_the_folder(tmp_path):
    write_idx(tmp_path / "idx", gz=True)
    gz = tmp_path / "idx" / "train-images-idx3-ubyte.gz"
    digest = hashlib.sha256(gz.read_bytes()).hexdigest()
    published = dataclasses.replace(TINY_IDX, sha256={gz.name: digest})
    assert image_data.load_idx(published, tmp_path / "idx")["train"]["x"].shape == (3, 4, 5)
    # A caller's checksum replaces the built-in one for that file.
    with pytest.raises(ConfigError, match=f"{gz}: SHA-256 is {digest}, expected 0{{64}}"):
        image_data.load_idx(published, tmp_path / "idx", sha256={gz.name: "0" * 64})


def test_published_checksums_are_sha256_of_the_gzipped_files():
    for spec in (image_data.MNIST, image_data.FASHION_MNIST):
        assert sorted(spec.sha256) == sorted(f + ".gz" for f in spec.files)
        assert all(len(d) == 64 and image_data._is_hex(d) for d in spec.sha256.values())
    assert image_data.MNIST.sha256["train-images-idx3-ubyte.gz"].startswith("440fcabf")
    assert image_data.FASHION_MNIST.sha256["t10k-labels-idx1-ubyte.gz"].startswith("67da17c7")
    assert image_data.CIFAR10.sha256 == {}  # none is published per .bin file: structure only


def expect_error(cache, match, load):
    """`load()` raises one ConfigError line matching `match` and leaves the cache empty."""
    with pytest.raises(ConfigError, match=match) as error:
        load()
    assert "\n" not in str(error.value)
    assert cached_files(cache) == []
    return str(error.value)


def test_missing_folder_names_it_and_the_files_expected(tmp_path, cache):
    missing = tmp_path / "nowhere"
    message = expect_error(cache, "does not exist", lambda: image_data.mnist(missing))
    assert message.startswith(f"mnist: folder {missing} does not exist")
    assert "train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], " \
           "t10k-labels-idx1-ubyte[.gz]" in message
    message = expect_error(cache, "does not exist", lambda: image_data.cifar10(missing))
    assert "data_batch_1.bin, data_batch_2.bin" in message and "test_batch.bin" in message


def test_missing_files_are_listed_together(tmp_path, cache):
    write_idx(tmp_path / "idx", gz=True)
    (tmp_path / "idx" / "t10k-images-idx3-ubyte.gz").unlink()
    (tmp_path / "idx" / "train-labels-idx1-ubyte.gz").unlink()
    message = expect_error(cache, "lacks", lambda: image_data.load_idx(TINY_IDX, tmp_path / "idx"))
    assert f"folder {tmp_path / 'idx'} lacks train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz];" \
           in message


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_idx_file(tmp_path, cache, gz):
    write_idx(tmp_path / "idx", gz)
    name = "t10k-images-idx3-ubyte" + (".gz" if gz else "")
    path = tmp_path / "idx" / name
    path.write_bytes(path.read_bytes()[:-7])
    # The images file is read after the training files parsed: still nothing is cached.
    what = "not a readable gzip file" if gz else "truncated: 49 bytes, expected 56"
    expect_error(cache, f"tiny_idx: {path}: {what}", lambda: image_data.load_idx(TINY_IDX, tmp_path / "idx"))


def test_truncated_header_and_trailing_bytes(tmp_path, cache):
    write_idx(tmp_path / "idx", gz=False)
    labels = tmp_path / "idx" / "train-labels-idx1-ubyte"
    content = labels.read_bytes()
    labels.write_bytes(content[:5])
    load = lambda: image_data.load_idx(TINY_IDX, tmp_path / "idx")  # noqa: E731
    expect_error(cache, "truncated: 5 bytes, less than the 8-byte IDX header", load)
    labels.write_bytes(content + b"\0")
    expect_error(cache, "trailing bytes: 12 bytes, expected 11", load)


def test_bad_magic_and_wrong_dimensions(tmp_path, cache):
    train, _ = write_idx(tmp_path / "idx", gz=False)
    images = tmp_path / "idx" / "train-images-idx3-ubyte"
    load = lambda: image_data.load_idx(TINY_IDX, tmp_path / "idx")  # noqa: E731
    content = bytearray(idx_bytes(train))
    content[2] = 0x0D  # IDX type code of 32-bit floats, not unsigned bytes
    images.write_bytes(bytes(content))
    expect_error(cache, f"{images}: bad IDX magic number 0x00000d03, expected 0x00000803", load)
    images.write_bytes(idx_bytes(np.zeros((16, 1), np.uint8)))  # 2 dimensions where 3 belong
    expect_error(cache, "bad IDX magic number 0x00000802, expected 0x00000803", load)
    images.write_bytes(idx_bytes(train.transpose(0, 2, 1)))
    expect_error(cache, r"dimensions \(3, 5, 4\) in the header, expected \(3, 4, 5\)", load)


def test_label_out_of_range(tmp_path, cache):
    write_idx(tmp_path / "idx", gz=True)
    path = tmp_path / "idx" / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.array([7, 12], np.uint8))))
    expect_error(cache, f"{path}: label 12 at record 1 is outside 0..9",
                 lambda: image_data.load_idx(TINY_IDX, tmp_path / "idx"))


def test_wrong_checksum_caller_supplied_for_a_raw_file(tmp_path, cache):
    write_idx(tmp_path / "idx", gz=False)
    path = tmp_path / "idx" / "train-labels-idx1-ubyte"
    right = hashlib.sha256(path.read_bytes()).hexdigest()
    load = lambda sums: lambda: image_data.load_idx(TINY_IDX, tmp_path / "idx", sums)  # noqa: E731
    expect_error(cache, f"{path}: SHA-256 is {right}, expected {'ab' * 32}", load({path.name: "ab" * 32}))
    expect_error(cache, "checksums given for train-labels-idx1-ubyte.gz, which is not among the files read",
                 load({"train-labels-idx1-ubyte.gz": right}))
    expect_error(cache, "not a SHA-256 hex digest", load({path.name: "xyz"}))
    loaded = image_data.load_idx(TINY_IDX, tmp_path / "idx", {path.name: right.upper()})
    assert loaded["train"]["y"].tolist() == [3, 0, 9]


def test_cifar_binary_loads_channels_last_exactly(tmp_path, cache):
    written = write_cifar(tmp_path / "cifar")
    splits = image_data.load_cifar(TINY_CIFAR, tmp_path / "cifar")
    x = np.asarray(splits["train"]["x"])
    assert x.shape == (50, 32, 32, 3) and x.dtype == np.float32
    images = np.concatenate([written[f][0] for f in TINY_CIFAR.train_files])
    np.testing.assert_array_equal(x, images / np.float32(255))
    labels = np.concatenate([written[f][1] for f in TINY_CIFAR.train_files])
    assert splits["train"]["y"].tolist() == labels.tolist()
    np.testing.assert_array_equal(splits["test"]["x"], written["test_batch.bin"][0] / np.float32(255))
    # The layout by hand: record bytes 1, 1 + 1024 and 1 + 32 are red (0, 0), green (0, 0) and red (1, 0).
    record = (tmp_path / "cifar" / "test_batch.bin").read_bytes()[:3073]
    test_x = np.asarray(splits["test"]["x"])
    assert test_x[0, 0, 0, 0] == np.float32(record[1]) / 255
    assert test_x[0, 0, 0, 1] == np.float32(record[1 + 1024]) / 255
    assert test_x[0, 1, 0, 0] == np.float32(record[1 + 32]) / 255
    assert splits["test"]["y"][0] == record[0]
    assert len(cached_files(cache)) == 1


def test_cifar_faults(tmp_path, cache):
    written = write_cifar(tmp_path / "cifar")
    load = lambda: image_data.load_cifar(TINY_CIFAR, tmp_path / "cifar")  # noqa: E731
    batch = tmp_path / "cifar" / "data_batch_3.bin"
    content = batch.read_bytes()
    batch.write_bytes(content[:-1])
    expect_error(cache, f"{batch}: truncated: 30729 bytes, expected 30730 \\(10 records of 3073 bytes\\)",
                 load)
    images, labels = written["data_batch_3.bin"]
    batch.write_bytes(cifar_records(images, np.where(labels == 4, 10, labels)))
    first_four = int(np.flatnonzero(labels == 4)[0])
    expect_error(cache, f"{batch}: label 10 at record {first_four} is outside 0..9", load)
    batch.write_bytes(cifar_records(images, np.where(labels == 4, 5, labels)))  # two 5s, no 4
    expect_error(cache, r"class counts \[5, 5, 5, 5, 4, 6, 5, 5, 5, 5\], expected 5 of each class", load)
    batch.unlink()
    expect_error(cache, f"folder {tmp_path / 'cifar'} lacks data_batch_3.bin;", load)


def test_the_cli_prints_one_line_and_exits_2(tmp_path, capsys):
    status = cli._guarded(lambda: image_data.image_splits("fashion_mnist", str(tmp_path / "none")))
    assert status == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"phenomena: error: fashion_mnist: folder {tmp_path / 'none'} does not exist")


def test_image_splits_reads_the_named_folder_or_phenomena_data(tmp_path, monkeypatch):
    monkeypatch.setattr(image_data, "MNIST", dataclasses.replace(TINY_IDX, name="mnist"))
    train, _ = write_idx(tmp_path / "mnist", gz=True)
    by_folder = image_data.image_splits("mnist", str(tmp_path / "mnist"))
    np.testing.assert_array_equal(by_folder["train"]["x"], train / np.float32(255))
    monkeypatch.setenv(image_data.DATA_ENV, str(tmp_path))
    by_env = image_data.image_splits("mnist")
    np.testing.assert_array_equal(by_env["train"]["x"], by_folder["train"]["x"])
    assert image_data.data_folder("cifar10") == tmp_path / "cifar10"
    assert image_data.data_folder("cifar10", "/elsewhere") == image_data.Path("/elsewhere")


def test_image_splits_refuses_what_a_dataset_would_ignore():
    with pytest.raises(ConfigError, match="set PHENOMENA_DATA to a folder holding mnist/"):
        image_data.image_splits("mnist")  # neither a folder nor PHENOMENA_DATA
    with pytest.raises(ConfigError, match="mnist has its own 10000-image test set"):
        image_data.image_splits("mnist", "/data/mnist", test_size=500)
    with pytest.raises(ConfigError, match="digits is bundled with scikit-learn"):
        image_data.image_splits("digits", "/data/digits", test_size=500)
    with pytest.raises(ConfigError, match="digits needs 0 < test_size < 1797"):
        image_data.image_splits("digits")
    with pytest.raises(ConfigError, match="unknown image dataset 'svhn'"):
        image_data.image_splits("svhn", "/data")


def test_parse_checksums():
    digest = "AB" * 32
    assert image_data.parse_checksums((f"t10k-labels-idx1-ubyte.gz={digest}",)) == \
        {"t10k-labels-idx1-ubyte.gz": "ab" * 32}
    for bad in ("no-equals-sign", f"={digest}", "file=abc", f"file={'g' * 64}"):
        with pytest.raises(ConfigError, match="expected FILE=SHA256"):
            image_data.parse_checksums((bad,))


def test_digits_images_are_the_digits_laid_out_as_8x8():
    splits = image_data.image_splits("digits", test_size=497)
    assert splits["train"]["x"].shape == (data.DIGITS_SIZE - 497, 8, 8)
    assert splits["test"]["x"].shape == (497, 8, 8) and splits["test"]["y"].shape == (497,)
    x = np.concatenate([np.asarray(splits["train"]["x"]), np.asarray(splits["test"]["x"])])
    assert x.dtype == np.float32 and x.min() == 0.0 and x.max() == 1.0
    # Disjoint splits whose union is the whole set, each image as scikit-learn lays it out.
    from sklearn.datasets import load_digits
    whole = (load_digits().images / 16.0).astype(np.float32)
    assert sorted(map(bytes, x)) == sorted(map(bytes, whole))
    flat = data.digits_splits(test_size=497)
    np.testing.assert_array_equal(np.asarray(splits["test"]["x"]).reshape(497, 64), flat["test"]["x"])
    np.testing.assert_array_equal(splits["test"]["y"], flat["test"]["y"])
