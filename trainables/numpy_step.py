"""The NumPy MLP's own training step (models.numpy_mlp): hand-written backprop and SGD on views
of the model's parameters, inside the one training loop. Models that train with their own step
are listed in OWN_STEPS by model name; such a model trains alone (a population of one), and its
`check` refuses, before any trial starts, the settings the step cannot honour."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from models.numpy_mlp import NumpyMLP, cross_entropy, numpy_backward, numpy_forward
from trainables.optimizers import Optimizer
from trainables.step import EagerStep


def _check_trainable(model: NumpyMLP, cfg, x: torch.Tensor) -> None:
    if x.device.type != "cpu" or any(p.device.type != "cpu" for p in model.parameters()):
        raise ValueError(f"numpy_mlp trains with NumPy on the CPU; got data on {x.device.type!r}: set device='cpu'")
    _check_optimizer(cfg)


def check_numpy_config(cfg) -> None:
    """Refuse, before any trial starts, what NumPy training cannot do: another device,
    optimizer or precision."""
    if cfg.device != "cpu":
        raise ValueError(f"numpy_mlp trains with NumPy on the CPU, got device {cfg.device!r}; allowed: cpu")
    _check_optimizer(cfg)


def _check_optimizer(cfg) -> None:
    if cfg.optimizer != "sgd":
        raise ValueError(f"numpy_mlp trains with sgd only, got optimizer {cfg.optimizer!r}; allowed: sgd")
    if getattr(cfg, "precision", "fp32") != "fp32":
        raise ValueError(f"numpy_mlp trains in float32 only, got precision {cfg.precision!r}; allowed: fp32")


class NumpyStep(EagerStep):
    """step(idx): gather the batch, NumPy forward / backward, SGD in place on the parameters'
    memory; loss and correct predictions accumulate in the same stats as the loop's own step.

    SGD follows torch.optim.SGD (dampening 0, no Nesterov): g += weight_decay * p (weights and
    biases), buf = momentum * buf + g (buf = g on the first step), p -= lr * buf. The loop's
    optimizer `opt` is never stepped; its state only stores the momentum buffers (key
    "momentum_buffer", as torch's SGD would), so checkpoints carry them and a resumed run
    continues exactly. A NumPy MLP trains alone (a population of one), on the CPU.
    """

    def __init__(self, engine, opt: Optimizer, objective, active: torch.Tensor, cfg):
        model = engine.model
        _check_trainable(model, cfg, objective.x)
        super().__init__(engine, opt, objective, active)
        self.model = model
        self.lr, self.momentum, self.weight_decay = float(cfg.lr), float(cfg.momentum), float(cfg.weight_decay)
        self.params = list(model.parameters())
        self.arrays = [p.detach().numpy() for p in self.params]  # views: updating them updates the weights
        self.x_np, self.y_np = objective.x.numpy(), objective.y[0].numpy()

    def zero_grad(self) -> None:  # NumPy gradients are fresh arrays every step
        pass

    def update(self, idx: torch.Tensor) -> None:
        rows = idx[0].numpy()
        xb = np.asarray(self.x_np[rows], dtype=np.float32)
        yb = self.y_np[rows]
        cache, probs = numpy_forward(self.arrays, xb, self.model.activation)
        self.sgd(numpy_backward(self.arrays, cache, probs, yb))
        self.stats["loss"] += cross_entropy(probs, yb) * len(rows)
        self.stats["acc"] += int((probs.argmax(1) == yb).sum())

    def sgd(self, grads: list[np.ndarray]) -> None:
        """One in-place SGD update of every parameter from its NumPy gradient."""
        for p, w, g in zip(self.params, self.arrays, grads):
            if self.weight_decay:
                g = g + self.weight_decay * w
            if self.momentum:
                slots = self.opt.state[p]
                if "momentum_buffer" in slots:
                    buf = slots["momentum_buffer"].numpy()
                    buf *= self.momentum
                    buf += g
                else:
                    slots["momentum_buffer"] = torch.from_numpy(g.copy())
                g = slots["momentum_buffer"].numpy()
            w -= self.lr * g


@dataclass(frozen=True)
class OwnStep:
    """A model's own training step: `step(engine, opt, objective, active, cfg)` replaces the
    loop's EagerStep; `check(cfg)` raises ValueError for settings it cannot train with."""

    step: Callable[..., EagerStep]
    check: Callable[[object], None]


OWN_STEPS: dict[str, OwnStep] = {"numpy_mlp": OwnStep(NumpyStep, check_numpy_config)}
