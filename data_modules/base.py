"""In-memory dataset containers and the dataset registry.

Data modules return tensors plus metadata, never DataLoaders: the training loop moves the
tensors to the trial's device once and draws batches by index permutation there.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from models.registry import check_name


class DataError(ValueError):
    """Missing, corrupt or unusable data; the message names the file or value at fault."""


@dataclass(frozen=True)
class Split:
    """One partition: `x` raw uint8 images (N, C, H, W) or float features, `y` int64 labels."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    def take(self, index: torch.Tensor) -> "Split":
        return Split(self.x[index], self.y[index])


@dataclass(frozen=True)
class DataMeta:
    """What a model and a results table need to know about the data."""

    name: str  # dataset family, e.g. "mnist"
    variant: str  # exact data used, e.g. "mnist" or "mnist-sample-5k"; goes into every result row
    input_shape: tuple[int, ...]
    classes: tuple[str, ...]
    # Per-channel normalisation applied on the device after scaling uint8 to [0, 1].
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    notes: tuple[str, ...] = field(default=())
    outputs: int = 0
    """Regression data (no classes): the target's width, which is the model's output width."""
    warnings: tuple[str, ...] = field(default=())
    """What the user should know about how the data was found (e.g. a fallback); printed by the
    runner once the configuration is known to be valid, so an error stays one line."""

    @property
    def num_classes(self) -> int:
        """Output width of a model for this data: the classes, or the regression target's width."""
        return len(self.classes) or self.outputs

    @property
    def is_classification(self) -> bool:
        return bool(self.classes)


@dataclass(frozen=True)
class DataBundle:
    """A dataset as loaded once by the driver and shared with trials via the Ray object store.
    `val` is set when the data comes with its own validation partition (else carved from train)."""

    train: Split
    test: Split
    meta: DataMeta
    val: Split | None = None

    def class_counts(self) -> list[int]:
        return torch.bincount(self.train.y, minlength=self.meta.num_classes).tolist()


_DATASETS: dict[str, Callable[..., DataBundle]] = {}


def register_dataset(name: str):
    def wrap(loader):
        _DATASETS[name] = loader
        return loader

    return wrap


def list_datasets() -> list[str]:
    return sorted(_DATASETS)


def load_dataset(name: str, **kwargs) -> DataBundle:
    """Load a registered dataset by name (e.g. `load_dataset("mnist", data_dir=...)`)."""
    return _DATASETS[check_name("dataset", name, _DATASETS)](**kwargs)
