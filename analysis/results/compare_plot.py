"""The one plot of a comparison of two runs: the headline metric of every configuration both ran,
A beside B, each the mean over seeds with its 95% interval (analysis.results.run_compare)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.results.figures import METRIC_LABELS, accuracy_limits, marker_style, plt, save, title
from analysis.results.plots import ACCURACIES
from analysis.results.sweep_meta import SweepMeta

OFFSET = 0.12  # A left of its configuration's tick, B right: their error bars never overlap


def plot_compare(points: pd.DataFrame, metric: str, meta: SweepMeta, names: tuple[str, str], path: Path) -> Path | None:
    """`points`: one row per configuration and side ("A" or "B"): label, side, mean, half (NaN
    half: one seed, no bar). Returns the PNG's path, None when there is nothing to plot."""
    if points.empty:
        return None
    labels = list(dict.fromkeys(points["label"]))
    fig, ax = plt.subplots(figsize=(max(4.6, 0.9 * len(labels) + 2), 3.6))
    for i, (side, name) in enumerate(zip(("A", "B"), names)):
        mine = points[points["side"] == side]
        pos = np.array([labels.index(label) for label in mine["label"]]) + (i - 0.5) * 2 * OFFSET
        ax.errorbar(pos, mine["mean"], yerr=np.nan_to_num(mine["half"].to_numpy(dtype=float)), ls="none", ms=5,
                    capsize=3, color=f"C{i}", label=f"{side}: {name}", **marker_style(i))
    ax.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 4 else 0)
    ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    if metric in ACCURACIES:  # never zoomed into one test set's noise
        ax.set_ylim(*accuracy_limits(pd.concat([points["mean"] - points["half"].fillna(0),
                                                points["mean"] + points["half"].fillna(0)])))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(title(meta, f"{METRIC_LABELS.get(metric, metric)}: A vs B (mean ± 95% interval)", (metric,)),
                 fontsize="medium")
    return save(fig, path)
