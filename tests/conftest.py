"""Shared fixtures: offline data, small MNIST files in the real IDX format, one local Ray."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from data_modules import Split
from data_modules.mnist import write_mnist_dir

# Tests never touch the network or a developer's data cache.
os.environ["SWEEPLAB_OFFLINE"] = "1"
os.environ.setdefault("SWEEPLAB_DATA_DIR", tempfile.mkdtemp(prefix="sweeplab-test-data-"))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def make_mnist_dir(root: Path, n_train: int = 300, n_test: int = 100, gz: bool = False, seed: int = 0) -> Path:
    """A small MNIST in torchvision's layout: class c is a bright bar at row 2c (learnable)."""
    rng = np.random.default_rng(seed)
    splits = []
    for n in (n_train, n_test):
        y = np.arange(n) % 10
        x = rng.integers(0, 40, size=(n, 1, 28, 28))
        for i, c in enumerate(y):
            x[i, 0, 2 * c : 2 * c + 3, 4:24] = 255
        splits.append(Split(torch.from_numpy(x.astype(np.uint8)), torch.from_numpy(y)))
    return write_mnist_dir(root, *splits, gz=gz)


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
