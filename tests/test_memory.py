"""The GPU memory estimate and the default share it gives (pure functions, no GPU needed)."""
import pytest

from trainables.config import split_config
from trainables.cost import CUDA_CONTEXT_BYTES, gpu_share, trial_memory_bytes

GiB = 2**30


def estimate(members=1, n=60000, **flat):
    cfg, kw = split_config(flat)
    return trial_memory_bytes(cfg, kw, {"input_shape": (1, 28, 28), "num_classes": 10}, n, members)


def test_estimate_counts_weights_data_and_context():
    small = estimate()
    # 2 x 400 MLP: 478,410 params x 4 bytes x (weights + grads + momentum) plus 60,000 x 784 floats
    assert small > CUDA_CONTEXT_BYTES + 478_410 * 4 * 3 + 60_000 * 784 * 4
    assert small < CUDA_CONTEXT_BYTES + 300 * 2**20


@pytest.mark.parametrize("bigger", [{"width": 800}, {"batch_size": 1024}, {"optimizer": "adam"}, {"depth": 4}])
def test_estimate_grows_with_what_costs_memory(bigger):
    assert estimate(**bigger) > estimate()


def test_fused_population_shares_its_data():
    one = estimate() - CUDA_CONTEXT_BYTES
    sixteen = estimate(members=16) - CUDA_CONTEXT_BYTES
    assert one < sixteen < 16 * one


def test_gpu_share_packs_by_memory():
    assert gpu_share(30 * GiB, 80 * GiB) == 0.5
    assert gpu_share(10 * GiB, 80 * GiB) == pytest.approx(1 / 7)
    assert gpu_share(1 * GiB, 80 * GiB) == pytest.approx(1 / 16)  # capped: more would only queue
    assert gpu_share(100 * GiB, 80 * GiB) == 1.0
