"""One-dimensional functions y = f(x) sampled on an interval: the data of the deep-vs-shallow
function-fitting and minimal-ratio studies (regression: float targets, MSE).

    load_dataset("function", kind="sin5pi")     # 40,000 points on [-2, 2], 80% train / 20% test

kind      f(x)
cubic     x^3
sin5pi    sin(5 pi x)
sinc5pi   sin(5 pi x) / (5 pi x), 1 at x = 0
The points are evenly spaced (the source's 40,000 on [-2, 2]); the train/test split is random
by `seed`, and trials carve their validation set from train.
"""
from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Callable

import torch

from data_modules.base import DataBundle, DataError, DataMeta, DataPeek, Split, register_dataset
from data_modules.splits import random_split
from models.registry import UnknownNameError, check_name

FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "cubic": lambda x: x**3,
    "sin5pi": lambda x: torch.sin(5 * math.pi * x),
    "sinc5pi": lambda x: torch.sinc(5 * x),  # torch.sinc(t) = sin(pi t) / (pi t), 1 at 0
}
TEST_FRACTION = 0.2
MAX_POINTS = 10_000_000


def _check(kind: str, n_points, low, high, seed) -> None:
    try:
        check_name("function", kind, FUNCTIONS)
    except UnknownNameError as e:
        raise DataError(str(e)) from None
    if isinstance(n_points, bool) or not isinstance(n_points, Integral) or not 10 <= n_points <= MAX_POINTS:
        raise DataError(f"function n_points {n_points!r} is not allowed; use an integer from 10 to {MAX_POINTS:,}")
    if not (isinstance(low, Real) and isinstance(high, Real) and low < high):
        raise DataError(f"function interval [{low!r}, {high!r}] is not allowed; use numbers with low < high")
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise DataError(f"function seed {seed!r} is not allowed; use an integer >= 0")


def peek_function(kind: str = "sin5pi", n_points: int = 40_000, low: float = -2.0, high: float = 2.0, seed: int = 0,
                  data_dir=None, download: bool = True) -> DataPeek:
    n_test = round(n_points * TEST_FRACTION)
    return DataPeek(f"function-{kind}", n_points - n_test, n_test, (1,), 1)


@register_dataset("function", peek=peek_function)
def load_function(kind: str = "sin5pi", n_points: int = 40_000, low: float = -2.0, high: float = 2.0, seed: int = 0,
                  data_dir=None, download: bool = True) -> DataBundle:
    """(N, 1) float32 inputs and targets; `data_dir` and `download` are accepted for a uniform
    signature and ignored (the data is computed)."""
    _check(kind, n_points, low, high, seed)
    x = torch.linspace(float(low), float(high), int(n_points)).unsqueeze(1)
    y = FUNCTIONS[kind](x)
    train, test = random_split(len(x), TEST_FRACTION, int(seed))
    meta = DataMeta("function", f"function-{kind}", (1,), (), outputs=1,
                    notes=(f"{kind} on [{low:g}, {high:g}], {n_points:,} evenly spaced points",))
    return DataBundle(Split(x[train], y[train]), Split(x[test], y[test]), meta)
