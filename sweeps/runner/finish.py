"""After Tune: Parquet tables, sample predictions of the best trial, plots, report, summary."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

from analysis.results.boundaries import BOUNDARIES_FILE, boundary_rows
from analysis.results.collect import ERROR_COLUMN, collect, last_error
from analysis.results.predictions import one_per_class
from analysis.results.report_md import build_report
from analysis.results.stats import best_trials, trial_label
from analysis.results.sweep_meta import SweepMeta
from analysis.results.tables import PREDICTIONS_FILE, write_parquet
from analysis.results.trial_models import model_of_trial
from data_modules.collection import Datasets
from sweeps.runner import interrupt, phase_clock
from sweeps.runner.plan import Plan
from sweeps.runner.progress import fmt_metric
from trainables import metrics as M


def sweep_meta(plan: Plan, run_facts: dict) -> SweepMeta:
    """The sweep's description stored with its Parquet files; `run_facts`: the command and where
    the data came from (sweeps.runner.run.data_location), SweepMeta fields by name."""
    s = plan.sweep
    log_axes = [k for k, (kind, _, _) in s.optuna.items() if kind == "loguniform"]
    return SweepMeta(
        sweep=s.name, title=s.title, description=s.description, axes=plan.axes,
        x=s.x or (plan.axes[0] if plan.axes else None), metric=s.metric, mode=s.mode,
        headline=s.headline, log_axes=log_axes, notes=plan.notes,
        unit="step" if plan.fixed.get("max_steps") else "epoch", full_length=s.full_length, family=s.objective,
        source=s.source, references=s.references, data_axes=s.data_axes, posthoc=s.posthoc, **run_facts,
    )


def finish(plan: Plan, data: Datasets, exp_dir: Path, run_facts: dict, shown=None) -> pd.DataFrame:
    """Write tables, predictions, plots and report; print the summary; return the trials table.
    `shown(file)` says where the user finds a file of the run (default: in exp_dir)."""
    shown = shown or (lambda file="": str(exp_dir / file))
    meta = sweep_meta(plan, run_facts)
    results, trials = collect(exp_dir, meta)
    interrupt.checkpoint()  # a Ctrl-C while writing: the tables are there, --resume writes the rest
    if results.empty:  # interrupted before any result: no plots or report of nothing
        print(f"\n{plan.sweep.name}: no trial has reported a result yet")
        return trials
    best = best_trials(trials, plan.sweep.metric, plan.sweep.mode)
    if len(best):
        row = best.iloc[0]
        model = model_of_trial(exp_dir, row[M.TRIAL_ID])
        bundle = data.for_config(row)
        if model is not None and len(bundle.meta.input_shape) == 3:  # images
            predictions = one_per_class(model, bundle, row[M.TRIAL_ID]).assign(trial_config=config_label(plan, row))
            write_parquet(predictions, exp_dir / PREDICTIONS_FILE)
    if len(trials) and all(len(b.meta.input_shape) == 1 and b.meta.input_shape[0] == 2 for b in data.bundles.values()):
        write_boundaries(plan, data, trials, exp_dir)
    if len(trials) and plan.sample:
        from analysis.results.samples import write_samples

        write_samples(exp_dir, trials, plan.sample, lambda row: data.for_config(row).meta.classes,
                      lambda row: config_label(plan, row))
    interrupt.checkpoint()
    phase_clock.mark("collected")
    if plan.sweep.posthoc:
        run_posthoc(plan, exp_dir)
        phase_clock.mark("posthoc")
    build_report(exp_dir, mark=phase_clock.mark)
    print_summary(plan, trials, best, exp_dir, shown)
    return trials


def run_posthoc(plan: Plan, exp_dir: Path) -> None:
    """The sweep's declared studies on its checkpoints (analysis.results.sections), each said in one line;
    a study that fails says why and the others still run: the training results are written."""
    from analysis.results.sections import run_study

    for step in plan.sweep.posthoc:
        options = {**step.options, **(step.smoke if plan.smoke_test else {})}
        start = time.perf_counter()
        try:
            written = run_study(step.name, exp_dir, step.trials, between_trials=interrupt.checkpoint, **options).files
        except Exception as e:  # noqa: BLE001 - one study's failure must not lose the sweep's report
            print(f"post-hoc {step.name}: failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
                  file=sys.stderr)
            continue
        print(f"post-hoc {step.name}: {len(written)} files in {exp_dir / 'posthoc'} ({time.perf_counter() - start:.1f} s)",
              flush=True)
        interrupt.checkpoint()


def write_boundaries(plan: Plan, data: Datasets, trials: pd.DataFrame, exp_dir: Path) -> None:
    """Decision boundaries of every configuration's first seed, for sweeps on 2-D inputs."""
    frames = []
    first_seed = trials[trials["seed"] == trials["seed"].min()] if "seed" in trials else trials
    for _, row in first_seed.iterrows():
        model = model_of_trial(exp_dir, row[M.TRIAL_ID])
        if model is None:
            continue
        test = data.for_config(row).test
        label = config_label(plan, row, with_seed=False) or row[M.TRIAL_ID]
        frames.append(boundary_rows(model, test.x, test.y, f"{label}\ntest acc {fmt_metric(M.TEST_ACC, row.get(M.TEST_ACC))}"))
    if frames:
        write_parquet(pd.concat(frames, ignore_index=True), exp_dir / BOUNDARIES_FILE)


