"""Feature maps of a trained CNN: for the first test images, the image and the maps after C1,
S1, C2 and S2 as PNG grids (one tile per channel).

    python -m analysis.feature_maps results/cifar_channels     # the best trial of a finished sweep
    python -m analysis.feature_maps CHECKPOINT [--data-dir DIR] [--out DIR] [--images 2]

The argument is a sweep's results folder (its best trial by the sweep's own metric, latest
checkpoint), a trial folder (its latest checkpoint), a Ray checkpoint folder or a checkpoint.pt,
of the "cnn" model. The test images come from the dataset the checkpoint names, read from the
data folder the sweep recorded in its results (else the default one), unless --data-dir is given.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from analysis.results.arguments import OneLineParser, checked, positive_int  # noqa: E402
from analysis.results.trial_models import TrialSelectionError, select  # noqa: E402
from models.errors import UserError  # noqa: E402
from trainables.objectives import to_device  # noqa: E402


class FeatureMapError(TrialSelectionError):
    """A checkpoint of a model without feature maps."""


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
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def save_feature_maps(checkpoint: str | Path, out_dir: str | Path, data_dir=None, images: int = 2) -> list[Path]:
    found = select(checkpoint, "best", data_dir)
    trial = found.load(found.trials[0])
    if not hasattr(trial.model, "feature_maps"):
        raise FeatureMapError(f"model {trial.model_name!r} has no feature maps; allowed: a checkpoint of the 'cnn' model")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sample = trial.data.test.take(torch.arange(min(images, len(trial.data.test))))
    x, _ = to_device(sample, trial.bundle, torch.device("cpu"))
    with torch.no_grad():
        stages = trial.model.feature_maps(x)
    written = []
    for i in range(len(sample)):
        label = trial.meta.classes[int(sample.y[i])]
        written.append(_image(sample.x[i], f"test image {i}: {label}", out / f"image{i}.png"))
        for stage, maps in stages.items():
            written.append(_grid(maps[i], f"test image {i} ({label}): {stage}, {maps.shape[1]} maps of {maps.shape[2]}x{maps.shape[3]}",
                                 out / f"image{i}_{stage}.png"))
    return written


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog="python -m analysis.feature_maps", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", metavar="PATH",
                   help="a sweep's results folder (its best trial), a trial folder, a checkpoint folder or checkpoint.pt")
    p.add_argument("--data-dir", help="dataset folder (default: the one the sweep recorded, else "
                                      "$SWEEPLAB_DATA_DIR or ~/.cache/sweeplab/data)")
    p.add_argument("--out", help="output folder (default: feature_maps/ in PATH if a folder, else beside it)")
    p.add_argument("--images", type=checked(positive_int), default=2, help="how many test images, from the first (default: 2)")
    try:
        args = p.parse_args(argv)
        ckpt = Path(args.checkpoint)
        out = args.out or (ckpt if ckpt.is_dir() else ckpt.parent) / "feature_maps"
        paths = save_feature_maps(ckpt, out, args.data_dir, args.images)
    except UserError as e:
        print(f"python -m analysis.feature_maps: error: {e}", file=sys.stderr)
        return 2
    print(f"{len(paths)} PNGs in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
