"""The one training loop, Ray-free: every experiment family, every fused population and every
benchmark calls it. A plain trial is a population of one.

Data goes to the trial's device once (trainables.objectives); batches are drawn there
(trainables.sampling), so a step costs kernel launches, not Python per-sample work. The loop
trains for max_epochs (or max_steps), evaluates every k epochs (or steps) and at the end, and
calls `report(rows, checkpoint)` with one metrics row per member still training and, every
checkpoint_every units and at the end, a checkpoint state. A member whose `member_stop` rule
fires is masked out of the loss and the update; the loop ends when no member is left.

    rows = []
    run_training([{"width": 64, "max_epochs": 3}], load_dataset("mnist"), lambda r, s: rows.extend(r))
"""
from __future__ import annotations

import math
import platform
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from data_modules import DataBundle
from models import param_count
from trainables import metrics as M
from trainables import sequence_objectives  # noqa: F401  (registers the sequence families' objectives)
from trainables.checkpoint import FORMAT
from trainables.config import TrainConfig, build_model, data_args_of, split_config
from trainables.engines import make_engine
from trainables.numpy_step import OWN_STEPS
from trainables.objectives import OBJECTIVES, Objective
from trainables.optimizers import MemberOptimizer, build_optimizer
from trainables.sampling import Sampler
from trainables.step import EagerStep, make_step
from trainables.weights import record_weights

Report = Callable[[list[dict[str, Any]], "dict[str, Any] | None"], None]
MemberStop = Callable[[str, dict[str, Any]], bool]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(cfg: TrainConfig) -> torch.device:
    """auto -> CUDA when visible (Ray hides GPUs from trials it granted none), else CPU; on
    CUDA, TF32 matmuls as the config says."""
    requested = cfg.device
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but no CUDA GPU is visible to this trial")
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = cfg.tf32
        # a reused worker still holds the previous trial's cache: this trial's peak starts here
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    return torch.device(requested)


def device_name(device: torch.device) -> str:
    """GPU model, or CPU model (Linux's /proc/cpuinfo, else what platform knows)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@dataclass
class Members:
    """The population's configurations: what is shared and what each member sets for itself."""

    flats: list[dict[str, Any]]
    configs: list[TrainConfig]
    model_kwargs: list[dict[str, Any]]

    @classmethod
    def of(cls, flats: Sequence[Mapping[str, Any]]) -> "Members":
        split = [split_config(f) for f in flats]
        return cls([dict(f) for f in flats], [c for c, _ in split], [kw for _, kw in split])

    @property
    def first(self) -> TrainConfig:
        return self.configs[0]

    def vector(self, key: str, device) -> torch.Tensor:
        """One training setting of every member, (P,): the per-member hyperparameters."""
        return torch.tensor([float(getattr(c, key)) for c in self.configs], device=device)


class Progress:
    """Where training stands: units (epochs or steps) done, steps, epochs, time per member."""

    def __init__(self, size: int):
        self.units = self.steps = self.epochs = 0
        self.time_total = torch.zeros(size, dtype=torch.float64)

    def state(self) -> dict[str, Any]:
        return {"units": self.units, "steps": self.steps, "epochs": self.epochs, "time_total": self.time_total.clone()}

    def load(self, state: Mapping[str, Any]) -> None:
        self.units, self.steps, self.epochs = state["units"], state["steps"], state["epochs"]
        self.time_total = state["time_total"].clone()


def run_training(flats: Sequence[Mapping[str, Any]], bundle: DataBundle, report: Report, *,
                 resume: dict[str, Any] | None = None, **options) -> list[dict[str, Any]]:
    """Train the configurations `flats` (one, or several that differ only in member keys) as one
    population; returns the last rows. `resume` is a loaded checkpoint to continue from; the
    options are build_trainer's."""
    return build_trainer(flats, bundle, report, resume=resume, **options).run(fresh=resume is None)


