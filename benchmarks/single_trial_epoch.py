"""Single-trial epoch time of the 784-400-400-10 MLP at batch 64 on a 60,000-row epoch (the
MNIST sample tiled), through the project's loop: eager, CUDA-graph and bf16 variants, plus a
check that the graph path trains like the eager one.

    python benchmarks/single_trial_epoch.py [--device cuda|cpu] [--rows 60000]

Target on an H100: <= 0.10 s per epoch with the CUDA graph (eager is launch-bound, ~1.3 s).
"""
from __future__ import annotations

import argparse
import os
import time

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
    model = build_model(cfg, kw, (1, 28, 28), 10, device=dev)
    eager = EagerStep(Single(model), build_optimizer(model.parameters(), cfg), task, torch.ones(1, device=dev),
                      bf16=cfg.precision == "bf16")
    return cfg, dev, eager, task, len(train)


def epochs(step, task, dev, count: int = 3) -> tuple[float, float]:
    """(best seconds per epoch, last mean train loss) over `count` epochs after one warm-up."""
    train_epoch(step, task.sampler)
    best, loss = float("inf"), float("nan")
    for _ in range(count):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        step.begin_period()
        t0 = time.perf_counter()
        seen, _, _ = train_epoch(step, task.sampler)
        loss = step.stats["loss"].item() / seen  # .item() waits for the GPU
        best = min(best, time.perf_counter() - t0)
    return best, loss


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--rows", type=int, default=60000)
    args = p.parse_args()

    cfg, dev, eager, task, n = setup(args.device, args.rows, cuda_graph=False)
    print(f"device: {device_name(dev)}, torch {torch.__version__}; 784-400-400-10 MLP, batch 64, {n} rows per epoch")
    t_eager, loss_eager = epochs(eager, task, dev)
    print(f"eager fp32{' (TF32 matmuls)' if dev.type == 'cuda' else ''}: {t_eager:7.3f} s/epoch")
    if dev.type != "cuda":
        print("CUDA graph: not applicable on the CPU (the loop uses the eager step there)")
        return
    _, _, eager2, task2, _ = setup(args.device, args.rows)
    graphed = make_step(eager2, torch.zeros(1, 64, dtype=torch.long, device=dev))
    kind = "graph" if isinstance(graphed, GraphStep) else "eager (capture failed, see the warning above)"
    t_graph, loss_graph = epochs(graphed, task2, dev)
    print(f"CUDA {kind}: {t_graph:7.3f} s/epoch  ({t_eager / t_graph:.1f}x eager; target <= 0.10 s)")
    print(f"same training: mean train loss after 4 epochs eager {loss_eager:.6f} vs graph {loss_graph:.6f} "
          f"(relative difference {abs(loss_graph - loss_eager) / loss_eager:.1e})")
    _, _, eager3, task3, _ = setup(args.device, args.rows, precision="bf16")
    t_bf16, _ = epochs(make_step(eager3, torch.zeros(1, 64, dtype=torch.long, device=dev)), task3, dev)
    print(f"CUDA graph + bf16 autocast: {t_bf16:7.3f} s/epoch")


if __name__ == "__main__":
    main()
