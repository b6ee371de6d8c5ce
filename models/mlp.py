"""Multilayer perceptron over flattened inputs: the model of the MNIST/CIFAR MLP studies."""
from __future__ import annotations

import math
from typing import Sequence

import torch.nn as nn

from models.registry import check_name, register_model

# Activation names a config may use; "linear" is the identity (a deep linear network).
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "linear": nn.Identity,
}


def hidden_sizes(depth: int, width: int | Sequence[int]) -> list[int]:
    """Expand `width` (one int for every layer, or one per layer) into `depth` layer sizes."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"depth must be an integer >= 0, got {depth!r}")
    if isinstance(width, str):  # not a list of its characters
        raise ValueError(f"width must be a positive integer (or a list of them), got {width!r}")
    sizes = [width] * depth if isinstance(width, int) and not isinstance(width, bool) else list(width)
    if len(sizes) != depth:
        raise ValueError(f"width {list(sizes)} lists {len(sizes)} layer sizes but depth is {depth}")
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, int) or s <= 0:
            raise ValueError(f"width must be a positive integer (or a list of them), got {width!r}")
    return sizes


@register_model("mlp")
class MLP(nn.Module):
    """Flatten -> [Linear -> activation -> dropout] x depth -> Linear to the classes.

    Defaults are the classic MNIST setting: 2 hidden layers of 400 ReLU units.
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (1, 28, 28),
        num_classes: int = 10,
        depth: int = 2,
        width: int | Sequence[int] = 400,
        activation: str = "relu",
        dropout: float = 0.0,
    ):
        super().__init__()
        act = ACTIVATIONS[check_name("activation", activation, ACTIVATIONS)]
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        layers: list[nn.Module] = [nn.Flatten()]
        fan_in = math.prod(input_shape)
        for size in hidden_sizes(depth, width):
            # Dropout even at rate 0 (an identity then): every MLP of one shape has one structure,
            # so members with different rates stack into one population (trainables.engines).
            layers += [nn.Linear(fan_in, size), act(), nn.Dropout(dropout)]
            fan_in = size
        layers.append(nn.Linear(fan_in, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)
