"""report.md of a sweep, rebuilt from its Parquet files alone (results, trials, predictions):
what ran and where, the best configurations, the plots, accuracy per epoch and training cost;
report.html beside it is the same as one page (analysis.results.html_page). The command is
analysis.report.

    build_report(results_dir)      # -> RESULTS_DIR/report.md (and report.html), with plots/ redrawn
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd
import pyarrow as pa

from analysis.results.grid_plots import grid_markdown_frame, headline_label
from analysis.results.html_page import write_html
from analysis.results.markdown import TIME_PER_UNIT, best_table, epoch_table, speedup_table, time_table, to_markdown
from analysis.results.plots import make_all_plots
from analysis.results.references import check_sweep, scorecard
from analysis.results.samples import samples_markdown
from analysis.results.sections import report_parts, trial_metrics
from analysis.results.stats import SEED, STATUS, fmt_value, sweep_axes
from analysis.results.storage import write_atomically
from analysis.results.sweep_meta import SweepMeta
from analysis.results.tables import RESULTS_FILE, SAMPLES_FILE, TRIALS_FILE, read_parquet
from models.errors import UserError
from trainables import metrics as M

REPORT_FILE = "report.md"
REQUIRED_COLUMNS = (M.TRIAL_ID, M.EPOCH)  # what every part of the report reads from results.parquet
# Columns that are not config keys, so "fixed settings" lists only what the sweep held constant.
NOT_CONFIG = {M.TRIAL_ID, SEED, *M.EPOCH_METRICS, *M.PROVENANCE, *M.POPULATION_COLUMNS}
CAPTIONS = {
    "accuracy": "Final accuracy (last {unit}) against {x}",
    "time": "Total training time against {x}",
    "loss_vs_epoch": "Loss per {unit}",
    "accuracy_per_epoch": "Accuracy per {unit}",
    "heatmap": "{headline} over the grid",
    "parallel_coordinates": "Parallel coordinates: swept values and {headline}",
    "decision_boundaries": "Decision boundaries",
    "loss_vs_time": "Loss against wall time",
    "predictions": "Sample test predictions",
}


class ReportInputError(UserError):
    """The results folder or its Parquet files are missing or unreadable."""


def build_report(results_dir: str | Path, mark: Callable[[str], None] = lambda phase: None) -> Path:
    """Write the plots, RESULTS_DIR/report.md and report.html (each atomically); return report.md's path.
    `mark("plots")` and `mark("report")` are called as those are done (a run's --profile)."""
    results_dir = Path(results_dir)
    results, meta = _read(results_dir / RESULTS_FILE, required=True)
    missing = [c for c in REQUIRED_COLUMNS if c not in results]
    if missing:
        raise ReportInputError(f"{results_dir / RESULTS_FILE} has no column {', '.join(missing)}; allowed: a results "
                               "table written by a sweep (analysis.results.collect)")
    trials, _ = _read(results_dir / TRIALS_FILE, required=False)
    samples, _ = _read(results_dir / SAMPLES_FILE, required=False)
    path = results_dir / REPORT_FILE
    try:
        plots = make_all_plots(results_dir)
        mark("plots")
        studies = report_parts(results_dir, meta)
        text = render(results, trials, meta, [p.relative_to(results_dir) for p in plots], studies,
                      trial_metrics(results_dir), samples)
        write_atomically(path, lambda out: out.write(text.encode("utf-8")))  # a reader never sees half a report
        write_html(path)
        mark("report")
    except OSError as exc:  # a read-only or full results folder
        raise ReportInputError(f"cannot write the report in {results_dir}: {exc.strerror or exc}; allowed: a "
                               "writable results folder") from None
    return path


def _read(path: Path, required: bool) -> tuple[pd.DataFrame | None, SweepMeta]:
    if not path.parent.is_dir():
        raise ReportInputError(f"results folder not found: {path.parent}")
    if not path.is_file():
        if required:
            raise ReportInputError(f"no {path.name} in {path.parent} (run analysis.results.collect on the sweep first)")
        return None, SweepMeta()
    try:
        return read_parquet(path)
    except (OSError, pa.ArrowException) as exc:
        raise ReportInputError(f"cannot read {path}: {str(exc).splitlines()[0]}") from exc


def render(results: pd.DataFrame, trials: pd.DataFrame | None, meta: SweepMeta, plots: list[Path],
           studies: list[str] = (), study_metrics: pd.DataFrame | None = None,
           samples: pd.DataFrame | None = None) -> str:
    """The report's markdown; `plots` are paths relative to the results folder, `studies` the
    post-hoc sections (analysis.results.sections), `study_metrics` their per-trial values for references,
    `samples` the text trained language models wrote."""
    title = meta.title or meta.sweep or "Sweep report"
    parts = [f"# {title}"]
    if meta.description:
        parts.append(meta.description)
    parts += ["## Run", "\n".join(f"- **{k}:** {v}" for k, v in _run_facts(results, trials, meta) if v)]
    if meta.notes:
        parts += ["## Notes", "\n".join(f"- {note}" for note in meta.notes)]
    checked = results if study_metrics is None else results.merge(study_metrics, on=M.TRIAL_ID, how="left")
    parts += reference_section(checked, meta)
    parts += ["## Best configurations",
              f"Ranked by `{meta.metric}` at each trial's last {meta.unit} ({meta.mode}); "
              "mean ±95% interval across seeds (no ± with one seed).",
              _table(best_table(results, trials, meta))]
    grid = grid_markdown_frame(results, trials, meta)
    if grid is not None:
        parts += [f"## {headline_label(meta).capitalize()} over the grid",
                  f"Mean ±95% interval across seeds of each configuration's {headline_label(meta)}.",
                  _table(grid)]
    if plots:
        parts += ["## Plots", "\n\n".join(_image(p, meta) for p in plots)]
    parts += list(studies)
    per_epoch = M.TEST_ACC if M.TEST_ACC in results else M.TEST_LOSS  # regression reports losses only
    unit = meta.unit  # epoch, or step for a sweep trained in steps
    per_unit = "epoch time" if unit == "epoch" else f"{TIME_PER_UNIT[unit]}"
    parts += [f"## Test {'accuracy' if per_epoch == M.TEST_ACC else 'loss'} per {unit}",
              f"Columns are {unit}s; mean ±95% interval across seeds.",
              _table(epoch_table(results, trials, meta, per_epoch)),
              "## Training time",
              f"Total time at the last {unit} (mean ±95% across seeds); {per_unit} and samples/s averaged "
              f"over every {'epoch' if unit == 'epoch' else 'row'}.",
              _table(time_table(results, trials, meta))]
    parts += samples_markdown(samples)
    speedup = speedup_table(results, meta)
    if speedup is not None:
        parts += ["## GPU speed-up", f"Mean {per_unit} per device and model; speed-up = CPU time / GPU time.",
                  _table(speedup)]
    return "\n\n".join(parts) + "\n"


def reference_section(results: pd.DataFrame, meta: SweepMeta) -> list[str]:
    """The source's results beside ours, with a verdict each (analysis.results.references)."""
    if not meta.references:
        return []
    table = check_sweep(results, meta)
    score = scorecard(table)
    source = f"Source: {meta.source}. " if meta.source else ""
    return ["## Reference vs this run",
            f"{source}Ours: mean ±95% interval over seeds of each matching trial, at the source's epoch "
            f"(its last when none is given). **{score.reproduced} of {score.checked} reference values reproduced**"
            + (f"; {score.not_checked} not checked (no matching data, or the run stopped before the source's "
               "epoch)." if score.not_checked else "."),
            _table(table)]


def _run_facts(results: pd.DataFrame, trials: pd.DataFrame | None, meta: SweepMeta) -> list[tuple[str, str]]:
    axes, x = sweep_axes(meta, results)
    swept = ", ".join(f"`{a}`" + (" (x-axis)" if a == x and len(axes) > 1 else "") for a in axes) or "nothing (one configuration)"
    seeds = results[SEED].nunique() if SEED in results.columns else 1
    fixed = [c for c in results.columns if c not in NOT_CONFIG and c not in axes and results[c].nunique(dropna=False) == 1]
    devices = device_pairs(results, M.DEVICE, M.DEVICE_NAME)
    return [
        ("Command", f"`{meta.command}`" if meta.command else ""),
        ("Sweep", f"`{meta.sweep or _unique(results, M.SWEEP)}`; swept {swept}; {seeds} seed(s)"),
        ("Fixed settings", ", ".join(f"{c}={fmt_value(results[c].iloc[0])}" for c in fixed)),
        ("Dataset", _dataset(results)),
        ("Data read", "; ".join(meta.data_read)),
        ("Device(s)", devices),
        ("Versions", ", ".join(f"{lib} {_unique(results, col)}" for lib, col in
                               (("torch", M.TORCH_VERSION), ("ray", M.RAY_VERSION)) if _unique(results, col))),
        ("Git commit(s)", ", ".join(f"`{c}`" for c in distinct_values(results, M.GIT_COMMIT))),
        ("Trials", _trial_counts(results, trials)),
    ]


def distinct_values(df: pd.DataFrame, column: str) -> list[str]:
    return sorted({str(v) for v in df[column].dropna()}) if column in df.columns else []


def _unique(df: pd.DataFrame, column: str) -> str:
    return ", ".join(distinct_values(df, column))


def device_pairs(df: pd.DataFrame, first: str, second: str) -> str:
    """"cuda (NVIDIA H100), cpu (x86_64)": each distinct pair once."""
    if first not in df.columns:
        return ""
    seconds = df[second] if second in df.columns else pd.Series(None, index=df.index, dtype=object)
    pairs = sorted({(str(a), "" if pd.isna(b) else str(b)) for a, b in zip(df[first], seconds) if pd.notna(a)})
    return ", ".join(f"{a} ({b})" if b else a for a, b in pairs)


def _dataset(results: pd.DataFrame) -> str:
    datasets, variants = _unique(results, M.DATASET), _unique(results, M.VARIANT)
    return f"{datasets} (variant: {variants})" if variants else datasets


def _trial_counts(results: pd.DataFrame, trials: pd.DataFrame | None) -> str:
    if trials is None or STATUS not in trials.columns:
        return f"{results[M.TRIAL_ID].nunique()} (no {TRIALS_FILE}: status unknown)"
    counts = trials[STATUS].fillna("UNKNOWN").value_counts()
    return f"{len(trials)} — " + ", ".join(f"{status} {n}" for status, n in counts.items())


def _table(df: pd.DataFrame) -> str:
    return to_markdown(df) if not df.empty else "_No data._"


def _image(path: Path, meta: SweepMeta) -> str:
    stem = path.stem
    kind = stem.split("_vs_")[0] if stem.startswith(("accuracy_vs_", "time_vs_")) else stem
    x = stem.split("_vs_", 1)[1] if kind != stem else ""
    caption = CAPTIONS.get(kind, stem.replace("_", " ")).format(x=x, headline=headline_label(meta), unit=meta.unit)
    caption = caption[0].upper() + caption[1:]
    return f"### {caption}\n\n![{caption}]({path.as_posix()})"
