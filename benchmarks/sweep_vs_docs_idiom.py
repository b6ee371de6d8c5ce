"""A whole sweep, end to end with Ray start, against the idiom of the Ray Tune and PyTorch docs:
sweeplab's `mnist_width` (8 widths x 5 epochs) vs a Tune sweep whose trials each build a
torchvision MNIST dataset (PIL image per sample + ToTensor/Normalize) and DataLoader, with one
GPU per trial and with 1/8 GPU per trial (on a machine without a GPU: one CPU per trial).

    python benchmarks/sweep_vs_docs_idiom.py [--epochs 5] [--shares 1,0.125] [--widths 50,100]

Each contender runs as its own process on the same data (the idiom reads IDX files written
from the very split sweeplab trains on); the wall time includes starting Ray.
Target on a GPU machine: >= 10x the 1-GPU idiom (the goal: 30x).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WIDTHS = [50, 100, 200, 300, 400, 500, 600, 800]


def idiom(data_dir: str, gpus: float, epochs: int, widths: list[int]) -> None:
    """The docs idiom, as a user writes it from the Tune quickstart and the PyTorch MNIST example."""
    import ray
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from ray import tune
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    def train_mnist(config):
        device = "cuda" if torch.cuda.is_available() else "cpu"
        transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
        train_set = datasets.MNIST(data_dir, train=True, download=False, transform=transform)
        test_set = datasets.MNIST(data_dir, train=False, download=False, transform=transform)
        train_loader = DataLoader(train_set, batch_size=64, shuffle=True, num_workers=2)
        test_loader = DataLoader(test_set, batch_size=1000, num_workers=2)
        w = config["width"]
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, w), nn.ReLU(), nn.Linear(w, w), nn.ReLU(), nn.Linear(w, 10)).to(device)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.8)
        for _ in range(epochs):
            model.train()
            for x, y in train_loader:
                x, y = x.to(device), y.to(device)
                opt.zero_grad()
                F.cross_entropy(model(x), y).backward()
                opt.step()
            model.eval()
            correct = 0
            with torch.no_grad():
                for x, y in test_loader:
                    correct += (model(x.to(device)).argmax(1) == y.to(device)).sum().item()
            tune.report({"accuracy": correct / len(test_set)})

    ray.init(include_dashboard=False, logging_level="ERROR")
    resources = {"cpu": 1, "gpu": gpus}
    tuner = tune.Tuner(tune.with_resources(train_mnist, resources), param_space={"width": tune.grid_search(widths)},
                       run_config=tune.RunConfig(storage_path=tempfile.mkdtemp(), verbose=0))
    tuner.fit()


def idiom_data():
    """(folder, split): IDX files of the very images sweeplab trains and tests on, for the idiom's MNIST."""
    from data_modules import load_dataset, trial_splits
    from data_modules.mnist import write_mnist_dir

    split = trial_splits(load_dataset("mnist"))
    folder = tempfile.mkdtemp(prefix="sweeplab-idiom-")
    write_mnist_dir(folder, split.train, split.test)
    return folder, split


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--widths", type=lambda t: [int(w) for w in t.split(",")], default=WIDTHS,
                   help="comma-separated widths, one trial each (default: the 8 of mnist_width)")
    p.add_argument("--shares", type=lambda t: [float(g) for g in t.split(",")],
                   help="the idiom's GPUs per trial, comma-separated (default: 1,0.125 on a GPU machine, 0 elsewhere)")
    p.add_argument("--json", metavar="FILE", help="also write the figures to FILE, after each run (benchmarks/gpu_suite.py)")
    p.add_argument("--idiom", metavar="DATA_DIR", help=argparse.SUPPRESS)
    p.add_argument("--gpus", type=float, default=0.0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.idiom:
        idiom(args.idiom, args.gpus, args.epochs, args.widths)
        return

    import torch

    data_dir, split = idiom_data()
    gpu = torch.cuda.is_available()
    shares = args.shares or ([1.0, 0.125] if gpu else [0.0])
    figures = {"widths": args.widths, "epochs": args.epochs, "train_images": len(split.train),
               "machine": f"{torch.cuda.get_device_name() if gpu else 'no GPU'}, {os.cpu_count()} cores",
               "sweeplab_s": [], "idiom_s": {}}
    print(f"{len(args.widths)} widths x {args.epochs} epochs, {len(split.train)} training images, "
          f"{'GPU: ' + torch.cuda.get_device_name() if gpu else 'no GPU: one CPU per trial'}, {os.cpu_count()} cores")
    ours = [sys.executable, "-m", "sweeps.mnist_width", "--set", "width=" + ",".join(map(str, args.widths)),
            "--max-epochs", str(args.epochs), "--storage-path", tempfile.mkdtemp()]
    for share in shares:  # interleaved: sweeplab before each idiom run, so both see the same machine state
        figures["sweeplab_s"].append(timed(ours))
        print(f"sweeplab mnist_width (default GPU share):   {figures['sweeplab_s'][-1]:7.1f} s wall")
        key = f"{share:g} GPU" if share else "1 CPU"
        figures.update(running=key, running_since=time.time())  # a caller that stops us knows since when
        write(args.json, figures)
        theirs = timed([sys.executable, __file__, "--idiom", data_dir, "--gpus", str(share), "--epochs", str(args.epochs),
                        "--widths", ",".join(map(str, args.widths))])
        del figures["running"], figures["running_since"]
        figures["idiom_s"][key] = theirs
        figures.setdefault("ratio", {})[key] = theirs / min(figures["sweeplab_s"])
        print(f"{'docs idiom, ' + key + ' per trial':<42} {theirs:7.1f} s wall  -> sweeplab {figures['ratio'][key]:4.1f}x faster")
        write(args.json, figures)


def write(path: str | None, figures: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
