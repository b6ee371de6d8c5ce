"""The shared runner behind every `python -m sweeps.NAME`: flags -> validated plan -> data
loaded once -> Ray Tune (grid or Optuna, ASHA, min-delta stopping, resources) -> Parquet
tables, plots and report.md."""
from __future__ import annotations

import os
import shutil
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from analysis.results import storage
from analysis.results.arguments import UsageError
from analysis.results.collect import tune_statuses
from data_modules.collection import Datasets, load_datasets
from data_modules.download import default_data_dir
from models.errors import UserError
from sweeps.runner import interrupt, phase_clock, ray_session
from sweeps.runner.cli import build_parser
from sweeps.runner.locations import RECORD, RunPlace, check_place, new_place, resumable, resume_place
from sweeps.runner.plan import Plan, decide_fusion, make_plan, order_by_cost, plugins, validate_plan
from sweeps.runner.resources import check_memory, check_resources
from sweeps.runner.run_logs import RunInfo, check_installed, finish_logs
from sweeps.runner.run_record import (
    end_session,
    read_record,
    resume_command,
    resumed_args,
    start_session,
    write_record,
)
from sweeps.runner.settings_help import set_keys_help
from sweeps.runner.spec import Sweep
from trainables import metrics as M
from trainables.provenance import git_commit

MAX_DATA_NOTES = 3  # "data: read ..." lines before "... and N more dataset(s)"
# Tune's legacy reporter is silent at verbose=0; the new one still prints banners. Our
# ProgressLine callback is the display. Usage stats would prompt on first run.
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# Tune's default loggers include TensorBoard event files, written on every result; results go
# to Parquet here, so tune_setup adds only the JSON (read by analysis.results.collect) and CSV loggers.
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")


@dataclass
class Run:
    """What this invocation has set up so far: what an interruption must undo or report."""

    prog: str
    place: RunPlace | None = None  # where the results go (sweeps.runner.locations)
    exp_dir: Path | None = None  # place.local: the run folder, or its staging copy for a URI store
    new_dir: bool = False  # exp_dir was made by this run: removed again if it holds nothing to resume
    ray_started: bool = False
    previewing: Background | None = None  # the cost preview, computed while Ray starts
    session: bool = False  # this process's session is open in the run's record (run_record.start_session)
    profile: bool = False  # --profile: print the wall time of each phase at the end


