"""The cost preview: trial lengths from the plan, timings on this machine, packing onto slots;
one cost model for the catalogue and --dry-run."""
import os

import pytest

from data_modules.collection import load_datasets
from sweeps.runner.calibration import Calibration
from sweeps.runner.catalog import all_sweeps
from sweeps.runner.cli import build_parser
from sweeps.runner.estimate import RAY_START_S, entry_of, estimate_plan, jobs_of, makespan
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


def test_estimate_times_the_extremes_and_adds_the_fixed_costs(mnist_sample):
    from sweeps import mnist_width

    plan = plan_for(mnist_width, "--max-epochs", "1", "--set", "train_size=200")
    estimate = estimate_plan(plan, mnist_sample, cpus_per_trial=1.0, gpus_per_trial=0.0, cpus=2)
    assert estimate.slots == 2 and len(estimate.jobs) == 5
    assert [t.split(":")[0] for t in estimate.timed] == ["width=800", "width=50"]  # costliest and cheapest
    seconds = [j.seconds for j in estimate.jobs]
    by_width = {j.points[0]["width"]: j.seconds for j in estimate.jobs}
    assert by_width[800] > by_width[50] > 0
    assert estimate.wall_s == pytest.approx(RAY_START_S + makespan(seconds, 2) + 2.0)
    assert any("estimated wall time" in line for line in estimate.lines())


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


def test_dry_run_says_the_post_hoc_studies_are_not_estimated(tmp_path, capsys):
    from sweeps import minimal_ratio

    assert minimal_ratio.main(["--dry-run", "--smoke-test", "--storage-path", str(tmp_path / "results")]) == 0
    out = capsys.readouterr().out
    assert "estimated wall time" in out
    assert "not in the estimate: the post-hoc studies after training (minimal_ratio)" in out


def test_models_named_by_a_preset_are_timed_each_not_scaled_by_flops():
    """text_models names its models by a preset (text_model=char_gru): a GRU's 100 small steps
    cost far more than its FLOPs say, so each model kind is timed itself."""
    from data_modules import load_dataset
    from sweeps import text_models
    from tests.conftest import DBPEDIA_FIXTURE

    plan = plan_for(text_models, "--smoke-test")
    estimate = estimate_plan(plan, load_dataset("text_csv", data_dir=DBPEDIA_FIXTURE), cpus_per_trial=1.0,
                             gpus_per_trial=0.0, cpus=2, budget=0.05)
    assert sorted(t.split(":")[0] for t in estimate.timed) == [f"text_model={m}" for m in
                                                               ("char_cnn", "char_gru", "word_cnn", "word_gru")]


CALIBRATED = Calibration("a test machine", step_overhead_s=2e-3, seconds_per_flop=1e-10)


def dry_run_estimate(name, argv):
    """--dry-run's estimate of a plan, as the runner makes it (data loaded, plan validated and
    ordered), priced with CALIBRATED instead of its own timings."""
    sweep = all_sweeps()[name]
    plan = make_plan(sweep, build_parser(name, "").parse_args(argv), gpu_available=False)
    data = load_datasets(sweep.dataset, None, plan.data, sweep.data_axes, plan.points())
    validate_plan(plan, data)
    order_by_cost(plan, data)
    return estimate_plan(plan, data, cpus_per_trial=1.0, gpus_per_trial=0.0, cpus=os.cpu_count(), calibrated=CALIBRATED)


@pytest.mark.parametrize("name, argv", [
    ("palindrome", []),  # steps; its own validation set; held-out sets every 10th row; a data axis
    ("mnist_width", []),
    ("mnist_width", ["--set", "drop_last=true", "--set", "batch_size=96"]),
    ("mnist_train_size", []),  # class-balanced subsets
    ("mnist_lr", []),  # Optuna: the space's corners averaged
    ("function_fit", []),  # regression: a random validation split
    ("char_rnn_cpu_gpu", []),  # a language model in steps, its data peeked by loading it
])
def test_the_catalogue_and_the_dry_run_estimate_a_plan_alike(name, argv):
    """One cost model: the catalogue's line (datasets peeked, nothing loaded) and the dry run's
    estimate (datasets loaded) give the same trials, steps, evaluations and wall time for one plan
    and one calibration. Once the catalogue ignored holdout_every and drop_last."""
    entry = entry_of(name, all_sweeps()[name], None, CALIBRATED, argv)
    dry = dry_run_estimate(name, argv)

    def jobs(estimate):
        return sorted((j.steps, j.rows, j.held_out, j.flops, j.seconds) for j in estimate.jobs)

    assert jobs(entry.estimate) == jobs(dry)
    assert entry.seconds == pytest.approx(dry.wall_s, rel=1e-12) and entry.trials == len(dry.jobs)


def test_the_palindromes_are_evaluated_every_hundred_steps():
    """holdout_every 10 at eval_every 10: 100 evaluations of the 12,000 held-out palindromes in
    10,000 steps, plus the one at step 0 (the catalogue once counted 1,000 of 10,400)."""
    jobs = entry_of("palindrome", all_sweeps()["palindrome"], None, CALIBRATED).estimate.jobs
    assert {(j.steps, j.rows, j.held_out) for j in jobs} == {(10_000, 101, 12_000)}


def test_drop_last_drops_the_partial_batch(mnist_sample):
    from sweeps import mnist_width

    kept, dropped = (jobs_of(plan_for(mnist_width, "--set", "batch_size=96", "--set", f"drop_last={drop}", "--max-epochs", "2"),
                             mnist_sample)[0] for drop in ("false", "true"))
    assert kept.steps == -(-3600 // 96) * 2 and dropped.steps == 3600 // 96 * 2
