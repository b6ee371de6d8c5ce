"""Ray Tune adapter for the classification family: config dict -> typed config -> the loop
(or the fused population loop).

Reports through `ray.tune.report`, attaches a self-describing checkpoint every k epochs and
at the end, and resumes from `ray.tune.get_checkpoint()`. Data and provenance arrive once
through the object store (`tune.with_parameters`).
"""
from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path
from typing import Any, Mapping

import torch
from ray import tune
from ray.tune import Stopper

from data_modules import DataBundle
from data_modules.collection import Datasets
from trainables import metrics as M
from trainables.checkpoint import CHECKPOINT_FILE, load_checkpoint, save_checkpoint
from trainables.config import expand_presets, split_config
from trainables.loop import run_training
from trainables.population import MEMBERS, run_population
from trainables.provenance import versions


def _quiet_checkpoint_logs() -> None:
    # Ray logs one INFO line per saved checkpoint, and one per trial restored from a checkpoint
    # (colour-coded, on resume); the sweep's progress display says enough.
    for name in ("ray.train._internal.storage", "ray.tune.trainable.trainable"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _quiet_unraisable(unraisable) -> None:
    """When Ray ends a trial's worker (SIGTERM at the end of a run or on Ctrl-C), its handler
    raises SystemExit, and if that lands in a garbage-collection callback Python prints an
    "Exception ignored ... Traceback" that Ray forwards to the sweep's console. The exception
    is dropped either way (Ray then kills the worker); only the noise goes."""
    if not isinstance(unraisable.exc_value, SystemExit):
        sys.__unraisablehook__(unraisable)


_quiet_checkpoint_logs()  # at import: Tune restores a trial's checkpoint before its function runs
sys.unraisablehook = _quiet_unraisable


def _restored() -> dict[str, Any] | None:
    """The checkpoint Tune restored this trial from, loaded, or None on a fresh start."""
    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        return None
    with checkpoint.as_directory() as folder:
        return load_checkpoint(Path(folder) / CHECKPOINT_FILE)


def _tune_reporter(data: DataBundle, provenance: Mapping[str, str]):
    """report(metrics, state) for the loops: stamps provenance, attaches state as a checkpoint."""
    stamp = {**provenance, **versions(), M.DATASET: data.meta.name, M.VARIANT: data.meta.variant}

    def report(metrics: dict[str, Any], state: dict[str, Any] | None) -> None:
        # time_this_iter_s makes Tune's own time_total_s equal the loop's (Tune overwrites it).
        row = {**metrics, **stamp, "time_this_iter_s": metrics[M.EPOCH_TIME_S]}
        if state is None:
            tune.report(row)
            return
        state = {**state, M.GIT_COMMIT: provenance.get(M.GIT_COMMIT, "unknown")}
        with tempfile.TemporaryDirectory() as folder:
            save_checkpoint(Path(folder) / CHECKPOINT_FILE, state)
            tune.report(row, checkpoint=tune.Checkpoint.from_directory(folder))

    return report


def _cap_gpu_memory(gpus: float) -> None:
    """Hold a trial granted a fraction of a GPU to that fraction of its memory, so an over-large
    trial fails with a clear error instead of starving the trials beside it."""
    if 0 < gpus < 1 and torch.cuda.is_available():
        torch.cuda.set_per_process_memory_fraction(gpus)


def classification_trainable(
    config: Mapping[str, Any], *, data: Datasets | DataBundle, provenance: Mapping[str, str], cpus: float = 1,
    gpus: float = 0.0, presets: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    member_stop: Stopper | None = None,
) -> None:
    """One trial; or, when the config lists `members`, one fused population of same-shape trials
    (trainables.population), each member stopped by its own copy of `member_stop`'s rule."""
    _quiet_checkpoint_logs()
    _cap_gpu_memory(gpus)
    data = Datasets.of(data)
    members = config.get(MEMBERS)
    bundle = data.for_config(members[0] if members else config)  # a population shares its data
    report = _tune_reporter(bundle, provenance)
    try:
        if members:
            members = [expand_presets(data.strip(m), presets or {}) for m in members]
            run_population(members, bundle, report, threads=int(cpus), member_stop=member_stop, resume=_restored())
            return
        cfg, model_kwargs = split_config(expand_presets(data.strip(config), presets or {}))
        run_training(cfg, model_kwargs, bundle, report, threads=int(cpus), resume=_restored())
    except torch.OutOfMemoryError:
        total = torch.cuda.get_device_properties(0).total_memory / 2**30
        raise RuntimeError(
            f"trial ran out of GPU memory within its share of {gpus:g} GPU ({gpus * total:.1f} of {total:.0f} GiB); "
            "allowed: a larger --gpus-per-trial, or a smaller batch_size or model"
        ) from None
