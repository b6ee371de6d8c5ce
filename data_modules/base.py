"""In-memory dataset containers and the dataset registry.

Data modules return tensors plus metadata, never DataLoaders: the training loop moves the
tensors to the trial's device once and draws batches by index permutation there.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from models.errors import UserError
from models.registry import Registry


class DataError(UserError):
    """Missing, corrupt or unusable data; the message names the file or value at fault."""


class DataAbsent(DataError):
    """The data is not there at all (and could not be fetched); any other DataError means it is
    there but unusable, which the curriculum reports apart ("data unreadable")."""


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
    vocab: int = 0
    """Token ids lie below this (a text set's word vocabulary); 0 when the inputs are not a
    vocabulary's ids. A model that embeds the ids takes it as its `vocab` argument."""

    @property
    def model_args(self) -> dict[str, Any]:
        """What a model's constructor learns from the data (trainables.config.build_model)."""
        return model_args(self.input_shape, self.num_classes, self.vocab)

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


@dataclass(frozen=True)
class DataPeek:
    """What loading a dataset would give, found without loading it (file checks, a CSV's rows):
    for the catalogue's estimates and the curriculum's choice of sweeps."""

    variant: str
    n_train: int
    n_test: int
    input_shape: tuple[int, ...]
    num_classes: int
    tokens: bool = False
    """Inputs are integer token ids (else images or features, float on the device)."""
    n_val: int | None = None
    """The data's own validation partition (counted in n_train), or None: validation is carved
    from the training examples by val_fraction."""
    available: bool = True
    why: str = ""
    """Why the dataset cannot be loaded here, when it cannot."""
    unreadable: bool = False
    """Unavailable although it is there: its files are corrupt or not in the expected layout."""
    vocab: int = 0
    """As DataMeta.vocab."""

    @property
    def model_args(self) -> dict[str, Any]:
        return model_args(self.input_shape, self.num_classes, self.vocab)


def model_args(input_shape, num_classes: int, vocab: int = 0) -> dict[str, Any]:
    """The data facts a model is built from: input shape, output width, and a vocabulary's size
    where the inputs are its ids."""
    return {"input_shape": tuple(input_shape), "num_classes": num_classes, **({"vocab": vocab} if vocab else {})}


DATASETS: Registry[Callable[..., DataBundle]] = Registry("dataset")
PEEKS: Registry[Callable[..., DataPeek]] = Registry("dataset peek")  # sizes without loading, where known


OPTION_HELP: dict[str, dict[str, str]] = {}  # dataset -> loader option -> how it is chosen (a sweep's --help)


def register_dataset(name: str, peek: Callable[..., DataPeek] | None = None, option_help: dict[str, str] | None = None):
    """Decorator: make a loader loadable by name; `peek(**same kwargs)` answers without loading;
    `option_help` says, per loader option, what it does when set and when left out."""

    def wrap(loader):
        DATASETS.register(name, loader)
        if peek is not None:
            PEEKS.register(name, peek)
        if option_help:
            OPTION_HELP[name] = dict(option_help)
        return loader

    return wrap


def list_datasets() -> list[str]:
    return DATASETS.names()


def load_dataset(name: str, **kwargs) -> DataBundle:
    """Load a registered dataset by name (e.g. `load_dataset("mnist", data_dir=...)`)."""
    return DATASETS[name](**kwargs)


def peek_dataset(name: str, **kwargs) -> DataPeek:
    """The dataset's sizes and availability: its peek when it has one, else by loading it."""
    DATASETS[name]  # an unknown name: the one-line error listing the known ones
    if name in PEEKS:
        return PEEKS[name](**kwargs)
    try:
        bundle = load_dataset(name, **kwargs)
    except DataError as e:
        return DataPeek(name, 0, 0, (), 0, available=False, why=str(e), unreadable=not isinstance(e, DataAbsent))
    n_train = len(bundle.train) + (len(bundle.val) if bundle.val is not None else 0)
    return DataPeek(bundle.meta.variant, n_train, len(bundle.test), tuple(bundle.meta.input_shape),
                    bundle.meta.num_classes, tokens=not bundle.train.x.dtype.is_floating_point and bundle.train.x.dtype != torch.uint8,
                    n_val=len(bundle.val) if bundle.val is not None else None, vocab=bundle.meta.vocab)
