"""`main(argv)` of every `python -m analysis.NAME` study command: the results folder (or a trial
folder or checkpoint), --trials, --data-dir and the study's own flags; a bad value is one line
naming it and what is allowed, exit code 2. report.md is rebuilt after every run, --no-report
included when one exists: a report must never disagree with the tables it shows."""
from __future__ import annotations

import argparse
import sys
from typing import Callable

from analysis.results.arguments import OneLineParser
from analysis.results.report_md import REPORT_FILE, build_report
from analysis.results.sections import get, run_study
from analysis.results.tables import RESULTS_FILE
from analysis.results.trial_models import ALLOWED_PATHS
from models.errors import UserError


def study_main(name: str, doc: str, add_options: Callable[[argparse.ArgumentParser], None] | None = None):
    """main(argv=None) -> exit code, for `python -m analysis.NAME`."""

    def main(argv: list[str] | None = None) -> int:
        prog = f"python -m analysis.{name}"
        parser = OneLineParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("path", metavar="RESULTS_DIR", help=ALLOWED_PATHS)
        parser.add_argument("--trials", help=f"best, all or comma-separated trial ids (default: {get(name).default_trials})")
        parser.add_argument("--data-dir", help="dataset folder (default: the one the sweep recorded)")
        parser.add_argument("--out", help="folder for the figures (default: posthoc/ in the results folder)")
        parser.add_argument("--no-report", dest="report", action="store_false",
                            help="write the tables and figures only, and no report.md where there is none yet "
                                 "(an existing one is rebuilt: it must agree with the tables)")
        if add_options:
            add_options(parser)
        try:
            options = vars(parser.parse_args(argv))
            path, trials, data_dir, report = (options.pop(k) for k in ("path", "trials", "data_dir", "report"))
            ran = run_study(name, path, trials, data_dir, **options)
            written = ran.files
            exists = (ran.results_dir / REPORT_FILE).is_file()
            if (report or exists) and (ran.results_dir / RESULTS_FILE).is_file():
                written.append(build_report(ran.results_dir))
                if not report:
                    print(f"{REPORT_FILE} rebuilt although --no-report: it exists, and must agree with the tables",
                          flush=True)
        except UserError as e:
            print(f"{prog}: error: {e}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:  # the study writes its files at the end, each whole: nothing half-written
            print(f"interrupted: the {name} study wrote nothing; run the same command again", flush=True)
            return 130
        for p in written:
            print(p)
        return 0

    return main
