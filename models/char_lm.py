"""Character language models: token ids (B, T) -> next-character logits (B, T, V), and
sampling from a prompt.

    create_model("char_rnn", input_shape=(64,), num_classes=65)                        # vanilla RNN
    create_model("mlp_lstm", input_shape=(64,), num_classes=65, gate_layers=2)         # medium preset
    create_model("torch_lstm", input_shape=(64,), num_classes=65)                      # nn.LSTM reference

`num_classes` is the vocabulary size (inputs and outputs are the same symbols). Every model has
`run(tokens, state) -> (logits, state)`, so `generate` feeds one character at a time instead of
re-reading the whole context.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from models.registry import register_model
from models.rnn import Recurrent


def _positive(**values) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


class CharLM(nn.Module):
    """forward(tokens) = run(tokens, None)'s logits; subclasses define run."""

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.run(tokens, None)[0]

    def run(self, tokens: torch.Tensor, state):
        raise NotImplementedError


@register_model("char_rnn")
class CharRNN(CharLM):
    """h_t = tanh(W_hx onehot(x_t) + W_hh h_{t-1} + b_h), logits = W_ph h_t + b_p; the one-hot
    product is an embedding lookup (same function and parameters, no (B, T, V) tensor)."""

    def __init__(self, input_shape: Sequence[int] = (64,), num_classes: int = 65, hidden: int = 128):
        super().__init__()
        _positive(hidden=hidden, num_classes=num_classes)
        self.hidden = hidden
        self.embed = nn.Embedding(num_classes, hidden)
        self.bias = nn.Parameter(torch.zeros(hidden))
        self.recurrent = Recurrent("rnn", hidden, bias=False)
        self.out = nn.Linear(hidden, num_classes)

    def run(self, tokens, state):
        h = tokens.new_zeros(tokens.shape[0], self.hidden, dtype=torch.float) if state is None else state
        outputs, h, _ = self.recurrent.scan(self.embed(tokens) + self.bias, h, h)
        return self.out(outputs), h


@register_model("mlp_lstm")
class MLPLSTM(CharLM):
    """An LSTM whose four gates (input, forget, output: sigmoid; candidate: tanh) are each a
    small MLP of [onehot(x_t), h_{t-1}] with `gate_layers` tanh hidden layers of `units`;
    c_t = f c_{t-1} + i g, h_t = o tanh(c_t) with `state` units. The four MLPs run as one:
    their first layers are one (embedding + Linear) of width 4 x units, deeper layers are
    batched per gate (einsum over a (4, in, out) weight)."""

    def __init__(self, input_shape: Sequence[int] = (64,), num_classes: int = 65, state: int = 64, units: int = 64,
                 gate_layers: int = 1):
        super().__init__()
        _positive(state=state, units=units, gate_layers=gate_layers, num_classes=num_classes)
        self.state_size, self.units = state, units
        self.embed = nn.Embedding(num_classes, 4 * units)  # the x part of every gate's first layer
        self.first = nn.Linear(state, 4 * units)  # the h part, with the first layer's bias
        scale = units ** -0.5
        self.hidden = nn.ParameterList(nn.Parameter(torch.empty(4, units, units).uniform_(-scale, scale))
                                       for _ in range(gate_layers - 1))
        self.hidden_bias = nn.ParameterList(nn.Parameter(torch.zeros(4, units)) for _ in range(gate_layers - 1))
        self.gate = nn.Parameter(torch.empty(4, units, state).uniform_(-scale, scale))
        self.gate_bias = nn.Parameter(torch.zeros(4, state))
        self.out = nn.Linear(state, num_classes)

    def gates(self, gx_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """(B, 4, state) pre-activations of the gates i, f, o, g."""
        a = torch.tanh(gx_t + self.first(h)).unflatten(-1, (4, self.units))
        for w, b in zip(self.hidden, self.hidden_bias):
            a = torch.tanh(torch.einsum("bgu,guv->bgv", a, w) + b)
        return torch.einsum("bgu,gus->bgs", a, self.gate) + self.gate_bias

    def run(self, tokens, state):
        if state is None:
            h = c = tokens.new_zeros(tokens.shape[0], self.state_size, dtype=torch.float)
        else:
            h, c = state
        outputs = []
        for gx_t in self.embed(tokens).unbind(1):
            i, f, o, g = self.gates(gx_t, h).unbind(1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outputs.append(h)
        return self.out(torch.stack(outputs, 1)), (h, c)


class TorchRecurrentLM(CharLM):
    """Embedding -> torch's fused nn.LSTM / nn.GRU -> Linear: references for speed and loss."""

    kind: type[nn.Module] = nn.LSTM

    def __init__(self, input_shape: Sequence[int] = (64,), num_classes: int = 65, hidden: int = 128):
        super().__init__()
        _positive(hidden=hidden, num_classes=num_classes)
        self.embed = nn.Embedding(num_classes, hidden)
        self.rnn = self.kind(hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, num_classes)

    def run(self, tokens, state):
        outputs, state = self.rnn(self.embed(tokens), state)
        return self.out(outputs), state


@register_model("torch_lstm")
class TorchLSTM(TorchRecurrentLM):
    kind = nn.LSTM


@register_model("torch_gru")
class TorchGRU(TorchRecurrentLM):
    kind = nn.GRU


@torch.no_grad()
def generate(model: CharLM, prompt: Sequence[int], n: int, temperature: float = 1.0, seed: int = 0) -> list[int]:
    """`n` token ids sampled after `prompt` (temperature 0: the most likely each time); the
    same seed gives the same text."""
    if not prompt:
        raise ValueError("the prompt must hold at least one known character")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature!r}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    g = torch.Generator(device=device).manual_seed(seed)
    logits, state = model.run(torch.tensor([list(prompt)], device=device), None)
    out = []
    for _ in range(n):
        last = logits[0, -1]
        if temperature == 0:
            token = last.argmax().view(1)
        else:
            token = torch.multinomial(torch.softmax(last / temperature, -1), 1, generator=g)
        out.append(int(token))
        logits, state = model.run(token.view(1, 1), state)
    model.train(was_training)
    return out
