"""Every sweep module of this package, found by name: for the catalogue (`python -m sweeps`, with
an estimate per sweep from sweeps.runner.estimate), messages that point to other sweeps, tests,
and the README's table of sweeps."""
from __future__ import annotations

import importlib
import pkgutil

import sweeps
from sweeps.runner.spec import Sweep


def all_sweeps() -> dict[str, Sweep]:
    """Module name -> its Sweep declaration, for every `sweeps.NAME` module that declares one."""
    found = {}
    for module in pkgutil.iter_modules(sweeps.__path__):
        declared = getattr(importlib.import_module(f"sweeps.{module.name}"), "SWEEP", None)
        if isinstance(declared, Sweep):
            found[module.name] = declared
    return dict(sorted(found.items()))


def readme_table() -> str:
    """The README's table of sweeps, generated from the declarations (a test keeps them equal)."""
    lines = ["| command | what it reproduces |", "|---|---|"]
    lines += [f"| `python -m sweeps.{name}` | {sweep.title} |" for name, sweep in all_sweeps().items()]
    return "\n".join(lines)
