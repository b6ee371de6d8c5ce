"""analysis.results.stats / plots / markdown / report on small synthetic sweeps written in the real
Parquet layout (results.parquet, trials.parquet, predictions.parquet with schema metadata)."""
from __future__ import annotations

import itertools
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import report as R
from analysis.results import report_md
from analysis.results.markdown import epoch_table
from analysis.results.stats import mean_ci, summarize, t_critical
from analysis.results.sweep_meta import SweepMeta
from analysis.results.tables import PREDICTIONS_FILE, RESULTS_FILE, TRIALS_FILE, write_parquet
from trainables import metrics as M

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_sweep(axes: dict[str, list], seeds: int = 2, epochs: int = 3, fixed: dict | None = None,
               errored: tuple[int, ...] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(results, trials) of a grid over `axes` x seeds, with metrics that depend on the config,
    the epoch and the seed, like a real run. Trial numbers in `errored` get status ERROR."""
    rng = np.random.default_rng(0)
    rows, trials = [], []
    names = list(axes)
    combos = list(itertools.product(*axes.values()))
    for t, (c, seed) in enumerate(itertools.product(range(len(combos)), range(seeds))):
        config = {**(fixed or {}), **dict(zip(names, combos[c])), "seed": seed}
        trial_id = f"t{t:03d}"
        quality = 1 + 0.4 * c + rng.uniform(0, 0.3)  # later configs learn faster and run slower
        time_total = 0.0
        for epoch in range(1, epochs + 1):
            epoch_time = 0.5 * quality + rng.uniform(0, 0.1)
            time_total += epoch_time
            loss = 2.0 / (epoch * quality) + rng.uniform(0, 0.05)
            rows.append({
                M.TRIAL_ID: trial_id, **config,
                M.EPOCH: epoch, M.TRAIN_LOSS: loss * 0.9, M.TRAIN_ACC: 1 - loss / 3,
                M.VAL_LOSS: loss, M.VAL_ACC: 1 - loss / 2.5, M.TEST_LOSS: loss * 1.05,
                M.TEST_ACC: 1 - loss / 2.4 - rng.uniform(0, 0.02),
                M.EPOCH_TIME_S: epoch_time, M.TIME_TOTAL_S: time_total,
                M.SAMPLES_PER_S: 50_000 / epoch_time, M.PARAM_COUNT: 1000 * c + 100, M.DEVICE: "cpu",
                M.DEVICE_NAME: "x86_64", M.SWEEP: "synthetic", M.DATASET: "mnist", M.VARIANT: "small",
                M.TORCH_VERSION: "2.5.0", M.RAY_VERSION: "2.55.0", M.GIT_COMMIT: "abc123",
            })
        last = rows[-1]
        trials.append({**last, "status": "ERROR" if t in errored else "TERMINATED",
                       "epochs": epochs, "best_val_loss": last[M.VAL_LOSS], "best_val_acc": last[M.VAL_ACC]})
    return pd.DataFrame(rows), pd.DataFrame(trials)


def write_sweep(folder: Path, results: pd.DataFrame, trials: pd.DataFrame, axes: list[str], x: str | None) -> SweepMeta:
    meta = SweepMeta(sweep="synthetic", title=f"Synthetic: test accuracy vs {x or 'nothing'}", description="A made-up sweep.",
                     axes=axes, x=x, metric=M.VAL_LOSS, mode="min", headline=M.TEST_ACC,
                     notes=["GPU half skipped: no GPU"], command="python -m sweeps.synthetic --smoke-test")
    folder.mkdir(parents=True, exist_ok=True)
    write_parquet(results, folder / RESULTS_FILE, meta)
    write_parquet(trials, folder / TRIALS_FILE, meta)
    return meta


def write_predictions(folder: Path, classes: int = 10) -> None:
    rng = np.random.default_rng(1)
    preds = [(c, c if c % 4 else (c + 1) % classes) for c in range(classes)]  # every 4th one wrong
    write_parquet(pd.DataFrame({
        "label": [p[0] for p in preds], "pred": [p[1] for p in preds], "prob": rng.uniform(0.4, 1, classes),
        "image": [rng.integers(0, 256, 28 * 28, dtype=np.uint8).tolist() for _ in preds],
        "channels": 1, "height": 28, "width": 28, "trial_id": "t000", "class_name": [str(c) for c, _ in preds],
    }), folder / PREDICTIONS_FILE)


def linked_images(report_text: str) -> set[str]:
    return set(re.findall(r"!\[[^\]]*\]\((plots/[^)]+\.png)\)", report_text))


def assert_real_pngs(folder: Path, expected: set[str]) -> None:
    found = {p.name for p in (folder / "plots").glob("*.png")}
    assert expected <= found, f"missing plots: {expected - found}"
    for name in found:
        data = (folder / "plots" / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5_000, name


def table_section(text: str, heading: str) -> list[list[str]]:
    """Cells of the first pipe table after `heading`, header row included."""
    lines = text.split(heading, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        if not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


# --- statistics --------------------------------------------------------------------------------

def test_mean_ci_matches_hand_computation():
    mean, half, n = mean_ci([1.0, 2.0, 3.0])
    assert (mean, n) == (2.0, 3)
    assert half == pytest.approx(4.303 * 1.0 / math.sqrt(3))  # std of [1,2,3] is 1
    assert t_critical(1) == 12.706 and t_critical(30) == 2.042 and t_critical(31) == 1.96


def test_mean_ci_one_value_and_nan():
    mean, half, n = mean_ci([0.5, float("nan")])
    assert (mean, n) == (0.5, 1) and math.isnan(half)
    assert mean_ci([])[2] == 0


def test_summarize_groups_and_orders_naturally():
    df = pd.DataFrame({"width": ["128-64", "64-32", "128-64", "64-32"], "acc": [0.9, 0.8, 0.92, 0.82]})
    s = summarize(df, ["width"], "acc")
    assert list(s["width"]) == ["64-32", "128-64"]  # natural order, not lexicographic
    row = s.iloc[1]
    half = 12.706 * np.std([0.9, 0.92], ddof=1) / math.sqrt(2)
    assert row["mean"] == pytest.approx(0.91) and row["ci_high"] - row["mean"] == pytest.approx(half)
    assert len(summarize(df, [], "acc")) == 1


# --- full report --------------------------------------------------------------------------------

def test_numeric_width_report(tmp_path):
    results, trials = make_sweep({"width": [100, 400, 1600]}, fixed={"depth": 1, "lr": 0.1})
    write_sweep(tmp_path, results, trials, ["width"], "width")
    write_predictions(tmp_path)
    text = report_md.build_report(tmp_path).read_text()

    assert_real_pngs(tmp_path, {"accuracy_vs_width.png", "time_vs_width.png", "loss_vs_epoch.png",
                                "loss_vs_time.png", "predictions.png"})
    assert linked_images(text) == {f"plots/{p.name}" for p in (tmp_path / "plots").glob("*.png")}
    assert "python -m sweeps.synthetic --smoke-test" in text and "GPU half skipped: no GPU" in text
    assert "TERMINATED 6" in text and "abc123" in text and "depth=1" in text

    # per-epoch table: width=400, epoch 2 is the mean over its two seeds, with a t-interval
    values = results.loc[(results["width"] == 400) & (results[M.EPOCH] == 2), M.TEST_ACC]
    mean, half, _ = mean_ci(values)
    rows = table_section(text, "## Test accuracy per epoch")
    assert rows[0] == ["width", "1", "2", "3"]
    assert dict((r[0], r) for r in rows[1:])["400"][2] == f"{mean:.3f} ±{half:.3f}"

    # best configuration: lowest mean final val_loss
    final = results[results[M.EPOCH] == 3].groupby("width")[M.VAL_LOSS].mean()
    best = table_section(text, "## Best configurations")
    assert best[1][:2] == ["1", str(final.idxmin())] and len(best) == 1 + 3


def test_plots_drawn_in_forked_processes_are_the_ones_drawn_one_by_one(tmp_path):
    """make_all_plots draws in one process per core: the same files, byte for byte and in report
    order, and the same plot checks in plots.json as drawing them here one after the other."""
    import json

    from analysis.results.plots import make_all_plots

    results, trials = make_sweep({"width": [100, 400, 1600]}, fixed={"depth": 1, "lr": 0.1})
    folders = {workers: tmp_path / f"w{workers}" for workers in (1, 3)}
    drawn = {}
    for workers, folder in folders.items():
        write_sweep(folder, results, trials, ["width"], "width")
        write_predictions(folder)
        drawn[workers] = [p.relative_to(folder) for p in make_all_plots(folder, workers=workers)]
    assert drawn[3] == drawn[1] and len(drawn[1]) == 6
    manifests = [json.loads((folder / "plots" / "plots.json").read_text()) for folder in folders.values()]
    assert manifests[0] == manifests[1] and set(manifests[0]) == {p.name for p in drawn[1]}
    assert_real_pngs(folders[3], {p.name for p in drawn[3]})
    for png in drawn[1]:  # the very same images, byte for byte
        assert (folders[3] / png).read_bytes() == (folders[1] / png).read_bytes(), png


def test_categorical_x_and_errored_trial(tmp_path):
    results, trials = make_sweep({"activation": ["relu", "tanh", "sigmoid"]}, errored=(0,))
    write_sweep(tmp_path, results, trials, ["activation"], "activation")
    text = report_md.build_report(tmp_path).read_text()
    assert_real_pngs(tmp_path, {"accuracy_vs_activation.png", "time_vs_activation.png"})
    assert "predictions.png" not in text and not (tmp_path / "plots" / "predictions.png").exists()
    assert "ERROR 1" in text
    # the errored trial t000 (relu, seed 0) is left out: relu's epoch-1 cell is seed 1 alone
    kept = results.loc[(results[M.TRIAL_ID] == "t001") & (results[M.EPOCH] == 1), M.TEST_ACC].iloc[0]
    cells = epoch_table(results, trials, SweepMeta(axes=["activation"], x="activation"))
    assert cells.loc[cells["activation"] == "relu", "1"].item() == f"{kept:.3f}"


def test_two_axes_report(tmp_path):
    results, trials = make_sweep({"width": [64, 256], "lr": [0.001, 0.01, 0.1]}, seeds=2, epochs=2)
    write_sweep(tmp_path, results, trials, ["width", "lr"], "lr")
    text = report_md.build_report(tmp_path).read_text()
    assert_real_pngs(tmp_path, {"accuracy_vs_lr.png", "time_vs_lr.png", "loss_vs_epoch.png"})
    rows = table_section(text, "## Training time")
    assert rows[0][:2] == ["width", "lr"] and len(rows) == 1 + 6


def test_single_config_single_epoch(tmp_path):
    results, trials = make_sweep({}, seeds=1, epochs=1)
    write_sweep(tmp_path, results, trials, [], None)
    text = report_md.build_report(tmp_path).read_text()
    assert_real_pngs(tmp_path, {"loss_vs_epoch.png", "loss_vs_time.png"})
    assert not list((tmp_path / "plots").glob("accuracy_vs_*.png"))
    assert table_section(text, "## Test accuracy per epoch")[1][0] == "all trials"


# --- command line -------------------------------------------------------------------------------

def test_cli_missing_folder_is_one_line_exit_2():
    run = subprocess.run([sys.executable, "-m", "analysis.report", "/nonexistent"], cwd=PROJECT_ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1 and "/nonexistent" in run.stderr
    assert "Traceback" not in run.stderr


def test_cli_missing_results_file(tmp_path, capsys):
    assert R.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and RESULTS_FILE in err and "Traceback" not in err


def test_cli_tables_it_cannot_use_are_one_line_naming_the_command(tmp_path, capsys):
    """A results table lacking the sweep's columns, and a post-hoc table that is not Parquet: one
    line that starts with the command, names the file and what is allowed; exit 2."""
    prog = "python -m analysis.report: error: "
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / RESULTS_FILE)
    assert R.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(prog) and len(err.strip().splitlines()) == 1
    assert f"{tmp_path / RESULTS_FILE} has no column trial_id, epoch; allowed: a results table" in err
    results, trials = make_sweep({"width": [100, 400]}, seeds=1, epochs=2)
    write_sweep(tmp_path, results, trials, ["width"], "width")
    (tmp_path / "posthoc").mkdir()
    (tmp_path / "posthoc" / "fgsm.parquet").write_text("not a table")
    assert R.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(prog) and len(err.strip().splitlines()) == 1
    assert f"cannot read {tmp_path / 'posthoc' / 'fgsm.parquet'}" in err and "python -m analysis.fgsm again" in err


def test_cli_success_prints_report_paths(tmp_path, capsys):
    results, trials = make_sweep({"width": [100, 400]}, seeds=1, epochs=2)
    write_sweep(tmp_path, results, trials, ["width"], "width")
    assert R.main([str(tmp_path)]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "report.md"), str(tmp_path / "report.html")]
    assert (tmp_path / "report.html").is_file()


def test_speedup_table_per_model_size():
    from analysis.results.markdown import speedup_table

    rows = []
    for size, cpu_time, gpu_time in (("small", 0.4, 0.1), ("large", 3.0, 0.2)):
        for device, t in (("cpu", cpu_time), ("cuda", gpu_time)):
            for epoch in (1, 2):
                rows.append({"trial_id": f"{size}-{device}", "model_size": size, "device": device, "seed": 0,
                             "epoch": epoch, "epoch_time_s": t + 0.01 * epoch})
    results = pd.DataFrame(rows)
    meta = SweepMeta(axes=["model_size", "device"], x="model_size")
    table = speedup_table(results, meta).set_index("model_size")
    assert table.loc["small", "speed-up"] == f"{0.415 / 0.115:.1f}x"
    assert table.loc["large", "cpu s/epoch"] == "3.015"
    assert speedup_table(results[results["device"] == "cpu"], meta) is None  # no GPU half: no table


def test_grid_table_pivots_final_test_accuracy():
    from analysis.results.grid_plots import grid_markdown_frame

    rows = []
    for c1, c2, seed in itertools.product((10, 30), (20, 40), (0, 1)):
        acc = c1 / 100 + c2 / 1000 + seed / 100
        rows += [{"trial_id": f"{c1}-{c2}-{seed}", "c1": c1, "c2": c2, "seed": seed, "epoch": e,
                  "test_acc": acc if e == 2 else 0.0} for e in (1, 2)]
    table = grid_markdown_frame(pd.DataFrame(rows), None, SweepMeta(axes=["c1", "c2"], x="c1")).set_index("c1 \\ c2")
    mean, half, _ = mean_ci([0.30 + 0.04, 0.30 + 0.04 + 0.01])
    assert table.loc["30", "40"] == f"{mean:.3f} ±{half:.3f}"
    assert list(table.columns) == ["20", "40"] and list(table.index) == ["10", "30"]


# --- what each plot claims -------------------------------------------------------------------------

def test_log_uniform_axis_is_log_scaled_even_within_two_decades():
    import matplotlib.pyplot as plt

    from analysis.results.plots import _vs_x, log_axis

    results, trials = make_sweep({"lr": [0.05, 0.1, 0.15, 0.2]}, seeds=1, epochs=1)  # 4x in equal steps: linear by the data
    assert not log_axis(SweepMeta(), "lr", results["lr"]) and log_axis(SweepMeta(log_axes=["lr"]), "lr", results["lr"])
    assert log_axis(SweepMeta(), "weight_decay", [1e-4, 1e-3, 1e-1])
    assert not log_axis(SweepMeta(log_axes=["momentum"]), "momentum", [0, 0.9])
    for meta, scale in ((SweepMeta(log_axes=["lr"]), "log"), (SweepMeta(), "linear")):
        fig, panel = plt.subplots()
        _vs_x(panel, results, ["lr"], "lr", M.TEST_ACC, meta)
        assert panel.get_xscale() == scale
        plt.close(fig)


def test_grid_plots_need_two_varying_axes_and_show_the_headline_metric(tmp_path):
    """Like mnist_cpu_gpu without a GPU: the second axis took one value, so no heatmap or
    parallel coordinates; with two values they show total training time, the study's headline."""
    from analysis.results.grid_plots import grid_table

    meta = SweepMeta(sweep="cpu_gpu", title="CPU vs GPU training time", axes=["model_size", "precision"],
                     x="model_size", metric=M.VAL_LOSS, mode="min", headline=M.TIME_TOTAL_S)

    def report(folder: Path, precisions: list[str]):
        results, trials = make_sweep({"model_size": ["small", "large"], "precision": precisions}, seeds=1)
        folder.mkdir()
        write_parquet(results, folder / RESULTS_FILE, meta)
        write_parquet(trials, folder / TRIALS_FILE, meta)
        return results, trials, report_md.build_report(folder).read_text()

    results, trials, _ = report(tmp_path / "one", ["fp32"])
    assert grid_table(results, trials, meta) is None
    assert not {"heatmap.png", "parallel_coordinates.png"} & {p.name for p in (tmp_path / "one" / "plots").iterdir()}

    results, trials, text = report(tmp_path / "two", ["fp32", "bf16"])
    table = grid_table(results, trials, meta).set_index(["model_size", "precision"])
    final = results[results[M.EPOCH] == 3].set_index(["model_size", "precision"])[M.TIME_TOTAL_S]
    assert table["mean"].to_dict() == pytest.approx(final.to_dict())
    assert_real_pngs(tmp_path / "two", {"heatmap.png", "parallel_coordinates.png"})
    assert "## Final total training time (s) over the grid" in text and "Final test accuracy over the grid" not in text


def test_titles_claim_only_what_the_plot_shows():
    from analysis.results.plots import _title, _which_trial

    meta = SweepMeta(sweep="mnist_width", title="MNIST: test accuracy vs hidden width", headline=M.TEST_ACC)
    assert _title(meta, "accuracy at the last epoch", (M.TEST_ACC, M.VAL_ACC)).startswith("MNIST: test accuracy")
    loss = _title(meta, "loss per epoch", (M.TRAIN_LOSS, M.VAL_LOSS, M.TEST_LOSS))
    assert loss == "mnist_width\nloss per epoch" and "accuracy" not in loss
    preds = pd.DataFrame({"trial_id": ["a1b2c_00003"], "trial_config": ["width=400"]})
    assert _which_trial(preds) == "the best trial (width=400)"
    assert _which_trial(preds.drop(columns="trial_config")) == "trial a1b2c_00003"  # results written before


def test_a_sweep_trained_in_steps_is_reported_in_steps():
    """Rows every 50 steps (fractional epochs): the captions, the per-step table, the training
    time per 100 steps and the length say steps, never epochs; the same table in epochs stays."""
    from analysis.results.markdown import time_table

    results, trials = make_sweep({"width": [4, 8]}, seeds=1, epochs=3)
    results[M.STEP] = results[M.EPOCH] * 50
    results[M.EPOCH] = results[M.EPOCH] * 0.25
    meta = SweepMeta(axes=["width"], x="width", metric=M.VAL_LOSS, mode="min", unit="step")
    text = report_md.render(results, trials, meta, [Path("plots/loss_vs_epoch.png"), Path("plots/accuracy_vs_width.png")])
    assert "### Loss per step" in text and "Final accuracy (last step) against width" in text, text
    assert "## Test accuracy per step" in text and "Columns are steps" in text and "at each trial's last step" in text
    assert "Total time at the last step" in text and not re.search(r"per epoch|last epoch|s/epoch|epoch time", text), text
    table = time_table(results, trials, meta).set_index("width")
    first = results[results["width"] == 4]
    assert table.loc["4", "s/100 steps"] == f"{(100 * first[M.EPOCH_TIME_S] / 50).mean():.2f}"
    assert table.loc["4", "steps"] == "150"
    assert list(epoch_table(results, trials, meta).columns) == ["width", "50", "100", "150"]
    epochs = report_md.render(*make_sweep({"width": [4, 8]}, seeds=1), SweepMeta(axes=["width"], x="width"),
                              [Path("plots/loss_vs_epoch.png")])
    assert "### Loss per epoch" in epochs and "epoch time (s)" in epochs and "per step" not in epochs
