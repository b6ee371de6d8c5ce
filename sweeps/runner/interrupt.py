"""Ctrl-C during a sweep: a clean exit (code 130) at any moment of the run.

Ray's own processes block SIGINT (Ray starts them so), so Ctrl-C, which the terminal sends to
the whole process group, reaches only the driver. There a first Ctrl-C is noted and acted on at
the next `checkpoint()` between the runner's phases (imports, data, Ray's start, Tune, each
step of writing the results: seconds apart). It is not raised where it lands: a
KeyboardInterrupt inside library code can leave a lock taken (logging's, which then hangs
ray.shutdown()) or be swallowed by the library. A second Ctrl-C is raised at once.

Inside `tune_fit()` Tune takes over: once Tune's loop runs, its own handler ends the run after
saving the experiment state; a Ctrl-C during Tune's set-up, before that handler is installed,
is handed to it at the loop's first step (`forward_to_tune()`) through SIGUSR1, which Tune
handles alike. Tune's handler says nothing we can see (its log line is silenced), so at the
loop's first step `forward_to_tune()` wraps it in one that first says so: the person who
pressed Ctrl-C learns at once that it was heard, not 4 s later at the exit. `shielded()` blocks
(stopping Ray) hold even a second Ctrl-C until they end.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading

NOTHING_TO_RESUME = "interrupted before any trial started; nothing to resume"
NOTED = b"\nsweeplab: Ctrl-C: stopping at the next safe point (press it again to stop at once)\n"
NOTED_IN_TUNE = b"\nsweeplab: Ctrl-C: stopping the trials and saving their state (press it again to stop at once)\n"


class _State:
    active = False  # between armed()'s entry and exit
    requested = False  # a Ctrl-C has come that checkpoint() has not acted on yet
    shielding = 0  # depth of nested shielded() blocks
    in_tune = False  # inside tune_fit()
    tune_looping = False  # Tune's loop has started: its handler is installed
    held_for_tune = False  # a Ctrl-C came during Tune's set-up


def _handler(signum, frame) -> None:
    if _State.in_tune and not _State.shielding:
        if not _State.tune_looping:
            if not _State.held_for_tune:
                os.write(2, NOTED_IN_TUNE)
            _State.held_for_tune = True  # Tune's loop takes it over (forward_to_tune)
            return
        raise KeyboardInterrupt  # Tune's handler had the first one and gave ours back: a second
    if _State.requested and not _State.shielding:
        raise KeyboardInterrupt  # a second Ctrl-C: at once
    if not _State.requested:
        os.write(2, NOTED)  # not print(): the main thread may be inside a print
    _State.requested = True


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
    _State.active, _State.requested, _State.shielding = True, False, 0
    try:
        yield
    finally:
        _State.active = False
        signal.signal(signal.SIGINT, signal.SIG_IGN if ignore_after else previous)


def checkpoint() -> None:
    """Act on a Ctrl-C that came since the last checkpoint: raise KeyboardInterrupt."""
    if _State.requested:
        raise KeyboardInterrupt


def pending() -> bool:
    """Whether a Ctrl-C has come that no checkpoint has acted on."""
    return _State.requested


@contextlib.contextmanager
def shielded(raise_after: bool = True):
    """Hold every Ctrl-C until the block is done, then act on it (unless `raise_after` is off:
    cleaning up after one, or once the results are written)."""
    _State.shielding += 1
    try:
        yield
    finally:
        _State.shielding -= 1
    if not _State.shielding and raise_after:
        checkpoint()


def forward_to_tune() -> None:
    """Called at each step of Tune's loop, where Tune's handlers are installed: hand a Ctrl-C
    held during Tune's set-up to Tune (its SIGUSR1 handler is its SIGINT one), or, should Tune
    have none, raise it."""
    first_step, _State.tune_looping = not _State.tune_looping, True
    if not first_step:
        return
    announce_tunes_handler()
    if not _State.held_for_tune:
        return
    if signal.getsignal(signal.SIGUSR1) in (signal.SIG_DFL, signal.SIG_IGN, None):
        raise KeyboardInterrupt
    os.kill(os.getpid(), signal.SIGUSR1)


def announce_tunes_handler() -> None:
    """Put a handler that writes NOTED_IN_TUNE in front of Tune's SIGINT handler. Tune's handler,
    once called, puts ours back (tune_fit reads that as "Tune caught it"): the wrapper goes with it."""
    if not (_State.in_tune and _main_thread()):
        return
    tunes = signal.getsignal(signal.SIGINT)
    if not callable(tunes) or tunes is _handler:
        return

    def announcing(signum, frame):
        os.write(2, NOTED_IN_TUNE)  # not print(): the main thread may be inside a print
        tunes(signum, frame)

    signal.signal(signal.SIGINT, announcing)


def tune_fit(tuner):
    """`tuner.fit()`, and whether Ctrl-C ended it. Tune installs its own SIGINT handler for the
    run and, once that handler has caught a Ctrl-C, puts the previous one (ours) back."""
    if not (_State.active and _main_thread()):
        return tuner.fit(), False
    checkpoint()
    _State.in_tune, _State.tune_looping, _State.held_for_tune = True, False, False
    try:
        result = tuner.fit()
    finally:
        _State.in_tune = False
    tune_handles_sigint = os.environ.get("TUNE_DISABLE_SIGINT_HANDLER", "0") in ("", "0")
    tune_caught = tune_handles_sigint and signal.getsignal(signal.SIGINT) is _handler
    signal.signal(signal.SIGINT, _handler)  # Tune leaves its handler installed after an uninterrupted run
    return result, tune_caught or _State.held_for_tune
