"""Sample predictions of a trained checkpoint, stored as Parquet so the report's prediction
grid can be redrawn without the model or the data."""
from __future__ import annotations

import pandas as pd
import torch

from data_modules import DataBundle
from trainables.objectives import to_device


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
