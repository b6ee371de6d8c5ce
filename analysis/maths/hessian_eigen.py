"""Top Hessian eigenvalues and the trace from Hessian-vector products alone.

`lanczos_top_eigenvalues` hands the operator to scipy's ARPACK (implicitly restarted Lanczos, as
curvlinops does); `power_iteration` is PyHessian's algorithm (tol 1e-3 on the relative change of
the Rayleigh quotient, at most 100 products per eigenvalue, deflation by orthogonalising against
the eigenvectors found), kept as the anchor to compare against. `hutchinson_trace` averages
v^T H v over Rademacher vectors v.

    op = loss_hessian(model, x, y)
    lanczos_top_eigenvalues(op, k=3).values, power_iteration(op, k=1).products
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from analysis.maths.batching import batch_slices
from analysis.maths.hessian_operator import HessianOperator

# PyHessian's defaults (pyhessian/hessian.py: eigenvalues(maxIter=100, tol=1e-3)).
TOLERANCE = 1e-3
MAX_PRODUCTS_PER_EIGENVALUE = 100


@dataclass(frozen=True)
class Eigenpairs:
    """Eigenvalues in descending order, unit eigenvectors as rows, and the products spent."""

    values: torch.Tensor
    vectors: torch.Tensor
    products: int


@dataclass(frozen=True)
class TraceEstimate:
    value: float
    stderr: float  # standard error of the mean over the probe vectors
    samples: int
    products: int


def lanczos_top_eigenvalues(op: HessianOperator, k: int = 1, tol: float = TOLERANCE, which: str = "LA",
                            ncv: int | None = None, seed: int = 0) -> Eigenpairs:
    """The k largest (`which="LA"`; "LM" for the largest in magnitude, as power iteration finds)
    eigenvalues by scipy.sparse.linalg.eigsh; `tol` bounds ARPACK's Ritz residuals relative to
    the eigenvalue, so the eigenvalues come out far more accurate than `tol` (error ~ tol^2)."""
    import numpy as np
    from scipy.sparse.linalg import eigsh

    # Lanczos vectors per restart. scipy's default, max(2k + 1, 20), spends at least 20 products
    # even for k = 1; with max(2k + 2, 6) the 2 x 400 MNIST MLP's top 1 (top 3) took 10 (13-14)
    # products instead of 21 at tol 1e-3, still accurate to 1e-6 (benchmarks/hessian_top_eigenvalue.py).
    ncv = min(op.dim, ncv or max(2 * k + 2, 6))
    start = op.products
    v0 = np.random.default_rng(seed).standard_normal(op.dim)
    values, vectors = eigsh(op.scipy_operator(), k=k, which=which, tol=tol, ncv=ncv, v0=v0)
    order = np.argsort(values)[::-1]
    return Eigenpairs(torch.from_numpy(values[order].copy()), torch.from_numpy(vectors[:, order].T.copy()),
                      op.products - start)


def orthogonalise(v: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """v minus its components along the orthonormal rows of `basis` (k, n): classical Gram-Schmidt
    in two matrix products (apply twice where rounding matters)."""
    return v - basis.T @ (basis @ v)


def power_iteration(op: HessianOperator, k: int = 1, tol: float = TOLERANCE,
                    max_products: int = MAX_PRODUCTS_PER_EIGENVALUE, seed: int = 0) -> Eigenpairs:
    """The k eigenvalues of largest magnitude, one after another, PyHessian's way; an eigenvalue
    that has not converged after `max_products` is returned as it stands."""
    generator = torch.Generator().manual_seed(seed)
    start = op.products
    values: list[float] = []
    vectors: list[torch.Tensor] = []
    for _ in range(k):
        v = op.random_vector(generator)
        value = None
        for _ in range(max_products):
            v = orthogonalise(v, torch.stack(vectors)) if vectors else v
            v = v / v.norm()
            hv = op.matvec(v)
            estimate = float(hv @ v)
            v = hv / hv.norm()
            converged = value is not None and abs(value - estimate) / (abs(value) + 1e-6) < tol
            value = estimate
            if converged:
                break
        values.append(value)
        vectors.append(v)
    return Eigenpairs(torch.tensor(values, dtype=torch.float64), torch.stack(vectors), op.products - start)


def hutchinson_trace(op: HessianOperator, samples: int = 100, seed: int = 0, chunk_size: int = 32) -> TraceEstimate:
    """tr H = E[v^T H v] for Rademacher v, averaged over `samples` probes, `chunk_size` probes per
    batched product (only those are held at once)."""
    generator = torch.Generator().manual_seed(seed)
    start = op.products
    forms = []
    for rows in batch_slices(samples, chunk_size):
        probes = torch.stack([op.random_vector(generator, rademacher=True) for _ in range(rows.stop - rows.start)])
        forms.append((op.matmat(probes, chunk_size) * probes).sum(1).double())
    quadratic_forms = torch.cat(forms)
    stderr = float(quadratic_forms.std() / samples**0.5) if samples > 1 else float("nan")
    return TraceEstimate(float(quadratic_forms.mean()), stderr, samples, op.products - start)
