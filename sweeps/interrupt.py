"""Ctrl-C during a sweep: a KeyboardInterrupt the runner turns into a clean exit (code 130), at
any moment of the run.

Ray's own processes block SIGINT (Ray starts them so), so Ctrl-C, which the terminal sends to
the whole process group, reaches only the driver. There it raises KeyboardInterrupt, except in
`shielded()` blocks (stopping Ray, and ending what a half-started Ray left: interrupted, they
would leave processes behind), where it is held until the block ends. During `Tuner.fit` Tune's
own handler takes over: it ends the run after saving the experiment state, and `tune_fit` says
afterwards whether it did.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading


class _State:
    active = False  # between armed()'s entry and exit
    shielding = 0  # depth of nested shielded() blocks
    pending = False  # a Ctrl-C arrived while shielded


def _handler(signum, frame) -> None:
    if _State.shielding:
        _State.pending = True
        return
    raise KeyboardInterrupt


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def armed(ignore_after: bool = False):
    """Handle Ctrl-C as described above while the block runs. `ignore_after`, for a process
    that ends with the block, ignores later Ctrl-Cs: the run is over, and interrupting the
    interpreter's exit would only print a traceback."""
    if not _main_thread():  # signal handlers can only be set from the main thread
        yield
        return
    previous = signal.signal(signal.SIGINT, _handler)
    _State.active, _State.pending = True, False
    try:
        yield
    finally:
        _State.active = False
        signal.signal(signal.SIGINT, signal.SIG_IGN if ignore_after else previous)


def rearm() -> None:
    """Take SIGINT back from whoever replaced our handler (Tune does, for the length of fit)."""
    if _State.active and _main_thread():
        signal.signal(signal.SIGINT, _handler)


@contextlib.contextmanager
def shielded(raise_after: bool = True):
    """Hold Ctrl-C until the block is done, then raise it (or, cleaning up after one, drop it)."""
    _State.shielding += 1
    try:
        yield
    finally:
        _State.shielding -= 1
    if not _State.shielding and _State.pending:
        _State.pending = False
        if raise_after:
            raise KeyboardInterrupt


def tune_fit(tuner):
    """`tuner.fit()`, and whether Ctrl-C ended it. Tune installs its own SIGINT handler for the
    run and, once that handler has caught a Ctrl-C, puts the previous one (ours) back."""
    ours_before = _State.active and signal.getsignal(signal.SIGINT) is _handler
    result = tuner.fit()
    tune_handles_sigint = os.environ.get("TUNE_DISABLE_SIGINT_HANDLER", "0") in ("", "0")
    caught = _main_thread() and ours_before and tune_handles_sigint and signal.getsignal(signal.SIGINT) is _handler
    rearm()
    return result, caught
