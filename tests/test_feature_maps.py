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
