"""Markdown tables of a sweep, written by hand from pandas (no tabulate dependency): accuracy per
epoch, training cost, and the best configurations. Each table function returns a DataFrame of
display strings (testable cell by cell); `to_markdown` turns it into a pipe table.

One row per configuration = one combination of the swept axes; seeds are folded into a mean and,
when there is more than one, a 95% half-width ("0.934 ±0.004").
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from analysis.results.figures import progress_column
from analysis.results.numbers import fmt_number
from analysis.results.stats import (
    configurations,
    final_rows,
    fmt_value,
    mean_ci,
    ranked,
    summarize,
    sweep_axes,
    trained_rows,
    usable_rows,
)
from analysis.results.sweep_meta import SweepMeta
from trainables import metrics as M

MAX_EPOCH_COLUMNS = 20  # wider tables wrap unreadably; beyond this show evenly spaced epochs + the last


def fmt_ci(mean: float, half: float, n: int, digits: int = 3) -> str:
    """"0.934 ±0.004" when n > 1, "0.934" for one seed, "" when there is no value."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return ""
    text = f"{mean:.{digits}f}"
    return f"{text} ±{half:.{digits}f}" if n > 1 and not math.isnan(half) else text


def _cell(values: pd.Series, digits: int = 3) -> str:
    mean, half, n = mean_ci(values)
    return fmt_ci(mean, half, n, digits)


