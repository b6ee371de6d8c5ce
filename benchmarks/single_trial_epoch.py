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

from data_modules import load_dataset, trial_splits  # noqa: E402
from data_modules.base import Split  # noqa: E402
from trainables.config import build_model, split_config  # noqa: E402
from trainables.loop import device_name, pick_device, to_device, train_epoch  # noqa: E402
from trainables.optimizers import build_optimizer  # noqa: E402
from trainables.step import EagerStep, GraphStep, make_step  # noqa: E402


def setup(device: str, rows: int, **overrides):
    cfg, kw = split_config({"device": device, **overrides})
    dev = pick_device(cfg)
    bundle = load_dataset("mnist")
    train = trial_splits(bundle).train
    reps = -(-rows // len(train))
    train = Split(train.x.repeat(reps, 1, 1, 1)[:rows], train.y.repeat(reps)[:rows])
    x, y = to_device(train, bundle, dev)
    torch.manual_seed(0)
    model = build_model(cfg, kw, (1, 28, 28), 10, device=dev)
    opt = build_optimizer(model.parameters(), cfg)
    eager = EagerStep(model, opt, x, y, bf16=cfg.precision == "bf16")
    return cfg, dev, eager, model, len(y)


def epochs(step, n: int, dev, count: int = 3) -> tuple[float, float]:
    """(best seconds per epoch, last mean train loss) over `count` epochs after one warm-up."""
    gen = torch.Generator(device=dev).manual_seed(0)
    train_epoch(step, n, 64, False, gen)
    best, loss = float("inf"), float("nan")
    for _ in range(count):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss, _, _ = train_epoch(step, n, 64, False, gen)  # .item() inside waits for the GPU
        best = min(best, time.perf_counter() - t0)
    return best, loss


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--rows", type=int, default=60000)
    args = p.parse_args()

    cfg, dev, eager, _, n = setup(args.device, args.rows, cuda_graph=False)
    print(f"device: {device_name(dev)}, torch {torch.__version__}; 784-400-400-10 MLP, batch 64, {n} rows per epoch")
    t_eager, loss_eager = epochs(eager, n, dev)
    print(f"eager fp32{' (TF32 matmuls)' if dev.type == 'cuda' else ''}: {t_eager:7.3f} s/epoch")
    if dev.type != "cuda":
        print("CUDA graph: not applicable on the CPU (the loop uses the eager step there)")
        return
    _, _, eager2, _, _ = setup(args.device, args.rows)
    graphed = make_step(eager2, (64,), n)
    kind = "graph" if isinstance(graphed, GraphStep) else "eager (capture failed, see the warning above)"
    t_graph, loss_graph = epochs(graphed, n, dev)
    print(f"CUDA {kind}: {t_graph:7.3f} s/epoch  ({t_eager / t_graph:.1f}x eager; target <= 0.10 s)")
    print(f"same training: mean train loss after 4 epochs eager {loss_eager:.6f} vs graph {loss_graph:.6f} "
          f"(relative difference {abs(loss_graph - loss_eager) / loss_eager:.1e})")
    _, _, eager3, _, _ = setup(args.device, args.rows, precision="bf16")
    t_bf16, _ = epochs(make_step(eager3, (64,), n), n, dev)
    print(f"CUDA graph + bf16 autocast: {t_bf16:7.3f} s/epoch")


if __name__ == "__main__":
    main()
