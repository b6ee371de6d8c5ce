"""Input sensitivity (Novak et al. 2018, "Sensitivity and generalization in neural networks"):
the Frobenius norm of the Jacobian of the softmax output with respect to the input, per image,
in eval mode. Each batch needs one backward pass per class, run as one batched (vmapped) backward.

    input_sensitivity(pixel_model(model, meta), pixel_images(bundle.test))   # mean over images
"""
from __future__ import annotations

import torch
import torch.nn as nn

from analysis.maths.batching import batch_slices, eval_mode

# Batched backward holds one input-gradient per class: 10 x 250 MNIST images is small.
SENSITIVITY_BATCH = 250


def softmax_jacobian_norms(model: nn.Module, x: torch.Tensor, batch_size: int = SENSITIVITY_BATCH) -> torch.Tensor:
    """(N,) ||d softmax(model(x_i)) / d x_i||_F for each input x_i."""
    norms = []
    with eval_mode(model):
        for s in batch_slices(len(x), batch_size):
            xb = x[s].detach().requires_grad_(True)
            probabilities = torch.softmax(model(xb), dim=1)
            classes = probabilities.shape[1]
            # Row c of every image's Jacobian at once: the gradient of sum_i p_i[c].
            selectors = torch.eye(classes, dtype=probabilities.dtype, device=x.device)[:, None, :]
            (rows,) = torch.autograd.grad(probabilities, xb, selectors.expand(classes, *probabilities.shape),
                                          is_grads_batched=True)
            norms.append(rows.transpose(0, 1).flatten(1).norm(dim=1))
    return torch.cat(norms)


def input_sensitivity(model: nn.Module, x: torch.Tensor, batch_size: int = SENSITIVITY_BATCH) -> float:
    """Mean over inputs of the softmax Jacobian's Frobenius norm."""
    return float(softmax_jacobian_norms(model, x, batch_size).mean())
