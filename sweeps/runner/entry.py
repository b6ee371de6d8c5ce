"""`main(argv=None)` of a sweep module, kept free of heavy imports: Ctrl-C is handled from the
first moment (sweeps.runner.interrupt), and importing torch, Ray and pandas (seconds) is part of the run."""
from __future__ import annotations

import logging
import os
import sys

from sweeps.runner import interrupt
from sweeps.runner.spec import Sweep

INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


def main_for(sweep: Sweep, doc: str):
    """`main(argv=None)` for a sweep module; returns the process exit code."""

    def main(argv: list[str] | None = None) -> int:
        if argv is None and not {"-h", "--help"} & set(sys.argv[1:]):  # a command line: say something at once
            print(f"{sweep.prog}: starting (importing torch and Ray, reading the data) ...", flush=True)
        with interrupt.armed(ignore_after=argv is None):  # argv None: the process ends with main()
            try:
                from sweeps.runner.run import run

                interrupt.checkpoint()
            except KeyboardInterrupt:
                print(f"{sweep.prog}: {interrupt.NOTHING_TO_RESUME}", file=sys.stderr)
                code = INTERRUPTED
            else:
                code = run(sweep, argv, doc)
        if argv is None and code == INTERRUPTED:
            exit_interrupted()
        return code

    return main


def exit_interrupted() -> None:
    """End the process with code 130 now that the interruption is handled. CPython 3.11 ends a
    process with SIGINT instead of its exit code when Ctrl-C interrupted code it ran through
    PyRun_String (pybind11 modules do, while torch imports), handled or not; the atexit hooks
    this skips have nothing left to do (Ray is stopped, results are written)."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(INTERRUPTED)
