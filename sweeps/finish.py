"""After Tune: Parquet tables, sample predictions of the best trial, plots, report, summary."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from analysis.collect import collect
from analysis.predictions import model_of_trial, one_per_class
from analysis.report import build_report
from analysis.tables import PREDICTIONS_FILE, write_parquet
from data_modules import DataBundle
from sweeps.plan import Plan
from trainables import metrics as M


def sweep_meta(plan: Plan, command: str) -> dict:
    s = plan.sweep
    return {
        "sweep": s.name, "title": s.title, "description": s.description, "axes": plan.axes,
        "x": s.x or (plan.axes[0] if plan.axes else None), "metric": s.metric, "mode": s.mode,
        "primary": M.TEST_ACC, "notes": plan.notes, "command": command,
    }


def best_trials(trials: pd.DataFrame, metric: str, mode: str, n: int = 3) -> pd.DataFrame:
    ok = trials[trials.get("status", "") != "ERROR"] if "status" in trials else trials
    if metric not in ok:
        return ok.head(0)
    return ok[ok[metric].notna()].sort_values(metric, ascending=(mode == "min")).head(n)


def finish(plan: Plan, data: DataBundle, exp_dir: Path, command: str) -> pd.DataFrame:
    """Write tables, predictions, plots and report; print the summary; return the trials table."""
    meta = sweep_meta(plan, command)
    results, trials = collect(exp_dir, meta)
    best = best_trials(trials, plan.sweep.metric, plan.sweep.mode)
    if len(best):
        trial_id = best.iloc[0][M.TRIAL_ID]
        model = model_of_trial(exp_dir, trial_id)
        if model is not None:
            write_parquet(one_per_class(model, data, trial_id), exp_dir / PREDICTIONS_FILE)
    report = build_report(exp_dir)
    print_summary(plan, trials, best, exp_dir, report)
    return trials


def print_summary(plan: Plan, trials: pd.DataFrame, best: pd.DataFrame, exp_dir: Path, report: Path) -> None:
    counts = trials["status"].value_counts().to_dict() if len(trials) else {}
    print(f"\n{plan.sweep.name}: {len(trials)} trials ({', '.join(f'{v} {k.lower()}' for k, v in counts.items())})")
    keys = plan.axes + (["seed"] if "seed" in plan.grid else [])
    for rank, (_, row) in enumerate(best.iterrows(), 1):
        label = " ".join(f"{k}={_fmt(row.get(k))}" for k in keys) or "trial"
        print(f"  best {rank}: {label:<30} {plan.sweep.metric} {_fmt(row.get(plan.sweep.metric))}"
              f"  val_acc {_fmt(row.get(M.VAL_ACC))}  test_acc {_fmt(row.get(M.TEST_ACC))}  epochs {row.get('epochs')}")
    print(f"results: {exp_dir / 'results.parquet'}\n         {exp_dir / 'trials.parquet'}")
    print(f"plots:   {exp_dir / 'plots'}\nreport:  {report}")


def _fmt(v) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return str(v)
