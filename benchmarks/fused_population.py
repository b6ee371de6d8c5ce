"""Fused population vs one trial after another, on the same data: 16 same-shape MLPs (2 x 400,
batch 64, SGD; learning rates and seeds differ), one epoch each.

    python benchmarks/fused_population.py [--members 16] [--rows 3600] [--device cpu|cuda]
    python benchmarks/fused_population.py --width 128 64 --batch 10   # the train-size study's MLP

Prints seconds per epoch for the 16 models both ways, ms per model-epoch and the throughput ratio.
"""
from __future__ import annotations

import argparse
import os
import platform

import torch

os.environ.setdefault("SWEEPLAB_OFFLINE", "1")

from data_modules import Split, load_dataset  # noqa: E402
from data_modules.base import DataBundle  # noqa: E402
from trainables.config import split_config  # noqa: E402
from trainables.loop import device_name, run_training  # noqa: E402
from trainables.population import run_population  # noqa: E402


def configs(members: int, device: str, epochs: int, width=(400, 400), batch: int = 64) -> list[dict]:
    lrs = torch.logspace(-3, -1, members).tolist()
    return [{"width": list(width), "depth": len(width), "batch_size": batch, "lr": lr, "seed": i, "max_epochs": epochs,
             "device": device, "checkpoint_every": 10**6, "val_fraction": 0.1} for i, lr in enumerate(lrs)]


def tiled(bundle: DataBundle, rows: int | None) -> DataBundle:
    if not rows:
        return bundle
    reps = -(-rows // len(bundle.train))
    x = bundle.train.x.repeat(reps, 1, 1, 1)[: int(rows / 0.9)]
    y = bundle.train.y.repeat(reps)[: int(rows / 0.9)]
    return DataBundle(Split(x, y), bundle.test, bundle.meta)


def epoch_seconds(history_times: list[float]) -> float:
    """The best epoch after the first (which pays one-off allocation and warm-up costs): on a
    shared machine the minimum is the figure least disturbed by neighbours."""
    return min(history_times[1:] or history_times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=16)
    p.add_argument("--rows", type=int, help="training rows per epoch (tiles the sample; default: its 3,600)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--width", type=int, nargs="+", default=[400, 400], help="hidden layer sizes")
    p.add_argument("--batch", type=int, default=64)
    args = p.parse_args()
    bundle = tiled(load_dataset("mnist"), args.rows)
    flats = configs(args.members, args.device, epochs=4, width=args.width, batch=args.batch)

    times: list[float] = []
    run_population(flats, bundle, lambda m, s: times.append(m["epoch_time_s"]))
    fused = epoch_seconds(times)

    sequential = 0.0
    for flat in flats:
        cfg, kw = split_config(flat)
        per_epoch: list[float] = []
        run_training(cfg, kw, bundle, lambda m, s: per_epoch.append(m["epoch_time_s"]))
        sequential += epoch_seconds(per_epoch)

    rows = int(len(bundle.train) * 0.9)
    dev = torch.device(args.device)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {device_name(dev)}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    shape = "-".join(map(str, args.width))
    print(f"{args.members} x ({shape} MLP), batch {args.batch}, SGD, one epoch of about {rows} rows each (train + val/test eval)")
    print(f"one after another: {sequential:7.3f} s per epoch of all members  {1000 * sequential / args.members:7.1f} ms per model-epoch")
    print(f"fused population : {fused:7.3f} s per epoch of all members  {1000 * fused / args.members:7.1f} ms per model-epoch")
    print(f"fused throughput: {sequential / fused:.1f}x one-after-another (target on CPU >= 2x)")


if __name__ == "__main__":
    main()
