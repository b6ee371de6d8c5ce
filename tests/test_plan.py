"""Sweep plans without Ray: flags, --set overrides, presets, smoke mode and typed configs."""
import re

import pytest

from analysis.results.arguments import UsageError
from data_modules import load_dataset
from data_modules.collection import Datasets
from sweeps import mnist_cpu_gpu, mnist_lr, mnist_train_size, mnist_width, palindrome
from sweeps.runner.cli import parse_flags
from sweeps.runner.plan import make_plan, validate_plan
from trainables import metrics as M
from trainables.config import ConfigError, TrainConfig, expand_presets, split_config


def plan_for(module, *argv, gpu=False):
    return make_plan(module.SWEEP, parse_flags("x", "", list(argv)), gpu_available=gpu)


def test_defaults_and_repeats_make_the_grid():
    plan = plan_for(mnist_width, "--repeats", "3")
    assert plan.grid == {"width": [50, 100, 200, 400, 800], "seed": [0, 1, 2]}
    assert len(plan.points()) == 15 and plan.axes == ["width"]
    assert all(p["momentum"] == 0.8 and p["max_epochs"] == 5 for p in plan.points())


def test_set_overrides_fixed_values_and_grid_axes():
    plan = plan_for(mnist_width, "--set", "width=100,[128,64]", "--set", "lr=0.05", "--max-epochs", "7")
    assert plan.grid["width"] == [100, [128, 64]]
    assert plan.fixed["lr"] == 0.05 and plan.fixed["max_epochs"] == 7


def test_smoke_test_shrinks_grid_and_epochs():
    plan = plan_for(mnist_train_size, "--smoke-test")
    assert plan.grid["train_size"] == [500, 1000] and plan.max_epochs == 2


def test_optuna_plan_validates_both_ends_of_the_range(mnist_sample):
    plan = plan_for(mnist_lr)
    assert plan.search == "optuna" and plan.scheduler == "asha" and "lr" not in plan.grid
    assert sorted(p["lr"] for p in plan.points()) == [1e-4, 1.0]
    validate_plan(plan, mnist_sample)
    with pytest.raises(UsageError, match="--repeats 2 is not allowed with --search optuna"):
        plan_for(mnist_lr, "--repeats", "2")


def test_gpu_half_dropped_without_gpu_and_presets_expand():
    plan = plan_for(mnist_cpu_gpu)
    assert plan.grid["device"] == ["cpu"] and plan.notes and "GPU half skipped" in plan.notes[0]
    assert plan_for(mnist_cpu_gpu, gpu=True).grid["device"] == ["cpu", "cuda"]
    assert "width" not in plan.fixed  # the preset, not the classic default, decides the size
    presets = mnist_cpu_gpu.SWEEP.presets
    assert expand_presets({"model_size": "large", "lr": 0.1}, presets) == {"depth": 4, "width": 800, "lr": 0.1}
    with pytest.raises(ConfigError, match="model_size 'huge' is not allowed; allowed: small, large"):
        expand_presets({"model_size": "huge"}, presets)


def test_split_config_types_and_rejects_unknown_keys():
    cfg, model_kwargs = split_config({"lr": 0.1, "width": 32, "seed": 4})
    assert isinstance(cfg, TrainConfig) and cfg.lr == 0.1 and cfg.seed == 4 and model_kwargs == {"width": 32}
    with pytest.raises(ConfigError, match="unknown config key 'input_shape'"):
        split_config({"input_shape": [3, 32, 32]})  # derived from the data, never configured
    with pytest.raises(ConfigError, match="momentum 1.5 is not allowed"):
        split_config({"momentum": 1.5})


def fusion_of(module, *argv, mode="auto", size=32, data=None, speedup=2.0):
    """The plan after decide_fusion, with fused steps taken to be `speedup` x faster, or
    `speedup(flats, bundle)` (measuring it is timing, which tests leave to benchmarks)."""
    from sweeps.runner.plan import decide_fusion

    plan = plan_for(module, *argv)
    measure = speedup if callable(speedup) else lambda flats, bundle: speedup
    decide_fusion(plan, data or load_dataset("mnist"), mode, size, speedup=measure)
    return plan


