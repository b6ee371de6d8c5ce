"""Shared by the post-hoc benchmarks: the default MNIST model (2 x 400 ReLU MLP) briefly trained
with plain torch on the 5,000-image MNIST sample, wrapped to take [0, 1] pixels."""
from __future__ import annotations

import os
import time

import torch
import torch.nn.functional as F

os.environ.setdefault("SWEEPLAB_OFFLINE", "1")

from analysis.maths.batching import loss_and_accuracy  # noqa: E402
from analysis.maths.pixel_models import PixelInputModel, pixel_images, pixel_model  # noqa: E402
from data_modules.base import DataBundle  # noqa: E402
from data_modules.mnist import mnist_sample  # noqa: E402
from models import create_model  # noqa: E402


def trained_mnist_mlp(epochs: int = 3, device: str = "cpu", seed: int = 0) -> tuple[PixelInputModel, DataBundle]:
    """The README's MNIST defaults (SGD lr 0.01, momentum 0.8, batch 64) for `epochs` epochs."""
    bundle = mnist_sample()
    torch.manual_seed(seed)
    model = pixel_model(create_model("mlp"), bundle.meta).to(device)
    x, y = pixel_images(bundle.train, device), bundle.train.y.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.8)
    start = time.perf_counter()
    for _ in range(epochs):
        for batch in torch.randperm(len(y), device=device).split(64):
            opt.zero_grad()
            F.cross_entropy(model(x[batch]), y[batch]).backward()
            opt.step()
    model.eval()
    test_loss, test_accuracy = loss_and_accuracy(model, pixel_images(bundle.test, device), bundle.test.y.to(device))
    print(f"model: 2 x 400 MLP, {epochs} epochs on {len(y)} {bundle.meta.variant} images in "
          f"{time.perf_counter() - start:.1f} s; test loss {test_loss:.3f}, accuracy {test_accuracy:.3f}")
    return model, bundle
