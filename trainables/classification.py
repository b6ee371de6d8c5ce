"""Ray Tune adapter for the classification family: config dict -> typed config -> the loop.

Reports through `ray.tune.report`, attaches a self-describing checkpoint every k epochs and
at the end, and resumes from `ray.tune.get_checkpoint()`. Data and provenance arrive once
through the object store (`tune.with_parameters`).
"""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any, Mapping

from ray import tune

from data_modules import DataBundle
from trainables import metrics as M
from trainables.checkpoint import CHECKPOINT_FILE, load_checkpoint, save_checkpoint
from trainables.config import expand_presets, split_config
from trainables.loop import run_training
from trainables.provenance import versions


def classification_trainable(
    config: Mapping[str, Any], *, data: DataBundle, provenance: Mapping[str, str], cpus: float = 1,
    presets: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
) -> None:
    # Ray logs one INFO line per saved checkpoint; the sweep's progress display says enough.
    logging.getLogger("ray.train._internal.storage").setLevel(logging.WARNING)
    cfg, model_kwargs = split_config(expand_presets(config, presets or {}))
    resume = None
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            resume = load_checkpoint(Path(folder) / CHECKPOINT_FILE)
    stamp = {**provenance, **versions(), M.DATASET: data.meta.name, M.VARIANT: data.meta.variant}

    def report(metrics: dict[str, Any], state: dict[str, Any] | None) -> None:
        # time_this_iter_s makes Tune's own time_total_s equal the loop's (Tune overwrites it).
        row = {**metrics, **stamp, "time_this_iter_s": metrics[M.EPOCH_TIME_S]}
        if state is None:
            tune.report(row)
            return
        with tempfile.TemporaryDirectory() as folder:
            save_checkpoint(Path(folder) / CHECKPOINT_FILE, state)
            tune.report(row, checkpoint=tune.Checkpoint.from_directory(folder))

    run_training(cfg, model_kwargs, data, report, threads=int(cpus), resume=resume,
                 extra_state={M.GIT_COMMIT: provenance.get(M.GIT_COMMIT, "unknown")})
