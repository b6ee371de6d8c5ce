"""Reaching a critical point by minimising the squared gradient norm ||grad L||^2 (the course's
"minimal ratio" study: train, then descend on ||grad L||^2 until it is small, then look at the
Hessian there). Each step differentiates the gradient (double backward).

    result = minimise_gradient_norm(model, x, y, F.mse_loss, threshold=1e-3)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn as nn

from analysis.maths.batching import eval_mode


# Quasi-Newton steps: plain gradient steps on ||grad L||^2 see the Hessian's condition number
# squared (Adam at lr 1e-2 left a 1-8-1 net at ||grad L|| ~ 2e-3 after 5,000 steps; L-BFGS passed
# 1e-3 in 7). Its own stopping tolerances are off: the threshold decides.
def default_optimizer(params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    return torch.optim.LBFGS(params, lr=1, line_search_fn="strong_wolfe", tolerance_grad=0, tolerance_change=0)


# A run that gains less than STALL_GAIN of its gradient norm over STALL_STEPS steps has stalled: in
# the minimal-ratio sweep the runs that miss 1e-3 crept from 1.2423e-3 to 1.2419e-3 over 500 L-BFGS
# steps (66 s each, 90% of the study's time) and end at the same point when stopped at the first window.
STALL_STEPS = 50
STALL_GAIN = 0.01


@dataclass(frozen=True)
class GradNormResult:
    loss: float
    grad_norm: float  # ||grad L|| at the final parameters
    steps: int  # optimiser steps taken (an L-BFGS step evaluates up to 20 times)
    converged: bool  # grad_norm < threshold
    stalled: bool = False  # stopped early: the norm fell by less than `stall_gain` over `stall_steps` steps


def minimise_gradient_norm(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    threshold: float = 1e-3,
    max_steps: int = 1000,
    optimizer: Callable[[list[torch.nn.Parameter]], torch.optim.Optimizer] = default_optimizer,
    stall_steps: int = STALL_STEPS,
    stall_gain: float = STALL_GAIN,
) -> GradNormResult:
    """Update the model's trainable parameters in place (full batch, eval mode) by `optimizer`
    on ||grad L||^2 until ||grad L|| < threshold, `max_steps`, or a stall (less than `stall_gain`
    of the norm gained over the last `stall_steps` steps). Any torch optimizer works (the step
    gets a closure, which L-BFGS needs and the others call once)."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = optimizer(params)

    def loss_and_squared_norm(create_graph: bool) -> tuple[torch.Tensor, torch.Tensor]:
        loss = loss_fn(model(x), y)
        gradients = torch.autograd.grad(loss, params, create_graph=create_graph)
        return loss, sum(g.pow(2).sum() for g in gradients)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        squared_norm = loss_and_squared_norm(create_graph=True)[1]
        squared_norm.backward()
        return squared_norm

    norms: list[float] = []
    stalled = False
    with eval_mode(model):
        for step in range(max_steps + 1):
            loss, squared_norm = loss_and_squared_norm(create_graph=False)
            norms.append(float(squared_norm.sqrt()))
            stalled = step >= stall_steps and norms[-1] > (1 - stall_gain) * norms[-1 - stall_steps]
            if norms[-1] < threshold or step == max_steps or stalled:
                break
            opt.step(closure)
    return GradNormResult(float(loss.detach()), norms[-1], step, norms[-1] < threshold, stalled)
