"""The CIFAR-10 data module on small folders written in torchvision's cifar-10-batches-py format."""

import os
import pickle

import numpy as np
import pytest
import torch

from data_modules import DataError, Split, load_dataset, split_sizes, trial_splits
from data_modules.cifar10 import CLASSES, FOLDER, read_cifar_dir, write_cifar_dir


def make_cifar_dir(root, n_train=100, n_test=50, seed=0):
    """A small CIFAR-10: image i has label i % 10 and its class index in pixel (0, 0, 0)."""
    rng = np.random.default_rng(seed)
    splits = []
    for n in (n_train, n_test):
        y = np.arange(n) % 10
        x = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
        x[:, 0, 0, 0] = y
        splits.append(Split(torch.from_numpy(x), torch.from_numpy(y)))
    write_cifar_dir(root, *splits, classes=CLASSES)
    return root, splits


def test_reads_the_official_layout(tmp_path):
    _, (train, test) = make_cifar_dir(tmp_path)
    assert sorted(p.name for p in (tmp_path / FOLDER).iterdir()) == [
        "batches.meta", *(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]
    bundle = load_dataset("cifar10", data_dir=tmp_path)
    assert bundle.train.x.shape == (100, 3, 32, 32) and bundle.train.x.dtype == torch.uint8
    assert bundle.test.x.shape == (50, 3, 32, 32) and bundle.test.y.dtype == torch.int64
    # rows are CHW: the label written into channel 0, pixel (0, 0) comes back there, in order
    assert torch.equal(bundle.train.x, train.x) and torch.equal(bundle.test.y, test.y)
    assert torch.equal(bundle.train.x[:, 0, 0, 0].long(), bundle.train.y)
    m = bundle.meta
    assert (m.name, m.variant, m.input_shape, m.classes) == ("cifar10", "cifar10", (3, 32, 32), CLASSES)
    assert m.mean == (0.4914, 0.4822, 0.4465) and m.std == (0.2470, 0.2435, 0.2616)
    assert bundle.val is None


def test_class_balanced_subsets(tmp_path):
    make_cifar_dir(tmp_path, n_train=200, n_test=50)
    bundle = load_dataset("cifar10", data_dir=tmp_path)
    data = trial_splits(bundle, val_fraction=0.1, train_size=100, test_size=30)
    assert (len(data.train), len(data.val), len(data.test)) == (100, 20, 30)
    assert torch.bincount(data.train.y, minlength=10).tolist() == [10] * 10
    assert torch.bincount(data.test.y, minlength=10).tolist() == [3] * 10
    assert split_sizes(bundle, 0.1, 100, 30) == (100, 20, 30)


def test_absent_and_offline_is_one_line_naming_the_folder(tmp_path):
    with pytest.raises(DataError) as e:
        load_dataset("cifar10", data_dir=tmp_path / "nowhere")
    msg = str(e.value)
    assert "\n" not in msg and str(tmp_path / "nowhere" / FOLDER) in msg
    assert "SWEEPLAB_OFFLINE" in msg and "cifar-10-python.tar.gz" in msg and "--data-dir" in msg


def test_download_disabled_is_reported(tmp_path):
    with pytest.raises(DataError, match=r"cannot be downloaded \(download disabled\)"):
        load_dataset("cifar10", data_dir=tmp_path, download=False)


def _rewrite(path, key, value):
    with open(path, "rb") as f:
        d = pickle.load(f, encoding="bytes")
    d[key] = value
    with open(path, "wb") as f:
        pickle.dump(d, f, protocol=2)


@pytest.mark.parametrize(
    "damage, problem",
    [
        (lambda p: p.write_bytes(p.read_bytes()[:1000]), "unreadable pickle"),
        (lambda p: p.write_bytes(b"not a pickle"), "unreadable pickle"),
        (lambda p: _rewrite(p, b"data", np.zeros((20, 100), np.uint8)), "rows of length 3072"),
        (lambda p: _rewrite(p, b"labels", [12] * 20), r"labels out of range \(12 to 12\); expected 0-9"),
        (lambda p: _rewrite(p, b"labels", [1] * 7), "20 images but 7 labels"),
    ],
)
def test_corrupt_batch_names_file_and_problem(tmp_path, damage, problem):
    make_cifar_dir(tmp_path)
    damage(tmp_path / FOLDER / "data_batch_3")
    with pytest.raises(DataError, match=rf"data_batch_3: .*{problem}") as e:
        read_cifar_dir(tmp_path)
    assert "\n" not in str(e.value)


def test_missing_keys_and_missing_files(tmp_path):
    make_cifar_dir(tmp_path)
    with open(tmp_path / FOLDER / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 3072), np.uint8)}, f, protocol=2)
    with pytest.raises(DataError, match=r"test_batch: missing key\(s\) labels \(found: data\)"):
        read_cifar_dir(tmp_path)
    (tmp_path / FOLDER / "data_batch_5").unlink()
    (tmp_path / FOLDER / "batches.meta").unlink()
    with pytest.raises(DataError, match=r"incomplete CIFAR-10 in .*: missing data_batch_5, batches.meta"):
        read_cifar_dir(tmp_path)


def test_pickle_holding_code_is_refused(tmp_path):
    # os.system, not print: once Ray has run in this process, builtins.print is Ray's safe_print.
    make_cifar_dir(tmp_path)
    with open(tmp_path / FOLDER / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [b"a"], b"x": os.system}, f, protocol=2)
    with pytest.raises(DataError, match=r"batches.meta: unreadable pickle \(refusing to load \w+\.system\)"):
        read_cifar_dir(tmp_path)


def test_download_path_is_quiet_and_reports_failures(tmp_path, monkeypatch, capsys):
    """The download branch with torchvision's downloader replaced (tests stay offline)."""
    import torchvision.datasets

    import data_modules.download as download

    monkeypatch.delenv("SWEEPLAB_OFFLINE")
    monkeypatch.setattr(download.socket, "getaddrinfo", lambda host, port: [])

    class FakeCIFAR10:
        def __init__(self, root, train, download):
            print("Downloading https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz ... 100%")
            make_cifar_dir(tmp_path / "ok", n_train=20, n_test=10)

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR10)
    bundle = load_dataset("cifar10", data_dir=tmp_path / "ok")
    assert len(bundle.train) == 20 and capsys.readouterr().out == ""

    def fail(root, train, download):
        raise RuntimeError("download failed\nHTTP Error 503: Service Unavailable")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", fail)
    with pytest.raises(DataError, match=r"cannot be downloaded \(HTTP Error 503: Service Unavailable\)"):
        load_dataset("cifar10", data_dir=tmp_path / "down")
