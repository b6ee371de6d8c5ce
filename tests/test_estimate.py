"""The cost preview: trial lengths from the plan, timings on this machine, packing onto slots;
one cost model for the catalogue and --dry-run."""
import os

import pytest

from data_modules.collection import load_datasets
from sweeps.runner.calibration import EXIT_S, RESULTS_S, STARTUP_S, Calibration, PhaseTimes
from sweeps.runner.catalog import all_sweeps
from sweeps.runner.cli import build_parser
from sweeps.runner.estimate import Calibrated, entry_of, estimate_plan, jobs_of, makespan, plan_cost
from sweeps.runner.plan import make_plan, order_by_cost, validate_plan
from tests.test_plan import fusion_of, plan_for


def test_makespan_packs_longest_first():
    assert makespan([4, 3, 3, 2], 2) == 6  # {4, 2} and {3, 3}
    assert makespan([5, 1, 1], 3) == 5 and makespan([1, 1, 1], 1) == 3


def test_jobs_have_the_plans_steps_and_rows(mnist_sample):
    from sweeps import mnist_train_size

    plan = plan_for(mnist_train_size, "--set", "eval_every=2", "--max-epochs", "6")
    jobs = jobs_of(plan, mnist_sample)
    assert [j.steps for j in jobs] == [500 // 10 * 6, 1000 // 10 * 6, 1500 // 10 * 6, 2000 // 10 * 6]
    assert all(j.rows == 3 + 1 for j in jobs)  # every 2nd of 6 epochs, and epoch 0
    assert len({j.flops for j in jobs}) == 1  # same model, same batch


CALIBRATED = Calibration("a test machine", step_overhead_s=2e-3, seconds_per_flop=1e-10)
PHASES = PhaseTimes("a test machine", startup_s={"mnist": 3.0}, ray_start_s=11.0, trial_start_s=0.5,
                    results_s={"mnist_width": 6.0, "mnist_width --smoke-test": 2.5})


def test_estimate_times_the_extremes_and_adds_the_fixed_costs(mnist_sample):
    from sweeps import mnist_width

    plan = plan_for(mnist_width, "--max-epochs", "1", "--set", "train_size=200")
    estimate = estimate_plan(plan, mnist_sample, cpus_per_trial=1.0, gpus_per_trial=0.0, cpus=2, phases=PHASES)
    assert estimate.slots == 2 and len(estimate.jobs) == 5
    assert [t.split(":")[0] for t in estimate.timed] == ["width=800", "width=50"]  # costliest and cheapest
    seconds = [j.seconds for j in estimate.jobs]
    by_width = {j.points[0]["width"]: j.seconds for j in estimate.jobs}
    assert by_width[800] > by_width[50] > PHASES.trial_start_s
    assert estimate.wall_s == pytest.approx(3.0 + 11.0 + makespan(seconds, 2) + 6.0 + EXIT_S)
    assert any("estimated wall time" in line for line in estimate.lines())


def test_the_fixed_phases_come_from_the_machines_measurements(mnist_sample):
    """Start-up by dataset, Ray's start, each trial's start and the results phase by sweep (smoke
    tests apart), all from the given phase times; a start-up already paid replaces the cached one,
    and a sweep no run has measured gets the fallbacks."""
    from sweeps import mnist_depth, mnist_width

    def cost(module, *flags, phases=PHASES):
        plan = plan_for(module, "--max-epochs", "1", *flags)
        return plan_cost(plan, mnist_sample, Calibrated(CALIBRATED), 2, phases)

    plain, smoke = cost(mnist_width), cost(mnist_width, "--smoke-test")
    assert plain.phases == {"start-up": 3.0, "Ray start": 11.0, "trials": pytest.approx(plain.phases["trials"]),
                            "results": 6.0, "exit": EXIT_S}
    assert smoke.phases["results"] == 2.5 and plain.wall_s == pytest.approx(sum(plain.phases.values()))
    priced = Calibrated(CALIBRATED).seconds
    assert [j.seconds for j in plain.jobs] == pytest.approx(
        [0.5 + j.steps * priced(j)[0] + j.rows * priced(j)[1] for j in plain.jobs])
    assert plain.phases["trials"] == pytest.approx(makespan([j.seconds for j in plain.jobs], 2))
    paid = plain.paid(7.5)  # the run's own start-up, already paid when it prints the estimate
    assert paid.phases["start-up"] == 7.5 and paid.wall_s == pytest.approx(plain.wall_s + 4.5)
    slower = cost(mnist_width, phases=PhaseTimes("m", ray_start_s=20.0, trial_start_s=2.0))
    assert slower.phases["Ray start"] == 20.0 and slower.phases["trials"] > plain.phases["trials"]
    unseen = cost(mnist_depth)
    assert (unseen.phases["start-up"], unseen.phases["results"]) == (3.0, RESULTS_S)  # same dataset, new sweep
    assert cost(mnist_width, phases=PhaseTimes("m")).phases["start-up"] == STARTUP_S
    assert "(start-up 3 s + Ray start 11 s + trials " in plain.lines()[1]


def test_the_probe_scales_its_timings_by_what_the_sweeps_last_runs_trained_in(mnist_sample):
    """The preview times while Ray starts beside it; a finished run records how its trials really
    trained against those timings (phase_clock), and the next preview of that sweep scales by it."""
    from sweeps import mnist_width
    from sweeps.runner.estimate import Probe

    plan = plan_for(mnist_width, "--max-epochs", "1")
    job = jobs_of(plan, mnist_sample)[0]
    probes = [Probe(plan, threads=1, factor=f) for f in (1.0, 0.4)]
    for probe in probes:
        probe.lines["model=mlp"] = (lambda flops: 2e-3, lambda flops: 5e-2)
    assert probes[1].seconds(job) == pytest.approx((0.4 * 2e-3, 0.4 * 5e-2))
    assert probes[0].seconds(job) == pytest.approx((2e-3, 5e-2))
    estimate = estimate_plan(plan, mnist_sample, 1.0, 0.0, cpus=2, budget=0.05,
                             phases=PhaseTimes("m", probe_factors={"mnist_width": 0.4}))
    assert estimate.scale == 0.4 and "its last runs here trained at 0.40x these timings" in estimate.timed


def test_a_language_model_is_evaluated_on_its_fixed_windows():
    """The loop scores a language model's held-out streams on EVAL_WINDOWS windows each, not
    character by character: the catalogue once counted ~50,000 characters as examples and
    priced char_rnn_cpu_gpu at 5 min against the dry run's 15 s."""
    from trainables.sequence_objectives import EVAL_WINDOWS, LanguageModel

    jobs = entry_of("char_rnn_cpu_gpu", all_sweeps()["char_rnn_cpu_gpu"], None, CALIBRATED, phases=PHASES).estimate.jobs
    sizes = jobs[0].trials[0].sizes
    assert sizes.val + sizes.test > 40 * EVAL_WINDOWS  # characters: 20 times the windows scored
    assert {j.held_out for j in jobs} == {2 * EVAL_WINDOWS}
    assert LanguageModel.scored(64 * 10 + 1) == 10 and LanguageModel.scored(64 * 10) == 9  # windows of 64 + 1
    for j in jobs:  # each evaluation priced at its windows
        assert j.seconds == pytest.approx(PHASES.trial_start_s + j.steps * CALIBRATED.step_seconds(j.flops)
                                          + j.rows * CALIBRATED.eval_seconds(j.flops, j.batch_size, 2 * EVAL_WINDOWS))


def test_an_evaluation_pays_the_step_overhead_per_chunk_not_per_training_batch():
    """The loop scores held-out sets in chunks of EVAL_BATCH examples: 12,000 palindromes at
    batch 128 are 3 launches, not 94."""
    from trainables.objectives import EVAL_BATCH

    overhead_only = Calibration("m", step_overhead_s=1e-3, seconds_per_flop=0.0)
    assert overhead_only.eval_seconds(1e6, 128, 12_000) == pytest.approx(3e-3)
    assert overhead_only.eval_seconds(1e6, 1, EVAL_BATCH) == pytest.approx(1e-3)
    flops_only = Calibration("m", step_overhead_s=0.0, seconds_per_flop=1e-9)
    assert flops_only.eval_seconds(3e6, 100, 1_000) == pytest.approx(10 * 1e6 * 1e-9)  # a third of a step per batch


def test_a_fused_population_is_one_job(mnist_sample):
    from sweeps import mnist_momentum

    plan = fusion_of(mnist_momentum, "--max-epochs", "1", data=mnist_sample)
    jobs = jobs_of(plan, mnist_sample)
    assert len(jobs) == 1 and len(jobs[0].points) == 5


def test_dry_run_prints_plan_and_estimate_and_starts_nothing(monkeypatch, tmp_path, capsys):
    from sweeps import mnist_width
    from sweeps.runner import run as runner

    def forbidden(*args, **kwargs):
        raise AssertionError("Ray was started by --dry-run")

    monkeypatch.setattr(runner, "start_ray", forbidden)
    code = mnist_width.main(["--dry-run", "--max-epochs", "1", "--storage-path", str(tmp_path / "results")])
    out = capsys.readouterr().out
    assert code == 0
    assert "plan: 5 trial(s)" in out and "estimated wall time" in out and "timed on this machine: width=800" in out
    assert not (tmp_path / "results").exists()  # nothing written
    assert "post-hoc" not in out  # mnist_width declares none
    code = mnist_width.main(["--dry-run", "--smoke-test", "--repeats", "2", "--fuse", "on", "--storage-path", str(tmp_path)])
    assert code == 0 and "\nnote: fused width=200 (2 trials), width=50 (2 trials)" in capsys.readouterr().out  # as a run says it


def test_dry_run_says_the_post_hoc_studies_are_not_estimated_until_a_run_measured_them(tmp_path, capsys, monkeypatch):
    from sweeps import minimal_ratio
    from sweeps.runner import calibration

    monkeypatch.setattr(calibration, "phases_path", lambda: tmp_path / "phases.json")
    assert minimal_ratio.main(["--dry-run", "--smoke-test", "--storage-path", str(tmp_path / "results")]) == 0
    out = capsys.readouterr().out
    assert "estimated wall time" in out
    assert "not in the estimate: the post-hoc studies after training (minimal_ratio)" in out
    measured = calibration.phase_times().recorded("mnist", "minimal_ratio --smoke-test", None, None, None, 42.0)
    calibration.save_phase_times(measured)
    assert minimal_ratio.main(["--dry-run", "--smoke-test", "--storage-path", str(tmp_path / "results")]) == 0
    out = capsys.readouterr().out
    assert "not in the estimate" not in out and " + results 42 s + " in out


def test_models_named_by_a_preset_are_timed_each_not_scaled_by_flops():
    """text_models names its models by a preset (text_model=char_gru): a GRU's 100 small steps
    cost far more than its FLOPs say, so each model kind is timed itself."""
    from data_modules import load_dataset
    from sweeps import text_models
    from tests.conftest import DBPEDIA_FIXTURE

    plan = plan_for(text_models, "--smoke-test")
    # Fresh phase times: an earlier text_models run on this machine (another test, a user's run)
    # caches a probe factor, which the estimate names among its timings.
    estimate = estimate_plan(plan, load_dataset("text_csv", data_dir=DBPEDIA_FIXTURE), cpus_per_trial=1.0,
                             gpus_per_trial=0.0, cpus=2, budget=0.05, phases=PhaseTimes("m"))
    assert sorted(t.split(":")[0] for t in estimate.timed) == [f"text_model={m}" for m in
                                                               ("char_cnn", "char_gru", "word_cnn", "word_gru")]


def dry_run_estimate(name, argv):
    """--dry-run's estimate of a plan, as the runner makes it (data loaded, plan validated and
    ordered), priced with CALIBRATED instead of its own timings."""
    sweep = all_sweeps()[name]
    plan = make_plan(sweep, build_parser(name, "").parse_args(argv), gpu_available=False)
    data = load_datasets(sweep.dataset, None, plan.data, sweep.data_axes, plan.points())
    validate_plan(plan, data)
    order_by_cost(plan, data)
    return estimate_plan(plan, data, cpus_per_trial=1.0, gpus_per_trial=0.0, cpus=os.cpu_count(), calibrated=CALIBRATED,
                         phases=PHASES)


@pytest.mark.parametrize("name, argv", [
    ("palindrome", []),  # steps; its own validation set; held-out sets every 10th row; a data axis
    ("mnist_width", []),
    ("mnist_width", ["--set", "drop_last=true", "--set", "batch_size=96"]),
    ("mnist_train_size", []),  # class-balanced subsets
    ("mnist_lr", []),  # Optuna: the space's corners averaged
    ("function_fit", []),  # regression: a random validation split
    ("char_rnn_cpu_gpu", []),  # a language model in steps, its data peeked by loading it
    ("char_lm", ["--smoke-test"]),  # a language model evaluated on its fixed windows
])
def test_the_catalogue_and_the_dry_run_estimate_a_plan_alike(name, argv):
    """One cost model: the catalogue's line (datasets peeked, nothing loaded) and the dry run's
    estimate (datasets loaded) give the same trials, steps, evaluations and wall time for one plan
    and one calibration. Once the catalogue ignored holdout_every and drop_last."""
    entry = entry_of(name, all_sweeps()[name], None, CALIBRATED, argv, phases=PHASES)
    dry = dry_run_estimate(name, argv)

    def jobs(estimate):
        return sorted((j.steps, j.rows, j.held_out, j.flops, j.seconds) for j in estimate.jobs)

    assert jobs(entry.estimate) == jobs(dry)
    assert entry.seconds == pytest.approx(dry.wall_s, rel=1e-12) and entry.trials == len(dry.jobs)
    assert entry.estimate.phases == pytest.approx(dry.phases)  # the same fixed phases around the trials


def test_the_palindromes_are_evaluated_every_hundred_steps():
    """holdout_every 10 at eval_every 10: 100 evaluations of the 12,000 held-out palindromes in
    10,000 steps, plus the one at step 0 (the catalogue once counted 1,000 of 10,400)."""
    jobs = entry_of("palindrome", all_sweeps()["palindrome"], None, CALIBRATED, phases=PHASES).estimate.jobs
    assert {(j.steps, j.rows, j.held_out) for j in jobs} == {(10_000, 101, 12_000)}


def test_drop_last_drops_the_partial_batch(mnist_sample):
    from sweeps import mnist_width

    kept, dropped = (jobs_of(plan_for(mnist_width, "--set", "batch_size=96", "--set", f"drop_last={drop}", "--max-epochs", "2"),
                             mnist_sample)[0] for drop in ("false", "true"))
    assert kept.steps == -(-3600 // 96) * 2 and dropped.steps == 3600 // 96 * 2


def test_a_job_shape_is_timed_once_per_machine_then_read_from_the_cache(mnist_sample, monkeypatch, tmp_path):
    """The preview's timings of a job shape are kept per machine: the next run of that shape reads
    them (and says so) instead of timing again, and prices its jobs exactly as before."""
    from sweeps import mnist_width
    from sweeps.runner.calibration import PROBES

    monkeypatch.setenv("SWEEPLAB_DATA_DIR", str(tmp_path / "data"))
    plan = plan_for(mnist_width, "--max-epochs", "1", "--set", "train_size=200")
    first, again = (estimate_plan(plan, mnist_sample, 1.0, 0.0, cpus=2, budget=0.05, phases=PHASES) for _ in range(2))
    assert not any("timed here before" in t for t in first.timed)
    assert [t for t in again.timed] == [t.replace(" ms/step", " ms/step (timed here before)") for t in first.timed]
    assert [j.training for j in again.jobs] == [j.training for j in first.jobs]
    assert len(PROBES.entries()) == 2  # widths 800 and 50: the costliest and the cheapest job
    other = plan_for(mnist_width, "--max-epochs", "1", "--set", "train_size=200", "--set", "batch_size=32")
    assert not any("timed here before" in t for t in estimate_plan(other, mnist_sample, 1.0, 0.0, cpus=2, budget=0.05,
                                                                  phases=PHASES).timed)  # another batch: timed anew
    PROBES.forget()  # what --recalibrate does besides the calibration
    assert PROBES.entries() == {} and not PROBES.path().exists()


def test_step_flops_are_counted_once_per_model_shape(monkeypatch, tmp_path):
    """Counting FLOPs on the meta device costs a process its torch._dynamo import (about a second):
    a model shape counted once is read back from DATA_DIR/../flops.json, and any other shape is counted."""
    import json

    from data_modules.machine_cache import MachineCache
    from trainables import cost
    from trainables.config import split_config

    monkeypatch.setenv("SWEEPLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(cost, "FLOPS", MachineCache("flops", kept=10))
    data_args = {"input_shape": (1, 28, 28), "num_classes": 10}

    def flops(width: int) -> float:
        cfg, kwargs = split_config({"depth": 2, "width": width, "batch_size": 64})
        return cost.step_flops_of(cfg, kwargs, data_args)

    def matmuls(width: int) -> int:  # forward and weight gradients of all three layers, input gradients of the last two
        weights = [784 * width, width * width, width * 10]
        return 2 * 64 * (2 * sum(weights) + sum(weights[1:]))

    counted = flops(400)
    assert counted == matmuls(400)
    cache = tmp_path / "flops.json"
    assert list(json.loads(cache.read_text()).values()) == [counted]
    cache.write_text(json.dumps({key: 123.0 for key in json.loads(cache.read_text())}))  # what a later process reads
    monkeypatch.setattr(cost, "FLOPS", MachineCache("flops", kept=10))
    assert flops(400) == 123.0  # read back, not counted
    assert flops(200) == matmuls(200)  # another shape: counted
