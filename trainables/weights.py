"""Weight records for trajectory studies: every k epochs, each member's parameters flattened
into one vector, saved as a tensor file in the trial's folder.

    <trial folder>/weights/epoch_0003.pt = {"epoch": 3, "weights": (P, D) float32,
                                            "names": [...], "shapes": [...], "configs": [...]}

Files hold tensors and plain values only, so they load with torch.load(weights_only=True).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch

from data_modules.atomic import write_atomically

WEIGHTS_DIR = "weights"


def record_weights(folder: str | Path, epoch: int, engine, configs: Sequence[dict[str, Any]]) -> Path:
    """Save every member's flattened parameters (model state-dict order, buffers left out)."""
    state = engine.state_dict()
    names = engine.parameter_names()
    flat = torch.cat([state[k].reshape(engine.size, -1) for k in names], dim=1).float().cpu()
    path = Path(folder) / WEIGHTS_DIR / f"epoch_{epoch:04d}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"epoch": epoch, "weights": flat, "names": names, "shapes": [list(state[k].shape[1:]) for k in names],
              "configs": [dict(c) for c in configs]}
    write_atomically(path, lambda out: torch.save(record, out))
    return path


def load_weight_records(folder: str | Path) -> list[dict[str, Any]]:
    """The weight records of a trial folder, by epoch."""
    files = sorted((Path(folder) / WEIGHTS_DIR).glob("epoch_*.pt"))
    return [torch.load(f, map_location="cpu", weights_only=True) for f in files]