def fmt_cell(v: Any) -> str:
    """How a value prints in a table: counts with thousands separators (478,410), other numbers
    in the one format of analysis.results.numbers (0.0258, not 0.02578962780535221), anything
    else as it is."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return f"{v:,}"
    return fmt_number(v)


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub pipe table; values as fmt_cell prints them, "|" inside cells is escaped, NaN
    prints empty."""
    def cell(v: Any) -> str:
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt_cell(v).replace("|", "\\|")

    lines = ["| " + " | ".join(str(c).replace("|", "\\|") for c in df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def _config_columns(summary: pd.DataFrame, axes: list[str]) -> pd.DataFrame:
    """The axis columns as display strings, or a single "config" column when nothing was swept."""
    if not axes:
        return pd.DataFrame({"config": ["all trials"] * len(summary)})
    return pd.DataFrame({a: [fmt_value(v) for v in summary[a]] for a in axes})


def _shown_epochs(epochs: list[int]) -> list[int]:
    if len(epochs) <= MAX_EPOCH_COLUMNS:
        return epochs
    idx = np.linspace(0, len(epochs) - 1, MAX_EPOCH_COLUMNS).round().astype(int)
    return [epochs[i] for i in sorted(set(idx))]


def epoch_table(results: pd.DataFrame, trials: pd.DataFrame | None, meta: SweepMeta,
                metric: str = M.TEST_ACC) -> pd.DataFrame:
    """Rows = configs, columns = epoch (or step) numbers ("1", "2", ...), cells = mean ±95% across seeds."""
    df = usable_rows(results, trials)
    axes, _ = sweep_axes(meta, df)
    length = progress_column(meta)
    if df.empty or metric not in df.columns or length not in df.columns:
        return pd.DataFrame()
    configs = configurations(df, axes)
    epochs = _shown_epochs(sorted(int(e) for e in df[length].dropna().unique()))
    summary = summarize(df, [*axes, length], metric)
    table = _config_columns(configs, axes)
    for epoch in epochs:
        at = summary[summary[length] == epoch]
        merged = configs.merge(at, on=axes, how="left") if axes else at.reset_index(drop=True)
        table[str(epoch)] = [fmt_ci(m, (hi - lo) / 2, n) for m, lo, hi, n in
                             zip(merged["mean"], merged["ci_low"], merged["ci_high"], merged["n"].fillna(0))]
    return table


# A row's training time as the report says it, by the unit a sweep's length is counted in (SweepMeta.unit).
TIME_PER_UNIT = {"epoch": "s/epoch", "step": "s/100 steps"}
UNIT_TIME = "_time_per_unit"


def with_time_per_unit(df: pd.DataFrame, meta: SweepMeta) -> pd.DataFrame:
    """`df` with UNIT_TIME: each row's training time per epoch, or, for a sweep trained in steps,
    per 100 steps (a row's time over the steps since its trial's previous row)."""
    if meta.unit != "step" or M.STEP not in df or M.EPOCH_TIME_S not in df:
        return df.assign(**{UNIT_TIME: df[M.EPOCH_TIME_S] if M.EPOCH_TIME_S in df else np.nan})
    steps = df.groupby(M.TRIAL_ID)[M.STEP].diff().fillna(df[M.STEP]) if M.TRIAL_ID in df else df[M.STEP]
    return df.assign(**{UNIT_TIME: 100 * df[M.EPOCH_TIME_S] / steps.where(steps > 0)})


def time_table(results: pd.DataFrame, trials: pd.DataFrame | None, meta: SweepMeta) -> pd.DataFrame:
    """Per config: total training time, mean time per epoch (or per 100 steps), throughput,
    size, epochs (or steps), device."""
    df = with_time_per_unit(usable_rows(results, trials), meta)
    final = final_rows(results, trials)
    axes, _ = sweep_axes(meta, df)
    if final.empty:
        return pd.DataFrame()
    configs = configurations(final, axes)
    length = progress_column(meta)
    rows = []
    for _, config in configs.iterrows():
        mask_all, mask_final = _match(df, config, axes), _match(final, config, axes)
        every, last = trained_rows(df[mask_all]), final[mask_final]
        rows.append({
            "total time (s)": _cell(last.get(M.TIME_TOTAL_S, pd.Series(dtype=float)), 1),
            "epoch time (s)" if meta.unit == "epoch" else TIME_PER_UNIT[meta.unit]: _mean(every, UNIT_TIME, "{:.2f}"),
            "samples/s": _mean(every, M.SAMPLES_PER_S, "{:,.0f}"),
            "params": _mean(last, M.PARAM_COUNT, "{:,.0f}"),
            f"{meta.unit}s": _span(last[length if length in last else M.EPOCH]),
            "device": _devices(last),
        })
    return pd.concat([_config_columns(configs, axes), pd.DataFrame(rows)], axis=1)


def best_table(results: pd.DataFrame, trials: pd.DataFrame | None, meta: SweepMeta, k: int = 5) -> pd.DataFrame:
    """The top-k configs by the sweep's selection metric (meta metric/mode) at their last row."""
    final = final_rows(results, trials)
    metric = meta.metric if meta.metric in final.columns else M.VAL_LOSS
    mode = meta.mode
    axes, _ = sweep_axes(meta, final)
    if final.empty or metric not in final.columns:
        return pd.DataFrame()
    top = ranked(final, metric, mode, by=axes).head(k).reset_index(drop=True)
    digits = 3 if metric in (M.TRAIN_ACC, M.VAL_ACC, M.TEST_ACC) else 4
    table = pd.concat([pd.DataFrame({"rank": range(1, len(top) + 1)}), _config_columns(top, axes)], axis=1)
    table[f"{metric} ({mode})"] = [fmt_ci(m, (hi - lo) / 2, n, digits) for m, lo, hi, n in
                                   zip(top["mean"], top["ci_low"], top["ci_high"], top["n"])]
    for name in (M.VAL_ACC, M.TEST_ACC):
        if name in final.columns:
            table[name] = [_cell(final.loc[_match(final, c, axes), name]) for _, c in top.iterrows()]
    table["seeds"] = top["n"].astype(int).to_numpy()
    return table


def _match(df: pd.DataFrame, config: pd.Series, axes: list[str]) -> pd.Series:
    """Rows of `df` whose axis values equal `config`'s (NaN matches NaN)."""
    mask = pd.Series(True, index=df.index)
    for a in axes:
        mask &= df[a].isna() if pd.isna(config[a]) else df[a] == config[a]
    return mask


def _mean(df: pd.DataFrame, column: str, fmt: str) -> str:
    values = df[column].dropna() if column in df.columns else pd.Series(dtype=float)
    return fmt.format(values.mean()) if len(values) else ""


def _span(values: pd.Series) -> str:
    """"10", or "3–10" when trials stopped at different epochs (early stopping, ASHA)."""
    lo, hi = int(values.min()), int(values.max())
    return str(hi) if lo == hi else f"{lo}–{hi}"


def _devices(df: pd.DataFrame) -> str:
    if M.DEVICE not in df.columns:
        return ""
    names = df[M.DEVICE_NAME] if M.DEVICE_NAME in df.columns else pd.Series("", index=df.index)
    pairs = sorted({(str(d), str(n) if pd.notna(n) else "") for d, n in zip(df[M.DEVICE], names)})
    return ", ".join(f"{d} ({n})" if n else d for d, n in pairs)


def speedup_table(results: pd.DataFrame, meta: SweepMeta, slow: str = "cpu", fast: str = "cuda") -> pd.DataFrame | None:
    """Mean time per epoch (or per 100 steps) on the `slow` and `fast` devices for each
    configuration of the other axes, and the speed-up; None unless the sweep ran on both
    (mnist_cpu_gpu on a machine with a GPU)."""
    axes, _ = sweep_axes(meta, results)
    if M.DEVICE not in axes or not {slow, fast} <= set(results[M.DEVICE]):
        return None
    index = [a for a in axes if a != M.DEVICE] or ["config"]
    trained = trained_rows(with_time_per_unit(results, meta))
    frame = trained.assign(config="all trials") if index == ["config"] else trained
    times = frame.pivot_table(index=index, columns=M.DEVICE, values=UNIT_TIME, aggfunc="mean", sort=False)
    times = times.dropna(subset=[slow, fast]).reset_index()
    table = pd.DataFrame({a: [fmt_value(v) for v in times[a]] for a in index})
    table[f"{slow} {TIME_PER_UNIT[meta.unit]}"] = [f"{v:.3f}" for v in times[slow]]
    table[f"{fast} {TIME_PER_UNIT[meta.unit]}"] = [f"{v:.3f}" for v in times[fast]]
    table["speed-up"] = [f"{s_ / f_:.1f}x" for s_, f_ in zip(times[slow], times[fast])]
    return table
