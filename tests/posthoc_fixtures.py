"""Small models with closed forms, shared by the tests of analysis.maths."""
from __future__ import annotations

import torch
import torch.nn as nn

from models import create_model


def linear_softmax(features: int = 12, classes: int = 4, seed: int = 0, dtype=torch.float64) -> nn.Sequential:
    """Flatten -> Linear: softmax regression, whose input gradients and Jacobians are known."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(features, classes)).to(dtype)


def small_tanh_mlp(seed: int = 0) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A 6-16-16-4 tanh MLP (452 parameters) at random weights with 300 random examples: an
    indefinite Hessian with no exact-zero eigenvalues, small enough for a dense one."""
    torch.manual_seed(seed)
    model = create_model("mlp", input_shape=(6,), num_classes=4, depth=2, width=16, activation="tanh")
    return model, torch.randn(300, 6), torch.randint(0, 4, (300,))


class TinyBatchNormNet(nn.Module):
    """conv -> BatchNorm -> ReLU -> max-pool -> linear on 1x8x8 images: BatchNorm buffers
    (running statistics and the integer num_batches_tracked) in a model small enough for tests."""

    def __init__(self, classes: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Linear(4 * 3 * 3, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.max_pool2d(torch.relu(self.bn(self.conv(x))), 2).flatten(1))


def trained_batchnorm_net(seed: int, batches: int = 3) -> TinyBatchNormNet:
    """A TinyBatchNormNet whose running statistics moved (forward passes in train mode)."""
    torch.manual_seed(seed)
    model = TinyBatchNormNet()
    for _ in range(batches):
        model(torch.rand(16, 1, 8, 8) * (seed + 1))
    return model.eval()