def run(sweep: Sweep, argv: list[str] | None = None, doc: str = "") -> int:
    """Entry point of a sweep module; returns the process exit code: 0 done, 1 a trial failed,
    2 bad input, 130 interrupted (Ctrl-C, at any moment)."""
    state = Run(prog=sweep.prog)
    try:
        code = run_sweep(sweep, sys.argv[1:] if argv is None else list(argv), doc, state)
    except UserError as e:
        stop_started_ray(state)
        print(f"{state.prog}: error: {e}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = interrupted(state)
    close_session(state, code)
    if state.profile:
        print("\n".join(phase_clock.profile_lines()), flush=True)
    return code


def run_sweep(sweep: Sweep, argv: list[str], doc: str, state: Run) -> int:
    """Flags -> plan validated against the data -> resources checked -> Ray -> Tune -> finish."""
    phase_clock.start_run()
    parser = build_parser(state.prog, doc or sweep.title, epilog=set_keys_help(sweep))
    args = parser.parse_args(argv)
    state.profile = args.profile
    check_place(args.storage_path, args.name)  # seconds before the data and Ray, not a traceback after
    sweep.check_declared_model()
    record = None
    if args.resume:
        state.place = resume_place(sweep, args)
        state.exp_dir = state.place.local
        record = read_record(state.exp_dir)
        args = resumed_args(parser, args, record, sweep.name, state.exp_dir)
    check_installed(args.log)  # a missing backend package: one line before the data and Ray
    if args.dashboard and args.address:
        raise UsageError("--dashboard starts a local Ray's dashboard; with --address, reach the cluster's own "
                         "(`ray dashboard cluster.yaml`); allowed: one of --dashboard, --address")
    if args.dashboard:
        ray_session.check_dashboard()  # before the data is loaded and Ray starts
    if args.address:  # a cluster's GPUs are known only once we have joined it
        state.ray_started = start_ray(args)
    plan = make_plan(sweep, args, gpu_available=gpus_available(args))
    data = load_datasets(sweep.dataset, args.data_dir, plan.data, sweep.data_axes, plan.points())
    interrupt.checkpoint()
    validate_plan(plan, data)
    order_by_cost(plan, data)
    decide_fusion(plan, data, args.fuse, args.population_size, threads=max(1, int(args.cpus_per_trial)))
    local_cpus = ray_session.cpus_for(plan.trial_count, args.cpus_per_trial) or ray_session.machine_cpus()
    check_resources(plan.points(), args.cpus_per_trial, args.gpus_per_trial, local_cpus)
    check_memory(plan, data, args.gpus_per_trial)
    for warning in data.warnings:
        print(f"sweeplab: warning: {warning}", file=sys.stderr)
    notes = data.notes  # toy2d's data axes make dozens of datasets: the first few say enough
    for note in notes[:MAX_DATA_NOTES]:
        print(f"data: {note}")
    if len(notes) > MAX_DATA_NOTES:
        print(f"data: ... and {len(notes) - MAX_DATA_NOTES} more dataset(s)")
    phase_clock.mark("checked")
    if args.dry_run:
        if not args.resume:
            preview(plan, data, args, local_cpus)
        print_notes(plan)  # what fusion decided, and why: as the run says it
        return 0
    if not args.resume:
        state.place = new_place(sweep, args)
        state.exp_dir = state.place.local
    # Everything is validated: the preview times a few steps while Ray starts (seconds of waiting
    # on its processes), instead of one after the other. Ray itself must start in the main thread:
    # a driver connected from another thread loses its object store connection.
    if not args.resume:
        state.previewing = Background(lambda: preview(plan, data, args, local_cpus))
    if start_ray(args, plan):
        state.ray_started = True
        phase_clock.mark("ray_started")  # what the next estimate's "Ray start" learns from
    phase_clock.mark("ray_up")  # --profile: Ray is up, started now or before
    if state.previewing is not None:
        state.previewing.result()
        state.previewing = None
        phase_clock.mark("previewed")
    interrupt.checkpoint()
    location = data_location(sweep, args, plan, data)
    if not args.resume:
        state.new_dir = not state.exp_dir.exists()
        write_record(state.exp_dir, sweep.name, argv, location)
    state.session = start_session(state.exp_dir, phase_clock.run_start())  # python -m sweeps --runs: running until it ends
    if state.place.store is not None:
        storage.push(state.exp_dir, state.place.store, state.place.name, RECORD)
    command = " ".join([state.prog, *(record["argv"] if record else argv)])
    tune_interrupted = fit(plan, data, args, state.place)
    phase_clock.mark("trials")
    trials = finish_run(plan, data, state, {"command": command, **location}, args.log)
    phase_clock.mark("results")
    ended = [s for s in tune_statuses(state.exp_dir).values() if s in ("TERMINATED", "ERROR")]
    code = exit_code(trials, state, tune_interrupted or interrupt.pending(), all_ended=len(ended) >= plan.trial_count)
    if code == 0 and not args.resume and not args.address:  # a whole local run: what the next estimate starts from
        phase_clock.record(plan)
    return code


class Background:
    """A function running in a thread of its own; `result()` waits for it and returns its value
    or raises its error in the caller's thread."""

    def __init__(self, work: Callable[[], Any]):
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,), name="sweeplab-background", daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[], Any]) -> None:
        try:
            self._value = work()
        except BaseException as e:  # handed to the caller by result()
            self._error = e

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value

    def settle(self) -> None:
        """Wait for it to end, ignoring its error: the run is already ending for another reason."""
        self._thread.join()


