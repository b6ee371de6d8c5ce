"""PNG plots of a sweep from its Parquet files alone: loss curves, final accuracy and training
time against the swept value (mean and 95% interval across seeds), and a grid of predictions.

    python -c "from analysis.results.plots import make_all_plots; print(make_all_plots('RESULTS_DIR'))"

Every plot function takes (results, trials, meta, out_dir) and returns the paths it wrote, so
the report embeds exactly what exists.
"""
from __future__ import annotations

import functools
import math
import multiprocessing
import os
import signal
import sys
from pathlib import Path
from typing import Callable

import matplotlib

matplotlib.use("Agg")  # files only: no display on a cluster node, and never plt.show()
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.results.boundaries import plot_boundaries  # noqa: E402
from analysis.results.figures import (  # noqa: E402
    MAX_LEGEND,
    METRIC_LABELS,
    PLOTS_DIR,
    accuracy_limits,
    axis_label,
    combo_label,
    is_numeric,
    line_colors,
    log_axis,
    marker_style,
    progress_column,
    set_log_x,
    wants_log,
)
from analysis.results.figures import save as _save  # noqa: E402,F401  (the names this module's tests use)
from analysis.results.figures import title as _title
from analysis.results.grid_plots import plot_heatmap, plot_parallel_coordinates  # noqa: E402
from analysis.results.plot_check import deferred, write_entries  # noqa: E402
from analysis.results.sequence_plots import plot_bits_per_char, plot_steps_to_perfect  # noqa: E402
from analysis.results.stats import final_rows, fmt_value, sort_key, summarize, sweep_axes, usable_rows  # noqa: E402
from analysis.results.sweep_meta import SweepMeta  # noqa: E402
from analysis.results.tables import PREDICTIONS_FILE, RESULTS_FILE, TRIALS_FILE, read_parquet  # noqa: E402
from trainables import metrics as M  # noqa: E402

ACCURACIES = (M.TRAIN_ACC, M.VAL_ACC, M.TEST_ACC)
MAX_LINE_POINTS = 12  # more distinct x values than a grid has = a random (Optuna) search: points, no line


def _spread(df: pd.DataFrame, axes: list[str], how: str = "") -> str:
    """What the bands/bars mean: "mean, shaded 95% interval across 3 seeds" or "n=1: one seed"."""
    seeds = df.groupby(axes, dropna=False)[M.TRIAL_ID].nunique().max() if axes else df[M.TRIAL_ID].nunique()
    return f"mean, {how}95% interval across {seeds} seeds" if seeds > 1 else "n=1: one seed, no interval"


def _legend(fig: plt.Figure, panels, names: list[str], n: int, mappable) -> None:
    """Legend beside the panels; a colorbar instead when one numeric axis has many values."""
    if n > MAX_LEGEND and mappable is not None:
        fig.colorbar(mappable, ax=list(panels), label=axis_label(names[0]))
    elif names and n <= MAX_LEGEND:
        handles, labels = panels[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small", frameon=False)


def _present(df: pd.DataFrame, metrics: tuple[str, ...]) -> list[str]:
    return [m for m in metrics if m in df.columns and df[m].notna().any()]


def _marker(df: pd.DataFrame, i: int) -> dict:
    """Markers keep one- or few-epoch runs visible (and identical curves apart); on long runs
    they would only clutter."""
    return marker_style(i) if df[M.EPOCH].nunique() <= 15 else {}


def _curves(df: pd.DataFrame, axes: list[str], metric: str, x: str = M.EPOCH) -> list[tuple[tuple, pd.DataFrame]]:
    """Per combination of the axes: mean and 95% interval of `metric` across seeds per epoch (or
    step), over the rows that have it (held-out metrics may be on every k-th row only)."""
    summary = summarize(df[df[metric].notna()], [*axes, x], metric)
    groups = summary.groupby(axes, sort=False, dropna=False) if axes else [((), summary)]
    out = [(k if isinstance(k, tuple) else (k,), g.sort_values(x)) for k, g in groups]
    return sorted(out, key=lambda kg: tuple(sort_key(v) for v in kg[0]))


def _per_epoch(results, trials, meta, out_dir: Path, metrics: tuple[str, ...], stem: str, what: str) -> list[Path]:
    """`metrics` per epoch in side-by-side panels, one line per config, 95% band across seeds."""
    df = usable_rows(results, trials)
    metrics = _present(df, metrics)
    if df.empty or not metrics:
        return []
    axes, _ = sweep_axes(meta, df)
    x = progress_column(meta)
    fig, ax = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.6), squeeze=False, sharey=True)
    ax = ax[0]
    mappable = None
    for panel, metric in zip(ax, metrics):
        curves = _curves(df, axes, metric, x)
        colors, mappable = line_colors(axes, [k for k, _ in curves], df, meta)
        for i, ((key, c), color) in enumerate(zip(curves, colors)):
            panel.plot(c[x], c["mean"], color=color, ms=4, label=combo_label(axes, key), **_marker(df, i))
            if (c["n"] > 1).any():  # an accuracy's interval stops at what an accuracy can be
                low, high = (c["ci_low"].clip(0, 1), c["ci_high"].clip(0, 1)) if what == "accuracy" else (c["ci_low"], c["ci_high"])
                panel.fill_between(c[x], low, high, color=color, alpha=0.2, lw=0)
        panel.set(title=METRIC_LABELS.get(metric, metric.replace("_", " ")), xlabel=x)
        panel.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        panel.grid(alpha=0.3)
    ax[0].set_ylabel(f"{what} (mean across seeds)")
    if what == "accuracy":
        ax[0].set_ylim(*accuracy_limits(df[metrics].to_numpy()))
    if what == "loss" and wants_log(df[metrics].to_numpy().ravel()):
        ax[0].set_yscale("log")
    fig.suptitle(_title(meta, f"{what} per {x} ({_spread(df, axes, 'shaded ')})", tuple(metrics)), fontsize="medium")
    fig.tight_layout()
    _legend(fig, ax, axes, len(curves), mappable)
    return [_save(fig, out_dir / f"{stem}.png")]


