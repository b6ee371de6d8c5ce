"""Build the Ray Tune objects of a plan: param space, search algorithm, scheduler, stopper,
resources and run config. The only module (with analysis.results.collect) that knows Tune's shapes."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ray import tune
from ray.tune import Callback, CheckpointConfig, FailureConfig, PlacementGroupFactory, RunConfig, TuneConfig, Tuner
from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

from data_modules.collection import Datasets
from sweeps.runner import interrupt
from sweeps.runner.plan import Plan, plugins
from sweeps.runner.progress import ProgressLine
from sweeps.runner.resources import largest_trial, trial_bundle
from sweeps.runner.trial_clock import TrialClock
from trainables import metrics as M
from trainables.cost import gpu_share
from trainables.families import trainable_for
from trainables.metrics import MEMBERS
from trainables.stoppers import MinDeltaStopper

DISTRIBUTIONS = {"uniform": tune.uniform, "loguniform": tune.loguniform}


def param_space(plan: Plan) -> dict[str, Any]:
    if plan.populations:  # one trial per population; its members carry their full configs
        return {MEMBERS: tune.grid_search(plan.populations)}
    space: dict[str, Any] = dict(plan.fixed)
    if plan.search == "grid":
        space.update({k: tune.grid_search(v) for k, v in plan.grid.items()})
    else:
        space.update({k: tune.choice(v) for k, v in plan.grid.items()})
        space.update({k: DISTRIBUTIONS[kind](lo, hi) for k, (kind, lo, hi) in plan.sweep.optuna.items()})
    return space


def search_algorithm(plan: Plan):
    if plan.search != "optuna":
        return None
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # not "A new study created in memory"
    # A seeded TPE sampler makes the sequence of proposals reproducible.
    return OptunaSearch(sampler=optuna.samplers.TPESampler(seed=0))


def scheduler(plan: Plan):
    if plan.scheduler != "asha":
        return None
    from ray.tune.schedulers import ASHAScheduler

    # Rungs at epochs (or steps) 1, 2, 4, ...: halve the field at each rung up to the training
    # length. Not training_iteration: an epoch-0 row (eval_at_start) must not count as a rung.
    by_steps = plan.fixed.get("max_steps")
    return ASHAScheduler(time_attr=M.STEP if by_steps else M.EPOCH, max_t=by_steps or plan.max_epochs,
                         grace_period=1, reduction_factor=2)


class TrialResources:
    """Resources of one trial from its config (picklable, unlike a lambda): GPU share only for
    trials that may use one."""

    def __init__(self, cpus: float, gpus: float):
        self.cpus, self.gpus = cpus, gpus

    def __call__(self, config: dict) -> PlacementGroupFactory:
        return PlacementGroupFactory([trial_bundle(config, self.cpus, self.gpus)])


def default_gpu_share(plan: Plan, data: Datasets) -> float:
    """The GPU fraction that packs the largest trial of the plan as densely as its estimated
    memory allows (trainables.cost); the GPU size is read locally, else taken as 16 GiB."""
    import torch

    gpu_bytes = torch.cuda.get_device_properties(0).total_memory if torch.cuda.is_available() else 16 * 2**30
    return gpu_share(largest_trial(plan, data)[0], gpu_bytes)


class VanishedTempFileFilter(logging.Filter):
    """Tune copies its experiment state to the results folder in the background while it writes
    the next state (a tmp- file, then a rename); a copy that listed the tmp- file and then
    misses it fails with FileNotFoundError, and Tune logs the traceback, though the copy it
    starts right after takes the renamed file. Drops that error, and only it."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, FileNotFoundError) and "tmp-" in str(error))


class TrialFailureEchoFilter(logging.Filter):
    """Tune logs each failed trial's whole traceback as it happens ("Trial task failed for trial
    ..."), and "Trials did not complete: [...]" at the end. The sweep says the same in one line
    per failed trial, naming the error file that holds the traceback (sweeps.runner.finish): a user
    mistake (a model too big for its GPU share) must not end in 40 lines of Ray internals."""

    ECHOES = ("Trial task failed for trial", "Trials did not complete")

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.ECHOES)


