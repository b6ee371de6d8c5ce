"""Behaviour kept across a refactor: every sweep's --smoke-test (seed 0) run from one checkout,
then two such snapshots compared. Same metric values (max difference 0), the same Parquet
columns, the same report sections and the same plots by name, or a line per difference.

    python benchmarks/smoke_snapshot.py run /tmp/before --code /tmp/old-checkout   # the commit before
    python benchmarks/smoke_snapshot.py run /tmp/after                             # this checkout
    python benchmarks/smoke_snapshot.py compare /tmp/before /tmp/after

`run` finds the sweeps as files of CODE/sweeps/ that declare `SWEEP = ` (a checkout from before
the catalogue moved has them there too), and runs each as `python -m sweeps.NAME` with CODE first
on the path, with `--fuse on` (off where nothing can fuse) and `--scheduler none` (whether trials fuse and where ASHA stops one
depend on timings). Timings, timestamps, trial ids and provenance differ between any two runs and
are not compared.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Columns that differ between any two runs of the same code: clocks, ids, provenance.
RUN_SPECIFIC = re.compile(r"time|per_s|_s$|^seconds$|^run_[ab]$|_at$|^trial_id$|^git_commit$|_version$|^node_id$|^device_name$|^logdir$|^date$"
                          r"|^hostname$|^pid$|^node_ip$|^gpu_peak_mib$|^error|^checkpoint")
TABLES = ("results.parquet", "trials.parquet")


def sweeps_in(code: Path) -> list[str]:
    return sorted(p.stem for p in (code / "sweeps").glob("*.py") if re.search(r"^SWEEP = ", p.read_text(), re.M))


def run_all(out: Path, code: Path, only: list[str] | None, data_dir: Path | None = None) -> int:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(code), os.environ.get("PYTHONPATH")])),
           "SWEEPLAB_OFFLINE": "1"}
    failed = 0
    for name in only or sweeps_in(code):
        start = time.perf_counter()
        done = None
        # --fuse on (off where nothing can fuse) and no ASHA: which trials fuse, and where ASHA
        # stops one, depend on timings
        for fuse in ("on", "off"):
            done = subprocess.run([sys.executable, "-m", f"sweeps.{name}", "--smoke-test", "--fuse", fuse,
                                   "--scheduler", "none", "--storage-path", str(out), "--name", name,
                                   *(["--data-dir", str(data_dir)] if data_dir else [])],
                                  cwd=code, env=env, capture_output=True, text=True)
            if "--fuse on is not possible" not in done.stderr:
                break
        (out / f"{name}.log").write_text(done.stdout + done.stderr)
        failed += done.returncode != 0
        print(f"{name:<28} exit {done.returncode}  fuse {fuse}  {time.perf_counter() - start:5.1f} s", flush=True)
    return 1 if failed else 0


def aligned(df: pd.DataFrame) -> pd.DataFrame:
    """The table without run-specific columns, rows in a canonical order."""
    keep = sorted(c for c in df.columns if not RUN_SPECIFIC.search(c))
    table = df[keep].copy()
    for c in keep:  # lists and dicts (layer widths, configs) compare as text
        if table[c].map(lambda v: isinstance(v, (list, dict, tuple))).any():
            table[c] = table[c].map(str)
    return table.sort_values(keep, kind="stable", key=lambda s: s.astype(str)).reset_index(drop=True)


def compare_tables(a: Path, b: Path) -> list[str]:
    left, right = pd.read_parquet(a), pd.read_parquet(b)
    problems = []
    if set(left.columns) != set(right.columns):
        problems.append(f"columns differ: only before {sorted(set(left.columns) - set(right.columns))}, "
                        f"only after {sorted(set(right.columns) - set(left.columns))}")
    left, right = aligned(left), aligned(right)
    if left.shape != right.shape:
        return problems + [f"shape {left.shape} before, {right.shape} after"]
    for c in left.columns.intersection(right.columns):
        x, y = left[c], right[c]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            diff = (x.astype(float) - y.astype(float)).abs().max()
            same_nan = (x.isna() == y.isna()).all()
            if not same_nan or (pd.notna(diff) and diff > 0):
                problems.append(f"{c}: max difference {diff:g}")
        else:
            differ = ~(x.isna() & y.isna()) & (x.astype(str) != y.astype(str))
            if differ.any():
                problems.append(f"{c}: values differ (first: {x[differ].iloc[0]!r} before, {y[differ].iloc[0]!r} after)")
    return problems


def sections(report: Path) -> list[str]:
    return [line for line in report.read_text().splitlines() if line.startswith("#")] if report.is_file() else []


def pictures(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*.png")}


def compare(before: Path, after: Path) -> int:
    names = sorted({p.name for p in before.iterdir() if p.is_dir()} | {p.name for p in after.iterdir() if p.is_dir()})
    differing = 0
    for name in names:
        a, b = before / name, after / name
        problems = [] if a.is_dir() and b.is_dir() else [f"only in {'before' if a.is_dir() else 'after'}"]
        if not problems:
            for table in TABLES + tuple(p.relative_to(a).as_posix() for p in (a / "posthoc").glob("*.parquet")):
                if (a / table).is_file() != (b / table).is_file():
                    problems.append(f"{table}: in one snapshot only")
                elif (a / table).is_file():
                    problems += [f"{table}: {p}" for p in compare_tables(a / table, b / table)]
            if sections(a / "report.md") != sections(b / "report.md"):
                problems.append(f"report sections differ: {sections(a / 'report.md')} vs {sections(b / 'report.md')}")
            if pictures(a) != pictures(b):
                problems.append(f"plots differ: only before {sorted(pictures(a) - pictures(b))}, "
                                f"only after {sorted(pictures(b) - pictures(a))}")
        differing += bool(problems)
        print(f"{name:<28} {'identical' if not problems else 'DIFFERS'}")
        for p in problems:
            print(f"    {p}")
    print(f"\n{len(names) - differing} of {len(names)} sweeps identical (metrics, columns, report sections, plots)")
    return 1 if differing else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="every sweep's --smoke-test into OUT")
    r.add_argument("out", type=Path)
    r.add_argument("--code", type=Path, default=PROJECT_ROOT, help="checkout to run (default: this one)")
    r.add_argument("--only", help="comma-separated sweep names")
    r.add_argument("--data-dir", type=Path, help="dataset folder for every sweep (e.g. ../shared/data: the text files)")
    c = sub.add_parser("compare", help="two snapshots, sweep by sweep")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = p.parse_args(argv)
    if args.command == "run":
        args.out.mkdir(parents=True, exist_ok=True)
        return run_all(args.out.resolve(), args.code.resolve(), args.only.split(",") if args.only else None,
                       args.data_dir.resolve() if args.data_dir else None)
    return compare(args.before, args.after)


if __name__ == "__main__":
    raise SystemExit(main())
