"""A sweep's results folder written without Ray, in the layout the runner leaves: trial_<id>/
checkpoint_000000/checkpoint.pt, trial_<id>/weights/, results.parquet and trials.parquet with
the sweep's description (axes, metric, where the data came from). For the post-hoc commands."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from analysis.results.sweep_meta import SweepMeta
from analysis.results.tables import RESULTS_FILE, TRIALS_FILE, write_parquet
from data_modules import load_dataset
from trainables import metrics as M
from trainables.checkpoint import save_checkpoint
from trainables.loop import run_training
from trainables.population_rows import member_id


def write_results_dir(folder: Path, configs: Mapping[str, Sequence[Mapping[str, Any]]], axes: Sequence[str],
                      dataset: str = "mnist", data_dir: str | None = None, loader_args: Mapping[str, Any] | None = None,
                      objective: str = "classification", data_axes: Mapping[str, str] | None = None,
                      extra_meta: Mapping[str, Any] | None = None) -> Path:
    """Train each entry of `configs` (tune id -> member configs: one for a plain trial, more for
    a fused population, whose members become trials <id>_m00, ...) and write the folder."""
    rows, trials = [], []
    data_axes = dict(data_axes or {})
    for tune_id, flats in configs.items():
        first = dict(flats[0])
        args = {**(loader_args or {}), **{arg: first.pop(key) for key, arg in data_axes.items() if key in first}}
        bundle = load_dataset(dataset, data_dir=data_dir, **args)
        trial_dir = folder / f"trial_{tune_id}"
        states, reported = [], []
        members = [{k: v for k, v in f.items() if k not in data_axes} for f in flats]
        run_training(members, bundle, lambda r, s: (reported.extend(r), states.append(s)), objective=objective,
                     artifacts_dir=trial_dir)
        checkpoint = trial_dir / "checkpoint_000000"
        checkpoint.mkdir(parents=True)
        save_checkpoint(checkpoint / "checkpoint.pt", [s for s in states if s is not None][-1])
        for row in reported:
            config = {**flats[row[M.MEMBER]]}
            trial_id = tune_id if len(flats) == 1 else member_id(tune_id, row[M.MEMBER])
            rows.append({**{k: v for k, v in row.items() if k != "config"}, **config, M.TRIAL_ID: trial_id,
                         M.VARIANT: bundle.meta.variant})
    results = pd.DataFrame(rows)
    for _, mine in results.groupby(M.TRIAL_ID, sort=False):
        trials.append({**mine.iloc[-1].to_dict(), "status": "TERMINATED", "epochs": int(mine[M.EPOCH].max())})
    meta = SweepMeta(sweep=folder.name, title=folder.name, axes=axes, x=axes[0] if axes else None,
                     metric=M.VAL_LOSS, mode="min", dataset=dataset, data_dir=data_dir,
                     loader_args=loader_args or {}, data_axes=data_axes, **(extra_meta or {}))
    folder.mkdir(parents=True, exist_ok=True)
    write_parquet(results, folder / RESULTS_FILE, meta)
    write_parquet(pd.DataFrame(trials), folder / TRIALS_FILE, meta)
    return folder
