"""Report sections beyond the standard plots, by name: the post-hoc studies on checkpoints (FGSM,
Hessian, interpolation...) and figures drawn from the tables alone (gradient norm, parameter
count). A study writes RESULTS_DIR/posthoc/NAME.parquet (and NAME_*.parquet); the report draws
the section of every study whose file is there, so `python -m analysis.report` keeps it. A run on
a subset (one checkpoint, --trials, other options) merges into those tables by trial and options
(analysis.results.study_tables): it never drops the rows of other trials or options.

    run_study("sensitivity", "results/mnist_sensitivity", trials="all")   # what the runner and CLI call
    report_parts(results_dir, meta)                                        # markdown of every section

A study module registers itself with `register(Study(...))` and is listed in MODULES; a sweep
lists the studies its report gets in its declaration (sweeps.runner.spec.Sweep.posthoc).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import pandas as pd
import pyarrow as pa

from analysis.results.study_tables import OPTIONS, OptionGroup, merge, option_groups, options_key
from analysis.results.sweep_meta import SweepMeta
from analysis.results.tables import RESULTS_FILE, TRIALS_FILE, read_parquet, write_parquet
from analysis.results.trial_models import Selection, TrialSelectionError, select, trial_order
from models.errors import UserError
from models.registry import Registry
from trainables import metrics as M

POSTHOC_DIR = "posthoc"
Frames = dict[str, pd.DataFrame]  # file stem -> table; the study's own name is its main table
# Modules that register studies, imported on first use (add one line per new study module).
MODULES = (
    "analysis.fgsm", "analysis.adversarial", "analysis.hessian", "analysis.interpolate", "analysis.sensitivity",
    "analysis.trajectory", "analysis.grad_norm", "analysis.minimal_ratio", "analysis.fit", "analysis.params",
    "analysis.feature_maps",
)


@dataclass(frozen=True)
class StudyRun:
    """What a study wrote, and the sweep folder it belongs to."""

    results_dir: Path
    files: list[Path]


class StudyInputError(UserError):
    """An option a study cannot use; the message names the value and what is allowed."""


def _no_tables(frames: Frames, meta: SweepMeta) -> list[str]:
    return []


@dataclass(frozen=True)
class Study:
    name: str
    title: str
    about: str
    """One paragraph under the section's heading: what is measured and how."""
    run: Callable[..., Frames]
    """run(selection, **options) -> tables; reads checkpoints (or only the sweep's tables)."""
    figures: Callable[[Frames, SweepMeta, Path], list[Path]]
    """figures(tables, sweep meta, out_dir) -> PNGs, from the tables alone."""
    tables: Callable[[Frames, SweepMeta], list[str]] = _no_tables
    """Markdown blocks for the report, from the tables alone."""
    default_trials: str = "all"
    checkpoints: bool = True
    """False: the study reads only results.parquet (no models are rebuilt)."""
    trial_metrics: tuple[str, ...] = ()
    """Per-trial columns of the main table that the sweep's references may check."""
    figures_folder: str = ""
    """A folder of its own under posthoc/ for a study that draws many figures (feature maps)."""
    keys: tuple[str, ...] = (M.TRIAL_ID,)
    """The columns naming what a row is about: a later run replaces the rows with the same keys and options."""
    joint: bool = False
    """One fit over all its trials (a shared PCA): a run on a subset is kept beside, not merged."""
    ignored_options: tuple[str, ...] = ()
    """Options that do not change the results (worker count): not part of a run's options key."""


_STUDIES: Registry[Study] = Registry("study")


def register(study: Study) -> Study:
    """Add a study; `python -m analysis.NAME` runs its module twice (as __main__, then imported
    by name through MODULES), and the registry keeps the copy imported by name."""
    if study.run.__module__ == "__main__":
        return study
    return _STUDIES.register(study.name, study)


def studies() -> Registry[Study]:
    for module in MODULES:
        importlib.import_module(module)
    return _STUDIES


def get(name: str) -> Study:
    return studies()[name]


def posthoc_dir(results_dir: Path) -> Path:
    return Path(results_dir) / POSTHOC_DIR


class StudyTableError(UserError):
    """A study's table in posthoc/ that cannot be read."""


def read_frames(results_dir: Path, name: str) -> Frames:
    """The study's tables in RESULTS_DIR/posthoc, the rows of every run with their options
    column ({} when it has not run there). A table written before options were kept per row
    gets the options stored with it."""
    folder = posthoc_dir(results_dir)
    main = folder / f"{name}.parquet"
    if not main.is_file():
        return {}
    frames = {}
    for path in [main, *sorted(folder.glob(f"{name}_*.parquet"))]:
        try:
            df, meta = read_parquet(path)
        except (OSError, pa.ArrowException) as e:
            raise StudyTableError(f"cannot read {path}: {str(e).splitlines()[0].rstrip('.')}; allowed: a table the {name} "
                                  f"study wrote (delete it and run python -m analysis.{name} again)") from None
        frames[path.stem] = df if OPTIONS in df else df.assign(**{OPTIONS: options_key(get(name), meta.options)})
    return frames


