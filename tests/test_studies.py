"""The post-hoc commands (python -m analysis.NAME) on real checkpoints of tiny trainings, in the
results layout the runner writes (tests/study_fixtures.py, no Ray): tables, figures and report
sections, the trial's own data split, and one-line errors."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from analysis.results.sections import posthoc_dir, read_frames, studies
from analysis.results.tables import read_parquet
from tests.study_fixtures import write_results_dir
from trainables import metrics as M

MNIST = dict(depth=1, width=16, max_epochs=2, train_size=400, test_size=200, eval_at_start=True,
             record_weights_every=1, track_grad_norm=True)


@pytest.fixture(scope="module")
def mnist_results(tmp_path_factory):
    """Batch 32 (a plain trial) and batch 256 at seeds 0 and 1 (a fused population of two)."""
    folder = tmp_path_factory.mktemp("results") / "mnist_batch"
    configs = {"a": [{**MNIST, "batch_size": 32, "seed": 0}],
               "p": [{**MNIST, "batch_size": 256, "seed": 0}, {**MNIST, "batch_size": 256, "seed": 1}]}
    return write_results_dir(folder, configs, ["batch_size"], data_dir=os.environ["SWEEPLAB_DATA_DIR"])


@pytest.fixture(scope="module")
def function_results(tmp_path_factory):
    """Small regression nets on x^3 and sin(5 pi x), the function chosen by a data axis."""
    folder = tmp_path_factory.mktemp("results") / "function_fit"
    base = dict(depth=1, width=8, activation="tanh", optimizer="adam", lr=1e-2, max_epochs=3, batch_size=32,
                eval_at_start=True)
    configs = {"c": [{**base, "function": "cubic"}], "s": [{**base, "function": "sin5pi"}]}
    return write_results_dir(folder, configs, ["function"], dataset="function", loader_args={"n_points": 500},
                             objective="regression", data_axes={"function": "kind"})


def final(folder, metric):
    results, _ = read_parquet(folder / "results.parquet")
    last = results.sort_values(M.EPOCH).groupby(M.TRIAL_ID).tail(1)
    return dict(zip(last[M.TRIAL_ID], last[metric]))


COMMANDS = [
    ("sensitivity", [], "Input sensitivity"),
    ("fgsm", ["--eps", "0,0.1,0.2"], "Adversarial robustness (FGSM)"),
    ("adversarial", ["--steps", "40"], "Targeted adversarial example"),
    ("hessian", ["--subset", "100", "--k", "2", "--probes", "8", "--density-steps", "12"], "Hessian of the training loss"),
    ("interpolate", ["--along", "batch_size", "--points", "7"], "Linear interpolation between two solutions"),
    ("trajectory", [], "Weight trajectories (PCA)"),
    ("grad_norm", [], "Gradient norm"),
    ("params", [], "Generalisation against parameter count"),
]


@pytest.mark.parametrize("name,argv,heading", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_command_writes_its_table_figures_and_report_section(mnist_results, name, argv, heading, capsys):
    module = importlib.import_module(f"analysis.{name}")
    assert module.main([str(mnist_results), *argv]) == 0, capsys.readouterr().err
    table = read_frames(mnist_results, name)[name]
    assert table.shape[0] > 0
    if "label" in table:  # a trial is named by its swept values, as everywhere (analysis.results.stats.trial_label)
        assert table["label"].str.match(r"^batch_size=\d+").all(), table["label"].unique()
    report = (mnist_results / "report.md").read_text()
    assert f"## {heading}" in report
    pngs = [p for p in posthoc_dir(mnist_results).glob("*.png") if f"posthoc/{p.name}" in report]
    assert pngs and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_studies_evaluate_the_trials_own_test_split(mnist_results):
    """eps 0 is the clean accuracy, and equals the accuracy the training loop reported on the
    trial's test split; so do the sensitivity table's test metrics (a fused member included)."""
    from analysis import fgsm, sensitivity

    assert fgsm.main([str(mnist_results), "--eps", "0,0.3", "--no-report"]) == 0
    assert sensitivity.main([str(mnist_results), "--no-report"]) == 0
    reported_acc, reported_loss = final(mnist_results, M.TEST_ACC), final(mnist_results, M.TEST_LOSS)
    attacked = read_frames(mnist_results, "fgsm")["fgsm"]
    clean = attacked[attacked["eps"] == 0].set_index(M.TRIAL_ID)[M.FGSM_ACC]
    assert set(clean.index) == {"a", "p_m00", "p_m01"}
    for trial, accuracy in clean.items():
        assert accuracy == pytest.approx(reported_acc[trial], abs=1e-9)
    strong = attacked[attacked["eps"] == 0.3].set_index(M.TRIAL_ID)[M.FGSM_ACC]
    assert (strong < clean).all()
    table = read_frames(mnist_results, "sensitivity")["sensitivity"].set_index(M.TRIAL_ID)
    for trial in table.index:
        assert table.loc[trial, M.TEST_LOSS] == pytest.approx(reported_loss[trial], rel=1e-5)
        assert table.loc[trial, M.SENSITIVITY] > 0


def test_interpolation_ends_reproduce_the_endpoint_checkpoints(mnist_results):
    from analysis import interpolate

    assert interpolate.main([str(mnist_results), "--trials", "a,p_m01", "--points", "4", "--no-report"]) == 0
    curve = read_frames(mnist_results, "interpolate")["interpolate"]
    test = curve[curve["split"] == "test"].set_index("alpha")["loss"]
    reported = final(mnist_results, M.TEST_LOSS)
    assert test[0.0] == pytest.approx(reported["a"], rel=1e-5) and test[1.0] == pytest.approx(reported["p_m01"], rel=1e-5)


def test_trajectory_projects_every_record_of_every_member(mnist_results):
    from analysis import trajectory

    assert trajectory.main([str(mnist_results), "--layer", "net.4", "--no-report"]) == 0
    df = read_frames(mnist_results, "trajectory")["trajectory"]
    assert set(df["scope"]) == {"whole model", "layer net.4"}
    assert df.groupby(["scope", M.TRIAL_ID]).size().tolist() == [3] * 6  # epochs 0, 1, 2 of three trials
    whole = df[df["scope"] == "whole model"].set_index(M.TRIAL_ID)
    assert not np.allclose(whole.loc["p_m00", "pc1"], whole.loc["p_m01", "pc1"])  # each member's own weights
    assert (df["explained_pc1"] + df["explained_pc2"] <= 1 + 1e-9).all()


def test_report_rebuild_keeps_the_study_sections(mnist_results, capsys):
    from analysis import report, sensitivity

    assert sensitivity.main([str(mnist_results), "--no-report"]) == 0
    (mnist_results / "report.md").unlink(missing_ok=True)
    assert report.main([str(mnist_results)]) == 0
    text = (mnist_results / "report.md").read_text()
    assert "## Input sensitivity" in text and "posthoc/sensitivity.png" in text


def test_regression_studies_reload_the_data_chosen_by_a_data_axis(function_results):
    """fit reloads each trial's function (a data axis) and split: its test MSE is the loop's test
    loss; minimal_ratio reaches a critical point and counts the exact spectrum."""
    from analysis import fit, minimal_ratio

    assert fit.main([str(function_results), "--no-report"]) == 0
    errors = read_frames(function_results, "fit")["fit_mse"].set_index(M.TRIAL_ID)
    reported = final(function_results, M.TEST_LOSS)
    assert errors.loc["c", "function"] == "function-cubic" and errors.loc["s", "function"] == "function-sin5pi"
    for trial in ("c", "s"):
        assert errors.loc[trial, "test_mse"] == pytest.approx(reported[trial], rel=1e-5)
    argv = ["--trials", "s", "--max-steps", "100", "--threshold", "1e-3", "--no-report"]
    assert minimal_ratio.main([str(function_results), *argv]) == 0
    ratios = read_frames(function_results, "minimal_ratio")["minimal_ratio"]
    assert ratios["converged"].all() and (ratios[M.GRAD_NORM] < 1e-3).all()
    assert (ratios["loss"] <= ratios["trained_loss"] * 1.5).all()  # a critical point near the trained model
    assert ratios[M.MINIMAL_RATIO].between(0, 1).all() and ratios["params"].tolist() == [25]


def test_trials_in_worker_processes_give_the_serial_rows_in_the_same_order(function_results):
    """Selection.map: the minimal-ratio study over both trials, in two worker processes and in
    this one: the same rows (float64, one thread each), in the order of the trials."""
    from analysis import minimal_ratio

    argv = [str(function_results), "--trials", "all", "--max-steps", "30", "--no-report"]
    found = {}
    for workers in ("2", "1"):
        assert minimal_ratio.main([*argv, "--workers", workers]) == 0
        found[workers] = read_frames(function_results, "minimal_ratio")["minimal_ratio"]
    assert found["2"][M.TRIAL_ID].tolist() == ["c", "s"]
    pd.testing.assert_frame_equal(found["2"], found["1"])


def test_default_workers_fit_the_cpus_and_the_available_memory(monkeypatch):
    from analysis.results import trial_models
    from trainables.provenance import machine_cpus

    assert 1 <= trial_models.default_workers() <= machine_cpus()
    monkeypatch.setattr(trial_models, "WORKER_MEMORY", 1 << 60)  # more than any machine has: one worker
    assert trial_models.default_workers() == 1


@pytest.mark.parametrize("workers", [1, 2])
def test_a_study_stops_at_its_safe_point_between_trials_and_leaves_no_worker(function_results, workers):
    """A sweep hands its Ctrl-C check to run_study: raised there, the study ends (its worker
    processes with it) instead of finishing every trial first."""
    import multiprocessing

    from analysis.results.sections import run_study

    calls = []

    def ctrl_c_at_the_second_trial():
        calls.append(len(calls))
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_study("minimal_ratio", function_results, "all", between_trials=ctrl_c_at_the_second_trial,
                  max_steps=30, workers=workers)
    assert calls == [0, 1] and multiprocessing.active_children() == []


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("args,expected", [
    (["analysis.fgsm", "{results}", "--eps", "0,2"], "eps '0,2' is not allowed; use comma-separated numbers in [0, 1]"),
    (["analysis.sensitivity", "{results}/missing"], "not found: {results}/missing; allowed: a sweep's results folder"),
    (["analysis.hessian", "{results}", "--trials", "nope"], "unknown trial id 'nope'; allowed: best, all, or trial ids: a, p_m00, p_m01"),
    (["analysis.interpolate", "{results}", "--along", "lr"], "--along 'lr' is not allowed; allowed: batch_size, seed"),
])
def test_bad_input_is_one_line_naming_the_value_and_what_is_allowed(mnist_results, args, expected):
    proc = run_cli(*(a.format(results=mnist_results) for a in args))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and expected.format(results=mnist_results) in proc.stderr


def test_ctrl_c_during_a_study_command_is_exit_130_without_a_traceback(function_results, monkeypatch, capsys):
    from analysis import minimal_ratio
    from analysis.results import study_command

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(study_command, "run_study", interrupted)
    assert minimal_ratio.main([str(function_results), "--no-report"]) == 130
    assert "interrupted: the minimal_ratio study wrote nothing; run the same command again" in capsys.readouterr().out


def test_a_sweep_without_weight_records_or_grad_norms_is_refused(function_results, capsys):
    from analysis import grad_norm, trajectory

    assert trajectory.main([str(function_results)]) == 2
    assert grad_norm.main([str(function_results)]) == 2
    err = capsys.readouterr().err
    assert "recorded no weights; allowed: a sweep run with record_weights_every" in err
    assert "no grad_norm column" in err and "track_grad_norm=true" in err


def test_every_declared_study_is_registered():
    from sweeps.runner.catalog import all_sweeps

    declared = {step.name for sweep in all_sweeps().values() for step in sweep.posthoc}
    assert declared and declared <= set(studies())


def test_function_fit_compares_equal_sizes():
    """Deep and shallow cases within 5% of 1,000 parameters, as the study requires."""
    from models import create_model, param_count
    from sweeps.function_fit import CASES

    sizes = {k: param_count(create_model("mlp", input_shape=(1,), num_classes=1, depth=v["depth"], width=v["width"]))
             for k, v in CASES.items() if not k.startswith("source")}
    assert len(sizes) == 4 and all(abs(n - 1000) <= 50 for n in sizes.values()), sizes


def test_hessian_of_a_small_model_is_exact_and_lanczos_agrees(function_results):
    """Below 5,000 parameters the trace and minimal ratio come from the dense spectrum, which the
    Lanczos top eigenvalue and PyHessian's power iteration must match."""
    import torch

    from analysis import hessian
    from analysis.maths.hessian_operator import full_spectrum, loss_hessian
    from analysis.results.trial_models import select

    assert hessian.main([str(function_results), "--trials", "s", "--subset", "300", "--no-report"]) == 0
    row = read_frames(function_results, "hessian")["hessian"].iloc[0]
    found = select(function_results, "s")
    trial = found.load(found.trials[0])
    x, y = trial.inputs("train", 300)
    spectrum = full_spectrum(loss_hessian(trial.pixel_model(), x, y, trial.loss_fn))
    assert row["trace_method"] == "exact" and row["ratio_method"] == "exact"
    assert row[M.TOP_EIGENVALUE] == pytest.approx(float(spectrum[-1]), rel=1e-3)
    assert row["power_top"] == pytest.approx(float(spectrum.abs().max()), rel=1e-2)
    assert row["trace"] == pytest.approx(float(spectrum.sum()), rel=1e-6)
    assert row[M.MINIMAL_RATIO] == pytest.approx(float((spectrum > 0).double().mean()))
    assert torch.isfinite(spectrum).all()


def test_a_study_over_many_trials_says_how_far_it_is(mnist_results, monkeypatch, capsys):
    """A study can run for minutes after the sweep's last line (100 minimal-ratio runs): it says
    which trial it is on whenever it has been silent too long (here: always)."""
    from analysis.results import trial_models
    from analysis.results.sections import run_study

    monkeypatch.setattr(trial_models, "PROGRESS_EVERY_S", 0.0)
    run_study("sensitivity", mnist_results, "all")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("post-hoc sensitivity: trial ")]
    assert [line.split()[3] for line in lines] == ["1/3", "2/3", "3/3"], lines
