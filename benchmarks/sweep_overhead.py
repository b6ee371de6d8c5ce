"""Where the wall time of a small sweep goes: `mnist_width` (5 widths x 5 epochs on the
4,000-image sample by default), phase by phase, in one process as a user runs it.

    python benchmarks/sweep_overhead.py [-- extra sweep flags, e.g. --set width=50,100]
"""
from __future__ import annotations

import sys
import tempfile
import time

T0 = time.perf_counter()
marks: list[tuple[str, float]] = []


def mark(label: str) -> None:
    marks.append((label, time.perf_counter()))


def main() -> None:
    from sweeps import runner  # noqa: F401  (the imports a sweep pays: torch, ray, pandas ...)
    from sweeps.mnist_width import SWEEP

    mark("imports (torch, ray, tune, pandas)")
    from data_modules.collection import load_datasets
    from sweeps.runner.cli import parse_flags
    from sweeps.runner.finish import finish
    from sweeps.runner.plan import decide_fusion, make_plan, order_by_cost, validate_plan

    args = parse_flags("sweeps.mnist_width", "", ["--storage-path", tempfile.mkdtemp(), *sys.argv[1:]])
    plan = make_plan(SWEEP, args, gpu_available=False)
    data = load_datasets(SWEEP.dataset, args.data_dir, plan.data, SWEEP.data_axes, plan.points())
    mark("data load (once per sweep)")
    validate_plan(plan, data)
    order_by_cost(plan, data)
    decide_fusion(plan, data, args.fuse, args.population_size)
    place = runner.new_place(SWEEP, args)
    exp_dir = place.local
    mark("plan + validation")
    runner.start_ray(args, plan)
    mark("ray.init")
    runner.fit(plan, data, args, place)
    mark("Tune fit (trials incl. worker start)")
    stopping = runner.ray_session.stop_ray_in_background()  # as the runner does
    trials = finish(plan, data, exp_dir, {"command": "benchmark"})
    stopping.join()
    mark("ray.shutdown || collect + predictions + plots + report")
    train = trials["time_total_s"].sum()

    print("\nphase                                      seconds")
    last = T0
    for label, t in marks:
        print(f"{label:<42} {t - last:7.2f}")
        last = t
    print(f"{'total wall':<42} {last - T0:7.2f}")
    print(f"training math inside trials (sum of epoch times): {train:.2f} s")


if __name__ == "__main__":
    main()
