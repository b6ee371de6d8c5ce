"""Decision boundaries of models on 2-D inputs (the toy sets): the class-1 probability over a
grid around the data plus the test points, stored as Parquet at the end of a sweep so the
report can draw them again from its files alone."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from analysis.results.sweep_meta import SweepMeta
from analysis.results.tables import read_parquet

BOUNDARIES_FILE = "boundaries.parquet"
GRID = 80  # points per side: smooth enough at the size the plots are drawn


@torch.no_grad()
def boundary_rows(model: torch.nn.Module, test_x: torch.Tensor, test_y: torch.Tensor, label: str) -> pd.DataFrame:
    """Grid rows (kind "grid", p1 = P(class 1)) and test-point rows (kind "point", y = label)."""
    x = test_x.float()
    lo, hi = x.min(0).values - 0.5, x.max(0).values + 0.5
    g0, g1 = torch.meshgrid(torch.linspace(lo[0], hi[0], GRID), torch.linspace(lo[1], hi[1], GRID), indexing="xy")
    grid = torch.stack([g0.flatten(), g1.flatten()], 1)
    p1 = torch.softmax(model.eval()(grid), 1)[:, 1]
    rows = pd.DataFrame({"kind": "grid", "x0": grid[:, 0].numpy(), "x1": grid[:, 1].numpy(), "p1": p1.numpy(), "y": -1})
    points = pd.DataFrame({"kind": "point", "x0": x[:, 0].numpy(), "x1": x[:, 1].numpy(), "p1": np.nan, "y": test_y.numpy()})
    both = pd.concat([rows, points], ignore_index=True)
    both["panel"] = label
    return both


def plot_boundaries(results_dir: Path, meta: SweepMeta, out_dir: Path) -> list[Path]:
    """One panel per trial stored in boundaries.parquet; nothing when there is none."""
    path = Path(results_dir) / BOUNDARIES_FILE
    if not path.exists():
        return []
    import matplotlib.pyplot as plt

    from analysis.results.figures import finish_figure

    df, _ = read_parquet(path)
    panels = list(dict.fromkeys(df["panel"]))
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.3 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        part = df[df["panel"] == panel]
        grid, points = part[part["kind"] == "grid"], part[part["kind"] == "point"]
        side = int(round(len(grid) ** 0.5))
        ax.contourf(grid["x0"].to_numpy().reshape(side, side), grid["x1"].to_numpy().reshape(side, side),
                    grid["p1"].to_numpy().reshape(side, side), levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.7)
        ax.scatter(points["x0"], points["x1"], c=points["y"], cmap="RdBu_r", edgecolors="k", s=12, linewidths=0.4)
        ax.set_title(panel, fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    return [finish_figure(fig, meta, "decision boundaries: P(class 1) from blue (0) to red (1), test points on top",
                          out_dir / "decision_boundaries.png")]
