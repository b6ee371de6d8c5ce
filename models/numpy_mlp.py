"""An MLP trained by hand-written NumPy backprop: the classic NumPy-vs-PyTorch comparison.

The weights are ordinary torch Parameters (so state_dict, checkpoints and evaluation work as
for any model); only the training step differs: the loop trains this model with
trainables.numpy_step.NumpyStep, whose update() runs `numpy_forward`, softmax cross-entropy,
`numpy_backward` and SGD in NumPy on views of the same memory. CPU only.

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
