"""Optimizer registry: name -> builder(params, TrainConfig, device).

The update rules are torch.optim's (SGD with momentum and L2 weight decay, dampening 0; Adam
with L2 weight decay; RMSprop alpha 0.99; Adagrad without lr decay), run as one fused kernel
(SGD, Adam) or a few foreach kernels (RMSprop, Adagrad) per step, and the state slots have
torch.optim's names. Why not torch.optim itself: its constructor and first step import
torch._dynamo, 1.3 s in every fresh trial worker on a laptop core, which is most of a small
trial's start-up. The fused kernels are the ones torch.optim calls (fused SGD cut a CPU step of
the 2 x 400 MLP from 2.1 to 1.7 ms). All state lives in device tensors and no step reads a
value back to the host, so a step can be captured in a CUDA graph.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import torch


class Optimizer:
    """Per-parameter state slots (created on the first step), zero_grad, step, state_dict."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, weight_decay: float = 0.0):
        self.params = [p for p in params if p.requires_grad]
        if len({(p.device, p.dtype) for p in self.params}) > 1:
            raise ValueError("all parameters must share one device and dtype")
        self.lr, self.weight_decay = float(lr), float(weight_decay)
        self.state: dict[torch.Tensor, dict[str, torch.Tensor]] = {p: {} for p in self.params}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        params = [p for p in self.params if p.grad is not None]
        if params:
            self.update(params, [p.grad for p in params])

    def update(self, params: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
        raise NotImplementedError

    def slots(self, name: str, params: list[torch.Tensor], make=torch.zeros_like) -> list[torch.Tensor]:
        """The `name` slot of each parameter, made by `make(p)` where it does not exist yet."""
        found = []
        for p in params:
            if name not in self.state[p]:  # not setdefault: that would allocate on every step
                self.state[p][name] = make(p)
            found.append(self.state[p][name])
        return found

    def with_decay(self, params: list[torch.Tensor], grads: list[torch.Tensor]) -> list[torch.Tensor]:
        """g + weight_decay * p (L2), without touching the gradients themselves."""
        return torch._foreach_add(grads, params, alpha=self.weight_decay) if self.weight_decay else grads

    def state_dict(self) -> dict[str, Any]:
        return {"state": [{k: v.detach().clone() for k, v in self.state[p].items()} for p in self.params]}

    def load_state_dict(self, saved: Mapping[str, Any]) -> None:
        for p, slots in zip(self.params, saved["state"]):
            self.state[p] = {k: v.to(p.device) for k, v in slots.items()}


class SGD(Optimizer):
    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        self.momentum = float(momentum)

    def update(self, params, grads):
        first = self.momentum != 0 and any("momentum_buffer" not in self.state[p] for p in params)
        buffers = self.slots("momentum_buffer", params, torch.empty_like) if self.momentum else []
        torch._fused_sgd_(params, grads, buffers, weight_decay=self.weight_decay, momentum=self.momentum, lr=self.lr,
                          dampening=0.0, nesterov=False, maximize=False, is_first_step=first)


class Adam(Optimizer):
    def __init__(self, params, lr: float, weight_decay: float = 0.0, betas=(0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, lr, weight_decay)
        self.betas, self.eps = (float(betas[0]), float(betas[1])), float(eps)

    def update(self, params, grads):
        steps = self.slots("step", params, lambda p: torch.zeros((), dtype=torch.float32, device=p.device))
        torch._foreach_add_(steps, 1)
        torch._fused_adam_(params, grads, self.slots("exp_avg", params), self.slots("exp_avg_sq", params), [], steps,
                           lr=self.lr, beta1=self.betas[0], beta2=self.betas[1], weight_decay=self.weight_decay,
                           eps=self.eps, amsgrad=False, maximize=False)


class RMSprop(Optimizer):
    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0, alpha: float = 0.99,
                 eps: float = 1e-8):
        super().__init__(params, lr, weight_decay)
        self.momentum, self.alpha, self.eps = float(momentum), float(alpha), float(eps)

    def update(self, params, grads):
        grads = self.with_decay(params, grads)
        square_avg = self.slots("square_avg", params)
        torch._foreach_mul_(square_avg, self.alpha)
        torch._foreach_addcmul_(square_avg, grads, grads, value=1 - self.alpha)
        avg = torch._foreach_sqrt(square_avg)
        torch._foreach_add_(avg, self.eps)
        if self.momentum:
            buffers = self.slots("momentum_buffer", params)
            torch._foreach_mul_(buffers, self.momentum)
            torch._foreach_addcdiv_(buffers, grads, avg)
            torch._foreach_add_(params, buffers, alpha=-self.lr)
        else:
            torch._foreach_addcdiv_(params, grads, avg, value=-self.lr)


class Adagrad(Optimizer):
    def __init__(self, params, lr: float, weight_decay: float = 0.0, eps: float = 1e-10):
        super().__init__(params, lr, weight_decay)
        self.eps = float(eps)

    def update(self, params, grads):
        grads = self.with_decay(params, grads)
        sums = self.slots("sum", params)
        torch._foreach_addcmul_(sums, grads, grads, value=1)
        std = torch._foreach_sqrt(sums)
        torch._foreach_add_(std, self.eps)
        torch._foreach_addcdiv_(params, grads, std, value=-self.lr)


class MemberOptimizer(Optimizer):
    """The same four update rules for a population: parameters are stacked (member, ...) and
    lr, momentum and weight decay are (P,) vectors, one value per member. `active` (P,) masks
    the update of stopped members. In-place arithmetic (no temporaries the size of the
    population's weights beyond one per rule), no host reads: capturable in a CUDA graph."""

    def __init__(self, kind: str, params, lr: torch.Tensor, momentum: torch.Tensor, weight_decay: torch.Tensor,
                 active: torch.Tensor, betas=(0.9, 0.999), alpha: float = 0.99, eps: float | None = None):
        super().__init__(params, lr=0.0)
        if kind not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {kind!r}; allowed: {', '.join(OPTIMIZERS)}")
        self.kind, self.active, self.betas, self.alpha = kind, active, betas, alpha
        self.eps = eps if eps is not None else (1e-10 if kind == "adagrad" else 1e-8)  # torch.optim's defaults
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay  # (P,) each
        self.decay = bool((weight_decay != 0).any())  # decided once: no host sync inside a CUDA graph
        self.has_momentum = bool((momentum != 0).any())

    @staticmethod
    def per_member(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return v.view(-1, *([1] * (like.dim() - 1)))

    def update(self, params, grads) -> None:
        # One launch for every parameter's step sizes: on a GPU a small population's step is a
        # chain of tiny kernels, and each launch costs about as much as its work.
        lr = self.lr * self.active
        for p, g in zip(params, grads):  # g is consumed: p.grad is dropped below
            if self.decay:
                g.addcmul_(self.per_member(self.weight_decay, p), p)
            getattr(self, "_" + self.kind)(p, g, self.per_member(lr, p))
            p.grad = None

    def _sgd(self, p, g, lr):
        st = self.state[p]
        if self.has_momentum:  # torch.optim.SGD: buf = g on the first step, then m * buf + g
            if "momentum_buffer" in st:  # g + buf * m in one pass over the weights, not two
                buf = st["momentum_buffer"]
                g = torch.addcmul(g, buf, self.per_member(self.momentum, p), out=buf)
            st["momentum_buffer"] = g
        p.addcmul_(lr, g, value=-1)

    def _adam(self, p, g, lr):
        b1, b2 = self.betas
        (steps,) = self.slots("step", [p], lambda p: torch.zeros((), device=p.device))
        (m,), (v,) = self.slots("exp_avg", [p]), self.slots("exp_avg_sq", [p])
        steps += 1
        m.lerp_(g, 1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        update = v.sqrt().div_((1 - b2**steps).sqrt()).add_(self.eps)  # the one temporary
        torch.div(m, update, out=update)
        p.addcmul_(lr / (1 - b1**steps), update, value=-1)

    def _rmsprop(self, p, g, lr):
        (square_avg,) = self.slots("square_avg", [p])
        square_avg.mul_(self.alpha).addcmul_(g, g, value=1 - self.alpha)
        avg = square_avg.sqrt().add_(self.eps)
        if self.has_momentum:
            (buf,) = self.slots("momentum_buffer", [p])
            buf.mul_(self.per_member(self.momentum, p)).addcdiv_(g, avg)
            p.addcmul_(lr, buf, value=-1)
        else:
            p.addcmul_(lr, avg.reciprocal_().mul_(g), value=-1)

    def _adagrad(self, p, g, lr):
        (sums,) = self.slots("sum", [p])
        sums.addcmul_(g, g)
        std = sums.sqrt().add_(self.eps)
        p.addcmul_(lr, std.reciprocal_().mul_(g), value=-1)


OPTIMIZERS = {
    "sgd": lambda params, c: SGD(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay),
    "adam": lambda params, c: Adam(params, lr=c.lr, weight_decay=c.weight_decay),
    "rmsprop": lambda params, c: RMSprop(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay),
    "adagrad": lambda params, c: Adagrad(params, lr=c.lr, weight_decay=c.weight_decay),
}


def build_optimizer(params, cfg) -> Optimizer:
    return OPTIMIZERS[cfg.optimizer](params, cfg)
