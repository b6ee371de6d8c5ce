"""The minimal-ratio study over many trials, in one process against one worker process per CPU
(analysis.results.trial_models.Selection.map): wall time, speed-up, and that the rows are identical.

    python benchmarks/study_workers.py [RESULTS_DIR] [--seeds 16] [--epochs 20] [--threshold 1e-5]

Without RESULTS_DIR it trains `--seeds` runs of the minimal_ratio sweep for `--epochs` epochs
into a temporary folder first (through Ray, as `python -m sweeps.minimal_ratio` does).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.results.sections import read_frames, run_study  # noqa: E402
from trainables.provenance import machine_cpus  # noqa: E402


def trained(folder: Path, seeds: int, epochs: int) -> Path:
    argv = [sys.executable, "-m", "sweeps.minimal_ratio", "--storage-path", str(folder), "--max-epochs", str(epochs),
            "--set", "seed=" + ",".join(map(str, range(seeds)))]
    subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return folder / "minimal_ratio"


def timed(results: Path, workers: int, threshold: float) -> tuple[float, pd.DataFrame]:
    start = time.perf_counter()
    run_study("minimal_ratio", results, "all", threshold=threshold, workers=workers)
    return time.perf_counter() - start, read_frames(results, "minimal_ratio")["minimal_ratio"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="?", type=Path)
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threshold", type=float, default=1e-5)
    args = parser.parse_args()
    cpus = machine_cpus()
    with tempfile.TemporaryDirectory() as tmp:
        results = args.results or trained(Path(tmp), args.seeds, args.epochs)
        one, serial = timed(results, 1, args.threshold)
        many, parallel = timed(results, cpus, args.threshold)
        pd.testing.assert_frame_equal(serial, parallel)
        print(f"minimal_ratio study, {len(serial)} trials of {int(serial['params'].iloc[0])} parameters, "
              f"{int(serial['steps'].sum())} L-BFGS steps in all, threshold {args.threshold:g}:")
        print(f"  1 process:   {one:.1f} s")
        print(f"  {cpus} processes: {many:.1f} s  ({one / many:.2f}x; rows identical)")


if __name__ == "__main__":
    main()
