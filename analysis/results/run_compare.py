"""Two runs of one sweep side by side (the same sweep before and after a change, or on CPU and GPU),
from their Parquet files: for each configuration both ran (the swept settings; seeds are repeats),
the headline metrics with B - A and its 95% interval (analysis.results.difference), time per epoch,
which references changed verdict, and one plot. Written to compare.md.

    compare_runs(Path("results/a"), Path("results/b"))   # -> results/compare-a-vs-b/compare.md
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.results.difference import Difference, difference
from analysis.results.html_page import write_html
from analysis.results.markdown import TIME_PER_UNIT, UNIT_TIME, to_markdown, with_time_per_unit
from analysis.results.numbers import fmt_number
from analysis.results.references import check_sweep, mean_text
from analysis.results.stats import (
    final_rows,
    fmt_value,
    mean_ci,
    sort_key,
    sweep_axes,
    trained_rows,
    trial_label,
    usable_rows,
)
from analysis.results.sweep_meta import SweepMeta
from analysis.results.tables import RESULTS_FILE, TRIALS_FILE, read_parquet
from data_modules.atomic import write_text_atomically
from models.errors import UserError
from trainables import metrics as M

COMPARE_FILE = "compare.md"
PLOT_FILE = "compare.png"
SIDES = ("A", "B")
Config = tuple[str, ...]  # a configuration's swept values as they print (fmt_value): both runs key alike


class CompareError(UserError):
    """Two folders that cannot be compared; the message says why and what is allowed."""


@dataclass(frozen=True)
class RunTables:
    """One run's tables as the report reads them."""

    folder: Path
    results: pd.DataFrame
    trials: pd.DataFrame | None
    meta: SweepMeta

    @property
    def name(self) -> str:
        return self.folder.name

    def final(self) -> pd.DataFrame:
        return final_rows(self.results, self.trials)


def load_run(folder: Path) -> RunTables:
    folder = Path(folder)
    if not (folder / RESULTS_FILE).is_file():
        raise CompareError(f"{folder} is not a run: it holds no {RESULTS_FILE}; allowed: a sweep's results folder "
                           "(results/NAME, as python -m sweeps --runs lists them)")
    results, meta = read_parquet(folder / RESULTS_FILE)
    trials = read_parquet(folder / TRIALS_FILE)[0] if (folder / TRIALS_FILE).is_file() else None
    return RunTables(folder.resolve(), results, trials, meta)


def shared_axes(a: RunTables, b: RunTables) -> list[str]:
    """The swept settings of A that B has too; refuses runs of different sweeps."""
    if a.meta.sweep != b.meta.sweep:
        raise CompareError(f"{a.folder} is a {a.meta.sweep or 'unnamed'} run and {b.folder} a "
                           f"{b.meta.sweep or 'unnamed'} run; allowed: two runs of the same sweep")
    axes_b = sweep_axes(b.meta, b.final())[0]
    return [axis for axis in sweep_axes(a.meta, a.final())[0] if axis in axes_b]


def by_config(rows: pd.DataFrame, axes: list[str]) -> dict[Config, pd.DataFrame]:
    if rows.empty:
        return {}
    if not axes:
        return {(): rows}
    groups = [(key if isinstance(key, tuple) else (key,), group) for key, group in rows.groupby(axes, dropna=False)]
    groups.sort(key=lambda kg: tuple(map(sort_key, kg[0])))  # natural order: width 50 before 200
    return {tuple(map(fmt_value, key)): group for key, group in groups}


def shared_configs(a: RunTables, b: RunTables, axes: list[str]) -> list[Config]:
    """Configurations both runs have a final row for, in A's order; refuses when there is none."""
    mine, theirs = by_config(a.final(), axes), by_config(b.final(), axes)
    shared = [c for c in mine if c in theirs]
    if not shared:
        def listed(configs):
            return "; ".join(trial_label(dict(zip(axes, c)), axes) for c in configs) or "none"
        raise CompareError(f"{a.name} and {b.name} share no configuration: A has {listed(mine)}, B has "
                           f"{listed(theirs)}; allowed: two runs with at least one configuration in common")
    return shared


def headline_metrics(a: RunTables, b: RunTables) -> list[str]:
    """The sweep's headline and ranking metric, those both runs report."""
    wanted = dict.fromkeys([a.meta.headline, a.meta.metric])
    return [m for m in wanted if m in a.results and m in b.results]


def better(diff: Difference, metric: str) -> str:
    """Which run the 95% interval favours ("" without one)."""
    if math.isnan(diff.low):
        return ""
    if diff.low <= 0 <= diff.high:
        return "neither (0 in the interval)"
    higher_wins = M.MODES.get(metric, "max") == "max"
    return "B" if (diff.low > 0) == higher_wins else "A"


def metric_rows(a: RunTables, b: RunTables, axes: list[str], configs: list[Config],
                metrics: list[str]) -> list[tuple[Config, str, Difference]]:
    """(configuration, metric, difference of the per-seed final values) for each shared pair."""
    fa, fb = by_config(a.final(), axes), by_config(b.final(), axes)
    out = []
    for config in configs:
        for metric in metrics:
            va, vb = fa[config][metric].dropna(), fb[config][metric].dropna()
            if len(va) and len(vb):
                out.append((config, metric, difference(va, vb)))
    return out


def metric_table(rows: list[tuple[Config, str, Difference]], axes: list[str], a: RunTables, b: RunTables) -> pd.DataFrame:
    fa, fb = by_config(a.final(), axes), by_config(b.final(), axes)
    table = []
    for config, metric, d in rows:
        interval = f"[{fmt_number(d.low, sign=True)}, {fmt_number(d.high, sign=True)}]" if not d.note else d.note
        table.append({**dict(zip(axes, config)), "metric": metric,
                      "A": mean_text(fa[config][metric].dropna())[1], "B": mean_text(fb[config][metric].dropna())[1],
                      "B - A": fmt_number(d.diff, sign=True), "95% interval": interval,
                      "Welch p": "" if math.isnan(d.p) else f"{d.p:.3g}", "better": better(d, metric)})
    return pd.DataFrame(table)


