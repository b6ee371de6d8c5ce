"""The shared runner behind every `python -m sweeps.NAME`: flags -> validated plan -> data
loaded once -> Ray Tune (grid or Optuna, ASHA, min-delta stopping, resources) -> Parquet
tables, plots and report.md."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from data_modules import DataError
from data_modules.collection import Datasets, load_datasets
from models import UnknownNameError
from sweeps import ray_session
from sweeps.cli import UsageError, parse_flags
from sweeps.plan import Plan, decide_fusion, make_plan, order_by_cost, validate_plan
from sweeps.spec import Sweep
from trainables import metrics as M
from trainables.config import ConfigError
from trainables.provenance import git_commit

USER_ERRORS = (UsageError, ConfigError, DataError, UnknownNameError)
# Tune's legacy reporter is silent at verbose=0; the new one still prints banners. Our
# ProgressLine callback is the display. Usage stats would prompt on first run.
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# Tune's default loggers include TensorBoard event files, written on every result; results go
# to Parquet here, so tune_setup adds only the JSON (read by analysis.collect) and CSV loggers.
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")


def run(sweep: Sweep, argv: list[str] | None = None, doc: str = "") -> int:
    """Entry point of a sweep module; returns the process exit code."""
    prog = f"python -m sweeps.{sweep.name}"
    try:
        args = parse_flags(prog, doc or sweep.title, argv)
        if args.address:  # a cluster's GPUs are known only once we have joined it
            start_ray(args)
        plan = make_plan(sweep, args, gpu_available=gpus_available(args))
        data = load_datasets(sweep.dataset, args.data_dir, sweep.data, sweep.data_axes, plan.points())
        exp_dir = experiment_dir(sweep, args)
        validate_plan(plan, data)
        order_by_cost(plan, data)
        decide_fusion(plan, data, args.fuse, args.population_size)
    except USER_ERRORS as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    command = " ".join([prog, *(sys.argv[1:] if argv is None else argv)])
    trials = fit_and_finish(plan, data, args, exp_dir, command, stop_ray=start_ray(args, plan))
    return exit_code(trials, prog, exp_dir)


def fit_and_finish(plan: Plan, data: Datasets, args, exp_dir: Path, command: str, stop_ray: bool):
    """Run the trials, then write tables, plots and report; returns the trials table."""
    from sweeps.finish import finish

    try:
        fit(plan, data, args, exp_dir)
    except BaseException:
        if stop_ray:
            ray_session.stop_ray()
        raise
    stopping = ray_session.stop_ray_in_background() if stop_ray else None
    try:
        return finish(plan, data, exp_dir, command)
    finally:
        if stopping:
            stopping.join()


def exit_code(trials, prog: str, exp_dir: Path) -> int:
    """0 when every trial finished, 130 after an interruption (resumable), 1 if any failed."""
    status = list(trials["status"]) if "status" in trials else []
    if "UNFINISHED" in status:
        print(f"interrupted: continue with  {prog} --resume --name {exp_dir.name}")
        return 130
    if "ERROR" in status:
        print(f"{status.count('ERROR')} trial(s) failed: their error.txt is in {exp_dir}/trial_*/", file=sys.stderr)
        return 1
    return 0


def experiment_dir(sweep: Sweep, args) -> Path:
    """Where this run's results go: a new numbered folder, or the one to resume."""
    root = Path(args.storage_path).expanduser().resolve()
    base = args.name or sweep.name
    taken = sorted((p for p in root.glob(f"{base}*") if p.is_dir() and _numbered(p.name, base)), key=lambda p: _number(p.name, base))
    if args.resume:
        target = root / args.name if args.name else (taken[-1] if taken else root / base)
        from ray.tune import Tuner

        if not Tuner.can_restore(str(target)):
            found = ", ".join(p.name for p in taken) or "none"
            raise UsageError(f"--resume: no sweep to resume at {target}; sweeps found in {root}: {found}")
        return target
    if not (root / base).exists():
        return root / base
    return root / f"{base}-{_number(taken[-1].name, base) + 1}"


def _numbered(name: str, base: str) -> bool:
    return name == base or (name.startswith(base + "-") and name[len(base) + 1:].isdigit())


def _number(name: str, base: str) -> int:
    return 1 if name == base else int(name[len(base) + 1:])


def gpus_available(args) -> bool:
    import ray

    if ray.is_initialized():
        return ray.cluster_resources().get("GPU", 0) > 0
    import torch

    return torch.cuda.is_available()


def start_ray(args, plan: Plan | None = None) -> bool:
    """Start (or join) Ray unless it is already up; True when this call started it."""
    cpus = ray_session.cpus_for(plan.trial_count, args.cpus_per_trial) if plan else None
    return ray_session.start_ray(args.address, num_cpus=cpus)


def fit(plan: Plan, data: Datasets, args, exp_dir: Path) -> None:
    """Run (or resume) the Tune experiment. Ctrl-C makes Tune save its state and return early."""
    from sweeps.tune_setup import build_tuner

    tuner = build_tuner(plan, data, args, exp_dir, provenance={M.SWEEP: plan.sweep.name, M.GIT_COMMIT: git_commit()})
    print(f"{plan.sweep.name}: {describe(plan)} -> {exp_dir}", flush=True)
    for note in plan.notes:
        print(f"note: {note}", flush=True)
    tuner.fit()


def describe(plan: Plan) -> str:
    axes = ", ".join(f"{k} in {v}" for k, v in plan.grid.items()) or "one configuration"
    if plan.populations:
        axes += f" as {len(plan.populations)} fused population(s)"
    opt = f", optuna over {', '.join(plan.sweep.optuna)} x {plan.num_samples}" if plan.search == "optuna" else ""
    sched = ", ASHA" if plan.scheduler == "asha" else ""
    stop = f", min-delta {plan.min_delta:g} (patience {plan.patience})" if plan.min_delta is not None else ""
    return f"{axes}{opt}{sched}{stop}, up to {plan.max_epochs} epochs"


def main_for(sweep: Sweep, doc: str):
    """`main(argv=None)` for a sweep module."""

    def main(argv: list[str] | None = None) -> int:
        return run(sweep, argv, doc)

    return main
