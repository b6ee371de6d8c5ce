"""An MLP trained by hand-written NumPy backprop: the classic NumPy-vs-PyTorch comparison.

The weights are ordinary torch Parameters (so state_dict, checkpoints and evaluation work as
for any model); only the training step differs: `training_step(opt, cfg, x, y)` returns a
NumpyStep whose update() runs forward, softmax cross-entropy, backward and SGD in NumPy on
views of the same memory. CPU only.

    create_model("numpy_mlp", input_shape=(2,), num_classes=2, depth=2, width=20, activation="tanh")
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn

from models.mlp import hidden_sizes
from models.registry import check_name, register_model
from trainables.optimizers import Optimizer  # these two import only torch: no cycle with trainables.config
from trainables.step import EagerStep


def _sigmoid(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp(-z) -> inf for very negative z gives the right limit 0
        return 1 / (1 + np.exp(-z))


# name -> (activation of the pre-activation z, its derivative written with the output a = f(z))
NUMPY_ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0), lambda a: (a > 0).astype(a.dtype)),
    "tanh": (np.tanh, lambda a: 1 - a * a),
    "sigmoid": (_sigmoid, lambda a: a * (1 - a)),
}
_TORCH_ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}


@dataclass
class Cache:
    """What the backward pass needs: the activation name and every layer's input."""

    activation: str
    inputs: list[np.ndarray]  # inputs[i] is the input of Linear i (inputs[0] is the batch)


def numpy_forward(params: Sequence[np.ndarray], x: np.ndarray, activation: str = "relu") -> tuple[Cache, np.ndarray]:
    """Forward pass. `params` is [W0, b0, W1, b1, ...] with W (out, in) as in nn.Linear; x (N, in).
    Returns the cache for numpy_backward and the softmax probabilities (N, classes)."""
    act = NUMPY_ACTIVATIONS[activation][0]
    h = x.reshape(len(x), -1)
    inputs = []
    n_layers = len(params) // 2
    for i in range(n_layers):
        inputs.append(h)
        z = h @ params[2 * i].T + params[2 * i + 1]
        h = act(z) if i < n_layers - 1 else z
    z = h - h.max(axis=1, keepdims=True)  # stable softmax
    e = np.exp(z)
    return Cache(activation, inputs), e / e.sum(axis=1, keepdims=True)