def plot_points(a: RunTables, b: RunTables, axes: list[str], configs: list[Config], metric: str) -> pd.DataFrame:
    """What compare_plot draws: per shared configuration and side, the mean of `metric` over seeds
    and its 95% half-width."""
    rows = []
    for side, run in zip(SIDES, (a, b)):
        finals = by_config(run.final(), axes)
        for config in configs:
            values = finals[config][metric] if metric in finals[config] else pd.Series(dtype=float)
            mean, half, n = mean_ci(values)
            if n:
                rows.append({"label": trial_label(dict(zip(axes, config)), axes, empty="all trials"),
                             "side": side, "mean": mean, "half": half})
    return pd.DataFrame(rows, columns=["label", "side", "mean", "half"])


def epoch_times(run: RunTables, axes: list[str]) -> dict[Config, float]:
    """Mean training time per epoch (or per 100 steps) of each configuration's trained rows."""
    rows = trained_rows(with_time_per_unit(usable_rows(run.results, run.trials), run.meta))
    return {c: float(g[UNIT_TIME].mean()) for c, g in by_config(rows, axes).items()}


def time_table(a: RunTables, b: RunTables, axes: list[str], configs: list[Config]) -> pd.DataFrame:
    unit = TIME_PER_UNIT.get(a.meta.unit, "s/epoch")
    ta, tb = epoch_times(a, axes), epoch_times(b, axes)
    rows = []
    for config in configs:
        sa, sb = ta.get(config, math.nan), tb.get(config, math.nan)
        rows.append({**dict(zip(axes, config)), f"A {unit}": sa, f"B {unit}": sb,
                     "B / A": f"{sb / sa:.2f}x" if sa > 0 and not math.isnan(sb) else ""})
    return pd.DataFrame(rows)


def verdict_table(a: RunTables, b: RunTables) -> pd.DataFrame:
    """Each reference's verdict in A and in B (each run checked whole, as its own report does)."""
    va, vb = check_sweep(a.results, a.meta), check_sweep(b.results, b.meta)
    merged = va[["claim", "ours", "verdict"]].merge(vb[["claim", "ours", "verdict"]], on="claim", how="outer",
                                                    suffixes=(" A", " B"), sort=False)
    merged = merged.fillna("")
    merged["changed"] = ["yes" if x != y else "" for x, y in zip(merged["verdict A"], merged["verdict B"])]
    return merged[["claim", "ours A", "verdict A", "ours B", "verdict B", "changed"]]


def devices(run: RunTables) -> str:
    column = M.DEVICE_NAME if M.DEVICE_NAME in run.results else M.DEVICE
    return ", ".join(map(str, run.results[column].dropna().unique())) if column in run.results else "not recorded"


def describe(side: str, run: RunTables) -> str:
    trials = len(run.trials) if run.trials is not None else run.results[M.TRIAL_ID].nunique()
    command = f"; `{run.meta.command}`" if run.meta.command else ""
    return f"- **{side}**: {run.name} ({run.folder}): {trials} trials on {devices(run)}{command}"


def out_folder(a: RunTables, b: RunTables, out: Path | None) -> Path:
    return Path(out) if out is not None else b.folder.parent / f"compare-{a.name}-vs-{b.name}"


def compare_runs(run_a: Path, run_b: Path, out: Path | None = None) -> Path:
    """Write compare.md and compare.png for runs A and B; returns compare.md's path."""
    from analysis.results.compare_plot import plot_compare  # matplotlib only once the runs are known comparable

    a, b = load_run(run_a), load_run(run_b)
    axes = shared_axes(a, b)
    configs = shared_configs(a, b, axes)
    metrics = headline_metrics(a, b)
    rows = metric_rows(a, b, axes, configs, metrics)
    folder = out_folder(a, b, out)
    folder.mkdir(parents=True, exist_ok=True)
    headline = a.meta.headline if a.meta.headline in metrics else (metrics[0] if metrics else "")
    plot = plot_compare(plot_points(a, b, axes, configs, headline), headline, a.meta, (a.name, b.name),
                        folder / PLOT_FILE)
    verdicts = verdict_table(a, b)
    changed = int((verdicts["changed"] == "yes").sum())
    parts = [
        f"# {a.meta.title or a.meta.sweep}: {a.name} (A) vs {b.name} (B)", describe("A", a), describe("B", b),
        f"{len(configs)} configuration(s) in common ({', '.join(axes) or 'nothing swept'}); seeds are repeats.",
        "## Headline metrics",
        "B - A of the per-seed final values, its 95% interval (Welch-Satterthwaite t) and Welch's test where "
        "both runs have at least two seeds.",
        to_markdown(metric_table(rows, axes, a, b)) if rows else "_No headline metric in both runs._",
        "## Time per " + a.meta.unit, to_markdown(time_table(a, b, axes, configs)),
        "## References",
        f"{changed} of {len(verdicts)} reference(s) changed verdict." if len(verdicts) else "_The sweep has no references._",
        *([to_markdown(verdicts)] if len(verdicts) else []),
        "## Plot", f"![{headline}, A vs B]({plot.name})" if plot else "_Nothing to plot._",
    ]
    path = folder / COMPARE_FILE
    write_text_atomically(path, "\n\n".join(parts) + "\n")
    write_html(path)  # compare.html beside it: the plot embedded, the verdict A / B cells coloured
    return path
