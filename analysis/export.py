"""Write a finished sweep's tables in a format other tools read: the results table (trial x epoch),
the trials table and every post-hoc study's table, one file each.

    python -m analysis.export RESULTS_DIR --format csv    # RESULTS_DIR/csv/results.csv, trials.csv, ...
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

import pandas as pd

from analysis.results.arguments import OneLineParser, UsageError, run_command
from analysis.results.tables import RESULTS_FILE, TRIALS_FILE, read_parquet
from data_modules.atomic import write_text_atomically
from models.registry import Registry

POSTHOC_DIR = "posthoc"  # where the studies keep their tables (analysis.results.study_tables)


def _csv(table: pd.DataFrame, folder: Path, stem: str) -> Path:
    path = folder / "csv" / f"{stem}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, table.to_csv(index=False))
    return path


# Format name -> writer(table, results folder, table name) -> the file written.
FORMATS: Registry[Callable[[pd.DataFrame, Path, str], Path]] = Registry("format", {"csv": _csv})


def tables(results_dir: Path) -> dict[str, Path]:
    """Table name -> Parquet file: results, trials, then each post-hoc table by its file name."""
    if not (results_dir / RESULTS_FILE).is_file():
        raise UsageError(f"{results_dir} holds no {RESULTS_FILE}; allowed: a sweep's results folder")
    found = {Path(name).stem: results_dir / name for name in (RESULTS_FILE, TRIALS_FILE) if (results_dir / name).is_file()}
    found.update({p.stem: p for p in sorted((results_dir / POSTHOC_DIR).glob("*.parquet"))})
    return found


def export(results_dir: Path, fmt: str) -> list[Path]:
    write = FORMATS[fmt]  # an unknown format: one line naming the allowed ones, before anything is read
    return [write(read_parquet(path)[0], results_dir, name) for name, path in tables(Path(results_dir)).items()]


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m analysis.export", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results_dir", type=Path, help=f"folder holding {RESULTS_FILE}")
    parser.add_argument("--format", default="csv", help=f"one of {', '.join(FORMATS)} (default: csv)")
    return run_command(parser, lambda args: export(args.results_dir, args.format), argv)


if __name__ == "__main__":
    sys.exit(main())
