"""Datasets as in-memory tensors plus metadata, loaded once per sweep: `load_dataset("mnist")`."""
from data_modules.base import (
    DATASETS,
    DataAbsent,
    DataBundle,
    DataError,
    DataMeta,
    DataPeek,
    Split,
    list_datasets,
    load_dataset,
    peek_dataset,
    register_dataset,
)
from data_modules.cifar10 import write_cifar_dir
from data_modules.mnist import write_mnist_dir
from data_modules.splits import (
    TrialData,
    balanced_subset,
    peek_split_sizes,
    shuffle_labels,
    split_sizes,
    stratified_split,
    trial_splits,
)
from models.registry import import_submodules

import_submodules(__name__, __path__)  # each data module registers its datasets

__all__ = [
    "DATASETS", "register_dataset", "DataAbsent", "DataBundle", "DataError", "DataMeta", "DataPeek", "Split", "peek_dataset", "TrialData", "balanced_subset", "list_datasets",
    "load_dataset", "peek_split_sizes", "shuffle_labels", "split_sizes", "stratified_split", "trial_splits",
    "write_cifar_dir", "write_mnist_dir",
]
