"""The data of a sweep: one bundle, or one per value of its data axes (config keys that are
arguments of the dataset loader, e.g. toy2d's set), loaded once in the driver; or, for the
catalogue's estimates, their peeks (sizes without loading)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from data_modules.base import DataBundle, DataPeek, load_dataset, peek_dataset


@dataclass(frozen=True)
class Datasets:
    bundles: dict[tuple, DataBundle | DataPeek]
    axes: dict[str, str] = field(default_factory=dict)
    """Config key -> dataset loader argument."""

    @classmethod
    def of(cls, data: "Datasets | DataBundle") -> "Datasets":
        return data if isinstance(data, Datasets) else cls({(): data})

    def key(self, config: Mapping[str, Any]) -> tuple:
        return tuple(config[a] for a in self.axes)

    def for_config(self, config: Mapping[str, Any]) -> DataBundle:
        return self.bundles[self.key(config)]

    def strip(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The config without its data axes: what the training config is made of."""
        return {k: v for k, v in config.items() if k not in self.axes}

    @property
    def warnings(self) -> list[str]:
        """Every distinct warning of the loaded bundles, in order."""
        return list(dict.fromkeys(w for b in self.bundles.values() for w in b.meta.warnings))

    @property
    def notes(self) -> list[str]:
        """What the loaders say they read (rows, classes, vocabulary), each distinct note once."""
        return list(dict.fromkeys(n for b in self.bundles.values() for n in b.meta.notes))

    @property
    def first(self) -> DataBundle:
        return next(iter(self.bundles.values()))


def load_datasets(name: str, data_dir, fixed_kwargs: Mapping[str, Any], axes: Mapping[str, str],
                  points: list[dict[str, Any]], load=load_dataset) -> Datasets:
    """Load every distinct dataset the points need (once each); `load` peek_dataset peeks instead."""
    keys = sorted({tuple(p[a] for a in axes) for p in points}, key=repr) if axes else [()]
    bundles = {}
    for key in keys:
        kwargs = {**fixed_kwargs, **{axes[a]: v for a, v in zip(axes, key)}}
        bundles[key] = load(name, data_dir=data_dir, **kwargs)
    return Datasets(bundles, dict(axes))


def peek_datasets(name: str, data_dir, fixed_kwargs: Mapping[str, Any], axes: Mapping[str, str],
                  points: list[dict[str, Any]]) -> Datasets:
    """The peeks (data_modules.base.peek_dataset) of the datasets load_datasets would load."""
    return load_datasets(name, data_dir, fixed_kwargs, axes, points, load=peek_dataset)


