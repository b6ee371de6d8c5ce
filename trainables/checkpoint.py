"""Checkpoints that rebuild themselves: model name and each member's kwargs, data variant,
configs, epoch and step, stacked member states, optimizer and sampler state, RNG state and git
commit, loaded with weights_only=True. A plain trial is a population of one: member 0.

    model = rebuild_model(load_checkpoint("results/mnist_width/trial_x/checkpoint_000004"))
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from models import create_model
from trainables.engines import member_state_dict

CHECKPOINT_FILE = "checkpoint.pt"


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves half a checkpoint."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint file, or the checkpoint.pt inside a checkpoint folder, onto the CPU."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_FILE
    # weights_only: never unpickle code from a results folder.
    return torch.load(path, map_location="cpu", weights_only=True)


def member_count(state: dict[str, Any]) -> int:
    return len(state["configs"])


def rebuild_model(state: dict[str, Any], member: int = 0) -> torch.nn.Module:
    """Member `member`'s trained model as an ordinary nn.Module, in eval mode on the CPU."""
    if not 0 <= member < member_count(state):
        raise ValueError(f"member {member} is not in this checkpoint; allowed: 0..{member_count(state) - 1}")
    model = create_model(state["model"], **state["model_kwargs"][member])
    model.load_state_dict(member_state_dict(state["model_state"], member))
    return model.eval()
