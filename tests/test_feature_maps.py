"""python -m analysis.feature_maps on a real checkpoint of the classic CNN trained on a small
CIFAR-10 folder."""
import subprocess
import sys

from data_modules import load_dataset
from trainables.checkpoint import save_checkpoint
from trainables.loop import run_training


def test_feature_maps_of_a_trained_cnn(vision_data_dir, tmp_path):
    bundle = load_dataset("cifar10", data_dir=vision_data_dir)
    states = []
    run_training([{"model": "cnn", "c1": 6, "c2": 8, "max_epochs": 1, "batch_size": 32}], bundle, lambda r, s: states.append(s))
    ckpt = save_checkpoint(tmp_path / "checkpoint.pt", states[-1])
    out = tmp_path / "maps"
    proc = subprocess.run([sys.executable, "-m", "analysis.feature_maps", str(ckpt), "--data-dir", str(vision_data_dir),
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == sorted(f"image{i}{s}.png" for i in (0, 1) for s in ("", "_C1", "_S1", "_C2", "_S2"))
    assert all((out / n).read_bytes()[:4] == b"\x89PNG" for n in names)


def test_feature_maps_refuses_a_model_without_maps(tmp_path, mnist_sample):
    states = []
    run_training([{"max_epochs": 1, "train_size": 100, "width": 8}], mnist_sample, lambda r, s: states.append(s))
    ckpt = save_checkpoint(tmp_path / "checkpoint.pt", states[-1])
    proc = subprocess.run([sys.executable, "-m", "analysis.feature_maps", str(ckpt)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "model 'mlp' has no feature maps; allowed: a checkpoint of the 'cnn' model" in proc.stderr


def test_given_a_results_folder_it_maps_the_best_trial_with_the_recorded_data(vision_data_dir, tmp_path, capsys):
    """A sweep's results folder: the best finished trial by the sweep's metric (an errored and a
    worse trial are passed over) and the data folder the sweep recorded, not the default one."""
    import pandas as pd

    from analysis import feature_maps
    from analysis.results.sweep_meta import SweepMeta
    from analysis.results.tables import TRIALS_FILE, write_parquet

    bundle = load_dataset("cifar10", data_dir=vision_data_dir)
    results = tmp_path / "cifar_channels"
    for trial, config in (("cnn1", {"model": "cnn", "c1": 6, "c2": 8}), ("mlp1", {"model": "mlp", "width": 8})):
        states = []
        run_training([{**config, "max_epochs": 1, "batch_size": 32}], bundle, lambda r, s: states.append(s))
        folder = results / f"trial_{trial}" / "checkpoint_000000"  # Ray's layout of a trial's checkpoints
        folder.mkdir(parents=True)
        save_checkpoint(folder / "checkpoint.pt", states[-1])
    trials = pd.DataFrame({"trial_id": ["err1", "cnn1", "mlp1"], "status": ["ERROR", "TERMINATED", "TERMINATED"],
                           "val_loss": [0.1, 0.5, 0.9]})
    meta = SweepMeta(metric="val_loss", mode="min", dataset="cifar10", data_dir=str(vision_data_dir), loader_args={})
    write_parquet(trials, results / TRIALS_FILE, meta)

    assert feature_maps.main([str(results)]) == 0, capsys.readouterr().err
    names = {p.name for p in (results / "posthoc" / "feature_maps").glob("*.png")}
    assert {"image0.png", "image0_C1.png", "image1_S2.png"} <= names  # the CNN's maps: the MLP was not picked


def test_help_describes_the_tool_and_every_flag(capsys):
    import re

    import pytest

    from analysis import feature_maps

    with pytest.raises(SystemExit):
        feature_maps.main(["--help"])
    out = capsys.readouterr().out
    assert "maps after C1,\nS1, C2 and S2 as PNG grids (one tile per channel)." in out  # the whole sentence
    for flag in ("RESULTS_DIR", "--data-dir DATA_DIR", "--out OUT", "--images IMAGES"):
        assert re.search(rf"^  {re.escape(flag)}\s+\w", out, re.M), f"{flag} has no help"
