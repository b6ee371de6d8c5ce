"""Every sweep module of this package, found by name: for messages that point to other sweeps."""
from __future__ import annotations

import importlib
import pkgutil

import sweeps
from sweeps.spec import Sweep


def all_sweeps() -> dict[str, Sweep]:
    """Module name -> its Sweep declaration, for every `sweeps.NAME` module that declares one."""
    found = {}
    for module in pkgutil.iter_modules(sweeps.__path__):
        declared = getattr(importlib.import_module(f"sweeps.{module.name}"), "SWEEP", None)
        if isinstance(declared, Sweep):
            found[module.name] = declared
    return dict(sorted(found.items()))
