"""After Tune: Parquet tables, sample predictions of the best trial, plots, report, summary."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from analysis.collect import collect
from analysis.predictions import model_of_trial, one_per_class
from analysis.report import build_report
from analysis.tables import PREDICTIONS_FILE, write_parquet
from analysis.boundaries import BOUNDARIES_FILE, boundary_rows
from data_modules.collection import Datasets
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


def finish(plan: Plan, data: Datasets, exp_dir: Path, command: str) -> pd.DataFrame:
    """Write tables, predictions, plots and report; print the summary; return the trials table."""
    meta = sweep_meta(plan, command)
    results, trials = collect(exp_dir, meta)
    best = best_trials(trials, plan.sweep.metric, plan.sweep.mode)
    if len(best):
        row = best.iloc[0]
        model = model_of_trial(exp_dir, row[M.TRIAL_ID])
        bundle = data.for_config(row)
        if model is not None and len(bundle.meta.input_shape) == 3:  # images
            write_parquet(one_per_class(model, bundle, row[M.TRIAL_ID]), exp_dir / PREDICTIONS_FILE)
    if len(trials) and all(len(b.meta.input_shape) == 1 and b.meta.input_shape[0] == 2 for b in data.bundles.values()):
        write_boundaries(plan, data, trials, exp_dir)
    report = build_report(exp_dir)
    print_summary(plan, trials, best, exp_dir, report)
    return trials


def write_boundaries(plan: Plan, data: Datasets, trials: pd.DataFrame, exp_dir: Path) -> None:
    """Decision boundaries of every configuration's first seed, for sweeps on 2-D inputs."""
    frames = []
    first_seed = trials[trials["seed"] == trials["seed"].min()] if "seed" in trials else trials
    for _, row in first_seed.iterrows():
        model = model_of_trial(exp_dir, row[M.TRIAL_ID])
        if model is None:
            continue
        test = data.for_config(row).test
        label = " ".join(f"{a}={_fmt(row.get(a))}" for a in plan.axes) or row[M.TRIAL_ID]
        frames.append(boundary_rows(model, test.x, test.y, f"{label}\ntest acc {_fmt(row.get(M.TEST_ACC))}"))
    if frames:
        write_parquet(pd.concat(frames, ignore_index=True), exp_dir / BOUNDARIES_FILE)


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
