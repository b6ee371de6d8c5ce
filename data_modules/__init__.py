"""Datasets as in-memory tensors plus metadata, loaded once per sweep: `load_dataset("mnist")`."""
from data_modules import mnist  # noqa: F401  (registers the datasets)
from data_modules.base import DataBundle, DataError, DataMeta, Split, list_datasets, load_dataset
from data_modules.splits import TrialData, balanced_subset, shuffle_labels, split_sizes, stratified_split, trial_splits

__all__ = [
    "DataBundle", "DataError", "DataMeta", "Split", "TrialData", "balanced_subset", "list_datasets",
    "load_dataset", "shuffle_labels", "split_sizes", "stratified_split", "trial_splits",
]
