"""The sequence families' objectives (trainables.objectives registers them): palindromes
generated on the device every step, and next-character prediction on random windows of a
character stream.

Both reuse the loop unchanged: a sampler draws something small (digits, window starts) per
member, `batch` builds the inputs and targets on the device, and evaluation runs on fixed
held-out sets so every row of every trial is scored on the same examples.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F

from data_modules import DataBundle
from data_modules.corpus import SEQ_LEN  # characters per training window: the data's input shape
from data_modules.palindrome import mirror, random_halves, split_palindromes
from trainables import metrics as M
from trainables.config import TrainConfig
from trainables.objectives import Classification, Objective, register_objective
from trainables.sampling import Generated, Windows

EVAL_WINDOWS = 256  # windows in each fixed evaluation sample: 16,384 characters, a few launches
LN2 = math.log(2.0)


@register_objective("palindrome")
class Palindrome(Classification):
    """A fresh batch of palindromes per member and step (seeded by the member's seed), cross-
    entropy on the last digit. train_* metrics are over the training batches since the last row
    (what the source measured); val_* and test_* over the fixed held-out palindromes."""

    draws_batches = True

    def __init__(self, bundle: DataBundle, configs: Sequence[TrainConfig], device: torch.device):
        super().__init__(bundle, configs, device)
        self.length = bundle.meta.input_shape[0] + 1
        length = self.length
        self.sampler = Generated(lambda g, n, dev: random_halves(g, n, length, dev), configs[0].batch_size,
                                 [c.seed for c in configs], device)

    def batch(self, drawn: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return split_palindromes(mirror(drawn, self.length))


@register_objective("language_model")
class LanguageModel(Objective):
    """Next-character prediction: B random windows of SEQ_LEN + 1 characters per member and
    step; mean cross-entropy per character in nats (loss) and in bits (bits_per_char). The
    bundle's train split is the training stream; val and test are fixed windows of the
    held-out streams (the first and second half of the corpus's last 10%)."""

    metrics = ("loss", "bits_per_char")
    draws_batches = True

    def __init__(self, bundle: DataBundle, configs: Sequence[TrainConfig], device: torch.device):
        first = configs[0]
        self.size = len(configs)
        self.stream = bundle.train.x.to(device)
        self.offsets = torch.arange(SEQ_LEN + 1, device=device)
        self.sampler = Windows(len(self.stream), SEQ_LEN, first.batch_size, [c.seed for c in configs], device)
        self.train_set = fixed_windows(self.stream, spaced=False)
        self.eval_sets = {"val": fixed_windows(bundle.val.x.to(device)), "test": fixed_windows(bundle.test.x.to(device))}

    @classmethod
    def scored(cls, examples: int) -> int:
        """A held-out stream of `examples` characters is scored on its EVAL_WINDOWS fixed windows
        (fixed_windows), not character by character."""
        return min(EVAL_WINDOWS, max((examples - 1) // SEQ_LEN, 0))

    def batch(self, starts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        tokens = self.stream[starts.unsqueeze(-1) + self.offsets]  # (P, B, SEQ_LEN + 1)
        return tokens[..., :-1], tokens[..., 1:]

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out.flatten(0, -2), y.flatten(), reduction="none").view(y.shape).flatten(1).mean(1)

    def train_metrics(self, stats, seen):
        loss = stats["loss"].double() / max(seen, 1)
        return {M.TRAIN_LOSS: loss, M.TRAIN_BITS_PER_CHAR: loss / LN2}

    def sums(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-member sums over windows of each window's mean cross-entropy per character."""
        P = out.shape[0]
        ce = F.cross_entropy(out.flatten(0, -2), y.expand(P, *y.shape).flatten(), reduction="none")
        loss = ce.view(P, *y.shape).mean(-1).sum(-1)
        return {"loss": loss, "bits_per_char": loss / LN2}


def fixed_windows(stream: torch.Tensor, spaced: bool = True, count: int = EVAL_WINDOWS) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) of `count` windows of a stream: non-overlapping and evenly spread over
    it (`spaced`), or the first ones. Always the same windows, so rows compare."""
    n = (len(stream) - 1) // SEQ_LEN
    if n < 1:
        raise ValueError(f"a stream of {len(stream)} characters is too short for one window of {SEQ_LEN} + 1")
    picks = torch.linspace(0, n - 1, min(count, n)).long() if spaced else torch.arange(min(count, n))
    idx = (picks * SEQ_LEN).to(stream.device).unsqueeze(-1) + torch.arange(SEQ_LEN + 1, device=stream.device)
    tokens = stream[idx]
    return tokens[:, :-1], tokens[:, 1:]

