"""Mean and 95% confidence interval across repeats (seeds), and the frame helpers every plot and
table shares: which config keys were swept, each trial's final (last-epoch) row, and how a
config value prints.

Student t, not a normal 1.96, because sweeps repeat each config only 2-5 times: with 2 seeds the
interval is 6.5x wider than the normal one would claim. The table avoids a scipy dependency.
"""
from __future__ import annotations

import math
import re
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from analysis.results.sweep_meta import SweepMeta
from trainables import metrics as M

# Two-sided 95% critical values t_{0.975, df}, df = 1..30 (any statistics textbook table).
T_975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)
Z_975 = 1.96  # beyond df = 30 the t value is within 2% of the normal one
SEED = "seed"
STATUS = "status"
ERROR = "ERROR"
SUMMARY_COLUMNS = ("mean", "ci_low", "ci_high", "n")


def t_critical(df: int) -> float:
    """t_{0.975, df}: the half-width multiplier of a 95% interval from df + 1 samples."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    return T_975[df - 1] if df <= len(T_975) else Z_975


def mean_ci(values: Iterable[float]) -> tuple[float, float, int]:
    """(mean, 95% half-width, n) of the non-NaN values; the half-width is NaN when n < 2
    (one seed says nothing about the spread) and the mean is NaN when n == 0."""
    x = np.asarray(list(values), dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return math.nan, math.nan, 0
    if n == 1:
        return float(x[0]), math.nan, 1
    half = t_critical(n - 1) * float(x.std(ddof=1)) / math.sqrt(n)
    return float(x.mean()), half, n


def summarize(df: pd.DataFrame, by: list[str], metric: str) -> pd.DataFrame:
    """One row per combination of `by`: the `by` columns, then mean, ci_low, ci_high, n of
    `metric` (ci_* NaN where n < 2). Empty `by` summarizes the whole frame in one row."""
    if df.empty or metric not in df.columns:
        return pd.DataFrame(columns=[*by, *SUMMARY_COLUMNS])
    rows = []
    for key, group in _groups(df, by):
        mean, half, n = mean_ci(group[metric])
        rows.append({**dict(zip(by, key)), "mean": mean, "ci_low": mean - half, "ci_high": mean + half, "n": n})
    return pd.DataFrame(rows, columns=[*by, *SUMMARY_COLUMNS])


def configurations(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """The distinct combinations of `by` in natural order (one empty row when `by` is empty)."""
    keys = [key for key, _ in _groups(df, by)]
    return pd.DataFrame(keys, columns=by, index=range(len(keys)))


def _groups(df: pd.DataFrame, by: list[str]):
    """(key tuple, group) pairs in natural order, NaN keys kept; one group () for empty `by`."""
    if not by:
        return [((), df)]
    groups = list(df.groupby(by, sort=False, dropna=False))
    return sorted(groups, key=lambda kg: tuple(sort_key(v) for v in kg[0]))


def sort_key(value: Any) -> tuple:
    """Orders numbers numerically and strings naturally ("64-32" < "128-64"), NaN last."""
    if isinstance(value, (bool, np.bool_)):
        return (1, ((1, str(value)),))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return (2, ()) if math.isnan(value) else (0, float(value))
    parts = re.split(r"(\d+)", str(value))  # digit runs compare as numbers, the rest as text
    return (1, tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p))


def fmt_value(value: Any) -> str:
    """How a config value prints in legends and tables: 4.0 -> "4", 0.001 -> "0.001"."""
    if isinstance(value, (float, np.floating)):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def trial_label(values: Mapping[str, Any], keys: Iterable[str] | None = None, *, sep: str = " ",
                empty: str = "") -> str:
    """"width=400 lr=0.01": a trial's swept values (those of `keys`, in that order), the one way
    every console line, legend, table and message names a trial; `empty` when nothing is swept."""
    keys = list(values) if keys is None else list(keys)
    return sep.join(f"{k}={fmt_value(values.get(k))}" for k in keys) or empty


def sweep_axes(meta: SweepMeta, df: pd.DataFrame) -> tuple[list[str], str | None]:
    """(swept config keys present in `df`, the one to put on the x-axis or None)."""
    axes = [a for a in meta.axes if a in df.columns and a != SEED]
    x = meta.x
    if x not in axes:
        x = axes[0] if axes else None
    return axes, x


def usable_rows(results: pd.DataFrame, trials: pd.DataFrame | None) -> pd.DataFrame:
    """Rows of trials that did not error: an errored trial's last epoch is not a final result.
    Falls back to every row when all trials errored, so the report still shows something."""
    if trials is None or trials.empty or STATUS not in trials.columns or M.TRIAL_ID not in results.columns:
        return results
    failed = set(trials.loc[trials[STATUS] == ERROR, M.TRIAL_ID])
    kept = results[~results[M.TRIAL_ID].isin(failed)]
    return kept if not kept.empty else results


def trained_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows that report training (not the epoch-0 evaluation of the untrained model, which has no
    epoch time or throughput)."""
    return df[df[M.STEP] > 0] if M.STEP in df.columns else df


