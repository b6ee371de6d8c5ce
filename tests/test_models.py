"""Registry-parametrised model tests: shape, gradients, no NaN, parameter counts, bad names."""
import pytest
import torch

from models import UnknownNameError, create_model, list_models, param_count
from models.mlp import ACTIVATIONS

# Models over token ids instead of images: their arguments and an example batch.
TOKEN_MODELS = {"rnn_classifier": {"input_shape": (12,), "vocab_size": 30}}
# Sequence models: (arguments, example input (5, ...) with ids below `high`, output shape per example).
SEQUENCE_MODELS = {
    "digit_rnn": ({"input_shape": (9,), "cell": "lstm", "hidden": 16}, (9,), 10, (10,)),
    "char_rnn": ({"input_shape": (7,), "hidden": 16}, (7,), 10, (7, 10)),
    "mlp_lstm": ({"input_shape": (7,), "state": 8, "units": 6, "gate_layers": 2}, (7,), 10, (7, 10)),
    "torch_lstm": ({"input_shape": (7,), "hidden": 16}, (7,), 10, (7, 10)),
    "torch_gru": ({"input_shape": (7,), "hidden": 16}, (7,), 10, (7, 10)),
    "text_cnn": ({"input_shape": (2, 100), "tokens": "char"}, (2, 100), 256, (10,)),
    "text_rnn": ({"input_shape": (2, 30), "tokens": "word", "hidden": 8, "vocab": 300}, (2, 30), 256, (10,)),
}


def example(name: str, n: int = 5):
    """(model, input batch, output shape) for any registered model."""
    if name in SEQUENCE_MODELS:
        kwargs, shape, high, out = SEQUENCE_MODELS[name]
        return create_model(name, num_classes=10, **kwargs), torch.randint(0, high, (n, *shape)), (n, *out)
    if name in TOKEN_MODELS:
        kwargs = TOKEN_MODELS[name]
        x = torch.randint(0, kwargs["vocab_size"], (n, *kwargs["input_shape"]))
        return create_model(name, num_classes=10, **kwargs), x, (n, 10)
    return create_model(name, input_shape=(1, 28, 28), num_classes=10), torch.randn(n, 1, 28, 28), (n, 10)


@pytest.mark.parametrize("name", list_models())
def test_every_model_forward_and_backward(name):
    model, x, shape = example(name)
    out = model(x)
    assert out.shape == shape
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


def test_dropout_rate_zero_unless_asked_and_one_structure_for_every_rate():
    with_dropout = create_model("mlp", dropout=0.5)
    without = create_model("mlp")
    assert {m.p for m in with_dropout.modules() if isinstance(m, torch.nn.Dropout)} == {0.5}
    assert {m.p for m in without.modules() if isinstance(m, torch.nn.Dropout)} == {0.0}
    assert with_dropout.state_dict().keys() == without.state_dict().keys()  # members of any rate stack
    without.train()
    x = torch.randn(3, 1, 28, 28)
    assert torch.equal(without(x), without.eval()(x))  # rate 0 is the identity in training too


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


@pytest.mark.parametrize("kwargs", [{"model": "text_cnn", "tokens": "char"}, {"model": "text_cnn", "tokens": "word"},
                                    {"model": "text_rnn", "tokens": "char"}, {"model": "text_rnn", "tokens": "word"},
                                    {"model": "text_rnn", "tokens": "word", "cell": "lstm", "layers": 2}])
def test_tf_initialisers_of_the_text_models(kwargs):
    """init="tf": TensorFlow 1.x's Glorot bounds (as TF counts a conv2d kernel's fans), zero biases
    but the gates TF starts at 1, the same parameter shapes as PyTorch's defaults."""
    name = kwargs.pop("model")
    torch.manual_seed(0)
    kwargs["vocab"] = 50_000  # the course's word vocabulary (data_modules.text_csv.WORD_VOCAB)
    ours = create_model(name, input_shape=(2, 100), num_classes=15, **kwargs)
    tf = create_model(name, input_shape=(2, 100), num_classes=15, init="tf", **kwargs)
    assert [p.shape for p in ours.parameters()] == [p.shape for p in tf.parameters()]
    weights = dict(tf.named_parameters())
    if name == "text_cnn":
        first = weights["c1_taps.weight"] if kwargs["tokens"] == "char" else weights["embed.weight"]
        fans = (20 * 256, 20 * 256 * 10) if kwargs["tokens"] == "char" else (50_000, 20)
        assert 0.9 * (6 / sum(fans)) ** 0.5 < first.abs().max() <= (6 / sum(fans)) ** 0.5
        assert all(p.eq(0).all() for n, p in weights.items() if n.endswith("bias"))
    else:
        hidden, layers = 20, kwargs.get("layers", 1)
        gate_biases = weights["input_bias"] if kwargs["tokens"] == "char" else weights["embed.1.bias"]
        expected = [1.0] * 2 * hidden + [0.0] * hidden if kwargs.get("cell", "gru") == "gru" else \
            [0.0] * hidden + [1.0] * hidden + [0.0] * 2 * hidden  # LSTM: i, f, g, o
        assert gate_biases.tolist() == expected
        assert all(weights[f"layers.{i}.hh.bias"].eq(0).all() for i in range(layers))
        if kwargs["tokens"] == "word":
            assert weights["embed.0.weight"].abs().max() <= (6 / 50_020) ** 0.5
    x = torch.randint(0, 256, (4, 2, 100))
    tf(x).sum().backward()
    assert all(p.grad is not None for p in tf.parameters())
    with pytest.raises(UnknownNameError, match="unknown init 'keras'; allowed: tf, torch"):
        create_model(name, input_shape=(2, 100), num_classes=15, init="keras", **kwargs)
