"""The estimate a sweep prints before it starts against its actual wall time: runs each command
as a user would (a fresh process, results under a temporary --storage-path), reads its
"estimated wall time" line, times the whole command, and prints one row per command with the
ratio actual / estimate and the load average around it.

    python benchmarks/estimate_vs_actual.py                 # the six runs of issue 21
    python benchmarks/estimate_vs_actual.py --log runs.log  # also every output line, time-stamped
    python benchmarks/estimate_vs_actual.py -c "python -m sweeps.toy2d --smoke-test"

Every finished run records its phase times in the machine's phase cache
(sweeps.runner.calibration.PhaseTimes), so a second pass estimates from the first one's
measurements: run it twice on a quiet machine for the table of record.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"  # ../shared/data beside the checkout
RUNS = [
    "python -m sweeps.mnist_width",
    "python -m sweeps.toy2d",
    "python -m sweeps.palindrome --smoke-test",
    "python -m sweeps.char_lm --smoke-test --data-dir {data}",
    "python -m sweeps.char_lm --data-dir {data} --set max_steps=500",
    "python -m sweeps.text_models --smoke-test --data-dir {data}",
]
ESTIMATE = re.compile(r"estimated wall time: ([\d.]+) (s|min|h)")
UNIT_S = {"s": 1.0, "min": 60.0, "h": 3600.0}


def parse_estimate(output: str) -> float | None:
    """Seconds of the first "estimated wall time: N unit" line (None: the run printed none)."""
    found = ESTIMATE.search(output)
    return float(found.group(1)) * UNIT_S[found.group(2)] if found else None


def run_one(command: str, storage: str, log) -> tuple[float, float | None, int, str]:
    """(wall seconds, estimated seconds, exit code, load averages before/after) of one command."""
    argv = shlex.split(command)
    if argv[0] == "python":
        argv[0] = sys.executable
    argv += ["--storage-path", storage]
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "SWEEPLAB_OFFLINE": os.environ.get("SWEEPLAB_OFFLINE", "1"),
                                 "PYTHONUNBUFFERED": "1"})  # each line stamped when printed
    lines = []

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            if log is not None:
                log.write(f"{time.perf_counter() - start:7.2f} {line}")
                log.flush()  # `tail -f` follows a long run

    reader = threading.Thread(target=read)
    reader.start()
    code = proc.wait()
    wall = time.perf_counter() - start
    reader.join()
    if log is not None:
        log.write(f"{wall:7.2f} [exit {code}] {command}\n\n")
        log.flush()
    return wall, parse_estimate("".join(lines)), code, f"{load_before:.1f}/{os.getloadavg()[0]:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--command", action="append", help="a command to run instead of the six (repeatable)")
    parser.add_argument("--data-dir", default=str(DATA), help="where tinyshakespeare/ and dbpedia/ are (default: %(default)s)")
    parser.add_argument("--log", help="write every output line, time-stamped from the command's start, to this file")
    args = parser.parse_args(argv)
    log = open(args.log, "a") if args.log else None
    print("| run | estimate | actual | actual / estimate | load before/after | exit |\n|---|---|---|---|---|---|", flush=True)
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="estimate_vs_actual_") as storage:
        for command in args.command or [run.format(data=args.data_dir) for run in RUNS]:
            wall, estimate, code, load = run_one(command, storage, log)
            ratio = wall / estimate if estimate else float("nan")
            worst = max(worst, ratio, 1 / ratio if ratio else 0.0)
            shown = f"{estimate:.0f} s" if estimate is not None else "none printed"
            print(f"| `{command}` | {shown} | {wall:.0f} s | {ratio:.2f} | {load} | {code} |", flush=True)
    print(f"\nfurthest from 1: {worst:.2f}x (the aim: within 1.5x either way)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