def build_trainer(
    flats: Sequence[Mapping[str, Any]],
    bundle: DataBundle,
    report: Report,
    *,
    objective: str = "classification",
    threads: int | None = None,
    member_stop: MemberStop | None = None,
    resume: dict[str, Any] | None = None,
    artifacts_dir: str | Path | None = None,
) -> "Trainer":
    """Everything a run needs, on its device and ready to step: data, models, optimizer, step.
    `member_stop(member, row)` ends a member; `artifacts_dir` receives weight records."""
    if threads:
        torch.set_num_threads(max(1, int(threads)))
    members = Members.of(flats)
    first, P = members.first, len(flats)
    device = pick_device(first)
    task = OBJECTIVES[objective](bundle, members.configs, device)
    meta = bundle.meta
    models = []
    for c, kw in zip(members.configs, members.model_kwargs):
        seed_everything(c.seed)  # each member's initial weights come from its own seed, as unfused
        models.append(build_model(c, kw, meta.model_args, device=device))
    engine = make_engine(models, first.model, members.model_kwargs[0])
    active = torch.ones(P, device=device)
    opt = (build_optimizer(engine.parameters(), first) if P == 1 else
           MemberOptimizer(first.optimizer, engine.parameters(), members.vector("lr", device),
                           members.vector("momentum", device), members.vector("weight_decay", device), active))
    progress = Progress(P)
    if resume is not None:
        engine.load_state_dict({k: v.to(device) for k, v in resume["model_state"].items()})
        opt.load_state_dict(resume["optimizer_state"])
        task.sampler.load(resume["rng"]["sampler"])
        torch.set_rng_state(resume["rng"]["torch"])
        if device.type == "cuda" and "cuda" in resume["rng"]:  # dropout masks on the GPU
            torch.cuda.set_rng_state(resume["rng"]["cuda"], device)
        active.copy_(resume["active"])
        progress.load(resume["progress"])
    # A model may bring its own step (the NumPy MLP does its backprop by hand); the loop stays one.
    own = OWN_STEPS.get(first.model) if P == 1 else None
    eager = (own.step(engine, opt, task, active, first) if own else
             EagerStep(engine, opt, task, active, bf16=first.precision == "bf16", clip=first.clip_grad_norm,
                       track_norm=first.track_grad_norm))
    return Trainer(members, meta, engine, opt, task, eager, active, progress, report, member_stop, artifacts_dir,
                   params=param_count(models[0]))


def train_epoch(step: Callable[[torch.Tensor], None], sampler: Sampler, max_steps: int | None = None) -> tuple[int, int, bool]:
    """Steps until the sampler's epoch ends (or `max_steps`); (examples per member, steps, epoch ended)."""
    seen = steps = 0
    ended = False
    while not ended and (max_steps is None or steps < max_steps):
        drawn, ended = sampler.next()
        step(drawn)
        seen += drawn.shape[1]
        steps += 1
    return seen, steps, ended


