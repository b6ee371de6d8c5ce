"""Optimizer registry: name -> builder(params, TrainConfig)."""
from __future__ import annotations

import torch

OPTIMIZERS = {
    "sgd": lambda params, c: torch.optim.SGD(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay),
    "adam": lambda params, c: torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay),
    "rmsprop": lambda params, c: torch.optim.RMSprop(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay),
    "adagrad": lambda params, c: torch.optim.Adagrad(params, lr=c.lr, weight_decay=c.weight_decay),
}


def build_optimizer(params, cfg) -> torch.optim.Optimizer:
    return OPTIMIZERS[cfg.optimizer](params, cfg)
