"""The one loop: a plain trial is exactly a textbook PyTorch loop, any registered model fuses
(CNN with BatchNorm, GRU classifier), and the options every family shares: epoch-0 rows,
steps-based training, gradient clipping and norms, weight records, regression, samplers."""
import copy
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from data_modules import DataBundle, DataMeta, Split, load_dataset, trial_splits
from models import create_model
from tests.conftest import DBPEDIA_FIXTURE
from trainables import metrics as M
from trainables.checkpoint import rebuild_model
from trainables.loop import run_training
from trainables.sampling import Generated, Permutation, Windows
from trainables.weights import load_weight_records


def train(bundle, flats, **kw):
    """Rows per evaluation (a list of member rows each) and checkpoint states."""
    history, states = [], []
    run_training(flats, bundle, lambda r, s: (history.append(r), states.append(s)), **kw)
    return history, states


def test_population_of_one_is_exactly_a_plain_pytorch_loop(mnist_sample):
    """The loop, run as a plain trial, against the loop every tutorial writes: same seed, same
    batches, torch.optim's own fused SGD; every metric equal to the last bit."""
    flat = {"width": 32, "max_epochs": 2, "train_size": 500, "seed": 5, "batch_size": 32, "lr": 0.05}
    history, _ = train(mnist_sample, [flat])

    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    data = trial_splits(mnist_sample, 0.1, 500, None)
    norm = lambda s: ((s.x.float() / 255 - 0.1307) / 0.3081, s.y)  # noqa: E731
    (x, y), (xv, yv), (xt, yt) = norm(data.train), norm(data.val), norm(data.test)
    model = create_model("mlp", width=32)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.8, fused=True)
    gen = torch.Generator().manual_seed(5)
    for epoch in (1, 2):
        model.train()
        perm, loss_sum, correct = torch.randperm(len(y), generator=gen), torch.zeros(()), torch.zeros((), dtype=torch.long)
        for i in range(0, len(y), 32):
            idx = perm[i : i + 32]
            opt.zero_grad()
            out = model(x.index_select(0, idx))
            loss = F.cross_entropy(out, y[idx])
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * len(idx)
            correct += (out.argmax(1) == y[idx]).sum()
        model.eval()
        with torch.no_grad():
            val, test = model(xv), model(xt)
        row = history[epoch - 1][0]
        assert row[M.EPOCH] == epoch and row[M.STEP] == epoch * 16  # 500 examples in batches of 32
        assert row[M.TRAIN_LOSS] == loss_sum.item() / len(y) and row[M.TRAIN_ACC] == correct.item() / len(y)
        assert row[M.VAL_LOSS] == F.cross_entropy(val, yv, reduction="sum").item() / len(yv)
        assert row[M.TEST_ACC] == (test.argmax(1) == yt).sum().item() / len(yt)


def test_epoch_zero_row_is_the_untrained_model(mnist_sample):
    history, states = train(mnist_sample, [{"width": 16, "max_epochs": 2, "train_size": 200, "eval_at_start": True}])
    assert [h[0][M.EPOCH] for h in history] == [0, 1, 2] and history[0][0][M.STEP] == 0
    assert states[0] is None  # nothing trained, nothing to checkpoint
    first = history[0][0]
    assert 0.0 <= first[M.TEST_ACC] <= 0.3 and first[M.TRAIN_LOSS] > history[-1][0][M.TRAIN_LOSS]


def test_steps_based_training_and_evaluation_cadence(mnist_sample):
    flat = {"width": 16, "max_steps": 25, "eval_every": 10, "checkpoint_every": 20, "train_size": 200, "batch_size": 20}
    history, states = train(mnist_sample, [flat])
    rows = [h[0] for h in history]
    assert [r[M.STEP] for r in rows] == [10, 20, 25]  # every 10 steps and at the end
    assert [r[M.TRAIN_SAMPLES] for r in rows] == [200, 200, 100]  # the steps since the previous row
    assert rows[-1][M.EPOCH] == 2.5  # 200 training examples: 10 steps per epoch
    assert [s["step"] if s else None for s in states] == [None, 20, 25]