class Trainer:
    """The loop's state between rows; `run` is the loop itself. A period is what one row
    reports: the last epoch (epoch-based training), or the steps since the last row."""

    def __init__(self, members, meta, engine, opt, task: Objective, eager, active, progress, report, member_stop,
                 artifacts_dir, params: int):
        self.members, self.meta, self.engine, self.opt, self.task = members, meta, engine, opt, task
        self.eager, self.step, self.active, self.progress = eager, None, active, progress
        self.report, self.member_stop = report, member_stop
        self.artifacts = Path(artifacts_dir) if artifacts_dir else None
        self.cfg = members.first
        self.fixed = {M.PARAM_COUNT: params, M.DEVICE: active.device.type, M.DEVICE_NAME: device_name(active.device),
                      M.FUSED_MEMBERS: engine.size, M.STARTED_AT: time.time()}
        # Stopped members' final state: their weights are masked, but BatchNorm statistics would drift.
        self.frozen = {j: {k: v[j].clone() for k, v in engine.state_dict().items()}
                       for j in torch.nonzero(active == 0).flatten().tolist()}
        self.last: list[dict[str, Any]] = []
        self.skipped: dict[str, torch.Tensor] | None = None  # NaN held-out metrics for rows between evaluations
        self.new_period()

    def new_period(self) -> None:
        self.period_start, self.train_time, self.seen, self.period_steps = time.perf_counter(), 0.0, 0, 0
        self.eager.begin_period()

    def run(self, fresh: bool) -> list[dict[str, Any]]:
        cfg, progress = self.cfg, self.progress
        if fresh:
            self.record_weights()
            if cfg.eval_at_start:
                self.write_rows(self.task.evaluate(self.engine, "train"), share=0.0)
                self.new_period()
        by_epoch = cfg.unit == "epoch"
        while progress.units < cfg.length and bool(self.active.any()):
            if by_epoch:
                self.new_period()
            ends_row = by_epoch or (progress.units + 1) % cfg.eval_every == 0 or progress.units + 1 >= cfg.length
            self.train_unit(ends_row)
            progress.units += 1
            if by_epoch:
                self.record_weights()
            if progress.units % cfg.eval_every and progress.units < cfg.length:
                if by_epoch:  # an epoch without a row still counts in its members' time
                    self.charge_time()
                continue
            self.write_rows(self.task.train_metrics(self.eager.stats, self.seen), share=self.charge_time())
            if not by_epoch:
                self.new_period()
        return self.last

    def train_unit(self, ends_row: bool = True) -> None:
        """One epoch, or one step when training is counted in steps. A unit that ends a row waits
        for the device: on a GPU the host only queues the work, and the time must count all of it."""
        t0 = time.perf_counter()
        seen, steps, ended = train_epoch(self.run_step, self.task.sampler, 1 if self.cfg.unit == "step" else None)
        if ends_row:
            self.sync()
        self.seen += seen
        self.progress.steps += steps
        self.period_steps += steps
        self.progress.epochs += ended
        self.train_time += time.perf_counter() - t0

    def run_step(self, drawn: torch.Tensor) -> None:
        if self.step is None:  # built on the first full draw: a CUDA graph captures its shape
            self.step = make_step(self.eager, drawn, self.cfg.cuda_graph)
        self.step(drawn)

    def time_steps(self, steps: int, warmup: int = 2) -> float:
        """Seconds per training step, from `steps` steps after `warmup` (the cost preview's basis)."""
        if warmup:
            self.time_steps(warmup, warmup=0)
        self.sync()
        t0 = time.perf_counter()
        done = 0
        while done < steps:  # across epoch ends
            done += train_epoch(self.run_step, self.task.sampler, steps - done)[1]
        self.sync()
        return (time.perf_counter() - t0) / max(done, 1)

    def time_evaluation(self) -> float:
        """Seconds of one evaluation row (validation and test sets)."""
        t0 = time.perf_counter()
        for split in ("val", "test"):
            self.task.evaluate(self.engine, split)
        self.sync()
        return time.perf_counter() - t0

    def sync(self) -> None:
        if self.active.is_cuda:
            torch.cuda.synchronize()

    def charge_time(self) -> float:
        """Add the period's time so far to every active member's total; returns each one's share."""
        n_active = max(int(self.active.sum()), 1)
        share = (time.perf_counter() - self.period_start) / n_active  # the population's time, shared
        self.progress.time_total += self.active.cpu().double() * share
        self.period_start = time.perf_counter()
        return share

    def write_rows(self, train: dict[str, torch.Tensor], share: float) -> None:
        """Evaluate, build one row per active member, apply member_stop, report (with a
        checkpoint every checkpoint_every units and at the end)."""
        if "grad_norm" in self.eager.stats:
            train[M.GRAD_NORM] = self.eager.stats["grad_norm"] / max(self.period_steps, 1)
        progress = self.progress
        held_out, evaluated = self.held_out(last=progress.units >= self.cfg.length)
        metrics = {**train, **held_out}
        metrics = {k: v.cpu().tolist() for k, v in metrics.items()}  # one host sync for all members
        when = {M.REPORTED_AT: time.time(), **self.gpu_memory()}
        was_active, rows = self.active.cpu(), []
        n_active = int(was_active.sum())
        epoch = progress.epochs if self.cfg.unit == "epoch" else progress.steps / self.task.sampler.steps_per_epoch
        for j in torch.nonzero(was_active).flatten().tolist():
            row = {M.EPOCH: epoch, M.STEP: progress.steps, **{k: v[j] for k, v in metrics.items()},
                   M.EPOCH_TIME_S: share, M.TIME_TOTAL_S: float(progress.time_total[j]),
                   M.SAMPLES_PER_S: self.seen * n_active / self.train_time if self.train_time > 0 else float("nan"),
                   M.TRAIN_SAMPLES: self.seen, **self.fixed, **when, M.MEMBER: j, "config": self.members.flats[j]}
            if self.member_stop is not None and progress.units and evaluated and self.member_stop(str(j), row):
                self.active[j] = 0
                self.frozen[j] = {k: v[j].clone() for k, v in self.engine.state_dict().items()}
            row[M.STOPPED] = not bool(self.active[j])
            rows.append(row)
        done = progress.units >= self.cfg.length or not bool(self.active.any())
        due = progress.units > 0 and (progress.units % self.cfg.checkpoint_every == 0 or done)
        self.last = rows
        self.report(rows, self.snapshot() if due else None)

    def gpu_memory(self) -> dict[str, float]:
        """On CUDA, the peak memory the allocator has reserved in this process: with fractional
        GPU shares, what tells a user how many trials fit on one GPU."""
        if not self.active.is_cuda:
            return {}
        return {M.GPU_PEAK_MIB: torch.cuda.max_memory_reserved(self.active.device) / 2**20}

    def held_out(self, last: bool) -> tuple[dict[str, torch.Tensor], bool]:
        """Validation and test metrics on every holdout_every-th row, the first and the last; NaN
        between (a row's train_* metrics are always there). Also whether they were evaluated:
        stoppers judge only rows that were."""
        row_index = self.progress.units // self.cfg.eval_every
        if row_index % self.cfg.holdout_every and not last and self.skipped is not None:
            return self.skipped, False
        metrics = {**self.task.evaluate(self.engine, "val"), **self.task.evaluate(self.engine, "test")}
        self.skipped = {k: torch.full_like(v, math.nan, dtype=torch.float64) for k, v in metrics.items()}
        return metrics, True

    def snapshot(self) -> dict[str, Any]:
        state = {k: v.cpu().clone() for k, v in self.engine.state_dict().items()}
        for j, frozen in self.frozen.items():  # BatchNorm statistics stop with their member
            for k, v in frozen.items():
                state[k][j] = v.cpu()
        meta, members = self.meta, self.members
        data_args = {k: list(v) if k == "input_shape" else v for k, v in data_args_of(self.cfg.model, meta.model_args).items()}
        return {
            "format": FORMAT,
            "model": self.cfg.model,
            "model_kwargs": [{**kw, **data_args} for kw in members.model_kwargs],
            "configs": members.flats,
            "data": {"name": meta.name, "variant": meta.variant},
            "epoch": self.progress.epochs,
            "step": self.progress.steps,
            "progress": self.progress.state(),
            "model_state": state,
            "optimizer_state": self.opt.state_dict(),  # cloned tensors
            "rng": {"sampler": self.task.sampler.state(), "torch": torch.get_rng_state(),
                    **({"cuda": torch.cuda.get_rng_state(self.active.device)} if self.active.is_cuda else {})},
            "active": self.active.cpu().clone(),
        }

    def record_weights(self) -> None:
        every = self.cfg.record_weights_every
        if self.artifacts is not None and every and self.progress.epochs % every == 0:
            record_weights(self.artifacts, self.progress.epochs, self.engine, self.members.flats)
