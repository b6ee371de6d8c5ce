"""The classic CNN, the VGG-11-style CNN and the NumPy-backprop MLP: shapes, parameter counts,
NumPy gradients against autograd, NumPy SGD against torch's SGD, and the loop end to end."""
import copy

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from data_modules import DataBundle, DataMeta, Split
from models import create_model, param_count
from models.cnn import VGG11_LAYOUT
from models.numpy_mlp import cross_entropy, numpy_backward, numpy_forward
from trainables import metrics as M
from trainables.config import TrainConfig
from trainables.loop import run_training
from trainables.numpy_step import NumpyStep
from trainables.optimizers import build_optimizer


def cnn_count(channels, side, c1=50, c2=60, fc=300, classes=10):
    """Parameters of the classic CNN by formula; `side` is the S2 map's side."""
    return (channels * c1 * 81 + c1) + (c1 * c2 * 25 + c2) + (c2 * side * side * fc + fc) + (fc * classes + classes)


# ---------------------------------------------------------------- classic CNN

def test_cnn_cifar_shape_and_parameter_count():
    model = create_model("cnn", input_shape=(3, 32, 32), num_classes=10)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    # 32 -9+1-> 24 -pool-> 12 -5+1-> 8 -pool-> 4
    expected = 3 * 50 * 81 + 50 + 50 * 60 * 25 + 60 + (60 * 4 * 4) * 300 + 300 + 300 * 10 + 10
    assert param_count(model) == expected == cnn_count(3, 4)


def test_cnn_mnist_shape_and_parameter_count():
    model = create_model("cnn", input_shape=(1, 28, 28), num_classes=10)
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    assert param_count(model) == cnn_count(1, 3)  # 28 -> 20 -> 10 -> 6 -> 3


def test_cnn_filter_counts_change_the_count():
    model = create_model("cnn", input_shape=(3, 32, 32), num_classes=10, c1=20, c2=30, fc=100)
    assert param_count(model) == cnn_count(3, 4, c1=20, c2=30, fc=100)
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 10)


def test_cnn_dropout_rate_zero_unless_asked():
    def dropouts(m):
        return [d.p for d in m.modules() if isinstance(d, nn.Dropout)]

    assert dropouts(create_model("cnn", input_shape=(3, 32, 32))) == [0.0, 0.0]
    # one before each Linear of the FC head
    assert dropouts(create_model("cnn", input_shape=(3, 32, 32), dropout=0.5)) == [0.5, 0.5]


def test_cnn_feature_maps_shapes():
    model = create_model("cnn", input_shape=(3, 32, 32))
    with torch.no_grad():
        maps = model.feature_maps(torch.randn(3, 3, 32, 32))
    assert {k: tuple(v.shape) for k, v in maps.items()} == {
        "C1": (3, 50, 24, 24), "S1": (3, 50, 12, 12), "C2": (3, 60, 8, 8), "S2": (3, 60, 4, 4),
    }
    assert (maps["C1"] >= 0).all()  # taken after the ReLU


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"input_shape": (1, 16, 16)}, "(1, 16, 16)"),
        ({"input_shape": (1, 19, 40)}, "too small"),
        ({"input_shape": (2,)}, "(channels, height, width)"),
        ({"c1": 0}, "c1 must be a positive integer, got 0"),
        ({"dropout": 1.0}, "[0, 1)"),
    ],
)
def test_cnn_bad_arguments_name_the_value(kwargs, fragment):
    with pytest.raises(ValueError) as info:
        create_model("cnn", **kwargs)
    assert fragment in str(info.value)


def test_cnn_smallest_input_works():
    assert create_model("cnn", input_shape=(1, 20, 20))(torch.randn(1, 1, 20, 20)).shape == (1, 10)


# ---------------------------------------------------------------- VGG

def test_vgg_layout_shapes_and_gradients():
    model = create_model("vgg", input_shape=(3, 32, 32), num_classes=10)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 8 and sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 8
    assert [c.out_channels for c in convs] == [c for c in VGG11_LAYOUT if c != "M"]
    widths = [3] + [c.out_channels for c in convs]
    expected = sum(a * b * 9 + 2 * b for a, b in zip(widths, widths[1:])) + 512 * 10 + 10  # conv (no bias) + BN
    assert param_count(model) == expected
    assert model.features(torch.randn(2, 3, 32, 32)).shape == (2, 512, 1, 1)  # last pool leaves 1x1x512
    out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_vgg_small_grey_input():
    model = create_model("vgg", input_shape=(1, 28, 28), num_classes=7, dropout=0.5)
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 7)
    assert sum(isinstance(m, nn.Dropout) for m in model.modules()) == 1


# ---------------------------------------------------------------- NumPy MLP