def test_steps_based_resume_mid_epoch_is_exact(mnist_sample):
    flat = {"width": 16, "max_steps": 30, "eval_every": 7, "train_size": 200, "batch_size": 20, "seed": 2}
    history, states = train(mnist_sample, [flat])
    resumed, _ = train(mnist_sample, [flat], resume=states[0])  # after step 7: mid-epoch (10 per epoch)
    assert [h[0][M.STEP] for h in resumed] == [14, 21, 28, 30]
    assert [h[0][M.TRAIN_LOSS] for h in resumed] == [h[0][M.TRAIN_LOSS] for h in history[1:]]


def test_clipping_bounds_each_members_update_and_norms_are_reported(mnist_sample):
    base = {"width": 16, "max_steps": 1, "train_size": 200, "momentum": 0.0, "lr": 1.0, "track_grad_norm": True,
            "batch_size": 50}
    flats = [{**base, "seed": 0}, {**base, "seed": 1, "lr": 2.0}]
    before = [{k: v[j] for k, v in train(mnist_sample, [{**f, "lr": 1e-30}])[1][-1]["model_state"].items()} for j, f in
              [(0, flats[0]), (0, flats[1])]]
    free, _ = train(mnist_sample, flats)
    clipped, states = train(mnist_sample, [{**f, "clip_grad_norm": 0.01} for f in flats])
    for j, (flat, start) in enumerate(zip(flats, before)):
        norm = free[0][j][M.GRAD_NORM]
        assert norm > 0.01 and clipped[0][j][M.GRAD_NORM] == pytest.approx(norm, rel=1e-5)  # measured before clipping
        moved = torch.sqrt(sum(((states[-1]["model_state"][k][j] - v) ** 2).sum() for k, v in start.items()))
        assert moved.item() == pytest.approx(flat["lr"] * 0.01, rel=1e-3)  # SGD step of a gradient of norm 0.01


def test_weight_records_every_k_epochs(mnist_sample, tmp_path):
    flats = [{"width": 8, "max_epochs": 4, "train_size": 100, "record_weights_every": 2, "seed": s} for s in (0, 1)]
    _, states = train(mnist_sample, flats, artifacts_dir=tmp_path)
    records = load_weight_records(tmp_path)
    assert [r["epoch"] for r in records] == [0, 2, 4]
    d = 784 * 8 + 8 + 8 * 8 + 8 + 8 * 10 + 10  # two hidden layers of 8
    assert all(r["weights"].shape == (2, d) for r in records) and records[0]["names"][0] == "net.1.weight"
    last = torch.cat([v[1].flatten() for k, v in states[-1]["model_state"].items()])
    assert torch.equal(records[-1]["weights"][1], last)
    assert not torch.equal(records[0]["weights"][0], records[0]["weights"][1])  # seeds differ


# ---------------------------------------------------------------- fusion beyond the MLP

CNN = {"model": "cnn", "c1": 4, "c2": 6, "fc": 16, "batch_norm": True, "max_epochs": 2, "batch_size": 25}


@pytest.fixture(scope="module")
def cifar(vision_data_dir):
    return load_dataset("cifar10", data_dir=vision_data_dir)


def assert_members_match_unfused(bundle, flats, history, rel=1e-4):
    for j, flat in enumerate(flats):
        alone, _ = train(bundle, [flat])
        for fused_row, plain in zip((h[j] for h in history), (h[0] for h in alone)):
            for key in [k for k in (M.TRAIN_LOSS, M.VAL_LOSS, M.TEST_LOSS) if k in plain]:  # text: no val split
                assert fused_row[key] == pytest.approx(plain[key], rel=rel), (j, key)
            assert fused_row[M.TEST_ACC] == pytest.approx(plain[M.TEST_ACC], abs=0.01)


