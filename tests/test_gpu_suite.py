"""The GPU suite (benchmarks/gpu_suite.py) rehearsed on the CPU at toy sizes: every part runs and
reports its figures, so the script a lent GPU machine runs has not rotted in between."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PARTS = ["gpu_tests", "epoch", "fused", "cpu_gpu", "packed", "vs_idiom"]  # the parts, in run order


@pytest.mark.ray
def test_the_gpu_suite_runs_every_part_on_the_cpu(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_suite.py"), "--device", "cpu", "--out",
                           str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    report = json.loads((tmp_path / "gpu_suite.json").read_text())
    parts = {p["name"]: p for p in report["parts"]}
    assert list(parts) == PARTS
    assert {n: p.get("error") for n, p in parts.items() if p["status"] != "ok"} == {}, done.stdout[-3000:]
    assert done.returncode == 0
    f = {n: p["figures"] for n, p in parts.items()}
    assert f["gpu_tests"]["failed"] == 0 and f["gpu_tests"]["skipped"] > 0  # no GPU here: skipped, not failed
    assert f["epoch"]["eager_s"] > 0 and "graph_s" not in f["epoch"]  # no CUDA graph on the CPU
    assert [(c["model"], c["members"]) for c in f["fused"]] == [("mlp", 4), ("mlp", 8), ("cnn", 2), ("gru", 2)]
    assert all(c["fused_ms_per_model_epoch"] > 0 and c["alone_ms_per_model_epoch"] > 0 for c in f["fused"])
    for run in ("char_rnn_smoke", "mnist_smoke", "char_rnn_batch100", "mnist"):
        times = f["cpu_gpu"][run]["time_total_s"]
        assert times and all(label.endswith("cpu") for label in times)  # the GPU halves are left out here
        assert f["cpu_gpu"][run]["cpu_over_gpu"] == {}
    assert f["packed"]["trials"] == 2 and 1 <= f["packed"]["most_at_once"] <= 2 and f["packed"]["devices"] == ["cpu"]
    assert len(f["vs_idiom"]["sweeplab_s"]) == 1 and f["vs_idiom"]["ratio"]["1 CPU"] > 0
    table = (tmp_path / "gpu_suite.md").read_text()
    assert all(f"| {name}: " in table for name in PARTS) and "GPU suite on the CPU (rehearsal)" in table
    assert "### vs_idiom" in (tmp_path / "gpu_suite.log").read_text()


def suite_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpu_suite", ROOT / "benchmarks" / "gpu_suite.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_suite"] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def test_cpu_over_gpu_compares_each_devices_last_row_per_group():
    import pandas as pd

    rows = pd.DataFrame({"trial_id": ["a", "a", "b", "b", "c", "d"], "step": [1, 2, 1, 2, 2, 2],
                         "device": ["cpu", "cpu", "cuda", "cuda", "cpu", "cuda"],
                         "model_size": ["large", "large", "large", "large", "small", "small"],
                         "time_total_s": [1.0, 6.0, 0.5, 1.5, 0.4, 0.5]})
    got = suite_module().cpu_vs_gpu(rows, ["model_size"])
    assert got["time_total_s"] == {"large cpu": 6.0, "large cuda": 1.5, "small cpu": 0.4, "small cuda": 0.5}
    assert got["cpu_over_gpu"] == {"large": 4.0, "small": 0.8}


def test_timeline_counts_the_trials_running_at_one_moment():
    import pandas as pd

    rows = pd.DataFrame({"trial_id": ["a", "a", "b", "c"], "started_at": [0.0, 0.0, 1.0, 5.0],
                         "reported_at": [1.5, 3.0, 4.0, 6.0], "device": ["cuda"] * 4, "gpu_peak_mib": [100, 300, 200, 250]})
    got = suite_module().timeline(rows)
    assert (got["trials"], got["most_at_once"], got["span_s"]) == (3, 2, 6.0)
    assert (got["peak_mib_min"], got["peak_mib_max"]) == (200, 300)