def final_rows(results: pd.DataFrame, trials: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each usable trial's last reported epoch, one row per trial."""
    rows = usable_rows(results, trials)
    if rows.empty:
        return rows
    return rows.sort_values([M.TRIAL_ID, M.EPOCH]).groupby(M.TRIAL_ID, sort=False).tail(1).reset_index(drop=True)


TIE_BREAK = (M.PARAM_COUNT, M.TRIAL_ID)  # fewer parameters, then the earlier trial
# Metrics equal to this many significant digits tie: float32 noise (toy2d's NumPy and torch MLPs
# differ in the 8th digit of one and the same loss) must not pick a winner.
TIE_DIGITS = 6


def ranked(rows: pd.DataFrame, metric: str, mode: str, by: list[str] | None = None) -> pd.DataFrame:
    """`rows` best first, by the one rule of every ranking (the console's best trials, the
    report's ranking, references' "best" checks, --base-from), so that they never disagree on
    a tie: the better `metric` (`mode` min or max; equal to TIE_DIGITS significant digits is
    a tie); on a tie, fewer parameters (the smaller
    model reaches the same score); then the earlier trial (Tune numbers its trial ids in the
    order it makes them). `rows`: one per trial; with `by`, one row per configuration of those
    columns instead: summarize's (the mean of `metric` over its trials), with the mean
    parameter count and the first trial id of each. Rows without a `metric` go last."""
    if by is not None:
        groups = _groups(rows, by) if metric in rows else []
        table = summarize(rows, by, metric)
        for column, pick in ((M.PARAM_COUNT, "mean"), (M.TRIAL_ID, "min")):
            if column in rows and len(table):
                table[column] = [getattr(g[column], pick)() for _, g in groups]
        rows, metric = table, "mean"
    if metric not in rows:
        return rows.head(0)
    rounded = "_ranked_by"
    keyed = rows.assign(**{rounded: [float(f"{v:.{TIE_DIGITS}g}") for v in rows[metric].astype(float)]})
    keys = [rounded, *(k for k in TIE_BREAK if k in rows)]
    return keyed.sort_values(keys, ascending=[mode == "min"] + [True] * (len(keys) - 1), na_position="last",
                             kind="stable").drop(columns=rounded)


def best_trials(trials: pd.DataFrame, metric: str, mode: str, n: int = 3) -> pd.DataFrame:
    """The n trials (rows of trials.parquet) with the best final `metric` (ranked), errored ones left out."""
    ok = trials[trials.get(STATUS, "") != ERROR] if STATUS in trials else trials
    if metric not in ok:
        return ok.head(0)
    return ranked(ok[ok[metric].notna()], metric, mode).head(n)
