"""Typed trial configuration: Tune's flat dict -> (TrainConfig, model kwargs), validated.

The runner calls the same functions on every grid point before Ray starts, so a typo or a
bad value is one clear line, not a failed trial.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

import torch

from models import UnknownNameError, check_name, create_model, list_models, model_arguments, param_count
from models.errors import UserError
from trainables.numpy_step import OWN_STEPS
from trainables.optimizers import OPTIMIZERS

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("fp32", "bf16")
# Filled in from the data, never by a sweep.
DATA_DERIVED_MODEL_ARGS = ("input_shape", "num_classes", "vocab")  # data_modules.base.model_args


class ConfigError(UserError):
    """A configuration value that is not allowed; the message names it and what is allowed."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything about one trial except the model's own hyperparameters."""

    model: str = "mlp"
    """Registered model name (see models.list_models())."""
    optimizer: str = "sgd"
    """One of trainables.optimizers.OPTIMIZERS."""
    lr: float = 0.01
    """Learning rate."""
    momentum: float = 0.8
    """Momentum for sgd and rmsprop (0.8 is the classic MNIST assignment's setting)."""
    weight_decay: float = 0.0
    """L2 penalty passed to the optimizer."""
    batch_size: int = 64
    """Training minibatch size."""
    max_epochs: int = 5
    """Upper bound on epochs; stoppers and ASHA may end a trial earlier."""
    max_steps: int | None = None
    """When set, training length in optimizer steps instead of epochs (max_epochs is then
    ignored, and eval_every and checkpoint_every count steps)."""
    seed: int = 0
    """Seeds torch, numpy and Python at the trial's start (a search axis with --repeats)."""
    val_fraction: float = 0.1
    """Fraction of the training set held out (stratified) for validation."""
    train_size: int | None = None
    """Class-balanced training subset size; None uses all remaining training examples."""
    test_size: int | None = None
    """Class-balanced test subset size; None uses the whole test set."""
    label_shuffle: float = 0.0
    """Fraction of training labels permuted (1.0 = the random-labels experiment)."""
    drop_last: bool = False
    """Drop the last partial batch of each epoch (off: every sample is seen every epoch)."""
    checkpoint_every: int = 1
    """Save a checkpoint every k epochs or steps (and always at the last)."""
    eval_every: int = 1
    """Evaluate and report every k epochs or steps (and always at the last); the toy study uses 10."""
    holdout_every: int = 1
    """Evaluate the validation and test sets on every k-th row (and the first and the last); the rows
    between carry the training metrics only (NaN for val_*/test_*). The palindromes report every 10
    steps, as the source did on its training batches, and score the 12,000 held-out ones every 100:
    at every row they cost 2-3x the training itself."""
    eval_at_start: bool = False
    """Evaluate the untrained model first: a row at epoch 0 / step 0, as the sources' tables have."""
    clip_grad_norm: float | None = None
    """Scale each member's whole gradient down to at most this L2 norm before every update."""
    track_grad_norm: bool = False
    """Report grad_norm: the mean L2 norm of the whole gradient (before clipping) per row."""
    record_weights_every: int | None = None
    """Save the flattened weights every k epochs (and at epoch 0) as tensor files (trajectories)."""
    device: str = "auto"
    """auto (CUDA when the trial was granted a GPU), cpu or cuda."""
    precision: str = "fp32"
    """fp32, or bf16 (autocast of forward and loss; weights and optimizer stay fp32)."""
    tf32: bool = True
    """On CUDA, let fp32 matmuls use TF32 tensor cores (about 3x faster, ~1e-3 relative error)."""
    cuda_graph: bool = True
    """On CUDA, replay the training step from a captured graph (falls back to eager, saying why)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def length(self) -> int:
        """Training length in its unit: steps when max_steps is set, else epochs."""
        return self.max_steps or self.max_epochs

    @property
    def unit(self) -> str:
        return "step" if self.max_steps else "epoch"


TRAIN_KEYS = tuple(f.name for f in fields(TrainConfig))


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check(ok: bool, key: str, value, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"{key} {value!r} is not allowed; {allowed}")


def validate_train_config(c: TrainConfig) -> TrainConfig:
    try:
        check_name("optimizer", c.optimizer, OPTIMIZERS)
        check_name("device", c.device, DEVICES)
        check_name("precision", c.precision, PRECISIONS)
    except UnknownNameError as e:
        raise ConfigError(str(e)) from None
    _check(isinstance(c.lr, (int, float)) and math.isfinite(c.lr) and c.lr > 0, "lr", c.lr, "use a positive number")
    _check(isinstance(c.momentum, (int, float)) and 0 <= c.momentum < 1, "momentum", c.momentum, "use a number in [0, 1)")
    _check(isinstance(c.weight_decay, (int, float)) and c.weight_decay >= 0, "weight_decay", c.weight_decay, "use a number >= 0")
    for key in ("batch_size", "max_epochs", "checkpoint_every", "eval_every", "holdout_every"):
        v = getattr(c, key)
        _check(_is_int(v) and v > 0, key, v, "use a positive integer")
    _check(_is_int(c.seed) and c.seed >= 0, "seed", c.seed, "use an integer >= 0")
    for key in ("train_size", "test_size", "max_steps", "record_weights_every"):
        v = getattr(c, key)
        _check(v is None or (_is_int(v) and v > 0), key, v, "use a positive integer or leave it unset")
    clip = c.clip_grad_norm
    _check(clip is None or (isinstance(clip, (int, float)) and not isinstance(clip, bool) and math.isfinite(clip) and clip > 0),
           "clip_grad_norm", clip, "use a positive number or leave it unset")
    _check(0 <= c.label_shuffle <= 1, "label_shuffle", c.label_shuffle, "use a fraction in [0, 1]")
    _check(0 <= c.val_fraction < 1, "val_fraction", c.val_fraction, "use a fraction in [0, 1)")
    for key in ("drop_last", "tf32", "cuda_graph", "eval_at_start", "track_grad_norm"):
        _check(isinstance(getattr(c, key), bool), key, getattr(c, key), "use true or false")
    return c


def split_config(flat: Mapping[str, Any]) -> tuple[TrainConfig, dict[str, Any]]:
    """Split a flat config into a validated TrainConfig and the model's keyword arguments."""
    try:
        model = check_name("model", flat.get("model", TrainConfig.model), list_models())
    except UnknownNameError as e:
        raise ConfigError(str(e)) from None
    model_keys = [k for k in model_arguments(model) if k not in DATA_DERIVED_MODEL_ARGS]
    unknown = sorted(k for k in flat if k not in TRAIN_KEYS and k not in model_keys)
    if unknown:
        raise ConfigError(
            f"unknown config key {unknown[0]!r}; allowed: {', '.join(sorted(TRAIN_KEYS + tuple(model_keys)))}"
        )
    cfg = validate_train_config(TrainConfig(**{k: v for k, v in flat.items() if k in TRAIN_KEYS}))
    return cfg, {k: v for k, v in flat.items() if k in model_keys}


