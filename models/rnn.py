"""Recurrent text classifier over token ids: the char/word GRU (and its RNN/LSTM swaps) of the
text-classification studies.

    create_model("rnn_classifier", input_shape=(100,), num_classes=15, vocab_size=256, hidden=20)            # char GRU
    create_model("rnn_classifier", input_shape=(100,), num_classes=15, vocab_size=5000, embedding=20)        # word GRU

The cells are written out with Linear maps instead of nn.GRU/nn.LSTM: torch.func.vmap has no
batching rule for those fused kernels, and written-out cells let same-shape models train as one
population (trainables.engines). The input projection of every time step is one matmul before
the recurrence; only h -> h runs per step.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from models.registry import check_name, register_model

GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def _step_rnn(gx: torch.Tensor, gh: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
    return torch.tanh(gx + gh), c


def _step_gru(gx, gh, h, c):
    """torch.nn.GRU's rule: r, z gates; n = tanh(x_n + r * (W_hn h + b_hn)); h' = (1 - z) n + z h."""
    xr, xz, xn = gx.chunk(3, -1)
    hr, hz, hn = gh.chunk(3, -1)
    r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    return n + z * (h - n), c


def _step_lstm(gx, gh, h, c):
    """torch.nn.LSTM's rule: i, f, g, o gates; c' = f c + i g; h' = o tanh(c')."""
    i, f, g, o = (gx + gh).chunk(4, -1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


STEPS = {"rnn": _step_rnn, "gru": _step_gru, "lstm": _step_lstm}


class Recurrent(nn.Module):
    """One recurrent layer over a sequence of precomputed input projections (B, L, gates * H)."""

    def __init__(self, cell: str, hidden: int, bias: bool = True):
        super().__init__()
        self.cell, self.hidden = cell, hidden
        # bias False: the input projection carries the only bias (the sources' h = tanh(W x + U h + b))
        self.hh = nn.Linear(hidden, GATES[cell] * hidden, bias=bias)

    def forward(self, gx: torch.Tensor) -> torch.Tensor:
        h = gx.new_zeros(gx.shape[0], self.hidden)
        return self.scan(gx, h, h)[0]

    def scan(self, gx: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        """Run from state (h, c) (c unused but by LSTMs): (outputs (B, L, H), h, c)."""
        step, outputs = STEPS[self.cell], []
        for gx_t in gx.unbind(1):  # unbind: one stack in backward, not one zero-fill per step
            h, c = step(gx_t, self.hh(h), h, c)
            outputs.append(h)
        return torch.stack(outputs, 1), h, c


@register_model("rnn_classifier")
class RNNClassifier(nn.Module):
    """Token ids (B, L) -> one-hot (embedding=0) or an embedding -> `layers` recurrent layers of
    `hidden` units (cell gru, lstm or rnn) -> last hidden state -> dropout -> Linear to classes.

    A one-hot input times a matrix is a row lookup, so one-hot inputs are an nn.Embedding of
    width gates * hidden (the input-to-hidden weights) plus a bias: the same function and
    parameter count as one-hot -> Linear, without the (B, L, vocab) one-hot tensor.
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (100,),
        num_classes: int = 15,
        vocab_size: int = 256,
        cell: str = "gru",
        hidden: int = 20,
        embedding: int = 0,
        layers: int = 1,
        dropout: float = 0.0,
    ):
        super().__init__()
        check_name("cell", cell, GATES)
        if len(tuple(input_shape)) != 1:
            raise ValueError(f"rnn_classifier needs token sequences, input_shape (length,), got {tuple(input_shape)!r}")
        for name, value, low in (("vocab_size", vocab_size, 1), ("hidden", hidden, 1), ("embedding", embedding, 0),
                                 ("layers", layers, 1), ("num_classes", num_classes, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        width = GATES[cell] * hidden
        if embedding:
            self.embed = nn.Sequential(nn.Embedding(vocab_size, embedding), nn.Linear(embedding, width))
        else:
            self.embed = nn.Embedding(vocab_size, width)
            self.input_bias = nn.Parameter(torch.zeros(width))
        self.layers = nn.ModuleList(Recurrent(cell, hidden) for _ in range(layers))
        self.between = nn.ModuleList(nn.Linear(hidden, width) for _ in range(layers - 1))
        self.dropout = nn.Dropout(dropout)  # present at rate 0 too: one structure for every rate
        self.out = nn.Linear(hidden, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        gx = self.embed(tokens)
        if hasattr(self, "input_bias"):
            gx = gx + self.input_bias
        h = self.layers[0](gx)
        for project, layer in zip(self.between, self.layers[1:]):
            h = layer(project(self.dropout(h)))
        return self.out(self.dropout(h[:, -1]))
