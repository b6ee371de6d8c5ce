"""Fused population vs one trial after another, through the one loop, on the same data: P
same-shape models (learning rates and seeds differ), a few epochs each.

    python benchmarks/fused_population.py [--model mlp|cnn|gru] [--members 16] [--device cpu|cuda]
    python benchmarks/fused_population.py --model mlp --width 128 64 --batch 10   # the train-size study's MLP
    python benchmarks/fused_population.py --model mlp --engine functional         # vmap instead of the bmm fast path
    python benchmarks/fused_population.py --device cuda --cases mlp:16:60000,mlp:64:60000,cnn:8,gru:8 --sequential 2

Models: mlp = 2 x 400 ReLU at batch 64 on the MNIST sample; cnn = cifar_channels' CNN (C1 50,
C2 60, FC 300) at batch 128 on CIFAR-sized images; gru = the word GRU text classifier
(embedding 20, hidden 20, 100 tokens, 5,000 words) at batch 128. Prints seconds per epoch of
all members both ways, ms per model-epoch and the ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import torch

os.environ.setdefault("SWEEPLAB_OFFLINE", "1")

from data_modules import DataBundle, DataMeta, Split, load_dataset  # noqa: E402
from models.registry import Registry  # noqa: E402
from trainables import engines  # noqa: E402
from trainables.loop import device_name, run_training  # noqa: E402


def mnist_rows(rows: int | None) -> DataBundle:
    bundle = load_dataset("mnist")
    if not rows:
        return bundle
    reps = -(-rows // len(bundle.train))
    x = bundle.train.x.repeat(reps, 1, 1, 1)[: int(rows / 0.9)]
    y = bundle.train.y.repeat(reps)[: int(rows / 0.9)]
    return DataBundle(Split(x, y), bundle.test, bundle.meta)


def random_images(rows: int) -> DataBundle:
    """CIFAR-10-shaped uint8 images with random labels: the CNN's cost does not depend on content."""
    g = torch.Generator().manual_seed(0)
    split = lambda n: Split(torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8),  # noqa: E731
                            torch.randint(0, 10, (n,), generator=g))
    meta = DataMeta("cifar10", "random-cifar-shaped", (3, 32, 32), tuple(map(str, range(10))), (0.5,) * 3, (0.25,) * 3)
    return DataBundle(split(rows), split(rows // 5), meta)


def random_tokens(rows: int, length: int = 100, vocab: int = 5000) -> DataBundle:
    g = torch.Generator().manual_seed(0)
    split = lambda n: Split(torch.randint(0, vocab, (n, length), generator=g), torch.randint(0, 15, (n,), generator=g))  # noqa: E731
    meta = DataMeta("text", "random-tokens", (length,), tuple(map(str, range(15))))
    return DataBundle(split(rows), split(rows // 5), meta)


MODELS = {  # name -> (data maker, default rows, model and training settings)
    "mlp": (mnist_rows, None, {"width": 400, "depth": 2, "batch_size": 64}),
    "cnn": (random_images, 2000, {"model": "cnn", "c1": 50, "c2": 60, "fc": 300, "batch_size": 128}),
    "gru": (random_tokens, 2000, {"model": "rnn_classifier", "vocab_size": 5000, "embedding": 20, "hidden": 20,
                                  "batch_size": 128, "optimizer": "adam"}),
}


def configs(settings: dict, members: int, device: str, epochs: int) -> list[dict]:
    lrs = torch.logspace(-3, -1, members).tolist()
    return [{**settings, "lr": lr, "seed": i, "max_epochs": epochs, "device": device, "checkpoint_every": 10**6}
            for i, lr in enumerate(lrs)]


def best_epoch(flats, bundle) -> float:
    """Seconds of the best epoch after the first (which pays one-off allocation, warm-up and,
    on CUDA, graph capture): on a shared machine the minimum is the figure least disturbed by
    neighbours."""
    times: list[float] = []
    run_training(flats, bundle, lambda rows, s: times.append(sum(r["epoch_time_s"] for r in rows)))
    return min(times[1:] or times)


def measure(model: str, members: int, device: str = "cpu", rows: int | None = None, epochs: int = 3,
            sequential: int | None = None, width: list[int] | None = None, batch: int | None = None) -> dict:
    """ms per model-epoch fused and one after another (the first `sequential` members alone,
    default all of them, scaled to per model), and their ratio."""
    make, default_rows, settings = MODELS[model]
    settings = dict(settings)
    if width:
        settings.update(width=width, depth=len(width))
    if batch:
        settings["batch_size"] = batch
    bundle = make(rows or default_rows)
    flats = configs(settings, members, device, epochs)
    fused = best_epoch(flats, bundle)
    alone = flats[: sequential or members]
    per_model_alone = sum(best_epoch([flat], bundle) for flat in alone) / len(alone)
    functional = model != "mlp" or not engines.FAST_PATHS
    return {"model": model, "members": members, "rows": rows or len(bundle.train), "device": device_name(torch.device(device)),
            "settings": {k: v for k, v in settings.items() if k != "model"},
            "engine": "torch.func vmap" if functional else "bmm fast path",
            "fused_ms_per_model_epoch": 1000 * fused / members,
            "alone_ms_per_model_epoch": 1000 * per_model_alone, "members_timed_alone": len(alone),
            "fused_speedup": per_model_alone * members / fused}


def parse_case(text: str) -> dict:
    """MODEL:MEMBERS[:ROWS], e.g. mlp:16:60000."""
    model, members, *rows = text.split(":")
    if model not in MODELS:
        raise argparse.ArgumentTypeError(f"{text}: unknown model {model!r}; allowed: {', '.join(sorted(MODELS))}")
    return {"model": model, "members": int(members), "rows": int(rows[0]) if rows else None}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=sorted(MODELS), default="mlp")
    p.add_argument("--members", type=int, default=16)
    p.add_argument("--rows", type=int, help="training rows per epoch")
    p.add_argument("--cases", type=lambda t: [parse_case(c) for c in t.split(",")],
                   help="several populations in one process, MODEL:MEMBERS[:ROWS],... (instead of --model/--members/--rows)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--sequential", type=int, help="time only this many members one after another (default: all)")
    p.add_argument("--width", type=int, nargs="+", help="mlp: hidden layer sizes (default 400 400)")
    p.add_argument("--batch", type=int, help="batch size (default: the model's)")
    p.add_argument("--engine", choices=("auto", "functional"), default="auto",
                   help="functional: torch.func vmap even where a hand-written fast path exists")
    p.add_argument("--json", metavar="FILE", help="also write the figures to FILE, after each case (benchmarks/gpu_suite.py)")
    args = p.parse_args()
    if args.engine == "functional":
        engines.FAST_PATHS = Registry("fast path")  # none: every model through torch.func
    cases = args.cases or [{"model": args.model, "members": args.members, "rows": args.rows}]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {device_name(torch.device(args.device))}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    results = []
    for case in cases:
        try:  # one case failing (say, a model CUDA graphs cannot capture) leaves the others' figures
            f = measure(**case, device=args.device, epochs=args.epochs, sequential=args.sequential, width=args.width,
                        batch=args.batch)
        except Exception as e:
            f = {**case, "error": f"{type(e).__name__}: {e}".splitlines()[0]}
            print(f"{case['members']} x {case['model']}: failed: {f['error']}")
        else:
            print(f"{f['members']} x {f['model']} {f['settings']}, {f['rows']} training rows per epoch; fused engine: {f['engine']}")
            print(f"  one after another ({f['members_timed_alone']} timed): {f['alone_ms_per_model_epoch']:8.1f} ms per model-epoch")
            print(f"  fused population : {f['fused_ms_per_model_epoch']:8.1f} ms per model-epoch"
                  f"   ({f['fused_speedup']:.2f}x one after another)")
        results.append(f)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
