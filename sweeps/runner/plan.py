"""Turn a Sweep declaration plus command-line flags into a validated plan, before Ray starts."""
from __future__ import annotations

import argparse
import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from analysis.results.arguments import UsageError
from analysis.results.stats import trial_label
from data_modules import DATASETS, DataBundle
from data_modules.collection import Datasets
from models.registry import MODELS, Plugin
from sweeps.runner.cli import TRIAL_EVERY_S, parse_value
from sweeps.runner.spec import Sweep
from trainables.config import ConfigError, TrainConfig, expand_presets
from trainables.loop import OBJECTIVES  # with the sequence families' objectives registered
from trainables.point import TrialPoint
from trainables.population import fusion_speedup, why_not_fusable

SEED = "seed"
# --fuse auto fuses a group only when a fused step measures at least this much faster: two short
# timings of the same step on a shared machine differ by 10% or more, and a fused population
# trains on one CPU where its members could have shared them all (text CNNs measured 0.7-1.1x).
FUSION_MARGIN = 1.15


@dataclass
class Plan:
    """Everything the runner needs; built and checked without Ray."""

    sweep: Sweep
    fixed: dict[str, Any]
    grid: dict[str, list[Any]]
    search: str
    scheduler: str
    num_samples: int
    min_delta: float | None = None
    patience: int = 1
    notes: list[str] = field(default_factory=list)
    gpu_available: bool = False
    populations: list[list[dict[str, Any]]] = field(default_factory=list)
    """Fused populations (lists of member configs); empty when trials run one by one."""
    data: dict[str, Any] = field(default_factory=dict)
    """Arguments of the dataset loader: the sweep's, with any --set of them (e.g. manifest=cats.csv)."""
    smoke_test: bool = False
    """--smoke-test: the post-hoc studies take their smoke options too."""
    sample: dict[str, Any] = field(default_factory=dict)
    """What trained language models write into the report (Sweep.sample, with any --set of it)."""
    progress_every: float = TRIAL_EVERY_S
    """--progress-every: seconds between a trial's progress lines (0: every row)."""
    resolved: dict[tuple, TrialPoint] = field(default_factory=dict, repr=False, compare=False)
    """(id of its data, point) -> the point resolved against that data, once (trial_point)."""
    shared_sizes: dict[tuple, Any] = field(default_factory=dict, repr=False, compare=False)
    """Split sizes shared by the resolved points (trainables.point.TrialPoint.sizes)."""

    @property
    def axes(self) -> list[str]:
        return [a for a in self.grid if a != SEED] + [k for k in self.sweep.optuna if self.search == "optuna" and k not in self.grid]

    @property
    def label_keys(self) -> list[str]:
        """The keys that name a trial: the swept axes, then the seed when seeds are swept."""
        return self.axes + ([SEED] if SEED in self.grid else [])

    @property
    def max_epochs(self) -> int:
        """The longest trial's epochs: a preset may set its own (text_models: CNNs 250, GRUs 100)."""
        return max(self.epochs_of(p) for p in self.points())

    def epochs_of(self, point: dict[str, Any]) -> int:
        """A grid point's epochs (or steps, for a sweep trained in steps), its presets expanded."""
        flat = expand_presets(point, self.sweep.presets)
        return flat.get("max_steps") or flat["max_epochs"]

    @property
    def trial_count(self) -> int:
        """Tune trials this plan runs (a fused population is one)."""
        if self.search == "optuna":
            return self.num_samples
        configs = len(self.populations) if self.populations else math.prod(len(v) for v in self.grid.values())
        return configs * self.num_samples

    @property
    def run_sizes(self) -> list[int]:
        """Trials in each Tune trial the plan runs: a fused population's members, else 1."""
        if self.populations and self.search != "optuna":
            return [len(p) for p in self.populations] * self.num_samples
        return [1] * self.trial_count

    def trials_text(self) -> str:
        """What will run, said the same way by the run's header, the cost preview and the fusion note."""
        return trials_text(self.run_sizes)

    def points(self) -> list[dict[str, Any]]:
        """Every grid point as a flat config (Optuna's continuous axes at both ends of their range)."""
        grid = dict(self.grid)
        if self.search == "optuna":
            grid.update({k: [lo, hi] for k, (_, lo, hi) in self.sweep.optuna.items()})
        keys = list(grid)
        return [{**self.fixed, **dict(zip(keys, values))} for values in itertools.product(*grid.values())]

    def trial_point(self, data: Datasets | DataBundle, point: dict[str, Any]) -> TrialPoint:
        """The point resolved against its data (trainables.point.TrialPoint), once: validation,
        ordering, fusion, the cost estimate and the memory check all receive this object."""
        data = Datasets.of(data)
        key = (id(data.for_config(point)), repr(point))  # the resolved point keeps its data alive: ids stay unique
        if key not in self.resolved:
            self.resolved[key] = TrialPoint.resolve(point, data, self.sweep.presets, self.shared_sizes)
        return self.resolved[key]

    def trial_points(self, data: Datasets | DataBundle) -> list[TrialPoint]:
        """Every point of points(), in its order, resolved (trial_point)."""
        return [self.trial_point(data, p) for p in self.points()]

    def trials(self, data: Datasets | DataBundle) -> list[list[TrialPoint]]:
        """The Tune trials of one sample: each fused population, or each point alone."""
        if self.populations:
            return [[self.trial_point(data, p) for p in group] for group in self.populations]
        return [[t] for t in self.trial_points(data)]


