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

from analysis.results.plot_check import MIN_ACCURACY_SPAN, record  # noqa: E402
from analysis.results.stats import fmt_value, trial_label  # noqa: E402
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


def _geometric(v: np.ndarray) -> bool:
    """Distinct values that grow by factors rather than steps (50, 100, 200, 400, 800): their
    gaps are more even on a log scale than on a linear one."""
    u = np.unique(v)
    if len(u) < 3:
        return True
    spread = [np.std(d) / np.mean(d) for d in (np.diff(np.log(u)), np.diff(u))]
    return spread[0] < spread[1]


def log_axis(meta: SweepMeta, name: str, values: Any) -> bool:
    """Log scale for a swept axis the sweep samples log-uniformly (meta log_axes: Optuna's lr
    draws may span less than two decades, yet read on a log scale), whose values span decades,
    or that span a ratio of 8 or more in factors (widths 50..800 doubling)."""
    v = np.asarray(pd.Series(values).dropna(), dtype=float)
    positive = len(v) > 0 and bool((v > 0).all())
    declared = name in meta.log_axes and positive
    doubling = len(v) > 1 and positive and v.max() / v.min() >= 8 and _geometric(v)
    return declared or wants_log(v) or doubling


def set_log_x(ax, values: Any) -> None:
    """A log x axis, base 2 under two decades (widths double), ticked at the values themselves
    when there are few of them, so 50, 100, ..., 800 read as such instead of 2^6."""
    v = np.unique(np.asarray(pd.Series(values).dropna(), dtype=float))
    ax.set_xscale("log", base=2 if v.max() / v.min() < 100 else 10)
    if len(v) <= 12:
        ax.set_xticks(v, [fmt_value(x) for x in v])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())


def title(meta: SweepMeta, what: str, metrics: tuple[str, ...] = (), headline: bool = False) -> str:
    """The sweep's headline (its title) over a plot of its headline metric (or, `headline`, the
    study's own figure); over any other plot (loss curves, time of an accuracy study) only the
    sweep's name, so no title claims what the plot does not show."""
    about_headline = headline or meta.headline in metrics
    name = (meta.title if about_headline else None) or meta.sweep or "sweep"
    return f"{name}\n{what}"


def save(fig: plt.Figure, path: Path) -> Path:
    """The one way figures are written: the PNG, and its problems (plot_check) in plots.json beside it."""
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    record(fig, Path(path))
    plt.close(fig)
    return path


def accuracy_limits(values: Any, min_span: float = MIN_ACCURACY_SPAN) -> tuple[float, float]:
    """An accuracy axis's range: the data with a 5% margin, widened to `min_span` around its middle
    (narrower shows one test set's noise as a trend), moved inside [0, 1] with room for a marker."""
    v = np.asarray(pd.Series(np.ravel(values)).dropna(), dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return 0.0, 1.0
    pad = 0.05 * (v.max() - v.min())
    lo, hi = v.min() - pad, v.max() + pad
    if hi - lo < min_span:
        middle = (lo + hi) / 2
        lo, hi = middle - min_span / 2, middle + min_span / 2
    room = 0.03 * (hi - lo)  # a marker at exactly 1.0 (or 0) is drawn whole
    if hi > 1 + room:
        lo, hi = lo - (hi - 1 - room), 1 + room
    if lo < -room:
        lo, hi = -room, min(hi + (-room - lo), 1 + room)
    return float(lo), float(hi)


MARKERS = ("o", "s", "^", "D", "v", "P")


def marker_style(i: int) -> dict:
    """The i-th line's marker: its own shape, every other one hollow, so that two runs with the
    same curve (the NumPy and the torch MLP) both stay visible."""
    return {"marker": MARKERS[i % len(MARKERS)], **({"mfc": "none"} if i % 2 else {})}


def colour_limits(values: Any, accuracy: bool) -> tuple[float, float]:
    """A colour scale's (vmin, vmax): the data's range, never a single value (matplotlib's
    "1e-9+1" colour bar) and, for an accuracy, inside [0, 1] (not the 0.9..1.1 of all-1.0 data)."""
    v = np.asarray(pd.Series(np.ravel(values)).dropna(), dtype=float)
    lo, hi = (float(v.min()), float(v.max())) if len(v) else (0.0, 1.0)
    if accuracy:
        lo, hi = max(lo, 0.0), min(hi, 1.0)
        if hi - lo < MIN_ACCURACY_SPAN:
            lo, hi = accuracy_limits([lo, hi])
            lo, hi = max(lo, 0.0), min(hi, 1.0)
    elif hi - lo <= 1e-6 * max(1.0, abs(hi)):
        pad = 0.05 * abs(hi) or 1.0
        lo, hi = lo - pad, hi + pad
    return lo, hi


def palette(n: int) -> list:
    """n distinct colours: tab10 up to 10, tab20 up to 20, then viridis steps."""
    if n <= 20:
        cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
        return [cmap(i) for i in range(n)]
    return [matplotlib.colormaps["viridis"](v) for v in np.linspace(0, 0.85, n)]


def legend_outside(fig: plt.Figure, handles: list, fontsize: str = "small") -> None:
    """One legend right of the figure's panels (past a twin axis's ticks and label; the saved
    PNG's tight box takes it in): never over the data, such as an interpolation's barrier at
    alpha 0.5."""
    fig.legend(handles, [h.get_label() for h in handles], fontsize=fontsize, loc="center left",
               bbox_to_anchor=(1.0, 0.5), frameon=False)


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
    """One colour per combination: an ordered colormap for one numeric axis with many values,
    evenly spaced by rank while a legend names them (values 50, 100 and 200 on a linear 50..800
    scale were three near-identical purples), by value once a colorbar replaces the legend
    (past MAX_LEGEND); tab10/tab20 otherwise. Returns (colors, scalar mappable or None)."""
    # viridis without its last yellow 15%, which is faint on white
    cmap = matplotlib.colors.ListedColormap(matplotlib.colormaps["viridis"](np.linspace(0, 0.85, 256)))
    if len(axes) == 1 and is_numeric(df[axes[0]]) and 4 < len(keys) <= MAX_LEGEND:  # few lines: distinct hues read better
        values = np.array([k[0] for k in keys], dtype=float)
        ranks = pd.Series(values).rank(method="dense").to_numpy() - 1
        return [cmap(r / max(ranks.max(), 1)) for r in ranks], None
    if len(axes) == 1 and is_numeric(df[axes[0]]) and len(keys) > MAX_LEGEND:
        values = np.array([k[0] for k in keys], dtype=float)
        norm = (matplotlib.colors.LogNorm if log_axis(meta, axes[0], values) else matplotlib.colors.Normalize)(
            np.nanmin(values), np.nanmax(values))
        return [cmap(norm(v)) for v in values], matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
    cmap = matplotlib.colormaps["tab10" if len(keys) <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(len(keys))], None


def progress_column(meta: SweepMeta) -> str:
    """What training length is counted in: optimizer steps for step-based sweeps, else epochs."""
    return M.STEP if meta.unit == "step" else M.EPOCH
