"""results/curriculum/index.md (and index.html, its page): every sweep of a curriculum with its
status, wall time, headline result, report, and the source's results checked against it, under one
scorecard. Read from each sweep's Parquet files (nothing is recomputed but the reference checks).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from analysis.results.html_page import write_html
from analysis.results.markdown import to_markdown
from analysis.results.numbers import fmt_number
from analysis.results.references import check_sweep, score_text, scorecard
from analysis.results.report_md import REPORT_FILE
from analysis.results.stats import best_trials, trial_label
from analysis.results.tables import RESULTS_FILE, TRIALS_FILE, read_parquet
from data_modules.atomic import write_text_atomically

# Why a sweep was skipped (its state entry's "data"), as the index says it.
ABSENT, UNREADABLE = "absent", "unreadable"
DATA_PROBLEMS = {ABSENT: "data absent", UNREADABLE: "data unreadable"}


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
            headline = f"{meta.headline} {fmt_number(row[meta.headline])}" + (f" ({settings})" if settings else "")
    return headline, check_sweep(results, meta)


def write_index(root: Path, state: Mapping[str, Mapping[str, Any]], sweeps: Mapping[str, Any]) -> Path:
    rows, sections, totals = [], [], [0, 0, 0]
    for name, entry in state.items():
        headline, table = sweep_summary(root / name)
        verdicts = ""
        if table is not None and len(table):
            score = scorecard(table)
            totals = [t + n for t, n in zip(totals, score)]
            verdicts = score_text(score)
            sections += [f"### {name}", f"Source: {sweeps[name].source}." if name in sweeps else "", to_markdown(table)]
        report = f"[report]({name}/{REPORT_FILE})" if (root / name / REPORT_FILE).is_file() else ""
        status = ": ".join(filter(None, (entry.get("status", ""), DATA_PROBLEMS.get(entry.get("data", "")),
                                         entry.get("why"))))
        wall = f"{entry['wall_s']:.0f} s" if "wall_s" in entry else ""
        rows.append({"sweep": name, "status": status, "wall time": wall, "headline (best trial)": headline,
                     "report": report, "references reproduced": verdicts})
    reproduced, checked, not_checked = totals
    ran = sum(e.get("status") != "skipped" for e in state.values())
    skipped = Counter(e.get("data", ABSENT) for e in state.values() if e.get("status") == "skipped")
    why = ", ".join(f"{n} {DATA_PROBLEMS.get(kind, kind)}" for kind, n in sorted(skipped.items()))
    parts = ["# Curriculum",
             f"**{reproduced} of {checked} reference values reproduced** ({not_checked} not checked) over {ran} "
             f"sweep(s) run" + (f" ({sum(skipped.values())} skipped: {why})." if skipped else "."),
             to_markdown(pd.DataFrame(rows)) if rows else "_No sweep ran._"]
    if sections:
        parts += ["## Reference vs this run, per sweep", *filter(None, sections)]
    path = root / "index.md"
    write_text_atomically(path, "\n\n".join(parts) + "\n")
    write_html(path)
    return path
