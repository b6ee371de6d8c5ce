"""How the P same-shape models of a population run: one forward pass for all of them.

An engine holds the members' parameters and buffers and maps inputs to outputs with a leading
member dimension: per-member batches (P, B, ...) in training, or one shared batch (N, ...) in
evaluation, give (P, B or N, ...). Three kinds, chosen by `make_engine`:

- `Single`: one ordinary nn.Module (P = 1), exactly what a plain PyTorch loop runs.
- `Functional`: any model, through torch.func (stack_module_state + functional_call under
  vmap, randomness "different" so every member draws its own dropout masks); BatchNorm running
  statistics are per member. Each Dropout module reads every member's own rate for it.
- `StackedMLP`: the MLP as batched matmuls, kept because it beats vmap for MLPs on the CPU
  (benchmarks/fused_population.py --engine).

`state_dict()` is the members' state dicts stacked (keys as the model's), which is what a
checkpoint stores and what `member_state_dict` slices one ordinary model's state from.
"""
from __future__ import annotations

import copy
from typing import Callable, Sequence

import torch
import torch.nn as nn

from models.mlp import ACTIVATIONS, MLP
from models.registry import Registry


class Engine:
    """A population's models; subclasses define forward, parameters, buffers and state."""

    stacked = True  # parameters carry a leading member dimension (False: Single's plain tensors)

    def __init__(self, size: int):
        self.size = size

    def parameters(self) -> list[torch.Tensor]:
        raise NotImplementedError

    def buffers(self) -> list[torch.Tensor]:
        return []

    def forward(self, x: torch.Tensor, train: bool, shared: bool = False) -> torch.Tensor:
        """x (P, B, ...) per member, or (N, ...) shared by all when `shared` -> (P, B or N, ...)."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Every member's state dict, stacked (detached, on the engine's device)."""
        raise NotImplementedError

    def parameter_names(self) -> list[str]:
        """State-dict keys of the trained parameters (not buffers such as BatchNorm statistics)."""
        return list(self.state_dict())

    @torch.no_grad()
    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        mine = self.state_dict_views()
        for key, value in state.items():
            mine[key].copy_(value)

    def state_dict_views(self) -> dict[str, torch.Tensor]:
        """Tensors that alias the engine's own storage, by state-dict key (for load_state_dict)."""
        raise NotImplementedError


def set_mode(model: nn.Module, train: bool) -> None:
    """model.train(train) only when the mode changes: it walks every submodule, which was a third of
    the Python work of a small model's step."""
    if model.training != train:
        model.train(train)


class Single(Engine):
    """One ordinary model: the plain loop's path, with no member dimension inside."""

    stacked = False

    def __init__(self, model: nn.Module):
        super().__init__(1)
        self.model = model

    def parameters(self):
        return [p for p in self.model.parameters() if p.requires_grad]

    def buffers(self):
        return list(self.model.buffers())

    def forward(self, x, train, shared=False):
        set_mode(self.model, train)
        return self.model(x if shared else x[0]).unsqueeze(0)

    def state_dict(self):
        return {k: v.detach().unsqueeze(0) for k, v in self.model.state_dict().items()}

    def parameter_names(self):
        return [k for k, p in self.model.named_parameters() if p.requires_grad]

    def state_dict_views(self):
        return {k: v.unsqueeze(0) for k, v in self.model.state_dict(keep_vars=False).items()}


