"""Bring your own experiment: examples/ declares a model, a dataset and a sweep in a lab's own
files, outside the package. The sweep runs as a script; its trials' Ray workers and a later
post-hoc command (started from another folder) find the lab's model through the run's record."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.results.tables import RESULTS_FILE, TRIALS_FILE, read_parquet
from trainables import metrics as M

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = PROJECT_ROOT / "examples" / "spirals_sweep.py"


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.ray
def test_a_sweep_of_a_labs_own_model_and_data_runs_and_its_checkpoints_reopen(tmp_path):
    done = run([str(EXAMPLE), "--smoke-test", "--storage-path", str(tmp_path)], cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    folder = tmp_path / "spirals_depth"
    results, meta = read_parquet(folder / RESULTS_FILE)
    assert set(results["model"]) == {"residual_mlp"} and sorted(results["blocks"].unique()) == [0, 2]
    assert set(results[M.VARIANT]) == {"spirals-1.5turns"} and results[M.TEST_ACC].notna().all()
    assert sorted(plugin.module for plugin in meta.plugins) == ["residual_mlp", "spirals"]
    assert (folder / "report.md").is_file() and (folder / "plots" / "decision_boundaries.png").is_file()

    elsewhere = tmp_path / "elsewhere"  # examples/ is not on this process's path: the record's files are
    elsewhere.mkdir()
    study = run(["-m", "analysis.sensitivity", str(folder), "--no-report"], cwd=elsewhere)
    assert study.returncode == 0, study.stdout + study.stderr
    table, _ = read_parquet(folder / "posthoc" / "sensitivity.parquet")
    trials, _ = read_parquet(folder / TRIALS_FILE)
    assert set(table[M.TRIAL_ID]) == set(trials[M.TRIAL_ID])

