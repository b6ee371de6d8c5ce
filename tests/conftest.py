"""Shared fixtures: offline data, small MNIST files in the real IDX format, one local Ray."""
from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

# Tests never touch the network or a developer's data cache.
os.environ["SWEEPLAB_OFFLINE"] = "1"
os.environ.setdefault("SWEEPLAB_DATA_DIR", tempfile.mkdtemp(prefix="sweeplab-test-data-"))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    """Write `array` (uint8) as an IDX file, the format of MNIST's raw files."""
    magic = (0x0800 + array.ndim).to_bytes(4, "big")
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    raw = magic + dims + array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def make_mnist_dir(root: Path, n_train: int = 300, n_test: int = 100, gz: bool = False, seed: int = 0) -> Path:
    """A small MNIST in torchvision's layout: class c is a bright bar at row 2c (learnable)."""
    rng = np.random.default_rng(seed)
    raw = root / "MNIST" / "raw"
    for part, n in (("train", n_train), ("t10k", n_test)):
        y = np.arange(n) % 10
        x = rng.integers(0, 40, size=(n, 28, 28))
        for i, c in enumerate(y):
            x[i, 2 * c : 2 * c + 3, 4:24] = 255
        suffix = ".gz" if gz else ""
        write_idx(raw / f"{part}-images-idx3-ubyte{suffix}", x, gz)
        write_idx(raw / f"{part}-labels-idx1-ubyte{suffix}", y, gz)
    return root


@pytest.fixture(scope="session")
def mnist_sample():
    from data_modules.mnist import mnist_sample as load

    return load()


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray for the whole session (local_mode no longer exists since Ray 2.55)."""
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    yield ray
    ray.shutdown()