class MemberDropout(nn.Module):
    """nn.Dropout whose rate is a buffer, so under vmap each member applies its own rate."""

    def __init__(self):
        super().__init__()
        self.register_buffer("rate", torch.zeros(()), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        keep = 1 - self.rate
        return x * (torch.rand_like(x) < keep) / keep


class Functional(Engine):
    """Any model, stacked with torch.func: the members' parameters and buffers are (P, ...)
    tensors fed to one template module by functional_call under vmap."""

    def __init__(self, models: Sequence[nn.Module]):
        from torch.func import functional_call, stack_module_state, vmap

        super().__init__(len(models))
        self.params, self.buffer_map = stack_module_state(list(models))
        self.template = copy.deepcopy(models[0]).to("meta")
        device = next(iter(self.params.values())).device
        self.rates = {}
        for name, module in list(self.template.named_modules()):
            if isinstance(module, nn.Dropout):  # each member's own rate for this module
                rates = [float(m.get_submodule(name).p) for m in models]
                parent, _, attr = name.rpartition(".")
                setattr(self.template.get_submodule(parent) if parent else self.template, attr,
                        MemberDropout() if any(rates) else nn.Identity())
                if any(rates):
                    self.rates[f"{name}.rate"] = torch.tensor(rates, device=device)
        tensors = {**self.buffer_map, **self.rates}

        def call(params, buffers, x):
            return functional_call(self.template, (params, buffers), (x,))

        self._per_member = vmap(call, in_dims=(0, 0, 0), randomness="different")
        self._shared = vmap(call, in_dims=(0, 0, None), randomness="different")
        self._tensors = tensors

    def parameters(self):
        return list(self.params.values())

    def buffers(self):
        return list(self.buffer_map.values())

    def forward(self, x, train, shared=False):
        set_mode(self.template, train)
        return (self._shared if shared else self._per_member)(self.params, self._tensors, x)

    def state_dict(self):
        return {k: v.detach() for k, v in {**self.params, **self.buffer_map}.items()}

    def parameter_names(self):
        return list(self.params)

    def state_dict_views(self):
        return self.state_dict()


class StackedMLP(Engine):
    """P MLPs as batched matmuls: layer l holds W (P, in, out) (the layout bmm reads without a
    copy) and b (P, out). Dropout has one rate per member."""

    def __init__(self, models: Sequence[MLP], activation: str):
        super().__init__(len(models))
        linears = [[m for m in model.net if isinstance(m, nn.Linear)] for model in models]
        self.keys = [name for name, m in models[0].net.named_children() if isinstance(m, nn.Linear)]
        layers = range(len(linears[0]))
        self.weights = [torch.stack([ls[i].weight.detach().t() for ls in linears]).contiguous().requires_grad_() for i in layers]
        self.biases = [torch.stack([ls[i].bias.detach() for ls in linears]).requires_grad_() for i in layers]
        self.act = ACTIVATIONS[activation]()
        rates = [next((float(m.p) for m in model.modules() if isinstance(m, nn.Dropout)), 0.0) for model in models]
        self.dropout = torch.tensor(rates, device=self.weights[0].device)  # (P,) rates
        self.has_dropout = any(rates)  # decided once: no host sync inside a CUDA graph

    def parameters(self):
        return [t for pair in zip(self.weights, self.biases) for t in pair]

    def forward(self, x, train, shared=False):
        h = x.flatten(1) if shared else x.flatten(2)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b.unsqueeze(1), h, w) if h.dim() == 3 else torch.matmul(h, w) + b.unsqueeze(1)
            if i < last:
                h = self.act(h)
                if train and self.has_dropout:
                    keep = 1 - self.dropout.view(-1, 1, 1)
                    h = h * (torch.rand_like(h) < keep) / keep
        return h

    def state_dict(self):
        out = {}
        for key, w, b in zip(self.keys, self.weights, self.biases):
            out[f"net.{key}.weight"] = w.detach().transpose(1, 2)
            out[f"net.{key}.bias"] = b.detach()
        return out

    def state_dict_views(self):
        return self.state_dict()


def make_engine(models: Sequence[nn.Module], model_name: str, model_kwargs: dict) -> Engine:
    """Single for one model, the MLP fast path for MLPs, torch.func for everything else."""
    if len(models) == 1:
        return Single(models[0])
    if model_name in FAST_PATHS:
        return FAST_PATHS[model_name](models, model_kwargs)
    return Functional(models)


# Hand-written population forwards that beat vmap (benchmarks/fused_population.py --engine).
FAST_PATHS: Registry[Callable[..., Engine]] = Registry("fast path", {
    "mlp": lambda models, kwargs: StackedMLP(models, kwargs.get("activation", "relu")),
})


def member_state_dict(stacked: dict[str, torch.Tensor], member: int) -> dict[str, torch.Tensor]:
    """One member's ordinary state dict out of a stacked one."""
    return {k: v[member].clone() for k, v in stacked.items()}


def member_norms(grads: list[torch.Tensor], stacked: bool) -> torch.Tensor:
    """L2 norm of each member's whole gradient, (P,): over every parameter tensor at once."""
    if not stacked:
        return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))).view(1)
    squares = torch.stack([g.pow(2).flatten(1).sum(1) for g in grads])  # (tensors, P)
    return squares.sum(0).sqrt()


def scale_grads(grads: list[torch.Tensor], scale: torch.Tensor, stacked: bool) -> None:
    """Multiply each member's gradients by its scale (P,) in place."""
    if not stacked:
        torch._foreach_mul_(grads, scale[0])
        return
    for g in grads:
        g.mul_(scale.view(-1, *([1] * (g.dim() - 1))))
