"""One training epoch of the 2 x 400 MLP at batch 64 on the CPU: sweeplab's loop (data resident
as one tensor, batches by index permutation) against the torchvision idiom: the same images
written as MNIST IDX files, read by torchvision.datasets.MNIST (a PIL image per sample, then
ToTensor + Normalize) through a DataLoader, as in PyTorch's MNIST example.

    python benchmarks/epoch_loop_vs_dataloader.py              # the 3,600-image training split
    python benchmarks/epoch_loop_vs_dataloader.py --rows 60000 # an MNIST-sized epoch (tiled)

Prints the best of --repeats epochs per contender (taking turns, after a warm-up) and the ratios.
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

os.environ.setdefault("SWEEPLAB_OFFLINE", "1")

from data_modules import DataBundle, Split, load_dataset, trial_splits  # noqa: E402
from data_modules.mnist import write_mnist_dir  # noqa: E402
from models import create_model  # noqa: E402
from trainables.config import build_model, split_config  # noqa: E402
from trainables.engines import Single  # noqa: E402
from trainables.loop import train_epoch  # noqa: E402
from trainables.objectives import Classification  # noqa: E402
from trainables.optimizers import build_optimizer  # noqa: E402
from trainables.step import EagerStep  # noqa: E402


def docs_model_and_optimizer():
    """The docs idiom: the model and a default (unfused) torch.optim.SGD."""
    torch.manual_seed(0)
    model = create_model("mlp", depth=2, width=400)
    return model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.8)


def sweeplab_epoch(train: Split, bundle: DataBundle):
    """One epoch of what a sweeplab trial runs for the classic config: resident tensors, index
    batches, fused SGD, the loop's own step."""
    torch.manual_seed(0)
    cfg, model_kwargs = split_config({"depth": 2, "width": 400, "lr": 0.01, "momentum": 0.8, "batch_size": 64,
                                      "val_fraction": 0.0})
    model = build_model(cfg, model_kwargs, {"input_shape": (1, 28, 28), "num_classes": 10})
    task = Classification(DataBundle(train, train.take(torch.arange(10)), bundle.meta), [cfg], torch.device("cpu"))
    step = EagerStep(Single(model), build_optimizer(model.parameters(), cfg), task, torch.ones(1))
    return lambda: train_epoch(step, task.sampler)


def dataloader_epoch(loader, model, opt) -> None:
    model.train()
    for xb, yb in loader:
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def timed_interleaved(runs: dict, repeats: int) -> dict[str, float]:
    """Best (minimum) epoch time of each run, taking turns so that a noisy neighbour on a shared
    machine slows every contender alike; one warm-up epoch each first."""
    for fn in runs.values():
        fn()
    best = {name: float("inf") for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, help="tile the training split to this many rows")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="DataLoader num_workers to try")
    args = p.parse_args()

    bundle = load_dataset("mnist")
    train = trial_splits(bundle).train
    if args.rows:
        reps = -(-args.rows // len(train))
        train = Split(train.x.repeat(reps, 1, 1, 1)[: args.rows], train.y.repeat(reps)[: args.rows])
    n = len(train)
    threads = torch.get_num_threads()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {threads} threads")
    print(f"data: {bundle.meta.variant}, one epoch = {n} images, 2 x 400 ReLU MLP, SGD batch 64")

    runs = {"sweeplab loop (resident tensor, fused SGD)": sweeplab_epoch(train, bundle)}

    folder = tempfile.mkdtemp(prefix="sweeplab-bench-")
    write_mnist_dir(folder, train, train.take(torch.arange(10)))
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(bundle.meta.mean, bundle.meta.std)])
    dataset = datasets.MNIST(folder, train=True, download=False, transform=transform)
    assert len(dataset) == n
    for workers in args.workers:
        loader = DataLoader(dataset, batch_size=64, shuffle=True, num_workers=workers, persistent_workers=workers > 0)
        docs_model, docs_opt = docs_model_and_optimizer()
        runs[f"torchvision MNIST + DataLoader, num_workers={workers}"] = (
            lambda loader=loader, m=docs_model, o=docs_opt: dataloader_epoch(loader, m, o))

    best = timed_interleaved(runs, args.repeats)
    ours = best.pop(next(iter(runs)))
    print(f"{next(iter(runs)):<48} {ours:7.3f} s/epoch {n / ours:9.0f} samples/s")
    for name, theirs in best.items():
        print(f"{name:<48} {theirs:7.3f} s/epoch {n / theirs:9.0f} samples/s  -> sweeplab {theirs / ours:4.1f}x faster")
    print(f"ratio against the fastest DataLoader setting: {min(best.values()) / ours:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
