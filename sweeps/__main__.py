"""The catalogue: every sweep with its title, source, size and the wall time it would take on this
machine (from a cached calibration: FLOPs counted, data sizes peeked, nothing trained).

    python -m sweeps                   # the catalogue
    python -m sweeps --markdown        # the README's table of sweeps
    python -m sweeps --recalibrate     # measure this machine again, then the catalogue
    python -m sweeps --runs            # the runs under ./results (--storage-path ROOT: under ROOT)
    python -m sweeps NAME [flags]      # run one: the same as python -m sweeps.NAME [flags]
"""
from __future__ import annotations

import importlib
import sys
import textwrap

from analysis.results.arguments import OneLineParser, UsageError
from sweeps.runner.cli import RESULTS_ROOT, summary


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    if given and not given[0].startswith("-"):
        return run_named(given[0], given[1:], whole_process=argv is None)
    parser = OneLineParser(prog="python -m sweeps", description=summary(__doc__),
                           epilog="python -m sweeps NAME [flags] runs the sweep NAME, as python -m sweeps.NAME [flags] does")
    parser.add_argument("--markdown", action="store_true", help="print the README's table of sweeps and exit")
    parser.add_argument("--recalibrate", action="store_true", help="measure this machine's speed again (about 5 s)")
    parser.add_argument("--data-dir", help="dataset folder to look in (default: $SWEEPLAB_DATA_DIR or ~/.cache/sweeplab/data)")
    parser.add_argument("--runs", action="store_true", help="list the runs under the results root: status, trials, "
                        "wall time, headline, references reproduced")
    parser.add_argument("--storage-path", help=f"the results root --runs lists (default: {RESULTS_ROOT})")
    try:
        args = parser.parse_args(argv)
        if args.runs:
            return print_runs(args.storage_path)
        if args.storage_path:
            raise UsageError("--storage-path goes with --runs here; allowed: python -m sweeps --runs --storage-path "
                             "ROOT, or python -m sweeps NAME --storage-path ROOT")
    except UsageError as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 2
    from sweeps.runner.catalog import readme_table

    if args.markdown:
        print(readme_table())
        return 0
    from sweeps.runner.calibration import calibration, describe, describe_phases, phase_times
    from sweeps.runner.estimate import catalogue, fmt_seconds

    calibrated, phases = calibration(remeasure=args.recalibrate), phase_times()
    entries = catalogue(args.data_dir, calibrated, phases)
    print(f"{'sweep':<22} {'trials x length':<22} {'estimate here':<14} title; source")
    for e in entries:
        estimate = fmt_seconds(e.seconds) if e.seconds is not None else "data not here"
        print(f"{e.name:<22} {f'{e.trials} x {e.epochs}':<22} {estimate:<14} {e.sweep.title}")
        print(textwrap.fill(f"source: {e.sweep.source}", 120, initial_indent=" " * 60, subsequent_indent=" " * 60))
    print(f"\nestimates: {describe(calibrated)} (cached; --recalibrate measures again); {describe_phases(phases)}; "
          "run one with python -m sweeps NAME (or python -m sweeps.NAME)")
    missing = [e for e in entries if e.seconds is None]
    for e in missing:
        print(f"{e.name}: {e.why.splitlines()[0] if e.why else 'data not here'}", file=sys.stderr)
    return 0


def print_runs(root: str | None) -> int:
    """The runs under `root` (None: the default results root, which need not exist yet)."""
    from pathlib import Path

    from sweeps.runner.past_runs import list_runs, runs_text

    if root is None and not Path(RESULTS_ROOT).exists():
        print(f"no runs under {RESULTS_ROOT}/ yet: sweeps write there unless given --storage-path")
        return 0
    root = root or RESULTS_ROOT
    print(runs_text(list_runs(root), root))
    return 0


def run_named(name: str, flags: list[str], whole_process: bool) -> int:
    """`python -m sweeps NAME [flags]`: the sweep module NAME's main, or one line naming the nearest
    names (exit 2). For a whole process, as `python -m sweeps.NAME` starts it: its main() reads
    sys.argv and owns Ctrl-C to the end (sweeps.runner.entry)."""
    from sweeps.runner.names import runnable, unknown_sweep

    if name not in runnable():
        print(f"python -m sweeps: error: {unknown_sweep(name)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"sweeps.{name}")
    if whole_process:
        sys.argv = [module.__file__, *flags]
        return module.main()
    return module.main(flags)


if __name__ == "__main__":
    raise SystemExit(main())
