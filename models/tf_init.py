"""TensorFlow 1.x's default initialisers for the text classifiers, the framework of the course's
DBpedia exercise, selectable as `init="tf"` (models.text): Glorot-uniform weights and embeddings
(fan in and out as TF counts them for its conv2d kernels), zero biases, and the recurrent cells'
gate biases at 1 (GRUCell's reset and update gates, LSTMCell's forget bias). PyTorch's defaults
(`init="torch"`) draw uniform(+-1/sqrt(fan_in)) weights and N(0, 1) embeddings: an embedding of 20
starts about 80x larger than TF's (+-0.012 for 50,000 words)."""
from __future__ import annotations

import math

import torch
import torch.nn as nn


def glorot_(tensor: torch.Tensor, fan_in: int, fan_out: int) -> None:
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        tensor.uniform_(-bound, bound)


def zero_biases(model: nn.Module) -> None:
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.zero_()


def tf_text_cnn(model) -> None:
    """Kernels as TF's conv2d holds them: [kernel, width, 1, filters], receptive field kernel x width."""
    k, f = model.kernel, model.filters
    if hasattr(model, "c1"):  # words: embedding, then C1 over [kernel, embedding]
        vocab, width = model.embed.weight.shape
        glorot_(model.embed.weight, vocab, width)
        glorot_(model.c1.weight, k * width, k * width * f)
    else:  # bytes: C1 over the one-hot [kernel, 256]
        width = model.c1_taps.weight.shape[0]
        glorot_(model.c1_taps.weight, k * width, k * width * f)
    glorot_(model.c2.weight, k * f, k * f * f)
    glorot_(model.fc.weight, model.fc.in_features, model.fc.out_features)
    zero_biases(model)


# Gate blocks of the packed gate width (models.rnn chunk order) and the bias TF starts them at.
GATE_BIASES = {"gru": (1.0, 1.0, 0.0), "lstm": (0.0, 1.0, 0.0, 0.0), "rnn": (0.0,)}


def tf_rnn_classifier(model) -> None:
    """Each layer's input and recurrent maps are the two halves of TF's one kernel [input + hidden,
    gates x hidden]; GRUCell draws its gates' kernel and its candidate's separately."""
    zero_biases(model)
    if hasattr(model, "input_bias"):  # bytes: the one-hot input map is a lookup table
        inputs = [(model.embed.weight, model.embed.weight.shape[0], model.input_bias)]
    else:
        table, project = model.embed
        glorot_(table.weight, *table.weight.shape)
        inputs = [(project.weight.T, project.in_features, project.bias)]
    inputs += [(lin.weight.T, lin.in_features, lin.bias) for lin in model.between]
    for (input_map, width, bias), layer in zip(inputs, model.layers):
        hidden, cell = layer.hidden, layer.cell
        blocks = GATE_BIASES[cell]
        gates = len(blocks) - (cell == "gru")  # GRU: reset and update in one kernel, candidate in another
        for i, start in enumerate(range(0, len(blocks) * hidden, hidden)):
            out = gates * hidden if (cell != "gru" or i < 2) else hidden
            glorot_(input_map[..., start:start + hidden], width + hidden, out)
            glorot_(layer.hh.weight[start:start + hidden], width + hidden, out)
            with torch.no_grad():
                bias[start:start + hidden] = blocks[i]
    glorot_(model.out.weight, model.out.in_features, model.out.out_features)
