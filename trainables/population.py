"""Which trials can train together as one population (trainables.loop, trainables.engines).

Trials fuse when their configurations differ only in member keys, none of which changes a
tensor shape: each member keeps its own learning rate, momentum, weight decay, dropout, seed
(initial weights and batch order) and label noise, its own metrics and its own stopping.
"""
from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import torch

from data_modules import DataBundle
from trainables.config import TrainConfig, meta_model, split_config
from trainables.numpy_step import OWN_STEPS

MEMBER_KEYS = ("lr", "momentum", "weight_decay", "dropout", "seed", "label_shuffle")


def shape_key(config: Mapping[str, Any]) -> str:
    """Configs with equal keys can share a population: everything but the member keys agrees."""
    return json.dumps({k: v for k, v in config.items() if k not in MEMBER_KEYS}, sort_keys=True, default=str)


def why_not_fusable(configs: Sequence[Mapping[str, Any]], bundle: DataBundle | None = None) -> str | None:
    """None when these flat configs can train as one population, else the reason in a phrase.
    Given the data, the model is also tried under torch.func on the meta device."""
    shared = [{k: v for k, v in c.items() if k not in MEMBER_KEYS} for c in configs]
    if any(s != shared[0] for s in shared[1:]):
        differing = sorted({k for s in shared for k in s if s.get(k) != shared[0].get(k)})
        return f"configurations differ in {', '.join(differing)} (only {', '.join(MEMBER_KEYS)} may differ)"
    cfg, model_kwargs = split_config(configs[0])
    if cfg.model in OWN_STEPS:
        return f"model {cfg.model!r} trains with its own step, one model at a time"
    if bundle is not None:
        return why_not_vmappable(cfg, model_kwargs, bundle)
    return None


def why_not_vmappable(cfg: TrainConfig, model_kwargs: Mapping[str, Any], bundle: DataBundle) -> str | None:
    """Run two members of the model forward and backward under torch.func.vmap on the meta
    device (no memory, no compute): a model with data-dependent Python control flow or an op
    without a batching rule fails here, before any trial starts."""
    from trainables.engines import FAST_PATHS, Functional

    if cfg.model in FAST_PATHS:
        return None
    meta = bundle.meta
    models = [meta_model(cfg, model_kwargs, meta.model_args) for _ in range(2)]
    # images arrive as uint8 and train as floats; token ids stay integers
    dtype = torch.float32 if bundle.train.x.dtype in (torch.uint8, torch.float32, torch.float64) else bundle.train.x.dtype
    try:
        engine = Functional(models)
        engine.forward(torch.zeros((2, 2, *meta.input_shape), device="meta", dtype=dtype), train=True).sum().backward()
    except Exception as e:  # any failure means the generic population cannot run this model
        return f"model {cfg.model!r} cannot run under torch.func.vmap ({str(e).splitlines()[0][:120]})"
    return None


def fusion_speedup(flats: Sequence[Mapping[str, Any]], bundle: DataBundle, objective: str = "classification",
                   members: int = 3, steps: int = 2, threads: int = 1) -> float:
    """How much faster one fused step of `members` of these trials is than their steps one by one,
    measured on the device they train on (> 1: fusing pays). Small models gain (fewer kernel
    launches, more work per launch); a convolution network that already keeps a CPU busy runs
    slower fused (grouped convolutions and the reshuffling vmap adds)."""
    import torch

    from trainables.loop import build_trainer

    saved = torch.get_num_threads()
    try:
        flats = list(flats)[:members]
        fused = build_trainer(flats, bundle, _ignore, objective=objective, threads=threads)
        singles = [build_trainer([f], bundle, _ignore, objective=objective, threads=threads) for f in flats]
        fused_s = min(fused.time_steps(steps, warmup=1 if r == 0 else 0) for r in range(2))
        alone_s = min(sum(s.time_steps(steps, warmup=1 if r == 0 else 0) for s in singles) for r in range(2))
    finally:
        torch.set_num_threads(saved)
    return alone_s / fused_s


def _ignore(rows, state) -> None:
    """A report callback for trainers that are only timed."""
