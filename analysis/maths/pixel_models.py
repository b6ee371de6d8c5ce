"""Models that take images in [0, 1] pixel units, so attack budgets (eps) are in pixel units and
adversarial images are clamped to the valid range; the dataset normalisation moves inside.

    wrapped = pixel_model(rebuild_model(state), bundle.meta)
    x = pixel_images(bundle.test)          # uint8 (N, C, H, W) -> float in [0, 1]
    wrapped(x) == model((x - mean) / std)  # what the training loop fed the model
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from data_modules.base import DataMeta, Split


class PixelInputModel(nn.Module):
    """`model((x - mean) / std)` with per-channel mean and std held as buffers (they follow
    `.to(device)`); x is (N, C, ...) in [0, 1]."""

    def __init__(self, model: nn.Module, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)  # broadcast over channels, as the training loop does
        return self.model((x - self.mean.view(shape)) / self.std.view(shape))


def pixel_model(model: nn.Module, meta: DataMeta) -> PixelInputModel:
    """Wrap a trained model with the normalisation of the data it was trained on."""
    return PixelInputModel(model, meta.mean, meta.std)


def pixel_images(split: Split, device: torch.device | str | None = None) -> torch.Tensor:
    """A split's inputs as floats: uint8 images scaled to [0, 1]; float features unchanged
    (the training loop does not normalise them either)."""
    x = split.x.to(device) if device is not None else split.x
    return x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