def test_fusion_groups_same_shape_trials():
    from sweeps import mnist_momentum

    assert fusion_of(mnist_width).populations == []  # five widths: five shapes, nothing to fuse
    by_width = fusion_of(mnist_width, "--repeats", "3").populations
    assert [sorted(p["seed"] for p in pop) for pop in by_width] == [[0, 1, 2]] * 5
    assert all(len({p["width"] for p in pop}) == 1 for pop in by_width)
    momentum = fusion_of(mnist_momentum)
    assert len(momentum.populations) == 1 and sorted(p["momentum"] for p in momentum.populations[0]) == [0.0, 0.5, 0.8, 0.9, 0.99]
    assert [len(p) for p in fusion_of(mnist_momentum, size=2).populations] == [2, 2, 1]
    assert fusion_of(mnist_momentum, mode="off").populations == []


def test_auto_fuses_only_where_a_fused_step_measures_faster_and_on_fuses_anyway():
    from sweeps import mnist_momentum

    slower = fusion_of(mnist_momentum, speedup=0.6)
    assert slower.populations == []  # every group refused: trials run one by one
    assert any(n.startswith("not fused: all (5 trials): a fused step of 3 mlp models measured 0.60x the speed")
               for n in slower.notes), slower.notes
    assert len(fusion_of(mnist_momentum, mode="on", speedup=0.6).populations) == 1  # not measured: fused
    within_noise = fusion_of(mnist_momentum, speedup=1.1)  # a margin of 15%: two timings differ by 10% and more
    assert within_noise.populations == [] and any("measured 1.10x" in n for n in within_noise.notes)
    fused = fusion_of(mnist_momentum, speedup=1.2)
    assert len(fused.populations) == 1 and fused.notes[-1].startswith(
        "fused all (5 trials), so 5 trials as 1 run (1 fused population(s) of 5)"), fused.notes


def test_fusion_notes_header_and_preview_say_what_runs_alike():
    """The issue's run: --repeats 2 over widths 100 and 400, where only width=400's pair measured
    faster fused. Four trials, three runs, one fused pair: every note says so, none contradicts."""
    from sweeps.runner.estimate import Estimate, jobs_of
    from sweeps.runner.run import describe

    mnist = load_dataset("mnist")
    plan = fusion_of(mnist_width, "--repeats", "2", "--set", "width=100,400", data=mnist,
                     speedup=lambda flats, bundle: 2.0 if flats[0]["width"] == 400 else 0.9)
    what = "4 trials as 3 runs (1 fused population(s) of 2, 2 alone)"
    assert sorted(map(len, plan.populations)) == [1, 1, 2] and plan.run_sizes.count(1) == 2
    assert plan.notes[0].startswith(f"fused width=400 (2 trials), so {what}: "), plan.notes
    assert plan.notes[1].startswith("not fused: width=100 (2 trials): a fused step of 2 mlp models measured 0.90x")
    assert len(plan.notes) == 2 and what in describe(plan)
    assert Estimate(jobs_of(plan, mnist), 2, "cpu", 1.0).lines()[0].startswith(f"plan: {what}, ")
    assert fusion_of(mnist_width, data=mnist).notes == [] and "5 trial(s)" in describe(plan_for(mnist_width))


def test_fusion_speedup_is_measured_on_real_steps(mnist_sample):
    from trainables.population import fusion_speedup

    flats = [{"width": 16, "train_size": 200, "seed": s} for s in range(3)]
    ratio = fusion_speedup(flats, mnist_sample)
    assert 0 < ratio < float("inf")  # a ratio of real timings; its size is the benchmark's business


def test_fusion_on_where_impossible_says_why():
    with pytest.raises(UsageError, match="--fuse on is not possible here: Optuna proposes trials one at a time"):
        fusion_of(mnist_lr, mode="on")
    with pytest.raises(UsageError, match="no two trials share all tensor shapes"):
        fusion_of(mnist_width, mode="on")


def test_trial_count_and_the_cpus_a_local_ray_gets():
    from sweeps.runner.ray_session import cpus_for

    assert plan_for(mnist_width).trial_count == 5
    assert plan_for(mnist_width, "--num-samples", "2").trial_count == 10  # grid repeated
    assert plan_for(mnist_lr).trial_count == 16  # Optuna trials
    assert fusion_of(mnist_width, "--repeats", "3").trial_count == 5  # five populations of three seeds
    assert plan_for(mnist_width, "--repeats", "3").trial_count == 15
    assert cpus_for(1, 1.0) == 1  # fewer trials than cores: one warm worker per trial
    assert cpus_for(1, 0.5) == 1
    assert cpus_for(10_000, 1.0) is None  # more than the machine has: Ray counts the cores itself
    assert cpus_for(3, 0.0) is None


