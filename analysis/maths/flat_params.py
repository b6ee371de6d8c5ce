"""Parameters as one flat vector and back. The Hessian operator acts on flat vectors, weight
trajectories are stored flattened, and both need to know which slice belongs to which layer."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import torch
import torch.nn as nn


@dataclass(frozen=True)
class ParamLayout:
    """Names and shapes of parameters in the order they are concatenated (named_parameters order)."""

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, model: nn.Module) -> "ParamLayout":
        """The layout of a model's trainable parameters."""
        named = [(n, tuple(p.shape)) for n, p in model.named_parameters() if p.requires_grad]
        return cls(tuple(n for n, _ in named), tuple(s for _, s in named))

    @property
    def sizes(self) -> list[int]:
        return [math.prod(s) for s in self.shapes]

    @property
    def numel(self) -> int:
        return sum(self.sizes)

    def flatten(self, tensors: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Concatenate the named tensors (a state dict or named_parameters) into one vector."""
        return torch.cat([tensors[name].reshape(-1) for name in self.names])

    def unflatten(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of `flat` shaped as the parameters, by name."""
        parts = torch.split(flat, self.sizes)
        return {name: part.view(shape) for name, part, shape in zip(self.names, parts, self.shapes)}

    def layer_slice(self, layer: str) -> slice:
        """The slice of a flat vector holding `layer`'s parameters: every name equal to `layer`
        or starting with `layer.` (e.g. "net.1" -> net.1.weight and net.1.bias)."""
        hits = [i for i, name in enumerate(self.names) if name == layer or name.startswith(layer + ".")]
        if not hits:
            layers = sorted({name.rsplit(".", 1)[0] for name in self.names})
            raise ValueError(f"no parameters of layer {layer!r}; layers: {', '.join(layers)}")
        if hits != list(range(hits[0], hits[-1] + 1)):
            raise ValueError(f"parameters of layer {layer!r} are not contiguous in the layout")
        offsets = [0, *torch.tensor(self.sizes).cumsum(0).tolist()]
        return slice(offsets[hits[0]], offsets[hits[-1] + 1])
