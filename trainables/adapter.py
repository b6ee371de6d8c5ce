"""The Ray Tune adapter of every experiment family: config dict -> the one loop, with the
family's objective (trainables.objectives).

Reports through `ray.tune.report`, attaches a self-describing checkpoint every k epochs and at
the end, and resumes from `ray.tune.get_checkpoint()`. Data and provenance arrive once through
the object store (`tune.with_parameters`). A config listing `members` is a fused population:
its rows go out under `members`, one per member, and collection expands them into ordinary
trial rows; any other config is a plain trial reporting a flat row.
"""
from __future__ import annotations

import logging
import posixpath
import sys
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

from ray import tune
from ray.tune import Stopper

from data_modules import DataBundle
from data_modules.collection import Datasets
from models.registry import Plugin, load_plugins
from trainables import metrics as M
from trainables.checkpoint import CHECKPOINT_FILE, load_checkpoint, restore_from, save_checkpoint
from trainables.cost import within_gpu_share
from trainables.loop import run_training
from trainables.point import trial_flat
from trainables.population_rows import pack
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
    """The checkpoint Tune restored this trial from, loaded (or, if that file is corrupt, the one
    before it), or None on a fresh start (trainables.checkpoint.restore_from)."""
    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        return None
    candidates = [(f"{c.path}/{CHECKPOINT_FILE}", lambda c=c: _load(c)) for c in _newest_first(checkpoint)]
    return restore_from(candidates, tune.get_context().get_trial_id(), lambda line: print(line, file=sys.stderr))


def _load(checkpoint: tune.Checkpoint) -> dict[str, Any]:
    with checkpoint.as_directory() as folder:
        return load_checkpoint(Path(folder) / CHECKPOINT_FILE)


def _newest_first(checkpoint: tune.Checkpoint) -> list[tune.Checkpoint]:
    """`checkpoint`, then the older checkpoint_* folders beside it in the trial folder (Tune keeps
    the last CheckpointConfig.num_to_keep), newest first."""
    import pyarrow.fs as pafs

    parent, name = posixpath.split(checkpoint.path.rstrip("/"))
    infos = checkpoint.filesystem.get_file_info(pafs.FileSelector(parent, allow_not_found=True))
    older = sorted((i.path for i in infos if i.type == pafs.FileType.Directory
                    and i.base_name.startswith("checkpoint_") and i.base_name < name), reverse=True)
    return [checkpoint] + [tune.Checkpoint(p, filesystem=checkpoint.filesystem) for p in older]


def _tune_reporter(data: DataBundle, provenance: Mapping[str, str], fused: bool):
    """report(rows, state) for the loop: stamps provenance, attaches state as a checkpoint."""
    import ray

    stamp = {**provenance, **versions(), M.DATASET: data.meta.name, M.VARIANT: data.meta.variant,
             M.NODE_ID: ray.get_runtime_context().get_node_id()}  # which machine ran (since its last restart)

    def report(rows: list[dict[str, Any]], state: dict[str, Any] | None) -> None:
        result = pack(rows, fused)
        # time_this_iter_s makes Tune's own time_total_s equal the loop's (Tune overwrites it).
        row = {**result, **stamp, "time_this_iter_s": result[M.EPOCH_TIME_S]}
        if state is None:
            tune.report(row)
            return
        state = {**state, M.GIT_COMMIT: provenance.get(M.GIT_COMMIT, "unknown")}
        with tempfile.TemporaryDirectory() as folder:
            save_checkpoint(Path(folder) / CHECKPOINT_FILE, state)
            tune.report(row, checkpoint=tune.Checkpoint.from_directory(folder))

    return report


def run_trial(
    config: Mapping[str, Any], *, objective: str, data: Datasets | DataBundle, provenance: Mapping[str, str],
    cpus: float = 1, gpus: float = 0.0, presets: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    member_stop: Stopper | None = None, plugins: Sequence[Plugin] = (),
) -> None:
    """One trial: one configuration, or the `members` of a fused population, each member
    stopped by its own copy of `member_stop`'s rule. `plugins`: a lab's own modules that
    register its models, imported first."""
    _quiet_checkpoint_logs()
    load_plugins(plugins)
    data = Datasets.of(data)
    fused = M.MEMBERS in config
    flats = config[M.MEMBERS] if fused else [config]
    bundle = data.for_config(flats[0])  # a population shares its data
    flats = [trial_flat(f, data, presets) for f in flats]  # as the plan resolved them (trainables.point)
    with within_gpu_share(gpus):
        run_training(flats, bundle, _tune_reporter(bundle, provenance, fused), objective=objective, threads=int(cpus),
                     member_stop=member_stop if fused else None, resume=_restored(),
                     artifacts_dir=tune.get_context().get_trial_dir())
