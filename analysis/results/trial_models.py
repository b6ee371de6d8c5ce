"""Trained models of a sweep's trials, rebuilt from their checkpoints, with the data each one saw:
what every tool on checkpoints (feature maps, the post-hoc studies) starts from.

    found = select("results/mnist_batch", "all")          # or "best", "ID,ID", a trial folder, a checkpoint
    for ref in found.trials:
        trial = found.load(ref)                            # model (eval, CPU), config, the trial's own splits
        trial.data.test, trial.meta.variant

The data is read from where the sweep recorded it (dataset, folder, loader arguments and the
config keys that choose the data, stored with its Parquet files), split exactly as the trial
split it (validation fraction, train/test subsets, shuffled labels).
"""
from __future__ import annotations

import contextlib
import functools
import gc
import json
import multiprocessing
import signal
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import torch
import torch.nn.functional as F

from analysis.maths.pixel_models import pixel_images, pixel_model
from analysis.results.stats import ERROR, STATUS, best_trials, sort_key, trial_label
from analysis.results.sweep_meta import SweepMeta
from analysis.results.tables import RESULTS_FILE, TRIALS_FILE, read_parquet
from data_modules import DataBundle, DataMeta, TrialData, load_dataset, trial_splits
from models.errors import UserError
from models.registry import load_plugins
from trainables import metrics as M
from trainables.checkpoint import CHECKPOINT_FILE, CheckpointError, load_checkpoint, rebuild_model
from trainables.config import split_config
from trainables.population_rows import parse_member_id

ALLOWED_PATHS = "a sweep's results folder, a trial folder, a checkpoint folder or a checkpoint.pt"
TRIALS_PER_WORKER = 4  # Selection.map starts worker processes (about 3 s each) only for this many trials each
# A study worker's memory: torch and the analysis modules (610 MiB peak measured after import), its trial.
WORKER_MEMORY = 1 << 30
SUBSET_SEED = 0  # which examples a study's --images / --subset takes
PROGRESS_EVERY_S = 10.0  # a study over many trials says how far it is at most this often (fast ones say nothing)


class TrialSelectionError(UserError):
    """A path, trial id or checkpoint a tool cannot use; the message names it and what is allowed."""


@dataclass(frozen=True)
class TrialRef:
    """One trial (or fused member) of a sweep, before anything is loaded."""

    trial_id: str
    checkpoint: Path
    folder: Path  # the Tune trial folder (weight records live there)
    member: int = 0
    row: dict[str, Any] = field(default_factory=dict)  # its trials.parquet row ({} for a bare checkpoint)
    values: dict[str, Any] = field(default_factory=dict)  # its swept values
    label: str = ""  # "batch_size=64 lr=0.01", or the trial id when nothing is swept

    @property
    def columns(self) -> dict[str, Any]:
        """What every row of a study about this trial starts with: its id, label and swept values."""
        return {M.TRIAL_ID: self.trial_id, "label": self.label, **self.values}