def draw(study: Study, frames: Frames, meta: SweepMeta, figures_dir: Path) -> list[tuple[OptionGroup, list[str], list[Path]]]:
    """(group, markdown blocks, figures) of each option group of the study's tables: the main
    group's figures in `figures_dir`, each other group's in a folder of its own there."""
    drawn = []
    for i, group in enumerate(option_groups(frames, study.name, study.keys)):
        folder = figures_dir if i == 0 else figures_dir / f"{study.name}.{group.slug}"
        folder.mkdir(parents=True, exist_ok=True)
        drawn.append((group, study.tables(group.frames, meta), study.figures(group.frames, meta, folder)))
    return drawn


def tables_only(path: str | Path, data_dir: str | None = None) -> Selection:
    """A sweep's results folder for studies that need no checkpoint."""
    path = Path(path)
    if not (path / RESULTS_FILE).is_file():
        raise TrialSelectionError(f"no {RESULTS_FILE} in {path}; allowed: a sweep's results folder")
    meta = read_parquet(path / TRIALS_FILE)[1] if (path / TRIALS_FILE).is_file() else read_parquet(path / RESULTS_FILE)[1]
    return Selection(path, meta, [], data_dir)


def run_study(name: str, path: str | Path, trials: str | None = None, data_dir: str | None = None,
              between_trials: Callable[[], None] | None = None, out: str | Path | None = None, **options) -> StudyRun:
    """Run a study, merge its tables into those under RESULTS_DIR/posthoc (by trial and options)
    and redraw the figures from the merged tables (in `out` instead, when given); the caller
    rebuilds report.md (analysis.results.report_md). `between_trials` is called before each
    trial (a sweep's Ctrl-C safe point)."""
    study = get(name)
    selection = select(path, trials or study.default_trials, data_dir) if study.checkpoints else tables_only(path, data_dir)
    selection.label = f"post-hoc {name}"
    if between_trials is not None:
        selection.between_trials = between_trials
    key = options_key(study, options, selection)
    frames = {stem: df.assign(**{OPTIONS: key}) for stem, df in study.run(selection, **options).items()}
    frames = merge(read_frames(selection.results_dir, name), frames, study.keys, trial_order(selection.results_dir))
    folder = posthoc_dir(selection.results_dir)
    folder.mkdir(parents=True, exist_ok=True)
    meta = replace(selection.meta, study=name, options={k: v for k, v in options.items() if v is not None})
    written = [write_parquet(df, folder / f"{stem}.parquet", meta) for stem, df in frames.items()]
    figures_dir = Path(out) if out else folder / study.figures_folder
    written += [png for _, _, pngs in draw(study, frames, selection.meta, figures_dir) for png in pngs]
    return StudyRun(selection.results_dir, written)


def report_parts(results_dir: Path, meta: SweepMeta) -> list[str]:
    """Markdown of each study that has run in RESULTS_DIR, in a fixed order (the sweep's declared
    ones in its order, then the others by name), its figures redrawn from its tables; a study
    run with several option sets gets a subsection for each."""
    declared = [step.name for step in meta.posthoc]
    names = list(dict.fromkeys([*declared, *sorted(studies())]))
    parts = []
    for name in names:
        frames = read_frames(results_dir, name) if name in _STUDIES else {}
        if not frames:
            continue
        study = _STUDIES[name]
        parts += [f"## {study.title}", study.about]
        drawn = draw(study, frames, meta, posthoc_dir(results_dir) / study.figures_folder)
        for group, tables, pngs in drawn:
            parts += [f"### {group.heading}"] if len(drawn) > 1 else []
            parts += [*tables, *(f"![{p.stem.replace('_', ' ')}]({p.relative_to(results_dir).as_posix()})" for p in pngs)]
    return parts


def trial_metrics(results_dir: Path) -> pd.DataFrame | None:
    """Per-trial values of the studies that ran (trial_id + metric columns), for references."""
    merged = None
    for name, study in studies().items():
        frames = read_frames(results_dir, name) if study.trial_metrics else {}
        main = option_groups(frames, name, study.keys)[0].frames[name] if frames else None  # the main option group
        if main is None or M.TRIAL_ID not in main:
            continue
        columns = [c for c in study.trial_metrics if c in main]
        per_trial = main.groupby(M.TRIAL_ID)[columns].first().reset_index()
        merged = per_trial if merged is None else merged.merge(per_trial, on=M.TRIAL_ID, how="outer")
    return merged
