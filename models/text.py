"""Text classifiers over a document's two encodings (data_modules.text_csv): x (B, 2, L) holds
its UTF-8 bytes (row 0) and its word ids (row 1); `tokens` picks one.

    create_model("text_cnn", input_shape=(2, 100), num_classes=15, tokens="char")   # char CNN
    create_model("text_rnn", input_shape=(2, 100), num_classes=15, tokens="word", vocab=50_000)  # word GRU

The layers are those of TensorFlow's DBpedia text-classification examples, which the course
ran: char CNN = one-hot 256 -> C1 10 filters 20 x 256 (valid, ReLU) -> max-pool 4 stride 2
(same) -> C2 10 filters 20 x 1 -> max over time -> FC; word CNN the same over an embedding of
20; char GRU over one-hot bytes, word GRU over an embedding of 20, hidden 20, last state -> FC.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.registry import check_name, register_model
from models.rnn import RNNClassifier
from models.tf_init import tf_rnn_classifier, tf_text_cnn

BYTE_VOCAB = 256
TOKENS = {"char": 0, "word": 1}  # row of x holding that encoding
INITS = ("torch", "tf")  # PyTorch's default initialisers, or TensorFlow 1.x's (models.tf_init)


def _word_vocab(vocab: int) -> int:
    """The word embedding's rows: the data's vocabulary size (DataMeta.vocab), which the data sets."""
    if vocab < 2:
        raise ValueError(f"word tokens need the data's vocabulary size, got vocab={vocab!r}; allowed: the "
                         "vocab of a text dataset (DataMeta.vocab, passed by the loop)")
    return vocab


def _document_length(input_shape: Sequence[int], name: str) -> int:
    shape = tuple(input_shape)
    if len(shape) != 2 or shape[0] != len(TOKENS):
        raise ValueError(f"{name} needs documents encoded as (2, length) (bytes, word ids), got input_shape {shape!r}")
    return shape[1]


def max_pool_same(x: torch.Tensor, window: int, stride: int) -> torch.Tensor:
    """TensorFlow's SAME max-pooling over the last axis: ceil(n / stride) outputs, padded at the end."""
    n = x.shape[-1]
    pad = max((-(-n // stride) - 1) * stride + window - n, 0)
    x = F.pad(x, (pad // 2, pad - pad // 2), value=float("-inf"))
    return F.max_pool1d(x, window, stride)


class SummedLookups(torch.autograd.Function):
    """table[rows].sum(-2) with a backward that adds each gradient row in place, without sorting:
    the char CNN's first convolution. Autograd's own backward of the gather (or of 20 shifted
    slices, or of embedding_bag) was 3-9x slower and most of a training step."""

    generate_vmap_rule = True  # fused populations run it under torch.func.vmap

    @staticmethod
    def forward(table: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return F.embedding(rows, table).sum(-2)

    @staticmethod
    def setup_context(ctx, inputs, output):
        table, rows = inputs
        ctx.save_for_backward(rows)
        ctx.table_shape = table.shape

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (rows,) = ctx.saved_tensors
        per_row = grad.unsqueeze(-2).expand(*rows.shape, grad.shape[-1]).reshape(-1, grad.shape[-1])
        return grad.new_zeros(ctx.table_shape).index_add(0, rows.reshape(-1), per_row), None


@register_model("text_cnn")
class TextCNN(nn.Module):
    """Two convolutions over characters (one-hot) or words (embedding), max over time, FC."""

    def __init__(self, input_shape: Sequence[int] = (2, 100), num_classes: int = 15, tokens: str = "char",
                 filters: int = 10, kernel: int = 20, pool: int = 4, stride: int = 2, embedding: int = 20,
                 dropout: float = 0.0, init: str = "torch", vocab: int = 0):
        super().__init__()
        check_name("tokens", tokens, TOKENS)
        check_name("init", init, INITS)
        length = _document_length(input_shape, "text_cnn")
        pooled = -(-(length - kernel + 1) // stride)
        if length < kernel or pooled < kernel:
            raise ValueError(f"documents of {length} tokens are too short for two convolutions of width {kernel}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.row, self.kernel, self.filters, self.pool, self.stride = TOKENS[tokens], kernel, filters, pool, stride
        if tokens == "char":
            # C1 over one-hot bytes as a lookup: each byte's weights for every filter and offset
            self.c1_taps = nn.Embedding(BYTE_VOCAB, filters * kernel)
            bound = (BYTE_VOCAB * kernel) ** -0.5  # nn.Conv1d's default init for a 256-channel input
            nn.init.uniform_(self.c1_taps.weight, -bound, bound)
            self.c1_bias = nn.Parameter(torch.zeros(filters))
        else:
            self.embed = nn.Embedding(_word_vocab(vocab), embedding)
            self.c1 = nn.Conv1d(embedding, filters, kernel)
        self.c2 = nn.Conv1d(filters, filters, kernel)
        self.dropout = nn.Dropout(dropout)  # present at rate 0 too: one structure for every rate
        self.fc = nn.Linear(filters, num_classes)
        if init == "tf":
            tf_text_cnn(self)

    def first_convolution(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, L) ids -> (B, filters, L - kernel + 1), before the ReLU."""
        if hasattr(self, "c1"):
            return self.c1(self.embed(ids).transpose(1, 2))
        # A one-hot convolution is a sum of lookups: output t, filter f = sum over offsets k of
        # W[byte at t + k, f, k]. Row (byte * kernel + k) of `table` holds W[byte, :, k], so each
        # output position sums one bag of `kernel` rows (see SummedLookups).
        k = self.kernel
        table = self.c1_taps.weight.view(BYTE_VOCAB, self.filters, k).transpose(1, 2).reshape(BYTE_VOCAB * k, self.filters)
        rows = ids.unfold(1, k, 1) * k + torch.arange(k, device=ids.device)  # (B, L - kernel + 1, kernel)
        total = SummedLookups.apply(table, rows)
        return (total + self.c1_bias).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = max_pool_same(F.relu(self.first_convolution(x[:, self.row])), self.pool, self.stride)
        h = self.c2(h).amax(-1)  # C2 has no activation in the source; max over time
        return self.fc(self.dropout(h))


@register_model("text_rnn")
class TextRNN(RNNClassifier):
    """models.rnn's classifier over bytes (one-hot 256) or words (embedding `embedding`)."""

    def __init__(self, input_shape: Sequence[int] = (2, 100), num_classes: int = 15, tokens: str = "char",
                 cell: str = "gru", hidden: int = 20, embedding: int = 20, layers: int = 1, dropout: float = 0.0,
                 init: str = "torch", vocab: int = 0):
        check_name("tokens", tokens, TOKENS)
        check_name("init", init, INITS)
        length = _document_length(input_shape, "text_rnn")
        vocab = BYTE_VOCAB if tokens == "char" else _word_vocab(vocab)
        super().__init__((length,), num_classes, vocab, cell, hidden, 0 if tokens == "char" else embedding, layers, dropout)
        self.row = TOKENS[tokens]
        if init == "tf":
            tf_rnn_classifier(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x[:, self.row])
