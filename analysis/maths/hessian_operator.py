"""The Hessian of a scalar loss at fixed parameters, used only through Hessian-vector products
(double backward: differentiate the gradient along v), which cost about two gradient evaluations
and never hold an n x n matrix. Every product is counted so benchmarks can report the cost. For
small models (up to DENSE_LIMIT parameters) the dense matrix and its full spectrum.

    op = loss_hessian(model, x, y)               # training loss over a fixed subset, BatchNorm in eval
    hv = op.matvec(v); op.products               # one product, and how many so far
    eigenvalues = full_spectrum(op)              # small models only
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

from analysis.maths.batching import batch_slices, eval_mode
from analysis.maths.flat_params import ParamLayout

# Largest parameter count for which a dense Hessian is formed: 5,000^2 float32 is 100 MB. Dense
# Hessians of larger models are what took a 62 GB machine down in a course report (issue 11).
DENSE_LIMIT = 5000

Loss = Callable[[torch.Tensor], torch.Tensor]


class HessianOperator:
    """H = sum over `terms` of d^2 term / d theta^2 at `at`, each term a scalar function of one flat
    parameter vector (a loss, or one data chunk's share of it).

    With one term the gradient's graph is built once and reused by every product (PyHessian's
    single-batch trick: a product is then one backward pass, about 2x faster on the MNIST MLP);
    with several, each product rebuilds one term's graph at a time, so memory stays at one chunk's."""

    def __init__(self, terms: Loss | Sequence[Loss], at: torch.Tensor):
        self.terms = [terms] if callable(terms) else list(terms)
        self.at = at.detach()
        self.products = 0
        self._cached = None

    @property
    def dim(self) -> int:
        return self.at.numel()

    def _gradient_graph(self, term: Loss) -> tuple[torch.Tensor, torch.Tensor]:
        theta = self.at.clone().requires_grad_(True)
        with torch.enable_grad():
            (gradient,) = torch.autograd.grad(term(theta), theta, create_graph=True)
        return theta, gradient

    def _products(self, vs: torch.Tensor, batched: bool) -> torch.Tensor:
        if len(self.terms) == 1:
            if self._cached is None:
                self._cached = self._gradient_graph(self.terms[0])
            graphs = [self._cached]
        else:
            graphs = (self._gradient_graph(term) for term in self.terms)
        total = 0
        for theta, gradient in graphs:
            total = total + torch.autograd.grad(gradient, theta, vs, retain_graph=len(self.terms) == 1,
                                                is_grads_batched=batched)[0]
        return total

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        """H v for one vector v of length dim (any float dtype and device; returned as the parameters')."""
        self.products += 1
        return self._products(v.to(self.at), batched=False)

    def matmat(self, vs: torch.Tensor, chunk_size: int = 32) -> torch.Tensor:
        """H v for each row of vs (k, dim), `chunk_size` rows per batched (vmapped) backward."""
        self.products += len(vs)
        vs = vs.to(self.at)
        return torch.cat([self._products(vs[s], batched=True) for s in batch_slices(len(vs), chunk_size)])

    def dense(self, chunk_size: int = 32) -> torch.Tensor:
        """The full (dim, dim) Hessian, symmetrised; `dim` products. Refuses above DENSE_LIMIT."""
        if self.dim > DENSE_LIMIT:
            raise ValueError(f"a dense Hessian of {self.dim} parameters is too large (limit {DENSE_LIMIT}); "
                             "use the Lanczos or SLQ estimates")
        h = self.matmat(torch.eye(self.dim, dtype=self.at.dtype, device=self.at.device), chunk_size)
        return (h + h.T) / 2

    def random_vector(self, generator: torch.Generator, rademacher: bool = False) -> torch.Tensor:
        """A standard normal (or Rademacher, +-1) vector drawn on the CPU generator, so a seed gives
        the same vector on any device, returned in the parameters' dtype and device."""
        if rademacher:
            v = torch.randint(0, 2, (self.dim,), generator=generator).mul(2).sub(1)
        else:
            v = torch.randn(self.dim, generator=generator)
        return v.to(self.at)

    def scipy_operator(self):
        """H as a float64 scipy LinearOperator (for scipy.sparse.linalg.eigsh); products are counted."""
        import numpy as np
        from scipy.sparse.linalg import LinearOperator

        def matvec(v):
            hv = self.matvec(torch.from_numpy(np.asarray(v, dtype=np.float64).reshape(-1)))
            return hv.detach().to("cpu", torch.float64).numpy()

        return LinearOperator((self.dim, self.dim), matvec=matvec, dtype=np.float64)


def full_spectrum(op: HessianOperator) -> torch.Tensor:
    """All eigenvalues of the dense Hessian, ascending (float64 for an accurate eigensolve)."""
    return torch.linalg.eigvalsh(op.dense().double())


def loss_hessian(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
    batch_size: int | None = None,
) -> HessianOperator:
    """The Hessian of the mean loss over (x, y) with respect to the model's trainable parameters,
    at their current values, in eval mode (BatchNorm running statistics, no dropout). With
    `batch_size`, each product runs over the data chunk by chunk: memory for one chunk, same H."""
    layout = ParamLayout.of(model)
    constants = {**dict(model.named_buffers()), **{n: p.detach() for n, p in model.named_parameters()}}

    def chunk_loss(rows: slice) -> Loss:
        share = (rows.stop - rows.start) / len(y)

        def loss(flat: torch.Tensor) -> torch.Tensor:
            with eval_mode(model):
                outputs = functional_call(model, {**constants, **layout.unflatten(flat)}, (x[rows],))
            return loss_fn(outputs, y[rows]) * share

        return loss

    return HessianOperator([chunk_loss(rows) for rows in batch_slices(len(y), batch_size)], layout.flatten(constants))