def preview(plan: Plan, data: Datasets, args, cpus: int) -> None:
    """The plan and its estimated wall time, before Ray starts (sweeps.runner.estimate)."""
    from sweeps.runner.estimate import estimate_plan

    gpus = args.gpus_per_trial
    if gpus is None and plan.gpu_available:
        from sweeps.runner.tune_setup import default_gpu_share

        gpus = default_gpu_share(plan, data)
    budget = 0.2 if args.smoke_test else 1.0  # seconds of timing per timed configuration
    estimate = estimate_plan(plan, data, args.cpus_per_trial, gpus or 0.0, cpus=cpus, budget=budget)
    phase_clock.mark("estimate")  # the start-up ends here: what is left of Ray's start runs from now
    phase_clock.expect_training(sum(j.training for j in estimate.jobs) / estimate.scale)
    estimate = estimate.paid(phase_clock.startup_seconds())
    for line in estimate.lines():
        print(line, flush=True)


def data_location(sweep: Sweep, args, plan: Plan, data: Datasets) -> dict:
    """Where the sweep's data came from and what the loader read there, for the record and the
    results: tools that reopen a checkpoint (analysis.feature_maps) load the same data from there."""
    folder = Path(args.data_dir).resolve() if args.data_dir else default_data_dir()
    return {"dataset": sweep.dataset, "data_dir": str(folder), "loader_args": dict(plan.data), "data_read": data.notes,
            "plugins": [[p.module, p.file] for p in plugins(plan)]}


def finish_run(plan: Plan, data: Datasets, state: Run, run_facts: dict, logs: tuple[str, ...] = ()):
    """Stop Ray, then tables, plots and report, then the --log backends' last step (the report to
    MLflow); returns the trials table. Ray stops first, not in the background: a shutdown
    overlapping the results phase could end the driver (exit 1, no summary) after a resume from a
    killed driver."""
    stop_started_ray(state)
    phase_clock.mark("ray_stopped")
    from sweeps.runner.finish import finish  # matplotlib and the report's modules: part of collection

    place = state.place
    if place.store is not None:  # collection reads a local copy; the products go back up
        storage.pull(place.store, place.name, state.exp_dir)
    trials = finish(plan, data, state.exp_dir, run_facts, shown=place.shown)
    complete = len(trials) >= sum(plan.run_sizes) and "UNFINISHED" not in set(trials.get("status", []))
    finish_logs(logs, run_info(plan, place), complete)
    if place.store is not None:
        storage.push(state.exp_dir, place.store, place.name)
    return trials


def stop_started_ray(state: Run) -> None:
    """Stop the Ray this run started, holding Ctrl-C meanwhile."""
    with interrupt.shielded(raise_after=False):
        if state.previewing is not None:  # Ctrl-C or an error while Ray started: let the preview end first
            state.previewing.settle()
            state.previewing = None
        if state.ray_started:
            ray_session.stop_ray()
            state.ray_started = False


def interrupted(state: Run) -> int:
    """Ctrl-C: stop Ray, then say how to continue, or that there is nothing to continue."""
    stop_started_ray(state)
    if state.place is not None and resumable(state.place):
        print_resume_hint(state)
    else:
        if state.new_dir and state.exp_dir is not None and state.place.store is None:
            shutil.rmtree(state.exp_dir, ignore_errors=True)  # made by this run, and nothing in it to resume
        print(f"{state.prog}: {interrupt.NOTHING_TO_RESUME}", file=sys.stderr)
    return 130


def close_session(state: Run, code: int) -> None:
    """End this process's session in the run's record: finished (every trial ended, some may have
    failed) or interrupted. Nothing when the run's folder was removed (nothing to resume)."""
    if not state.session or not state.exp_dir.is_dir():
        return
    with interrupt.shielded(raise_after=False):
        end_session(state.exp_dir, "finished" if code in (0, 1) else "interrupted")
        if state.place.store is not None:
            storage.push(state.exp_dir, state.place.store, state.place.name, RECORD)


def print_resume_hint(state: Run) -> None:
    print(f"interrupted: continue with  {resume_command(state.prog, state.place.storage, state.place.name)}", flush=True)


