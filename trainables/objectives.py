"""What an experiment family contributes to the one training loop: its data on the device, how
a batch is drawn (trainables.sampling), the loss, and the metrics it reports.

Everything is per member: a population of P trains at once and a plain trial is P = 1. Losses
and metric sums are (P,) tensors that stay on the device until a row is written.

    objective = OBJECTIVES["classification"](bundle, configs, device)
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from data_modules import DataBundle, Split, shuffle_labels, trial_splits
from models.registry import Registry
from trainables.config import TrainConfig
from trainables.engines import Engine
from trainables.sampling import Permutation, Sampler

EVAL_BATCH = 4096  # large enough to make evaluation a few launches, small enough for any GPU


def to_device(split: Split, bundle: DataBundle, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Move a split to the device once; uint8 images are scaled and normalised there."""
    x = split.x.to(device, non_blocking=True)
    if x.dtype == torch.uint8:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        mean = torch.tensor(bundle.meta.mean, device=device).view(shape)
        std = torch.tensor(bundle.meta.std, device=device).view(shape)
        x = (x.float() / 255.0 - mean) / std
    return x, split.y.to(device, non_blocking=True)


class Objective:
    """Base: resident (x, y) splits drawn by index permutation. Subclasses set the loss and the
    metrics; `stats` are the training sums a step accumulates for the next row."""

    metrics: tuple[str, ...] = ("loss",)
    """Per-split metric suffixes: the row has train_<m>, val_<m> and test_<m> for each."""
    draws_batches = False
    """True when each step draws its batch afresh (generated examples, windows of a stream)
    rather than taking the next slice of an epoch over the training split: then a batch may be
    larger than that split."""

    def __init__(self, bundle: DataBundle, configs: Sequence[TrainConfig], device: torch.device):
        first = configs[0]
        data = trial_splits(bundle, first.val_fraction, first.train_size, first.test_size)
        self.x, y = to_device(data.train, bundle, device)
        self.y = self.member_targets(y, configs)
        self.eval_sets = {"val": to_device(data.val, bundle, device), "test": to_device(data.test, bundle, device)}
        self.train_set = (self.x, y)
        self.sampler: Sampler = Permutation(len(y), first.batch_size, first.drop_last, [c.seed for c in configs], device)
        self.size = len(configs)

    @classmethod
    def scored(cls, examples: int) -> int:
        """Examples one evaluation scores of a held-out split of `examples` (what the cost estimate
        counts): all of them, unless the family scores a fixed sample."""
        return examples

    def member_targets(self, y: torch.Tensor, configs: Sequence[TrainConfig]) -> torch.Tensor:
        """(P, N) training targets: the same for every member unless a family says otherwise."""
        return y.unsqueeze(0).expand(len(configs), *y.shape)

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs (P, B, ...) and targets (P, B, ...) of index batches (P, B)."""
        P, B = idx.shape
        x = self.x.index_select(0, idx.flatten()).view(P, B, *self.x.shape[1:])  # ~15% faster than x[idx] on CPU
        y = torch.gather(self.y, 1, idx.view(P, B, *[1] * (self.y.dim() - 2)).expand(P, B, *self.y.shape[2:]))
        return x, y

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean loss of each member's batch: (P,)."""
        raise NotImplementedError

    def new_stats(self, device) -> dict[str, torch.Tensor]:
        return {"loss": torch.zeros(self.size, device=device)}

    def accumulate(self, stats: dict[str, torch.Tensor], losses: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> None:
        stats["loss"] += losses.detach() * y.shape[1]

    def train_metrics(self, stats: dict[str, torch.Tensor], seen: int) -> dict[str, torch.Tensor]:
        return {f"train_{m}": stats[m].double() / max(seen, 1) for m in self.metrics}

    @torch.no_grad()
    def evaluate(self, engine: Engine, which: str) -> dict[str, torch.Tensor]:
        """Metrics of every member on a whole split ("train", "val" or "test"), model in eval mode."""
        x, y = self.train_set if which == "train" else self.eval_sets[which]
        sums: dict[str, torch.Tensor] = {}
        for i in range(0, len(y), EVAL_BATCH):
            out = engine.forward(x[i : i + EVAL_BATCH], train=False, shared=True)
            for m, value in self.sums(out, y[i : i + EVAL_BATCH]).items():
                sums[m] = sums[m] + value if m in sums else value
        return {f"{which}_{m}": v.double() / max(len(y), 1) for m, v in sums.items()}

    def sums(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-member metric sums over a shared evaluation batch: out (P, n, ...), y (n, ...)."""
        raise NotImplementedError


class Classification(Objective):
    """Cross-entropy on class labels; accuracy. Each member's labels may be partly shuffled by
    its own seed (label_shuffle: the random-labels study)."""

    metrics = ("loss", "acc")

    def member_targets(self, y, configs):
        if all(c.label_shuffle == 0 for c in configs):
            return super().member_targets(y, configs)
        return torch.stack([shuffle_labels(y, c.label_shuffle, c.seed) for c in configs])

    def loss(self, out, y):
        if len(out) == 1:  # a plain trial: torch's own mean, to the last bit
            return F.cross_entropy(out[0], y[0]).unsqueeze(0)
        return F.cross_entropy(out.flatten(0, 1), y.flatten(), reduction="none").view(y.shape).mean(1)

    def new_stats(self, device):
        return {**super().new_stats(device), "acc": torch.zeros(self.size, device=device, dtype=torch.long)}

    def accumulate(self, stats, losses, out, y):
        super().accumulate(stats, losses, out, y)
        stats["acc"] += (out.detach().argmax(-1) == y).sum(1)

    def sums(self, out, y):
        if len(out) == 1:
            loss = F.cross_entropy(out[0], y, reduction="sum").unsqueeze(0)
        else:
            loss = F.cross_entropy(out.flatten(0, 1), y.repeat(len(out)), reduction="none").view(len(out), -1).sum(1)
        return {"loss": loss, "acc": (out.argmax(-1) == y).sum(1)}


class Regression(Objective):
    """Mean squared error on real-valued targets (N, D); losses only."""

    def loss(self, out, y):
        return (out - y).pow(2).flatten(2).mean(2).mean(1)

    def sums(self, out, y):
        return {"loss": (out - y.unsqueeze(0)).pow(2).flatten(2).mean(2).sum(1)}


OBJECTIVES: Registry[Callable[..., Objective]] = Registry(
    "objective", {"classification": Classification, "regression": Regression})
register_objective = OBJECTIVES.register
"""Decorator: make an Objective subclass the objective of family `name` (the sequence families
register theirs in trainables.sequence_objectives, which the loop imports)."""
