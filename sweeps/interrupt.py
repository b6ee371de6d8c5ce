"""Ctrl-C during a sweep: a KeyboardInterrupt the runner turns into a clean exit (code 130), at
any moment of the run.

Ray's own processes block SIGINT (Ray starts them so), so Ctrl-C, which the terminal sends to
the whole process group, reaches only the driver. There it raises KeyboardInterrupt, except:
- in `shielded()` blocks (stopping Ray, and ending what a half-started Ray left: interrupted,
  they would leave processes behind), where it is held until the block ends;
- inside `tune_fit()`, where Tune ends the run after saving its state. Tune's own handler does
  that once Tune has installed it; a Ctrl-C before that (Tune's set-up, seconds on a busy
  machine, where Ray's code may swallow a KeyboardInterrupt) is held, and `forward_to_tune()`,
  called at Tune's first loop step, hands it to Tune through SIGUSR1, which Tune handles alike.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading

NOTHING_TO_RESUME = "interrupted before any trial started; nothing to resume"


class _State:
    active = False  # between armed()'s entry and exit
    shielding = 0  # depth of nested shielded() blocks
    pending = False  # a Ctrl-C arrived while shielded
    in_tune = False  # inside tune_fit()
    tune_looping = False  # Tune's loop has started: its handler is installed
    held_for_tune = False  # a Ctrl-C arrived during Tune's set-up


def _handler(signum, frame) -> None:
    if _State.shielding:
        _State.pending = True
        return
    if _State.in_tune and not _State.tune_looping and not _State.held_for_tune:
        _State.held_for_tune = True  # Tune's loop takes it over (forward_to_tune)
        return
    raise KeyboardInterrupt  # a first Ctrl-C, or a second one: Tune's handler had the first


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


def forward_to_tune() -> None:
    """Called at each step of Tune's loop, where Tune's handlers are installed: hand a Ctrl-C
    held during Tune's set-up to Tune (its SIGUSR1 handler is its SIGINT one), or, should Tune
    have none, raise it."""
    first_step, _State.tune_looping = not _State.tune_looping, True
    if not (first_step and _State.held_for_tune):
        return
    if signal.getsignal(signal.SIGUSR1) in (signal.SIG_DFL, signal.SIG_IGN, None):
        raise KeyboardInterrupt
    os.kill(os.getpid(), signal.SIGUSR1)


def tune_fit(tuner):
    """`tuner.fit()`, and whether Ctrl-C ended it. Tune installs its own SIGINT handler for the
    run and, once that handler has caught a Ctrl-C, puts the previous one (ours) back."""
    if not (_State.active and _main_thread()):
        return tuner.fit(), False
    _State.in_tune, _State.tune_looping, _State.held_for_tune = True, False, False
    try:
        result = tuner.fit()
    finally:
        _State.in_tune = False
    tune_handles_sigint = os.environ.get("TUNE_DISABLE_SIGINT_HANDLER", "0") in ("", "0")
    tune_caught = tune_handles_sigint and signal.getsignal(signal.SIGINT) is _handler
    signal.signal(signal.SIGINT, _handler)  # Tune leaves its handler installed after an uninterrupted run
    return result, tune_caught or _State.held_for_tune
