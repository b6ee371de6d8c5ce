"""The README's first command, whole, against the whole docs-idiom process: `python -m
sweeps.mnist_width` (5 widths x 5 epochs) as a user runs it, and the Ray Tune quickstart's sweep of
the same widths and epochs with a torchvision DataLoader (benchmarks/sweep_vs_docs_idiom.py), each a
fresh process that starts and stops its own Ray, taking turns.

    python benchmarks/first_run.py [--rounds 3] [--baseline CHECKOUT] [--cold] [--settle 1.0] [--json FILE]

Each round runs our command (with --profile, whose phase table is collected), the baseline's
(another checkout of sweeplab, e.g. a git worktree of an earlier commit, run from its own folder)
and the idiom, one after the other; the medians, their ranges and their ratios are printed, with
the median of each phase and the load average before each run. `--cold` first runs our command
once with empty per-machine caches (calibration, phase times, probe timings, FLOPs), as on a
machine that never ran a sweep: that one is printed apart and is not in the medians.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WIDTHS = [50, 100, 200, 400, 800]  # sweeps.mnist_width's own grid
EPOCHS = 5
PHASE_LINE = re.compile(r"^  (.+?)\s+(\d+\.\d+) s\s+\d+%$")


SETTLE_WAIT_S = 180  # the longest wait for the load to settle before a run


def timed(cmd: list[str], cwd: Path, env: dict | None = None, settle: float | None = None) -> tuple[float, str, float]:
    """Wall seconds, stdout, and the 1-minute load average just before it started (after waiting,
    up to SETTLE_WAIT_S, for it to fall below `settle`: the previous run's own load decays first)."""
    deadline = time.monotonic() + SETTLE_WAIT_S
    while settle is not None and os.getloadavg()[0] >= settle and time.monotonic() < deadline:
        time.sleep(5)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return time.perf_counter() - t0, done.stdout, load


def phases(stdout: str) -> dict[str, float]:
    """The --profile table of a run's output: {phase: seconds}."""
    lines = stdout.split("profile: wall time per phase of this run", 1)[-1].splitlines()
    return {m[1]: float(m[2]) for m in map(PHASE_LINE.match, lines) if m}


def cold_env() -> dict:
    """The environment of a machine without caches: a fresh SWEEPLAB_DATA_DIR whose entries link
    to the real data folder's, so the data is the same and every cache beside it is new."""
    from data_modules.download import default_data_dir

    real, fresh = default_data_dir(), Path(tempfile.mkdtemp(prefix="sweeplab-cold-")) / "data"
    fresh.mkdir()
    for entry in real.iterdir() if real.is_dir() else ():
        (fresh / entry.name).symlink_to(entry)
    return {**os.environ, "SWEEPLAB_DATA_DIR": str(fresh)}


def summary(label: str, walls: list[float]) -> str:
    return f"{label:<34} median {statistics.median(walls):6.1f} s  (range {min(walls):.1f}-{max(walls):.1f}, {len(walls)} runs)"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--baseline", metavar="CHECKOUT", help="also time this checkout's command, from its own folder")
    p.add_argument("--cold", action="store_true", help="first, one run of ours with empty per-machine caches")
    p.add_argument("--no-idiom", action="store_true", help="only sweeplab's command (and the baseline's)")
    p.add_argument("--settle", type=float, metavar="LOAD",
                   help="before each run, wait (up to 3 minutes) for the 1-minute load average to fall below LOAD")
    p.add_argument("--json", metavar="FILE", help="also write every figure to FILE")
    args = p.parse_args()
    out = Path(tempfile.mkdtemp(prefix="sweeplab-first-run-"))
    ours = [sys.executable, "-m", "sweeps.mnist_width", "--profile", "--storage-path", str(out / "ours")]
    base = [sys.executable, "-m", "sweeps.mnist_width", "--profile", "--storage-path", str(out / "baseline")]
    sys.path[:0] = [str(ROOT), str(HERE)]
    from sweep_vs_docs_idiom import idiom_data

    data = None if args.no_idiom else idiom_data()[0]
    idiom = [sys.executable, str(HERE / "sweep_vs_docs_idiom.py"), "--idiom", str(data), "--epochs", str(EPOCHS),
             "--widths", ",".join(map(str, WIDTHS))]
    figures: dict = {"machine": f"{os.cpu_count()} cores", "widths": WIDTHS, "epochs": EPOCHS, "runs": []}
    print(f"mnist_width, {len(WIDTHS)} widths x {EPOCHS} epochs; each run a fresh process; {os.cpu_count()} cores")
    if args.cold:
        wall, stdout, load = timed(ours, ROOT, cold_env(), args.settle)
        figures["cold"] = {"wall": wall, "load": load, "phases": phases(stdout)}
        print(f"  cold run (empty caches)            {wall:6.1f} s  (load {load:.2f})")
    contenders = [("sweeplab", ours, ROOT)] + ([("baseline", base, Path(args.baseline))] if args.baseline else [])
    contenders += [] if args.no_idiom else [("docs idiom", idiom, ROOT)]
    for round_ in range(1, args.rounds + 1):
        for name, cmd, cwd in contenders:
            wall, stdout, load = timed(cmd, cwd, settle=args.settle)
            figures["runs"].append({"round": round_, "who": name, "wall": wall, "load": load, "phases": phases(stdout)})
            print(f"  round {round_}  {name:<12} {wall:6.1f} s  (load {load:.2f})", flush=True)
    walls = {name: [r["wall"] for r in figures["runs"] if r["who"] == name] for name, _, _ in contenders}
    print()
    for name, values in walls.items():
        print(summary(name, values))
    ours_median = statistics.median(walls["sweeplab"])
    for name in walls:
        if name != "sweeplab":
            print(f"{name} / sweeplab: {statistics.median(walls[name]) / ours_median:.2f}x")
    print_phases(figures["runs"], [name for name in walls if name != "docs idiom"])
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


def print_phases(runs: list[dict], names: list[str]) -> None:
    """The median seconds of each --profile phase, per contender that prints one."""
    tables = {name: [r["phases"] for r in runs if r["who"] == name and r["phases"]] for name in names}
    tables = {name: rows for name, rows in tables.items() if rows}
    if not tables:
        return
    labels = list(dict.fromkeys(label for rows in tables.values() for row in rows for label in row))
    print("\nmedian seconds per phase (--profile)")
    print(f"  {'phase':<58}" + "".join(f"{name:>12}" for name in tables))
    for label in labels:
        cells = [statistics.median([row.get(label, 0.0) for row in rows]) for rows in tables.values()]
        print(f"  {label:<58}" + "".join(f"{cell:12.2f}" for cell in cells))


if __name__ == "__main__":
    main()
