"""Adversarial attacks in pixel units, written here because torchattacks pins an old requests.
The model takes [0, 1] images (wrap it with `pixels.pixel_model`), runs in eval mode, and every
adversarial image is clamped to [0, 1]. All attacks are batched: one forward and backward per
step for the whole batch; images are independent because BatchNorm uses running statistics.

    fgsm_accuracy(model, x, y)                          # {eps: accuracy} for DEFAULT_EPSILONS
    pgd(model, x, y, eps=0.1, step_size=0.01, steps=40, random_start=True)
    result = targeted_attack(model, x, target, eps=0.1, steps=5000, patience=100)
    result.losses[:, i]                                 # target cross-entropy per iteration
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from analysis.maths.batching import EVAL_BATCH, batch_slices, eval_mode

# The FGSM assignment's grid (Goodfellow et al. 2015 on MNIST used 0.1..0.3), in pixel units.
DEFAULT_EPSILONS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
# One grey level per step, the step of the basic iterative method (Kurakin et al. 2017).
DEFAULT_STEP = 1 / 255
# A targeted attack has stalled when its loss improves by no more than this fraction over the
# patience window.
STALL_TOL = 1e-3


def input_gradient(model: nn.Module, x: torch.Tensor, labels: torch.Tensor):
    """(logits, per-image cross-entropy to `labels`, its gradient with respect to x), detached."""
    x = x.detach().requires_grad_(True)
    logits = model(x)
    losses = F.cross_entropy(logits, labels, reduction="none")
    (gradient,) = torch.autograd.grad(losses.sum(), x)
    return logits.detach(), losses.detach(), gradient


def project(x_adv: torch.Tensor, x: torch.Tensor, eps: float) -> torch.Tensor:
    """Into the L-inf ball of radius eps around x, then into the image range [0, 1]."""
    return torch.minimum(torch.maximum(x_adv, x - eps), x + eps).clamp(0.0, 1.0)


def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    """x + eps * sign(grad_x CE(model(x), y)), clamped to [0, 1] (Goodfellow et al. 2015)."""
    with eval_mode(model):
        gradient = input_gradient(model, x, y)[2]
    return (x + eps * gradient.sign()).clamp(0.0, 1.0)


def fgsm_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilons=DEFAULT_EPSILONS,
                  batch_size: int = EVAL_BATCH) -> dict[float, float]:
    """Accuracy on FGSM images for each eps. The gradient does not depend on eps, so each batch
    costs one backward pass and one forward pass per eps."""
    correct = torch.zeros(len(epsilons), dtype=torch.long, device=x.device)
    with eval_mode(model):
        for s in batch_slices(len(y), batch_size):
            direction = input_gradient(model, x[s], y[s])[2].sign()
            with torch.no_grad():
                for i, eps in enumerate(epsilons):
                    adversarial = (x[s] + eps * direction).clamp(0.0, 1.0)
                    correct[i] += (model(adversarial).argmax(1) == y[s]).sum()
    return {float(eps): c / max(len(y), 1) for eps, c in zip(epsilons, correct.tolist())}


def pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, step_size: float = DEFAULT_STEP,
        steps: int = 10, random_start: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
    """Untargeted projected gradient ascent on the cross-entropy (BIM, Kurakin et al. 2017; with
    `random_start`, PGD of Madry et al. 2018): `steps` signed steps, projected after each."""
    x_adv = x.detach()
    if random_start:
        noise = torch.rand(x.shape, generator=generator).to(x) * 2 - 1
        x_adv = project(x + eps * noise, x, eps)
    with eval_mode(model):
        for _ in range(steps):
            gradient = input_gradient(model, x_adv, y)[2]
            x_adv = project(x_adv + step_size * gradient.sign(), x, eps)
    return x_adv


@dataclass(frozen=True)
class TargetedAttack:
    images: torch.Tensor  # (N, ...) adversarial images
    targets: torch.Tensor  # (N,) target classes
    losses: torch.Tensor  # (iterations + 1, N) cross-entropy to the target; row 0 is the clean image
    first_hit: torch.Tensor  # (N,) first iteration at which the target is predicted, -1 if never
    predictions: torch.Tensor  # (N,) classes predicted for the final images
    stalled: torch.Tensor  # (N,) stopped because the loss no longer improved (with `patience`)
    stopped_at: torch.Tensor  # (N,) iteration of each image's last step (the target, a stall or `steps`)

    @property
    def reached(self) -> torch.Tensor:
        """(N,) whether the final image is classified as its target."""
        return self.predictions == self.targets


def targeted_attack(model: nn.Module, x: torch.Tensor, target: torch.Tensor, eps: float = 0.1,
                    steps: int = 5000, step_size: float = DEFAULT_STEP, stop_at_target: bool = True,
                    patience: int | None = None, tol: float = STALL_TOL) -> TargetedAttack:
    """Minimise the cross-entropy to `target` by signed gradient steps inside the L-inf ball of
    radius eps around x and [0, 1]. With `stop_at_target` an image stops moving once the target
    is predicted; with `patience` also once its loss has not improved by more than `tol`
    (relative) in that many iterations: signed steps against the box's walls can stall within
    tens of iterations, and 5,000 more change nothing. The loop ends when no image moves;
    otherwise all keep minimising for `steps`."""
    x_adv = x.detach()
    first_hit = torch.full((len(x),), -1, dtype=torch.long, device=x.device)
    best = torch.full((len(x),), float("inf"), device=x.device)
    improved_at = torch.zeros(len(x), dtype=torch.long, device=x.device)
    stalled = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    stopped_at = torch.full((len(x),), steps, dtype=torch.long, device=x.device)
    losses = []
    with eval_mode(model):
        for iteration in range(steps + 1):
            logits, loss, gradient = input_gradient(model, x_adv, target)
            losses.append(loss)
            hit = logits.argmax(1) == target
            first_hit = torch.where(hit & (first_hit < 0), iteration, first_hit)
            gain = loss < best - tol * best.abs().nan_to_num(posinf=0.0)
            best, improved_at = torch.where(gain, loss, best), torch.where(gain, iteration, improved_at)
            if patience is not None:
                stalled |= ~hit & (iteration - improved_at >= patience)
            moving = (~hit if stop_at_target else torch.ones_like(hit)) & ~stalled
            stopped_at = torch.where(~moving & (stopped_at == steps), iteration, stopped_at)
            if iteration == steps or not moving.any():
                break
            stepped = project(x_adv - step_size * gradient.sign(), x, eps)
            x_adv = torch.where(moving.view(-1, *([1] * (x.dim() - 1))), stepped, x_adv)
    return TargetedAttack(x_adv, target, torch.stack(losses), first_hit, logits.argmax(1), stalled, stopped_at)
