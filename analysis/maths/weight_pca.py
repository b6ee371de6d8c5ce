"""Weight trajectories in 2-D: PCA jointly over the flattened weights of all runs and epochs, so
every run is drawn in the same plane (the course study's "optimisation visualisation"). For one
layer, slice the vectors first with `ParamLayout.layer_slice`.

    pca = trajectory_pca([run1_vectors, run2_vectors])   # each (epochs, D) or a list of (D,)
    pca.coordinates[0]                                    # (epochs, 2) for run 1
    layer = ParamLayout(names, shapes).layer_slice("net.1"); trajectory_pca([r[:, layer] for r in runs])
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch


@dataclass(frozen=True)
class TrajectoryPCA:
    coordinates: list[torch.Tensor]  # per run, (steps, dims)
    explained_variance_ratio: torch.Tensor  # (dims,) share of the total variance per component
    components: torch.Tensor  # (dims, D) unit principal directions
    mean: torch.Tensor  # (D,) the centre of all weight vectors


def trajectory_pca(runs: Sequence[torch.Tensor | Sequence[torch.Tensor]], dims: int = 2) -> TrajectoryPCA:
    """Exact PCA by the SVD of the centred (total steps, D) matrix: few rows, so cheap even for
    D in the millions."""
    matrices = [torch.stack(list(r)) if not isinstance(r, torch.Tensor) else r for r in runs]
    weights = torch.cat([m.reshape(len(m), -1) for m in matrices]).double()
    mean = weights.mean(0)
    _, singular, directions = torch.linalg.svd(weights - mean, full_matrices=False)
    components = directions[:dims]
    variance = singular**2
    projected = (weights - mean) @ components.T
    coordinates = list(torch.split(projected, [len(m) for m in matrices]))
    return TrajectoryPCA(coordinates, variance[:dims] / variance.sum(), components, mean)
