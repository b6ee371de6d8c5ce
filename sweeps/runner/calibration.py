"""This machine's speed, cached: in two numbers measured once, the seconds every training step
pays whatever its size (kernel launches, Python), and the seconds per floating-point operation
of a matmul-bound step; and the fixed costs of a run around its training (PhaseTimes: start-up,
Ray's start, a trial's start, the results phase), which every finished run measures and records;
and the dry run's timings of each job shape it has timed (PROBES), timed once per machine.
The catalogue (`python -m sweeps`) and `--dry-run` turn a sweep's steps and FLOPs into a wall-time
estimate with them (sweeps.runner.estimate.plan_cost), without timing the sweep itself.

    python -m sweeps --recalibrate     # measure the step figures again (about 5 s)
"""
from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from data_modules.atomic import write_text_atomically
from data_modules.download import default_data_dir
from data_modules.machine_cache import MachineCache


@dataclass(frozen=True)
class Calibration:
    machine: str
    step_overhead_s: float
    seconds_per_flop: float

    def step_seconds(self, flops: float) -> float:
        return self.step_overhead_s + flops * self.seconds_per_flop

    def eval_seconds(self, step_flops: float, batch_size: int, examples: int) -> float:
        """One evaluation of `examples` held-out examples by a model whose training step at
        `batch_size` costs `step_flops`: forward only, about a third of a step's FLOPs per batch's
        worth of examples, in chunks of EVAL_BATCH examples that each pay the per-step overhead
        (not one per training batch: 12,000 palindromes are 3 chunks, not 94 batches)."""
        from trainables.objectives import EVAL_BATCH

        chunks = -(-examples // EVAL_BATCH)
        return chunks * self.step_overhead_s + examples / batch_size * step_flops / 3 * self.seconds_per_flop


def cache_path() -> Path:
    return default_data_dir().parent / "calibration.json"


# The catalogue packs one trial per CPU, and a trial of one CPU trains on one thread (as the dry
# run's timings do): timed on all threads instead, a busy 2-core machine measured 0.05-0.2 s per
# step where one thread took 8 ms, and the palindromes' estimate came out 15x the dry run's.
THREADS = 1


def machine_key() -> str:
    """What the figures depend on: CPU (or GPU), cores, threads, torch."""
    from trainables.loop import device_name

    device = torch.device("cpu")
    return f"{device_name(device)}; {os.cpu_count()} cores; {THREADS} thread per trial; torch {torch.__version__}"


def calibration(remeasure: bool = False) -> Calibration:
    """The cached figures of this machine, measured (and cached) when missing or stale."""
    path, key = cache_path(), machine_key()
    if not remeasure:
        try:
            cached = Calibration(**json.loads(path.read_text()))
            if cached.machine == key:
                return cached
        except (OSError, ValueError, TypeError):
            pass
    measured = measure(key)
    if remeasure:
        PROBES.forget()  # the job shapes' own timings are measured again too
    try:
        write_text_atomically(path, json.dumps(asdict(measured)))
    except OSError:
        pass  # a read-only home still gets its estimate, measured again next time
    return measured


def measure(key: str) -> Calibration:
    """A logistic regression at batch 1 (almost nothing but overhead) and a 2 x 400 MLP at batch
    256 (mostly matmuls), each timed through the training loop's own step on THREADS threads."""
    from data_modules import DataBundle, DataMeta, Split
    from trainables.config import split_config
    from trainables.cost import step_flops_of
    from trainables.loop import build_trainer

    g = torch.Generator().manual_seed(0)
    images = Split(torch.randint(0, 256, (2048, 1, 28, 28), generator=g, dtype=torch.uint8), torch.randint(0, 10, (2048,), generator=g))
    bundle = DataBundle(images, images.take(torch.arange(16)), DataMeta("calibration", "random", (1, 28, 28), tuple("0123456789")))
    timings, saved_threads = [], torch.get_num_threads()
    try:
        for flat in ({"depth": 0, "width": [], "batch_size": 1}, {"depth": 2, "width": 400, "batch_size": 256}):
            flat = {**flat, "val_fraction": 0.0, "device": "cpu"}
            trainer = build_trainer([flat], bundle, lambda rows, state: None, threads=THREADS)
            seconds = trainer.time_steps(30 if flat["batch_size"] == 1 else 8, warmup=3)
            cfg, kwargs = split_config(flat)
            timings.append((step_flops_of(cfg, kwargs, {"input_shape": (1, 28, 28), "num_classes": 10}), seconds))
    finally:
        torch.set_num_threads(saved_threads)
    (f0, t0), (f1, t1) = timings
    per_flop = max((t1 - t0) / (f1 - f0), 1e-15)
    return Calibration(key, max(t0 - f0 * per_flop, 0.0), per_flop)


# The dry run's timings of job shapes on this machine (sweeps.runner.estimate.timed_job):
# key -> [seconds per step, seconds per evaluation].
PROBES = MachineCache("probes", kept=400)


def describe(c: Calibration) -> str:
    return f"{platform.node() or 'this machine'}: {1e3 * c.step_overhead_s:.2f} ms per step + {1e-9 / c.seconds_per_flop:.1f} GFLOP/s"


def phases_path() -> Path:
    return default_data_dir().parent / "phases.json"


# Fallbacks until a run on this machine has measured its own (sweeps.runner.phase_clock), from the
# smoke runs of mnist_width, palindrome, char_lm and text_models on the project's 2-core machine at
# a load average of 1-3, 2026-12-05 (under a load of 9-16 from other test suites every phase took
# 2-5x as long; a finished run's own figures replace these): interpreter, torch/Ray/pandas imports,
# data and the preview's timings to the printed estimate 6.4-8.4 s; from there to the first
# trial's first row (the rest of Ray's start, the Tuner, the first worker's data and model) about
# 3.5 s; a later trial in a warm worker 0.4 s; Ray's stop, tables, plots and report of 4-5 trials
# 2.7-3.5 s (a sweep with post-hoc studies takes far longer); the interpreter's exit after the
# summary 1.3-1.6 s (not measurable from inside: it follows the last atexit handler).
STARTUP_S = 7.0
RAY_START_S = 4.0
TRIAL_START_S = 0.4
RESULTS_S = 3.5
EXIT_S = 1.5
SMOOTHING = 0.5
"""Weight of a new measurement against the cached one: one run under load moves the figure half-way."""


@dataclass(frozen=True)
class PhaseTimes:
    """Seconds of a run's fixed phases on this machine: start-up per dataset (interpreter, imports,
    data, plan and the preview's timings), Ray's start from there to the first trial's first row,
    each later trial's start, and the results phase per sweep (Ray's stop, tables, plots, post-hoc studies, report). A figure not
    measured yet here is the module's fallback; `measured` says which are this machine's own."""

    machine: str
    startup_s: dict[str, float] = field(default_factory=dict)
    ray_start_s: float = RAY_START_S
    trial_start_s: float = TRIAL_START_S
    results_s: dict[str, float] = field(default_factory=dict)
    probe_factors: dict[str, float] = field(default_factory=dict)
    """Per sweep: its trials' training seconds against what its preview's timings predicted."""
    measured: tuple[str, ...] = ()
    """"ray_start_s", "trial_start_s": the machine-wide figures a run has measured here."""

    def startup(self, dataset: str) -> float:
        return self.startup_s.get(dataset, STARTUP_S)

    def results(self, key: str) -> float:
        return self.results_s.get(key, RESULTS_S)

    def probe_factor(self, key: str) -> float:
        """1 (the preview's own timings) until a run of the sweep measured it here. On the quiet
        2-core machine: 0.44-0.50 for the four smoke runs above (trials of a second or less), 1.08
        for char_lm at 500 steps and 1.23 for toy2d (batch-1 steps): too different for one
        sweep's figure to stand in for another's."""
        return self.probe_factors.get(key, 1.0)

    def recorded(self, dataset: str, results_key: str, startup: float | None, ray_start: float | None,
                 trial_start: float | None, results: float | None, probe_factor: float | None = None) -> PhaseTimes:
        """These figures with one run's measurements folded in (None: not measured by this run)."""
        def fold(old: float | None, new: float | None) -> float | None:
            return old if new is None else new if old is None else (1 - SMOOTHING) * old + SMOOTHING * new

        measured = set(self.measured)
        ray = fold(self.ray_start_s if "ray_start_s" in measured else None, ray_start)
        trial = fold(self.trial_start_s if "trial_start_s" in measured else None, trial_start)
        measured |= {name for name, value in (("ray_start_s", ray_start), ("trial_start_s", trial_start)) if value is not None}
        startups = {**self.startup_s, **({dataset: fold(self.startup_s.get(dataset), startup)} if startup is not None else {})}
        results_s = {**self.results_s, **({results_key: fold(self.results_s.get(results_key), results)} if results is not None else {})}
        factors = {**self.probe_factors,
                   **({results_key: fold(self.probe_factors.get(results_key), probe_factor)} if probe_factor is not None else {})}
        return replace(self, startup_s=startups, results_s=results_s, probe_factors=factors, ray_start_s=ray if ray is not None else self.ray_start_s,
                       trial_start_s=trial if trial is not None else self.trial_start_s, measured=tuple(sorted(measured)))


def phase_times(key: str | None = None) -> PhaseTimes:
    """This machine's cached phase times (the fallbacks where nothing is cached for it)."""
    key = key or machine_key()
    try:
        raw = json.loads(phases_path().read_text())
        cached = PhaseTimes(**{**raw, "measured": tuple(raw.get("measured", ()))})
        if cached.machine == key:
            return cached
    except (OSError, ValueError, TypeError):
        pass
    return PhaseTimes(key)


def save_phase_times(phases: PhaseTimes) -> None:
    try:
        write_text_atomically(phases_path(), json.dumps(asdict(phases), indent=1))
    except OSError:
        pass  # a read-only home keeps the fallbacks


def describe_phases(p: PhaseTimes) -> str:
    whose = "measured by runs here" if p.measured else "defaults until a run here measures them"
    return (f"fixed costs: Ray start {p.ray_start_s:.0f} s, {len(p.startup_s)} dataset start-up(s) and "
            f"{len(p.results_s)} results phase(s) ({whose})")
