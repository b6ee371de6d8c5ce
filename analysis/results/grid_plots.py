"""Plots of a grid over two or more axes (e.g. cifar_channels' C1 x C2): a heatmap of the sweep's
headline metric at the last epoch (test accuracy, or training time for mnist_cpu_gpu), and
parallel coordinates of every configuration coloured by it. Axes that took a single value in
the results (mnist_cpu_gpu's device without a GPU) do not count: one row is no grid."""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.results.figures import METRIC_LABELS, axis_label, colour_limits, finish_figure, is_numeric  # noqa: E402
from analysis.results.stats import final_rows, fmt_value, sort_key, summarize, sweep_axes, usable_rows  # noqa: E402
from analysis.results.sweep_meta import SweepMeta  # noqa: E402
from trainables import metrics as M  # noqa: E402


def headline_label(meta: SweepMeta) -> str:
    """"final test accuracy", "final total training time (s)"."""
    metric = meta.headline
    return f"final {METRIC_LABELS.get(metric, metric)}"


def grid_axes(meta: SweepMeta, df: pd.DataFrame) -> list[str]:
    """The swept axes that took more than one value in `df`."""
    axes, _ = sweep_axes(meta, df)
    return [a for a in axes if df[a].nunique(dropna=False) > 1]


ACCURACIES = (M.TRAIN_ACC, M.VAL_ACC, M.TEST_ACC)
FEW_LEVELS = 8  # an axis with this many values or fewer is labelled at every value, else at its ends


def _digits(metric: str) -> int:
    return 3 if metric in ACCURACIES else 2


def grid_table(results: pd.DataFrame, trials: pd.DataFrame | None, meta: SweepMeta) -> pd.DataFrame | None:
    """Mean final headline metric (and n) per configuration, or None for fewer than two axes
    that vary."""
    df = usable_rows(results, trials)
    metric = meta.headline
    if df.empty or metric not in df or len(grid_axes(meta, df)) < 2:
        return None
    return summarize(final_rows(df, trials), grid_axes(meta, df), metric)


def grid_markdown_frame(results: pd.DataFrame, trials: pd.DataFrame | None, meta: SweepMeta) -> pd.DataFrame | None:
    """The final headline metric with rows = first axis, columns = second axis ("0.612 ±0.010"
    with repeats), averaged over any further axes; None for fewer than two axes."""
    table = grid_table(results, trials, meta)
    if table is None:
        return None
    axes = grid_axes(meta, usable_rows(results, trials))
    half = (table["ci_high"] - table["ci_low"]) / 2
    d = _digits(meta.headline)
    cells = table.assign(cell=[f"{m:.{d}f}" + (f" ±{h:.{d}f}" if n > 1 and h == h else "")
                               for m, h, n in zip(table["mean"], half, table["n"])])
    grid = cells.groupby([axes[0], axes[1]])["cell"].first().unstack(axes[1])
    grid = grid.loc[sorted(grid.index, key=sort_key), sorted(grid.columns, key=sort_key)]
    out = grid.reset_index()
    out.columns = [f"{axes[0]} \\ {axes[1]}"] + [fmt_value(c) for c in grid.columns]
    out[out.columns[0]] = [fmt_value(v) for v in out[out.columns[0]]]
    return out