def exit_code(trials, state: Run, was_interrupted: bool, all_ended: bool = True) -> int:
    """0 when every trial finished, 130 after an interruption (with the command that resumes
    the run, if anything is left to run), 1 if any failed."""
    status = list(trials["status"]) if "status" in trials else []
    if "UNFINISHED" in status or (was_interrupted and not all_ended):
        print_resume_hint(state)
        return 130
    if was_interrupted:
        print("interrupted once every trial had ended: the results above are complete", flush=True)
        return 130
    if "ERROR" in status:
        print(f"{status.count('ERROR')} trial(s) failed (error files listed above)", file=sys.stderr)
        return 1
    return 0


def gpus_available(args) -> bool:
    import ray

    if ray.is_initialized():
        return ray.cluster_resources().get("GPU", 0) > 0
    import torch

    return torch.cuda.is_available()


def start_ray(args, plan: Plan | None = None) -> bool:
    """Start (or join) Ray unless it is already up; True when this call started it."""
    cpus = ray_session.cpus_for(plan.trial_count, args.cpus_per_trial) if plan else None
    try:
        return ray_session.start_ray(args.address, num_cpus=cpus, dashboard=getattr(args, "dashboard", False))
    except ConnectionError as e:  # --address names no running Ray
        raise UsageError(f"--address {args.address}: {str(e).splitlines()[0]}; allowed: the address of a running "
                         "Ray cluster (started with `ray start --head`), or no --address for a local Ray") from None


def fit(plan: Plan, data: Datasets, args, place: RunPlace) -> bool:
    """Run (or resume) the Tune experiment; True when Ctrl-C ended it (Tune then saves its
    state, which says which trials ended, and returns early)."""
    from sweeps.runner.member_log import MemberLog
    from sweeps.runner.tune_setup import build_tuner

    logs = (MemberLog(args.log, run_info(plan, place), plan.label_keys),) if args.log else ()
    tuner = build_tuner(plan, data, args, place.tune_path, provenance={M.SWEEP: plan.sweep.name, M.GIT_COMMIT: git_commit()},
                        logs=logs)
    print(f"{plan.sweep.name}: {describe(plan)} -> {place.shown()}", flush=True)
    print_notes(plan)
    threading.Thread(target=import_results_phase, name="sweeplab-results-imports", daemon=True).start()
    return interrupt.tune_fit(tuner)[1]


RESULTS_IMPORT_AFTER_S = 60.0  # the longest wait for a first row before importing anyway


def import_results_phase() -> None:
    """Import what the results phase draws and writes with (matplotlib, the report's modules:
    0.5-0.8 s of a core) while the trials train, once the first trial has reported: until then
    the driver would only slow down the workers' own imports, which the first trials wait for."""
    import time

    deadline = time.monotonic() + RESULTS_IMPORT_AFTER_S
    while not any("first" in t for t in list(phase_clock.TRIALS.values())) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        import sweeps.runner.finish  # noqa: F401
    except Exception:  # noqa: BLE001 - an early import only: the results phase imports it again, and says why it fails
        pass


def print_notes(plan: Plan) -> None:
    for note in plan.notes:
        print(f"note: {note}", flush=True)


def run_info(plan: Plan, place: RunPlace) -> RunInfo:
    """The run as the --log backends name it: where its files go locally, its sweep and its name."""
    return RunInfo(place.local, plan.sweep.name, place.name)


def describe(plan: Plan) -> str:
    axes = ", ".join(f"{k} in {v}" for k, v in plan.grid.items()) or "one configuration"
    axes += f": {plan.trials_text()}"  # the same words as the preview's and the fusion note's
    opt = f", optuna over {', '.join(plan.sweep.optuna)} x {plan.num_samples}" if plan.search == "optuna" else ""
    sched = ", ASHA" if plan.scheduler == "asha" else ""
    stop = f", min-delta {plan.min_delta:g} (patience {plan.patience})" if plan.min_delta is not None else ""
    steps = plan.fixed.get("max_steps")
    return f"{axes}{opt}{sched}{stop}, up to " + (f"{steps} steps" if steps else f"{plan.max_epochs} epochs")


