"""What a sweep module declares: fixed settings, the search space, and how to judge trials
(its References, defined with the code that checks them: analysis.results.claims)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from analysis.results.claims import Reference
from analysis.results.sweep_meta import Posthoc
from trainables import metrics as M

# Settings every sweep starts from (its `fixed` overrides them): the sources' tables begin with
# the untrained model, so every run evaluates it too (a row at epoch 0).
RUN_DEFAULTS = {"max_epochs": 5, "seed": 0, "eval_at_start": True}


@dataclass(frozen=True)
class Sweep:
    """One experiment: the runner turns it into a Tune run, Parquet tables, plots and a report."""

    name: str
    """Default results folder name and the `sweep` column of every row."""
    title: str
    """Headline of the report and the plots."""
    fixed: Mapping[str, Any]
    """Config values shared by every trial (TrainConfig fields and model arguments)."""
    grid: Mapping[str, Sequence[Any]]
    """Grid axes: config key -> values (the full Cartesian product is run)."""
    dataset: str
    """The registered dataset (data_modules.DATASETS) every trial reads."""
    model: str | tuple[str, ...]
    """The registered model(s) the trials build: what `fixed`, a `model` axis or the presets choose
    (checked against them when the sweep is declared), so that the declaration says what runs."""
    objective: str
    """The registered objective (trainables.objectives.OBJECTIVES): classification, regression,
    palindrome, language_model."""
    smoke: Mapping[str, Any] = field(default_factory=dict)
    """--smoke-test overrides: config values, plus grid axes (key -> shorter list of values)."""
    presets: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    """Axes whose values name bundles of settings, e.g. model_size: {small: {depth: 2, width: 400}}."""
    optuna: Mapping[str, tuple[str, float, float]] = field(default_factory=dict)
    """Continuous axes for --search optuna: key -> (uniform|loguniform, low, high)."""
    search: str = "grid"
    """Default search: grid or optuna."""
    scheduler: str = "none"
    """Default trial scheduler: none or asha."""
    num_samples: int = 1
    """Default Tune num_samples (grid repeats, or Optuna trials)."""
    repeats: int = 1
    """Default seeds per configuration (--repeats): the source's protocol, e.g. 3 where it
    averaged 3 runs by hand. A smoke test runs one."""
    min_delta: float | None = None
    """If set, min-delta early stopping on `metric` with this threshold."""
    patience: int = 1
    """Epochs in a row with too small an improvement before min-delta stopping."""
    metric: str = M.VAL_LOSS
    """Metric that ranks trials (and drives Optuna, ASHA and stopping)."""
    mode: str = "min"
    headline: str = M.TEST_ACC
    """What the study is about: the metric of its grid plots (heatmap, parallel coordinates)."""
    x: str | None = None
    """Axis on the x of comparison plots (default: the first grid axis)."""
    data: Mapping[str, Any] = field(default_factory=dict)
    """Fixed arguments of the dataset loader (e.g. manifest="dogs.csv", image_size=64)."""
    data_axes: Mapping[str, str] = field(default_factory=dict)
    """Config keys that choose the dataset: key -> loader argument (e.g. toy_set -> kind)."""
    description: str = ""
    """One paragraph for the report: what the study shows."""
    source: str = ""
    """The source experiment in words (course and year), never a file name."""
    references: Sequence[Reference] = ()
    """What the source reported, compared with this run in the report."""
    posthoc: Sequence[Posthoc] = ()
    """Studies and extra figures run after training, in order; each adds its section to the report."""
    sample: Mapping[str, Any] = field(default_factory=dict)
    """Language models: text each trained trial writes into the report (sample_prompt,
    sample_chars, sample_temperature; --set overrides them)."""

    @property
    def settings(self) -> dict[str, Any]:
        """The run defaults with this sweep's fixed settings over them."""
        return {**RUN_DEFAULTS, **self.fixed}

    @property
    def full_length(self) -> tuple[tuple[dict[str, Any], int], ...]:
        """Its training length as declared, before a smoke test or --max-epochs cuts it: one
        (where, length) rule per preset that sets its own, then the fixed length (none when the
        length is swept: each trial's own is its full one). SweepMeta.full_length stores it."""
        key = "max_steps" if self.settings.get("max_steps") else "max_epochs"
        if key in self.grid:
            return ()
        presets = [({axis: name}, int(preset[key])) for axis, table in self.presets.items()
                   for name, preset in table.items() if preset.get(key)]
        return (*presets, ({}, int(self.settings[key])))

    def models_chosen(self) -> list[str]:
        """The models the grid's points build: a `model` axis, the presets of a preset axis, or
        the fixed model (TrainConfig's default when none is fixed)."""
        from trainables.config import TrainConfig  # torch: only once a run starts, not for the catalogue

        base = self.fixed.get("model", TrainConfig.model)
        if "model" in self.grid:
            return list(dict.fromkeys(self.grid["model"]))
        for axis, values in self.grid.items():
            if axis in self.presets:
                return list(dict.fromkeys(self.presets[axis][v].get("model", base) for v in values))
        return [base]

    def check_declared_model(self) -> None:
        """A ConfigError when `model` is not what the settings choose: the declaration must say what runs."""
        from trainables.config import ConfigError

        declared = [self.model] if isinstance(self.model, str) else list(self.model)
        chosen = self.models_chosen()
        if sorted(declared) != sorted(chosen):
            shown = f'"{chosen[0]}"' if len(chosen) == 1 else "(" + ", ".join(f'"{m}"' for m in chosen) + ")"
            raise ConfigError(f"sweep {self.name!r} declares model={self.model!r} but its settings build "
                              f"{', '.join(chosen)}; allowed: model={shown}")

    @property
    def prog(self) -> str:
        """The command that runs this sweep: `python -m sweeps.NAME` for the package's own, else the
        user's script as it was started (a lab's experiment in its own files, examples/)."""
        import importlib.util
        import shlex
        import sys

        if importlib.util.find_spec(f"sweeps.{self.name}") is not None:
            return f"python -m sweeps.{self.name}"
        return f"python {shlex.quote(sys.argv[0])}"

    @property
    def axes(self) -> list[str]:
        return list(self.grid) + [k for k in self.optuna if k not in self.grid]
