"""Fused trials: P same-shape MLPs trained as one population in one process.

Weights are stacked (layer l: W (P, out, in), b (P, out)) so each layer is one batched matmul
for all members; every member keeps its own learning rate, momentum, weight decay, dropout,
seed (initial weights and batch order) and label noise, its own metrics and its own min-delta
stopping (a stopped member is masked out of the loss and the update). With dropout off, a
member follows the same trajectory as the unfused trial of the same config, up to float rounding.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from data_modules import DataBundle, shuffle_labels, trial_splits
from models import create_model, param_count
from models.mlp import ACTIVATIONS, MLP
from trainables import metrics as M
from trainables.config import TrainConfig, build_model, split_config
from trainables.loop import EVAL_BATCH, device_name, pick_device, seed_everything, to_device
from trainables.optimizers import Optimizer
from trainables.step import EagerStep, make_step

# Keys that may differ between members: none of them changes a tensor shape.
MEMBER_KEYS = ("lr", "momentum", "weight_decay", "dropout", "seed", "label_shuffle")
OPTIMIZERS = ("sgd", "adam")
MEMBERS = "members"  # result key holding the per-member metric dicts


def shape_key(config: Mapping[str, Any]) -> str:
    """Configs with equal keys can share a population: everything but the member keys agrees."""
    return json.dumps({k: v for k, v in config.items() if k not in MEMBER_KEYS}, sort_keys=True, default=str)


def why_not_fusable(configs: Sequence[Mapping[str, Any]]) -> str | None:
    """None when these flat configs can train as one population, else the reason."""
    shared = [{k: v for k, v in c.items() if k not in MEMBER_KEYS} for c in configs]
    if any(s != shared[0] for s in shared[1:]):
        differing = sorted({k for s in shared for k in s if s.get(k) != shared[0].get(k)})
        return f"configurations differ in {', '.join(differing)} (only {', '.join(MEMBER_KEYS)} may differ)"
    cfg, _ = split_config(configs[0])
    if cfg.model != "mlp":
        return f"model {cfg.model!r} has no fused implementation (mlp has)"
    if cfg.optimizer not in OPTIMIZERS:
        return f"optimizer {cfg.optimizer!r} has no fused implementation ({', '.join(OPTIMIZERS)} have)"
    if cfg.precision != "fp32":
        return f"precision {cfg.precision!r} has no fused implementation (fp32 has)"
    return None


class StackedMLP:
    """The forward pass of P MLPs with stacked weights, built from P ordinary MLP modules."""

    def __init__(self, models: Sequence[MLP], activation: str, dropout: torch.Tensor):
        linears = [[m for m in model.net if isinstance(m, nn.Linear)] for model in models]
        layers = range(len(linears[0]))
        # Stored as (P, in, out), the layout batched matmul reads without a copy.
        self.weights = [torch.stack([ls[i].weight.detach().t() for ls in linears]).contiguous().requires_grad_() for i in layers]
        self.biases = [torch.stack([ls[i].bias.detach() for ls in linears]).requires_grad_() for i in layers]
        self.act = ACTIVATIONS[activation]()
        self.dropout = dropout  # (P,) rates
        self.has_dropout = bool((dropout > 0).any())  # decided once: no host sync inside a CUDA graph

    def parameters(self) -> list[torch.Tensor]:
        return [t for pair in zip(self.weights, self.biases) for t in pair]

    def __call__(self, x: torch.Tensor, train: bool) -> torch.Tensor:
        """x: (P, B, D) per-member inputs or (N, D) shared ones -> logits (P, B or N, classes)."""
        h = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b.unsqueeze(1), h, w) if h.dim() == 3 else torch.matmul(h, w) + b.unsqueeze(1)
            if i < last:
                h = self.act(h)
                if train and self.has_dropout:
                    keep = 1 - self.dropout.view(-1, 1, 1)
                    h = h * (torch.rand_like(h) < keep) / keep
        return h


class StackedOptimizer(Optimizer):
    """SGD (momentum, L2) or Adam with one hyperparameter value per member, same update rules as
    torch.optim; `active` (P,) masks the update of stopped members. All state lives in device
    tensors, so a step can be captured in a CUDA graph."""

    def __init__(self, kind: str, params: list[torch.Tensor], lr: torch.Tensor, momentum: torch.Tensor,
                 weight_decay: torch.Tensor, active: torch.Tensor, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr=0.0)
        self.kind, self.betas, self.eps, self.active = kind, betas, eps, active
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay  # (P,) each
        self.decay = bool((weight_decay != 0).any())

    @staticmethod
    def _per_member(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return v.view(-1, *([1] * (like.dim() - 1)))

    def update(self, params, grads) -> None:
        """In-place updates (no temporaries the size of the population's weights)."""
        for p, g in zip(params, grads):  # g is consumed: p.grad is dropped below
            st = self.state[p]
            if self.decay:
                g.addcmul_(self._per_member(self.weight_decay, p), p)
            lr = self._per_member(self.lr * self.active, p)
            if self.kind == "sgd":
                if "momentum_buffer" in st:
                    g = st["momentum_buffer"].mul_(self._per_member(self.momentum, p)).add_(g)
                st["momentum_buffer"] = g
                p.addcmul_(lr, g, value=-1)
            else:
                b1, b2 = self.betas
                (steps,) = self.slots("step", [p], lambda p: torch.zeros((), device=p.device))
                (m,), (v,) = self.slots("exp_avg", [p]), self.slots("exp_avg_sq", [p])
                steps += 1
                m.lerp_(g, 1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                update = v.sqrt().div_((1 - b2**steps).sqrt()).add_(self.eps)  # the one temporary
                torch.div(m, update, out=update)
                p.addcmul_(lr / (1 - b1**steps), update, value=-1)
            p.grad = None


class PopulationStep(EagerStep):
    """One step of every member on its own batch: idx is (P, B) indices into the shared inputs."""

    def __init__(self, net: StackedMLP, opt: StackedOptimizer, x: torch.Tensor, y_members: torch.Tensor):
        self.net, self.opt, self.x, self.y, self.active = net, opt, x, y_members, opt.active
        self.loss_sum = torch.zeros(len(y_members), device=x.device)
        self.correct = torch.zeros(len(y_members), device=x.device, dtype=torch.long)

    def update(self, idx: torch.Tensor) -> None:
        yb = torch.gather(self.y, 1, idx)
        out = self.net(self.x[idx], train=True)
        losses = F.cross_entropy(out.flatten(0, 1), yb.flatten(), reduction="none").view(len(idx), -1).mean(1)
        (losses * self.active).sum().backward()  # members' losses are independent: one backward for all
        self.opt.step()
        self.loss_sum += losses.detach() * idx.shape[1]
        self.correct += (out.detach().argmax(-1) == yb).sum(1)

    def state(self) -> list[torch.Tensor]:
        slots = [t for st in self.opt.state.values() for t in st.values()]
        return [*self.net.parameters(), *slots, self.loss_sum, self.correct]


@dataclass
class Population:
    configs: list[TrainConfig]
    model_kwargs: dict[str, Any]
    """Shared model arguments; dropout is per member (below) and applied by StackedMLP."""
    dropout: list[float]

    @classmethod
    def from_flat(cls, flats: Sequence[Mapping[str, Any]]) -> "Population":
        split = [split_config(f) for f in flats]
        kwargs = {k: v for k, v in split[0][1].items() if k != "dropout"}
        return cls([c for c, _ in split], kwargs, [mk.get("dropout", 0.0) for _, mk in split])

    def vector(self, key: str, device) -> torch.Tensor:
        return torch.tensor([float(getattr(c, key)) for c in self.configs], device=device)


MemberStop = Callable[[str, dict[str, Any]], bool]


def run_population(
    flats: Sequence[Mapping[str, Any]],
    bundle: DataBundle,
    report: Callable[[dict[str, Any], "dict[str, Any] | None"], None],
    *,
    threads: int | None = None,
    member_stop: MemberStop | None = None,
    resume: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Train the population; `report` gets {epoch, val_loss (best member), members: [...]} once per
    epoch. `member_stop(member_index, metrics)` ends a member (e.g. a MinDeltaStopper)."""
    if threads:
        torch.set_num_threads(max(1, int(threads)))
    pop = Population.from_flat(flats)
    first = pop.configs[0]
    device = pick_device(first)
    meta = bundle.meta
    data = trial_splits(bundle, first.val_fraction, first.train_size, first.test_size)
    x_tr, y_tr = to_device(data.train, bundle, device)
    x_va, y_va = to_device(data.val, bundle, device)
    x_te, y_te = to_device(data.test, bundle, device)
    x_tr, x_va, x_te = (x.flatten(1) for x in (x_tr, x_va, x_te))
    # Each member's labels (label noise) and initial weights come from its own seed, as unfused.
    y_members = torch.stack([shuffle_labels(y_tr, c.label_shuffle, c.seed) for c in pop.configs])
    models = []
    for c in pop.configs:
        seed_everything(c.seed)
        models.append(build_model(c, pop.model_kwargs, meta.input_shape, meta.num_classes, device=device))
    P = len(pop.configs)
    net = StackedMLP(models, pop.model_kwargs.get("activation", "relu"), torch.tensor(pop.dropout, device=device))
    active = torch.ones(P, device=device)
    opt = StackedOptimizer(first.optimizer, net.parameters(), pop.vector("lr", device), pop.vector("momentum", device),
                           pop.vector("weight_decay", device), active)
    gens = [torch.Generator(device=device).manual_seed(c.seed) for c in pop.configs]
    start, time_total = 1, torch.zeros(P)
    if resume is not None:
        for t, saved in zip(net.parameters(), resume["params"]):
            t.data.copy_(saved.to(device))
        opt.load_state_dict(resume["optimizer_state"])
        for g, s in zip(gens, resume["rng"]):
            g.set_state(s)
        active.copy_(resume["active"])
        start, time_total = resume["epoch"] + 1, resume["member_time_total_s"]
    n, bs = len(y_tr), first.batch_size
    stop = n - n % bs if first.drop_last else n
    step = make_step(PopulationStep(net, opt, x_tr, y_members), (P, bs), n, first.cuda_graph)
    fixed = {M.PARAM_COUNT: param_count(models[0]), M.DEVICE: device.type, M.DEVICE_NAME: device_name(device), M.FUSED_MEMBERS: P}
    history: list[dict[str, Any]] = []
    for epoch in range(start, first.max_epochs + 1):
        if not bool(active.any()):
            break
        t0 = time.perf_counter()
        perms = torch.stack([torch.randperm(n, device=device, generator=g) for g in gens])
        step.begin_epoch()
        for i in range(0, stop, bs):
            step(perms[:, i : min(i + bs, stop)])
        loss_sum, correct = step.loss_sum, step.correct
        train_time = time.perf_counter() - t0
        val = _evaluate(net, x_va, y_va)
        test = _evaluate(net, x_te, y_te)
        elapsed = time.perf_counter() - t0
        was_active = active.clone()
        n_active = int(was_active.sum())
        rows = []
        for j in torch.nonzero(was_active).flatten().tolist():
            share = elapsed / n_active  # the population's time, shared among the members it trained
            time_total[j] += share
            row = {
                M.EPOCH: epoch, M.TRAIN_LOSS: loss_sum[j].item() / max(stop, 1), M.TRAIN_ACC: correct[j].item() / max(stop, 1),
                M.VAL_LOSS: val[0][j].item(), M.VAL_ACC: val[1][j].item(), M.TEST_LOSS: test[0][j].item(), M.TEST_ACC: test[1][j].item(),
                M.EPOCH_TIME_S: share, M.TIME_TOTAL_S: time_total[j].item(),
                M.SAMPLES_PER_S: stop * n_active / train_time if train_time > 0 else float("nan"), M.TRAIN_SAMPLES: stop,
                **fixed, M.MEMBER: j, "config": dict(flats[j]),
            }
            if member_stop is not None and member_stop(str(j), row):
                active[j] = 0
            row[M.STOPPED] = not bool(active[j])
            rows.append(row)
        summary = {M.EPOCH: epoch, M.VAL_LOSS: min(r[M.VAL_LOSS] for r in rows), M.EPOCH_TIME_S: elapsed, MEMBERS: rows}
        done = epoch == first.max_epochs or not bool(active.any())
        due = epoch % first.checkpoint_every == 0 or done
        state = _snapshot(pop, meta, flats, net, opt, gens, active, epoch, time_total) if due else None
        report(summary, state)
        history.append(summary)
    return history


@torch.no_grad()
def _evaluate(net: StackedMLP, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-member mean cross-entropy and accuracy on shared inputs (float64, as the plain loop's)."""
    loss = correct = 0
    for i in range(0, len(y), EVAL_BATCH):
        out = net(x[i : i + EVAL_BATCH], train=False)  # (P, b, classes)
        yb = y[i : i + EVAL_BATCH].expand(out.shape[0], -1)
        loss = loss + F.cross_entropy(out.flatten(0, 1), yb.flatten(), reduction="none").view(out.shape[0], -1).sum(1)
        correct = correct + (out.argmax(-1) == yb).sum(1)
    n = max(len(y), 1)
    return loss.double() / n, correct.double() / n


def _snapshot(pop, meta, flats, net, opt, gens, active, epoch, time_total) -> dict[str, Any]:
    return {
        "model": pop.configs[0].model,
        "model_kwargs": {**pop.model_kwargs, "input_shape": list(meta.input_shape), "num_classes": meta.num_classes},
        "data": {"name": meta.name, "variant": meta.variant},
        "population": [dict(f) for f in flats],
        "params": [t.detach().cpu().clone() for t in net.parameters()],
        "optimizer_state": opt.state_dict(),
        "rng": [g.get_state() for g in gens],
        "active": active.cpu().clone(),
        "epoch": epoch,
        "member_time_total_s": time_total.clone(),
    }


def rebuild_member(state: Mapping[str, Any], member: int) -> nn.Module:
    """Member `member` of a population checkpoint as an ordinary MLP in eval mode on the CPU."""
    model = create_model(state["model"], **state["model_kwargs"])
    params = iter(state["params"])  # (W, b) per Linear layer, stacked over members
    for layer in (m for m in model.net if isinstance(m, nn.Linear)):
        layer.weight.data.copy_(next(params)[member].t())
        layer.bias.data.copy_(next(params)[member])
    return model.eval()
