"""Ctrl-C as a terminal sends it (SIGINT to the sweep's whole process group) at several moments
of a real `python -m sweeps.mnist_width` run: exit 130, no traceback, no process of that run
left, and the printed resume command works when pasted."""
from __future__ import annotations

import json
import logging
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from analysis.results.tables import read_parquet
from sweeps.runner.run_record import RECORD_FILE
from trainables import metrics as M

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HINT = re.compile(r"^interrupted: continue with  (.+)$", re.M)
starts_a_sweep = pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs process groups")


class Sweep:
    """`python -m sweeps.mnist_width` in its own session, with its own Ray temp folder, so its
    processes (Ray's included) can be told apart from every other process on the machine."""

    def __init__(self, storage: Path, *flags: str, argv: list[str] | None = None, cwd: Path | None = None):
        self.ray_tmp = tempfile.mkdtemp(prefix="sl-ray-", dir="/tmp")  # short: Ray's socket paths are limited
        env = {**os.environ, "RAY_TMPDIR": self.ray_tmp,
               "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
        argv = argv or [sys.executable, "-m", "sweeps.mnist_width", "--smoke-test", "--storage-path", str(storage), *flags]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                     cwd=cwd, start_new_session=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout))
        self.reader.start()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 120) -> None:
        """Until a line matches `pattern` (the moment to interrupt at)."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.output, re.M):
            assert self.proc.poll() is None and time.monotonic() < deadline, f"no {pattern!r} in:\n{self.output}"
            time.sleep(0.02)

    def ctrl_c(self) -> None:
        os.killpg(self.proc.pid, signal.SIGINT)  # what the terminal does: the whole foreground group

    def finish(self, timeout: float = 180) -> int:
        code = self.proc.wait(timeout=timeout)
        self.reader.join()
        return code

    def processes_left(self) -> list[str]:
        """Live processes of this run: in its session, or naming its Ray temp folder."""
        import psutil
        import ray  # noqa: F401  (puts the psutil that Ray ships on sys.path)

        left = []
        for p in psutil.process_iter(["cmdline", "status"]):
            try:
                cmdline = " ".join(p.info["cmdline"] or [])
                ours = os.getsid(p.pid) == self.proc.pid or self.ray_tmp in cmdline
            except (psutil.Error, OSError):
                continue
            if ours and p.info["status"] != psutil.STATUS_ZOMBIE:
                left.append(f"{p.pid} {cmdline[:120]}")
        return left

    def assert_nothing_left(self) -> None:
        deadline = time.monotonic() + 3  # the kernel's own teardown of processes that have just died
        while self.processes_left() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not self.processes_left(), f"processes of the run left behind: {self.processes_left()}"


# Moments of start-up and wind-down: fixed delays (imports, data, Ray starting: where they fall
# depends on the machine, and the assertions hold wherever they fall), then output markers.
MOMENTS = {
    "0.5s": 0.5, "3s": 3.0,
    "ray starting": r"^sweeplab: warning: MNIST",  # printed once the plan is valid, just before Ray starts
    "tuner starting": r"^mnist_width: width in",
    "after the last trial": r"\(2/2 trials done\)",
}


@pytest.mark.ray
@starts_a_sweep
@pytest.mark.parametrize("moment", MOMENTS)
def test_ctrl_c_at_any_moment_exits_130_cleanly(tmp_path, moment):
    storage = tmp_path / "results"
    sweep = Sweep(storage)
    when = MOMENTS[moment]
    if isinstance(when, float):
        time.sleep(when)  # a moment to interrupt at, not a wait for anything
    else:
        sweep.wait_for(when)
    sweep.ctrl_c()
    code = sweep.finish()
    out = sweep.output
    assert code == 130, out
    assert "Traceback" not in out and "KeyboardInterrupt" not in out, out
    sweep.assert_nothing_left()
    hint = HINT.search(out)
    if hint:  # something to resume: the folder the hint names holds a resumable run
        assert (storage / "mnist_width" / "tuner.pkl").is_file() and "--storage-path" in hint.group(1)
    elif "the results above are complete" not in out:
        assert "nothing to resume" in out and not (storage / "mnist_width").exists(), out


@pytest.mark.ray
@starts_a_sweep
def test_interrupted_sweep_resumes_from_checkpoints_with_the_pasted_hint(tmp_path, capsys):
    """Ctrl-C mid-training is acknowledged at once, before Tune winds down; then the printed
    command, pasted in another folder: every trial ends with epochs 1..60 exactly once (none
    restarted from epoch 1), and the run goes on with its own settings (60 epochs, smoke grid)
    though the pasted command does not repeat them."""
    from sweeps.runner.interrupt import NOTED_IN_TUNE

    storage = tmp_path / "results"
    sweep = Sweep(storage, "--max-epochs", "60", "--progress-every", "0")  # every row: Ctrl-C lands mid-training
    sweep.wait_for(r"epoch\s+([3-9]|[1-5]\d)/60")
    sweep.ctrl_c()
    acknowledged = NOTED_IN_TUNE.decode().strip()
    sweep.wait_for(re.escape(acknowledged))  # while the run winds down, not at its exit
    assert sweep.finish() == 130, sweep.output
    assert sweep.output.index(acknowledged) < sweep.output.index("interrupted: continue with"), sweep.output
    sweep.assert_nothing_left()
    hint = HINT.search(sweep.output)
    assert hint, sweep.output
    partial, _ = read_parquet(storage / "mnist_width" / "results.parquet")
    assert partial[M.EPOCH].max() < 60  # interrupted before the end, and collected anyway
    assert run_statuses(storage, capsys) == {"mnist_width": "interrupted"}  # python -m sweeps --runs

    command = shlex.split(hint.group(1))
    assert command[:3] == ["python", "-m", "sweeps.mnist_width"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    resumed = Sweep(storage, argv=[sys.executable, *command[1:]], cwd=elsewhere)
    assert resumed.finish(timeout=300) == 0, resumed.output
    assert "up to 60 epochs" in resumed.output and "Restored on" not in resumed.output
    assert "(2/2 trials done)" in resumed.output
    results, _ = read_parquet(storage / "mnist_width" / "results.parquet")
    trials, _ = read_parquet(storage / "mnist_width" / "trials.parquet")
    assert (trials["status"] == "TERMINATED").all() and len(trials) == 2
    for _, rows in results.groupby(M.TRIAL_ID):
        assert sorted(rows[M.EPOCH]) == list(range(0, 61))  # the untrained model's epoch 0, then every epoch
    raw = []
    for f in (storage / "mnist_width").glob("trial_*/result.json"):
        raw += [int(m) for m in re.findall(r'"epoch": (\d+)', f.read_text())]
    assert raw.count(0) == 2, "a trial restarted from scratch instead of its checkpoint"
    assert run_statuses(storage, capsys) == {"mnist_width": "finished"}
    sessions = json.loads((storage / "mnist_width" / RECORD_FILE).read_text())["sessions"]
    assert [s["status"] for s in sessions] == ["interrupted", "finished"] and sessions[1]["pid"] == resumed.proc.pid

    from sweeps import mnist_width  # a resume that would change the run, or finds nothing, says what is there

    capsys.readouterr()
    assert mnist_width.main(["--resume", "--storage-path", str(storage), "--max-epochs", "5"]) == 2
    assert "--max-epochs cannot change on --resume" in capsys.readouterr().err
    assert mnist_width.main(["--resume", "--storage-path", str(storage), "--name", "mnist_widht"]) == 2
    assert capsys.readouterr().err.strip().endswith(f"sweeps that can be resumed in {storage}: mnist_width")


def run_statuses(storage: Path, capsys) -> dict[str, str]:
    """Run name -> status, as `python -m sweeps --runs --storage-path STORAGE` lists them."""
    from sweeps.__main__ import main

    capsys.readouterr()
    assert main(["--runs", "--storage-path", str(storage)]) == 0
    return {line.split()[1]: line.split()[2] for line in capsys.readouterr().out.strip().splitlines()[1:]}


# --- the pieces, without a sweep ---------------------------------------------------------------

def test_a_first_ctrl_c_waits_for_a_checkpoint_a_second_one_does_not():
    """Python runs the handler in this thread as soon as the signal arrives."""
    from sweeps.runner import interrupt

    with interrupt.armed():
        os.kill(os.getpid(), signal.SIGINT)  # noted, not raised where it lands
        assert interrupt.pending()
        with pytest.raises(KeyboardInterrupt):
            interrupt.checkpoint()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)  # the second one: at once
            time.sleep(1)  # never reached: the handler raises at the next bytecode


def test_shielded_blocks_hold_even_a_second_ctrl_c():
    from sweeps.runner import interrupt

    with interrupt.armed():
        with pytest.raises(KeyboardInterrupt):
            with interrupt.shielded():
                os.kill(os.getpid(), signal.SIGINT)
                os.kill(os.getpid(), signal.SIGINT)
                reached_the_end_of_the_block = True
        assert reached_the_end_of_the_block


def test_ctrl_c_during_tunes_set_up_is_handed_to_tune():
    """Before Tune's loop starts (its handlers installed), a Ctrl-C is held, then sent to Tune as
    SIGUSR1 at the loop's first step; Tune stops the run gracefully and tune_fit reports it."""
    from sweeps.runner import interrupt

    received = []

    class FakeTuner:
        def fit(self):
            os.kill(os.getpid(), signal.SIGINT)  # during set-up: held, nothing raised
            previous = signal.signal(signal.SIGUSR1, lambda *a: received.append("SIGUSR1"))  # Tune's handler
            try:
                interrupt.forward_to_tune()  # the loop's first step
                interrupt.forward_to_tune()  # later steps forward nothing more
            finally:
                signal.signal(signal.SIGUSR1, previous)
            return "results"

    with interrupt.armed():
        assert interrupt.tune_fit(FakeTuner()) == ("results", True)
    assert received == ["SIGUSR1"]


