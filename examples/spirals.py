"""A lab's own dataset, outside the sweeplab package: two interleaved spirals in the plane, the
classic set a shallow MLP finds hard. Registering it under a name is all a sweep needs.

    load_dataset("spirals", n_points=600, turns=1.5, noise=0.05, seed=0)
"""
from __future__ import annotations

import math

import torch

from data_modules import DataBundle, DataMeta, Split, register_dataset
from data_modules.splits import stratified_split

TEST_FRACTION = 0.25


@register_dataset("spirals")
def load_spirals(n_points: int = 600, turns: float = 1.5, noise: float = 0.05, seed: int = 0,
                 data_dir=None, download: bool = True) -> DataBundle:
    """`n_points` float32 points on two spirals (class 0 and its half-turn rotation, class 1),
    75% train / 25% test; `data_dir` and `download` are part of every loader's signature."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n_points) % 2
    t = torch.rand(n_points, generator=g) * turns * 2 * math.pi
    radius = t / (turns * 2 * math.pi)
    angle = t + math.pi * y
    x = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    x = (x + noise * torch.randn(x.shape, generator=g)).float()
    train, test = stratified_split(y, TEST_FRACTION, seed)
    meta = DataMeta("spirals", f"spirals-{turns:g}turns", (2,), ("0", "1"),
                    notes=(f"{n_points} points on two spirals of {turns:g} turns, noise {noise:g}, seed {seed}",))
    return DataBundle(Split(x[train], y[train]), Split(x[test], y[test]), meta)
