"""The post-hoc commands (python -m analysis.NAME) on real checkpoints of tiny trainings, in the
results layout the runner writes (tests/study_fixtures.py, no Ray): tables, figures and report
sections, the trial's own data split, and one-line errors."""
from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from analysis.results import plot_check
from analysis.results.sections import posthoc_dir, read_frames, studies
from analysis.results.study_tables import OPTIONS
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


def run_rows(folder, name, options, stem=None):
    """The rows one run of a study wrote (its options key): each run merges into the study's tables."""
    table = read_frames(folder, name)[stem or name]
    return table[table[OPTIONS] == options].drop(columns=OPTIONS).reset_index(drop=True)


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
    assert plot_check.check(mnist_results) == {}  # no empty, single-value or out-of-range axis, no legend on data
    assert "((" not in report and not re.search(r"\d\.\d{6,}", report)  # "(hutchinson (100 probes))", 0.02578962780535221


def test_studies_evaluate_the_trials_own_test_split(mnist_results):
    """eps 0 is the clean accuracy, and equals the accuracy the training loop reported on the
    trial's test split; so do the sensitivity table's test metrics (a fused member included)."""
    from analysis import fgsm, sensitivity

    assert fgsm.main([str(mnist_results), "--eps", "0,0.3", "--no-report"]) == 0
    assert sensitivity.main([str(mnist_results), "--no-report"]) == 0
    reported_acc, reported_loss = final(mnist_results, M.TEST_ACC), final(mnist_results, M.TEST_LOSS)
    attacked = run_rows(mnist_results, "fgsm", "eps=0,0.3")
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
    curve = run_rows(mnist_results, "interpolate", "points=4")
    test = curve[curve["split"] == "test"].set_index("alpha")["loss"]
    reported = final(mnist_results, M.TEST_LOSS)
    assert test[0.0] == pytest.approx(reported["a"], rel=1e-5) and test[1.0] == pytest.approx(reported["p_m01"], rel=1e-5)


def test_trajectory_projects_every_record_of_every_member(mnist_results):
    from analysis import trajectory

    assert trajectory.main([str(mnist_results), "--layer", "net.4", "--no-report"]) == 0
    df = run_rows(mnist_results, "trajectory", "layer=net.4")
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
    ratios = run_rows(function_results, "minimal_ratio", "max_steps=100")
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
        found[workers] = run_rows(function_results, "minimal_ratio", "max_steps=30")
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


