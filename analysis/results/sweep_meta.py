"""What a sweep stores about itself beside its results (in the schema metadata of results.parquet,
trials.parquet and each post-hoc table): one typed SweepMeta, written by the runner
(sweeps.runner.finish.sweep_meta) and read back by every tool. Each default is defined here,
once; a reader uses the fields as they are and never re-defaults them.

    meta = SweepMeta(sweep="mnist_width", axes=("width",), metric=M.VAL_LOSS)
    SweepMeta.from_json(meta.to_json()) == meta
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Mapping

from analysis.results.claims import Reference
from trainables import metrics as M

if TYPE_CHECKING:  # models imports torch: a sweep module imports this one before Ctrl-C is handled
    from models.registry import Plugin

LEGACY_KEYS = {"primary": "headline"}  # key in files written before SweepMeta -> its field now


@dataclass(frozen=True)
class Posthoc:
    """A study the runner runs on the finished sweep (analysis.results.sections), whose section the report
    gets: the same as `python -m analysis.NAME RESULTS_DIR --trials TRIALS` with `options`.

        Posthoc("interpolate", options={"along": "batch_size"})
    """

    name: str
    """A registered study (analysis.results.sections): fgsm, hessian, sensitivity, trajectory, ..."""
    trials: str | None = None
    """best, all or trial ids (None: the study's own default)."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """The study's keyword arguments (its command's flags, with underscores)."""
    smoke: Mapping[str, Any] = field(default_factory=dict)
    """--smoke-test overrides of `options` (fewer iterations, images or probes)."""


@dataclass(frozen=True)
class SweepMeta:
    """The sweep's description stored with its Parquet files. Lists arrive as tuples, references,
    post-hoc steps and plugins as their classes, whether given as objects or in their JSON form."""

    sweep: str = ""
    """The sweep's name (sweeps.NAME)."""
    title: str = ""
    """The report's heading and the title over plots of the headline metric."""
    description: str = ""
    """One paragraph for the report: what the study shows."""
    axes: tuple[str, ...] = ()
    """The swept config keys, in the order of the plan."""
    x: str | None = None
    """The axis on the x of comparison plots (None: the first swept axis)."""
    metric: str = M.VAL_LOSS
    """What trials are ranked by (the best configuration, `--trials best`, `--base-from`)."""
    mode: str | None = None
    """min or max for `metric`; None given: the metric's own direction (metrics.MODES), else min."""
    headline: str = M.TEST_ACC
    """What the study is about: the metric of the grid plots and the curriculum's headline."""
    log_axes: tuple[str, ...] = ()
    """Axes sampled log-uniformly: plotted on a log scale."""
    notes: tuple[str, ...] = ()
    """What the plan changed or skipped (e.g. the GPU half without a GPU), for the report."""
    unit: str = "epoch"
    """What training length is counted in: epoch, or step for step-based sweeps."""
    full_length: tuple[tuple[Mapping[str, Any], int], ...] = ()
    """The sweep's own training length (in `unit`) before a smoke test, --max-epochs or --set cut
    it: (where, length) rules, the first matching a trial's settings wins (text_models: CNNs 250,
    GRUs 100). A reference about the end of training is not checked on a trial set shorter."""
    family: str = ""
    """The trainable family (classification, sequence, language_model...); empty: not recorded."""
    source: str = ""
    """The source the sweep reproduces, as its references cite it."""
    references: tuple[Reference, ...] = ()
    """The source's results, checked against this run's (analysis.results.references)."""
    data_axes: Mapping[str, str] = field(default_factory=dict)
    """Config keys that choose the dataset: key -> loader argument."""
    posthoc: tuple[Posthoc, ...] = ()
    """The studies the sweep declares; their report sections come first."""
    command: str = ""
    """The command line that ran the sweep."""
    dataset: str = ""
    """The sweep's dataset (a registered loader name)."""
    data_dir: str | None = None
    """The folder the data was read from (None: the default data folder)."""
    loader_args: Mapping[str, Any] = field(default_factory=dict)
    """The data loader's keyword arguments, so tools that reopen a checkpoint load the same data."""
    data_read: tuple[str, ...] = ()
    """What the loader read, one line per dataset, for the report."""
    plugins: tuple[Plugin, ...] = ()
    """The user's modules that registered the sweep's models or data, imported again by tools."""
    study: str | None = None
    """On a post-hoc study's tables only: the study that wrote them."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """On a post-hoc study's tables only: the options it ran with."""

    def __post_init__(self) -> None:
        def fix(name: str, value: Any) -> None:  # frozen: each field is normalised once, here
            object.__setattr__(self, name, value)

        for name in ("axes", "log_axes", "notes", "data_read"):
            fix(name, tuple(getattr(self, name)))
        fix("references", tuple(r if isinstance(r, Reference) else Reference(**r) for r in self.references))
        fix("posthoc", tuple(p if isinstance(p, Posthoc) else Posthoc(**p) for p in self.posthoc))
        fix("full_length", tuple((dict(where), int(length)) for where, length in self.full_length))
        fix("plugins", tuple(self.plugins))
        if self.plugins:
            from models.registry import Plugin

            fix("plugins", tuple(p if isinstance(p, Plugin) else Plugin(*p) for p in self.plugins))
        for name in ("data_axes", "loader_args", "options"):
            fix(name, dict(getattr(self, name)))
        if self.mode is None:
            fix("mode", M.MODES.get(self.metric, "min"))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored in the Parquet metadata (every field, plugins as [module, file])."""
        out = asdict(self)
        out["plugins"] = [[p.module, p.file] for p in self.plugins]
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "SweepMeta":
        """Read a stored description: legacy keys renamed (primary -> headline), unknown keys
        dropped, and a missing key or a null value takes the field's default."""
        known = {f.name for f in fields(cls)}
        renamed = {LEGACY_KEYS.get(k, k): v for k, v in raw.items() if not (k in LEGACY_KEYS and LEGACY_KEYS[k] in raw)}
        return cls(**{k: v for k, v in renamed.items() if k in known and v is not None})

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | bytes) -> "SweepMeta":
        return cls.from_dict(json.loads(text))
