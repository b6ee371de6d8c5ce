"""A lab's own model, outside the sweeplab package: an MLP of residual blocks. Registered by
name, it is swept, fused, checkpointed and rebuilt by the post-hoc commands like a built-in.

    create_model("residual_mlp", input_shape=(2,), num_classes=2, width=32, blocks=2)
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn

from models import register_model


@register_model("residual_mlp")
class ResidualMLP(nn.Module):
    """Linear -> [x + Linear(ReLU(Linear(x)))] x blocks -> Linear."""

    def __init__(self, input_shape: Sequence[int] = (2,), num_classes: int = 2, width: int = 32, blocks: int = 2):
        super().__init__()
        self.stem = nn.Linear(math.prod(input_shape), width)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width)) for _ in range(blocks))
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x.flatten(1))
        for block in self.blocks:
            h = h + block(h)
        return self.head(torch.relu(h))