def test_fused_cnn_with_batchnorm_equals_unfused(cifar):
    # Small steps: at lr 0.05 this tiny BN net amplifies fp32 reduction-order differences (grouped vs
    # single convolutions) to 1e-2 within 2 epochs on some CPUs; at 0.01 fused and unfused agree to 1e-7.
    flats = [{**CNN, "lr": 0.01, "seed": 0}, {**CNN, "lr": 0.005, "momentum": 0.5, "seed": 1}]
    history, states = train(cifar, flats)
    assert history[0][0][M.FUSED_MEMBERS] == 2
    assert_members_match_unfused(cifar, flats, history)
    stats = states[-1]["model_state"]["features.bn1.running_mean"]
    assert stats.shape == (2, 4) and not torch.equal(stats[0], stats[1])  # BatchNorm statistics per member
    model = rebuild_model(states[-1], 1)
    assert isinstance(model.features.bn1, torch.nn.BatchNorm2d) and torch.equal(model.features.bn1.running_mean, stats[1])


def test_fused_cnn_population_resumes_exactly(cifar):
    flats = [{**CNN, "optimizer": "adam", "lr": 1e-3, "seed": s, "dropout": 0.3} for s in (0, 1)]
    history, states = train(cifar, flats)
    resumed, _ = train(cifar, flats, resume=states[0])
    for got, want in zip(resumed[0], history[1]):
        assert got[M.TRAIN_LOSS] == want[M.TRAIN_LOSS] and got[M.TEST_ACC] == want[M.TEST_ACC]


def test_each_member_applies_its_own_dropout_rate(cifar):
    from trainables.engines import Functional

    models = [create_model("cnn", input_shape=(3, 32, 32), c1=4, c2=6, fc=512, dropout=p) for p in (0.0, 0.5)]
    engine = Functional(models)
    x = torch.randn(2, 8, 3, 32, 32)
    hidden = {}
    engine.template.head[3].register_forward_hook(lambda m, i, o: hidden.setdefault("relu", o))  # ReLU before dropout 2
    out = engine.forward(x, train=True)
    models[0].train()
    assert torch.allclose(out[0], models[0](x[0]), atol=1e-6)  # rate 0: exactly the plain model
    assert not torch.allclose(out[1], models[1].eval()(x[1]), atol=1e-3)  # rate 0.5: masks applied


def test_vgg_population_step_equals_each_model_alone():
    """VGG fuses too: one vmapped forward/backward over stacked VGG-11s (BatchNorm in train mode)
    gives each member's own outputs, BatchNorm statistics and gradients."""
    from trainables.engines import Functional

    torch.manual_seed(0)
    models = [create_model("vgg", input_shape=(3, 32, 32), num_classes=10) for _ in range(2)]
    plain = [copy.deepcopy(m) for m in models]
    engine = Functional(models)
    x, y = torch.randn(2, 4, 3, 32, 32), torch.randint(0, 10, (2, 4))
    out = engine.forward(x, train=True)
    sum(F.cross_entropy(out[j], y[j]) for j in range(2)).backward()
    grads = dict(zip(engine.params, (p.grad for p in engine.parameters())))
    for j, model in enumerate(plain):
        model.train()
        F.cross_entropy(mine := model(x[j]), y[j]).backward()
        assert torch.allclose(out[j], mine, rtol=1e-4, atol=1e-5)
        for name, p in model.named_parameters():
            assert torch.allclose(grads[name][j], p.grad, rtol=1e-3, atol=1e-6), name
        for name, b in model.named_buffers():
            assert torch.allclose(engine.buffer_map[name][j].float(), b.float(), rtol=1e-4, atol=1e-6), name