def plot_loss_vs_epoch(results: pd.DataFrame, trials: pd.DataFrame, meta: SweepMeta, out_dir: Path) -> list[Path]:
    """Train / validation / test loss per epoch (the "cost curves")."""
    return _per_epoch(results, trials, meta, out_dir, (M.TRAIN_LOSS, M.VAL_LOSS, M.TEST_LOSS), "loss_vs_epoch", "loss")


def plot_accuracy_vs_epoch(results: pd.DataFrame, trials: pd.DataFrame, meta: SweepMeta, out_dir: Path) -> list[Path]:
    """Train / validation / test accuracy per epoch."""
    return _per_epoch(results, trials, meta, out_dir, (M.TRAIN_ACC, M.VAL_ACC, M.TEST_ACC), "accuracy_per_epoch", "accuracy")


def plot_loss_vs_time(results: pd.DataFrame, trials: pd.DataFrame, meta: SweepMeta, out_dir: Path) -> list[Path]:
    """Train and validation loss against cumulative wall time, mean across seeds per epoch."""
    df = usable_rows(results, trials)
    metrics = _present(df, (M.TRAIN_LOSS, M.VAL_LOSS))
    if df.empty or not metrics or M.TIME_TOTAL_S not in df.columns:
        return []
    axes, _ = sweep_axes(meta, df)
    fig, ax = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 3.6), squeeze=False, sharey=True)
    ax = ax[0]
    for panel, metric in zip(ax, metrics):
        curves = _curves(df, axes, metric)
        times = dict(_curves(df, axes, M.TIME_TOTAL_S))
        colors, mappable = line_colors(axes, [k for k, _ in curves], df, meta)
        for i, ((key, c), color) in enumerate(zip(curves, colors)):
            t = times[key].set_index(M.EPOCH)["mean"].reindex(c[M.EPOCH])
            panel.plot(t.to_numpy(), c["mean"], color=color, ms=3, label=combo_label(axes, key), **_marker(df, i))
        panel.set(title=METRIC_LABELS[metric], xlabel="wall time since trial start (s)")
        panel.set_xlim(left=0)  # time starts at the trial's start: keeps one-epoch runs in context
        panel.grid(alpha=0.3)
    ax[0].set_ylabel("loss (mean across seeds)")
    if wants_log(df[metrics].to_numpy().ravel()):
        ax[0].set_yscale("log")
    fig.suptitle(_title(meta, "loss against training time", tuple(metrics)), fontsize="medium")
    fig.tight_layout()
    _legend(fig, ax, axes, len(curves), mappable)
    return [_save(fig, out_dir / "loss_vs_time.png")]


