"""Every sweep plans at its defaults and at its smoke size without Ray, and the catalogue command
lists them all: a sweep that only ever ran with --smoke-test cannot hide a crash (text_models'
epochs come from presets, and once broke both the catalogue and the Tuner)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sweeps.runner.catalog import all_sweeps
from sweeps.runner.cli import build_parser
from sweeps.runner.plan import make_plan
from sweeps.runner.tune_setup import param_space, run_settings
from tests.conftest import copy_dbpedia_fixture
from trainables.config import expand_presets, split_config

SWEEPS = all_sweeps()


@pytest.mark.parametrize("flags", [[], ["--smoke-test"]], ids=["defaults", "smoke"])
@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_every_sweep_plans_and_builds_its_tune_settings_without_ray(name, flags):
    sweep = SWEEPS[name]
    plan = make_plan(sweep, build_parser(name, "").parse_args(flags), gpu_available=False)
    lengths = []
    for point in plan.points():
        flat = expand_presets({k: v for k, v in point.items() if k not in sweep.data_axes}, sweep.presets)
        cfg, _ = split_config(flat)  # raises ConfigError on a setting the loop would refuse
        lengths.append(cfg.max_steps or cfg.max_epochs)
    assert plan.max_epochs == max(lengths) > 0
    settings = run_settings(plan)
    assert settings.tune_config.metric == sweep.metric and settings.tune_config.num_samples == plan.num_samples
    assert param_space(plan)
    if "seed" not in sweep.grid:  # seeds as an axis of its own (minimal_ratio) are not repeats
        repeats = 1 if flags or plan.search == "optuna" else sweep.repeats
        assert len(plan.grid.get("seed", [0])) == repeats


def test_the_catalogue_command_lists_every_sweep_with_an_estimate(tmp_path):
    data = copy_dbpedia_fixture(tmp_path / "data")
    env = {**os.environ, "SWEEPLAB_OFFLINE": "1", "SWEEPLAB_DATA_DIR": str(data)}
    proc = subprocess.run([sys.executable, "-m", "sweeps"], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = {line.split()[0]: line for line in proc.stdout.splitlines() if line.strip() and line.split()[0] in SWEEPS}
    assert set(lines) == set(SWEEPS)
    text = lines["text_models"]  # epochs from presets, data from the committed fixture
    assert "12 x 100/250 epochs" in text and ("s " in text or "min " in text)
