"""Deterministic stratified splits, class-balanced subsets and label shuffling.

Every function takes an explicit seed and uses its own generator, so the same seed gives
the same indices on every machine and in every trial.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from data_modules.base import DataBundle, DataError, DataPeek, Split

# Seed of the data partition (validation carve-out, subsets). Fixed and separate from the
# trial seed, so all trials of a sweep, whatever their seed, see the same examples.
DATA_SEED = 0


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def stratified_split(y: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Split indices into (rest, held_out) with `fraction` of every class held out."""
    g = _generator(seed)
    rest, held = [], []
    for c in torch.unique(y).tolist():
        idx = torch.nonzero(y == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        k = round(len(idx) * fraction)
        held.append(idx[:k])
        rest.append(idx[k:])
    return torch.cat(rest).sort().values, torch.cat(held).sort().values


def random_split(n: int, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Split indices 0..n-1 into (rest, held_out) with `fraction` held out (regression data)."""
    perm = torch.randperm(n, generator=_generator(seed))
    k = round(n * fraction)
    return perm[k:].sort().values, perm[:k].sort().values


def held_out(y: torch.Tensor, fraction: float, seed: int, classification: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(rest, held_out): stratified by class for classification, uniform for regression."""
    return stratified_split(y, fraction, seed) if classification else random_split(len(y), fraction, seed)


def subset(y: torch.Tensor, size: int, num_classes: int, seed: int, what: str, classification: bool) -> torch.Tensor:
    """A class-balanced subset for classification, a uniform random one for regression."""
    if classification:
        return balanced_subset(y, size, num_classes, seed, what)
    if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= len(y):
        raise DataError(f"{what} {size!r} is not allowed; allowed: 1..{len(y)}")
    return torch.randperm(len(y), generator=_generator(seed))[:size].sort().values


def balanced_subset(y: torch.Tensor, size: int, num_classes: int, seed: int, what: str = "train size") -> torch.Tensor:
    """Indices of `size` examples with exactly size/num_classes per class."""
    counts = torch.bincount(y, minlength=num_classes)
    limit = int(counts.min()) * num_classes
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0 or size % num_classes or size > limit:
        raise DataError(
            f"{what} {size!r} cannot be class-balanced: allowed are multiples of {num_classes} "
            f"from {num_classes} to {limit} (smallest class has {int(counts.min())} examples)"
        )
    g = _generator(seed)
    per_class = size // num_classes
    picks = []
    for c in range(num_classes):
        idx = torch.nonzero(y == c).flatten()
        picks.append(idx[torch.randperm(len(idx), generator=g)[:per_class]])
    return torch.cat(picks).sort().values


def shuffle_labels(y: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
    """Replace the labels of a random `fraction` of examples by a permutation of themselves
    (fraction 1.0 is the random-labels experiment: labels carry no information)."""
    if not 0.0 <= fraction <= 1.0:
        raise DataError(f"label_shuffle {fraction!r} is not allowed; use a fraction in [0, 1]")
    if fraction == 0:
        return y
    g = _generator(seed)
    chosen = torch.randperm(len(y), generator=g)[: round(len(y) * fraction)]
    y = y.clone()
    y[chosen] = y[chosen[torch.randperm(len(chosen), generator=g)]]
    return y


@dataclass(frozen=True)
class TrialData:
    """The three partitions one trial trains, validates and tests on."""

    train: Split
    val: Split
    test: Split


def trial_splits(
    bundle: DataBundle,
    val_fraction: float = 0.1,
    train_size: int | None = None,
    test_size: int | None = None,
    label_shuffle: float = 0.0,
    seed: int = 0,
) -> TrialData:
    """Carve validation from train, then optionally subset train/test (class-balanced) and
    shuffle train labels. Partitions depend on DATA_SEED only; label shuffling on `seed`."""
    if not 0.0 <= val_fraction < 1.0:
        raise DataError(f"val_fraction {val_fraction!r} is not allowed; use a fraction in [0, 1)")
    k, cls = bundle.meta.num_classes, bundle.meta.is_classification
    if bundle.val is not None:  # the data's own validation partition
        train, val = bundle.train, bundle.val
    else:
        rest, held = held_out(bundle.train.y, val_fraction, DATA_SEED, cls)
        train, val = bundle.train.take(rest), bundle.train.take(held)
    if train_size is not None:
        train = train.take(subset(train.y, train_size, k, DATA_SEED, "train size", cls))
    test = bundle.test
    if test_size is not None:
        test = test.take(subset(test.y, test_size, k, DATA_SEED, "test size", cls))
    if label_shuffle:
        train = Split(train.x, shuffle_labels(train.y, label_shuffle, seed))
    return TrialData(train, val, test)


def split_sizes(bundle: DataBundle, val_fraction: float, train_size: int | None, test_size: int | None) -> tuple[int, int, int]:
    """(train, val, test) example counts a trial will get, from the labels alone; raises
    DataError for subset sizes that cannot be class-balanced. Cheap enough to run per grid point."""
    k, cls = bundle.meta.num_classes, bundle.meta.is_classification
    if bundle.val is not None:
        train_y, n_val = bundle.train.y, len(bundle.val)
    else:
        rest, held = held_out(bundle.train.y, val_fraction, DATA_SEED, cls)
        train_y, n_val = bundle.train.y[rest], len(held)
    n_train = len(train_y)
    if train_size is not None:
        n_train = len(subset(train_y, train_size, k, DATA_SEED, "train size", cls))
    n_test = len(bundle.test)
    if test_size is not None:
        n_test = len(subset(bundle.test.y, test_size, k, DATA_SEED, "test size", cls))
    return n_train, n_val, n_test


def peek_split_sizes(peek: DataPeek, val_fraction: float, train_size: int | None,
                     test_size: int | None) -> tuple[int, int, int]:
    """split_sizes from a dataset's peek, without its labels (the catalogue's estimates): exact
    for the data's own validation partition and for subset sizes; a carved validation set is
    round(n x val_fraction), which per-class rounding can miss by a few examples."""
    n_val = peek.n_val if peek.n_val is not None else round(peek.n_train * val_fraction)
    n_train = train_size if train_size is not None else peek.n_train - n_val
    return n_train, n_val, test_size if test_size is not None else peek.n_test
