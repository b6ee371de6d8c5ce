"""Rebuild report.md, report.html and plots/ of a finished sweep from its Parquet files alone (after
a study ran, after editing the references, or on another machine).

    python -m analysis.report RESULTS_DIR      # prints the paths of RESULTS_DIR/report.md and report.html
"""
from __future__ import annotations

import sys
from pathlib import Path

from analysis.results.arguments import OneLineParser, run_command
from analysis.results.report_md import build_report
from analysis.results.tables import RESULTS_FILE


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m analysis.report", description="Write RESULTS_DIR/report.md, report.html and plots/ from the sweep's Parquet files.")
    parser.add_argument("results_dir", type=Path, help=f"folder holding {RESULTS_FILE} (written by analysis.results.collect)")
    return run_command(parser, lambda args: rebuild(args.results_dir), argv)


def rebuild(results_dir: Path) -> list[Path]:
    report = build_report(results_dir)
    return [report, report.with_suffix(".html")]


if __name__ == "__main__":
    sys.exit(main())
