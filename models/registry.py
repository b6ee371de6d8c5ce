"""Name -> model builder registry (the timm pattern), so sweeps search over names and
analysis rebuilds any checkpoint from its stored name and kwargs."""
from __future__ import annotations

import inspect
from typing import Callable, Iterable

import torch.nn as nn

_MODELS: dict[str, Callable[..., nn.Module]] = {}


class UnknownNameError(ValueError):
    """A name that is not in a registry; the message lists the known ones."""


def check_name(kind: str, name: object, known: Iterable[str]) -> str:
    """Return `name` if it is one of `known`, else raise a one-line error listing them."""
    known = sorted(known)
    if name not in known:
        raise UnknownNameError(f"unknown {kind} {name!r}; allowed: {', '.join(known)}")
    return name  # type: ignore[return-value]


def registrar(table: dict[str, Callable], kind: str) -> Callable[[str], Callable]:
    """`register(name)` decorators that add a builder to `table` under `name`, once."""

    def register(name: str):
        def wrap(builder):
            if name in table:
                raise ValueError(f"{kind} {name!r} registered twice")
            table[name] = builder
            return builder

        return wrap

    return register


register_model = registrar(_MODELS, "model")
"""Decorator: make a builder (class or function) creatable by `create_model(name, ...)`."""


def list_models() -> list[str]:
    return sorted(_MODELS)


def model_arguments(name: str) -> dict[str, inspect.Parameter]:
    """Keyword arguments the builder of `name` accepts (what a sweep config may set)."""
    builder = _MODELS[check_name("model", name, _MODELS)]
    params = inspect.signature(builder).parameters
    return {k: p for k, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def model_builder(name: str) -> Callable[..., nn.Module]:
    return _MODELS[check_name("model", name, _MODELS)]


def create_model(name: str, **kwargs) -> nn.Module:
    builder = _MODELS[check_name("model", name, _MODELS)]
    return builder(**kwargs)


def param_count(model: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
