"""Checkpoints that rebuild themselves: model name and each member's kwargs, data variant,
configs, epoch and step, stacked member states, optimizer and sampler state, RNG state and git
commit, loaded with weights_only=True. A plain trial is a population of one: member 0.

    model = rebuild_model(load_checkpoint("results/mnist_width/trial_x/checkpoint_000004"))
"""
from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import torch

from data_modules.atomic import write_atomically
from models import create_model, model_arguments
from trainables.engines import member_state_dict

CHECKPOINT_FILE = "checkpoint.pt"
FORMAT = 2  # the layout: stacked member states (1, single-model states, is no longer written or read)


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves half a checkpoint."""
    write_atomically(path, lambda out: torch.save(state, out))
    return Path(path)


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be loaded; the message names the file."""


class UnsafeCheckpoint(CheckpointError):
    """A checkpoint holding more than tensors and plain values: refused, nothing in it is run."""


class CorruptCheckpoint(CheckpointError):
    """A truncated or otherwise unreadable checkpoint file."""


# What torch's weights-only unpickler says of a pickle that would import or call something.
_CODE = re.compile(r"(unsupported GLOBAL \S+|unsupported global: GLOBAL \S+|unsupported operand \S+|unsupported class \S+)",
                   re.IGNORECASE)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint file, or the checkpoint.pt inside a checkpoint folder, onto the CPU;
    UnsafeCheckpoint for a file carrying code (never unpickled), CorruptCheckpoint for a truncated one."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_FILE
    try:  # weights_only: never unpickle code from a results folder
        with warnings.catch_warnings():  # "Detected pickle protocol 4": a foreign file, refused below anyway
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        code = _CODE.search(str(e))
        if code:
            raise UnsafeCheckpoint(f"checkpoint {path} refused: not a weights-only file ({code.group(1)}: it could "
                                   "run code); nothing in it was run") from None
        raise CorruptCheckpoint(f"checkpoint {path} is unreadable: {_first_line(e)}") from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError) as e:  # OSError: torch on a cut zip
        raise CorruptCheckpoint(f"checkpoint {path} is truncated or corrupt: {_first_line(e)}") from None
    layout = state.get("format") if isinstance(state, dict) else None
    if layout != FORMAT:
        raise CorruptCheckpoint(f"checkpoint {path} has layout {layout!r}, not sweeplab's; allowed: {FORMAT}")
    return state


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:160]


def restore_from(candidates: Iterable[tuple[str, Callable[[], dict[str, Any]]]], trial: str,
                 warn: Callable[[str], None]) -> dict[str, Any] | None:
    """The state of the newest loadable checkpoint of `candidates` ((name, load) pairs, newest first),
    or None: start from scratch. A corrupt one is skipped with a warning saying where training
    restarts from; an unsafe one ends the trial (one line naming the file and the trial)."""
    candidates = list(candidates)
    for i, (_name, load) in enumerate(candidates):
        try:
            return load()
        except UnsafeCheckpoint as e:
            raise UnsafeCheckpoint(f"trial {trial}: {e}") from None
        except CorruptCheckpoint as e:
            after = f"the previous checkpoint, {candidates[i + 1][0]}" if i + 1 < len(candidates) else "scratch (epoch 0)"
            warn(f"sweeplab: warning: trial {trial}: {e}; restarting from {after}")
    return None


def member_count(state: dict[str, Any]) -> int:
    return len(state["configs"])


def rebuild_model(state: dict[str, Any], member: int = 0) -> torch.nn.Module:
    """Member `member`'s trained model as an ordinary nn.Module, in eval mode on the CPU."""
    if not 0 <= member < member_count(state):
        raise ValueError(f"member {member} is not in this checkpoint; allowed: 0..{member_count(state) - 1}")
    weights = member_state_dict(state["model_state"], member)
    model = create_model(state["model"], **_with_vocab(state["model"], state["model_kwargs"][member], weights))
    model.load_state_dict(weights)
    return model.eval()


def _with_vocab(model: str, kwargs: dict[str, Any], weights: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """A checkpoint written before the data passed its vocabulary size (DataMeta.vocab) to the
    model lacks `vocab`: it is the rows of the model's word embedding."""
    if "vocab" in kwargs or "vocab" not in model_arguments(model):
        return kwargs
    rows = [w.shape[0] for k, w in weights.items() if k.endswith(("embed.weight", "embed.0.weight"))]
    return {**kwargs, "vocab": rows[0]} if rows else kwargs