def torch_grads(model, x, y):
    model.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    return loss.item(), [p.grad.numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("depth", [1, 2])
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_numpy_gradients_equal_autograd(activation, depth):
    torch.manual_seed(depth)
    model = create_model("numpy_mlp", input_shape=(2,), num_classes=3, depth=depth, width=16, activation=activation)
    x, y = torch.randn(32, 2), torch.randint(0, 3, (32,))
    loss, expected = torch_grads(model, x, y)
    params = [p.detach().numpy() for p in model.parameters()]
    cache, probs = numpy_forward(params, x.numpy(), activation)
    np.testing.assert_allclose(probs, F.softmax(model(x), 1).detach().numpy(), rtol=1e-5, atol=1e-6)
    assert cross_entropy(probs, y.numpy()) == pytest.approx(loss, rel=1e-5)
    grads = numpy_backward(params, cache, probs, y.numpy())
    assert len(grads) == len(expected) == 2 * (depth + 1)
    for got, want in zip(grads, expected):
        assert got.shape == want.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def numpy_step(model, cfg, x, y, opt=None):
    """The NumPy MLP's own step over (x, y), as the loop builds it: a population of one."""
    from trainables.engines import Single
    from trainables.objectives import Classification

    cpu_x = torch.zeros(x.shape) if x.is_meta else x
    bundle = DataBundle(train=Split(cpu_x, y), test=Split(cpu_x[:1], y[:1]),
                        meta=DataMeta(name="toy", variant="toy", input_shape=tuple(x.shape[1:]), classes=("0", "1")))
    task = Classification(bundle, [TrainConfig(val_fraction=0.0)], torch.device("cpu"))
    task.x = task.x.to(x.device)  # where the loop would have put the data
    return NumpyStep(Single(model), opt, task, torch.ones(1), cfg)


def test_numpy_sgd_matches_torch_sgd():
    torch.manual_seed(0)
    model = create_model("numpy_mlp", input_shape=(2,), num_classes=2, depth=2, width=8, activation="tanh")
    twin = copy.deepcopy(model)
    x, y = torch.randn(40, 2), torch.randint(0, 2, (40,))
    cfg = TrainConfig(model="numpy_mlp", lr=0.1, momentum=0.9, weight_decay=1e-3)
    opt = build_optimizer(model.parameters(), cfg)  # the loop's optimizer: handed in, never stepped
    step = numpy_step(model, cfg, x, y, opt)
    assert isinstance(step, NumpyStep)
    twin_opt = torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3, foreach=False)
    batches = [torch.arange(0, 20), torch.arange(20, 40)]
    step.begin_period()
    expected_loss = 0.0
    for idx in batches:
        step(idx.view(1, -1))
        twin_opt.zero_grad()
        loss = F.cross_entropy(twin(x[idx]), y[idx])
        loss.backward()
        twin_opt.step()
        expected_loss += loss.item() * len(idx)
    for got, want in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    assert step.stats["loss"].item() == pytest.approx(expected_loss, rel=1e-5)
    # velocities live where torch's SGD keeps them, so checkpoints carry them; state() lists them
    bufs = [opt.state[p]["momentum_buffer"] for p in model.parameters()]
    for got, p in zip(bufs, twin.parameters()):
        torch.testing.assert_close(got, twin_opt.state[p]["momentum_buffer"], rtol=1e-5, atol=1e-6)
    assert all(any(b is t for t in step.state()) for b in bufs)


def toy_bundle(n=400, seed=0):
    """Two Gaussian blobs in the plane (linearly separable up to a little overlap)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randn(n, 2, generator=g) * 0.7 + (y.float() * 2 - 1).unsqueeze(1) * torch.tensor([1.0, 0.5])
    split = Split(x.float(), y.long())
    meta = DataMeta(name="toy", variant="toy", input_shape=(2,), classes=("0", "1"))
    cut = n * 3 // 4
    return DataBundle(train=split.take(torch.arange(cut)), test=split.take(torch.arange(cut, n)), meta=meta)


def train_numpy(bundle, **overrides):
    flat = {"model": "numpy_mlp", "width": 16, "lr": 0.1, "max_epochs": 4, "batch_size": 32,
            "weight_decay": 1e-4, "device": "cpu", **overrides}
    rows, states = [], []
    run_training([flat], bundle, lambda r, s: (rows.extend(r), states.append(s)))
    return flat, rows, states


def test_loop_trains_numpy_mlp_and_resumes_identically():
    bundle = toy_bundle()
    flat, rows, states = train_numpy(bundle)
    assert rows[-1][M.TRAIN_LOSS] < rows[0][M.TRAIN_LOSS] * 0.8
    assert rows[-1][M.TEST_ACC] > 0.8
    assert rows[0][M.PARAM_COUNT] == 2 * 16 + 16 + 16 * 2 + 2
    resumed = []
    run_training([flat], bundle, lambda r, s: resumed.extend(r), resume=states[1])
    assert [r[M.EPOCH] for r in resumed] == [3, 4]
    for got, want in zip(resumed, rows[2:]):  # momentum buffers came back with the checkpoint
        assert got[M.TRAIN_LOSS] == pytest.approx(want[M.TRAIN_LOSS], rel=1e-6)


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"optimizer": "adam"}, "numpy_mlp trains with sgd only, got optimizer 'adam'; allowed: sgd"),
        ({"precision": "bf16"}, "allowed: fp32"),
    ],
)
def test_numpy_mlp_bad_training_settings(overrides, fragment):
    with pytest.raises(ValueError) as info:
        train_numpy(toy_bundle(n=40), max_epochs=1, batch_size=8, **overrides)
    assert fragment in str(info.value)


def test_numpy_mlp_refuses_non_cpu_data():
    model = create_model("numpy_mlp", input_shape=(2,), num_classes=2)
    x = torch.zeros(4, 2).to("meta")  # stands in for CUDA, which CI does not have
    with pytest.raises(ValueError, match="CPU"):
        numpy_step(model, TrainConfig(model="numpy_mlp"), x, torch.tensor([0, 1, 0, 1]))


def test_numpy_mlp_bad_activation_lists_allowed():
    with pytest.raises(ValueError, match="allowed: relu, sigmoid, tanh"):
        create_model("numpy_mlp", activation="gelu")