@pytest.mark.parametrize("study", ["fgsm", "sensitivity", "adversarial"])
def test_studies_of_class_predictions_refuse_a_regression_sweep_in_one_line(function_results, study, capsys):
    module = importlib.import_module(f"analysis.{study}")
    assert module.main([str(function_results), "--trials", "c", "--no-report"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("trial c is a regression model; allowed: classifiers (a softmax output)") and "\n" not in err


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
    row = run_rows(function_results, "hessian", "subset=300").iloc[0]
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


def fresh_copy(results, tmp_path):
    """The module's results folder without its studies: a test of how runs accumulate starts clean."""
    folder = shutil.copytree(results, tmp_path / results.name)
    shutil.rmtree(folder / "posthoc", ignore_errors=True)
    (folder / "report.md").unlink(missing_ok=True)
    return folder


def report_groups(report: str, heading: str) -> dict[str, dict[str, list[float]]]:
    """{options key: {trial label: numbers}} of the tables in the report's section `heading`."""
    section = report.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    groups = {}
    for part in section.split("\n### Options: ")[1:]:
        key = part.split(" (", 1)[0]
        rows = [line.strip("|").split("|") for line in part.splitlines() if line.startswith("|")][2:]
        groups[key] = {cells[0].strip(): [float(c) for c in cells[1:]] for cells in rows}
    return groups


def test_studies_on_subsets_merge_by_trial_and_options_and_the_report_shows_the_merged_tables(
        mnist_results, tmp_path, monkeypatch, capsys):
    """One trial, then a checkpoint path (a fused population: both members), then other options,
    then the first run again: every selection's rows are kept, a rerun replaces only its own, the
    rows are named as the sweep names them, and report.md (rebuilt despite --no-report, since it
    exists) shows exactly the Parquet's numbers; the example images are of the best trial."""
    from analysis import fgsm
    from analysis.results.sections import get
    from analysis.results.study_tables import option_groups
    from analysis.results.trial_models import select

    folder = fresh_copy(mnist_results, tmp_path)
    small = ["--eps", "0,0.1", "--images", "50"]
    checkpoint = next((folder / "trial_p").glob("checkpoint_*/checkpoint.pt"))
    for argv in (["--trials", "a", *small], [*small, "--no-report"],
                 ["--trials", "p_m01", "--eps", "0,0.2", "--images", "50", "--no-report"],
                 ["--trials", "a", *small, "--no-report"]):
        path = checkpoint if argv[0] != "--trials" else folder
        assert fgsm.main([str(path), *argv]) == 0, capsys.readouterr().err
    table, _ = read_parquet(posthoc_dir(folder) / "fgsm.parquet")
    assert table.groupby([OPTIONS, M.TRIAL_ID]).size().to_dict() == {
        ("eps=0,0.1 images=50", "a"): 2, ("eps=0,0.1 images=50", "p_m00"): 2, ("eps=0,0.1 images=50", "p_m01"): 2,
        ("eps=0,0.2 images=50", "p_m01"): 2}
    names = {ref.trial_id: ref.label for ref in select(folder, "all").trials}
    assert (table["label"] == table[M.TRIAL_ID].map(names)).all() and table["label"].str.startswith("batch_size=").all()
    assert table[table[OPTIONS] == "eps=0,0.1 images=50"][M.TRIAL_ID].tolist() == ["a", "a", "p_m00", "p_m00", "p_m01", "p_m01"]

    shown = report_groups((folder / "report.md").read_text(), "Adversarial robustness (FGSM)")
    assert list(shown) == ["eps=0,0.1 images=50", "eps=0,0.2 images=50"]  # the group covering most trials first
    for key, rows in shown.items():
        part = table[table[OPTIONS] == key]
        expected = part.pivot_table(index="label", columns="eps", values=M.FGSM_ACC).round(3)
        assert rows == {label: expected.loc[label].tolist() for label in expected.index}
    assert "posthoc/fgsm.eps=0,0.2_images=50/fgsm_accuracy.png" in (folder / "report.md").read_text()

    titles = []
    monkeypatch.setattr(fgsm, "finish_figure", lambda fig, meta, title, path, **kw: titles.append(title) or path)
    trials, meta = read_parquet(folder / "trials.parquet")
    best = trials.sort_values(meta.metric, ascending=meta.mode != "max")["trial_id"].iloc[0]
    main = option_groups(read_frames(folder, "fgsm"), "fgsm", get("fgsm").keys)[0]
    fgsm.figures(main.frames, meta, tmp_path)
    assert f"images of {names[best]} (best {meta.metric} of the 3 trials attacked)" in titles[-1]


def test_report_sections_keep_one_order_the_declared_studies_then_the_others_by_name(mnist_results, tmp_path,
                                                                                    monkeypatch):
    """Whatever order the studies ran in and their modules were imported (registered) in: the
    sweep's declared post-hoc studies first, in its order, then the others by study name."""
    from dataclasses import replace

    from analysis import adversarial, fgsm, report, sensitivity
    from analysis.results import sections
    from analysis.results.sweep_meta import Posthoc
    from analysis.results.tables import write_parquet

    folder = fresh_copy(mnist_results, tmp_path)
    for name in ("results.parquet", "trials.parquet"):
        df, meta = read_parquet(folder / name)
        write_parquet(df, folder / name, replace(meta, posthoc=(Posthoc("sensitivity"),)))
    for module, argv in ((fgsm, ["--eps", "0,0.1", "--images", "20"]), (adversarial, ["--steps", "5"]), (sensitivity, [])):
        assert module.main([str(folder), *argv, "--no-report"]) == 0
    orders = []
    for _ in range(2):
        assert report.main([str(folder)]) == 0
        text = (folder / "report.md").read_text()
        headings = ["## Input sensitivity", "## Targeted adversarial example", "## Adversarial robustness (FGSM)"]
        orders.append(sorted(headings, key=text.index))
        # another process imports the study modules in another order: the registry's order is reversed
        monkeypatch.setattr(sections._STUDIES, "_items", dict(reversed(sections._STUDIES._items.items())))
    assert orders == [headings, headings]


def test_a_runs_options_key_is_one_spelling_of_what_changes_its_results():
    """The runner's declared options ("0,0.1") and a command's parsed flags ((0.0, 0.1)) are one
    key; a study's defaults and the worker count are left out; a joint study (one PCA over its
    trials) run on a subset is keyed by its trials too, so it is kept beside the whole sweep's."""
    from types import SimpleNamespace

    from analysis.maths.attacks import DEFAULT_EPSILONS
    from analysis.results.sections import get
    from analysis.results.study_tables import DEFAULTS, options_key

    fgsm, ratio, trajectory = get("fgsm"), get("minimal_ratio"), get("trajectory")
    assert options_key(fgsm, {"eps": "0,0.1", "images": 200}) == options_key(fgsm, {"eps": (0.0, 0.1), "images": "200"})
    assert options_key(fgsm, {"eps": "0,0.1", "images": 200}) == "eps=0,0.1 images=200"
    assert options_key(fgsm, {"eps": ",".join(map(str, DEFAULT_EPSILONS)), "images": None, "steps": None}) == DEFAULTS
    assert options_key(ratio, {"max_steps": 30, "workers": 2}) == options_key(ratio, {"max_steps": 30}) == "max_steps=30"
    subset = SimpleNamespace(which="a,p_m01", trials=[SimpleNamespace(trial_id="a"), SimpleNamespace(trial_id="p_m01")])
    assert options_key(trajectory, {}, subset) == "trials=a,p_m01"
    assert options_key(trajectory, {}, SimpleNamespace(which="all", trials=subset.trials)) == DEFAULTS
    assert options_key(fgsm, {}, subset) == DEFAULTS  # one row per trial: merged, not kept apart


def test_a_limited_study_takes_a_seeded_random_subset_not_the_first_examples(mnist_results):
    """--images / --subset N: N examples spread over the split, even one sorted by class (the
    offline MNIST sample's first 200 test images are 0s and 1s: a clean accuracy of 0.98 for a
    0.53 model), the same ones for every trial, each an example of the split."""
    from dataclasses import replace

    import torch

    from analysis.results.trial_models import select

    found = select(mnist_results, "a,p_m00")
    first, second = (found.load(ref) for ref in found.trials)
    test = first.data.test
    by_class = replace(first, data=replace(first.data, test=test.take(torch.argsort(test.y, stable=True))))
    x, y = by_class.inputs("test", 40)
    assert len(y) == 40 and y.unique().numel() >= 6, y.tolist()  # the first 40 hold 2 or 3 classes
    assert torch.equal(second.inputs("test", 40)[1], first.inputs("test", 40)[1])
    x_all = by_class.inputs("test")[0]
    rows = {tuple(row.tolist()) for row in x_all.flatten(1)}
    assert all(tuple(row.tolist()) in rows for row in x.flatten(1))