def _vs_x(panel, final: pd.DataFrame, axes: list[str], x: str, metric: str, meta: SweepMeta) -> int:
    """Mean +- 95% interval of `metric` against x on `panel`, one line per value of the other
    axes. Numeric x: positions are the values; categorical x: evenly spaced, points offset per
    line so error bars don't overlap. Returns the number of lines."""
    hue = [a for a in axes if a != x]
    summary = summarize(final, [*hue, x], metric)
    lines = summary.groupby(hue, sort=False, dropna=False) if hue else [((), summary)]
    lines = sorted(((k if isinstance(k, tuple) else (k,), g) for k, g in lines), key=lambda kg: tuple(map(sort_key, kg[0])))
    numeric = is_numeric(final[x])
    cats = sorted(final[x].unique(), key=sort_key)
    colors, _ = line_colors(hue, [k for k, _ in lines], final, meta) if hue else (["C0"], None)
    for i, ((key, g), color) in enumerate(zip(lines, colors)):
        g = g.sort_values(x, key=lambda s: s.map(sort_key)) if not numeric else g.sort_values(x)
        if numeric:
            pos = g[x].to_numpy(dtype=float)
        else:
            pos = np.array([cats.index(v) for v in g[x]]) + (i - (len(lines) - 1) / 2) * min(0.1, 0.6 / len(lines))
        err = np.vstack([g["mean"] - g["ci_low"], g["ci_high"] - g["mean"]])
        panel.errorbar(pos, g["mean"], yerr=np.nan_to_num(err), color=color, ms=4, capsize=3, **marker_style(i),
                       ls="-" if numeric and len(g) <= MAX_LINE_POINTS else "none", label=combo_label(hue, key) if hue else None)
    if numeric:
        if log_axis(meta, x, final[x]):
            set_log_x(panel, final[x])
    else:
        panel.set_xticks(range(len(cats)), [fmt_value(c) for c in cats], rotation=30 if len(cats) > 5 else 0)
        panel.set_xlim(-0.5, len(cats) - 0.5)
    panel.set(xlabel=axis_label(x), ylabel=METRIC_LABELS.get(metric, metric))
    if metric in ACCURACIES:  # never zoomed into one test set's noise: a flat line reads as flat
        panel.set_ylim(*accuracy_limits(pd.concat([summary["ci_low"], summary["ci_high"], summary["mean"]])))
    elif metric == M.TIME_TOTAL_S:  # a duration from 0: fused trials share one time, which is no 0.072..0.076 axis
        panel.set_ylim(bottom=0)
    panel.grid(alpha=0.3)
    return len(lines)


def _final_vs_x(results, trials, meta, out_dir, metrics: tuple[str, ...], stem: str, what: str) -> list[Path]:
    final = final_rows(results, trials)
    axes, x = sweep_axes(meta, final)
    metrics = tuple(_present(final, metrics))
    if x is None or not metrics:
        return []  # nothing swept: a single point has no "versus"
    fig, ax = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 3.6), squeeze=False)
    ax = ax[0]
    for panel, metric in zip(ax, metrics):
        n_lines = _vs_x(panel, final, axes, x, metric, meta)
    fig.suptitle(_title(meta, f"{what} at the last {meta.unit} ({_spread(final, axes)})", metrics), fontsize="medium")
    fig.tight_layout()
    if n_lines > 1:
        _legend(fig, ax, [a for a in axes if a != x], n_lines, None)
    return [_save(fig, out_dir / f"{stem}_vs_{x}.png")]


def plot_accuracy_vs_x(results: pd.DataFrame, trials: pd.DataFrame, meta: SweepMeta, out_dir: Path) -> list[Path]:
    """Final test (and validation) accuracy of each trial against the swept value."""
    return _final_vs_x(results, trials, meta, out_dir, (M.TEST_ACC, M.VAL_ACC), "accuracy", "accuracy")


def plot_time_vs_x(results: pd.DataFrame, trials: pd.DataFrame, meta: SweepMeta, out_dir: Path) -> list[Path]:
    """Total training time of each trial against the swept value (time-vs-size for train_size)."""
    return _final_vs_x(results, trials, meta, out_dir, (M.TIME_TOTAL_S,), "time", "training time")


def plot_prediction_grid(predictions: pd.DataFrame | None, meta: SweepMeta, out_dir: Path) -> list[Path]:
    """One test image per class titled "label / pred (prob)", wrong predictions in red."""
    if predictions is None or predictions.empty:
        return []
    preds = predictions.sort_values("label").reset_index(drop=True)
    names = dict(zip(preds["label"], preds["class_name"])) if "class_name" in preds.columns else {}
    cols = min(5, len(preds))
    rows = math.ceil(len(preds) / cols)
    fig, ax = plt.subplots(rows, cols, figsize=(1.9 * cols, 2.2 * rows + 0.6), squeeze=False, layout="constrained")
    for panel, (_, row) in zip(ax.ravel(), preds.iterrows()):
        c, h, w = int(row["channels"]), int(row["height"]), int(row["width"])
        img = np.asarray(row["image"], dtype=np.uint8).reshape(c, h, w)
        panel.imshow(img[0] if c == 1 else img.transpose(1, 2, 0), cmap="gray" if c == 1 else None, vmin=0, vmax=255)
        label, pred = int(row["label"]), int(row["pred"])
        panel.set_title(f"{names.get(label, label)} / {names.get(pred, pred)} ({row['prob']:.2f})",
                        color="black" if label == pred else "red", fontsize="small")
    for panel in ax.ravel():
        panel.axis("off")
    fig.suptitle(_title(meta, f"test predictions of {_which_trial(preds)}: label / predicted (probability), wrong in red"),
                 fontsize="medium")
    return [_save(fig, out_dir / "predictions.png")]


