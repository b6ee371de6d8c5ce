"""Top Hessian eigenvalue of the 2 x 400 MNIST MLP (478,410 parameters) over 1,000 training
images, to tolerance 1e-3: Hessian-vector products and seconds for Lanczos (scipy eigsh) against
PyHessian's power iteration, with the error of each against a tightly converged Lanczos.

    python benchmarks/hessian_top_eigenvalue.py [--images 1000] [--epochs 3] [--k 1] [--repeats 3] [--device cpu]
"""
from __future__ import annotations

import argparse
import platform
import time

import torch
from posthoc_setup import trained_mnist_mlp

from analysis.maths.hessian_eigen import lanczos_top_eigenvalues, power_iteration
from analysis.maths.hessian_operator import loss_hessian
from analysis.maths.pixel_models import pixel_images


def timed(method, op, repeats: int = 1, **options):
    """The result (seeded, so the same every time) and the best wall time of `repeats` runs."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = method(op, **options)
        best = min(best, time.perf_counter() - start)
    return result, best


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--k", type=int, default=1, help="eigenvalues to find")
    p.add_argument("--tol", type=float, default=1e-3)
    p.add_argument("--repeats", type=int, default=3, help="best wall time of this many runs")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    print(f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    model, bundle = trained_mnist_mlp(args.epochs, args.device)
    subset = bundle.train.take(torch.arange(args.images))
    op = loss_hessian(model, pixel_images(subset, args.device), subset.y.to(args.device))
    op.matvec(torch.zeros(op.dim))  # warm-up, not counted below
    op.products = 0

    reference, _ = timed(lanczos_top_eigenvalues, op, k=args.k, tol=1e-8)
    print(f"reference (eigsh, tol 1e-8): {reference.values.tolist()} with {reference.products} products")
    rows = []
    for name, method in (("lanczos", lanczos_top_eigenvalues), ("power", power_iteration)):
        result, seconds = timed(method, op, args.repeats, k=args.k, tol=args.tol)
        error = ((result.values - reference.values).abs() / reference.values.abs()).max().item()
        rows.append((name, result.products, seconds))
        print(f"{name:8s} top-{args.k} {result.values.tolist()}  {result.products:4d} HVPs  {seconds:6.2f} s  "
              f"({1e3 * seconds / result.products:.1f} ms/HVP)  max relative error {error:.1e}")
    (_, lanczos_products, lanczos_s), (_, power_products, power_s) = rows
    print(f"power / lanczos: {power_products / lanczos_products:.2f}x the HVPs, {power_s / lanczos_s:.2f}x the time")


if __name__ == "__main__":
    main()
