"""Spectral density of the Hessian by stochastic Lanczos quadrature (SLQ, as in PyHessian and
Ghorbani et al. 2019), and the "minimal ratio": the fraction of positive eigenvalues.

Each SLQ run starts Lanczos (with full reorthogonalisation) from a normalised Rademacher vector v;
the Ritz values theta_i of the tridiagonal matrix, weighted by the squared first components of its
eigenvectors w_i, form a quadrature rule with sum_i w_i f(theta_i) ~ (1/n) tr f(H). Averaging
runs and broadening each node by a Gaussian gives a density on a grid.

    density = spectral_density(loss_hessian(model, x, y), runs=3, steps=80)
    ratio = minimal_ratio(op)   # MinimalRatio(value, method="exact" or "slq-estimate")
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from analysis.maths.hessian_eigen import orthogonalise
from analysis.maths.hessian_operator import DENSE_LIMIT, HessianOperator, full_spectrum

# Grid margin, in kernel widths, beyond the extreme nodes: the Gaussian mass outside 5 sigma is
# below 6e-7, so the density on the grid integrates to 1 up to that and the grid resolution.
GRID_MARGIN_SIGMAS = 5.0


@dataclass(frozen=True)
class SpectralDensity:
    nodes: torch.Tensor  # (runs, steps) Ritz values
    weights: torch.Tensor  # (runs, steps) quadrature weights, each row sums to 1
    grid: torch.Tensor  # eigenvalue axis
    density: torch.Tensor  # Gaussian-broadened density on the grid
    sigma: float  # kernel width
    products: int


@dataclass(frozen=True)
class MinimalRatio:
    """Fraction of positive Hessian eigenvalues; `method` is "exact" (dense spectrum) or
    "slq-estimate" (the SLQ density's mass above zero)."""

    value: float
    method: str


def lanczos_tridiagonal(op: HessianOperator, v: torch.Tensor, steps: int) -> torch.Tensor:
    """The (m, m) tridiagonal matrix of m = min(steps, dim) Lanczos iterations from v (fewer if an
    invariant subspace is found first), with full reorthogonalisation: in floating point, plain
    three-term Lanczos loses orthogonality and repeats the extreme Ritz values. Holds `steps`
    vectors of the parameters' size (100 x 478k float32 = 190 MB for the 2 x 400 MNIST MLP)."""
    steps = min(steps, op.dim)
    basis = torch.empty(steps, op.dim, dtype=v.dtype, device=v.device)
    basis[0] = v / v.norm()
    alphas: list[float] = []
    betas: list[float] = []
    for i in range(steps):
        w = op.matvec(basis[i])
        alphas.append(float(w @ basis[i]))
        if i + 1 == steps:
            break
        w = orthogonalise(orthogonalise(w, basis[: i + 1]), basis[: i + 1])  # "twice is enough" (Parlett)
        beta = float(w.norm())
        if beta <= 1e-10 * max(abs(a) for a in alphas):
            break
        betas.append(beta)
        basis[i + 1] = w / beta
    off = torch.tensor(betas, dtype=torch.float64)
    return torch.diag(torch.tensor(alphas, dtype=torch.float64)) + torch.diag(off, 1) + torch.diag(off, -1)


def spectral_density(op: HessianOperator, runs: int = 1, steps: int = 100, grid_points: int = 1000,
                     sigma: float | None = None, seed: int = 0) -> SpectralDensity:
    """SLQ density with `runs` probe vectors and `steps` products each; `sigma` defaults to 1% of
    the spread of the Ritz values."""
    generator = torch.Generator().manual_seed(seed)
    start = op.products
    runs_nodes, runs_weights = [], []
    for _ in range(runs):
        tridiagonal = lanczos_tridiagonal(op, op.random_vector(generator, rademacher=True), steps)
        values, vectors = torch.linalg.eigh(tridiagonal)
        runs_nodes.append(values)
        runs_weights.append(vectors[0] ** 2)
    # A run that stopped early has fewer nodes: pad it with zero-weight copies of its first node.
    width = max(len(n) for n in runs_nodes)
    nodes = torch.stack([torch.cat([n, n[:1].expand(width - len(n))]) for n in runs_nodes])
    weights = torch.stack([torch.cat([w, w.new_zeros(width - len(w))]) for w in runs_weights])
    lo, hi = float(nodes.min()), float(nodes.max())
    sigma = sigma or max(0.01 * (hi - lo), 1e-12)
    grid = torch.linspace(lo - GRID_MARGIN_SIGMAS * sigma, hi + GRID_MARGIN_SIGMAS * sigma, grid_points,
                          dtype=torch.float64)
    kernels = torch.exp(-0.5 * ((grid[:, None, None] - nodes) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    density = (kernels * weights).sum(-1).mean(-1)
    return SpectralDensity(nodes, weights, grid, density, sigma, op.products - start)


def exact_minimal_ratio(eigenvalues: torch.Tensor, tolerance: float = 0.0) -> MinimalRatio:
    """Share of eigenvalues above `tolerance`. At 0 (the course's definition) eigenvalues that are
    zero in exact arithmetic (a dead ReLU's weights) fall on either side by rounding; a small
    tolerance such as 1e-6 * max |lambda| counts them as not positive."""
    return MinimalRatio(float((eigenvalues > tolerance).double().mean()), "exact")


def density_minimal_ratio(density: SpectralDensity) -> MinimalRatio:
    """The broadened density's mass above zero, sum_i w_i Phi(theta_i / sigma) averaged over runs.
    Counting positive Ritz values instead is unstable: a trained network has a large cluster of
    eigenvalues near zero, and which side one Ritz value standing for it lands on is chance. The
    kernel splits whatever lies within about sigma of zero, which is all SLQ can resolve there."""
    positive_mass = 0.5 * (1 + torch.erf(density.nodes / (density.sigma * math.sqrt(2))))
    return MinimalRatio(float((density.weights * positive_mass).sum(1).mean()), "slq-estimate")


def minimal_ratio(op: HessianOperator, dense_limit: int = DENSE_LIMIT, **density_options) -> MinimalRatio:
    """Exact from the dense spectrum up to `dense_limit` parameters, else the SLQ estimate."""
    if op.dim <= dense_limit:
        return exact_minimal_ratio(full_spectrum(op))
    return density_minimal_ratio(spectral_density(op, **density_options))
