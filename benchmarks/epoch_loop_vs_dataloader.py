"""One training epoch of the 2 x 400 MLP at batch 64 on the CPU: sweeplab's loop (data resident
as one tensor, batches by index permutation) against the torchvision idiom (a Dataset that
builds a PIL image per sample + ToTensor/Normalize, fed through a DataLoader).

    python benchmarks/epoch_loop_vs_dataloader.py              # the 3,600-image training split
    python benchmarks/epoch_loop_vs_dataloader.py --rows 60000 # an MNIST-sized epoch (tiled)

Prints seconds per epoch (median of --repeats after one warm-up epoch) and the ratio.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

os.environ.setdefault("SWEEPLAB_OFFLINE", "1")

from data_modules import load_dataset, trial_splits  # noqa: E402
from models import create_model  # noqa: E402
from trainables.loop import to_device, train_epoch  # noqa: E402


class PILDataset(Dataset):
    """The torchvision MNIST idiom: uint8 array -> PIL image -> transform, one sample at a time."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, mean: float, std: float):
        self.images, self.labels = images, labels
        self.transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.images[i], mode="L")), int(self.labels[i])


def model_and_optimizer(seed: int = 0):
    torch.manual_seed(seed)
    model = create_model("mlp", depth=2, width=400)
    return model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.8)


def dataloader_epoch(loader, model, opt) -> None:
    model.train()
    for xb, yb in loader:
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def timed(fn, repeats: int) -> float:
    fn()  # warm-up: worker start-up, allocator, first-call overheads
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


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
        train = type(train)(train.x.repeat(reps, 1, 1, 1)[: args.rows], train.y.repeat(reps)[: args.rows])
    n = len(train)
    threads = torch.get_num_threads()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {threads} threads")
    print(f"data: {bundle.meta.variant}, one epoch = {n} images, 2 x 400 ReLU MLP, SGD batch 64")

    device = torch.device("cpu")
    x, y = to_device(train, bundle, device)
    model, opt = model_and_optimizer()
    gen = torch.Generator().manual_seed(0)
    ours = timed(lambda: train_epoch(model, opt, x, y, 64, False, gen), args.repeats)
    print(f"sweeplab loop (resident tensor, randperm batches): {ours:8.3f} s/epoch  {n / ours:10.0f} samples/s")

    images = train.x[:, 0].numpy()
    labels = train.y.numpy()
    dataset = PILDataset(images, labels, bundle.meta.mean[0], bundle.meta.std[0])
    best = None
    for workers in args.workers:
        loader = DataLoader(dataset, batch_size=64, shuffle=True, num_workers=workers,
                            persistent_workers=workers > 0)
        model, opt = model_and_optimizer()
        theirs = timed(lambda: dataloader_epoch(loader, model, opt), args.repeats)
        print(f"PIL + ToTensor DataLoader, num_workers={workers}:     {theirs:8.3f} s/epoch  {n / theirs:10.0f} samples/s"
              f"  -> sweeplab is {theirs / ours:5.1f}x faster")
        best = theirs if best is None else min(best, theirs)
    print(f"ratio against the fastest DataLoader setting: {best / ours:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
