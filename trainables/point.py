"""One grid point, resolved once: the configuration Tune hands the trial (preset labels, data
keys), the flat config the trainable trains (presets expanded, data keys removed), its typed
config and model arguments, its data, and what follows from them, each computed on first use:
the split sizes, the model on the meta device, its parameter count and its FLOPs per step.
Validation, ordering by cost, fusion, the cost estimate and the memory check all read this one
object (sweeps.runner.plan builds it once per point); the trainable resolves its flat config with
the same function (trial_flat).

    trial = TrialPoint.resolve({"model_size": "small", "lr": 0.1}, data, presets)
    trial.cfg.lr, trial.flat, trial.sizes.train, trial.params, trial.step_flops
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping

import torch

from data_modules import DataBundle, DataPeek, peek_split_sizes, split_sizes
from data_modules.collection import Datasets
from models import param_count
from trainables.config import TrainConfig, check_own_step, expand_presets, meta_model, split_config
from trainables.cost import input_dtype, step_flops_of, trial_memory_bytes
from trainables.population import shape_key

Presets = Mapping[str, Mapping[str, Mapping[str, Any]]]


@dataclass(frozen=True)
class Sizes:
    """Examples a trial trains, validates and tests on."""

    train: int
    val: int
    test: int

    @property
    def held_out(self) -> int:
        """Examples of one evaluation row (validation and test sets)."""
        return self.val + self.test


def trial_flat(point: Mapping[str, Any], data: Datasets, presets: Presets | None) -> dict[str, Any]:
    """A point as the trainable trains it: its data keys removed, its preset labels expanded."""
    return expand_presets(data.strip(point), presets or {})


@dataclass(frozen=True, eq=False)
class TrialPoint:
    point: Mapping[str, Any]
    """As Tune hands it to the trial: preset labels and data keys included."""
    flat: dict[str, Any]
    """As the trainable trains it (trial_flat)."""
    cfg: TrainConfig
    model_kwargs: dict[str, Any]
    data: DataBundle | DataPeek
    """The point's loaded data, or (for the catalogue) its peek: sizes without loading."""
    shape: str
    """trainables.population.shape_key of the point with its data keys: equal shapes may fuse."""
    _sizes: dict = field(default_factory=dict, repr=False)
    """Split sizes shared by the points resolved together (the same data and split settings)."""

    @classmethod
    def resolve(cls, point: Mapping[str, Any], data: Datasets | DataBundle, presets: Presets | None,
                shared_sizes: dict | None = None) -> TrialPoint:
        data = Datasets.of(data)
        flat = trial_flat(point, data, presets)
        cfg, model_kwargs = split_config(flat)
        shape = shape_key(expand_presets(point, presets or {}))
        return cls(point, flat, cfg, model_kwargs, data.for_config(point), shape,
                   shared_sizes if shared_sizes is not None else {})

    @property
    def bundle(self) -> DataBundle:
        if not isinstance(self.data, DataBundle):
            raise TypeError("this point was resolved against a dataset's peek, not its loaded data")
        return self.data

    @property
    def data_args(self) -> dict[str, Any]:
        """What the model is built from of the data (DataMeta.model_args)."""
        return (self.data if isinstance(self.data, DataPeek) else self.data.meta).model_args

    @property
    def tokens(self) -> bool:
        """Inputs are integer token ids (else images or features, float on the device)."""
        return self.data.tokens if isinstance(self.data, DataPeek) else input_dtype(self.data) == torch.long

    @property
    def sizes(self) -> Sizes:
        """(train, val, test) examples of this trial; raises DataError for subset sizes that
        cannot be class-balanced. From a peek: the counts alone (data_modules.peek_split_sizes)."""
        cfg = self.cfg
        key = (id(self.data), cfg.val_fraction, cfg.train_size, cfg.test_size)
        if key not in self._sizes:
            of = peek_split_sizes if isinstance(self.data, DataPeek) else split_sizes
            self._sizes[key] = Sizes(*of(self.data, *key[1:]))
        return self._sizes[key]

    @cached_property
    def model(self) -> torch.nn.Module:
        """The model on the meta device, built once for its parameters, FLOPs and memory."""
        return meta_model(self.cfg, self.model_kwargs, self.data_args)

    @cached_property
    def params(self) -> int:
        """Parameter count; validates the settings the model constrains and the model arguments
        (trainables.config.check_model, on the meta model built once)."""
        check_own_step(self.cfg)
        return param_count(self.model)

    def check_model(self) -> int:
        """Raise a ConfigError for model arguments the model refuses, or settings it constrains
        (trainables.config.check_model); return its parameter count."""
        return self.params

    @cached_property
    def step_flops(self) -> float:
        """FLOPs of one training step (forward and backward) of one member."""
        return step_flops_of(self.cfg, self.model_kwargs, self.data_args, self.tokens,
                             model=self.model)

    def memory_bytes(self, members: int = 1, activations: bool = True) -> int:
        """Estimated peak bytes of this trial, or of a fused population of `members` like it
        (trainables.cost.trial_memory_bytes)."""
        n = self.sizes.train + self.sizes.held_out
        return trial_memory_bytes(self.cfg, self.model_kwargs, self.data_args, n, members,
                                  input_dtype(self.bundle), activations, model=self.model)
