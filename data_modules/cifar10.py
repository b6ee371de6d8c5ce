"""CIFAR-10 in torchvision's on-disk format (the "python version" of the official archive).

Layout read (what `torchvision.datasets.CIFAR10(root, download=True)` writes, and what extracting
https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz gives):
    DATA_DIR/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}
Each batch is a pickled dict: b"data" (N, 3072) uint8 rows (1024 red, 1024 green, 1024 blue, i.e.
CHW order) and b"labels" (N ints); batches.meta has b"label_names". The classic 10,000 train /
2,000 test subsets come from `trial_splits(bundle, train_size=10000, test_size=2000)`.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from data_modules.base import DataAbsent, DataBundle, DataError, DataMeta, DataPeek, Split, register_dataset
from data_modules.download import default_data_dir, reachable, read_or_download, try_download

FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
META_FILE = "batches.meta"
ROW = 3 * 32 * 32
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
# torchvision downloads from this host; resolving it tells in milliseconds whether a download can
# work, before importing torchvision and waiting for a connection timeout.
HOST = "www.cs.toronto.edu"
# Per-channel mean and std of the 50,000 training images (the values used by most CIFAR code).
MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

# The batches hold numpy arrays (the official files) or plain lists; nothing else may be unpickled,
# so a tampered file in a data folder cannot run code. (_codecs.encode is how Python 3 pickles bytes
# at protocol 2; the official files were written by numpy 1 as numpy.core.*, now numpy._core.*.)
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module.startswith("numpy.core.") and hasattr(np, "_core"):  # avoid numpy 2's deprecation shim
            module = "numpy._core." + module[len("numpy.core."):]
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _read_pickle(path: Path, keys: tuple[bytes, ...]) -> dict:
    try:
        with open(path, "rb") as f:
            d = _ArrayUnpickler(f, encoding="bytes").load()
    except Exception as e:  # truncated, not a pickle, or a forbidden object: all mean "corrupt"
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"corrupt CIFAR-10 file {path}: unreadable pickle ({reason}); delete it to re-download") from None
    if not isinstance(d, dict):
        raise DataError(f"corrupt CIFAR-10 file {path}: holds a {type(d).__name__}, expected a dict")
    missing = [k.decode() for k in keys if k not in d]
    if missing:
        found = ", ".join(k.decode() if isinstance(k, bytes) else str(k) for k in d) or "none"
        raise DataError(f"corrupt CIFAR-10 file {path}: missing key(s) {', '.join(missing)} (found: {found})")
    return d


def _read_batch(path: Path, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    d = _read_pickle(path, (b"data", b"labels"))
    try:
        x = np.asarray(d[b"data"], dtype=np.uint8)
        y = np.asarray(d[b"labels"], dtype=np.int64).reshape(-1)
    except (TypeError, ValueError) as e:
        raise DataError(f"corrupt CIFAR-10 file {path}: data or labels are not numeric arrays ({e})") from None
    if x.ndim != 2 or x.shape[1] != ROW:
        raise DataError(f"corrupt CIFAR-10 file {path}: data has shape {x.shape}, expected rows of length {ROW} (3x32x32)")
    if len(x) != len(y):
        raise DataError(f"corrupt CIFAR-10 file {path}: {len(x)} images but {len(y)} labels")
    if len(y) and (y.min() < 0 or y.max() >= num_classes):
        raise DataError(
            f"corrupt CIFAR-10 file {path}: labels out of range ({int(y.min())} to {int(y.max())}); "
            f"expected 0-{num_classes - 1}"
        )
    return x, y


def read_cifar_dir(data_dir: str | Path) -> DataBundle | None:
    """CIFAR-10 from DATA_DIR/cifar-10-batches-py, or None when that folder does not exist."""
    folder = Path(data_dir) / FOLDER
    if not folder.is_dir():
        return None
    missing = [n for n in (*TRAIN_FILES, TEST_FILE, META_FILE) if not (folder / n).is_file()]
    if missing:
        raise DataError(f"incomplete CIFAR-10 in {folder}: missing {', '.join(missing)}; delete the folder to re-download")
    names = _read_pickle(folder / META_FILE, (b"label_names",))[b"label_names"]
    if not isinstance(names, (list, tuple)) or not names:
        raise DataError(f"corrupt CIFAR-10 file {folder / META_FILE}: label_names is not a non-empty list")
    classes = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)
    parts = [_read_batch(folder / n, len(classes)) for n in (*TRAIN_FILES, TEST_FILE)]
    train_x = np.concatenate([x for x, _ in parts[:-1]])
    train_y = np.concatenate([y for _, y in parts[:-1]])
    test_x, test_y = parts[-1]

    def split(x: np.ndarray, y: np.ndarray) -> Split:
        return Split(torch.from_numpy(x.reshape(-1, 3, 32, 32).copy()), torch.from_numpy(y.copy()))

    meta = DataMeta("cifar10", "cifar10", (3, 32, 32), classes, MEAN, STD)
    return DataBundle(split(train_x, train_y), split(test_x, test_y), meta)


def write_cifar_dir(root: str | Path, train: Split, test: Split, classes=CLASSES) -> Path:
    """Write splits as DATA_DIR/cifar-10-batches-py (the inverse of read_cifar_dir), training rows
    spread over the five batches, pickled like the official files: for tests and benchmarks."""
    folder = Path(root) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)

    def dump(name: str, obj: dict) -> None:
        with open(folder / name, "wb") as f:
            pickle.dump(obj, f, protocol=2)  # the official files are protocol-2 pickles

    def batch(label: str, split: Split) -> dict:
        x = np.ascontiguousarray(split.x.numpy(), dtype=np.uint8).reshape(len(split), ROW)
        return {b"batch_label": label.encode(), b"labels": split.y.tolist(), b"data": x,
                b"filenames": [f"img_{i}.png".encode() for i in range(len(split))]}

    for i, idx in enumerate(np.array_split(np.arange(len(train)), len(TRAIN_FILES))):
        part = train.take(torch.from_numpy(idx))
        dump(TRAIN_FILES[i], batch(f"training batch {i + 1} of 5", part))
    dump(TEST_FILE, batch("testing batch 1 of 1", test))
    dump(META_FILE, {b"label_names": [c.encode() for c in classes], b"num_cases_per_batch": len(train) // 5, b"num_vis": ROW})
    return Path(root)


def _fetch(root: str) -> None:
    from torchvision.datasets import CIFAR10

    CIFAR10(root, train=True, download=True)  # fetches, checks md5 and extracts all batches


def _download(data_dir: Path) -> str | None:
    return try_download(data_dir, _fetch, HOST, ".cifar10.lock", done=lambda: (data_dir / FOLDER).is_dir())


def peek_cifar10(data_dir: str | Path | None = None, download: bool = True) -> DataPeek:
    """Available when its folder is complete, or when it could be downloaded (its host resolves)."""
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    folder = data_dir / FOLDER
    why = None if all((folder / n).is_file() for n in (*TRAIN_FILES, TEST_FILE, META_FILE)) else (
        reachable(HOST) if download else "download disabled")
    message = f"CIFAR-10 is not in {folder} and cannot be downloaded ({why})" if why else ""
    return DataPeek("cifar10", 50_000, 10_000, (3, 32, 32), 10, available=why is None, why=message)


@register_dataset("cifar10", peek=peek_cifar10)
def load_cifar10(data_dir: str | Path | None = None, download: bool = True) -> DataBundle:
    """The 50,000/10,000 CIFAR-10 images from `data_dir` (downloaded there if possible) as uint8 (N, 3, 32, 32)."""
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    bundle, why = read_or_download(data_dir, read_cifar_dir, _download, download)
    if bundle is not None:
        return bundle
    raise DataAbsent(
        f"CIFAR-10 is not in {data_dir / FOLDER} and cannot be downloaded ({why}); extract "
        f"cifar-10-python.tar.gz ({URL}) into {data_dir} so that folder exists, or pass --data-dir"
    )
