"""`main(argv=None)` of a sweep module, kept free of heavy imports: Ctrl-C is handled from the
first moment (sweeps.runner.interrupt), and importing torch, Ray and pandas (seconds) is part of the run."""
from __future__ import annotations

import atexit
import logging
import os
import sys
import time

from sweeps.runner import interrupt
from sweeps.runner.spec import Sweep

IMPORTED_AT = time.time()  # a sweep module imports this first: when its run began (phase_clock.process_start)

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
        if argv is None:  # the whole process: end it now
            end_process(code)
        return code

    return main


def end_process(code: int) -> None:
    """End the process with `code` once the run is over: the atexit hooks run, the interpreter's
    own teardown does not. That teardown frees torch's, Ray's and pandas's modules one by one
    (1.5-1.7 s on a laptop core) and saves nothing: Ray is stopped and every file is written and
    closed. It also keeps an exit code after Ctrl-C: CPython 3.11 ends a process with SIGINT
    instead of its exit code when Ctrl-C interrupted code it ran through PyRun_String (pybind11
    modules do, while torch imports), handled or not."""
    atexit._run_exitfuncs()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
