"""Single-trial epoch time of the 784-400-400-10 MLP at batch 64 on a 60,000-row epoch (the
MNIST sample tiled), through the project's loop: eager, CUDA-graph and bf16 variants, plus a
check that the graph path trains like the eager one.

    python benchmarks/single_trial_epoch.py [--device cuda|cpu] [--rows 60000]

Target on an H100/H200: <= 0.05 s per epoch with the CUDA graph (eager is launch-bound, ~1.3 s).
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

os.environ.setdefault("SWEEPLAB_OFFLINE", "1")

from data_modules import DataBundle, load_dataset, trial_splits  # noqa: E402
from data_modules.base import Split  # noqa: E402
from trainables.config import build_model, split_config  # noqa: E402
from trainables.engines import Single  # noqa: E402
from trainables.loop import device_name, pick_device, train_epoch  # noqa: E402
from trainables.objectives import Classification  # noqa: E402
from trainables.optimizers import build_optimizer  # noqa: E402
from trainables.step import EagerStep, GraphStep, make_step  # noqa: E402


def setup(device: str, rows: int, **overrides):
    """(config, device, eager step, objective, rows) of the loop's plain trial on a tiled epoch."""
    cfg, kw = split_config({"device": device, "val_fraction": 0.0, **overrides})
    dev = pick_device(cfg)
    bundle = load_dataset("mnist")
    train = trial_splits(bundle).train
    reps = -(-rows // len(train))
    train = Split(train.x.repeat(reps, 1, 1, 1)[:rows], train.y.repeat(reps)[:rows])
    task = Classification(DataBundle(train, train.take(torch.arange(10)), bundle.meta), [cfg], dev)
    torch.manual_seed(0)
    model = build_model(cfg, kw, {"input_shape": (1, 28, 28), "num_classes": 10}, device=dev)
    eager = EagerStep(Single(model), build_optimizer(model.parameters(), cfg), task, torch.ones(1, device=dev),
                      bf16=cfg.precision == "bf16")
    return cfg, dev, eager, task, len(train)


def epochs(step, task, dev, count: int = 3) -> tuple[float, list[float]]:
    """(best seconds per epoch, mean train loss of each timed epoch) over `count` epochs after
    one warm-up."""
    train_epoch(step, task.sampler)
    best, losses = float("inf"), []
    for _ in range(count):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        step.begin_period()
        t0 = time.perf_counter()
        seen, _, _ = train_epoch(step, task.sampler)
        losses.append(step.stats["loss"].item() / seen)  # .item() waits for the GPU
        best = min(best, time.perf_counter() - t0)
    return best, losses


def gpu_ops(step, task) -> int:
    """Kernels, copies and fills one eager step launches on the GPU (torch.profiler)."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    drawn, _ = task.sampler.next()
    step(drawn)  # warm: first-call allocations and lazy initialisation are not part of a step
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        step(drawn)
        torch.cuda.synchronize()
    return sum(1 for e in prof.events() if e.device_type == DeviceType.CUDA)


def measure(device: str, rows: int) -> dict:
    """Seconds per epoch: eager fp32 everywhere; on CUDA also the CUDA graph (with the training
    loss of graph and eager after the same epochs) and the graph with bf16 autocast."""
    cfg, dev, eager, task, n = setup(device, rows, cuda_graph=False)
    figures = {"device": device_name(dev), "torch": torch.__version__, "rows": n}
    figures["eager_s"], loss_eager = epochs(eager, task, dev, count=1 if dev.type == "cuda" else 3)  # 1.4 s each there
    if dev.type != "cuda":
        return figures
    _, _, eager2, task2, _ = setup(device, rows)
    graphed = make_step(eager2, torch.zeros(1, 64, dtype=torch.long, device=dev))
    figures["graph_captured"] = isinstance(graphed, GraphStep)
    figures["graph_s"], loss_graph = epochs(graphed, task2, dev)
    # the same epoch (the second) of the same seed, graph vs eager
    figures["graph_vs_eager_loss_rel_diff"] = abs(loss_graph[0] - loss_eager[0]) / loss_eager[0]
    figures["graph_step_us"] = 1e6 * figures["graph_s"] / task2.sampler.steps_per_epoch
    try:  # what a step is made of on the GPU: the graph replays these kernels one after another
        figures["gpu_ops_per_step"] = gpu_ops(eager2, task2)
    except Exception as e:  # the profiler needs CUPTI; the timings stand without it
        figures["gpu_ops_per_step"] = f"unknown ({type(e).__name__})"
    _, _, eager3, task3, _ = setup(device, rows, precision="bf16")
    figures["graph_bf16_s"], _ = epochs(make_step(eager3, torch.zeros(1, 64, dtype=torch.long, device=dev)), task3, dev)
    return figures


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--rows", type=int, default=60000)
    p.add_argument("--json", metavar="FILE", help="also write the figures to FILE (benchmarks/gpu_suite.py)")
    args = p.parse_args()
    f = measure(args.device, args.rows)
    print(f"device: {f['device']}, torch {f['torch']}; 784-400-400-10 MLP, batch 64, {f['rows']} rows per epoch")
    print(f"eager fp32{' (TF32 matmuls)' if args.device == 'cuda' else ''}: {f['eager_s']:7.3f} s/epoch")
    if "graph_s" not in f:
        print("CUDA graph: not applicable on the CPU (the loop uses the eager step there)")
    else:
        kind = "graph" if f["graph_captured"] else "eager (capture failed, see the warning above)"
        print(f"CUDA {kind}: {f['graph_s']:7.3f} s/epoch  ({f['eager_s'] / f['graph_s']:.1f}x eager; target <= 0.05 s)")
        print(f"same training: mean train loss of epoch 2, graph vs eager relative difference "
              f"{f['graph_vs_eager_loss_rel_diff']:.1e}")
        print(f"CUDA graph + bf16 autocast: {f['graph_bf16_s']:7.3f} s/epoch")
        print(f"one step: {f['graph_step_us']:.0f} us replayed, {f['gpu_ops_per_step']} GPU operations")
    if args.json:
        Path(args.json).write_text(json.dumps(f, indent=1))


if __name__ == "__main__":
    main()
