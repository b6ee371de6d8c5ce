"""The difference of a metric's means between two runs (B - A, "did my change help?") with a 95%
interval, and Welch's t test when both sides have repeats (seeds).

Welch, not Student: a run on another machine or with another setting need not have the same spread
across seeds. The interval is diff ± t_{0.975, df} · se with se = sqrt(s_a²/n_a + s_b²/n_b) and the
Welch-Satterthwaite df, the same t distribution the test's p uses, so p < 0.05 exactly when the
interval leaves out 0.

    d = difference([0.91, 0.92], [0.93, 0.95]); d.diff, d.low, d.high, d.p
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np

NO_REPEATS = "no repeats"  # one seed on a side: its spread is unknown, so no interval and no test
NO_SPREAD = "no spread"  # every seed gave the same value on both sides: t is undefined


@dataclass(frozen=True)
class Difference:
    mean_a: float
    mean_b: float
    n_a: int
    n_b: int
    diff: float
    """mean_b - mean_a."""
    low: float = math.nan
    high: float = math.nan
    p: float = math.nan
    """Welch's two-sided p (NaN without repeats on both sides)."""
    note: str = ""
    """Why there is no interval or test (NO_REPEATS, NO_SPREAD), else empty."""


def _values(values: Iterable[float]) -> np.ndarray:
    x = np.asarray(list(values), dtype=float)
    return x[~np.isnan(x)]


def difference(a: Iterable[float], b: Iterable[float]) -> Difference:
    """B's mean minus A's over the non-NaN values, with Welch's interval and p when both have >= 2."""
    from scipy import stats  # a core dependency, imported here: the t distribution at a fractional df

    a, b = _values(a), _values(b)
    if not len(a) or not len(b):
        raise ValueError(f"a difference needs values on both sides, got {len(a)} and {len(b)}")
    mean_a, mean_b = float(a.mean()), float(b.mean())
    base = dict(mean_a=mean_a, mean_b=mean_b, n_a=len(a), n_b=len(b), diff=mean_b - mean_a)
    if len(a) < 2 or len(b) < 2:
        return Difference(**base, note=NO_REPEATS)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return Difference(**base, low=base["diff"], high=base["diff"], note=NO_SPREAD)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))  # Welch-Satterthwaite
    half = float(stats.t.ppf(0.975, df)) * se
    p = float(2 * stats.t.sf(abs(base["diff"]) / se, df))
    return Difference(**base, low=base["diff"] - half, high=base["diff"] + half, p=p)
