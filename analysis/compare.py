"""Compare two runs of the same sweep (before and after a change, on CPU and on GPU): for every
configuration both ran, the headline metrics with B - A and its 95% interval (Welch's test where
both have seeds), time per epoch, the references that changed verdict, and one plot.

    python -m analysis.compare RUN_A RUN_B              # writes compare-A-vs-B/compare.md (and .html) beside RUN_B
    python -m analysis.compare RUN_A RUN_B --out DIR    # writes DIR/compare.md and DIR/compare.html
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.results.arguments import OneLineParser, run_command


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m analysis.compare", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_a", type=Path, help="the first run's results folder (A, the baseline)")
    parser.add_argument("run_b", type=Path, help="the second run's results folder (B; differences are B - A)")
    parser.add_argument("--out", type=Path, help="folder for compare.md, compare.html and compare.png (default: "
                                                 "compare-A-vs-B beside RUN_B)")
    return run_command(parser, lambda args: compare(args.run_a, args.run_b, args.out), argv)


def compare(run_a: Path, run_b: Path, out: Path | None) -> list[Path]:
    from analysis.results.run_compare import compare_runs  # pandas and matplotlib once the flags parse

    page = compare_runs(run_a, run_b, out)
    return [page, page.with_suffix(".html")]


if __name__ == "__main__":
    sys.exit(main())
