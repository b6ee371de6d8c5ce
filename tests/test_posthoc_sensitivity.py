"""Input sensitivity against the closed-form Jacobian of softmax regression and per-image jacrev."""
import torch
from torch.func import jacrev

from analysis.maths.input_sensitivity import input_sensitivity, softmax_jacobian_norms
from tests.posthoc_fixtures import linear_softmax, trained_batchnorm_net


def test_softmax_regression_sensitivity_equals_its_closed_form():
    model = linear_softmax(features=12, classes=5, seed=2)
    x = torch.randn(33, 1, 3, 4, dtype=torch.float64)
    w, b = model[1].weight, model[1].bias
    p = torch.softmax(x.flatten(1) @ w.T + b, dim=1)
    # d softmax(Wx + b) / dx = (diag(p) - p p^T) W
    jacobians = (torch.diag_embed(p) - p[:, :, None] * p[:, None, :]) @ w
    expected = jacobians.flatten(1).norm(dim=1)
    torch.testing.assert_close(softmax_jacobian_norms(model, x, batch_size=8), expected.detach())
    torch.testing.assert_close(torch.tensor(input_sensitivity(model, x), dtype=torch.float64), expected.mean().detach())


def test_a_convolutional_batchnorm_model_matches_per_image_jacrev():
    model = trained_batchnorm_net(seed=0)
    x = torch.rand(6, 1, 8, 8)
    reference = torch.stack([
        jacrev(lambda image: torch.softmax(model(image[None]), dim=1)[0])(image).flatten().norm() for image in x
    ])
    torch.testing.assert_close(softmax_jacobian_norms(model.train(), x, batch_size=4), reference.detach())
    assert model.training  # the caller's mode is kept