def _which_trial(preds: pd.DataFrame) -> str:
    """"the best trial (width=400)": its swept values, or its id in files written before they were stored."""
    config = preds["trial_config"].iloc[0] if "trial_config" in preds.columns else ""
    if config:
        return f"the best trial ({config})"
    return f"trial {preds['trial_id'].iloc[0]}" if "trial_id" in preds.columns else "the best trial"


# Every plot of a sweep, in report order; each draws nothing (returns []) where its columns are absent.
TABLE_PLOTS = (plot_accuracy_vs_x, plot_heatmap, plot_parallel_coordinates, plot_time_vs_x, plot_loss_vs_epoch,
               plot_accuracy_vs_epoch, plot_loss_vs_time, plot_steps_to_perfect, plot_bits_per_char)


def make_all_plots(results_dir: str | Path, workers: int | None = None) -> list[Path]:
    """Every plot of the sweep in RESULTS_DIR/plots/; the paths written, in report order. Drawn
    in `workers` processes at once (default: one per core, at most 4; draw_all)."""
    results_dir = Path(results_dir)
    results, meta = read_parquet(results_dir / RESULTS_FILE)
    trials_path = results_dir / TRIALS_FILE
    trials = read_parquet(trials_path)[0] if trials_path.exists() else None
    preds_path = results_dir / PREDICTIONS_FILE
    predictions = read_parquet(preds_path)[0] if preds_path.exists() else None
    out_dir = results_dir / PLOTS_DIR
    out_dir.mkdir(exist_ok=True)
    jobs = [functools.partial(plot, results, trials, meta, out_dir) for plot in TABLE_PLOTS]
    jobs += [functools.partial(plot_prediction_grid, predictions, meta, out_dir),
             functools.partial(plot_boundaries, results_dir, meta, out_dir)]
    slowest_first = sorted(range(len(jobs)), key=lambda i: jobs[i].func not in SLOWEST)
    return [path for paths in draw_all(jobs, workers, slowest_first) for path in paths]


# Drawn first, so the others fill the other cores meanwhile: an image per class, a curve per trial.
SLOWEST = (plot_prediction_grid, plot_boundaries, plot_accuracy_vs_epoch, plot_loss_vs_epoch, plot_loss_vs_time)


MAX_PLOT_WORKERS = 4
_JOBS: list[Callable[[], list[Path]]] = []  # what forked workers draw, by index (inherited, not pickled)


def draw_all(jobs: list[Callable[[], list[Path]]], workers: int | None = None,
             start_order: list[int] | None = None) -> list[list[Path]]:
    """Each job's paths, in the jobs' order; started in `start_order` (indices; default: as
    given). A figure takes 0.2-0.8 s of one core to lay out, draw and check (most of a small
    sweep's results phase), so on Linux they are drawn in forked processes, one per core; the
    parent writes their plot checks (plots.json) once they are back. Elsewhere, on one core, or
    for one job: one after the other, here."""
    workers = min(workers or min(os.cpu_count() or 1, MAX_PLOT_WORKERS), len(jobs))
    if workers <= 1 or not sys.platform.startswith("linux"):
        return [job() for job in jobs]
    _JOBS[:] = jobs
    pool = multiprocessing.get_context("fork").Pool(workers, initializer=_plain_sigterm)  # they never touch torch
    try:
        drawn = dict(pool.imap_unordered(_draw, start_order or range(len(jobs))))
        pool.close()  # the children end on their own, not by SIGTERM
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
        _JOBS.clear()
    write_entries({path: found for _, checks in drawn.values() for path, found in checks.items()})
    return [drawn[i][0] for i in range(len(jobs))]


def _plain_sigterm() -> None:
    """A forked child keeps the parent's signal handlers; a Ray driver's logs a stack trace on SIGTERM."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _draw(index: int) -> tuple[int, tuple[list[Path], dict[Path, list[str]]]]:
    with deferred() as checks:
        paths = _JOBS[index]()
    return index, (paths, dict(checks))