def trials_text(sizes: list[int]) -> str:
    """"4 trials as 3 runs (1 fused population of 2, 2 alone)", or "4 trial(s)" when nothing is
    fused, from the trials each Tune trial (a run) stands for. A trial is one configuration and
    seed, as the user counts them; a fused population is one run of several."""
    fused = [n for n in sizes if n > 1]
    if not fused:
        return f"{sum(sizes)} trial(s)"
    alone = len(sizes) - len(fused)
    of = "/".join(str(n) for n in sorted(set(fused)))
    runs = f"{len(sizes)} run" + ("s" if len(sizes) > 1 else "")
    return (f"{sum(sizes)} trials as {runs} ({len(fused)} fused population(s) of {of}"
            + (f", {alone} alone)" if alone else ")"))


def make_plan(sweep: Sweep, args: argparse.Namespace, gpu_available: bool) -> Plan:
    fixed = sweep.settings
    grid = {k: list(v) for k, v in sweep.grid.items()}
    data = dict(sweep.data)
    sample = dict(sweep.sample)
    for table in sweep.presets.values():  # a preset's settings win over fixed ones, so drop those
        for settings in table.values():
            for key in settings:
                fixed.pop(key, None)
    if args.smoke_test:
        for key, value in sweep.smoke.items():
            (grid if key in grid else fixed)[key] = list(value) if key in grid else value
    if args.base_from:
        fixed.update({k: v for k, v in base_settings(sweep, args.base_from).items() if k not in grid})
    for key, text in args.set:
        if key in grid:
            grid[key] = [parse_value(v) for v in _split_top_level(text)]
        else:
            (data if key in data else sample if key in sample else fixed)[key] = parse_value(text)
    if args.max_epochs:
        fixed["max_epochs"] = args.max_epochs
    search = args.search or sweep.search
    if search == "optuna" and not sweep.optuna:
        raise UsageError(optuna_refusal(sweep))
    repeats = args.repeats or (1 if args.smoke_test or search == "optuna" else sweep.repeats)
    if search == "optuna" and repeats > 1:
        raise UsageError(f"--repeats {repeats} is not allowed with --search optuna; allowed: --repeats 1")
    if repeats > 1:
        grid[SEED] = list(range(repeats))
    notes: list[str] = []
    if "cuda" in grid.get("device", []) and not gpu_available:
        grid["device"] = [d for d in grid["device"] if d != "cuda"]
        notes.append("GPU half skipped: no CUDA GPU is available to this run.")
    if search == "optuna":
        # Optuna cannot search a grid: discrete axes become categorical choices.
        grid = {k: v for k, v in grid.items() if k not in sweep.optuna}
    default_samples = sweep.num_samples if search == sweep.search else 1
    if search == "optuna" and sweep.search != "optuna":
        default_samples = max(8, len(list(itertools.product(*grid.values()))))
    if args.smoke_test and search == "optuna":
        default_samples = min(default_samples, 3)
    return Plan(
        sweep, fixed, grid, search, args.scheduler or sweep.scheduler, args.num_samples or default_samples,
        min_delta=sweep.min_delta if args.min_delta is None else args.min_delta,
        patience=args.patience or sweep.patience, notes=notes, gpu_available=gpu_available, data=data,
        smoke_test=bool(args.smoke_test),
        sample=check_sample(sample), progress_every=args.progress_every,
    )


def check_sample(sample: dict[str, Any]) -> dict[str, Any]:
    """The sampling settings, or a one-line error naming the bad one."""
    checks = {"sample_prompt": (lambda v: isinstance(v, str) and v != "", "a non-empty text"),
              "sample_chars": (lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 100_000,
                               "an integer from 1 to 100000"),
              "sample_temperature": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 100,
                                     "a number from 0 (most likely character) to 100")}
    for key, value in sample.items():
        ok, allowed = checks[key]
        if not ok(value):
            raise UsageError(f"{key} {value!r} is not allowed; allowed: {allowed}")
    return sample


