"""Character language models on this machine: (1) characters per second of the project's
training step (the loop's language-model objective: windows drawn on the device, Adam, clipping)
against a plain PyTorch loop of the same model, for the hand-written MLP-gated LSTM and for
nn.LSTM; (2) the best validation loss a model reaches in a wall-time budget through the loop.

    python benchmarks/lm_step.py                         # both parts, 10 minutes for the second
    python benchmarks/lm_step.py --minutes 3 --skip-speed
    python benchmarks/lm_step.py --data-dir ../shared/data   # DIR/tinyshakespeare/input.txt
    python benchmarks/lm_step.py --corpus input.txt      # any text file

Target: our step at least as fast as the plain loop on the CPU. The corpus is tiny-shakespeare
when it is in the data folder, else the pydoc_data fallback (printed).
"""
from __future__ import annotations

import argparse
import os
import time

import torch
import torch.nn.functional as F

os.environ.setdefault("SWEEPLAB_OFFLINE", "1")

from data_modules import load_dataset  # noqa: E402
from data_modules.corpus import SEQ_LEN  # noqa: E402
from models import create_model  # noqa: E402
from trainables.loop import build_trainer, run_training  # noqa: E402

MODELS = {"hand-written MLP-gated LSTM (small)": {"model": "mlp_lstm", "gate_layers": 1, "state": 64, "units": 64},
          "nn.LSTM (hidden 128)": {"model": "torch_lstm", "hidden": 128}}
TRAINING = {"optimizer": "adam", "lr": 2e-3, "clip_grad_norm": 5.0, "checkpoint_every": 10**9}


def ours_seconds_per_step(bundle, model_args: dict, batch: int, steps: int) -> float:
    flat = {**model_args, **TRAINING, "batch_size": batch, "max_steps": steps}
    trainer = build_trainer([flat], bundle, lambda rows, state: None, objective="language_model", threads=torch.get_num_threads())
    return trainer.time_steps(steps, warmup=2)


def plain_seconds_per_step(bundle, model_args: dict, batch: int, steps: int) -> float:
    """The loop every tutorial writes: random windows, forward, cross-entropy, backward, clip, Adam."""
    torch.manual_seed(0)
    args = {k: v for k, v in model_args.items() if k != "model"}
    model = create_model(model_args["model"], input_shape=(SEQ_LEN,), num_classes=len(bundle.meta.classes), **args)
    opt = torch.optim.Adam(model.parameters(), lr=TRAINING["lr"])
    stream, offsets = bundle.train.x, torch.arange(SEQ_LEN + 1)
    g = torch.Generator().manual_seed(0)

    def step():
        tokens = stream[torch.randint(0, len(stream) - SEQ_LEN, (batch,), generator=g).unsqueeze(-1) + offsets]
        opt.zero_grad()
        out = model(tokens[:, :-1])
        F.cross_entropy(out.flatten(0, 1), tokens[:, 1:].flatten()).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), TRAINING["clip_grad_norm"])
        opt.step()

    for _ in range(2):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t0) / steps


def speed(bundle, batch: int, steps: int, rounds: int) -> None:
    print(f"\ntraining step, batch {batch} x {SEQ_LEN} characters, best of {rounds} interleaved rounds of {steps} steps")
    for name, model_args in MODELS.items():
        ours = min(ours_seconds_per_step(bundle, model_args, batch, steps) for _ in range(rounds))
        plain = min(plain_seconds_per_step(bundle, model_args, batch, steps) for _ in range(rounds))
        chars = batch * SEQ_LEN
        print(f"  {name:<38} ours {chars / ours:9,.0f} chars/s   plain PyTorch {chars / plain:9,.0f} chars/s   "
              f"ratio {plain / ours:.2f}x")


class Budget:
    """member_stop rule for the loop: stop once the wall-time budget is spent (picklable)."""

    def __init__(self, seconds: float):
        self.deadline = time.perf_counter() + seconds

    def __call__(self, member: str, row: dict) -> bool:
        return time.perf_counter() >= self.deadline


def best_in_budget(bundle, model_args: dict, batch: int, minutes: float, eval_every: int) -> None:
    rows: list[dict] = []
    flat = {**model_args, **TRAINING, "batch_size": batch, "max_steps": 10**7, "eval_every": eval_every,
            "eval_at_start": True}
    t0 = time.perf_counter()
    run_training([flat], bundle, lambda r, s: rows.extend(r), objective="language_model",
                 threads=torch.get_num_threads(), member_stop=Budget(minutes * 60))
    best = min(rows, key=lambda r: r["val_loss"])
    print(f"\nbest validation loss in {minutes:g} min ({time.perf_counter() - t0:.0f} s with evaluations): "
          f"{best['val_loss']:.3f} nats = {best['val_bits_per_char']:.3f} bits/char at step {best['step']:,} "
          f"of {rows[-1]['step']:,} ({model_args}, batch {batch}); untrained {rows[0]['val_loss']:.3f} nats")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", help="a UTF-8 text file (default: tiny-shakespeare in the data dir, else the fallback)")
    p.add_argument("--data-dir", help="the data folder whose tinyshakespeare/input.txt to use (e.g. ../shared/data)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--skip-speed", action="store_true")
    p.add_argument("--skip-budget", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    bundle = load_dataset("char_corpus", corpus=args.corpus, data_dir=args.data_dir)
    print(f"torch {torch.__version__}, {args.threads} thread(s); corpus {bundle.meta.variant}: "
          f"{len(bundle.train.x):,} training characters, {len(bundle.meta.classes)} symbols")
    if not args.skip_speed:
        speed(bundle, args.batch, args.steps, args.rounds)
    if not args.skip_budget:
        best_in_budget(bundle, {"model": "torch_lstm", "hidden": 256}, 64, args.minutes, eval_every=100)


if __name__ == "__main__":
    main()