QUIETED = {"ray.tune.execution.experiment_state": VanishedTempFileFilter,
           "ray.tune.execution.tune_controller": TrialFailureEchoFilter, "ray.tune.tune": TrialFailureEchoFilter}


def quiet_state_sync_races() -> None:
    """Drop the Tune log records that only repeat, noisily, what the sweep reports itself."""
    for name, kind in QUIETED.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())


class CtrlCToTune(Callback):
    """At Tune's first loop step, hands Tune a Ctrl-C pressed during its set-up (sweeps.runner.interrupt)."""

    def on_step_begin(self, iteration, trials, **info):
        interrupt.forward_to_tune()


def trial_name(trial) -> str:
    return f"trial_{trial.trial_id}"


@dataclass
class RunSettings:
    """What the Tuner takes from the plan alone, built without Ray (a test plans every sweep at
    its defaults this way)."""

    tune_config: TuneConfig
    min_delta: MinDeltaStopper | None
    progress: ProgressLine


def run_settings(plan: Plan) -> RunSettings:
    min_delta = None
    if plan.min_delta is not None:
        min_delta = MinDeltaStopper(plan.sweep.metric, plan.sweep.mode, plan.min_delta, plan.patience, plan.max_epochs)
    progress = ProgressLine(plan.label_keys, plan.max_epochs, sum(plan.run_sizes),
                            plan.fixed.get("max_steps"), plan.sweep.presets, every=plan.progress_every)
    tune_config = TuneConfig(
        metric=plan.sweep.metric, mode=plan.sweep.mode, num_samples=plan.num_samples,
        search_alg=search_algorithm(plan), scheduler=scheduler(plan), trial_dirname_creator=trial_name,
        reuse_actors=True,  # a warm worker runs the next trial: no process start per trial
    )
    return RunSettings(tune_config, min_delta, progress)


def build_tuner(plan: Plan, data: Datasets, args, run_path: str, provenance: dict[str, str],
                logs: tuple[Callback, ...] = ()) -> Tuner:
    """The Tuner of a new run, or of the run at `run_path` (a local folder or a URI) on --resume
    (which keeps the callbacks the run started with, `logs` among them)."""
    import ray

    quiet_state_sync_races()
    gpus = args.gpus_per_trial
    if gpus is None:
        gpus = default_gpu_share(plan, data) if ray.cluster_resources().get("GPU", 0) > 0 else 0.0
    settings = run_settings(plan)
    trainable = tune.with_resources(
        tune.with_parameters(trainable_for(plan.sweep.objective), data=data, provenance=provenance, cpus=args.cpus_per_trial,
                             gpus=gpus, presets=dict(plan.sweep.presets), plugins=plugins(plan),
                             member_stop=settings.min_delta if plan.populations else None),
        TrialResources(args.cpus_per_trial, gpus),
    )
    if args.resume:
        return Tuner.restore(run_path, trainable=trainable, resume_unfinished=True, resume_errored=True)
    storage_path, name = run_path.rstrip("/").rsplit("/", 1)
    stop = None if plan.populations else settings.min_delta  # a population stops its members itself
    return Tuner(
        trainable,
        param_space=param_space(plan),
        tune_config=settings.tune_config,
        run_config=RunConfig(
            name=name, storage_path=storage_path, stop=stop, verbose=0,
            callbacks=[settings.progress, CtrlCToTune(), JsonLoggerCallback(), CSVLoggerCallback(), TrialClock(),
                       *logs],
            checkpoint_config=CheckpointConfig(num_to_keep=2),
            # A trial whose worker or node dies restarts from its latest checkpoint, up to this often.
            failure_config=FailureConfig(max_failures=args.max_failures),
        ),
    )
