"""Fault injection: trial workers and the driver SIGKILLed mid-sweep, a crash between writing a
Parquet temp file and renaming it, checkpoints replaced by code or cut short. Whatever happens,
results.parquet holds each (trial, epoch) once and every finished trial reaches its last epoch.
Each Ray test prints what it killed and the row counts it found (pytest -s shows them)."""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import torch

from analysis.results.tables import read_parquet, write_parquet
from tests.fault_helpers import (
    EIGHT_SLOWER_TRIALS,
    EIGHT_TRIALS,
    EPOCHS,
    assert_exactly_once,
    raw_rows,
    restarts,
    toy_sweep,
    trial_workers,
    tune_state,
    wait,
)
from tests.test_interrupt import HINT, starts_a_sweep
from trainables.checkpoint import (
    FORMAT,
    CorruptCheckpoint,
    UnsafeCheckpoint,
    load_checkpoint,
    restore_from,
    save_checkpoint,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class RunsCode:
    """A pickle that, if unpickled, touches `marker`: proof that nothing from it ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def code_pickle(path: Path, marker: Path) -> None:
    path.write_bytes(pickle.dumps({"model_state": RunsCode(marker)}, protocol=2))  # torch.save's protocol


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


# --- without Ray --------------------------------------------------------------------------------

def test_parquet_crash_between_temp_and_rename_keeps_the_old_file(tmp_path):
    path = tmp_path / "results.parquet"
    write_parquet(pd.DataFrame({"epoch": [0, 1]}), path)
    crash = textwrap.dedent(f"""
        import os, pandas as pd
        import pyarrow.fs as pafs
        from analysis.results.tables import write_parquet
        from data_modules import atomic
        real = pafs.LocalFileSystem()
        class Crash:  # the process dies once the temp file is complete, before its rename
            def __getattr__(self, name):
                return getattr(real, name)
            def move(self, src, dst):
                os._exit(3)
        atomic.filesystem_of = lambda fs, path: (Crash(), os.path.abspath(path))
        write_parquet(pd.DataFrame({{"epoch": [0, 1, 2]}}), {str(path)!r})
    """)
    done = subprocess.run([sys.executable, "-c", crash], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    temps = list(tmp_path.glob(".results.parquet.*.tmp"))
    assert done.returncode != 0 and len(temps) == 1, done.stderr  # it died with its temp file written
    assert list(read_parquet(path)[0]["epoch"]) == [0, 1]  # the previous file, whole
    write_parquet(pd.DataFrame({"epoch": [0, 1, 2, 3]}), path)  # the next run
    assert list(read_parquet(path)[0]["epoch"]) == [0, 1, 2, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.parquet"]


def test_checkpoint_carrying_code_is_refused_and_nothing_runs(tmp_path):
    marker, path = tmp_path / "ran", tmp_path / "checkpoint.pt"
    code_pickle(path, marker)
    with pytest.raises(UnsafeCheckpoint) as refused:
        restore_from([(str(path), lambda: load_checkpoint(path))], "trial_ab12", warn=print)
    message = str(refused.value)
    assert "\n" not in message and str(path) in message and "trial_ab12" in message and "posix.system" in message
    assert not marker.exists()


def test_a_checkpoint_of_another_layout_is_refused_in_one_line(tmp_path):
    path = save_checkpoint(tmp_path / "checkpoint.pt", {"epoch": 1, "w": torch.ones(2)})  # no layout: not ours
    with pytest.raises(CorruptCheckpoint) as refused:
        load_checkpoint(path)
    assert "\n" not in str(refused.value) and str(path) in str(refused.value) and f"allowed: {FORMAT}" in str(refused.value)


def test_truncated_checkpoint_restarts_from_the_previous_one_then_from_scratch(tmp_path):
    old, new = tmp_path / "checkpoint_000001.pt", tmp_path / "checkpoint_000002.pt"
    save_checkpoint(old, {"format": FORMAT, "epoch": 1, "w": torch.ones(2)})
    save_checkpoint(new, {"format": FORMAT, "epoch": 2, "w": torch.ones(2)})
    truncate(new)
    with pytest.raises(CorruptCheckpoint, match="truncated or corrupt"):
        load_checkpoint(new)
    warnings: list[str] = []
    candidates = [(str(p), lambda p=p: load_checkpoint(p)) for p in (new, old)]
    assert restore_from(candidates, "trial_x", warnings.append)["epoch"] == 1
    assert len(warnings) == 1 and f"restarting from the previous checkpoint, {old}" in warnings[0]
    truncate(old)
    warnings.clear()
    assert restore_from(candidates, "trial_x", warnings.append) is None
    assert "restarting from scratch (epoch 0)" in warnings[-1] and str(old) in warnings[-1]


def whole_pickles(paths) -> bool:
    """Each file a whole pickle (ends with the STOP opcode): not one a driver left half copied."""
    return all(path.read_bytes().endswith(pickle.STOP) for path in paths)


def end_leftovers(sweep) -> list[str]:
    """After a SIGKILLed driver its GCS, raylet and workers end; Ray's two agents linger (about a
    minute). They are this run's: end them, and say what they were."""
    import time

    deadline = time.monotonic() + 10
    while any("ray::" not in p.split(" ", 1)[1] or "Agent" not in p for p in sweep.processes_left()):
        assert time.monotonic() < deadline, f"Ray's processes outlived their driver: {sweep.processes_left()}"
        time.sleep(0.1)
    left = sweep.processes_left()
    for entry in left:
        os.kill(int(entry.split(" ", 1)[0]), signal.SIGKILL)
    return [entry.split(" ", 1)[1].strip() for entry in left]


