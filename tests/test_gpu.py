"""The GPU path on a CUDA device (`python -m pytest -m gpu`; skipped where no GPU is visible, as in
CI): the CUDA-graph step trains exactly like the eager one, fused populations like their members
alone, bf16 and TF32 runs train, a GPU share's memory cap holds, and a trial beyond its share
gets one clear error. `benchmarks/gpu_suite.py` runs them on a lent GPU machine."""
import re

import numpy as np
import pytest
import torch

from data_modules import DataBundle, DataMeta
from tests.conftest import learnable_images
from tests.test_one_loop import token_bundle
from trainables import metrics as M
from trainables.cost import GpuShareExceeded, within_gpu_share
from trainables.loop import build_trainer, run_training
from trainables.step import GraphStep

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device visible")]

# fp32 matmuls without TF32, so that two paths that do the same arithmetic agree to float rounding
EXACT = {"device": "cuda", "tf32": False}
MLP = {**EXACT, "width": 64, "max_epochs": 2, "train_size": 500, "batch_size": 64}  # 500 rows: a partial last batch of 52


def history(bundle, flats, **kw):
    """(rows per evaluation, the trainer: its step tells whether a CUDA graph ran)."""
    rows = []
    trainer = build_trainer(flats, bundle, lambda r, s: rows.append(r), **kw)
    trainer.run(fresh=True)
    return rows, trainer


def assert_rows_close(got, want, rel):
    for g, w in zip(got, want):
        for key in (M.TRAIN_LOSS, M.VAL_LOSS, M.TEST_LOSS):
            assert g[key] == pytest.approx(w[key], rel=rel), key


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_cuda_graph_step_trains_like_the_eager_step(mnist_sample, optimizer):
    for flats in ([{**MLP, "optimizer": optimizer}],  # a plain trial
                  [{**MLP, "optimizer": optimizer, "seed": s, "lr": lr} for s, lr in ((0, 0.01), (1, 0.02))]):  # fused
        graphed, trainer = history(mnist_sample, flats)
        assert isinstance(trainer.step, GraphStep)  # captured, not the eager fallback
        eager, plain = history(mnist_sample, [{**f, "cuda_graph": False} for f in flats])
        assert not isinstance(plain.step, GraphStep)
        assert [len(r) for r in graphed] == [len(flats)] * 2
        for j in range(len(flats)):
            assert_rows_close([r[j] for r in graphed], [r[j] for r in eager], rel=1e-5)


def random_images(n: int) -> DataBundle:
    rng = np.random.default_rng(0)
    meta = DataMeta("cifar10", "learnable-bars", (3, 32, 32), tuple(map(str, range(10))), (0.5,) * 3, (0.25,) * 3)
    return DataBundle(learnable_images(n, 3, 32, rng), learnable_images(n // 4, 3, 32, rng), meta)


FUSABLE = {  # model -> (data, settings, tolerance: grouped convolutions sum in another order)
    "mlp": (None, MLP, 1e-4),
    "cnn": (lambda: random_images(200), {**EXACT, "model": "cnn", "c1": 4, "c2": 6, "fc": 16, "batch_norm": True,
                                         "max_epochs": 2, "batch_size": 25}, 1e-3),
    "gru": (token_bundle, {**EXACT, "model": "rnn_classifier", "vocab_size": 12, "hidden": 8, "embedding": 6,
                           "max_epochs": 2, "batch_size": 20, "optimizer": "adam", "lr": 1e-2}, 1e-4),
}


@pytest.mark.parametrize("model", sorted(FUSABLE))
def test_fused_population_on_cuda_equals_each_member_alone(mnist_sample, model):
    make, settings, rel = FUSABLE[model]
    bundle = make() if make else mnist_sample
    flats = [{**settings, "seed": 0}, {**settings, "seed": 1, "lr": settings.get("lr", 0.01) / 2}]
    fused, _ = history(bundle, flats)
    assert fused[0][0][M.FUSED_MEMBERS] == 2 and fused[0][0][M.DEVICE] == flats[0]["device"]
    for j, flat in enumerate(flats):
        alone, _ = history(bundle, [flat])
        assert_rows_close([r[j] for r in fused], [r[0] for r in alone], rel=rel)


@pytest.mark.parametrize("precision, tf32", [("bf16", False), ("fp32", True), ("bf16", True)])
def test_bf16_and_tf32_runs_train(mnist_sample, precision, tf32):
    flat = {"device": "cuda", "precision": precision, "tf32": tf32, "max_epochs": 3, "train_size": 2000}
    rows, trainer = history(mnist_sample, [flat])
    assert isinstance(trainer.step, GraphStep)
    losses = [r[0][M.TRAIN_LOSS] for r in rows]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0] < np.log(10)
    assert rows[-1][0][M.TEST_ACC] > 0.8
    assert rows[-1][0][M.GPU_PEAK_MIB] > 0


def test_a_gpu_share_caps_the_memory_of_its_trial():
    total = torch.cuda.get_device_properties(0).total_memory
    cap = int(total * 0.02)
    with pytest.raises(GpuShareExceeded):
        with within_gpu_share(0.02):
            inside = torch.empty(cap // 2, dtype=torch.uint8, device="cuda")  # within the share
            del inside
            torch.empty(cap * 3 // 2, dtype=torch.uint8, device="cuda")  # beyond it
    beyond = torch.empty(cap * 3 // 2, dtype=torch.uint8, device="cuda")  # the cap goes with the trial
    del beyond


def test_a_trial_beyond_its_gpu_share_gets_one_clear_error(mnist_sample):
    flat = {"device": "cuda", "width": 24_000, "max_epochs": 1, "train_size": 200}  # ~2.3 GB of weights, 7 GB with SGD state
    with pytest.raises(GpuShareExceeded) as error:
        with within_gpu_share(0.01):
            run_training([flat], mnist_sample, lambda r, s: None)
    message = str(error.value)
    assert "\n" not in message and error.value.__suppress_context__
    assert message.startswith("trial ran out of GPU memory within its share of 0.01 GPU (")
    assert message.endswith("allowed: a larger --gpus-per-trial, or a smaller batch_size or model")


def test_a_sweep_whose_trial_exceeds_its_gpu_share_is_refused_before_ray(capsys):
    """The sweep knows the trial's estimated memory (trainables.cost) and the GPU's: one line,
    exit code 2, before Ray starts, instead of a failed trial."""
    from sweeps import mnist_width

    assert mnist_width.main(["--set", "width=24000", "--max-epochs", "1", "--gpus-per-trial", "0.01"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("python -m sweeps.mnist_width: error: width=24000: a trial needs about ")
    assert "more than its share holds (0.01 of " in err[0]
    enough = re.search(r"allowed: --gpus-per-trial ([0-9.]+) or more, or a smaller model or batch_size$", err[0])
    assert enough and 0.01 < float(enough.group(1)) <= 1
