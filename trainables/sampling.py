"""How a training batch is drawn, for every member of a population at once.

A sampler's `next()` returns what the training step reads for one step, with a leading member
dimension, plus whether that step ends an epoch. What it returns is small (indices, window
starts, random digits): the step gathers or builds the batch from it on the device, so a CUDA
graph can replay the step with only this tensor copied in. Every member draws from its own
generator seeded with its own seed, so a member of a population sees the batches it would see
as a trial of its own; `state()` / `load()` make a resume exact, mid-epoch included.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import torch


class Sampler:
    def __init__(self, seeds: Sequence[int], device: torch.device):
        self.device = device
        self.gens = [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]

    def next(self) -> tuple[torch.Tensor, bool]:
        raise NotImplementedError

    @property
    def steps_per_epoch(self) -> int:
        """Steps that make one epoch (generated data never repeats: every step is an epoch)."""
        return 1

    def state(self) -> dict[str, Any]:
        return {"gens": [g.get_state() for g in self.gens]}

    def load(self, state: dict[str, Any]) -> None:
        for g, s in zip(self.gens, state["gens"]):
            g.set_state(s)


class Permutation(Sampler):
    """Index batches (P, B) over n resident examples: every epoch a fresh random order per
    member, walked in batches; the last partial batch is kept unless drop_last."""

    def __init__(self, n: int, batch_size: int, drop_last: bool, seeds: Sequence[int], device: torch.device):
        super().__init__(seeds, device)
        self.n, self.batch_size = n, batch_size
        self.stop = n - n % batch_size if drop_last else n
        self.perms: torch.Tensor | None = None
        self.cursor = 0

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.stop // self.batch_size)

    def next(self):
        if self.perms is None:
            self.perms = torch.stack([torch.randperm(self.n, device=self.device, generator=g) for g in self.gens])
            self.cursor = 0
        end = min(self.cursor + self.batch_size, self.stop)
        idx = self.perms[:, self.cursor : end]
        self.cursor = end
        if end >= self.stop:
            self.perms = None
        return idx, self.perms is None

    def state(self):
        return {**super().state(), "perms": None if self.perms is None else self.perms.cpu(), "cursor": self.cursor}

    def load(self, state):
        super().load(state)
        self.perms = None if state["perms"] is None else state["perms"].to(self.device)
        self.cursor = state["cursor"]


class Windows(Sampler):
    """Start positions (P, B) of random windows of `length + 1` tokens in a stream of n tokens
    (inputs and their next-token targets); an epoch is n // length windows' worth of steps."""

    def __init__(self, n_tokens: int, length: int, batch_size: int, seeds: Sequence[int], device: torch.device):
        super().__init__(seeds, device)
        if n_tokens < length + 2:
            raise ValueError(f"a stream of {n_tokens} tokens is too short for windows of {length} + 1")
        self.high, self.batch_size = n_tokens - length, batch_size
        self.per_epoch = max(1, n_tokens // length // batch_size)
        self.steps = 0

    @property
    def steps_per_epoch(self) -> int:
        return self.per_epoch

    def next(self):
        starts = torch.stack([torch.randint(0, self.high, (self.batch_size,), device=self.device, generator=g)
                              for g in self.gens])
        self.steps += 1
        return starts, self.steps % self.per_epoch == 0

    def state(self):
        return {**super().state(), "steps": self.steps}

    def load(self, state):
        super().load(state)
        self.steps = state["steps"]


class Generated(Sampler):
    """Batches made fresh every step by `make(generator, batch_size, device) -> tensor (B, ...)`,
    one call per member (e.g. random digits that the step mirrors into palindromes)."""

    def __init__(self, make: Callable[[torch.Generator, int, torch.device], torch.Tensor], batch_size: int,
                 seeds: Sequence[int], device: torch.device):
        super().__init__(seeds, device)
        self.make, self.batch_size = make, batch_size

    def next(self):
        # every step is an epoch (steps_per_epoch 1): a run counted in epochs ends too
        return torch.stack([self.make(g, self.batch_size, self.device) for g in self.gens]), True