def plot_heatmap(results: pd.DataFrame, trials: pd.DataFrame | None, meta: SweepMeta, out_dir: Path) -> list[Path]:
    """The final headline metric over the first two axes (mean across seeds, and any other axes)."""
    table = grid_table(results, trials, meta)
    if table is None:
        return []
    rows_axis, cols_axis = grid_axes(meta, usable_rows(results, trials))[:2]
    grid = table.groupby([rows_axis, cols_axis])["mean"].mean().unstack(cols_axis)
    grid = grid.loc[sorted(grid.index, key=sort_key), sorted(grid.columns, key=sort_key)]
    fig, ax = plt.subplots(figsize=(3.0 + 0.9 * grid.shape[1], 2.0 + 0.7 * grid.shape[0]))
    vmin, vmax = colour_limits(grid.to_numpy(dtype=float), meta.headline in ACCURACIES)
    image = ax.imshow(grid.to_numpy(dtype=float), cmap="viridis", aspect="auto", vmin=vmin, vmax=vmax)
    ax.set_xticks(range(grid.shape[1]), [fmt_value(v) for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [fmt_value(v) for v in grid.index])
    ax.set(xlabel=axis_label(cols_axis), ylabel=axis_label(rows_axis))
    values = grid.to_numpy(dtype=float)
    middle, d = (vmin + vmax) / 2, _digits(meta.headline)
    for (i, j), v in np.ndenumerate(values):
        if not np.isnan(v):
            ax.text(j, i, f"{v:.{d}f}", ha="center", va="center", fontsize="small", color="black" if v > middle else "white")
    fig.colorbar(image, ax=ax, label=headline_label(meta))
    return [finish_figure(fig, meta, f"{headline_label(meta)} (mean across seeds)", out_dir / "heatmap.png")]


def plot_parallel_coordinates(results: pd.DataFrame, trials: pd.DataFrame | None, meta: SweepMeta, out_dir: Path) -> list[Path]:
    """One polyline per configuration through its swept values (scaled to [0, 1] per axis) and
    its final headline metric, coloured by it."""
    table = grid_table(results, trials, meta)
    if table is None:
        return []
    axes = grid_axes(meta, usable_rows(results, trials))
    columns = [*axes, "mean"]
    d, label = _digits(meta.headline), headline_label(meta)
    acc = table["mean"].astype(float)
    norm = matplotlib.colors.Normalize(*colour_limits(acc, meta.headline in ACCURACIES))
    fig, ax = plt.subplots(figsize=(2.2 * len(columns), 3.8))
    scaled = {}
    for k, c in enumerate(columns):
        position, ticks = _scaled(table[c] if c != "mean" else acc, d if c == "mean" else None)
        scaled[c] = position
        ax.axvline(k, color="grey", lw=0.8)
        for y, text in ticks:
            ax.text(k + 0.04, y, text, ha="left", va="center", fontsize="small")
    cmap = plt.get_cmap("viridis")
    for i in np.argsort(acc.to_numpy()):
        ax.plot(range(len(columns)), [scaled[c].iloc[i] for c in columns], color=cmap(norm(acc.iloc[i])), alpha=0.8)
    ax.set_xticks(range(len(columns)), [axis_label(c) if c != "mean" else label for c in columns])
    ax.set_yticks([])
    ax.set_ylim(-0.1, 1.1)
    ax.set_xlim(-0.2, len(columns) - 0.5)
    fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=label)
    return [finish_figure(fig, meta, "each line is one configuration (values scaled per axis: min at the bottom)",
                          out_dir / "parallel_coordinates.png")]


def _scaled(col: pd.Series, digits: int | None) -> tuple[pd.Series, list[tuple[float, str]]]:
    """An axis of the parallel coordinates: its values scaled to [0, 1] (categories evenly spaced
    in sorted order; a single value in the middle) and its labels (position, text), one per
    value when there are few (every category is named), else the two ends."""
    levels = sorted(col.unique(), key=sort_key)
    numeric = is_numeric(col)
    index = col.astype(float) if numeric else col.map({v: i for i, v in enumerate(levels)}).astype(float)
    lo, hi = float(index.min()), float(index.max())
    position = (index - lo) / (hi - lo) if hi > lo else index * 0 + 0.5
    text = (lambda v: f"{v:.{digits}f}") if digits is not None else fmt_value
    if digits is None and len(levels) <= FEW_LEVELS:
        shown = levels
    elif numeric:
        shown = [col.min(), col.max()]
    else:
        shown = levels[:: math.ceil(len(levels) / FEW_LEVELS)]
    ticks = {}
    for v in shown:
        at = float(position[col == v].iloc[0]) if (col == v).any() else 0.5
        ticks.setdefault(round(at, 6), text(v))
    return position, sorted(ticks.items())
