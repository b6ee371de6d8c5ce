"""FGSM images per second over the test set for the default MNIST model (2 x 400 MLP, briefly
trained): one eps, the whole default eps curve (one backward + 7 forwards per batch), and a
10-step PGD, with the accuracies at each eps.

    python benchmarks/fgsm_throughput.py [--epochs 3] [--batch 1000] [--repeats 5] [--device cpu]
"""
from __future__ import annotations

import argparse
import platform
import time

import torch
from posthoc_setup import trained_mnist_mlp

from analysis.maths.attacks import fgsm, fgsm_accuracy, pgd
from analysis.maths.batching import batch_slices
from analysis.maths.pixel_models import pixel_images


def images_per_second(run, n: int, repeats: int, device: str) -> float:
    run()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        run()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return n / best


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    print(f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    model, bundle = trained_mnist_mlp(args.epochs, args.device)
    x, y = pixel_images(bundle.test, args.device), bundle.test.y.to(args.device)
    n = len(y)

    def fgsm_once():
        for s in batch_slices(n, args.batch):
            fgsm(model, x[s], y[s], 0.1)

    print(f"FGSM accuracy ({n} test images): "
          + ", ".join(f"eps {eps:g}: {acc:.3f}" for eps, acc in fgsm_accuracy(model, x, y).items()))
    single = images_per_second(fgsm_once, n, args.repeats, args.device)
    curve = images_per_second(lambda: fgsm_accuracy(model, x, y, batch_size=args.batch), n, args.repeats, args.device)
    iterative = images_per_second(lambda: [pgd(model, x[s], y[s], 0.1, steps=10) for s in batch_slices(n, args.batch)],
                                  n, args.repeats, args.device)
    print(f"FGSM, one eps:             {single:10,.0f} images/s")
    print(f"FGSM accuracy, 7 eps:      {curve:10,.0f} images/s (whole curve per image; "
          f"{single / curve:.2f}x the time of one eps)")
    print(f"PGD, 10 steps:             {iterative:10,.0f} images/s ({single / iterative:.1f}x slower than FGSM)")


if __name__ == "__main__":
    main()
