"""Linear interpolation between two trained models of the same architecture (Goodfellow et al.
2015; Keskar et al. 2017 between a small-batch and a large-batch solution):
theta(alpha) = (1 - alpha) theta_A + alpha theta_B over the whole state dict, buffers included
(BatchNorm running statistics interpolate too; integer buffers such as num_batches_tracked are
taken from A).

    rows = interpolation_curve(model, state_a, state_b, {"train": (x, y), "test": (xt, yt)})
    pandas.DataFrame(rows)   # alpha, split, loss, accuracy
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from analysis.maths.batching import EVAL_BATCH, loss_and_accuracy

# -1 to 2 in steps of 0.05 (the course study's range); rounded so that 0 and 1 are exact.
DEFAULT_ALPHAS = tuple(np.round(np.linspace(-1.0, 2.0, 61), 12).tolist())


def interpolate_states(state_a: Mapping[str, torch.Tensor], state_b: Mapping[str, torch.Tensor],
                       alpha: float) -> dict[str, torch.Tensor]:
    """(1 - alpha) A + alpha B for floating tensors, A's value for the others. Written as the sum
    (not torch.lerp) so alpha 0 and 1 give A and B bit for bit."""
    if state_a.keys() != state_b.keys():
        raise ValueError(f"state dicts differ in keys: {sorted(set(state_a) ^ set(state_b))}")
    return {
        name: (1 - alpha) * a + alpha * state_b[name] if a.is_floating_point() else a.clone()
        for name, a in state_a.items()
    }


def interpolation_curve(
    model: nn.Module,
    state_a: Mapping[str, torch.Tensor],
    state_b: Mapping[str, torch.Tensor],
    sets: Mapping[str, tuple[torch.Tensor, torch.Tensor]],
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
    batch_size: int = EVAL_BATCH,
) -> list[dict]:
    """Loss and accuracy of the interpolated model on each named (x, y) set for each alpha, as
    rows {alpha, split, loss, accuracy}. `model` is only the architecture: its weights are
    replaced by each theta(alpha) and restored afterwards."""
    original = {k: v.clone() for k, v in model.state_dict().items()}
    rows = []
    try:
        for alpha in alphas:
            model.load_state_dict(interpolate_states(state_a, state_b, alpha))
            for split, (x, y) in sets.items():
                loss, accuracy = loss_and_accuracy(model, x, y, loss_fn, batch_size)
                rows.append({"alpha": float(alpha), "split": split, "loss": loss, "accuracy": accuracy})
    finally:
        model.load_state_dict(original)
    return rows