def cross_entropy(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean softmax cross-entropy of the probabilities at the labels."""
    return float(-np.log(np.maximum(probs[np.arange(len(y)), y], np.finfo(probs.dtype).tiny)).mean())


def numpy_backward(params: Sequence[np.ndarray], cache: Cache, probs: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Gradients of the mean cross-entropy, in the order of `params` ([dW0, db0, dW1, db1, ...])."""
    d_act = NUMPY_ACTIVATIONS[cache.activation][1]
    n = len(y)
    delta = probs.copy()
    delta[np.arange(n), y] -= 1
    delta /= n  # d loss / d logits
    grads: list[np.ndarray] = [None] * len(params)  # type: ignore[list-item]
    for i in reversed(range(len(params) // 2)):
        h = cache.inputs[i]
        grads[2 * i] = delta.T @ h
        grads[2 * i + 1] = delta.sum(axis=0)
        if i > 0:  # h is the previous layer's activation output
            delta = (delta @ params[2 * i]) * d_act(h)
    return grads


@register_model("numpy_mlp")
class NumpyMLP(nn.Module):
    """Flatten -> [Linear -> activation] x depth -> Linear, trained by NumPy backprop with SGD.

    Defaults (1 hidden layer of 20 ReLU units) suit the 2-D toy sets. Weights start as
    nn.Linear's do. Evaluation and checkpoints use the torch forward and state_dict.
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (2,),
        num_classes: int = 2,
        depth: int = 1,
        width: int | Sequence[int] = 20,
        activation: str = "relu",
    ):
        super().__init__()
        self.activation = check_name("activation", activation, NUMPY_ACTIVATIONS)
        fan_in = math.prod(input_shape)
        layers = []
        for size in hidden_sizes(depth, width):
            layers.append(nn.Linear(fan_in, size))
            fan_in = size
        layers.append(nn.Linear(fan_in, num_classes))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = _TORCH_ACTIVATIONS[self.activation]
        h = x.flatten(1)
        for layer in self.layers[:-1]:
            h = act(layer(h))
        return self.layers[-1](h)

    @staticmethod
    def check_train_config(cfg) -> None:
        """Refuse, before any trial starts, what NumPy training cannot do."""
        if cfg.device != "cpu":
            raise ValueError(f"numpy_mlp trains with NumPy on the CPU, got device {cfg.device!r}; allowed: cpu")
        _check_optimizer(cfg)

    def training_step(self, engine, opt, objective, active, cfg):
        """The loop's hook: a NumpyStep over the objective's resident training data. `opt` (the
        loop's optimizer) is not stepped; see NumpyStep. Raises ValueError off the CPU, for an
        optimizer other than sgd, or for a precision other than fp32."""
        return NumpyStep(engine, opt, objective, active, cfg)


def _check_trainable(model: NumpyMLP, cfg, x: torch.Tensor) -> None:
    if x.device.type != "cpu" or any(p.device.type != "cpu" for p in model.parameters()):
        raise ValueError(f"numpy_mlp trains with NumPy on the CPU; got data on {x.device.type!r}: set device='cpu'")
    _check_optimizer(cfg)


def _check_optimizer(cfg) -> None:
    if cfg.optimizer != "sgd":
        raise ValueError(f"numpy_mlp trains with sgd only, got optimizer {cfg.optimizer!r}; allowed: sgd")
    if getattr(cfg, "precision", "fp32") != "fp32":
        raise ValueError(f"numpy_mlp trains in float32 only, got precision {cfg.precision!r}; allowed: fp32")


class NumpyStep(EagerStep):
    """step(idx): gather the batch, NumPy forward / backward, SGD in place on the parameters'
    memory; loss and correct predictions accumulate in the same stats as the loop's own step.

    SGD follows torch.optim.SGD (dampening 0, no Nesterov): g += weight_decay * p (weights and
    biases), buf = momentum * buf + g (buf = g on the first step), p -= lr * buf. The loop's
    optimizer `opt` is never stepped; its state only stores the momentum buffers (key
    "momentum_buffer", as torch's SGD would), so checkpoints carry them and a resumed run
    continues exactly. A NumPy MLP trains alone (a population of one), on the CPU.
    """

    def __init__(self, engine, opt: Optimizer, objective, active: torch.Tensor, cfg):
        model = engine.model
        _check_trainable(model, cfg, objective.x)
        super().__init__(engine, opt, objective, active)
        self.model = model
        self.lr, self.momentum, self.weight_decay = float(cfg.lr), float(cfg.momentum), float(cfg.weight_decay)
        self.params = list(model.parameters())
        self.arrays = [p.detach().numpy() for p in self.params]  # views: updating them updates the weights
        self.x_np, self.y_np = objective.x.numpy(), objective.y[0].numpy()

    def zero_grad(self) -> None:  # NumPy gradients are fresh arrays every step
        pass

    def update(self, idx: torch.Tensor) -> None:
        rows = idx[0].numpy()
        xb = np.asarray(self.x_np[rows], dtype=np.float32)
        yb = self.y_np[rows]
        cache, probs = numpy_forward(self.arrays, xb, self.model.activation)
        self.sgd(numpy_backward(self.arrays, cache, probs, yb))
        self.stats["loss"] += cross_entropy(probs, yb) * len(rows)
        self.stats["acc"] += int((probs.argmax(1) == yb).sum())

    def sgd(self, grads: list[np.ndarray]) -> None:
        """One in-place SGD update of every parameter from its NumPy gradient."""
        for p, w, g in zip(self.params, self.arrays, grads):
            if self.weight_decay:
                g = g + self.weight_decay * w
            if self.momentum:
                slots = self.opt.state[p]
                if "momentum_buffer" in slots:
                    buf = slots["momentum_buffer"].numpy()
                    buf *= self.momentum
                    buf += g
                else:
                    slots["momentum_buffer"] = torch.from_numpy(g.copy())
                g = slots["momentum_buffer"].numpy()
            w -= self.lr * g
