"""Per-trial overhead of a 200-trial sweep (toy2d, the PyTorch and NumPy 2-20-2 MLPs x 100 seeds,
2 epochs each, trials one by one, not fused): `python -m sweeps.toy2d` as a user runs it (plan,
progress display, collection, tables, plots, report) against plain Ray Tune running the same
trainable on the same configurations (Tuner.fit with defaults, then nothing). Each side runs in
its own process; the driver's peak memory is sampled every 0.2 s.

    python benchmarks/many_trials.py [--seeds 100] [--cpus 2]
    python benchmarks/many_trials.py --plain-tune-only   # (internal: the plain-Tune side)
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sweep_flags(seeds: int) -> list[str]:
    return ["--smoke-test", "--fuse", "off", "--repeats", str(seeds), "--max-epochs", "2",
            "--set", "toy_set=moons", "--set", "model=mlp,numpy_mlp"]


def measured(argv: list[str]) -> dict:
    """Run argv; wall seconds, peak driver RSS (MiB), the longest silence on stdout, its output."""
    import psutil
    import ray  # noqa: F401  (puts the psutil that Ray ships on sys.path)

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    peak, lines, gaps = 0, [], [0.0]

    def read():
        last = time.perf_counter()
        for line in proc.stdout:
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
            lines.append(line)

    reader = threading.Thread(target=read)
    reader.start()
    watched = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.2)
    reader.join()
    return {"wall_s": time.perf_counter() - start, "peak_rss_mib": peak / 2**20, "longest_silence_s": max(gaps),
            "lines": len(lines), "code": proc.returncode, "tail": "".join(lines[-12:])}


def plain_tune(seeds: int, cpus: int) -> None:
    """The same trials through plain Tune: defaults, the project's trainable and data."""
    import ray
    from ray import tune

    from data_modules.collection import load_datasets
    from sweeps.runner.cli import build_parser
    from sweeps.runner.plan import make_plan
    from sweeps.toy2d import SWEEP
    from trainables import metrics as M
    from trainables.families import trainable_for
    from trainables.provenance import git_commit

    args = build_parser("bench", "").parse_args(sweep_flags(seeds))
    plan = make_plan(SWEEP, args, gpu_available=False)
    data = load_datasets(SWEEP.dataset, None, plan.data, SWEEP.data_axes, plan.points())
    ray.init(num_cpus=cpus, include_dashboard=False)
    space = {**plan.fixed, **{k: tune.grid_search(v) for k, v in plan.grid.items()}}
    trainable = tune.with_parameters(trainable_for(SWEEP.objective), data=data, provenance={M.SWEEP: SWEEP.name,
                                                                                  M.GIT_COMMIT: git_commit()})
    tuner = tune.Tuner(tune.with_resources(trainable, {"cpu": 1}), param_space=space,
                       run_config=tune.RunConfig(storage_path=tempfile.mkdtemp(), verbose=0))
    results = tuner.fit()
    train = sum(r.metrics.get(M.TIME_TOTAL_S, 0.0) for r in results)
    print(json.dumps({"trials": len(results), "errors": len(results.errors), "train_s": train}), flush=True)


def sweeplab(seeds: int) -> list[str]:
    return [sys.executable, "-m", "sweeps.toy2d", "--storage-path", tempfile.mkdtemp(), *sweep_flags(seeds)]


def report(name: str, m: dict, trials: int, train_s: float, cpus: int) -> None:
    """One side's figures, printed as soon as it has run (a side may take many minutes)."""
    overhead = (m["wall_s"] - train_s / cpus) / trials
    print(f"{name:<24}{trials:>7}{m['wall_s']:9.1f}{train_s:10.1f}{m['wall_s'] / trials:11.3f}{overhead:11.3f}"
          f"{m['peak_rss_mib']:10.0f}{m['longest_silence_s']:10.1f}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=100, help="seeds per model: 2 x seeds trials (default 100: 200 trials)")
    p.add_argument("--plain-seeds", type=int, help="seeds for the plain-Tune side (default: --seeds; it is the slow one)")
    p.add_argument("--cpus", type=int, default=2)
    p.add_argument("--side", choices=("both", "sweeplab", "plain"), default="both")
    p.add_argument("--plain-tune-only", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.plain_tune_only:
        return plain_tune(a.seeds, a.cpus)
    print(f"2-epoch toy2d trials on {a.cpus} CPUs; overhead/trial = (wall - training inside trials / CPUs) / trials")
    print(f"{'':<24}{'trials':>7}{'wall s':>9}{'train s':>10}{'s/trial':>11}{'ovh/trial':>11}{'peak MiB':>10}"
          f"{'silence s':>10}", flush=True)
    if a.side in ("both", "sweeplab"):
        argv = sweeplab(a.seeds)
        ours = measured(argv)
        from analysis.results.tables import read_parquet

        trials, _ = read_parquet(Path(argv[argv.index("--storage-path") + 1]) / "toy2d" / "trials.parquet")
        report("sweeplab (whole run)", ours, 2 * a.seeds, float(trials["time_total_s"].sum()), a.cpus)
    if a.side in ("both", "plain"):
        seeds = a.plain_seeds or a.seeds
        plain = measured([sys.executable, __file__, "--plain-tune-only", "--seeds", str(seeds), "--cpus", str(a.cpus)])
        done = json.loads(plain["tail"].strip().splitlines()[-1])
        report("plain Tune (fit only)", plain, done["trials"], done["train_s"], a.cpus)


if __name__ == "__main__":
    main()