def token_bundle(n=240, length=10, vocab=12, seed=0):
    """Label 1 when token 3 occurs more often than token 5: a GRU learns it from the sequence."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, vocab, (n, length), generator=g)
    y = ((x == 3).sum(1) > (x == 5).sum(1)).long()
    meta = DataMeta(name="tokens", variant="tokens", input_shape=(length,), classes=("no", "yes"))
    cut = n * 3 // 4
    return DataBundle(train=Split(x[:cut], y[:cut]), test=Split(x[cut:], y[cut:]), meta=meta)


def test_fused_gru_classifier_equals_unfused():
    bundle = token_bundle()
    base = {"model": "rnn_classifier", "vocab_size": 12, "hidden": 8, "embedding": 6, "max_epochs": 2, "batch_size": 20,
            "optimizer": "adam", "lr": 1e-2}
    flats = [{**base, "seed": 0}, {**base, "seed": 1, "lr": 3e-3}]
    history, _ = train(bundle, flats)
    assert_members_match_unfused(bundle, flats, history)


def test_char_cnn_first_convolution_is_the_one_hot_convolution_and_fuses():
    """The lookup form of C1 (models.text.SummedLookups) against the convolution it stands for,
    value and gradient; then a fused population of char CNNs on the course's real rows equals
    each member alone."""
    torch.manual_seed(0)
    model = create_model("text_cnn", input_shape=(2, 60), num_classes=15, tokens="char")
    ids = torch.randint(0, 256, (4, 60))
    weight = model.c1_taps.weight.view(256, model.filters, model.kernel).permute(1, 0, 2)  # (filters, 256, kernel)
    dense = F.conv1d(F.one_hot(ids, 256).float().transpose(1, 2), weight) + model.c1_bias[:, None]
    out = model.first_convolution(ids)
    torch.testing.assert_close(out, dense)
    grad = torch.randn_like(out)
    (lookup_grad,) = torch.autograd.grad(out, model.c1_taps.weight, grad)
    (dense_grad,) = torch.autograd.grad(dense, model.c1_taps.weight, grad)
    torch.testing.assert_close(lookup_grad, dense_grad)

    bundle = load_dataset("text_csv", data_dir=DBPEDIA_FIXTURE, length=60)
    # Adam at lr 0.003 or below: at 0.01 one member's fp32 reduction order (vmap vs alone) grows to
    # 1e-4 within 2 epochs, with the 20 shifted slices this replaced as much as with the lookup.
    base = {"model": "text_cnn", "tokens": "char", "max_epochs": 2, "batch_size": 8, "optimizer": "adam", "lr": 0.003}
    flats = [{**base, "seed": 0}, {**base, "seed": 1, "lr": 0.001}]
    history, _ = train(bundle, flats)
    assert_members_match_unfused(bundle, flats, history)


def test_fusion_refuses_a_model_with_its_own_step_and_trains_it_alone():
    from data_modules.collection import load_datasets
    from sweeps import toy2d
    from tests.test_plan import fusion_of, plan_for

    s = toy2d.SWEEP
    data = load_datasets(s.dataset, None, s.data, s.data_axes, plan_for(toy2d).points())
    plan = fusion_of(toy2d, "--repeats", "2", data=data)
    sizes = {p[0]["model"]: sorted(len(q) for q in plan.populations if q[0]["model"] == p[0]["model"]) for p in plan.populations}
    assert set(sizes["numpy_mlp"]) == {1} and set(sizes["mlp"]) == {2}  # NumPy trials one by one, torch ones fused
    assert any(n.startswith("not fused: ") and "model 'numpy_mlp' trains with its own step" in n for n in plan.notes)


# ---------------------------------------------------------------- regression and samplers

def regression_bundle(n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, generator=g) * 4 - 2
    y = x**3
    meta = DataMeta(name="cubic", variant="cubic", input_shape=(1,), classes=(), outputs=1)
    return DataBundle(train=Split(x[:300], y[:300]), test=Split(x[300:], y[300:]), meta=meta)


def test_regression_reports_losses_only_and_repeats_with_a_seed():
    flat = {"depth": 1, "width": 32, "max_epochs": 20, "batch_size": 16, "optimizer": "adam", "lr": 1e-2, "seed": 3}
    a, _ = train(regression_bundle(), [flat], objective="regression")
    b, _ = train(regression_bundle(), [flat], objective="regression")
    rows = [h[0] for h in a]
    assert M.TRAIN_ACC not in rows[0] and {M.TRAIN_LOSS, M.VAL_LOSS, M.TEST_LOSS} <= set(rows[0])
    assert rows[-1][M.VAL_LOSS] < rows[0][M.VAL_LOSS] / 5
    assert [h[0][M.VAL_LOSS] for h in a] == [h[0][M.VAL_LOSS] for h in b]


def test_windows_sampler_draws_reproducible_in_range_starts_and_resumes():
    a = Windows(n_tokens=1000, length=64, batch_size=8, seeds=[0, 1], device=torch.device("cpu"))
    starts, _ = a.next()
    assert starts.shape == (2, 8) and int(starts.max()) <= 1000 - 64 - 1 and not torch.equal(starts[0], starts[1])
    saved = a.state()
    following = a.next()[0]
    b = Windows(n_tokens=1000, length=64, batch_size=8, seeds=[0, 1], device=torch.device("cpu"))
    b.load(saved)
    assert torch.equal(b.next()[0], following)


def test_generated_sampler_makes_a_fresh_seeded_batch_per_member():
    def digits(gen, batch, device):
        return torch.randint(0, 10, (batch, 3), generator=gen, device=device)

    a = Generated(digits, 4, seeds=[7, 8], device=torch.device("cpu"))
    first, second = a.next()[0], a.next()[0]
    assert first.shape == (2, 4, 3) and not torch.equal(first, second) and not torch.equal(first[0], first[1])
    again = Generated(digits, 4, seeds=[7, 8], device=torch.device("cpu"))
    assert torch.equal(again.next()[0], first)


def test_permutation_sampler_walks_each_epoch_once_per_member():
    s = Permutation(10, 4, drop_last=False, seeds=[0, 1], device=torch.device("cpu"))
    batches = [s.next() for _ in range(3)]
    assert [b[0].shape[1] for b in batches] == [4, 4, 2] and [b[1] for b in batches] == [False, False, True]
    for member in (0, 1):
        assert sorted(torch.cat([b[0][member] for b in batches]).tolist()) == list(range(10))


class Branchy(torch.nn.Module):
    """Data-dependent Python control flow: fine alone, impossible under vmap."""

    def __init__(self, input_shape=(1, 28, 28), num_classes=10):
        super().__init__()
        self.linear = torch.nn.Linear(784, num_classes)

    def forward(self, x):
        out = self.linear(x.flatten(1))
        return out if out.sum() > 0 else -out


def test_a_model_that_cannot_run_under_vmap_is_refused_with_its_reason(monkeypatch, mnist_sample):
    from models import registry
    from trainables.population import why_not_fusable

    monkeypatch.setitem(registry.MODELS._items, "branchy", Branchy)
    reason = why_not_fusable([{"model": "branchy", "seed": 0}, {"model": "branchy", "seed": 1}], mnist_sample)
    assert reason.startswith("model 'branchy' cannot run under torch.func.vmap (")
    assert why_not_fusable([{"model": "cnn", "seed": 0}, {"model": "cnn", "seed": 1, "dropout": 0.5}], mnist_sample) is None


def test_the_word_vocabulary_is_a_data_fact_and_old_checkpoints_without_it_still_rebuild(tmp_path):
    """The text data says how many word ids there are (DataMeta.vocab); the loop builds the word
    models with it and the checkpoint keeps it; a checkpoint from before that (no `vocab` in its
    model arguments) rebuilds with its embedding's rows."""
    from data_modules.text_csv import WORD_VOCAB
    from trainables.checkpoint import load_checkpoint, rebuild_model, save_checkpoint

    bundle = load_dataset("text_csv", data_dir=DBPEDIA_FIXTURE, length=60)
    assert bundle.meta.vocab == WORD_VOCAB and bundle.meta.model_args["vocab"] == WORD_VOCAB
    states = []
    run_training([{"model": "text_rnn", "tokens": "word", "max_epochs": 1, "batch_size": 8, "optimizer": "adam"}],
                 bundle, lambda r, s: states.append(s))
    state = states[-1]
    assert state["model_kwargs"][0]["vocab"] == WORD_VOCAB
    x = bundle.test.x[:4]
    expected = rebuild_model(state)(x)
    legacy = {**state, "model_kwargs": [{k: v for k, v in kw.items() if k != "vocab"} for kw in state["model_kwargs"]]}
    reloaded = rebuild_model(load_checkpoint(save_checkpoint(tmp_path / "checkpoint.pt", legacy)))
    assert torch.equal(reloaded(x), expected)
    with pytest.raises(ValueError, match=r"word tokens need the data's vocabulary size, got vocab=0"):
        create_model("text_cnn", input_shape=(2, 60), num_classes=15, tokens="word")