def optuna_refusal(sweep: Sweep) -> str:
    """Why --search optuna is refused on a grid-only sweep, and where it can be used. Optuna
    samples ranges; on a grid it would draw the same few values again and again (mnist_width ran
    width=50 twice) and leave out others, while the study is about the whole curve, which
    --search grid runs once per point."""
    from sweeps.runner.catalog import all_sweeps

    grid = "; ".join(f"{k} = {', '.join(map(str, v))}" for k, v in sweep.grid.items())
    searchable = [f"{s.name} ({', '.join(f'{k}: {kind} {lo:g}..{hi:g}' for k, (kind, lo, hi) in s.optuna.items())})"
                  for s in all_sweeps().values() if s.optuna]
    return (f"--search optuna is not allowed for {sweep.name}: it has no range for Optuna to sample, only a grid "
            f"({grid}) that --search grid runs in full; allowed: --search grid, or --search optuna on "
            f"{', '.join(searchable) or 'a sweep with Optuna ranges'}")


def base_settings(sweep: Sweep, results_dir: str) -> dict[str, Any]:
    """best_settings of the sweep in `results_dir`, refused in one line when they set what `sweep`
    does not take (another sweep's data axis or model), which the config check would only call
    an unknown key, without saying where it came from."""
    from sweeps.runner.settings_help import accepted_keys

    settings, source = best_settings(results_dir)
    keys = accepted_keys(sweep)
    foreign = [f"{k}={v}" for k, v in settings.items()
               if k not in keys or (k == "model" and v not in sweep.models_chosen())]
    if foreign:
        origin = f"the sweep {source or 'that ran there'}" + (", a different sweep with different settings"
                                                              if source != sweep.name else "")
        raise UsageError(f"--base-from {results_dir}: its best configuration comes from {origin} "
                         f"({', '.join(foreign)}: not {'a setting' if len(foreign) == 1 else 'settings'} of {sweep.name}); "
                         f"allowed: the results folder of a finished {sweep.name} run, or of a sweep whose swept "
                         f"settings {sweep.name} also takes (--help lists them)")
    return settings


def best_settings(results_dir: str) -> tuple[dict[str, Any], str]:
    """The swept values of the best configuration of a finished sweep (ranked by its own metric
    at the last epoch, averaged over seeds, ties broken by analysis.results.stats.ranked), e.g.
    cifar_channels' best (c1, c2), and that sweep's name."""
    from pathlib import Path

    from analysis.results.stats import ranked
    from analysis.results.tables import TRIALS_FILE, read_parquet

    path = Path(results_dir).expanduser() / TRIALS_FILE
    if not path.is_file():
        raise UsageError(f"--base-from {results_dir}: no {TRIALS_FILE} there; allowed: the results folder of a finished sweep")
    trials, meta = read_parquet(path)
    axes = [a for a in meta.axes if a in trials]
    metric, mode = meta.metric, meta.mode
    done = trials[(trials.get("status") != "ERROR") & trials[metric].notna()] if metric in trials else trials.head(0)
    if not axes or done.empty:
        raise UsageError(f"--base-from {results_dir}: no finished trial with swept values and a {metric} to rank by")
    best = ranked(done, metric, mode, by=axes).iloc[0]  # the tie-break of the report's ranking
    return {a: best[a].item() if hasattr(best[a], "item") else best[a] for a in axes}, meta.sweep


def _split_top_level(text: str) -> list[str]:
    """Split "100,[128,64],300" on the commas that are not inside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return parts + [text[start:]]


def point_label(plan: Plan, point: Mapping[str, Any]) -> str:
    """"width=400 lr=0.01": a point's swept values, for messages about it."""
    return trial_label(point, plan.axes, empty="the configuration")


def validate_plan(plan: Plan, data: Datasets | DataBundle) -> None:
    """Check every point against the config schema, the model and the data; raise one-line errors."""
    for trial in plan.trial_points(data):
        cfg = trial.cfg
        if cfg.device == "cuda" and not plan.gpu_available:
            raise ConfigError("device 'cuda' is not allowed: no CUDA GPU is available to this run; allowed: auto, cpu")
        trial.check_model()
        if cfg.holdout_every > 1 and plan.scheduler == "asha":  # ASHA ranks trials on the held-out metric at every row
            raise ConfigError(f"holdout_every {cfg.holdout_every} is not allowed with --scheduler asha, which judges "
                              f"trials at every row; allowed: holdout_every 1, or --scheduler none")
        n_train = trial.sizes.train
        if cfg.batch_size > n_train and not OBJECTIVES[plan.sweep.objective].draws_batches:
            raise ConfigError(
                f"batch_size {cfg.batch_size} is larger than the training set ({n_train} examples of "
                f"{trial.bundle.meta.variant}); allowed: 1..{n_train}"
            )


