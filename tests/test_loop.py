"""The training loop without Ray: learning, determinism, checkpoints and resume."""
import math

import pytest
import torch

from data_modules import load_dataset
from tests.conftest import make_mnist_dir
from trainables import metrics as M
from trainables.checkpoint import load_checkpoint, rebuild_model, save_checkpoint
from trainables.loop import run_training


def train(bundle, **overrides):
    """A plain trial (a population of one): its rows and checkpoint states."""
    rows, states = [], []
    run_training([{"width": 64, "max_epochs": 3, **overrides}], bundle, lambda r, s: (rows.extend(r), states.append(s)))
    return rows, states


def test_reports_every_metric_each_epoch_and_loss_falls(mnist_sample):
    rows, _ = train(mnist_sample, max_epochs=4, train_size=1000)
    assert [r[M.EPOCH] for r in rows] == [1, 2, 3, 4]
    assert all(set(M.EPOCH_METRICS) <= set(r) for r in rows)
    assert rows[-1][M.TRAIN_LOSS] < rows[0][M.TRAIN_LOSS] * 0.7
    assert rows[-1][M.TEST_ACC] > 0.6  # ten classes: chance is 0.1
    assert rows[-1][M.TIME_TOTAL_S] == pytest.approx(sum(r[M.EPOCH_TIME_S] for r in rows))
    assert rows[0][M.DEVICE] == "cpu" and rows[0][M.PARAM_COUNT] == 784 * 64 + 64 + 64 * 64 + 64 + 650


def test_same_seed_same_metrics_other_seed_differs(mnist_sample):
    keys = (M.TRAIN_LOSS, M.VAL_LOSS, M.TEST_ACC)
    a, _ = train(mnist_sample, seed=7, train_size=500)
    b, _ = train(mnist_sample, seed=7, train_size=500)
    c, _ = train(mnist_sample, seed=8, train_size=500)
    assert [[r[k] for k in keys] for r in a] == [[r[k] for k in keys] for r in b]
    assert [r[M.TRAIN_LOSS] for r in a] != [r[M.TRAIN_LOSS] for r in c]


def test_no_sample_dropped_unless_asked(tmp_path):
    bundle = load_dataset("mnist", data_dir=make_mnist_dir(tmp_path, n_train=120, n_test=20))
    # 120 train -> 110 after the stratified 10% validation carve-out; batch 25 leaves a partial batch of 10
    rows, _ = train(bundle, batch_size=25, max_epochs=1)
    dropped, _ = train(bundle, batch_size=25, max_epochs=1, drop_last=True)
    assert rows[0][M.TRAIN_SAMPLES] == 110
    assert dropped[0][M.TRAIN_SAMPLES] == 100


def test_held_out_sets_every_kth_row_and_the_last_training_metrics_on_all(mnist_sample):
    every, _ = train(mnist_sample, max_epochs=5, train_size=500, eval_at_start=True)
    sparse, _ = train(mnist_sample, max_epochs=5, train_size=500, eval_at_start=True, holdout_every=2)
    assert [r[M.EPOCH] for r in sparse] == [0, 1, 2, 3, 4, 5]
    evaluated = [not math.isnan(r[M.TEST_ACC]) for r in sparse]
    assert evaluated == [True, False, True, False, True, True]  # epochs 0, 2, 4 and the last
    assert all(math.isnan(r[M.VAL_LOSS]) != e for r, e in zip(sparse, evaluated))
    for a, b, e in zip(every, sparse, evaluated):  # the same training; skipping evaluations changes nothing else
        assert a[M.TRAIN_LOSS] == b[M.TRAIN_LOSS]
        assert not e or (a[M.TEST_ACC], a[M.VAL_LOSS]) == (b[M.TEST_ACC], b[M.VAL_LOSS])


def test_checkpoints_every_k_epochs_and_at_the_end(mnist_sample):
    _, states = train(mnist_sample, max_epochs=5, checkpoint_every=2, train_size=500)
    assert [s["epoch"] if s else None for s in states] == [None, 2, None, 4, 5]


def test_checkpoint_rebuilds_and_resume_continues_identically(mnist_sample, tmp_path):
    full, states = train(mnist_sample, max_epochs=4, train_size=500, seed=3)
    path = save_checkpoint(tmp_path / "c.pt", states[1])  # after epoch 2
    state = load_checkpoint(path)
    model = rebuild_model(state)
    assert state["model"] == "mlp" and state["data"]["variant"] == "mnist-sample-5k"
    assert model(torch.zeros(1, 1, 28, 28)).shape == (1, 10)

    resumed = []
    run_training([{"width": 64, "max_epochs": 4, "train_size": 500, "seed": 3}], mnist_sample,
                 lambda r, s: resumed.extend(r), resume=state)
    assert [r[M.EPOCH] for r in resumed] == [3, 4]
    for got, want in zip(resumed, full[2:]):
        assert got[M.TRAIN_LOSS] == pytest.approx(want[M.TRAIN_LOSS], rel=1e-5)
        assert got[M.TEST_ACC] == pytest.approx(want[M.TEST_ACC])


def test_random_labels_keep_test_at_chance(mnist_sample):
    rows, _ = train(mnist_sample, label_shuffle=1.0, train_size=500, max_epochs=3, optimizer="adam", lr=1e-3)
    assert rows[-1][M.TEST_ACC] < 0.25


def test_bf16_autocast_trains_close_to_fp32(mnist_sample):
    fp32, _ = train(mnist_sample, train_size=500, max_epochs=2)
    bf16, _ = train(mnist_sample, train_size=500, max_epochs=2, precision="bf16")
    assert bf16[-1][M.TRAIN_LOSS] == pytest.approx(fp32[-1][M.TRAIN_LOSS], rel=0.05)
    assert bf16[-1][M.TRAIN_LOSS] != fp32[-1][M.TRAIN_LOSS]  # autocast really ran in bf16


def test_cpu_uses_the_eager_step(mnist_sample):
    from trainables.config import split_config
    from trainables.engines import Single
    from trainables.objectives import Classification
    from trainables.step import EagerStep, make_step

    cfg, _ = split_config({"train_size": 500})
    task = Classification(mnist_sample, [cfg], torch.device("cpu"))
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    eager = EagerStep(Single(model), opt, task, torch.ones(1))
    step = make_step(eager, torch.zeros(1, 4, dtype=torch.long), cuda_graph=True)
    assert step is eager
    step.begin_period()
    step(torch.arange(4).view(1, 4))
    step(torch.arange(4, 6).view(1, 2))  # a partial batch of 2
    assert step.stats["loss"].item() > 0 and 0 <= step.stats["acc"].item() <= 6
