"""Plots of the step-based sequence studies, from the Parquet files alone: the step at which
training-batch accuracy first reaches 100% against the swept value (palindromes), and bits per
character against steps and against wall time (language models). Each returns [] when the
sweep has no such columns, so make_all_plots can call every one."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.results.figures import MARKERS, combo_label, is_numeric, legend_outside, line_colors, progress_column
from analysis.results.figures import save as _save
from analysis.results.figures import title as _title
from analysis.results.stats import final_rows, sort_key, sweep_axes, usable_rows
from analysis.results.sweep_meta import SweepMeta
from trainables import metrics as M

PERFECT = 1.0


def _offset_step(values: pd.Series) -> float:
    """How far apart lines sharing an x are drawn: an eighth of the smallest gap between values."""
    gaps = np.diff(np.unique(values.to_numpy(dtype=float)))
    return float(gaps.min()) / 8 if len(gaps) else 0.1


def steps_to(results: pd.DataFrame, metric: str = M.TRAIN_ACC, value: float = PERFECT) -> pd.Series:
    """Each trial's first step with `metric` >= value (NaN: never reached), by trial id."""
    reached = results[results[metric] >= value]
    first = reached.groupby(M.TRIAL_ID)[M.STEP].min()
    return first.reindex(results[M.TRIAL_ID].unique())


def plot_steps_to_perfect(results: pd.DataFrame, trials: pd.DataFrame | None, meta: SweepMeta,
                          out_dir: Path) -> list[Path]:
    """Steps until the training batches are classified perfectly, against the swept value,
    one line per value of the other axes; a trial that never got there is marked at its last
    step with an open marker."""
    df = usable_rows(results, trials)
    axes, x = sweep_axes(meta, df)
    if meta.unit != "step" or x is None or M.TRAIN_ACC not in df or df.empty:
        return []
    final = final_rows(results, trials).set_index(M.TRIAL_ID)
    final["reached"] = steps_to(df)
    hue = [a for a in axes if a != x]
    groups = sorted(final.groupby(hue, sort=False) if hue else [((), final)], key=lambda kg: repr(kg[0]))
    fig, panel = plt.subplots(figsize=(5.2, 3.8))
    colors, _ = line_colors(hue, [k if isinstance(k, tuple) else (k,) for k, _ in groups], final, meta) if hue else (["C0"], None)
    numeric = is_numeric(final[x])
    gap = _offset_step(final[x]) if numeric else 0.0
    for i, ((key, g), color) in enumerate(zip(groups, colors)):
        # lines that share points (an RNN and an LSTM both at step 20) stay visible: each its own
        # marker shape, nudged sideways (open markers mean "never reached")
        marker, shift = MARKERS[i % len(MARKERS)], (i - (len(groups) - 1) / 2) * gap
        g = g.sort_values(x, key=lambda s: s.map(sort_key))
        mean = g.groupby(x, sort=False)["reached"].mean()  # NaN when any seed never reached it
        label = combo_label(hue, key if isinstance(key, tuple) else (key,)) if hue else None
        position = mean.index.to_numpy(dtype=float) + shift if numeric else mean.index
        panel.plot(position, mean.to_numpy(), color=color, marker=marker, label=label)
        missed = g[g["reached"].isna()]
        panel.scatter(missed[x] + shift if numeric else missed[x], missed[M.STEP], facecolors="none", edgecolors=color,
                      marker=marker, s=60)
    top = float(pd.concat([final["reached"], final[M.STEP]]).max())
    panel.set_ylim(0, top * 1.12 if top > 0 else 1)  # steps count from 0: one shared value is no 19-21 axis
    if numeric and final[x].nunique() == 1:
        panel.set_xlim(float(final[x].iloc[0]) - 1, float(final[x].iloc[0]) + 1)
    panel.set(xlabel=x.replace("_", " "), ylabel="first step with 100% train-batch accuracy")
    panel.grid(alpha=0.3)
    if hue:
        panel.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.suptitle(_title(meta, "steps to 100% accuracy (open: never reached, at its last step)"), fontsize="medium")
    fig.tight_layout()
    return [_save(fig, out_dir / f"steps_to_100_vs_{x}.png")]


def plot_bits_per_char(results: pd.DataFrame, trials: pd.DataFrame | None, meta: SweepMeta,
                       out_dir: Path) -> list[Path]:
    """Validation bits per character against steps (batches) and against wall time."""
    df = usable_rows(results, trials)
    metric = M.VAL_BITS_PER_CHAR
    if metric not in df or df.empty:
        return []
    axes, _ = sweep_axes(meta, df)
    x = progress_column(meta)
    fig, (by_step, by_time) = plt.subplots(1, 2, figsize=(9.6, 3.8), sharey=True)
    keys = sorted({tuple(r) for r in df[axes].itertuples(index=False)}, key=repr) if axes else [()]
    colors, _ = line_colors(axes, keys, df, meta)
    for key, color in zip(keys, colors):
        rows = df
        for a, v in zip(axes, key):
            rows = rows[rows[a] == v]
        curve = rows[rows[metric].notna()].groupby(x)[[metric, M.TIME_TOTAL_S]].mean().sort_index()
        by_step.plot(curve.index, curve[metric], color=color, label=combo_label(axes, key))
        by_time.plot(curve[M.TIME_TOTAL_S], curve[metric], color=color)
    by_step.set(xlabel=f"{x} (batches)", ylabel="validation bits per character")
    by_time.set(xlabel="wall time since trial start (s)")
    for panel in (by_step, by_time):
        panel.grid(alpha=0.3)
    legend_outside(fig, by_step.get_legend_handles_labels()[0], "x-small")
    fig.suptitle(_title(meta, "validation bits per character against batches and time"), fontsize="medium")
    fig.tight_layout()
    return [_save(fig, out_dir / "bits_per_char.png")]
