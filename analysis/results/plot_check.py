"""The problems a reader would see in a figure, found from its artists after it was drawn: an
axes with nothing on it, a single-valued axis left to matplotlib's arbitrary +-5% (the "19-21"
steps axis), an accuracy axis or colour scale outside [0, 1] or zoomed tighter than a test set's
noise, a degenerate colour scale (the "1e-9+1" colour bar), a legend drawn over the data, and two
legend entries a reader cannot tell apart (same colour and style) or that hide one another (same
points and marker). `figures.save` records each figure's problems in plots.json beside the PNGs,
so a test (or a person) checks a whole results folder without decoding images:

    python -m analysis.results.plot_check results/mnist_width     # lists problems, exit 1 if any
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Callable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

MANIFEST = "plots.json"
# A test set of 10,000 images at 90% accuracy has a 95% interval of about +-0.006: an accuracy
# axis spanning less than this shows one seed's noise as a trend.
MIN_ACCURACY_SPAN = 0.05
ACCURACY_SLACK = 0.05  # autoscale margins may show a little beyond [0, 1]; a colour scale may not
# CIELAB distance (delta E 1976) under which two same-style lines look alike: viridis's darkest
# purples for widths 50 and 100 on a linear 50..800 scale are 7.6 apart, tab20's closest pair 16.6.
MIN_COLOUR_DISTANCE = 9.0
LINE_SAMPLES = 12  # points per line segment tested against a legend's box

ACCURACY_LABEL = re.compile(r"(final )?((train|train-batch|validation|test) )?accuracy\b(?! */)")

Check = Callable[[Figure, object], list[str]]


def _name(ax: Axes) -> str:
    return repr(ax.get_title() or ax.get_ylabel() or ax.get_xlabel() or "untitled axes")


def _plot_axes(fig: Figure) -> list[Axes]:
    """The axes that show data: visible, not a colour bar."""
    return [ax for ax in fig.axes if ax.axison and ax.get_visible() and not hasattr(ax, "_colorbar")]


def _has_artists(ax: Axes) -> bool:
    return bool(ax.lines or ax.collections or ax.images or ax.patches)


def _is_accuracy(label: str) -> bool:
    """"test accuracy", "accuracy (mean across seeds)", "final test accuracy"; not "first step
    with 100% accuracy" or "test loss / accuracy"."""
    return ACCURACY_LABEL.match(label.lower()) is not None


def empty_axes(fig: Figure, renderer) -> list[str]:
    return [f"{_name(ax)} has no data" for ax in _plot_axes(fig)
            if not _has_artists(ax) or not np.isfinite(ax.dataLim.get_points()).all()]


def degenerate_axes(fig: Figure, renderer) -> list[str]:
    """All data on one value of an axis whose range nobody chose: matplotlib shows value +-5%."""
    problems = []
    for ax in _plot_axes(fig):
        points = ax.dataLim.get_points()
        if not np.isfinite(points).all():
            continue
        for i, (axis, auto) in enumerate((("x", ax.get_autoscalex_on()), ("y", ax.get_autoscaley_on()))):
            lo, hi = points[:, i]
            if auto and lo == hi:
                problems.append(f"{_name(ax)}: every point has {axis} = {lo:g} (a single-value {axis} axis; set its range)")
    return problems


def accuracy_axes(fig: Figure, renderer) -> list[str]:
    """An accuracy axis stays within [0, 1] (give or take autoscale margins) and spans at least
    MIN_ACCURACY_SPAN."""
    problems = []
    for ax in _plot_axes(fig):
        for axis, label, (lo, hi) in (("x", ax.get_xlabel(), ax.get_xlim()), ("y", ax.get_ylabel(), ax.get_ylim())):
            if not _is_accuracy(label):
                continue
            lo, hi = min(lo, hi), max(lo, hi)
            if lo < -ACCURACY_SLACK or hi > 1 + ACCURACY_SLACK:
                problems.append(f"{_name(ax)}: accuracy {axis} axis runs {lo:.3g}..{hi:.3g}; allowed: within [0, 1]")
            elif hi - lo < MIN_ACCURACY_SPAN - 1e-9:
                problems.append(f"{_name(ax)}: accuracy {axis} axis spans {hi - lo:.3g} < {MIN_ACCURACY_SPAN} "
                                "(zoomed into the noise)")
    return problems


def colour_scales(fig: Figure, renderer) -> list[str]:
    problems = []
    for ax in fig.axes:
        bar = getattr(ax, "_colorbar", None)
        if bar is None:
            continue
        label, (lo, hi) = ax.get_ylabel() or ax.get_xlabel(), (bar.norm.vmin, bar.norm.vmax)
        if lo is None or hi is None or not hi - lo > 1e-6 * max(1.0, abs(hi)):
            problems.append(f"colour bar {label!r} spans a single value ({lo}..{hi})")
        elif _is_accuracy(label) and (lo < 0 or hi > 1):
            problems.append(f"colour bar {label!r} runs {lo:.3g}..{hi:.3g}; allowed: within [0, 1]")
    return problems


def _display_points(line: Line2D) -> np.ndarray:
    """The line's points in display coordinates, with LINE_SAMPLES points along each segment
    when it is drawn as a line."""
    xy = np.asarray(line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float)))
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) < 2 or line.get_linestyle() in ("None", "none", "", " "):
        return xy
    t = np.linspace(0, 1, LINE_SAMPLES, endpoint=False)[:, None, None]
    along = xy[:-1][None] + t * (xy[1:] - xy[:-1])[None]
    return np.vstack([along.reshape(-1, 2), xy[-1:]])


