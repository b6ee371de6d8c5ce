"""Sample predictions of a trained checkpoint, stored as Parquet so the report's prediction
grid can be redrawn without the model or the data."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import torch

from data_modules import DataBundle
from trainables.checkpoint import CheckpointError, load_checkpoint, rebuild_model
from trainables.objectives import to_device


def latest_checkpoint(trial_folder: Path) -> Path | None:
    found = sorted(Path(trial_folder).glob("checkpoint_*/checkpoint.pt"))
    return found[-1] if found else None


def checkpoint_of_trial(exp_dir: Path, trial_id: str) -> tuple[dict, torch.nn.Module] | None:
    """(checkpoint state, trained model) of a trial (or of member `_mNN` of a fused population),
    from its latest checkpoint; None when it has none."""
    tune_id, fused, member = trial_id.partition("_m")
    checkpoint = latest_checkpoint(Path(exp_dir) / f"trial_{tune_id}")
    if checkpoint is None:
        return None
    try:
        state = load_checkpoint(checkpoint)
    except CheckpointError as e:  # refused or cut short: the trial's model is left out, the rest goes on
        print(f"sweeplab: warning: trial {trial_id}: {e}; its model is left out of the plots", file=sys.stderr)
        return None
    return state, rebuild_model(state, int(member) if fused else 0)


def model_of_trial(exp_dir: Path, trial_id: str) -> torch.nn.Module | None:
    """The trained model of a trial (see checkpoint_of_trial); None when it has no checkpoint."""
    found = checkpoint_of_trial(exp_dir, trial_id)
    return found[1] if found else None


@torch.no_grad()
def one_per_class(model: torch.nn.Module, data: DataBundle, trial_id: str = "") -> pd.DataFrame:
    """The first test example of every class with the model's prediction and confidence."""
    y = data.test.y
    picks = [int(torch.nonzero(y == c)[0]) for c in range(data.meta.num_classes) if bool((y == c).any())]
    sample = data.test.take(torch.tensor(picks))
    x, _ = to_device(sample, data, torch.device("cpu"))
    probs = torch.softmax(model(x), dim=1)
    conf, pred = probs.max(dim=1)
    c, h, w = sample.x.shape[1:] if sample.x.dim() == 4 else (1, 1, sample.x.shape[-1])
    return pd.DataFrame({
        "label": sample.y.tolist(),
        "pred": pred.tolist(),
        "prob": conf.tolist(),
        "image": [img.flatten().tolist() for img in sample.x],
        "channels": c, "height": h, "width": w,
        "trial_id": trial_id,
        "class_name": [data.meta.classes[i] for i in sample.y.tolist()],
    })
