"""This machine's speed in two numbers, measured once and cached: the seconds every training step
pays whatever its size (kernel launches, Python), and the seconds per floating-point operation
of a matmul-bound step. The catalogue (`python -m sweeps`) turns each sweep's steps and FLOPs
into a wall-time estimate with them, without timing the sweep itself.

    python -m sweeps --recalibrate     # measure again (about 5 s)
"""
from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from data_modules.atomic import write_text_atomically
from data_modules.download import default_data_dir


@dataclass(frozen=True)
class Calibration:
    machine: str
    step_overhead_s: float
    seconds_per_flop: float

    def step_seconds(self, flops: float) -> float:
        return self.step_overhead_s + flops * self.seconds_per_flop

    def eval_seconds(self, step_flops: float, batch_size: int, examples: int) -> float:
        """One evaluation of `examples` held-out examples by a model whose training step at
        `batch_size` costs `step_flops`: forward only, about a third of a step, per batch."""
        return examples / batch_size * self.step_seconds(step_flops / 3)


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


def describe(c: Calibration) -> str:
    return f"{platform.node() or 'this machine'}: {1e3 * c.step_overhead_s:.2f} ms per step + {1e-9 / c.seconds_per_flop:.1f} GFLOP/s"
