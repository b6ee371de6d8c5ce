"""Recurrent models of the palindrome memory test (University of Amsterdam deep-learning
practical): digits in one per step as a number, the last hidden state to 10 classes.

    create_model("digit_rnn", input_shape=(9,), num_classes=10, cell="rnn")      # the vanilla RNN
    create_model("digit_rnn", input_shape=(9,), num_classes=10, cell="lstm")     # the practical's LSTM
    create_model("digit_rnn", input_shape=(9,), num_classes=10, cell="nn_lstm")  # torch's nn.LSTM

rnn:  h_t = tanh(W_hx x_t + W_hh h_{t-1} + b_h), p = W_ph h_T + b_p (the practical's equations,
one bias per gate). lstm: gates g (tanh), i, f, o (sigmoid) of the same form; c_t = g i + c_{t-1} f,
h_t = tanh(c_t) o. Both run on the written-out cells of models.rnn, so seeds fuse under vmap;
nn_lstm is the cuDNN/oneDNN kernel, a reference that trains one trial at a time.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from models.registry import check_name, register_model
from models.rnn import GATES, Recurrent

CELLS = ("rnn", "lstm", "nn_lstm")


@register_model("digit_rnn")
class DigitRNN(nn.Module):
    """Digits (B, L) as scalars -> `cell` with `hidden` units -> last state -> Linear to classes."""

    def __init__(self, input_shape: Sequence[int] = (9,), num_classes: int = 10, cell: str = "rnn", hidden: int = 128):
        super().__init__()
        check_name("cell", cell, CELLS)
        if len(tuple(input_shape)) != 1:
            raise ValueError(f"digit_rnn needs digit sequences, input_shape (length,), got {tuple(input_shape)!r}")
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"hidden must be an integer >= 1, got {hidden!r}")
        self.cell = cell
        if cell == "nn_lstm":
            self.lstm = nn.LSTM(1, hidden, batch_first=True)
        else:
            self.input = nn.Linear(1, GATES[cell] * hidden)  # W_.x and the gates' biases b_.
            self.recurrent = Recurrent(cell, hidden, bias=False)  # W_.h
        self.out = nn.Linear(hidden, num_classes)  # W_ph, b_p

    def forward(self, digits: torch.Tensor) -> torch.Tensor:
        x = digits.unsqueeze(-1).float()
        if self.cell == "nn_lstm":
            return self.out(self.lstm(x)[0][:, -1])
        return self.out(self.recurrent(self.input(x))[:, -1])
