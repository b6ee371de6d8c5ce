"""Registry-parametrised model tests: shape, gradients, no NaN, parameter counts, bad names."""
import pytest
import torch

from models import UnknownNameError, create_model, list_models, param_count
from models.mlp import ACTIVATIONS


@pytest.mark.parametrize("name", list_models())
def test_every_model_forward_and_backward(name):
    model = create_model(name, input_shape=(1, 28, 28), num_classes=10)
    x = torch.randn(5, 1, 28, 28)
    out = model(x)
    assert out.shape == (5, 10)
    assert torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_mlp_activations(activation):
    model = create_model("mlp", activation=activation, depth=1, width=8)
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_mlp_parameter_count_matches_formula():
    # 784*400+400 + 400*400+400 + 400*10+10 for the classic 2 x 400 MLP
    assert param_count(create_model("mlp")) == 784 * 400 + 400 + 400 * 400 + 400 + 400 * 10 + 10
    model = create_model("mlp", depth=2, width=[128, 64])
    assert param_count(model) == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10


def test_mlp_depth_zero_is_logistic_regression():
    assert param_count(create_model("mlp", depth=0, width=[])) == 784 * 10 + 10


def test_dropout_layers_present_only_when_asked():
    with_dropout = create_model("mlp", dropout=0.5)
    without = create_model("mlp")
    assert any(isinstance(m, torch.nn.Dropout) for m in with_dropout.modules())
    assert not any(isinstance(m, torch.nn.Dropout) for m in without.modules())


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"activation": "swish"}, "allowed: elu, gelu"),
        ({"width": 0}, "positive integer"),
        ({"width": [100, 0]}, "positive integer"),
        ({"depth": 3, "width": [10, 10]}, "depth is 3"),
        ({"dropout": 1.0}, "[0, 1)"),
    ],
)
def test_bad_model_arguments_name_the_value(kwargs, fragment):
    with pytest.raises(ValueError) as info:
        create_model("mlp", **kwargs)
    assert fragment in str(info.value)


def test_unknown_model_lists_known():
    with pytest.raises(UnknownNameError, match=r"unknown model 'resnet9000'; allowed: .*\bmlp\b"):
        create_model("resnet9000")
