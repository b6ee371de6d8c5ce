"""Shared fixtures: offline data, small MNIST files in the real IDX format, one local Ray."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from data_modules import Split
from data_modules.mnist import write_mnist_dir

# Tests never touch the network or a developer's data cache.
os.environ["SWEEPLAB_OFFLINE"] = "1"
# The data dir's parent holds the machine caches (calibration.json, phases.json): a fresh folder per
# session, so no earlier run on this machine (the shared /tmp) changes what the tests see.
os.environ.setdefault("SWEEPLAB_DATA_DIR", str(Path(tempfile.mkdtemp(prefix="sweeplab-test-")) / "data"))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# Every Ray the suite starts, in this process or a sweep's subprocess, keeps its session here (short:
# Ray's socket paths are limited), so a test that starts Ray without the `ray` mark is caught.
RAY_TMP = Path(tempfile.mkdtemp(prefix="sl-rt-", dir="/tmp" if os.path.isdir("/tmp") else None))
os.environ["RAY_TMPDIR"] = str(RAY_TMP)


def ray_sessions() -> set[str]:
    return {p.name for p in (RAY_TMP / "ray").glob("session_2*")}


@pytest.fixture(autouse=True)
def ray_starting_tests_are_marked(request):
    """The fast lane (`pytest -m "not ray"`) starts no Ray: a test that does must say so."""
    if request.node.get_closest_marker("ray"):
        yield
        return
    before = ray_sessions()
    yield
    assert ray_sessions() <= before, f"{request.node.nodeid} starts Ray: mark it @pytest.mark.ray"


def learnable_images(n: int, channels: int, side: int, rng: np.random.Generator) -> Split:
    """n uint8 images over 10 classes (c = i % 10): noise plus a bright bar whose row and
    channel depend on the class, so a model can learn them in an epoch or two."""
    y = np.arange(n) % 10
    x = rng.integers(0, 50, size=(n, channels, side, side))
    for i, c in enumerate(y):
        x[i, c % channels, 2 * c : 2 * c + 3, 4 : side - 4] = 255
    return Split(torch.from_numpy(x.astype(np.uint8)), torch.from_numpy(y))


def make_mnist_dir(root: Path, n_train: int = 300, n_test: int = 100, gz: bool = False, seed: int = 0) -> Path:
    """A small MNIST in torchvision's layout (MNIST/raw IDX files)."""
    rng = np.random.default_rng(seed)
    return write_mnist_dir(root, learnable_images(n_train, 1, 28, rng), learnable_images(n_test, 1, 28, rng), gz=gz)


@pytest.fixture(scope="session")
def mnist_sample():
    from data_modules.mnist import mnist_sample as load

    return load()


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray for the whole session (local_mode no longer exists since Ray 2.55), started
    as a sweep starts it: warm workers that Tune's trial actors reuse."""
    import ray

    from sweeps.runner.ray_session import start_ray

    start_ray(num_cpus=2)
    yield ray
    ray.shutdown()


def make_cifar_dir(root: Path, n_train: int = 300, n_test: int = 120, seed: int = 0) -> Path:
    """A small CIFAR-10 in the cifar-10-batches-py format."""
    from data_modules.cifar10 import write_cifar_dir

    rng = np.random.default_rng(seed)
    return write_cifar_dir(root, learnable_images(n_train, 3, 32, rng), learnable_images(n_test, 3, 32, rng))


def make_dogs_manifest(root: Path, per_class: int = 12) -> Path:
    """dogs.csv with two breeds of small PNGs (different sizes, resized on load) in train /
    valid / test partitions."""
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    rows = ["file,label,partition"]
    rng = np.random.default_rng(0)
    for label, colour in (("beagle", (200, 120, 40)), ("husky", (90, 90, 200))):
        for i in range(per_class):
            partition = "train" if i < per_class // 2 else ("valid" if i < 3 * per_class // 4 else "test")
            pixels = (rng.integers(0, 40, size=(40 + i, 48, 3)) + np.array(colour)).clip(0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / f"{label}_{i}.png")
            rows.append(f"{label}_{i}.png,{label},{partition}")
    (root / "dogs.csv").write_text("\n".join(rows) + "\n")
    return root


DBPEDIA_FIXTURE = Path(__file__).parent / "fixtures" / "dbpedia_course"  # real rows of the course's files


def copy_dbpedia_fixture(root: Path) -> Path:
    """train_medium.csv / test_medium.csv: 42 real rows of the course's files, as they are."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("train_medium.csv", "test_medium.csv"):
        shutil.copyfile(DBPEDIA_FIXTURE / name, root / name)
    return root


@pytest.fixture(scope="session")
def vision_data_dir(tmp_path_factory):
    """One data folder holding a small CIFAR-10, a DogSet-style manifest and the course's text
    classification CSVs (the committed real fixture), as a user's would."""
    root = tmp_path_factory.mktemp("vision-data")
    make_cifar_dir(root)
    make_dogs_manifest(root)
    copy_dbpedia_fixture(root)
    return root
