"""trainables.optimizers follow torch.optim's update rules, resume exactly from their state_dict,
and never import torch._dynamo (the reason they exist)."""
from __future__ import annotations

import copy
import io
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch

from trainables.optimizers import OPTIMIZERS, build_optimizer

LR = {"sgd": 0.05, "adam": 1e-2, "rmsprop": 1e-2, "adagrad": 0.1}
TORCH = {
    "sgd": lambda p, c: torch.optim.SGD(p, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay),
    "adam": lambda p, c: torch.optim.Adam(p, lr=c.lr, weight_decay=c.weight_decay),
    "rmsprop": lambda p, c: torch.optim.RMSprop(p, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay),
    "adagrad": lambda p, c: torch.optim.Adagrad(p, lr=c.lr, weight_decay=c.weight_decay),
}


def net(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))


def train(model, opt, batches) -> None:
    for x, y in batches:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def batches(n: int, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(16, 6, generator=g), torch.randint(0, 3, (16,), generator=g)) for _ in range(n)]


def test_every_registered_optimizer_is_covered():
    assert set(OPTIMIZERS) == set(TORCH)


@pytest.mark.parametrize("name", sorted(TORCH))
@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 1e-2)])
def test_same_trajectory_as_torch_optim(name, momentum, weight_decay):
    cfg = SimpleNamespace(optimizer=name, lr=LR[name], momentum=momentum, weight_decay=weight_decay)
    ours, theirs = net(), net()
    data = batches(8)
    train(ours, build_optimizer(ours.parameters(), cfg), data)
    train(theirs, TORCH[name](theirs.parameters(), cfg), data)
    moved = max((p - q).abs().max().item() for p, q in zip(ours.parameters(), net().parameters()))
    assert moved > 1e-3  # the optimizer really stepped
    for p, q in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(TORCH))
def test_resumes_exactly_from_a_saved_state_dict(name):
    cfg = SimpleNamespace(optimizer=name, lr=LR[name], momentum=0.9, weight_decay=1e-3)
    data = batches(6)
    straight = net()
    train(straight, build_optimizer(straight.parameters(), cfg), data)

    first = net()
    opt = build_optimizer(first.parameters(), cfg)
    train(first, opt, data[:3])
    buffer = io.BytesIO()
    torch.save({"model": first.state_dict(), "opt": copy.deepcopy(opt.state_dict())}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)  # as trainables.checkpoint loads it
    resumed = net(seed=7)
    resumed.load_state_dict(saved["model"])
    opt = build_optimizer(resumed.parameters(), cfg)
    opt.load_state_dict(saved["opt"])
    train(resumed, opt, data[3:])
    for p, q in zip(resumed.parameters(), straight.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_training_never_imports_torch_dynamo():
    """torch.optim imports torch._dynamo on first use (over a second per fresh trial worker)."""
    code = (
        "import sys, torch\n"
        "from types import SimpleNamespace\n"
        "from trainables.optimizers import OPTIMIZERS\n"
        "for name, build in OPTIMIZERS.items():\n"
        "    m = torch.nn.Linear(3, 2)\n"
        "    opt = build(m.parameters(), SimpleNamespace(lr=0.1, momentum=0.9, weight_decay=0.01))\n"
        "    opt.zero_grad(); m(torch.randn(4, 3)).sum().backward(); opt.step()\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", sorted(TORCH))
def test_warm_up_then_restore_equals_a_fresh_optimizer(name):
    """What CUDA graph capture does around its warm-up steps (trainables.step.capture), checked
    on the CPU: the restored model and zeroed slots then train exactly like fresh ones."""
    from trainables.step import restore, snapshot

    cfg = SimpleNamespace(optimizer=name, lr=LR[name], momentum=0.9, weight_decay=1e-3)
    x, y = torch.randn(64, 6, generator=torch.Generator().manual_seed(2)), torch.arange(64) % 3
    batches = [torch.arange(i, i + 16) for i in range(0, 64, 16)]

    def state(model, opt):  # what EagerStep.state() lists: weights and optimizer slots
        return [*model.parameters(), *(v for slots in opt.state.values() for v in slots.values())]

    fresh = net()
    fresh_opt = build_optimizer(fresh.parameters(), cfg)
    warmed = net()
    warmed_opt = build_optimizer(warmed.parameters(), cfg)
    before = snapshot(state(warmed, warmed_opt))
    train(warmed, warmed_opt, [(x[i], y[i]) for i in batches[:3]])  # warm-up: creates the slots and moves the weights
    restore(state(warmed, warmed_opt), before)
    for idx in batches * 2:
        train(fresh, fresh_opt, [(x[idx], y[idx])])
        train(warmed, warmed_opt, [(x[idx], y[idx])])
    for p, q in zip(warmed.parameters(), fresh.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)