def test_a_ctrl_c_that_tunes_handler_takes_is_acknowledged_at_once(capfd):
    """Tune's SIGINT handler (here a stand-in that, like Tune's, puts the previous one back)
    takes the first Ctrl-C of its loop and says nothing we see: ours writes the line first."""
    from sweeps.runner import interrupt

    caught = []

    class FakeTuner:
        def fit(self):
            ours = signal.getsignal(signal.SIGINT)

            def tunes(signum, frame):
                caught.append(signum)
                signal.signal(signal.SIGINT, ours)

            signal.signal(signal.SIGINT, tunes)  # Tune's, installed as its loop starts
            interrupt.forward_to_tune()  # the loop's first step
            os.kill(os.getpid(), signal.SIGINT)
            assert caught and interrupt.NOTED_IN_TUNE.decode() in capfd.readouterr().err  # before fit() returns
            return "results"

    with interrupt.armed():
        assert interrupt.tune_fit(FakeTuner()) == ("results", True)
    assert caught == [signal.SIGINT]


def test_tunes_vanished_temp_file_sync_error_is_dropped_and_only_it():
    from sweeps.runner.tune_setup import quiet_state_sync_races

    quiet_state_sync_races()
    state_logger = logging.getLogger("ray.tune.execution.experiment_state")
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # what reaches any handler, Ray's console one included
    state_logger.addHandler(handler)
    try:
        for error in (FileNotFoundError("Failed to open local file '.../.ab12-tmp-basic-variant-state.json'"),
                      FileNotFoundError("Failed to open local file '.../experiment_state.json'"), PermissionError("no")):
            try:
                raise error
            except OSError:
                state_logger.error("Saving experiment state to storage failed with exception: ", exc_info=True)
    finally:
        state_logger.removeHandler(handler)
    assert [str(r.exc_info[1]) for r in seen] == ["Failed to open local file '.../experiment_state.json'", "no"]


def test_tunes_echo_of_a_failed_trial_is_dropped_and_only_it():
    """A failed trial is one line of the sweep's own (sweeps.runner.finish), not Tune's traceback."""
    from sweeps.runner.tune_setup import quiet_state_sync_races

    quiet_state_sync_races()
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    loggers = [logging.getLogger(n) for n in ("ray.tune.execution.tune_controller", "ray.tune.tune")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        try:
            raise RuntimeError("trial ran out of GPU memory")
        except RuntimeError as e:
            loggers[0].error("Trial task failed for trial %s", "trial_1", exc_info=e)
        loggers[1].error("Trials did not complete: %s", ["trial_1"])
        loggers[0].error("Trial %s: Error stopping trial.", "trial_2")
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    assert seen == ["Trial trial_2: Error stopping trial."]
