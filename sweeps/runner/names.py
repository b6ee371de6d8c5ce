"""The runnable modules of the sweeps package, found by name without importing them, and the one
line that answers a misspelt name with the nearest ones: for `python -m sweeps NAME` and, through
the finder in sweeps/__init__.py, for `python -m sweeps.NAME`."""
from __future__ import annotations

import difflib
import pkgutil
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # sweeps/: not imported here, its __init__ imports this module


def runnable() -> list[str]:
    """Every `python -m sweeps.NAME`: the package's modules (each sweep, and the curriculum)."""
    return sorted(m.name for m in pkgutil.iter_modules([str(PACKAGE)]) if not m.ispkg and not m.name.startswith("_"))


def unknown_sweep(name: str) -> str:
    """"unknown sweep 'mnist_widht'; did you mean mnist_width? ..." (difflib's nearest names)."""
    near = difflib.get_close_matches(name, runnable(), n=3, cutoff=0.6)
    guess = [f"did you mean {near[0]}?" + (f" (or {', '.join(near[1:])})" if near[1:] else "")] if near else []
    return "; ".join([f"unknown sweep {name!r}", *guess, "allowed: a sweep that `python -m sweeps` lists"])
