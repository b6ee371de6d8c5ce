"""Fused populations on the CPU: same metrics as unfused trials of the same configs, per-member
stopping by masking, and members rebuilt from a population checkpoint."""
import pytest
import torch

from trainables import metrics as M
from trainables.checkpoint import rebuild_model
from trainables.loop import run_training
from trainables.population import why_not_fusable
from trainables.stoppers import MinDeltaStopper

BASE = {"width": 32, "max_epochs": 3, "train_size": 500}


def unfused(bundle, flat):
    rows = []
    run_training([flat], bundle, lambda r, s: rows.extend(r))
    return rows


def fused(bundle, flats, **kw):
    """Rows per evaluation (a list of member rows each) and checkpoint states."""
    history, states = [], []
    run_training(flats, bundle, lambda r, s: (history.append(r), states.append(s)), **kw)
    return history, states


@pytest.mark.parametrize("optimizer, lrs", [("sgd", (0.05, 0.01, 0.02)), ("adam", (1e-3, 3e-3, 5e-4)),
                                            ("rmsprop", (1e-3, 5e-4, 2e-4)), ("adagrad", (0.05, 0.02, 0.01))])
def test_fused_equals_unfused_for_the_same_seeds(mnist_sample, optimizer, lrs):
    flats = [
        {**BASE, "optimizer": optimizer, "lr": lrs[0], "seed": 0},
        {**BASE, "optimizer": optimizer, "lr": lrs[1], "momentum": 0.5, "seed": 1},
        {**BASE, "optimizer": optimizer, "lr": lrs[2], "weight_decay": 1e-3, "seed": 2, "label_shuffle": 0.5},
    ]
    history, _ = fused(mnist_sample, flats)
    assert [h[0][M.EPOCH] for h in history] == [1, 2, 3]
    for j, flat in enumerate(flats):
        expected = unfused(mnist_sample, flat)
        got = [h[j] for h in history]
        assert all(g["member"] == j and g["config"] == flat for g in got)
        for g, e in zip(got, expected):
            for key in (M.TRAIN_LOSS, M.VAL_LOSS, M.TEST_LOSS):
                assert g[key] == pytest.approx(e[key], rel=1e-4), (j, key)
            for key in (M.TRAIN_ACC, M.VAL_ACC, M.TEST_ACC):
                assert g[key] == pytest.approx(e[key], abs=0.003), (j, key)


def test_members_differ_and_seed_decides_initial_weights(mnist_sample):
    history, _ = fused(mnist_sample, [{**BASE, "seed": 0}, {**BASE, "seed": 1}, {**BASE, "seed": 0}])
    first = history[0]
    assert first[0][M.TRAIN_LOSS] == first[2][M.TRAIN_LOSS] != first[1][M.TRAIN_LOSS]


class StopMemberAt:
    """Stops one member after a given epoch (a stand-in for a stopping rule that fires)."""

    def __init__(self, member, epoch):
        self.member, self.epoch = member, epoch

    def __call__(self, member_id, result):
        return member_id == str(self.member) and result[M.EPOCH] >= self.epoch


def test_stopped_member_is_frozen_and_others_unaffected(mnist_sample):
    flats = [{**BASE, "lr": 0.05, "seed": 0}, {**BASE, "lr": 0.02, "seed": 1}]
    history, states = fused(mnist_sample, flats, member_stop=StopMemberAt(0, 1))
    assert [len(h) for h in history] == [2, 1, 1]
    assert history[0][0]["stopped"] and not history[0][1]["stopped"]
    # member 0's weights after epoch 3 are those of epoch 1: its updates were masked
    for key, after_1 in states[0]["model_state"].items():
        after_3 = states[2]["model_state"][key]
        assert torch.equal(after_1[0], after_3[0]) and not torch.equal(after_1[1], after_3[1])
    # member 1 still follows its unfused trajectory
    expected = unfused(mnist_sample, flats[1])
    assert [h[-1][M.TRAIN_LOSS] for h in history] == pytest.approx([e[M.TRAIN_LOSS] for e in expected], rel=1e-4)


def test_min_delta_rule_per_member(mnist_sample):
    stop = MinDeltaStopper(min_delta=10.0)  # no real improvement is that large: stop at epoch 2
    history, _ = fused(mnist_sample, [{**BASE, "seed": 0, "max_epochs": 5}, {**BASE, "seed": 1, "max_epochs": 5}], member_stop=stop)
    assert [h[0][M.EPOCH] for h in history] == [1, 2]
    assert all(m["stopped"] for m in history[-1])


def test_rebuilt_member_predicts_like_the_population(mnist_sample):
    flats = [{**BASE, "seed": 0, "lr": 0.05, "max_epochs": 2}, {**BASE, "seed": 1, "lr": 0.05, "max_epochs": 2}]
    history, states = fused(mnist_sample, flats)
    x = (mnist_sample.test.x.float() / 255 - 0.1307) / 0.3081
    for j in (0, 1):
        model = rebuild_model(states[-1], j)
        acc = (model(x).argmax(1) == mnist_sample.test.y).double().mean().item()
        assert acc == pytest.approx(history[-1][j][M.TEST_ACC], abs=1e-3)
        assert acc > 0.5


def test_what_cannot_fuse_says_why():
    assert why_not_fusable([{**BASE, "lr": 0.1}, {**BASE, "lr": 0.2, "seed": 3}]) is None
    assert "differ in width" in why_not_fusable([{**BASE}, {**BASE, "width": 64}])
    numpy_mlp = {"model": "numpy_mlp", "device": "cpu"}
    assert "own step" in why_not_fusable([numpy_mlp, {**numpy_mlp, "seed": 1}])


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_population_resumes_from_its_checkpoint(mnist_sample, optimizer):
    lrs = (0.05, 0.02) if optimizer == "sgd" else (1e-3, 3e-3)
    flats = [{**BASE, "optimizer": optimizer, "lr": lrs[0], "seed": 0},
             {**BASE, "optimizer": optimizer, "lr": lrs[1], "momentum": 0.5, "seed": 1}]
    history, states = fused(mnist_sample, flats)
    resumed, _ = fused(mnist_sample, flats, resume=states[0])  # continue after epoch 1
    assert [h[0][M.EPOCH] for h in resumed] == [2, 3]
    for got, want in zip(resumed, history[1:]):
        for g, w in zip(got, want):
            assert g[M.TRAIN_LOSS] == pytest.approx(w[M.TRAIN_LOSS], rel=1e-6)
            assert g[M.TEST_ACC] == w[M.TEST_ACC]
