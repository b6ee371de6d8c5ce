"""How long a sweep will take, said before it starts: a few steps of the costliest and of the
cheapest configuration are timed on the device the trials will use, every trial's time follows
from its floating-point work (a straight line through the two timings: per-step overhead plus
time per FLOP), and the trials are packed onto the slots Ray will have (longest first).

    estimate = estimate_plan(plan, data, cpus_per_trial=1.0, gpus_per_trial=0.0)
    print("\\n".join(estimate.lines()))
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import torch

from data_modules import peek_dataset
from data_modules.collection import Datasets
from sweeps.runner.calibration import Calibration, calibration
from sweeps.runner.catalog import all_sweeps
from sweeps.runner.cli import build_parser
from sweeps.runner.plan import Plan, make_plan, point_label
from sweeps.runner.spec import Sweep
from trainables.config import expand_presets, split_config
from trainables.cost import step_flops_of
from trainables.point import TrialPoint

# Measured on this project's 2-core reference machine (BENCHMARKS.md, cost preview): ray.init
# with warm workers, a trial's start in a warm worker, and tables + plots + report at the end.
RAY_START_S = 4.5
TRIAL_START_S = 0.4
FINISH_S = 2.0
TIMING_BUDGET_S = 1.0  # per timed configuration: the preview must stay a small part of a run


@dataclass
class Job:
    """One Tune trial: a configuration, or a fused population of them."""

    trials: list[TrialPoint]
    steps: int
    """Optimizer steps it trains (all epochs)."""
    rows: int
    """Evaluations of the validation and test sets it makes."""
    flops: float
    """Floating-point operations of one training step (forward and backward, every member)."""
    seconds: float = math.nan

    @property
    def points(self) -> list[dict[str, Any]]:
        return [t.point for t in self.trials]


@dataclass
class Estimate:
    jobs: list[Job]
    slots: int
    device: str
    wall_s: float
    timed: list[str] = field(default_factory=list)
    """What was measured, e.g. "width=800: 2.1 ms/step"."""
    upper_bound: str = ""
    """Why the real run may be shorter (ASHA or min-delta stopping), or empty."""

    def lines(self) -> list[str]:
        total_steps = sum(j.steps for j in self.jobs)
        out = [f"plan: {len(self.jobs)} trial(s), {total_steps:,} training steps in all, on {self.device}, "
               f"{self.slots} at a time",
               f"estimated wall time: {fmt_seconds(self.wall_s)}"
               + (f" at most ({self.upper_bound})" if self.upper_bound else "")
               + f"  (Ray start {RAY_START_S:g} s + trials + results {FINISH_S:g} s)"]
        if self.timed:
            out.append("timed on this machine: " + "; ".join(self.timed))
        return out


def fmt_seconds(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def jobs_of(plan: Plan, data: Datasets) -> list[Job]:
    """The plan's trials with their length and work (Optuna: the search space's corners stand in
    for trials not proposed yet, averaged)."""
    jobs = []
    for group in plan.trials(data):
        cfg, n_train = group[0].cfg, group[0].sizes.train
        per_epoch = n_train // cfg.batch_size if cfg.drop_last else -(-n_train // cfg.batch_size)
        steps = cfg.max_steps or per_epoch * cfg.max_epochs
        rows = -(-cfg.length // (cfg.eval_every * cfg.holdout_every)) + cfg.eval_at_start  # held-out evaluations
        jobs.append(Job(group, steps, rows, group[0].step_flops * len(group)))
    if plan.search == "optuna":  # num_samples trials drawn from the space: its mean cost each
        mean = Job(jobs[0].trials, round(sum(j.steps for j in jobs) / len(jobs)), jobs[0].rows,
                   sum(j.flops for j in jobs) / len(jobs))
        return [Job(mean.trials, mean.steps, mean.rows, mean.flops) for _ in range(plan.num_samples)]
    return jobs * plan.num_samples


def time_job(plan: Plan, data: Datasets, job: Job, threads: int, budget: float) -> tuple[float, float, str]:
    """(seconds per step, seconds per evaluation, label) of one job, timed on its device."""
    from trainables.loop import build_trainer

    flats = [t.flat for t in job.trials]
    trainer = build_trainer(flats, job.trials[0].bundle, lambda rows, state: None, objective=plan.sweep.family,
                            threads=threads)
    first = trainer.time_steps(1, warmup=1)
    steps = max(1, min(20, int(budget / max(first, 1e-6))))
    step_s = trainer.time_steps(steps, warmup=0) if steps > 1 else first
    eval_s = trainer.time_evaluation()
    label = point_label(plan, job.points[0])
    size = f" x {len(job.points)} fused" if len(job.points) > 1 else ""
    return step_s, eval_s, f"{label}{size}: {1000 * step_s:.3g} ms/step"


# Settings that change a model's per-step overhead, not only its FLOPs: a GRU over 100 tokens
# runs 100 small steps, a CNN a few large ones; a text preset names them (text_model=char_gru).
STRUCTURE_KEYS = ("model", "tokens", "cell", "layers")


def overhead_kind(plan: Plan, data: Datasets, job: Job) -> str:
    """The jobs timed together: same model and structure, so FLOPs alone order their cost."""
    flat = job.trials[0].flat
    return " ".join(f"{key}={flat[key]}" for key in STRUCTURE_KEYS if key in flat) or "model=mlp"


def makespan(durations: list[float], slots: int) -> float:
    """Wall time of running the durations on `slots` parallel slots, longest first (as the
    runner orders them)."""
    load = [0.0] * max(slots, 1)
    for d in sorted(durations, reverse=True):
        load[load.index(min(load))] += d
    return max(load)


def estimate_plan(plan: Plan, data: Datasets | Any, cpus_per_trial: float, gpus_per_trial: float,
                  cpus: int | None = None, gpus: int | None = None, budget: float = TIMING_BUDGET_S) -> Estimate:
    """Time the costliest and the cheapest trial, interpolate the rest by FLOPs, pack them."""
    import os

    data = Datasets.of(data)
    jobs = jobs_of(plan, data)
    on_gpu = gpus_per_trial > 0 and torch.cuda.is_available()
    device = torch.cuda.get_device_name(0) if on_gpu else "cpu"
    cpus = cpus or os.cpu_count() or 1
    slots = int((gpus or torch.cuda.device_count()) / gpus_per_trial) if on_gpu else max(1, int(cpus / max(cpus_per_trial, 1e-9)))
    slots = max(1, min(slots, len(jobs)))
    threads = max(1, int(cpus_per_trial))
    saved_threads = torch.get_num_threads()
    by_model: dict[str, list[Job]] = {}
    for job in jobs:  # models differ in overhead per step, not only in FLOPs (NumPy vs torch at batch 1)
        by_model.setdefault(overhead_kind(plan, data, job), []).append(job)
    timed = []
    try:
        for group in by_model.values():
            ends = sorted(group, key=lambda j: j.flops)
            ends = [ends[-1]] if ends[0].flops == ends[-1].flops else [ends[-1], ends[0]]
            timings = [(j.flops, *time_job(plan, data, j, threads, budget)) for j in ends]
            step_at, eval_at = _line([(f, s) for f, s, _, _ in timings]), _line([(f, e) for f, _, e, _ in timings])
            for job in group:
                job.seconds = TRIAL_START_S + job.steps * step_at(job.flops) + job.rows * eval_at(job.flops)
            timed += [t[3] for t in timings]
    finally:
        torch.set_num_threads(saved_threads)
    stopping = "ASHA may stop trials early" if plan.scheduler == "asha" else (
        "min-delta stopping may end trials early" if plan.min_delta is not None else "")
    wall = RAY_START_S + makespan([j.seconds for j in jobs], slots) + FINISH_S
    return Estimate(jobs, slots, device, wall, timed, stopping)


def _line(points: list[tuple[float, float]]):
    """y(x) through one or two measured (x, y) points: a constant, or overhead + slope * x
    (never below the cheaper measurement's own per-FLOP rate)."""
    if len(points) == 1 or points[0][0] == points[1][0]:
        return lambda x: points[0][1]
    (x1, y1), (x0, y0) = points
    slope = max((y1 - y0) / (x1 - x0), 0.0)
    return lambda x: max(y0 + slope * (x - x0), 0.0)


@dataclass
class Entry:
    """One line of the catalogue: a sweep, its size, and what it would take here."""

    name: str
    sweep: Sweep
    trials: int
    epochs: str
    seconds: float | None
    """Estimated wall time on this machine (None: the data is not here)."""
    why: str = ""


def catalogue(data_dir=None, calibrated: Calibration | None = None) -> list[Entry]:
    """Every sweep with its default plan's size and an estimate from the cached calibration:
    FLOPs counted on the meta device, data sizes peeked, nothing trained."""
    calibrated = calibrated or calibration()
    return [entry_of(name, sweep, data_dir, calibrated) for name, sweep in all_sweeps().items()]


def entry_of(name: str, sweep: Sweep, data_dir, calibrated: Calibration) -> Entry:
    plan = make_plan(sweep, build_parser(name, "").parse_args([]), gpu_available=False)
    points = plan.points()
    epochs = sorted({plan.epochs_of(p) for p in points})
    unit = "steps" if plan.fixed.get("max_steps") else "epochs"
    trials = plan.trial_count
    seconds = []
    for point in points:
        loader_args = {**plan.data, **{arg: point[key] for key, arg in sweep.data_axes.items()}}
        peek = peek_dataset(sweep.dataset, data_dir=data_dir, **loader_args)
        if not peek.available:
            return Entry(name, sweep, trials, f"{'/'.join(map(str, epochs))} {unit}", None, peek.why)
        flat = expand_presets({k: v for k, v in point.items() if k not in sweep.data_axes}, sweep.presets)
        cfg, kwargs = split_config(flat)
        n_train = cfg.train_size or round(peek.n_train * (1 - cfg.val_fraction))
        n_eval = round(peek.n_train * cfg.val_fraction) + (cfg.test_size or peek.n_test)
        flops = step_flops_of(cfg, kwargs, peek.input_shape, peek.num_classes, peek.tokens)
        steps = cfg.max_steps or -(-n_train // cfg.batch_size) * cfg.max_epochs
        rows = -(-cfg.length // cfg.eval_every) + cfg.eval_at_start
        eval_s = n_eval / cfg.batch_size * calibrated.step_seconds(flops / 3)  # forward only: about a third
        seconds.append(TRIAL_START_S + steps * calibrated.step_seconds(flops) + rows * eval_s)
    per_trial = seconds * plan.num_samples if plan.search == "grid" else [sum(seconds) / len(seconds)] * trials
    wall = RAY_START_S + makespan(per_trial, min(os.cpu_count() or 1, trials)) + FINISH_S
    return Entry(name, sweep, trials, f"{'/'.join(map(str, epochs))} {unit}", wall)
