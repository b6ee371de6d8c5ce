"""Figure helpers every plot module shares (labels, titles, log scales, saving). It imports no
plot module, so the sweep plots, the grid plots and every study's figures can import it.

    fig, ax = plt.subplots(); ...; save(fig, out_dir / "name.png")
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on a cluster node, and never plt.show()
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.results.stats import trial_label  # noqa: E402
from analysis.results.sweep_meta import SweepMeta  # noqa: E402
from trainables import metrics as M  # noqa: E402

PLOTS_DIR = "plots"
DPI = 110
MAX_LEGEND = 12  # more entries than this and a legend hides the data: use a colorbar or drop it
AXIS_LABELS = {
    "width": "hidden width (units)", "depth": "hidden layers", "lr": "learning rate",
    "batch_size": "batch size (samples)", "train_size": "training set size (samples)",
    "momentum": "momentum", "weight_decay": "weight decay", "dropout": "dropout probability",
    "label_shuffle": "fraction of shuffled labels", "param_count": "parameters",
}
METRIC_LABELS = {
    M.TRAIN_LOSS: "train loss", M.VAL_LOSS: "validation loss", M.TEST_LOSS: "test loss",
    M.TRAIN_ACC: "train accuracy", M.VAL_ACC: "validation accuracy", M.TEST_ACC: "test accuracy",
    M.TIME_TOTAL_S: "total training time (s)",
}


def axis_label(name: str) -> str:
    return AXIS_LABELS.get(name, name.replace("_", " "))


def combo_label(names: list[str], key: tuple) -> str:
    """("width", "lr"), (400, 0.1) -> "width=400, lr=0.1"."""
    return trial_label(dict(zip(names, key)), sep=", ", empty="all trials")


def is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def wants_log(values: Any) -> bool:
    """Log scale when every value is positive and they span two decades or more (lr 1e-3..1e-1)."""
    v = np.asarray(pd.Series(values).dropna(), dtype=float)
    return len(v) > 1 and bool((v > 0).all()) and v.max() / v.min() >= 100


def log_axis(meta: SweepMeta, name: str, values: Any) -> bool:
    """Log scale for an axis the sweep samples log-uniformly (meta log_axes: Optuna's lr draws
    may span less than two decades, yet read on a log scale), or whose values span decades."""
    v = np.asarray(pd.Series(values).dropna(), dtype=float)
    declared = name in meta.log_axes and len(v) > 0 and bool((v > 0).all())
    return declared or wants_log(v)


def title(meta: SweepMeta, what: str, metrics: tuple[str, ...] = (), headline: bool = False) -> str:
    """The sweep's headline (its title) over a plot of its headline metric (or, `headline`, the
    study's own figure); over any other plot (loss curves, time of an accuracy study) only the
    sweep's name, so no title claims what the plot does not show."""
    about_headline = headline or meta.headline in metrics
    name = (meta.title if about_headline else None) or meta.sweep or "sweep"
    return f"{name}\n{what}"


def save(fig: plt.Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def palette(n: int) -> list:
    """n distinct colours: tab10 up to 10, tab20 up to 20, then viridis steps."""
    if n <= 20:
        cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
        return [cmap(i) for i in range(n)]
    return [matplotlib.colormaps["viridis"](v) for v in np.linspace(0, 0.85, n)]


def study_x(frame: pd.DataFrame, meta: SweepMeta) -> str | None:
    """The sweep's x-axis when a study's table has it with two or more values, else None."""
    x = meta.x
    return x if x and x in frame and frame[x].nunique() > 1 else None


def finish_figure(fig: plt.Figure, meta: SweepMeta, what: str, path: Path, fontsize: str = "medium") -> Path:
    """Every study figure ends the same way: the sweep's title over `what`, tight layout, saved."""
    fig.suptitle(title(meta, what, headline=True), fontsize=fontsize)
    fig.tight_layout()
    return save(fig, path)


def line_colors(axes: list[str], keys: list[tuple], df: pd.DataFrame, meta: SweepMeta):
    """One colour per combination: an ordered colormap for one numeric axis with many values
    (a colorbar replaces the legend past MAX_LEGEND), tab10/tab20 otherwise.
    Returns (colors, scalar mappable or None)."""
    if len(axes) == 1 and is_numeric(df[axes[0]]) and len(keys) > 4:  # few lines: distinct hues read better
        values = np.array([k[0] for k in keys], dtype=float)
        norm = (matplotlib.colors.LogNorm if log_axis(meta, axes[0], values) else matplotlib.colors.Normalize)(
            np.nanmin(values), np.nanmax(values))
        # viridis without its last yellow 15%, which is faint on white
        cmap = matplotlib.colors.ListedColormap(matplotlib.colormaps["viridis"](np.linspace(0, 0.85, 256)))
        return [cmap(norm(v)) for v in values], matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
    cmap = matplotlib.colormaps["tab10" if len(keys) <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(len(keys))], None


def progress_column(meta: SweepMeta) -> str:
    """What training length is counted in: optimizer steps for step-based sweeps, else epochs."""
    return M.STEP if meta.unit == "step" else M.EPOCH
