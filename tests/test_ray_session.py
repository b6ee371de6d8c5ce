"""A Ray started by sweeps.runner.ray_session runs Tune trials in the workers it prestarted, with torch
and the trainables already imported, starts no process a laptop sweep does not use, and ends all
of them: the mechanisms behind a small sweep's short start-up and stop, which a Ray upgrade could
silently undo."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = r"""
import glob, json, os, sys, time
from sweeps.runner.ray_session import start_ray
start_ray(num_cpus=1)
from ray import tune

def ray_workers():
    pids = set()
    for folder in glob.glob("/proc/[0-9]*"):
        try:
            with open(folder + "/cmdline", "rb") as f:
                cmdline = f.read()
            if cmdline.startswith(b"ray::IDLE"):  # retitled once registered with the raylet
                pids.add(int(folder[6:]))
        except OSError:
            pass
    return pids

deadline = time.monotonic() + 60
while not ray_workers() and time.monotonic() < deadline:  # the raylet starts them asynchronously
    time.sleep(0.05)
prestarted = ray_workers()

def probe(config):  # defined in __main__: shipped by value, importing nothing of ours
    tune.report({"pid": os.getpid(), "warm": "trainables.families" in sys.modules and "torch" in sys.modules})

import psutil
from sweeps.runner.ray_session import stop_ray
ray_processes = [" ".join(c.cmdline()) for c in psutil.Process().children(recursive=True)]
lean = not any(name in line for line in ray_processes for name in ("dashboard/dashboard.py", "autoscaler/_private/monitor.py"))
run_config = tune.RunConfig(storage_path=sys.argv[1], verbose=0, callbacks=[tune.Callback()])
result = tune.Tuner(probe, run_config=run_config).fit()[0]
census = any(m.startswith(("ray.air.integrations.mlflow", "ray.air.integrations.wandb")) for m in sys.modules)
stop_ray()
left = [c for c in psutil.Process().children(recursive=True) if c.status() != psutil.STATUS_ZOMBIE]
print(json.dumps({"prestarted": result.metrics["pid"] in prestarted, "warm": result.metrics["warm"], "lean": lean,
                  "census": census, "left": len(left)}))
"""


@pytest.mark.ray
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="lists worker processes through /proc")
def test_trials_run_in_prestarted_workers_with_torch_imported(tmp_path):
    out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    facts = json.loads(out.stdout.strip().splitlines()[-1])
    # and: no API server or autoscaler monitor without --dashboard (lean_head); Tune did not import its
    # MLflow and W&B integrations to count our callbacks for usage stats that are off; nothing is
    # left running once stop_ray() returns
    assert facts == {"prestarted": True, "warm": True, "lean": True, "census": False, "left": 0}


def test_the_environment_set_for_tunes_actors_is_tunes_own():
    """Tune's trial actors would carry these variables in a runtime_env; a local Ray sets them in the
    environment its prestarted workers inherit, before ray.init and without importing Tune. A Ray
    upgrade that changes them fails here instead of leaving the workers without them."""
    from ray.tune.execution import class_cache

    from sweeps.runner.ray_session import TUNE_ACTOR_ENV

    assert class_cache.DEFAULT_ENV_VARS == TUNE_ACTOR_ENV
