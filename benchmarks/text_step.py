"""Training-step time of the four text classifiers of the DBpedia studies (batch 128, Adam, one
thread, as one trial of a sweep gets), through the project's loop; and the char CNN's first
convolution three ways: the one-hot input as summed lookups with their own backward (ours,
models.text.SummedLookups), the 20 shifted slices it replaced, and the docs idiom, a dense
convolution over a one-hot tensor.

    python benchmarks/text_step.py --data-dir ../shared/data   # the course's files (DIR or DIR/dbpedia)
    python benchmarks/text_step.py                             # the committed 42-row fixture

Interleaved rounds; the median of each is printed, with ratios against ours.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

os.environ.setdefault("SWEEPLAB_OFFLINE", "1")

from data_modules import load_dataset  # noqa: E402
from models import create_model  # noqa: E402
from sweeps.families.text_classifiers import TEXT_MODELS, TEXT_TRAINING  # noqa: E402
from trainables.loop import build_trainer  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "dbpedia_course"


def sliced(model, ids: torch.Tensor) -> torch.Tensor:
    """The previous form: each byte's taps looked up, then 20 shifted slices summed."""
    taps = model.c1_taps(ids).unflatten(-1, (model.filters, model.kernel))
    out_len = ids.shape[1] - model.kernel + 1
    return (sum(taps[:, k : k + out_len, :, k] for k in range(model.kernel)) + model.c1_bias).transpose(1, 2)


def one_hot_conv(model, ids: torch.Tensor) -> torch.Tensor:
    """The docs idiom: a (B, 256, L) one-hot tensor through a dense convolution."""
    weight = model.c1_taps.weight.view(256, model.filters, model.kernel).permute(1, 0, 2)
    return F.conv1d(F.one_hot(ids, 256).float().transpose(1, 2), weight, model.c1_bias)


FIRST_CONVOLUTIONS = {"summed lookups (ours)": lambda m, ids: m.first_convolution(ids),
                      "20 shifted slices (before)": sliced, "one-hot conv1d (docs idiom)": one_hot_conv}


def convolution_ms(form, model, ids: torch.Tensor, steps: int) -> float:
    grad = torch.randn(ids.shape[0], model.filters, ids.shape[1] - model.kernel + 1)
    for _ in range(2):
        torch.autograd.grad(form(model, ids), model.c1_taps.weight, grad)
    t0 = time.perf_counter()
    for _ in range(steps):
        torch.autograd.grad(form(model, ids), model.c1_taps.weight, grad)
    return 1000 * (time.perf_counter() - t0) / steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", help="folder holding train_medium.csv / test_medium.csv (default: the fixture)")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    args = p.parse_args()
    torch.set_num_threads(1)
    bundle = load_dataset("text_csv", data_dir=args.data_dir or FIXTURE)
    print(f"data: {bundle.meta.variant}; {bundle.meta.notes[0]}")
    figures: dict[str, float] = {}
    training = {k: v for k, v in TEXT_TRAINING.items() if k != "val_fraction"}
    trainers = {name: build_trainer([{**training, **settings, "max_epochs": 1, "seed": 0,
                                      "batch_size": min(128, len(bundle.train))}],
                                    bundle, lambda rows, state: None, threads=1)
                for name, settings in TEXT_MODELS.items()}
    times: dict[str, list[float]] = {name: [] for name in trainers}
    model = create_model("text_cnn", input_shape=(2, 100), num_classes=15, tokens="char")
    ids = bundle.train.x[:128, 0].repeat(-(-128 // len(bundle.train)), 1)[:128]
    conv: dict[str, list[float]] = {name: [] for name in FIRST_CONVOLUTIONS}
    for r in range(args.rounds):  # interleaved: a slow moment of the machine hits every form
        for name, trainer in trainers.items():
            times[name].append(1000 * trainer.time_steps(args.steps, warmup=2 if r == 0 else 0))
        for name, form in FIRST_CONVOLUTIONS.items():
            conv[name].append(convolution_ms(form, model, ids, args.steps))
    batch = min(128, len(bundle.train))
    per_epoch = -(-len(bundle.train) // batch)
    print(f"\ntraining step, batch {batch}, 1 thread (median of {args.rounds} rounds):")
    for name, values in times.items():
        figures[f"step_ms_{name}"] = statistics.median(values)
        print(f"  {name:<10} {figures[f'step_ms_{name}']:7.2f} ms/step  ({per_epoch * figures[f'step_ms_{name}'] / 1000:.2f} s "
              f"per epoch of {len(bundle.train):,} documents)")
    print("\nchar CNN first convolution, forward + backward of its weights, batch 128:")
    ours = statistics.median(conv["summed lookups (ours)"])
    for name, values in conv.items():
        figures[f"c1_ms_{name}"] = statistics.median(values)
        print(f"  {name:<28} {figures[f'c1_ms_{name}']:7.2f} ms  ({figures[f'c1_ms_{name}'] / ours:.1f}x ours)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
