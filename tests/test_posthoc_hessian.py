"""Hessian-vector products, dense spectra, Lanczos, power iteration, Hutchinson and SLQ against
quadratics with known matrices and the dense Hessian of a small MLP."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from analysis.maths.hessian_density import (
    density_minimal_ratio,
    exact_minimal_ratio,
    minimal_ratio,
    spectral_density,
)
from analysis.maths.hessian_eigen import (
    hutchinson_trace,
    lanczos_top_eigenvalues,
    power_iteration,
)
from analysis.maths.hessian_operator import (
    DENSE_LIMIT,
    HessianOperator,
    full_spectrum,
    loss_hessian,
)
from models import list_models
from tests.posthoc_fixtures import small_tanh_mlp, trained_batchnorm_net
from tests.test_models import example


def quadratic(eigenvalues, seed=0):
    """0.5 theta^T A theta + b^T theta with A = Q diag(eigenvalues) Q^T for a random rotation Q."""
    generator = torch.Generator().manual_seed(seed)
    n = len(eigenvalues)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=torch.float64))
    a = q @ torch.diag(torch.tensor(eigenvalues, dtype=torch.float64)) @ q.T
    b = torch.randn(n, generator=generator, dtype=torch.float64)
    op = HessianOperator(lambda t: 0.5 * t @ a @ t + b @ t, torch.randn(n, generator=generator, dtype=torch.float64))
    return op, a


@pytest.fixture(scope="module")
def mlp_hessian():
    model, x, y = small_tanh_mlp()
    op = loss_hessian(model, x, y)
    return op, op.dense().double()


def test_quadratic_hessian_is_its_matrix_with_its_eigenvalues_and_trace():
    eigenvalues = [9.0, 4.0, 2.5, 1.0, 0.5, 0.1]
    op, a = quadratic(eigenvalues)
    torch.testing.assert_close(op.dense(), a)
    assert op.products == len(eigenvalues)
    torch.testing.assert_close(full_spectrum(op), torch.tensor(sorted(eigenvalues), dtype=torch.float64))
    top = lanczos_top_eigenvalues(op, k=2)
    torch.testing.assert_close(top.values, torch.tensor([9.0, 4.0], dtype=torch.float64))
    # Every eigenvector satisfies A v = lambda v.
    torch.testing.assert_close(top.vectors @ a, top.values[:, None] * top.vectors)
    trace = hutchinson_trace(op, samples=400)
    assert abs(trace.value - sum(eigenvalues)) < 4 * trace.stderr


def test_minimal_ratio_is_one_for_a_convex_quadratic_and_the_positive_share_otherwise():
    assert minimal_ratio(quadratic([3.0, 2.0, 1.0, 0.5, 0.01])[0]) == exact_minimal_ratio(torch.ones(1))
    indefinite = [5.0, 3.0, 2.0, 1.0, 0.5, -0.5, -1.0, -4.0]
    ratio = minimal_ratio(quadratic(indefinite)[0])
    assert ratio.method == "exact" and ratio.value == pytest.approx(5 / 8)


def test_slq_estimates_the_minimal_ratio_of_a_large_indefinite_quadratic():
    # 60% positive eigenvalues spread over [-1, 2]; above dense_limit, so the SLQ estimate is used.
    eigenvalues = torch.cat([torch.linspace(0.05, 2.0, 240), torch.linspace(-1.0, -0.05, 160)]).tolist()
    op, _ = quadratic(eigenvalues)
    ratio = minimal_ratio(op, dense_limit=100, runs=5, steps=30)
    assert ratio.method == "slq-estimate"
    # The probe noise dominates: the weight a Rademacher probe puts on the positive eigenvectors
    # has a standard deviation of about sqrt(2 p (1 - p) / n) = 0.035, 0.015 over 5 runs; 0.05 is 3 of those.
    assert ratio.value == pytest.approx(0.6, abs=0.05)


def test_chunked_and_whole_batch_hessians_agree():
    model, x, y = small_tanh_mlp()
    v = torch.randn(loss_hessian(model, x, y).dim)
    chunked = loss_hessian(model, x, y, batch_size=64)
    assert len(chunked.terms) == 5
    torch.testing.assert_close(chunked.matvec(v),
                               loss_hessian(model, x, y).matvec(v), rtol=1e-4, atol=1e-6)


def test_hessian_matches_autograd_on_a_batchnorm_model_in_eval_mode():
    model = trained_batchnorm_net(seed=1).train()
    x, y = torch.rand(20, 1, 8, 8), torch.randint(0, 3, (20,))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    op = loss_hessian(model, x, y)
    reference = torch.autograd.functional.hessian(lambda t: sum(term(t) for term in op.terms), op.at)
    torch.testing.assert_close(op.dense(), (reference + reference.T) / 2, rtol=1e-4, atol=1e-5)
    # Eval mode: running statistics are used, not updated, and the model's own mode is kept.
    assert model.training
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_dense_lanczos_and_power_iteration_agree_on_the_top_eigenvalues(mlp_hessian):
    op, dense = mlp_hessian
    exact = torch.linalg.eigvalsh(dense).flip(0)[:3]
    lanczos = lanczos_top_eigenvalues(op, k=3)
    torch.testing.assert_close(lanczos.values, exact, rtol=1e-3, atol=0)
    assert 0 < lanczos.products < op.dim
    tight = power_iteration(op, k=1, tol=1e-7, max_products=2000)
    torch.testing.assert_close(tight.values[0], lanczos.values[0], rtol=1e-4, atol=0)
    # PyHessian's rule (relative change < 1e-3) bounds the last step, not the error: with
    # lambda_2 / lambda_1 = 0.87 here the error is a few times the tolerance.
    default = power_iteration(op, k=1)
    assert default.products <= 100
    assert default.values[0] == pytest.approx(float(exact[0]), rel=1e-2)


def test_power_iteration_deflates_to_the_next_eigenvalues():
    op, _ = quadratic([10.0, 6.0, 3.0, 1.0, -0.5])
    found = power_iteration(op, k=3, tol=1e-9, max_products=500)
    torch.testing.assert_close(found.values, torch.tensor([10.0, 6.0, 3.0], dtype=torch.float64), rtol=1e-5, atol=0)


def test_hutchinson_trace_is_within_its_exact_standard_error(mlp_hessian):
    op, dense = mlp_hessian
    samples = 300
    trace = hutchinson_trace(op, samples=samples, seed=3)
    # Var(v^T H v) = 2 sum_{i != j} H_ij^2 for Rademacher v; 4 standard errors of the mean of 300
    # (near-normal) draws are exceeded with probability ~6e-5.
    variance = 2 * (dense.pow(2).sum() - dense.diagonal().pow(2).sum())
    assert abs(trace.value - float(dense.trace())) < 4 * math.sqrt(variance / samples)
    assert trace.products == samples


def test_slq_density_integrates_to_one_and_estimates_the_minimal_ratio(mlp_hessian):
    op, dense = mlp_hessian
    exact = exact_minimal_ratio(torch.linalg.eigvalsh(dense))
    assert 0.2 < exact.value < 0.8  # indefinite, so the estimate is tested on both signs
    density = spectral_density(op, runs=5, steps=60)
    assert float(torch.trapezoid(density.density, density.grid)) == pytest.approx(1.0, abs=1e-3)
    torch.testing.assert_close(density.weights.sum(1), torch.ones(5, dtype=torch.float64))
    assert density.products == 300
    # The Ritz values lie inside the spectrum, and the extreme ones converge to its ends.
    spectrum = torch.linalg.eigvalsh(dense)
    assert density.nodes.max() == pytest.approx(float(spectrum[-1]), rel=1e-3)
    assert density.nodes.min() == pytest.approx(float(spectrum[0]), rel=1e-3)
    # Same probe-noise bound as above (n = 452, p = 0.49); the cluster of eigenvalues within sigma
    # of zero is split by the kernel, which here is close to their true split.
    estimate = density_minimal_ratio(density)
    assert estimate.method == "slq-estimate" and estimate.value == pytest.approx(exact.value, abs=0.05)


def test_dense_hessian_refuses_large_models():
    op = HessianOperator(lambda t: t.pow(2).sum(), torch.zeros(DENSE_LIMIT + 1))
    with pytest.raises(ValueError, match="too large"):
        op.dense()


def test_frozen_parameters_are_constants():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    model[0].weight.requires_grad_(False)
    op = loss_hessian(model, torch.randn(10, 3), torch.randint(0, 2, (10,)))
    assert op.dim == 4 + 4 * 2 + 2


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_gives_the_same_products_one_by_one_and_batched(name):
    torch.manual_seed(0)
    model, x, shape = example(name, n=4)
    # A language model predicts every position: its loss is over (example, position) pairs.
    per_position = lambda out, y: F.cross_entropy(out.flatten(0, -2), y.flatten())  # noqa: E731
    op = loss_hessian(model, x, torch.randint(0, 10, shape[:-1]), loss_fn=per_position)
    vs = torch.randn(2, op.dim)
    batched = op.matmat(vs)
    assert torch.isfinite(batched).all()
    scale = float(batched.abs().max())
    for v, hv in zip(vs, batched):
        torch.testing.assert_close(op.matvec(v), hv, rtol=1e-4, atol=1e-5 * scale)
    assert op.products == 4
