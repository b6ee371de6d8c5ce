"""Minimising the squared gradient norm reaches a point where the gradient is below the threshold."""
import pytest
import torch
import torch.nn.functional as F

from analysis.maths.gradient_norm_descent import minimise_gradient_norm
from models import create_model


def gradient_norm(model, x, y):
    loss = F.mse_loss(model(x), y)
    return float(torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(model.parameters()))]).norm())


def test_gradient_norm_falls_below_the_threshold_on_a_small_regression():
    torch.manual_seed(0)
    model = create_model("mlp", input_shape=(1,), num_classes=1, depth=1, width=8, activation="tanh")
    x = torch.linspace(-1, 1, 64)[:, None]
    y = x**3
    threshold = 1e-3
    assert gradient_norm(model, x, y) > 10 * threshold
    result = minimise_gradient_norm(model, x, y, F.mse_loss, threshold=threshold, max_steps=100)
    assert result.converged and 0 < result.steps < 100
    assert result.grad_norm < threshold
    assert gradient_norm(model, x, y) == pytest.approx(result.grad_norm, rel=1e-4)  # the model holds the result
    with torch.no_grad():
        assert result.loss == float(F.mse_loss(model(x), y))


def test_a_step_budget_stops_without_convergence_and_any_optimizer_works():
    torch.manual_seed(0)
    model = create_model("mlp", input_shape=(1,), num_classes=1, depth=1, width=8, activation="tanh")
    x = torch.linspace(-1, 1, 64)[:, None]
    start = gradient_norm(model, x, x.sin())
    result = minimise_gradient_norm(model, x, x.sin(), F.mse_loss, threshold=1e-12, max_steps=3,
                                    optimizer=lambda p: torch.optim.SGD(p, lr=0.01))
    assert result.steps == 3 and not result.converged
    assert result.grad_norm < start


def test_a_stalled_descent_stops_at_its_first_flat_window():
    """SGD at a tiny rate barely moves: after `stall_steps` steps it has gained less than the
    stall fraction, so it stops there instead of spending the whole budget."""
    torch.manual_seed(0)
    model = create_model("mlp", input_shape=(1,), num_classes=1, depth=1, width=8, activation="tanh")
    x = torch.linspace(-1, 1, 64)[:, None]
    slow = lambda p: torch.optim.SGD(p, lr=1e-6)  # noqa: E731
    result = minimise_gradient_norm(model, x, x.sin(), F.mse_loss, threshold=1e-12, max_steps=1000,
                                    optimizer=slow, stall_steps=20, stall_gain=0.01)
    assert result.stalled and not result.converged and result.steps == 20
    moving = minimise_gradient_norm(model, x, x.sin(), F.mse_loss, threshold=1e-12, max_steps=30,
                                    optimizer=slow, stall_steps=20, stall_gain=0.0)
    assert not moving.stalled and moving.steps == 30  # any gain counts when stall_gain is 0