def data_args_of(model: str, data_args: Mapping[str, Any]) -> dict[str, Any]:
    """The data facts (DataMeta.model_args) that `model`'s constructor takes: every model takes the
    input shape and output width; only a model that embeds a vocabulary's ids takes `vocab`."""
    return {k: v for k, v in data_args.items() if k != "vocab" or "vocab" in model_arguments(model)}


def build_model(cfg: TrainConfig, model_kwargs: Mapping[str, Any], data_args: Mapping[str, Any], device="cpu"):
    """Create the model on `device` ("meta" validates without allocating weights) from its
    arguments and the data's (DataMeta.model_args); the constructor's ValueErrors become ConfigErrors."""
    try:
        with torch.device(device):
            return create_model(cfg.model, **data_args_of(cfg.model, data_args), **model_kwargs)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"model {cfg.model!r}: {e}") from None


def meta_model(cfg: TrainConfig, model_kwargs: Mapping[str, Any], data_args: Mapping[str, Any]) -> torch.nn.Module:
    """The trial's model on the meta device: its shapes, parameters and FLOPs without allocating
    weights. The one place a model is built there (validation, cost, memory, fusion checks)."""
    return build_model(cfg, model_kwargs, data_args, device="meta")


def check_own_step(cfg: TrainConfig) -> None:
    """The training settings a model with its own step (trainables.numpy_step) constrains."""
    own = OWN_STEPS.get(cfg.model)
    if own is not None:
        try:
            own.check(cfg)
        except ValueError as e:
            raise ConfigError(str(e)) from None


def check_model(cfg: TrainConfig, model_kwargs: Mapping[str, Any], data_args: Mapping[str, Any]) -> int:
    """Validate the training settings the model constrains (check_own_step) and the model
    arguments, by building it on the meta device; return its parameter count."""
    check_own_step(cfg)
    return param_count(meta_model(cfg, model_kwargs, data_args))


def expand_presets(config: Mapping[str, Any], presets: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """Replace preset labels by their settings, e.g. {"model_size": "small"} ->
    {"depth": 2, "width": 400}: a sweep can name a bundle of values as one axis. A key the
    config sets itself wins (the plan drops fixed keys that presets set, so what is left was
    asked for: --smoke-test's, --max-epochs' or --set's value)."""
    out = {k: v for k, v in config.items() if k not in presets}
    for axis, table in presets.items():
        if axis in config:
            label = config[axis]
            if label not in table:
                raise ConfigError(f"{axis} {label!r} is not allowed; allowed: {', '.join(map(str, table))}")
            out.update({k: v for k, v in table[label].items() if k not in config})
    return out
