"""The scikit-learn 2-D toy sets: sizes, balance, determinism and argument errors."""

import pytest
import torch

from data_modules import DataError, load_dataset, trial_splits

KINDS = ["moons", "circles", "classification"]


@pytest.mark.parametrize("kind", KINDS)
def test_sizes_dtypes_and_meta(kind):
    bundle = load_dataset("toy2d", kind=kind, n_samples=500, noise=0.1, seed=0)
    assert (len(bundle.train), len(bundle.test)) == (400, 100)
    assert bundle.train.x.shape == (400, 2) and bundle.train.x.dtype == torch.float32
    assert bundle.test.y.dtype == torch.int64 and set(bundle.train.y.tolist()) == {0, 1}
    m = bundle.meta
    assert (m.name, m.variant, m.input_shape, m.classes, m.mean, m.std) == (
        "toy2d", f"toy2d-{kind}", (2,), ("0", "1"), (0.0,), (1.0,))
    assert bundle.val is None


@pytest.mark.parametrize("kind", ["moons", "circles"])
def test_stratified_and_balanced(kind):
    bundle = load_dataset("toy2d", kind=kind, n_samples=1000)
    assert bundle.class_counts() == [400, 400]
    assert torch.bincount(bundle.test.y).tolist() == [100, 100]
    data = trial_splits(bundle, val_fraction=0.1, train_size=200)
    assert (len(data.train), len(data.val), len(data.test)) == (200, 80, 200)


def test_classification_is_nearly_balanced():
    counts = load_dataset("toy2d", kind="classification", n_samples=1000).class_counts()
    assert sum(counts) == 800 and min(counts) > 350


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_points_other_seed_other_points(kind):
    a = load_dataset("toy2d", kind=kind, n_samples=200, seed=3)
    b = load_dataset("toy2d", kind=kind, n_samples=200, seed=3)
    c = load_dataset("toy2d", kind=kind, n_samples=200, seed=4)
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.test.y, b.test.y)
    assert not torch.equal(a.train.x, c.train.x)


def test_noise_changes_the_points():
    quiet = load_dataset("toy2d", kind="moons", n_samples=200, noise=0.0)
    loud = load_dataset("toy2d", kind="moons", n_samples=200, noise=0.5)
    assert not torch.allclose(quiet.train.x, loud.train.x)
    # noise 0: every moons point lies on one of the two unit half circles
    centre = torch.where(quiet.train.y[:, None] == 0, torch.tensor([0.0, 0.0]), torch.tensor([1.0, 0.5]))
    assert torch.allclose((quiet.train.x - centre).norm(dim=1), torch.ones(len(quiet.train)), atol=1e-5)


def test_unknown_kind_lists_the_known_ones():
    with pytest.raises(DataError, match=r"unknown toy2d kind 'spiral'; allowed: circles, classification, moons"):
        load_dataset("toy2d", kind="spiral")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_samples": 5}, r"n_samples 5 is not allowed; use an integer from 10 to 1,000,000"),
        ({"n_samples": 100.0}, r"n_samples 100.0 is not allowed"),
        ({"noise": -0.1}, r"noise -0.1 is not allowed; use a number in \[0, 1\]"),
        ({"noise": 1.5}, r"noise 1.5 is not allowed"),
        ({"seed": -1}, r"seed -1 is not allowed"),
    ],
)
def test_bad_arguments_name_value_and_range(kwargs, message):
    with pytest.raises(DataError, match=message):
        load_dataset("toy2d", **kwargs)
