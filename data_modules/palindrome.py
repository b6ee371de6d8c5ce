"""Palindromes of decimal digits: the memory test of the University of Amsterdam deep-learning
practical (vanilla RNN vs LSTM). Training batches are generated fresh on the trial's device
every step (trainables.sequence_objectives.Palindrome); this module holds the generator and the
fixed held-out sets.

    load_dataset("palindrome", length=10)   # validation 2,000 and test 10,000 fixed palindromes

A palindrome of length L is ceil(L/2) random digits followed by their mirror; the input is its
first L - 1 digits and the target its last, which equals its first: the model must carry the
first digit through L - 2 steps.
"""
from __future__ import annotations

from numbers import Integral

import torch

from data_modules.base import DataBundle, DataError, DataMeta, DataPeek, Split, register_dataset

DIGITS = 10
TEST_SIZE = 10_000  # the held-out set's size (the source measured accuracy on training batches)
VAL_SIZE = 2_000
TRAIN_SIZE = 2_000  # a fixed sample the loop can evaluate at step 0; training draws fresh batches
MAX_LENGTH = 1_000
# Seeds of the fixed sets, far from trial seeds (0, 1, 2 ...) so no training batch repeats them.
SET_SEEDS = {"train": 1_000_001, "val": 1_000_002, "test": 1_000_003}


def mirror(halves: torch.Tensor, length: int) -> torch.Tensor:
    """(..., ceil(L/2)) digits -> (..., L) palindromes: the digits, then their mirror (the
    middle digit once when L is odd)."""
    return torch.cat([halves, halves[..., : length // 2].flip(-1)], -1)


def split_palindromes(full: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(..., L) palindromes -> inputs (..., L - 1) and targets (...): the last digit."""
    return full[..., :-1], full[..., -1]


def random_halves(generator: torch.Generator, n: int, length: int, device="cpu") -> torch.Tensor:
    """(n, ceil(L/2)) uniform random digits drawn from `generator`."""
    return torch.randint(0, DIGITS, (n, -(-length // 2)), generator=generator, device=device)


def palindromes(n: int, length: int, seed: int) -> Split:
    """n seeded palindromes as a Split: inputs (n, L - 1) int64 digits, targets (n,)."""
    x, y = split_palindromes(mirror(random_halves(torch.Generator().manual_seed(seed), n, length), length))
    return Split(x.contiguous(), y.contiguous())


def _check(length) -> None:
    if isinstance(length, bool) or not isinstance(length, Integral) or not 2 <= length <= MAX_LENGTH:
        raise DataError(f"palindrome length {length!r} is not allowed; use an integer from 2 to {MAX_LENGTH}")


def peek_palindrome(length: int = 10, data_dir=None, download: bool = True) -> DataPeek:
    _check(length)
    return DataPeek(f"palindrome-{length}", TRAIN_SIZE + VAL_SIZE, TEST_SIZE, (length - 1,), DIGITS, tokens=True,
                    n_val=VAL_SIZE)


@register_dataset("palindrome", peek=peek_palindrome)
def load_palindrome(length: int = 10, data_dir=None, download: bool = True) -> DataBundle:
    """Fixed train (for the step-0 row), validation and test palindromes of `length` digits;
    `data_dir` and `download` are accepted for a uniform signature (the data is computed)."""
    _check(length)
    sets = {k: palindromes(n, int(length), SET_SEEDS[k]) for k, n in
            (("train", TRAIN_SIZE), ("val", VAL_SIZE), ("test", TEST_SIZE))}
    meta = DataMeta("palindrome", f"palindrome-{length}", (int(length) - 1,), tuple(str(d) for d in range(DIGITS)),
                    notes=(f"training batches generated every step; fixed held-out set of {TEST_SIZE:,}",))
    return DataBundle(sets["train"], sets["test"], meta, val=sets["val"])