def test_set_reaches_the_data_loaders_options():
    from sweeps import dogset_lr

    plan = plan_for(dogset_lr, "--set", "manifest=cats.csv", "--set", "momentum=0.5")
    assert plan.data == {"manifest": "cats.csv", "image_size": 64} and plan.fixed["momentum"] == 0.5
    assert "manifest" not in plan.fixed  # a loader option, not a training setting


@pytest.mark.parametrize("module", [mnist_width, mnist_cpu_gpu, mnist_lr])
def test_help_lists_keys_set_accepts_with_values_that_validate(module, capsys):
    """Every KEY=VALUE the --help epilog shows (training and model lines) is accepted by the
    config schema as it stands there, and every key the unknown-key error allows is shown."""
    from sweeps.runner.cli import parse_value

    with pytest.raises(SystemExit) as done:
        module.main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    epilog = out.split("--set KEY=VALUE accepts these keys", 1)[1]
    shown = dict(re.findall(r"(\w+)=(\S*)", "\n".join(line for line in epilog.splitlines() if "swept" not in line)))
    point = plan_for(module).points()[0]
    for key, value in shown.items():
        if key not in module.SWEEP.data and key not in module.SWEEP.sample:
            split_config(expand_presets({**point, key: parse_value(value)}, module.SWEEP.presets))
    with pytest.raises(ConfigError) as unknown:
        split_config({"no_such_key": 1})
    allowed = str(unknown.value).split("allowed: ")[1].split(", ")
    set_by_presets = re.findall(r"set by \w+: (.+)", epilog)
    listed = set(shown) | set(module.SWEEP.grid) | {k for line in set_by_presets for k in line.split(", ")}
    assert set(allowed) <= listed


def test_progress_counts_trials_the_run_will_have(capsys):
    """Optuna creates trials one by one: the counter's total is the plan's, not Tune's list so far."""
    from types import SimpleNamespace

    from sweeps.runner.progress import ProgressLine, fmt_metric

    line = ProgressLine(["lr"], max_epochs=2, total=plan_for(mnist_lr, "--smoke-test").trial_count)
    trial = SimpleNamespace(config={"lr": 0.0123}, last_result={"epoch": 2, "test_acc": 0.9})
    line.on_trial_complete(0, [trial], trial)  # Tune has created one trial so far
    out = capsys.readouterr().out
    assert re.search(r"lr=0.0123 +finished after 2 epochs  test_acc 0.900  \(1/3 trials done\)$", out.rstrip()), out
    assert fmt_metric("val_acc", 0.92) == "0.920" and fmt_metric("val_loss", 0.32) == "0.3200"


def test_progress_every_reaches_the_progress_line():
    from sweeps.runner.tune_setup import run_settings

    assert run_settings(plan_for(mnist_width)).progress.every == 5.0  # the default: a line per trial every 5 s
    assert run_settings(plan_for(mnist_width, "--progress-every", "0")).progress.every == 0.0  # every row


def test_sample_settings_are_set_and_checked_before_ray():
    from sweeps import char_lm

    plan = plan_for(char_lm, "--set", "sample_temperature=0.5", "--set", "sample_prompt=to be")
    assert plan.sample == {"sample_prompt": "to be", "sample_chars": 500, "sample_temperature": 0.5}
    assert "sample_temperature" not in plan.fixed
    with pytest.raises(UsageError, match=r"sample_temperature -1 is not allowed; allowed: a number from 0"):
        plan_for(char_lm, "--set", "sample_temperature=-1")
    with pytest.raises(UsageError, match=r"sample_chars 0 is not allowed"):
        plan_for(char_lm, "--set", "sample_chars=0")


def test_an_explicit_setting_wins_over_a_presets():
    from sweeps import text_models

    smoke = plan_for(text_models, "--smoke-test")
    assert {expand_presets(p, text_models.SWEEP.presets)["max_epochs"] for p in smoke.points()} == {2}
    full = plan_for(text_models)
    epochs = {p["text_model"]: expand_presets(p, text_models.SWEEP.presets)["max_epochs"] for p in full.points()}
    assert epochs == {"char_cnn": 250, "word_cnn": 250, "char_gru": 100, "word_gru": 100}  # the source's