@dataclass(frozen=True)
class TrialModel:
    ref: TrialRef
    model: torch.nn.Module  # eval mode, on the CPU
    config: dict[str, Any]  # the member's flat training config, as the loop got it
    data: TrialData  # the splits this trial trained, validated and tested on
    bundle: DataBundle  # the whole dataset (its meta: classes, normalisation, variant)
    model_name: str

    @property
    def meta(self) -> DataMeta:
        return self.bundle.meta

    @property
    def loss_fn(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """The trial's training loss: cross-entropy for classes, mean squared error for regression."""
        return F.cross_entropy if self.meta.is_classification else F.mse_loss

    def pixel_model(self) -> torch.nn.Module:
        """The model taking [0, 1] pixels (or raw features), its normalisation inside."""
        return pixel_model(self.model, self.meta)

    def classifier_inputs(self, split: str, limit: int | None = None) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
        """(pixel_model, inputs, targets) for a study of class predictions (an attack, a
        sensitivity); a regression trial is refused in one line."""
        if not self.meta.is_classification:
            raise TrialSelectionError(f"trial {self.ref.trial_id} is a regression model; allowed: classifiers (a softmax output)")
        return (self.pixel_model(), *self.inputs(split, limit))

    def inputs(self, split: str, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs for pixel_model, targets) of the trial's "train", "val" or "test" split; with
        `limit`, that many examples drawn at random (seeded: the same for every trial of a split
        this size), in the split's order. Not the first ones: a split may be sorted by class (the
        offline MNIST sample's first 200 test images are all 0s and 1s)."""
        part = getattr(self.data, split)
        if limit is not None and limit < len(part):
            picks = torch.randperm(len(part), generator=torch.Generator().manual_seed(SUBSET_SEED))[:limit]
            part = part.take(picks.sort().values)
        return pixel_images(part), part.y


def _no_safe_point() -> None:
    """Selection.between_trials by default, and always in a study's worker: Ctrl-C is the parent's."""


@dataclass
class Selection:
    """Trials picked from a results folder (or one checkpoint), and where their studies are written."""

    results_dir: Path
    meta: SweepMeta
    trials: list[TrialRef]
    data_dir: str | None = None
    which: str = "all"  # what picked the trials: best, all, trial ids (a checkpoint: its trial's ids)
    label: str = "post-hoc"  # how progress lines start (run_study sets the study's name)
    between_trials: Callable[[], None] = field(default=_no_safe_point, repr=False)  # a worker has none
    _bundles: dict[str, DataBundle] = field(default_factory=dict)
    _loaded: int = 0
    _started: float = field(default_factory=time.perf_counter)
    _said: float = field(default_factory=time.perf_counter)

    def results(self) -> pd.DataFrame | None:
        """The sweep's per-epoch results table, when this is a sweep's folder."""
        path = self.results_dir / RESULTS_FILE
        return read_parquet(path)[0] if path.is_file() else None

    def best(self) -> TrialRef:
        """The selected trial the sweep ranks first (its metric and mode, as --trials best); the
        first one when none has the metric (a checkpoint outside a sweep)."""
        rows = pd.DataFrame([{**ref.row, M.TRIAL_ID: ref.trial_id} for ref in self.trials])
        ranked = list(best_trials(rows, self.meta.metric, self.meta.mode, n=1).get(M.TRIAL_ID, []))
        return next((ref for ref in self.trials if ranked and ref.trial_id == ranked[0]), self.trials[0])

    def load(self, ref: TrialRef) -> TrialModel:
        self.say_progress(ref)
        return self._restore(ref)

    def map(self, study: Callable[[TrialModel], Any], workers: int | None = None) -> list[Any]:
        """study(trial model) for every selected trial, in order. Trials are independent and a
        small model's study keeps one core busy, so with trials enough (TRIALS_PER_WORKER for
        each) they run in worker processes, one per CPU as memory allows (or `workers`), each
        on one thread. `study` must pickle: a module-level function or a functools.partial of one."""
        workers = workers or (default_workers() if len(self.trials) >= TRIALS_PER_WORKER * 2 else 1)
        workers = max(1, min(workers, len(self.trials)))
        if workers == 1:
            return [study(self.load(ref)) for ref in self.trials]
        found: list[Any] = [None] * len(self.trials)
        spawn = multiprocessing.get_context("spawn")  # not fork: the parent's torch threads would not survive it
        with _children_ignore_ctrl_c():
            pool = spawn.Pool(workers, initializer=_start_worker, initargs=(replace(self, _bundles={}, between_trials=_no_safe_point),))
        try:  # a Ctrl-C (KeyboardInterrupt here, or from between_trials) ends the workers at once
            for i, result in pool.imap_unordered(functools.partial(_study_trial, study), range(len(self.trials))):
                self.say_progress(self.trials[i])
                found[i] = result
        finally:
            pool.terminate()
            pool.join()
            del pool  # its semaphores freed now (it is in reference cycles): a sweep ending on Ctrl-C
            gc.collect()  # skips the exit hooks that would free them, and Python would warn of leaks
        return found

    def _restore(self, ref: TrialRef) -> TrialModel:
        state, model = trained_model(ref)
        config = state["configs"][ref.member]
        bundle = self.bundle(state["data"], ref.row)
        cfg, _ = split_config(config)
        splits = trial_splits(bundle, cfg.val_fraction, cfg.train_size, cfg.test_size, cfg.label_shuffle, cfg.seed)
        return TrialModel(ref, model, config, splits, bundle, state["model"])

    def say_progress(self, ref: TrialRef) -> None:
        """One line when a study has been silent for PROGRESS_EVERY_S: a study over 100 trials
        can take minutes after the sweep's last progress line. First `between_trials()`, the
        caller's safe point (a sweep acts on a Ctrl-C there)."""
        self.between_trials()
        self._loaded += 1
        now = time.perf_counter()
        if now - self._said >= PROGRESS_EVERY_S:
            print(f"{self.label}: trial {self._loaded}/{len(self.trials)} ({ref.trial_id}), "
                  f"{now - self._started:.0f} s so far", flush=True)
            self._said = now

    def bundle(self, data: dict[str, str], row: dict[str, Any]) -> DataBundle:
        """The dataset a checkpoint names, loaded once, with the sweep's recorded loader arguments
        and the trial's values of the config keys that choose the data."""
        name, meta = data["name"], self.meta
        args = dict(meta.loader_args) if meta.dataset == name else {}
        args.update({arg: _plain(row[key]) for key, arg in meta.data_axes.items() if key in row})
        key = json.dumps([name, args], sort_keys=True, default=str)
        if key not in self._bundles:
            self._bundles[key] = load_dataset(name, data_dir=self.data_dir or meta.data_dir, **args)
        bundle = self._bundles[key]
        if bundle.meta.variant != data["variant"]:
            raise TrialSelectionError(f"the checkpoint was trained on {data['variant']!r} but the data found is "
                                      f"{bundle.meta.variant!r}; allowed: --data-dir with the data the sweep used")
        return bundle


_WORKER_SELECTION: Selection | None = None  # the selection a study's worker process restores trials from


@contextlib.contextmanager
def _children_ignore_ctrl_c():
    """Processes started in the block ignore SIGINT from birth (an ignored signal stays ignored
    across exec, and Python then installs no KeyboardInterrupt handler): Ctrl-C, which the
    terminal sends to the whole process group, is the parent's to act on. Set in the
    initializer instead, it would come too late for a Ctrl-C while a worker imports torch."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread sets handlers
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _start_worker(selection: Selection) -> None:
    """A worker process of Selection.map, on one thread: the workers fill the CPUs."""
    global _WORKER_SELECTION
    torch.set_num_threads(1)
    _WORKER_SELECTION = selection


def _study_trial(study: Callable[[TrialModel], Any], i: int) -> tuple[int, Any]:
    return i, study(_WORKER_SELECTION._restore(_WORKER_SELECTION.trials[i]))


def default_workers() -> int:
    """One study worker per CPU (as a local Ray counts them), as many as the available memory
    holds (WORKER_MEMORY each)."""
    from trainables.provenance import machine_cpus

    try:
        with open("/proc/meminfo") as f:
            available = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):  # not Linux: the CPUs alone
        return machine_cpus()
    return max(1, min(machine_cpus(), available // WORKER_MEMORY))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def select(path: str | Path, which: str = "best", data_dir: str | None = None) -> Selection:
    """The trials `which` names ("best", "all" or comma-separated trial ids) of the results folder
    `path`, or the one trial of a trial folder or checkpoint."""
    path = Path(path)
    if not path.exists():
        raise TrialSelectionError(f"not found: {path}; allowed: {ALLOWED_PATHS}")
    if (path / TRIALS_FILE).is_file():
        trials, meta = read_parquet(path / TRIALS_FILE)
        load_plugins(meta.plugins)
        return Selection(path, meta, pick(path, trials, meta, which), data_dir, which)
    checkpoint = path if path.is_file() or (path / CHECKPOINT_FILE).is_file() else latest_checkpoint(path)
    if checkpoint is None:
        raise TrialSelectionError(f"{path} holds no {TRIALS_FILE}, {CHECKPOINT_FILE} or checkpoint_*/{CHECKPOINT_FILE}; "
                                  f"allowed: {ALLOWED_PATHS}")
    results_dir, meta = recorded(path)
    load_plugins(meta.plugins)
    folder = checkpoint.parent.parent if checkpoint.parent.name.startswith("checkpoint_") else checkpoint.parent
    name = folder.name.removeprefix("trial_")
    refs = sweep_refs(results_dir, meta, name, checkpoint) if results_dir else []
    refs = refs or [TrialRef(name, checkpoint, folder, label=name)]  # a checkpoint outside a sweep
    out = results_dir or (path if path.is_dir() else path.parent)
    return Selection(out, meta, refs, data_dir, ",".join(ref.trial_id for ref in refs))


def recorded(path: Path) -> tuple[Path | None, SweepMeta]:
    """The results folder holding `path` and the sweep's stored description (its defaults if none)."""
    for folder in [path.resolve(), *path.resolve().parents]:
        if (folder / TRIALS_FILE).is_file():
            return folder, read_parquet(folder / TRIALS_FILE)[1]
    return None, SweepMeta()


def pick(results_dir: Path, trials: pd.DataFrame, meta: SweepMeta, which: str) -> list[TrialRef]:
    """TrialRefs of the trials `which` names, in the order of their swept values."""
    usable = trials[trials[STATUS] != ERROR] if STATUS in trials else trials
    axes = label_axes(trials, meta)
    refs = {r.trial_id: r for r in (trial_ref(results_dir, str(row[M.TRIAL_ID]), row, axes) for row in usable.to_dict("records")) if r is not None}
    allowed = f"allowed: best, all, or trial ids: {', '.join(refs) or 'none with a checkpoint'}"
    if which == "best":
        ranked = best_trials(usable, meta.metric, meta.mode, n=len(usable))
        chosen = [refs[t] for t in ranked.get(M.TRIAL_ID, []) if t in refs][:1]
    elif which == "all":
        chosen = sorted(refs.values(), key=_sweep_order)
    else:
        ids = [t.strip() for t in which.split(",") if t.strip()]
        unknown = [t for t in ids if t not in refs]
        if unknown or not ids:
            raise TrialSelectionError(f"--trials {which!r}: unknown trial id {unknown[0] if unknown else which!r}; {allowed}")
        chosen = [refs[t] for t in ids]
    if not chosen:
        raise TrialSelectionError(f"{results_dir}: no finished trial with a checkpoint; {allowed}")
    return chosen


def label_axes(trials: pd.DataFrame, meta: SweepMeta) -> list[str]:
    """The swept keys that name a trial (trial_label): the sweep's axes, and the seed when it varies."""
    axes = [a for a in meta.axes if a in trials]
    if "seed" in trials and trials["seed"].nunique() > 1 and "seed" not in axes:
        axes.append("seed")
    return axes


def _sweep_order(ref: TrialRef) -> tuple:
    return tuple(sort_key(v) for v in ref.values.values()) + (ref.trial_id,)


def sweep_refs(results_dir: Path, meta: SweepMeta, tune_id: str, checkpoint: Path) -> list[TrialRef]:
    """The trial `tune_id` of a results folder (a fused population: each member) on `checkpoint`,
    named as the sweep names it (width=400, not the bare id)."""
    trials = read_parquet(Path(results_dir) / TRIALS_FILE)[0]
    axes = label_axes(trials, meta)
    refs = (trial_ref(results_dir, str(row[M.TRIAL_ID]), row, axes) for row in trials.to_dict("records")
            if parse_member_id(row[M.TRIAL_ID])[0] == tune_id)
    return sorted((replace(ref, checkpoint=checkpoint) for ref in refs if ref is not None), key=lambda r: r.member)


def trial_order(results_dir: Path) -> dict[str, int]:
    """trial id -> its place in the sweep's order (every trial of trials.parquet, errored ones too),
    so a study's rows merged from several runs read in the order one run over all would give."""
    path = Path(results_dir) / TRIALS_FILE
    if not path.is_file():
        return {}
    trials, meta = read_parquet(path)
    axes = label_axes(trials, meta)
    keys = sorted((tuple(sort_key(_plain(row[a])) for a in axes) + (str(row[M.TRIAL_ID]),), str(row[M.TRIAL_ID]))
                  for row in trials.to_dict("records"))
    return {trial_id: i for i, (_, trial_id) in enumerate(keys)}


def trial_ref(results_dir: Path, trial_id: str, row: dict[str, Any] | None = None, axes: list[str] = ()
              ) -> TrialRef | None:
    """A trial (or fused member) of a results folder, by id; None when it has no checkpoint."""
    tune_id, member = parse_member_id(trial_id)
    folder = Path(results_dir) / f"trial_{tune_id}"
    checkpoint = latest_checkpoint(folder)
    if checkpoint is None:
        return None
    values = {a: _plain(row[a]) for a in axes}
    return TrialRef(trial_id, checkpoint, folder, member, row or {}, values, trial_label(values, empty=trial_id))


def latest_checkpoint(trial_folder: Path) -> Path | None:
    found = sorted(Path(trial_folder).glob("checkpoint_*/checkpoint.pt"))
    return found[-1] if found else None


def trained_model(ref: TrialRef) -> tuple[dict[str, Any], torch.nn.Module]:
    """(checkpoint state, the member's trained model): the one way a trial's model is rebuilt."""
    state = load_checkpoint(ref.checkpoint)
    return state, rebuild_model(state, ref.member)


def weight_shapes(ref: TrialRef) -> tuple[str, dict[str, tuple[int, ...]]]:
    """(model name, shape of each tensor of its state), read from the checkpoint without building
    the model: what two trials must share for their weights to be combined."""
    state = load_checkpoint(ref.checkpoint)
    return state["model"], {k: tuple(v.shape[1:]) for k, v in state["model_state"].items()}  # [0]: the members


def model_of_trial(exp_dir: Path, trial_id: str) -> torch.nn.Module | None:
    """The trained model of a trial (or of member `_mNN` of a fused population), from its latest
    checkpoint, for the report's plots; None (with a warning for a bad checkpoint) when there is none."""
    ref = trial_ref(exp_dir, trial_id)
    if ref is None:
        return None
    try:
        return trained_model(ref)[1]
    except CheckpointError as e:  # refused or cut short: the trial's model is left out, the rest goes on
        print(f"sweeplab: warning: trial {trial_id}: {e}; its model is left out of the plots", file=sys.stderr)
        return None
