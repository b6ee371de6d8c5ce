"""Feature maps of a trained CNN: for the first test images, the image and the maps after C1,
S1, C2 and S2 as PNG grids (one tile per channel).

    python -m analysis.feature_maps results/cifar_channels     # the best trial of a finished sweep
    python -m analysis.feature_maps CHECKPOINT [--data-dir DIR] [--out DIR] [--images 2]

The argument is a sweep's results folder (its best trial by the sweep's own metric, latest
checkpoint, or --trials), a trial folder (its latest checkpoint), a Ray checkpoint folder or a
checkpoint.pt, of the "cnn" model. The test images come from the dataset the checkpoint names, read
from the data folder the sweep recorded in its results (else the default one), unless --data-dir is
given. The maps are stored in posthoc/feature_maps.parquet and drawn into posthoc/feature_maps/
(or --out), and the report shows them.
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from analysis.results.arguments import checked, positive_int
from analysis.results.sections import Study, StudyInputError, register
from analysis.results.study_command import study_main
from trainables import metrics as M
from trainables.objectives import to_device

INPUT = "input"  # the stage name of the test image itself


def _grid(maps: torch.Tensor, title: str, path: Path) -> Path:
    """One tile per channel of `maps` (C, H, W), in a near-square grid."""
    channels = maps.shape[0]
    cols = math.ceil(math.sqrt(channels))
    rows = math.ceil(channels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.1 * cols, 1.1 * rows + 0.4), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < channels:
            ax.imshow(maps[i].numpy(), cmap="viridis")
    fig.suptitle(title, fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _image(x: torch.Tensor, title: str, path: Path) -> Path:
    """The raw uint8 image (C, H, W)."""
    fig, ax = plt.subplots(figsize=(2.2, 2.4))
    img = x.permute(1, 2, 0).numpy()
    ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray" if img.shape[-1] == 1 else None)
    ax.set_title(title, fontsize="small")
    ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def run(selection, images: int = 2) -> dict[str, pd.DataFrame]:
    """One row per (trial, test image, stage): the image itself (stage "input", raw uint8) and the
    maps after each stage of the CNN, flattened, with their shape."""
    rows = []
    for ref in selection.trials:
        trial = selection.load(ref)
        if not hasattr(trial.model, "feature_maps"):
            raise StudyInputError(f"model {trial.model_name!r} has no feature maps; allowed: a checkpoint of the 'cnn' model")
        sample = trial.data.test.take(torch.arange(min(images, len(trial.data.test))))
        x, _ = to_device(sample, trial.bundle, torch.device("cpu"))
        with torch.no_grad():
            stages = {INPUT: sample.x, **trial.model.feature_maps(x)}
        for i in range(len(sample)):
            for stage, maps in stages.items():
                c, h, w = maps.shape[1:]
                rows.append({**ref.columns, "image": i, "class_name": trial.meta.classes[int(sample.y[i])],
                             "stage": stage, "channels": c, "height": h, "width": w,
                             "values": maps[i].float().flatten().tolist()})
    return {"feature_maps": pd.DataFrame(rows)}


def figures(frames, meta, out_dir):
    """image{i}.png and image{i}_{stage}.png (prefixed with the trial id when several trials ran)."""
    df = frames["feature_maps"]
    several = df[M.TRIAL_ID].nunique() > 1
    written = []
    for row in df.itertuples(index=False):
        maps = torch.tensor(np.asarray(row.values, dtype=np.float32)).reshape(row.channels, row.height, row.width)
        prefix = f"{row.trial_id}_" if several else ""
        if row.stage == INPUT:
            path = out_dir / f"{prefix}image{row.image}.png"
            written.append(_image(maps.to(torch.uint8), f"test image {row.image}: {row.class_name}", path))
        else:
            path = out_dir / f"{prefix}image{row.image}_{row.stage}.png"
            written.append(_grid(maps, f"test image {row.image} ({row.class_name}): {row.stage}, {row.channels} maps "
                                       f"of {row.height}x{row.width}", path))
    return written


def tables(frames, meta):
    df = frames["feature_maps"]
    stages = df[df["stage"] != INPUT].drop_duplicates("stage")
    shapes = ", ".join(f"{r.stage} {r.channels}x{r.height}x{r.width}" for r in stages.itertuples())
    return [f"Trials: {', '.join(df['label'].unique())}; {df['image'].nunique()} test image(s); maps: {shapes}."]


STUDY = register(Study(
    "feature_maps", "Feature maps",
    "The first test images and the CNN's activations after each convolution (C) and pooling (S) stage, "
    "one tile per channel.",
    run, figures, tables, default_trials="best", figures_folder="feature_maps",
))


def add_options(parser):
    parser.add_argument("--images", type=checked(positive_int), default=2,
                        help="how many test images, from the first (default: 2)")


main = study_main("feature_maps", __doc__, add_options)

if __name__ == "__main__":
    raise SystemExit(main())
