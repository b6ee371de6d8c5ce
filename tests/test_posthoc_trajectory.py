"""Joint PCA of weight trajectories on a known plane; one layer's slice of a flat vector."""
import pytest
import torch

from analysis.maths.flat_params import ParamLayout
from analysis.maths.weight_pca import trajectory_pca
from models import create_model


def test_runs_on_a_plane_are_recovered_with_all_the_variance():
    generator = torch.Generator().manual_seed(0)
    dim = 50
    plane, _ = torch.linalg.qr(torch.randn(dim, 2, generator=generator, dtype=torch.float64))
    centre = torch.randn(dim, generator=generator, dtype=torch.float64)
    runs = []
    for steps in (5, 8, 3):  # runs of different lengths, one given as a list of vectors
        path = torch.randn(steps, 2, generator=generator, dtype=torch.float64).cumsum(0)
        runs.append(centre + path @ plane.T)
    runs[2] = list(runs[2])
    pca = trajectory_pca(runs)
    assert float(pca.explained_variance_ratio.sum()) == pytest.approx(1.0, abs=1e-10)
    assert pca.explained_variance_ratio[0] >= pca.explained_variance_ratio[1]
    # The components span the plane, and coordinates reconstruct every weight vector.
    torch.testing.assert_close(pca.components @ plane @ plane.T, pca.components)
    assert [len(c) for c in pca.coordinates] == [5, 8, 3]
    for run, coordinates in zip(runs, pca.coordinates):
        torch.testing.assert_close(pca.mean + coordinates @ pca.components, torch.stack(list(run)))


def test_noise_off_the_plane_lowers_the_explained_variance():
    generator = torch.Generator().manual_seed(1)
    weights = torch.randn(20, 30, generator=generator)
    assert float(trajectory_pca([weights[:10], weights[10:]]).explained_variance_ratio.sum()) < 0.5


def test_layer_slice_selects_one_layers_weight_and_bias():
    model = create_model("mlp", input_shape=(5,), num_classes=3, depth=2, width=4)
    layout = ParamLayout.of(model)
    flat = layout.flatten(dict(model.named_parameters()))
    assert len(flat) == layout.numel == sum(p.numel() for p in model.parameters())
    first, second, last = [name for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    hidden = model.get_submodule(second)
    layer = layout.layer_slice(second)
    torch.testing.assert_close(flat[layer], torch.cat([hidden.weight.flatten(), hidden.bias]))
    assert ParamLayout(layout.names, layout.shapes).layer_slice(f"{second}.bias") == slice(layer.stop - 4, layer.stop)
    torch.testing.assert_close(layout.unflatten(flat)[f"{first}.weight"], model.get_submodule(first).weight)
    with pytest.raises(ValueError, match=f"layers: {first}, {second}, {last}"):
        layout.layer_slice("net.0")
