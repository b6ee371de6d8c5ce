"""What the fault-injection tests share: an 8-trial toy2d sweep in its own process session, the
trial workers of that sweep, and the exactly-once check of its results."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pandas as pd

from analysis.results.tables import read_parquet
from tests.test_interrupt import Sweep
from trainables import metrics as M

EPOCHS = 6
# 2 sets x 2 models x 2 seeds, each trial on its own (not fused), checkpoint every epoch.
EIGHT_TRIALS = ["--smoke-test", "--fuse", "off", "--repeats", "2", "--max-epochs", str(EPOCHS),
                "--set", "toy_set=moons,circles", "--set", "model=mlp,numpy_mlp"]
# The same count with the PyTorch MLP only (about 0.5 s an epoch, against 0.1 s for the NumPy one):
# trials long enough that two run at once with checkpoints for seconds.
EIGHT_SLOWER_TRIALS = [*EIGHT_TRIALS[:-1], "model=mlp", "--repeats", "4"]


def toy_sweep(storage: Path | str, *flags: str) -> Sweep:
    """`python -m sweeps.toy2d` with these flags; `storage` a folder or a URI."""
    argv = [sys.executable, "-m", "sweeps.toy2d", "--storage-path", str(storage), *flags]
    return Sweep(storage, argv=argv)


def descendants(pid: int) -> list:
    import psutil
    import ray  # noqa: F401  (puts the psutil that Ray ships on sys.path)

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def trial_workers(sweep: Sweep) -> list[int]:
    """Pids of this sweep's Ray workers that are running a trial's function right now."""
    found = []
    for p in descendants(sweep.proc.pid):
        try:
            if " ".join(p.cmdline()).startswith("ray::ImplicitFunc.train"):
                found.append(p.pid)
        except Exception:
            continue
    return found


def wait(condition, what: str, sweep: Sweep, timeout: float = 120.0, every: float = 0.05):
    """condition()'s first truthy value, polled until `timeout` (the sweep must stay alive)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert sweep.proc.poll() is None and time.monotonic() < deadline, f"never: {what}\n{sweep.output}"
        time.sleep(every)


def raw_rows(exp_dir: Path) -> int:
    """Result rows as Tune delivered them (a restarted trial may deliver an epoch twice)."""
    return sum(1 for f in exp_dir.glob("trial_*/result.json") for line in f.read_text().splitlines() if line.strip())


def restarts(exp_dir: Path) -> list[int]:
    """For each time a trial's reported epochs went back: the epoch it went on from (0: from
    scratch). Tune restores the latest checkpoint it has registered; a worker killed between a
    result and Tune's save of that result's checkpoint goes back one checkpoint further."""
    found = []
    for f in exp_dir.glob("trial_*/result.json"):
        epochs = [json.loads(line)[M.EPOCH] for line in f.read_text().splitlines() if line.strip()]
        found += [b for a, b in zip(epochs, epochs[1:]) if b <= a]
    return found


def assert_exactly_once(exp_dir: Path, finished: int, epochs: int = EPOCHS) -> pd.DataFrame:
    """Every finished trial has each epoch 0..epochs exactly once in results.parquet; returns it."""
    results, _ = read_parquet(exp_dir / "results.parquet")
    trials, _ = read_parquet(exp_dir / "trials.parquet")
    done = trials[trials["status"] == "TERMINATED"]
    assert len(done) == finished, trials[[M.TRIAL_ID, "status", "epochs"]]
    assert not results.duplicated([M.TRIAL_ID, M.EPOCH]).any()
    for trial_id in done[M.TRIAL_ID]:
        assert sorted(results.loc[results[M.TRIAL_ID] == trial_id, M.EPOCH]) == list(range(epochs + 1)), trial_id
    return results


def tune_state(exp_dir: Path) -> dict[str, dict]:
    """Trial id -> {status, checkpoint (the folder Tune restores it from, or None)} from the
    experiment_state file that `--resume` reads: the newest by name, as Tune picks it. The folder is
    the latest checkpoint registered in the trial's run metadata, decoded as Tune decodes it."""
    from ray.tune.trainable.metadata import _TrainingRunMetadata

    states = sorted(exp_dir.glob("experiment_state-*.json"))
    try:
        data = json.loads(states[-1].read_text())["trial_data"] if states else []
    except (OSError, ValueError):  # being replaced just now
        return {}
    out = {}
    for trial, meta in data:
        trial, manager = json.loads(trial), _TrainingRunMetadata.from_json_state(meta).checkpoint_manager
        latest = manager.latest_checkpoint_result if manager else None
        out[trial["trial_id"]] = {"status": trial["status"], "checkpoint": Path(latest.checkpoint.path) if latest else None}
    return out
