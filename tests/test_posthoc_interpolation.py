"""Interpolation between two BatchNorm models: exact endpoints, buffers included."""
import pytest
import torch

from analysis.maths.batching import loss_and_accuracy
from analysis.maths.weight_interpolation import (
    DEFAULT_ALPHAS,
    interpolate_states,
    interpolation_curve,
)
from tests.posthoc_fixtures import TinyBatchNormNet, trained_batchnorm_net


@pytest.fixture(scope="module")
def endpoints():
    a, b = trained_batchnorm_net(seed=0, batches=2), trained_batchnorm_net(seed=3, batches=5)
    data = {"train": (torch.rand(40, 1, 8, 8), torch.randint(0, 3, (40,))),
            "test": (torch.rand(30, 1, 8, 8), torch.randint(0, 3, (30,)))}
    return a, b, data


def test_default_alphas_run_from_minus_one_to_two_through_exact_endpoints():
    assert len(DEFAULT_ALPHAS) == 61 and DEFAULT_ALPHAS[0] == -1.0 and DEFAULT_ALPHAS[-1] == 2.0
    assert 0.0 in DEFAULT_ALPHAS and 1.0 in DEFAULT_ALPHAS and 0.5 in DEFAULT_ALPHAS


def test_alpha_zero_and_one_reproduce_the_endpoint_models_exactly(endpoints):
    a, b, data = endpoints
    architecture = TinyBatchNormNet()
    rows = interpolation_curve(architecture, a.state_dict(), b.state_dict(), data, alphas=(0.0, 0.5, 1.0))
    assert len(rows) == 6
    for alpha, model in ((0.0, a), (1.0, b)):
        for split, (x, y) in data.items():
            row = next(r for r in rows if r["alpha"] == alpha and r["split"] == split)
            assert (row["loss"], row["accuracy"]) == loss_and_accuracy(model, x, y)


def test_the_architecture_gets_its_own_weights_back(endpoints):
    a, b, data = endpoints
    architecture = trained_batchnorm_net(seed=7)
    before = {k: v.clone() for k, v in architecture.state_dict().items()}
    interpolation_curve(architecture, a.state_dict(), b.state_dict(), data, alphas=(0.3,))
    assert all(torch.equal(v, before[k]) for k, v in architecture.state_dict().items())


def test_buffers_are_interpolated_and_integer_buffers_come_from_a(endpoints):
    a, b, _ = endpoints
    state_a, state_b = a.state_dict(), b.state_dict()
    assert not torch.equal(state_a["bn.running_var"], state_b["bn.running_var"])
    middle = interpolate_states(state_a, state_b, 0.5)
    assert middle.keys() == state_a.keys()
    torch.testing.assert_close(middle["bn.running_mean"], (state_a["bn.running_mean"] + state_b["bn.running_mean"]) / 2)
    torch.testing.assert_close(middle["bn.running_var"], (state_a["bn.running_var"] + state_b["bn.running_var"]) / 2)
    assert int(middle["bn.num_batches_tracked"]) == int(state_a["bn.num_batches_tracked"]) == 2
    extrapolated = interpolate_states(state_a, state_b, 2.0)
    torch.testing.assert_close(extrapolated["head.bias"], 2 * state_b["head.bias"] - state_a["head.bias"])


def test_mismatched_state_dicts_are_refused():
    with pytest.raises(ValueError, match="differ in keys"):
        interpolate_states({"w": torch.zeros(1)}, {"v": torch.zeros(1)}, 0.5)