def test_progress_line_between_held_out_evaluations_shows_the_training_metrics():
    from sweeps.runner.progress import metrics_text

    nan = float("nan")
    skipped = {M.TRAIN_LOSS: 0.5, M.VAL_LOSS: nan, M.TRAIN_ACC: 0.9, M.VAL_ACC: nan, M.TEST_ACC: nan}
    assert metrics_text(skipped) == "loss 0.5000  train_acc 0.900"
    evaluated = {**skipped, M.VAL_LOSS: 0.4, M.VAL_ACC: 0.8, M.TEST_ACC: 0.7}
    assert metrics_text(evaluated) == "loss 0.5000  val_loss 0.4000  val_acc 0.800  test_acc 0.700"
    assert "nan" in metrics_text({**skipped, M.TRAIN_LOSS: nan})  # a diverged run still says so


def test_population_line_names_its_best_member_with_the_data_keys(capsys):
    """A fused population's rows lack the data keys (length=...) in their config: the line takes
    them from the trial's member list, and between held-out evaluations ranks by training loss."""
    from types import SimpleNamespace

    from sweeps.runner.progress import ProgressLine

    nan = float("nan")
    members = [{"length": 5, "seed": 0}, {"length": 5, "seed": 1}]
    rows = [{M.MEMBER: j, "config": {"seed": j}, M.TRAIN_LOSS: loss, M.VAL_LOSS: nan, M.TRAIN_ACC: acc,
             M.VAL_ACC: nan, M.TEST_ACC: nan, M.STOPPED: False, M.FUSED_MEMBERS: 2, M.DEVICE: "cpu"}
            for j, (loss, acc) in enumerate([(0.9, 0.5), (0.1, 0.97)])]
    trial = SimpleNamespace(config={M.MEMBERS: members})
    line = ProgressLine(["length", "seed"], max_epochs=1, total=1, max_steps=100)
    line.on_trial_result(0, [trial], trial, {M.EPOCH: 0.5, M.STEP: 50, M.MEMBERS: rows, M.EPOCH_TIME_S: 0.1})
    out = capsys.readouterr().out
    assert "best length=5 seed=1: loss 0.1000  train_acc 0.970" in out, out


def test_a_batch_drawn_fresh_each_step_may_be_larger_than_the_fixed_training_sample(mnist_sample):
    bundle = load_dataset("palindrome", length=5)  # 2,000 fixed palindromes for step-0 metrics; batches drawn fresh
    assert len(bundle.train.y) < 4096
    plan = plan_for(palindrome, "--smoke-test", "--set", "length=5", "--set", "batch_size=4096")
    validate_plan(plan, Datasets({(5,): bundle}, {"length": "length"}))
    mnist = plan_for(mnist_width, "--smoke-test", "--set", "batch_size=4096")  # epochs over a fixed training split
    with pytest.raises(ConfigError, match="batch_size 4096 is larger than the training set"):
        validate_plan(mnist, mnist_sample)


def test_an_interrupted_summary_lists_the_trials_that_never_started(tmp_path, capsys):
    """Ctrl-C before 3 of 5 widths started: the summary counts 5 trials and names the 3."""
    import pandas as pd

    from sweeps.runner.finish import print_summary

    plan = plan_for(mnist_width)
    trials = pd.DataFrame([{M.TRIAL_ID: "a", "width": 800, "status": "TERMINATED"},
                           {M.TRIAL_ID: "b", "width": 400, "status": "UNFINISHED"}])
    print_summary(plan, trials, trials.head(0), tmp_path, lambda file="": file)
    out = capsys.readouterr().out
    assert "mnist_width: 5 trials (1 terminated, 1 unfinished, 3 not started)" in out, out
    assert "  not started: width=50, width=100, width=200\n" in out, out


def test_help_wraps_between_values_never_inside_one_and_says_how_the_corpus_is_chosen(monkeypatch):
    """Every sweep's --set help, wrapped, holds the same words as unwrapped: no value split
    (char_lm's lm=...,ls / tm_large); char_lm's names the corpus lookup order."""
    from sweeps.runner import settings_help
    from sweeps.runner.catalog import all_sweeps

    for name, sweep in all_sweeps().items():
        wrapped = settings_help.set_keys_help(sweep)
        with monkeypatch.context() as m:
            m.setattr(settings_help, "WIDTH", 10_000)
            whole = settings_help.set_keys_help(sweep)
        assert wrapped.split() == whole.split(), name
    text = " ".join(settings_help.set_keys_help(all_sweeps()["char_lm"]).split())
    assert re.search(r"corpus: .*--set corpus=PATH.*DATA/tinyshakespeare/input\.txt.*a download.*pydoc_data", text), text