def print_summary(plan: Plan, trials: pd.DataFrame, best: pd.DataFrame, exp_dir: Path, shown) -> None:
    counts = {k.lower(): v for k, v in trials["status"].value_counts().items()} if len(trials) else {}
    missing = not_started(plan, trials)
    if missing:
        counts["not started"] = len(missing)
    print(f"\n{plan.sweep.name}: {len(trials) + len(missing)} trials ({', '.join(f'{v} {k}' for k, v in counts.items())})")
    if any(missing):
        print(f"  not started: {', '.join(label for label in missing if label)}")
    metrics = [m for m in dict.fromkeys([plan.sweep.metric, M.VAL_ACC, M.TEST_ACC, plan.sweep.headline]) if m in trials]
    length = ("steps", M.STEP) if plan.fixed.get("max_steps") else ("epochs", "epochs")
    for rank, (_, row) in enumerate(best.iterrows(), 1):
        label = config_label(plan, row) or "trial"
        scores = "  ".join(f"{m} {fmt_metric(m, row.get(m))}" for m in metrics)
        print(f"  best {rank}: {label:<30} {scores}  {length[0]} {row.get(length[1])}")
    print_failures(plan, trials, exp_dir, shown)
    print(f"results: {shown('results.parquet')}\n         {shown('trials.parquet')}")
    print(f"plots:   {shown('plots')}\nreport:  {shown('report.md')}\n         {shown('report.html')}")


def not_started(plan: Plan, trials: pd.DataFrame) -> list[str]:
    """The labels of the planned trials the table lacks (a Ctrl-C came before they started);
    empty labels where nothing is swept, or for Optuna's trials, which exist only once proposed."""
    planned = sum(plan.run_sizes)
    if plan.search != "grid":
        return [""] * max(0, planned - len(trials))
    left = [config_label(plan, p) for p in plan.points()] * plan.num_samples
    for _, row in trials.iterrows():
        label = config_label(plan, row)
        if label in left:
            left.remove(label)
    return left[: max(0, planned - len(trials))]


def print_failures(plan: Plan, trials: pd.DataFrame, exp_dir: Path, shown) -> None:
    """Each trial that ended as ERROR: its values, its last error and the file holding all of them."""
    if "status" not in trials or ERROR_COLUMN not in trials:
        return
    for _, row in trials[trials["status"] == "ERROR"].iterrows():
        file = row.get(ERROR_COLUMN)
        error = last_error(exp_dir / file) if isinstance(file, str) else "no error file"
        print(f"  failed: {row[M.TRIAL_ID]} {config_label(plan, row)}: {error}\n          error file: "
              f"{shown(file) if isinstance(file, str) else '-'}")


def config_label(plan: Plan, row, with_seed: bool = True) -> str:
    """"width=400 seed=1": the swept values of a trial (empty when nothing is swept)."""
    keys = plan.axes + (["seed"] if with_seed and "seed" in plan.grid else [])
    return trial_label(row, keys)
