"""The one training loop, Ray-free: every experiment family and every benchmark calls it.

Data goes to the trial's device once; batches are index permutations drawn on that device,
so an epoch costs kernel launches, not Python per-sample work. `report(metrics, checkpoint)`
is called once per epoch; `checkpoint` is a state dict every k epochs and at the last epoch.
"""
from __future__ import annotations

import platform
import random
import time
from typing import Any, Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F

from data_modules import DataBundle, Split, trial_splits
from models import param_count
from trainables import metrics as M
from trainables.config import TrainConfig, build_model
from trainables.optimizers import build_optimizer
from trainables.step import EagerStep, make_step

Report = Callable[[dict[str, Any], "dict[str, Any] | None"], None]
EVAL_BATCH = 4096  # large enough to make evaluation a few launches, small enough for any GPU


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(cfg: TrainConfig) -> torch.device:
    """auto -> CUDA when visible (Ray hides GPUs from trials it granted none), else CPU; on
    CUDA, TF32 matmuls as the config says."""
    requested = cfg.device
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but no CUDA GPU is visible to this trial")
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = cfg.tf32
    return torch.device(requested)


def device_name(device: torch.device) -> str:
    """GPU model, or CPU model (Linux's /proc/cpuinfo, else what platform knows)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def to_device(split: Split, bundle: DataBundle, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Move a split to the device once; uint8 images are scaled and normalised there."""
    x = split.x.to(device, non_blocking=True)
    if x.dtype == torch.uint8:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        mean = torch.tensor(bundle.meta.mean, device=device).view(shape)
        std = torch.tensor(bundle.meta.std, device=device).view(shape)
        x = (x.float() / 255.0 - mean) / std
    return x, split.y.to(device, non_blocking=True)


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over (x, y) in large batches."""
    model.eval()
    loss = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    for i in range(0, len(y), EVAL_BATCH):
        out = model(x[i : i + EVAL_BATCH])
        loss += F.cross_entropy(out, y[i : i + EVAL_BATCH], reduction="sum")
        correct += (out.argmax(1) == y[i : i + EVAL_BATCH]).sum()
    n = max(len(y), 1)
    return loss.item() / n, correct.item() / n


def train_epoch(step: EagerStep, n: int, batch_size: int, drop_last: bool, gen: torch.Generator) -> tuple[float, float, int]:
    """One pass over n examples in a fresh random order; returns (mean loss, accuracy, samples seen)."""
    step.model.train()
    step.begin_epoch()
    perm = torch.randperm(n, device=step.x.device, generator=gen)
    stop = n - n % batch_size if drop_last else n
    for i in range(0, stop, batch_size):
        step(perm[i : min(i + batch_size, stop)])
    seen = max(stop, 1)
    return step.loss_sum.item() / seen, step.correct.item() / seen, stop


def run_training(
    cfg: TrainConfig,
    model_kwargs: Mapping[str, Any],
    bundle: DataBundle,
    report: Report,
    *,
    threads: int | None = None,
    resume: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train one configuration; returns the last epoch's metrics. `resume` is a loaded
    checkpoint to continue from."""
    if threads:
        torch.set_num_threads(max(1, int(threads)))
    device = pick_device(cfg)
    seed_everything(cfg.seed)
    data = trial_splits(bundle, cfg.val_fraction, cfg.train_size, cfg.test_size, cfg.label_shuffle, cfg.seed)
    x_tr, y_tr = to_device(data.train, bundle, device)
    x_va, y_va = to_device(data.val, bundle, device)
    x_te, y_te = to_device(data.test, bundle, device)
    if cfg.batch_size > len(y_tr):
        raise ValueError(f"batch_size {cfg.batch_size} is larger than the {len(y_tr)} training examples")

    meta = bundle.meta
    model = build_model(cfg, model_kwargs, meta.input_shape, meta.num_classes, device=device)
    opt = build_optimizer(model.parameters(), cfg)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    start, time_total = 1, 0.0
    if resume is not None:
        model.load_state_dict(resume["model_state"])
        opt.load_state_dict(resume["optimizer_state"])
        gen.set_state(resume["rng"]["batches"])
        torch.set_rng_state(resume["rng"]["torch"])
        start, time_total = resume["epoch"] + 1, resume[M.TIME_TOTAL_S]

    # After a resume, so that a captured graph sees the restored state.
    # A model may bring its own step (the NumPy MLP does its backprop by hand); the loop stays one.
    custom = getattr(model, "training_step", None)
    eager = custom(opt, cfg, x_tr, y_tr) if custom else EagerStep(model, opt, x_tr, y_tr, bf16=cfg.precision == "bf16")
    step = make_step(eager, (cfg.batch_size,), len(y_tr), cfg.cuda_graph)
    fixed = {M.PARAM_COUNT: param_count(model), M.DEVICE: device.type, M.DEVICE_NAME: device_name(device)}
    last: dict[str, Any] = {}
    for epoch in range(start, cfg.max_epochs + 1):
        t0 = time.perf_counter()
        train_loss, train_acc, seen = train_epoch(step, len(y_tr), cfg.batch_size, cfg.drop_last, gen)
        train_time = time.perf_counter() - t0
        last_epoch = epoch == cfg.max_epochs
        if epoch % cfg.eval_every and not last_epoch:
            time_total += time.perf_counter() - t0
            continue
        val_loss, val_acc = evaluate(model, x_va, y_va)
        test_loss, test_acc = evaluate(model, x_te, y_te)
        epoch_time = time.perf_counter() - t0
        time_total += epoch_time
        last = {
            M.EPOCH: epoch, M.TRAIN_LOSS: train_loss, M.TRAIN_ACC: train_acc,
            M.VAL_LOSS: val_loss, M.VAL_ACC: val_acc, M.TEST_LOSS: test_loss, M.TEST_ACC: test_acc,
            M.EPOCH_TIME_S: epoch_time, M.TIME_TOTAL_S: time_total,
            M.SAMPLES_PER_S: seen / train_time if train_time > 0 else float("nan"), M.TRAIN_SAMPLES: seen, **fixed,
        }
        due = epoch % cfg.checkpoint_every == 0 or last_epoch
        report(dict(last), _snapshot(cfg, model_kwargs, meta, model, opt, gen, epoch, time_total) if due else None)
    return last


def _snapshot(cfg, model_kwargs, meta, model, opt, gen, epoch, time_total) -> dict[str, Any]:
    return {
        "model": cfg.model,
        "model_kwargs": {**model_kwargs, "input_shape": list(meta.input_shape), "num_classes": meta.num_classes},
        "config": {**cfg.to_dict(), **model_kwargs},
        "data": {"name": meta.name, "variant": meta.variant},
        "epoch": epoch,
        M.TIME_TOTAL_S: time_total,
        # clone: on the CPU, .cpu() would alias the live weights that keep training
        "model_state": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "optimizer_state": opt.state_dict(),  # cloned tensors
        "rng": {"batches": gen.get_state(), "torch": torch.get_rng_state()},
    }
