"""Every sweep module of this package, found by name: for messages that point to other sweeps, the
catalogue (`python -m sweeps`) with an estimate per sweep, and the README's table of sweeps."""
from __future__ import annotations

import importlib
import os
import pkgutil
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sweeps
from sweeps.spec import Sweep

if TYPE_CHECKING:
    from sweeps.calibration import Calibration


def all_sweeps() -> dict[str, Sweep]:
    """Module name -> its Sweep declaration, for every `sweeps.NAME` module that declares one."""
    found = {}
    for module in pkgutil.iter_modules(sweeps.__path__):
        declared = getattr(importlib.import_module(f"sweeps.{module.name}"), "SWEEP", None)
        if isinstance(declared, Sweep):
            found[module.name] = declared
    return dict(sorted(found.items()))


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
    from sweeps.calibration import calibration

    calibrated = calibrated or calibration()
    return [entry_of(name, sweep, data_dir, calibrated) for name, sweep in all_sweeps().items()]


def entry_of(name: str, sweep: Sweep, data_dir, calibrated: Calibration) -> Entry:
    from data_modules import peek_dataset
    from sweeps.cli import build_parser
    from sweeps.estimate import FINISH_S, RAY_START_S, TRIAL_START_S, makespan, step_flops_of
    from sweeps.plan import make_plan
    from trainables.config import expand_presets, split_config

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


def readme_table() -> str:
    """The README's table of sweeps, generated from the declarations (a test keeps them equal)."""
    lines = ["| command | what it reproduces |", "|---|---|"]
    lines += [f"| `python -m sweeps.{name}` | {sweep.title} |" for name, sweep in all_sweeps().items()]
    return "\n".join(lines)