def decide_fusion(plan: Plan, data: Datasets | DataBundle, mode: str, population_size: int, threads: int = 1,
                  speedup: Callable[[list[dict[str, Any]], DataBundle], float] | None = None) -> None:
    """Group the plan's points by shape (trainables.population.shape_key) into populations that
    train as one, when some group has two or more members. With `mode` auto, a group fuses only
    where a fused step measures faster than its members' steps one by one on this device
    (`speedup`, by default trainables.population.fusion_speedup); a group that cannot or should
    not fuse trains one by one (populations of one), with a note saying why. `mode` on fuses
    whatever can fuse and makes any impossibility an error; off never fuses."""
    if mode == "off":
        return
    trials = plan.trial_points(data)
    groups: dict[str, list[TrialPoint]] = {}
    for trial in trials:
        groups.setdefault(trial.shape, []).append(trial)
    reason = None
    if plan.search != "grid":
        reason = "Optuna proposes trials one at a time"
    elif plan.scheduler == "asha":
        reason = "ASHA schedules whole trials"
    elif max(len(g) for g in groups.values()) < 2:
        reason = "no two trials share all tensor shapes"
    measure = speedup or (lambda flats, bundle: fusion_speedup(flats, bundle, plan.sweep.objective, threads=threads))
    populations, refused = [], []  # refused: (the group, why it trains one by one)
    for group in groups.values() if reason is None else ():
        expanded = [t.flat for t in group]
        bundle = group[0].bundle
        why = why_not_fusable(expanded, bundle) if len(group) > 1 else None
        if why is None and len(group) > 1 and mode == "auto":
            ratio = measure(expanded, bundle)
            if ratio < FUSION_MARGIN:
                why = (f"a fused step of {len(expanded[:3])} {expanded[0].get('model', 'mlp')} models measured {ratio:.2f}x "
                       "the speed of their steps one by one on this device (--fuse on fuses them anyway)")
        points = [t.point for t in group]  # members keep their preset labels and data keys; the trainable resolves them
        if why:
            refused.append((points, why))
        k = 1 if why else -(-len(group) // population_size)  # populations, each at most population_size members
        size = 1 if why else -(-len(group) // k)
        populations += [points[i : i + size] for i in range(0, len(points), size)]
    if reason is None and not any(len(p) > 1 for p in populations):
        reason = refused[0][1]
    if mode == "on" and (reason is not None or refused):
        raise UsageError(f"--fuse on is not possible here: {reason or refused[0][1]}; allowed: --fuse auto or off")
    if reason is None:
        plan.populations = populations
    plan.notes.extend(fusion_notes(plan, [p for p in populations if len(p) > 1] if reason is None else [], refused))


def fusion_notes(plan: Plan, fused: list[list[dict[str, Any]]], refused: list[tuple[list[dict[str, Any]], str]]) -> list[str]:
    """The fusion notes, made from what will run (plan.trials_text) and the groups fused or
    not, named by their shared values: they cannot disagree with the header or the preview.
    Routine reasons for fusing nothing (Optuna, ASHA, no two alike) go unsaid."""
    notes = []
    if fused:
        notes.append(f"fused {', '.join(group_label(plan, p) for p in fused)}, so {plan.trials_text()}: same-shape "
                     "models trained as one with stacked weights (--fuse off runs them one by one)")
    notes += [f"not fused: {group_label(plan, points)}: {why}; they run one by one" for points, why in refused]
    return notes


def group_label(plan: Plan, points: list[dict[str, Any]]) -> str:
    """"width=400 (2 trials)": the swept values a group's points share."""
    swept = plan.axes + ([SEED] if SEED in plan.grid else [])
    keys = [k for k in swept if k in points[0] and all(p.get(k) == points[0][k] for p in points)]
    return f"{trial_label(points[0], keys, empty='all')} ({len(points)} trial{'s' if len(points) > 1 else ''})"


def order_by_cost(plan: Plan, data: Datasets | DataBundle) -> None:
    """Put the values of each grid axis in order of falling training cost (parameters x
    training examples x epochs), so the longest trials start first and the short ones fill in
    beside them: on 2 CPUs this cuts mnist_width's makespan from about 4.7 to 2.8 s."""

    trials = plan.trial_points(data)
    cost = [t.params * t.sizes.train * t.cfg.max_epochs for t in trials]
    for axis, values in plan.grid.items():
        mean_cost = {repr(v): sum(c for t, c in zip(trials, cost) if t.point[axis] == v) for v in values}
        plan.grid[axis] = sorted(values, key=lambda v: -mean_cost[repr(v)])  # stable for equal costs


def plugins(plan: Plan) -> list[Plugin]:
    """The modules outside this package that registered the plan's models and dataset (a lab's
    own files): every trial's worker, and later the post-hoc commands, import them first."""
    models = {expand_presets(p, plan.sweep.presets).get("model", TrainConfig.model) for p in plan.points()}
    return sorted(set(MODELS.plugins(models)) | set(DATASETS.plugins([plan.sweep.dataset])))
