"""Checkpoints that rebuild themselves: model name + kwargs, data variant, config, epoch,
model and optimizer state, RNG state and git commit, loaded with weights_only=True."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from models import create_model

CHECKPOINT_FILE = "checkpoint.pt"
FORMAT = 1


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves half a checkpoint."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({"format": FORMAT, **state}, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint file, or the checkpoint.pt inside a checkpoint folder, onto the CPU."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_FILE
    # weights_only: never unpickle code from a results folder.
    return torch.load(path, map_location="cpu", weights_only=True)


def rebuild_model(state: dict[str, Any]) -> torch.nn.Module:
    """The trained model of a checkpoint, in eval mode on the CPU."""
    model = create_model(state["model"], **state["model_kwargs"])
    model.load_state_dict(state["model_state"])
    return model.eval()
