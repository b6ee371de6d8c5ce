"""Rebuild report.md and plots/ of a finished sweep from its Parquet files alone (after a study
ran, after editing the references, or on another machine).

    python -m analysis.report RESULTS_DIR      # prints the path of RESULTS_DIR/report.md
"""
from __future__ import annotations

import sys
from pathlib import Path

from analysis.results.arguments import OneLineParser
from analysis.results.report_md import build_report
from analysis.results.tables import RESULTS_FILE
from models.errors import UserError


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m analysis.report", description="Write RESULTS_DIR/report.md and plots/ from the sweep's Parquet files.")
    parser.add_argument("results_dir", type=Path, help=f"folder holding {RESULTS_FILE} (written by analysis.results.collect)")
    try:
        path = build_report(parser.parse_args(argv).results_dir)
    except UserError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
