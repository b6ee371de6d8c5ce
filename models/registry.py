"""Name -> model builder registry (the timm pattern), so sweeps search over names and
analysis rebuilds any checkpoint from its stored name and kwargs; and the Registry every other
registry of the project is made of, with the plugins that let a lab's own modules register too."""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Generic, Iterable, Iterator, Mapping, Sequence, TypeVar

import torch.nn as nn

from models.errors import UserError

T = TypeVar("T")


class UnknownNameError(UserError):
    """A name that is not in a registry; the message lists the known ones."""


def check_name(kind: str, name: object, known: Iterable[str]) -> str:
    """Return `name` if it is one of `known`, else raise a one-line error listing them."""
    known = sorted(known)
    if name not in known:
        raise UnknownNameError(f"unknown {kind} {name!r}; allowed: {', '.join(known)}")
    return name  # type: ignore[return-value]


class Registry(Generic[T]):
    """Name -> item (a model builder, a dataset loader, an objective, a study, ...), the one way
    every registry of the project is kept: `register` adds an item once (as a decorator, or
    with the item), a lookup of an unknown name is a one-line error listing the known ones.

        MODELS = Registry("model")
        @MODELS.register("mlp")
        class MLP(nn.Module): ...
    """

    def __init__(self, kind: str, items: Mapping[str, T] | None = None):
        self.kind = kind
        self._items: dict[str, T] = {}
        for name, item in (items or {}).items():
            self.register(name, item)

    def register(self, name: str, item: T | None = None):
        """Add `item` under `name` (or, without an item, a decorator that adds what it wraps)."""
        if item is None:
            return lambda wrapped: self.register(name, wrapped)
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} registered twice")
        self._items[name] = item
        return item

    def __getitem__(self, name: str) -> T:
        return self._items[check_name(self.kind, name, self._items)]

    def get(self, name: str, default: T | None = None) -> T | None:
        return self._items.get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self):
        return self._items.items()

    def plugins(self, names: Iterable[str]) -> list[Plugin]:
        """The modules outside this project that registered `names` (a lab's own files): what
        another process imports before it looks these names up (load_plugins)."""
        return sorted({p for p in (plugin_of(self._items[n]) for n in names if n in self._items) if p})


@dataclass(frozen=True, order=True)
class Plugin:
    """A user's module that registers things: its import name and its file."""

    module: str
    file: str


PROJECT_PACKAGES = ("models", "data_modules", "trainables", "analysis", "sweeps", "benchmarks", "tests")


def plugin_of(item: object) -> Plugin | None:
    """Where `item` was defined, when that is outside this project's packages."""
    module = getattr(item, "__module__", None) or ""
    if module.split(".")[0] in PROJECT_PACKAGES:
        return None
    file = getattr(sys.modules.get(module), "__file__", None)
    return Plugin(module, str(Path(file).resolve())) if file else None


def load_plugins(plugins: Iterable[Plugin | Sequence[str]]) -> None:
    """Import each plugin module not loaded yet (by name where it is importable, else from its
    file), so that what it registers exists in this process too: a trial's worker, a post-hoc
    command. A script run as __main__ is loaded under its file's stem."""
    loaded = {str(Path(f).resolve()) for m in list(sys.modules.values()) if (f := getattr(m, "__file__", None))}
    for plugin in plugins:
        module, file = (plugin.module, plugin.file) if isinstance(plugin, Plugin) else plugin
        if file in loaded:
            continue
        name = Path(file).stem if module == "__main__" else module
        try:
            importlib.import_module(name)
            continue
        except ImportError:
            pass
        spec = importlib.util.spec_from_file_location(name, file)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {module} from {file}")
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])


MODELS: Registry[Callable[..., nn.Module]] = Registry("model")
register_model = MODELS.register
"""Decorator: make a builder (class or function) creatable by `create_model(name, ...)`."""


def list_models() -> list[str]:
    return MODELS.names()


def model_arguments(name: str) -> dict[str, inspect.Parameter]:
    """Keyword arguments the builder of `name` accepts (what a sweep config may set)."""
    params = inspect.signature(MODELS[name]).parameters
    return {k: p for k, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def model_builder(name: str) -> Callable[..., nn.Module]:
    return MODELS[name]


def create_model(name: str, **kwargs) -> nn.Module:
    return MODELS[name](**kwargs)


def param_count(model: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def import_submodules(package: str, path: Iterable[str]) -> None:
    """Import every module of a package, so that each registers what it defines: a new model or
    dataset inside the package is one new file, with no list of imports to extend."""
    for info in pkgutil.iter_modules(path):
        importlib.import_module(f"{package}.{info.name}")
