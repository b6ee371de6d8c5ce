"""1-D function data for the regression studies: the source's interval and size, the functions'
values, a seeded split, and one-line errors."""
import math

import pytest
import torch

from data_modules import DataError, load_dataset, peek_dataset, trial_splits


def test_defaults_are_the_sources_40000_points_on_minus_2_to_2():
    bundle = load_dataset("function", kind="cubic")
    x = torch.cat([bundle.train.x, bundle.test.x])
    assert len(x) == 40_000 and x.min() == -2 and x.max() == 2 and len(bundle.test) == 8_000
    assert bundle.meta.num_classes == 1 and not bundle.meta.is_classification
    torch.testing.assert_close(bundle.train.y, bundle.train.x**3)
    peek = peek_dataset("function", kind="cubic")
    assert (peek.n_train, peek.n_test, peek.input_shape) == (len(bundle.train), len(bundle.test), (1,))


@pytest.mark.parametrize("kind, at_half", [("sin5pi", math.sin(2.5 * math.pi)), ("sinc5pi", math.sin(2.5 * math.pi) / (2.5 * math.pi))])
def test_function_values(kind, at_half):
    bundle = load_dataset("function", kind=kind, n_points=401)  # step 0.01: 0.5 and 0 are on the grid
    x, y = torch.cat([bundle.train.x, bundle.test.x]), torch.cat([bundle.train.y, bundle.test.y])
    assert y[(x - 0.5).abs() < 1e-6].item() == pytest.approx(at_half, abs=1e-5)
    if kind == "sinc5pi":
        assert y[x.abs() < 1e-6].item() == pytest.approx(1.0)


def test_split_follows_the_seed_and_validation_is_carved_at_random():
    a, b, c = (load_dataset("function", n_points=1000, seed=s) for s in (0, 0, 1))
    assert torch.equal(a.test.x, b.test.x) and not torch.equal(a.test.x, c.test.x)
    data = trial_splits(a, val_fraction=0.1)
    assert len(data.val) == 80 and len(data.train) == 720


@pytest.mark.parametrize("kwargs, fragment", [({"kind": "tan"}, "unknown function 'tan'; allowed: cubic, sin5pi, sinc5pi"),
                                              ({"n_points": 5}, "n_points 5 is not allowed"),
                                              ({"low": 1.0, "high": -1.0}, "low < high")])
def test_bad_arguments_are_one_line(kwargs, fragment):
    with pytest.raises(DataError, match=fragment.replace("(", r"\(")):
        load_dataset("function", **kwargs)
