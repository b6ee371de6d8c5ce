"""results/curriculum/index.md: every sweep of a curriculum with its status, wall time, headline
result, report, and the source's results checked against it, under one scorecard. Read from each
sweep's Parquet files (nothing is recomputed but the reference checks).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from analysis.results.markdown import to_markdown
from analysis.results.references import check_references, scorecard
from analysis.results.report_md import REPORT_FILE
from analysis.results.stats import best_trials, fmt_value, trial_label
from analysis.results.tables import RESULTS_FILE, TRIALS_FILE, read_parquet
from data_modules.atomic import write_text_atomically


def sweep_summary(folder: Path) -> tuple[str, pd.DataFrame | None]:
    """(headline: the best trial's headline metric and settings, reference table) of one sweep's
    results folder; ("", None) when it has no results."""
    if not (folder / RESULTS_FILE).is_file():
        return "", None
    results, meta = read_parquet(folder / RESULTS_FILE)
    headline = ""
    if (folder / TRIALS_FILE).is_file():
        trials, _ = read_parquet(folder / TRIALS_FILE)
        best = best_trials(trials, meta.metric, meta.mode, n=1)
        if len(best) and meta.headline in best:
            row = best.iloc[0]
            settings = trial_label(row, meta.axes)
            headline = f"{meta.headline} {fmt_value(row[meta.headline])}" + (f" ({settings})" if settings else "")
    return headline, check_references(results, meta.references)


def write_index(root: Path, state: Mapping[str, Mapping[str, Any]], sweeps: Mapping[str, Any]) -> Path:
    rows, sections, reproduced, checked = [], [], 0, 0
    for name, entry in state.items():
        headline, table = sweep_summary(root / name)
        verdicts = ""
        if table is not None and len(table):
            r, c = scorecard(table)
            reproduced, checked = reproduced + r, checked + c
            verdicts = f"{r} of {c}" + (f" ({len(table) - c} without data)" if c < len(table) else "")
            sections += [f"### {name}", f"Source: {sweeps[name].source}." if name in sweeps else "", to_markdown(table)]
        report = f"[report]({name}/{REPORT_FILE})" if (root / name / REPORT_FILE).is_file() else ""
        status = entry.get("status", "")
        if entry.get("why"):
            status += f": {entry['why']}"
        wall = f"{entry['wall_s']:.0f} s" if "wall_s" in entry else ""
        rows.append({"sweep": name, "status": status, "wall time": wall, "headline (best trial)": headline,
                     "report": report, "references reproduced": verdicts})
    ran = sum(e.get("status") != "skipped" for e in state.values())
    parts = ["# Curriculum",
             f"**{reproduced} of {checked} reference values reproduced** over {ran} sweep(s) run "
             f"({len(state) - ran} skipped: their data is not here).",
             to_markdown(pd.DataFrame(rows)) if rows else "_No sweep ran._"]
    if sections:
        parts += ["## Reference vs this run, per sweep", *filter(None, sections)]
    path = root / "index.md"
    write_text_atomically(path, "\n\n".join(parts) + "\n")
    return path
