"""How long a sweep will take, said before it starts. One cost model (plan_cost) serves the
catalogue (`python -m sweeps`) and `--dry-run` alike: each trial's training steps and held-out
evaluations follow from its resolved point (trainables.point.TrialPoint), each is priced by a
Timing, and the trials are packed onto the slots Ray will have (longest first). The dry run's
Timing (Probe) times a few steps of the costliest and of the cheapest configuration on the device
the trials will use and puts the rest on a straight line through the two by FLOPs (per-step
overhead plus time per FLOP); the catalogue's (Calibrated) prices them from the machine's cached
calibration (sweeps.runner.calibration), on the datasets' peeks, nothing loaded or trained. Around
the trials, both add the same fixed phases, measured by this machine's earlier runs
(calibration.PhaseTimes): start-up, Ray's start, each trial's start, the results phase, the exit.

    estimate = estimate_plan(plan, data, cpus_per_trial=1.0, gpus_per_trial=0.0)
    print("\\n".join(estimate.lines()))
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Protocol

import torch

from data_modules import DataBundle
from data_modules.collection import Datasets, peek_datasets
from sweeps.runner.calibration import EXIT_S, PROBES, Calibration, PhaseTimes, calibration, machine_key, phase_times
from sweeps.runner.catalog import all_sweeps
from sweeps.runner.cli import build_parser
from sweeps.runner.phase_clock import results_key
from sweeps.runner.plan import Plan, make_plan, point_label, trials_text
from sweeps.runner.spec import Sweep
from trainables.loop import OBJECTIVES  # with the sequence families' objectives registered
from trainables.point import TrialPoint

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
    held_out: int
    """Examples one evaluation scores (validation and test sets; a language model's fixed windows)."""
    seconds: float = math.nan
    """Its estimated wall time: its start and its training."""
    training: float = math.nan
    """Its estimated steps and evaluations alone (what the phase clock compares with the run's)."""

    @property
    def points(self) -> list[dict[str, Any]]:
        return [t.point for t in self.trials]

    @property
    def batch_size(self) -> int:
        return self.trials[0].cfg.batch_size


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
    phases: dict[str, float] = field(default_factory=dict)
    """The wall time's parts: "start-up", "Ray start", "trials", "results", "exit" (seconds)."""
    unmeasured: tuple[str, ...] = ()
    """The sweep's post-hoc studies when no run here has measured its results phase yet."""
    scale: float = 1.0
    """The factor the trials' timed seconds were scaled by (Probe.factor)."""

    def paid(self, startup: float) -> Estimate:
        """This estimate with the start-up this run has already paid instead of the cached one."""
        phases = {**self.phases, "start-up": startup}
        return replace(self, phases=phases, wall_s=self.wall_s - self.phases.get("start-up", 0.0) + startup)

    def lines(self) -> list[str]:
        total_steps = sum(j.steps for j in self.jobs)
        parts = " + ".join(f"{name} {fmt_seconds(s)}" for name, s in self.phases.items())
        out = [f"plan: {trials_text([len(j.trials) for j in self.jobs])}, {total_steps:,} training steps in all, on {self.device}, "
               f"{self.slots} at a time",
               f"estimated wall time: {fmt_seconds(self.wall_s)}"
               + (f" at most ({self.upper_bound})" if self.upper_bound else "") + (f"  ({parts})" if parts else "")]
        if self.timed:
            out.append("timed on this machine: " + "; ".join(self.timed))
        if self.unmeasured:  # they can outlast training (100 minimal-ratio runs: minutes after 17 s of training)
            out.append("not in the estimate: the post-hoc studies after training (" + ", ".join(self.unmeasured)
                       + "); a finished run measures them for the next estimate")
        return out


def fmt_seconds(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 600:
        return f"{seconds / 60:.1f} min"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def jobs_of(plan: Plan, data: Datasets | DataBundle) -> list[Job]:
    """The plan's trials with their length and work (Optuna: the search space's corners stand in
    for trials not proposed yet, averaged). `data`: the loaded datasets, or their peeks."""
    jobs, scored = [], OBJECTIVES[plan.sweep.objective].scored
    for group in plan.trials(data):
        cfg, sizes = group[0].cfg, group[0].sizes
        per_epoch = sizes.train // cfg.batch_size if cfg.drop_last else -(-sizes.train // cfg.batch_size)
        steps = cfg.max_steps or per_epoch * cfg.max_epochs
        rows = -(-cfg.length // (cfg.eval_every * cfg.holdout_every)) + cfg.eval_at_start  # held-out evaluations
        jobs.append(Job(group, steps, rows, group[0].step_flops * len(group), scored(sizes.val) + scored(sizes.test)))
    if plan.search == "optuna":  # num_samples trials drawn from the space: its mean cost each
        mean = Job(jobs[0].trials, round(sum(j.steps for j in jobs) / len(jobs)), jobs[0].rows,
                   sum(j.flops for j in jobs) / len(jobs), jobs[0].held_out)
        return [Job(mean.trials, mean.steps, mean.rows, mean.flops, mean.held_out) for _ in range(plan.num_samples)]
    return jobs * plan.num_samples


class Timing(Protocol):
    """Prices a job: the catalogue's Calibrated or the dry run's Probe."""

    timed: list[str]
    """What was measured for this plan, e.g. "width=800: 2.1 ms/step" (empty: nothing)."""

    def fit(self, jobs: list[Job]) -> None:
        """Look at the plan's jobs first (the probe times some of them)."""

    def seconds(self, job: Job) -> tuple[float, float]:
        """(seconds per training step, seconds per evaluation) of the job."""


@dataclass
class Calibrated:
    """Every job priced from the machine's calibration (sweeps.runner.calibration): per-step
    overhead plus time per FLOP; an evaluation a third of a step's FLOPs per batch of examples."""

    calibration: Calibration
    timed: list[str] = field(default_factory=list)

    def fit(self, jobs: list[Job]) -> None:
        pass

    def seconds(self, job: Job) -> tuple[float, float]:
        c = self.calibration
        return c.step_seconds(job.flops), c.eval_seconds(job.flops, job.batch_size, job.held_out)


@dataclass
class Probe:
    """This plan's own timings on this machine (--dry-run): of each kind of model (overhead_kind),
    the costliest and the cheapest job timed; the others on a straight line through them by FLOPs;
    all scaled by `factor`, what earlier runs here trained in against their probe's timings (the
    probe times while Ray starts beside it: on 2 cores, 2-3x slower than the trials then train)."""

    plan: Plan
    threads: int
    budget: float = TIMING_BUDGET_S
    factor: float = 1.0
    timed: list[str] = field(default_factory=list)
    lines: dict[str, tuple[Callable[[float], float], Callable[[float], float]]] = field(default_factory=dict)

    def fit(self, jobs: list[Job]) -> None:
        by_model: dict[str, list[Job]] = {}
        for job in jobs:  # models differ in overhead per step, not only in FLOPs (NumPy vs torch at batch 1)
            by_model.setdefault(overhead_kind(job), []).append(job)
        saved_threads = torch.get_num_threads()
        try:
            for kind, group in by_model.items():
                ends = sorted(group, key=lambda j: j.flops)
                ends = [ends[-1]] if ends[0].flops == ends[-1].flops else [ends[-1], ends[0]]
                timings = [(j.flops, *timed_job(self.plan, j, self.threads, self.budget)) for j in ends]
                self.lines[kind] = (_line([(f, s) for f, s, _, _ in timings]), _line([(f, e) for f, _, e, _ in timings]))
                self.timed += [t[3] for t in timings]
        finally:
            torch.set_num_threads(saved_threads)

    def seconds(self, job: Job) -> tuple[float, float]:
        step_at, eval_at = self.lines[overhead_kind(job)]
        return self.factor * step_at(job.flops), self.factor * eval_at(job.flops)


def timed_job(plan: Plan, job: Job, threads: int, budget: float) -> tuple[float, float, str]:
    """time_job's figures for this job's shape, timed once per machine and then read from its
    cache (sweeps.runner.calibration.PROBES): a later run of it skips the timing (about 2.5 s of a
    laptop core, beside Ray's start), and the probe factor its runs recorded keeps scaling those
    same figures. `python -m sweeps --recalibrate` times them afresh."""
    key = probe_key(plan, job, threads, budget)
    try:
        step_s, eval_s = map(float, PROBES.get(key))
    except (TypeError, ValueError):  # not timed here yet, or an entry this version cannot read
        step_s, eval_s, label = time_job(plan, job, threads, budget)
        PROBES.put(key, [step_s, eval_s])
        return step_s, eval_s, label
    return step_s, eval_s, f"{job_label(plan, job)}: {1000 * step_s:.3g} ms/step (timed here before)"


def probe_key(plan: Plan, job: Job, threads: int, budget: float) -> str:
    """What a job's step and evaluation times depend on: the machine (its cores and torch), the
    device, the model's shape (its structure and sizes, trainables.population.shape_key), the
    population size, batch size, held-out examples, threads and the timing budget."""
    first = job.trials[0]
    device = torch.cuda.get_device_name(0) if first.flat.get("device") != "cpu" and torch.cuda.is_available() else "cpu"
    return " | ".join([machine_key(), device, plan.sweep.objective, first.shape, f"x{len(job.trials)}",
                       f"batch {job.batch_size}", f"held-out {job.held_out}", f"{threads} threads", f"budget {budget:g}"])


def job_label(plan: Plan, job: Job) -> str:
    size = f" x {len(job.points)} fused" if len(job.points) > 1 else ""
    return f"{point_label(plan, job.points[0])}{size}"


def time_job(plan: Plan, job: Job, threads: int, budget: float) -> tuple[float, float, str]:
    """(seconds per step, seconds per evaluation, label) of one job, timed on its device."""
    from trainables.loop import build_trainer

    flats = [t.flat for t in job.trials]
    trainer = build_trainer(flats, job.trials[0].bundle, lambda rows, state: None, objective=plan.sweep.objective,
                            threads=threads)
    first = trainer.time_steps(1, warmup=1)
    steps = max(1, min(20, int(budget / max(first, 1e-6))))
    step_s = trainer.time_steps(steps, warmup=0) if steps > 1 else first
    eval_s = trainer.time_evaluation()
    return step_s, eval_s, f"{job_label(plan, job)}: {1000 * step_s:.3g} ms/step"


# Settings that change a model's per-step overhead, not only its FLOPs: a GRU over 100 tokens
# runs 100 small steps, a CNN a few large ones; a text preset names them (text_model=char_gru).
STRUCTURE_KEYS = ("model", "tokens", "cell", "layers")


def overhead_kind(job: Job) -> str:
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


def plan_cost(plan: Plan, data: Datasets | DataBundle, timing: Timing, slots: int, phases: PhaseTimes,
              device: str = "cpu") -> Estimate:
    """The plan's cost, the one model of it for the catalogue and --dry-run: its trials' steps and
    held-out evaluations (jobs_of), each trial priced by `timing` plus its start, packed onto at
    most `slots` at a time, between the fixed phases this machine has measured (`phases`): start-up
    (to the printed estimate), Ray's start (from there to the first trial's first row), and the
    results phase and exit."""
    jobs = jobs_of(plan, data)
    timing.fit(jobs)
    for job in jobs:
        step_s, eval_s = timing.seconds(job)
        job.training = job.steps * step_s + job.rows * eval_s
        job.seconds = phases.trial_start_s + job.training
    slots = max(1, min(slots, len(jobs)))
    stopping = "ASHA may stop trials early" if plan.scheduler == "asha" else (
        "min-delta stopping may end trials early" if plan.min_delta is not None else "")
    key = results_key(plan)
    parts = {"start-up": phases.startup(plan.sweep.dataset),
             "Ray start": phases.ray_start_s, "trials": makespan([j.seconds for j in jobs], slots),
             "results": phases.results(key), "exit": EXIT_S}
    unmeasured = () if key in phases.results_s else tuple(step.name for step in plan.sweep.posthoc)
    return Estimate(jobs, slots, device, sum(parts.values()), list(timing.timed), stopping, parts, unmeasured)


def estimate_plan(plan: Plan, data: Datasets | DataBundle, cpus_per_trial: float, gpus_per_trial: float,
                  cpus: int | None = None, gpus: int | None = None, budget: float = TIMING_BUDGET_S,
                  calibrated: Calibration | None = None, phases: PhaseTimes | None = None) -> Estimate:
    """The dry run's estimate: plan_cost with the plan's own timings on this machine (Probe), or
    with `calibrated`, a machine calibration, as the catalogue prices it; the fixed phases from
    `phases` (default: this machine's cache)."""
    on_gpu = gpus_per_trial > 0 and torch.cuda.is_available()
    device = torch.cuda.get_device_name(0) if on_gpu else "cpu"
    cpus = cpus or os.cpu_count() or 1
    slots = int((gpus or torch.cuda.device_count()) / gpus_per_trial) if on_gpu else max(1, int(cpus / max(cpus_per_trial, 1e-9)))
    threads = max(1, int(cpus_per_trial))
    phases = phases or phase_times()
    factor = phases.probe_factor(results_key(plan))
    timing = Calibrated(calibrated) if calibrated is not None else Probe(plan, threads, budget, factor)
    estimate = plan_cost(plan, data, timing, slots, phases, device)
    if isinstance(timing, Probe) and factor != 1.0:
        estimate.scale = factor
        estimate.timed.append(f"its last runs here trained at {factor:.2f}x these timings")
    return estimate


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
    estimate: Estimate | None = None
    """The estimate behind `seconds` (plan_cost)."""


def catalogue(data_dir=None, calibrated: Calibration | None = None, phases: PhaseTimes | None = None) -> list[Entry]:
    """Every sweep with its default plan's size and an estimate from the cached calibration and
    phase times: FLOPs counted on the meta device, data sizes peeked, nothing trained."""
    calibrated = calibrated or calibration()
    phases = phases or phase_times(machine_key())
    return [entry_of(name, sweep, data_dir, calibrated, phases=phases) for name, sweep in all_sweeps().items()]


def entry_of(name: str, sweep: Sweep, data_dir, calibrated: Calibration, argv: list[str] | None = None,
             phases: PhaseTimes | None = None) -> Entry:
    """The catalogue's line of a sweep: its plan (at its defaults, or with `argv`'s flags) priced by
    plan_cost from the calibration and phase times (default: this machine's cache), on the
    datasets' peeks, one trial per CPU."""
    plan = make_plan(sweep, build_parser(name, "").parse_args(argv or []), gpu_available=False)
    points = plan.points()
    epochs = sorted({plan.epochs_of(p) for p in points})
    unit = "steps" if plan.fixed.get("max_steps") else "epochs"
    length = f"{'/'.join(map(str, epochs))} {unit}"
    peeks = peek_datasets(sweep.dataset, data_dir, plan.data, sweep.data_axes, points)
    missing = next((peek for peek in map(peeks.for_config, points) if not peek.available), None)
    if missing is not None:
        return Entry(name, sweep, plan.trial_count, length, None, missing.why)
    estimate = plan_cost(plan, peeks, Calibrated(calibrated), os.cpu_count() or 1, phases or phase_times())
    return Entry(name, sweep, plan.trial_count, length, estimate.wall_s, estimate=estimate)
