"""Convolutional classifiers: the classic two-convolution CNN and a VGG-11-style network.

    create_model("cnn", input_shape=(3, 32, 32), num_classes=10, dropout=0.5)
    create_model("vgg", input_shape=(3, 32, 32), num_classes=10)
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import torch
import torch.nn as nn

from models.registry import check_name, register_model

# dropout_on -> the FC layers whose inputs drop out (first: the flattened maps; second: the hidden units)
DROPOUT_PLACES = {"both": ("first", "second"), "second": ("second",)}


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _dropout(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {value!r}")
    return float(value)


def _image_shape(model: str, input_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape):
        raise ValueError(f"{model} needs an image input_shape (channels, height, width), got {shape!r}")
    return shape  # type: ignore[return-value]


def conv_out(size: int, kernel: int) -> int:
    """Side of a valid (unpadded, stride 1) convolution's output."""
    return size - kernel + 1


@register_model("cnn")
class CNN(nn.Module):
    """C1 (c1 filters 9x9, valid) - [BatchNorm] - ReLU - S1 max-pool 2x2/2 - C2 (c2 filters 5x5,
    valid) - [BatchNorm] - ReLU - S2 max-pool 2x2/2 - dropout - FC fc - ReLU - dropout - FC.

    Defaults (50, 60, 300) are the classic CIFAR/MNIST CNN assignment's; its dropout comparison
    uses dropout=0.5. Any image at least 20x20 works: 32x32 -> 24 -> 12 -> 8 -> 4 and
    28x28 -> 20 -> 10 -> 6 -> 3. `feature_maps(x)` returns the maps after each stage.
    """

    K1, K2 = 9, 5  # kernel sides of C1 and C2

    def __init__(
        self,
        input_shape: Sequence[int] = (1, 28, 28),
        num_classes: int = 10,
        c1: int = 50,
        c2: int = 60,
        fc: int = 300,
        dropout: float = 0.0,
        batch_norm: bool = False,
        dropout_on: str = "both",
    ):
        super().__init__()
        channels, height, width = _image_shape("cnn", input_shape)
        check_name("dropout_on", dropout_on, DROPOUT_PLACES)
        if not isinstance(batch_norm, bool):
            raise ValueError(f"batch_norm must be true or false, got {batch_norm!r}")
        c1, c2, fc = _positive_int("c1", c1), _positive_int("c2", c2), _positive_int("fc", fc)
        num_classes = _positive_int("num_classes", num_classes)
        dropout = _dropout(dropout)
        side = [self._s2_side(s) for s in (height, width)]
        if min(side) < 1:
            raise ValueError(
                f"cnn input_shape {tuple(input_shape)!r} is too small: height and width must be >= 20 "
                f"(9x9 conv, 2x2 pool, 5x5 conv, 2x2 pool must leave at least 1x1)"
            )
        def norm(name: str, c: int) -> list[tuple[str, nn.Module]]:
            return [(name, nn.BatchNorm2d(c))] if batch_norm else []

        self.features = nn.Sequential(OrderedDict([
            ("C1", nn.Conv2d(channels, c1, self.K1)), *norm("bn1", c1),
            ("relu1", nn.ReLU()),
            ("S1", nn.MaxPool2d(2, 2)),
            ("C2", nn.Conv2d(c1, c2, self.K2)), *norm("bn2", c2),
            ("relu2", nn.ReLU()),
            ("S2", nn.MaxPool2d(2, 2)),
        ]))
        # Dropout modules even at rate 0 (identities then): one structure for every rate, so
        # members with different rates stack into one population (trainables.engines).
        first, second = (dropout if place in DROPOUT_PLACES[dropout_on] else 0.0 for place in ("first", "second"))
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(first), nn.Linear(c2 * side[0] * side[1], fc), nn.ReLU(),
            nn.Dropout(second), nn.Linear(fc, num_classes),
        )

    @classmethod
    def _s2_side(cls, size: int) -> int:
        """Side of the S2 map for an input side `size` (< 1: the input is too small)."""
        c1 = conv_out(size, cls.K1)
        if c1 < 2:
            return 0
        c2 = conv_out(c1 // 2, cls.K2)
        return c2 // 2 if c2 >= 2 else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def feature_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Maps after each stage for a batch x (N, C, H, W): "C1" and "C2" are taken after their
        ReLU (the rectified maps), "S1" and "S2" after the pools. Call under torch.no_grad()
        for visualisation; for (3, 32, 32) the shapes are C1 (N, c1, 24, 24), S1 (N, c1, 12, 12),
        C2 (N, c2, 8, 8), S2 (N, c2, 4, 4)."""
        maps: dict[str, torch.Tensor] = {}
        for name, layer in self.features.named_children():
            x = layer(x)
            if name.startswith("relu"):
                maps["C" + name[-1]] = x
            elif name.startswith("S"):
                maps[name] = x
        return maps


# VGG-11 ("A" in Simonyan & Zisserman): 8 convolutions; "M" is a 2x2/2 max-pool.
VGG11_LAYOUT: tuple[int | str, ...] = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


@register_model("vgg")
class VGG(nn.Module):
    """VGG-11 with BatchNorm: 8 x [3x3 conv (padding 1, no bias: BatchNorm's shift replaces it) -
    BatchNorm - ReLU] with 5 max-pools, then global average pool - [dropout] - Linear.

    For 32x32 inputs the last pool leaves 1x1x512 and the average pool is the identity (the
    classic CIFAR VGG). Smaller or odd inputs work too: the pools round up (ceil_mode, so
    28 -> 14 -> 7 -> 4 -> 2 -> 1) and the adaptive average pool reduces whatever is left to
    1x1, so the classifier is always Linear(512, num_classes). BatchNorm in training mode
    needs more than one value per channel: train with batches of at least 2.
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (3, 32, 32),
        num_classes: int = 10,
        dropout: float = 0.0,
    ):
        super().__init__()
        channels, _, _ = _image_shape("vgg", input_shape)
        num_classes = _positive_int("num_classes", num_classes)
        dropout = _dropout(dropout)
        layers: list[nn.Module] = []
        for item in VGG11_LAYOUT:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
            else:
                layers += [nn.Conv2d(channels, item, 3, padding=1, bias=False), nn.BatchNorm2d(item), nn.ReLU()]
                channels = item
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
