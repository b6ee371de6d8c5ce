"""What a trial costs, counted on the meta device (no memory, no compute): the FLOPs of a
training step, and how much GPU memory a trial needs, with the GPU share that packs trials by it.

The estimate is deliberately simple and errs high: weights, gradients and optimizer slots;
activations kept for backward at the training batch; one evaluation batch; the resident data
as float32; and the per-process CUDA context.
"""
from __future__ import annotations

import hashlib
import math
from contextlib import contextmanager
from typing import Any, Iterator, Mapping

import torch

from data_modules.machine_cache import MachineCache
from models import param_count
from trainables.config import TrainConfig, meta_model

# A CUDA context plus cuBLAS/cuDNN workspaces costs each trial process about 0.5 GiB.
CUDA_CONTEXT_BYTES = 512 * 2**20
# Per-parameter float32 state an optimizer keeps besides weights and gradients.
OPTIMIZER_SLOTS = {"sgd": 1, "adam": 2, "rmsprop": 2, "adagrad": 1}
# More trials than this on one GPU only queue behind each other's kernels.
MAX_TRIALS_PER_GPU = 16
EVAL_BATCH = 4096
FLOAT = 4


def input_dtype(bundle) -> torch.dtype:
    """What a model of this data takes: token ids (long) or real values (float32; uint8 images
    are scaled on the device)."""
    x = bundle.train.x
    return torch.float32 if x.dtype.is_floating_point or x.dtype == torch.uint8 else torch.long


def step_flops_of(cfg: TrainConfig, model_kwargs: dict, data_args: Mapping[str, Any], tokens: bool = False,
                  model: torch.nn.Module | None = None) -> float:
    """FLOPs of one training step (forward and backward), counted on the meta device (on `model`,
    the meta model, when it is built already): no memory, no compute. Counted once per model
    shape and remembered on disk (FLOPS): torch's FlopCounterMode imports torch._dynamo,
    about a second of a laptop core, on every run's first count."""
    model = model if model is not None else meta_model(cfg, model_kwargs, data_args)
    key = flops_key(model, model_kwargs, cfg.batch_size, data_args["input_shape"], tokens)
    cached = FLOPS.get(key)
    if isinstance(cached, (int, float)):
        return float(cached)
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros((cfg.batch_size, *data_args["input_shape"]), device="meta", dtype=torch.long if tokens else torch.float32)
    with FlopCounterMode(display=False) as counter:
        model(x).float().sum().backward()
    flops = float(counter.get_total_flops())
    FLOPS.put(key, flops)
    return flops


# Step FLOPs by model shape (flops_key), beside the machine's other caches.
FLOPS = MachineCache("flops", kept=2000)


def flops_key(model: torch.nn.Module, model_kwargs: Mapping[str, Any], batch_size: int, input_shape, tokens: bool) -> str:
    """The model's printed structure, its arguments, the batch and input shape and torch's
    version: any change to what a step computes is counted afresh."""
    text = repr((torch.__version__, repr(model), sorted(model_kwargs.items(), key=lambda kv: kv[0]), batch_size,
                 tuple(input_shape), tokens))
    return hashlib.sha1(text.encode()).hexdigest()


def activation_elements(model: torch.nn.Module, input_shape, batch: int, dtype: torch.dtype = torch.float32) -> int:
    """Elements of every leaf module's output for one batch, traced on the meta device."""
    total = 0

    def count(_module, _inputs, output):
        nonlocal total
        if torch.is_tensor(output):
            total += output.numel()

    hooks = [m.register_forward_hook(count) for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            model(torch.empty(batch, *input_shape, device="meta", dtype=dtype))
    finally:
        for h in hooks:
            h.remove()
    return total


def trial_memory_bytes(cfg: TrainConfig, model_kwargs: Mapping[str, Any], data_args: Mapping[str, Any],
                       n_examples: int, members: int = 1, dtype: torch.dtype = torch.float32,
                       activations: bool = True, model: torch.nn.Module | None = None) -> int:
    """Estimated peak GPU bytes of one trial (or one fused population of `members`) whose inputs
    are of `dtype` (input_dtype), on `model` (the meta model) when it is built already. Without
    `activations` it skips tracing the model, whose first meta-device forward costs a process
    about a second: a lower bound, enough to catch a model that could never fit."""
    model = model if model is not None else meta_model(cfg, model_kwargs, data_args)
    input_shape = data_args["input_shape"]
    params = param_count(model) * members
    weights = params * FLOAT * (2 + OPTIMIZER_SLOTS[cfg.optimizer])
    data = n_examples * (math.prod(input_shape) * FLOAT + 8)
    if not activations:
        return int(weights + data + CUDA_CONTEXT_BYTES)
    # activations are kept for backward and their gradients flow back: twice the forward outputs
    train_acts = 2 * activation_elements(model, input_shape, cfg.batch_size, dtype) * FLOAT * members
    eval_acts = activation_elements(model, input_shape, EVAL_BATCH, dtype) * FLOAT * members
    return int(weights + train_acts + eval_acts + data + CUDA_CONTEXT_BYTES)


def gpu_share(needed_bytes: int, gpu_bytes: int) -> float:
    """The GPU fraction to request so that as many trials as fit (at most 16) share one GPU."""
    fit = int(gpu_bytes * 0.9 // max(needed_bytes, 1))  # keep 10% for fragmentation
    if fit <= 1:
        return 1.0
    return 1.0 / min(fit, MAX_TRIALS_PER_GPU)


class GpuShareExceeded(RuntimeError):
    """A trial needed more GPU memory than its share (--gpus-per-trial) holds."""


@contextmanager
def within_gpu_share(gpus: float) -> Iterator[None]:
    """Hold a trial granted a fraction of a GPU to that fraction of its memory, so an over-large
    trial fails with one clear line instead of starving the trials beside it; the cap is lifted
    again on leaving (a reused worker may run a trial of another share next)."""
    capped = 0 < gpus < 1 and torch.cuda.is_available()
    if capped:
        torch.cuda.set_per_process_memory_fraction(gpus)
    try:
        yield
    except torch.OutOfMemoryError:
        total = torch.cuda.get_device_properties(0).total_memory / 2**30
        share = (f"its share of {gpus:g} GPU ({gpus * total:.1f} of {total:.0f} GiB)" if capped
                 else f"the whole GPU ({total:.0f} GiB)")
        larger = "a larger --gpus-per-trial, or " if capped else ""
        raise GpuShareExceeded(f"trial ran out of GPU memory within {share}; allowed: {larger}a smaller batch_size "
                               "or model") from None
    finally:
        if capped:
            torch.cuda.empty_cache()  # the cached blocks of this trial would count against the next one's cap
            torch.cuda.set_per_process_memory_fraction(1.0)