# --- a real sweep in its own process ------------------------------------------------------------

@pytest.mark.ray
@starts_a_sweep
def test_sigkilled_trial_workers_restart_from_their_checkpoints(tmp_path):
    storage = tmp_path / "results"
    sweep = toy_sweep(storage, *EIGHT_TRIALS)
    killed: list[int] = []
    for _ in range(3):
        pid = wait(lambda: [p for p in trial_workers(sweep) if p not in killed], "a running trial", sweep)[0]
        wait(lambda: sweep.output.count("epoch ") > 3 * len(killed) + 2, "a few epochs", sweep)
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)
    code = sweep.finish()
    exp_dir = storage / "toy2d"
    assert code == 0, sweep.output
    results = assert_exactly_once(exp_dir, finished=8)
    failures = sum(f.read_text().count("Failure #") for f in exp_dir.glob("trial_*/error.txt"))
    print(f"\nSIGKILLed trial workers {len(killed)} times ({failures} trial failures recorded by Tune); "
          f"{raw_rows(exp_dir)} rows delivered, {len(results)} rows in results.parquet (8 trials x {EPOCHS + 1} epochs); "
          f"restarts that repeated epochs went on from epochs {sorted(restarts(exp_dir))} (0: from scratch)")
    assert failures >= 1 and len(results) == 8 * (EPOCHS + 1)


@pytest.mark.ray
@starts_a_sweep
def test_sigkilled_driver_resumes_and_tampered_checkpoints_are_handled(tmp_path, monkeypatch):
    """The driver dies mid-sweep; before --resume, one unfinished trial's checkpoints are replaced
    by a pickle carrying code and another's (the one Tune restores from) is cut in half. Both are
    chosen from the state file --resume reads, while the driver is stopped (SIGSTOP) just before
    its kill: chosen from a running driver's state, a newer state saved in the last moment could
    have finished the one or moved the other on to a newer checkpoint."""
    storage, marker = tmp_path / "results", tmp_path / "code-ran"
    # Tune saves its experiment state every few seconds; every second here, and trials of 800
    # samples (about 3 s each), so that a saved state soon has two unfinished trials with a
    # checkpoint (with the 200 samples of --smoke-test a trial took 1 s, and a state saved
    # during two of them was rare).
    monkeypatch.setenv("TUNE_GLOBAL_CHECKPOINT_S", "1")
    exp_dir = storage / "toy2d"
    sweep = toy_sweep(storage, *EIGHT_SLOWER_TRIALS, "--set", "toy_samples=800", "--max-failures", "1")

    def restorable(state):
        return [t for t, s in state.items() if s["status"] != "TERMINATED" and s["checkpoint"]]

    def stopped_with_two_restorable():
        """The state --resume will read, once it has two trials to tamper with, the driver stopped."""
        if len(restorable(tune_state(exp_dir))) < 2:
            return None
        os.kill(sweep.proc.pid, signal.SIGSTOP)  # with the driver its state file stays as it is now
        state = tune_state(exp_dir)
        if len(restorable(state)) >= 2 and whole_pickles(exp_dir.glob("*-state-*.json")):  # the searcher's too
            return state
        os.kill(sweep.proc.pid, signal.SIGCONT)  # a newer state came in between (or is half copied)
        return None

    state = wait(stopped_with_two_restorable, "two unfinished trials with a checkpoint", sweep, every=0.02)
    sweep.proc.kill()  # SIGKILL, the driver only
    sweep.finish()
    left = end_leftovers(sweep)
    unsafe, truncated = restorable(state)[:2]
    for checkpoint in exp_dir.glob(f"trial_{unsafe}/checkpoint_*/checkpoint.pt"):
        code_pickle(checkpoint, marker)
    truncate(state[truncated]["checkpoint"] / "checkpoint.pt")

    resumed = toy_sweep(storage, "--resume")
    code = resumed.finish()
    out = resumed.output
    assert not marker.exists(), f"code from a tampered checkpoint ran\n{out}"
    assert code == 1, f"exit {code}, expected 1 (one trial failed)\n{out}"
    refusal = [line for line in out.splitlines() if "refused: not a weights-only file" in line and f"trial {unsafe}:" in line]
    assert refusal and f"trial_{unsafe}/checkpoint_" in refusal[0], out
    assert f"error file: {exp_dir}/trial_{unsafe}/error.txt" in out
    restarted = [line for line in out.splitlines() if f"trial {truncated}:" in line and "truncated or corrupt" in line]
    assert restarted and ("restarting from the previous checkpoint" in restarted[0] or "from scratch" in restarted[0]), out
    results = assert_exactly_once(exp_dir, finished=7)
    print(f"\nSIGKILLed the driver once with {sum(s['status'] != 'TERMINATED' for s in state.values())} trials unfinished; "
          f"left behind by Ray and ended by the test: {left or 'nothing'}; "
          f"{restarted[0].split('; ')[-1]} for {truncated}; {unsafe} ended ERROR (refused); "
          f"{raw_rows(exp_dir)} rows delivered, {len(results)} rows in results.parquet")
    assert not HINT.search(out)