def _data_points(ax: Axes) -> np.ndarray:
    parts = [_display_points(line) for line in ax.lines if line.get_visible()]
    parts += [np.asarray(c.get_offset_transform().transform(np.asarray(c.get_offsets(), dtype=float)))
              for c in ax.collections if isinstance(c, PathCollection) and c.get_visible()]  # scatter points
    parts = [p[np.isfinite(p).all(axis=1)] for p in parts if len(p)]
    return np.vstack(parts) if parts else np.empty((0, 2))


def _inside(points: np.ndarray, box) -> np.ndarray:
    x, y = points[:, 0], points[:, 1]
    return (x >= box.x0) & (x <= box.x1) & (y >= box.y0) & (y <= box.y1)


def legend_covers_data(fig: Figure, renderer) -> list[str]:
    """A legend whose box holds data points (lines sampled along their segments, scatter
    points) of an axes it is drawn over."""
    problems = []
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends)
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in _plot_axes(fig):
            points = _data_points(ax)
            covered = _inside(points, box) & _inside(points, ax.get_window_extent(renderer))
            if covered.any():
                problems.append(f"the legend covers {int(covered.sum())} data point(s) of {_name(ax)}")
    return problems


def lab(color) -> np.ndarray:
    """CIELAB (D65) of a matplotlib colour: distances there follow what the eye tells apart."""
    c = np.asarray(to_rgb(color), dtype=float)
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ c
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _style(line: Line2D) -> tuple:
    return line.get_linestyle(), line.get_marker(), line.get_markerfacecolor() == "none"


def indistinct_lines(fig: Figure, renderer) -> list[str]:
    """Legend entries of one axes whose lines look alike (close colours, same style), or whose
    points coincide under the same filled marker (the later hides the earlier)."""
    problems = []
    for ax in _plot_axes(fig):
        lines = [line for line in ax.lines if not line.get_label().startswith("_") and line.get_visible()]
        for i, a in enumerate(lines):
            for b in lines[i + 1:]:
                close = np.linalg.norm(lab(a.get_color()) - lab(b.get_color())) < MIN_COLOUR_DISTANCE
                if close and _style(a) == _style(b):
                    problems.append(f"{_name(ax)}: {a.get_label()!r} and {b.get_label()!r} have nearly the same colour")
                xa, xb = np.asarray(a.get_xydata(), dtype=float), np.asarray(b.get_xydata(), dtype=float)
                if (a.get_marker() not in ("None", "", None) and a.get_marker() == b.get_marker() and xa.shape == xb.shape
                        and np.allclose(xa, xb, equal_nan=True) and b.get_markerfacecolor() != "none"):
                    problems.append(f"{_name(ax)}: {b.get_label()!r} is drawn over {a.get_label()!r} (same points, same marker)")
    return problems


CHECKS: tuple[Check, ...] = (empty_axes, degenerate_axes, accuracy_axes, colour_scales, legend_covers_data,
                             indistinct_lines)


def problems(fig: Figure) -> list[str]:
    """Every problem the CHECKS find in `fig`, drawn (savefig draws it; drawn here otherwise)."""
    if fig.stale:
        fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [p for check in CHECKS for p in check(fig, renderer)]


# Entries held back instead of written (deferred): figures drawn in forked processes hand theirs to
# the parent, which writes plots.json once, so no two processes rewrite it at the same time.
_HELD: list[dict[Path, list[str]]] = []


def record(fig: Figure, path: Path) -> list[str]:
    """Write `path`'s problems into the plots.json beside it (replacing that file's entry)."""
    found = problems(fig)
    if _HELD:
        _HELD[-1][Path(path)] = found
        return found
    write_entries({Path(path): found})
    return found


@contextlib.contextmanager
def deferred():
    """Hold back the entries record() would write meanwhile; yields them ({PNG path: problems})."""
    held: dict[Path, list[str]] = {}
    _HELD.append(held)
    try:
        yield held
    finally:
        _HELD.pop()


def write_entries(found: dict[Path, list[str]]) -> None:
    """Put these PNGs' problems into the plots.json of their folders (replacing their entries)."""
    by_folder: dict[Path, dict[str, list[str]]] = {}
    for path, listed in found.items():
        by_folder.setdefault(path.parent, {})[path.name] = listed
    for folder, listed in by_folder.items():
        _write_manifest(folder, listed)


def _write_manifest(folder: Path, listed: dict[str, list[str]]) -> None:
    manifest = folder / MANIFEST
    try:
        entries = json.loads(manifest.read_text()) if manifest.is_file() else {}
    except (OSError, ValueError):
        entries = {}
    entries.update({name: {"problems": found} for name, found in listed.items()})
    tmp = manifest.with_name(f".{MANIFEST}.{os.getpid()}")
    tmp.write_text(json.dumps(dict(sorted(entries.items())), indent=1))
    tmp.replace(manifest)


def check(folder: str | Path) -> dict[str, list[str]]:
    """{PNG path relative to `folder`: its problems} for every figure recorded under `folder`
    (plots/, posthoc/...) whose PNG still exists, problems only."""
    folder = Path(folder)
    found = {}
    for manifest in sorted(folder.rglob(MANIFEST)):
        for name, entry in json.loads(manifest.read_text()).items():
            png = manifest.parent / name
            if png.is_file() and entry.get("problems"):
                found[png.relative_to(folder).as_posix()] = entry["problems"]
    return found


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not Path(args[0]).is_dir():
        print(f"plot_check: {' '.join(args) or 'no folder'} is not allowed; allowed: one results folder", file=sys.stderr)
        return 2
    found = check(args[0])
    for png, listed in found.items():
        for problem in listed:
            print(f"{png}: {problem}")
    print(f"plot_check: {sum(map(len, found.values()))} problem(s) in {len(found)} figure(s)")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
