"""Bad input: one clear line naming the value and what is allowed, exit code 2, no traceback,
and nothing started or written (validation happens before Ray)."""
import subprocess
import sys
from pathlib import Path

import pytest

from sweeps import cifar_mlp, dogset_lr, mnist_train_size, mnist_width, toy2d
from sweeps.runner import run as runner
from tests.conftest import make_mnist_dir


def forbid(monkeypatch, name: str, what: str) -> None:
    """Make the runner's `name` fail the test with `what` if a bad command line gets that far."""

    def forbidden(*args, **kwargs):
        raise AssertionError(what)

    monkeypatch.setattr(runner, name, forbidden)


@pytest.fixture
def no_ray(monkeypatch, tmp_path):
    """Fail the test if a sweep gets as far as starting Ray."""
    forbid(monkeypatch, "start_ray", "Ray was started for a bad configuration")
    return tmp_path


CASES = [
    (mnist_width, ["--set", "activation=swish"], "unknown activation 'swish'; allowed: elu, gelu, leaky_relu, linear, relu, sigmoid, tanh"),
    (mnist_width, ["--set", "optimizer=lbfgs"], "unknown optimizer 'lbfgs'; allowed: adagrad, adam, rmsprop, sgd"),
    (mnist_width, ["--set", "width=100,0"], "width must be a positive integer"),
    (mnist_width, ["--set", "width=abc"], "width must be a positive integer (or a list of them), got 'abc'"),
    (mnist_width, ["--set", "lr=-0.1"], "lr -0.1 is not allowed; use a positive number"),
    (mnist_width, ["--set", "lr=0"], "lr 0 is not allowed; use a positive number"),
    (mnist_width, ["--set", "holdout_every=0"], "holdout_every 0 is not allowed; use a positive integer"),
    (mnist_width, ["--set", "holdout_every=2", "--scheduler", "asha"],
     "holdout_every 2 is not allowed with --scheduler asha, which judges trials at every row; allowed: holdout_every 1, "
     "or --scheduler none"),
    (mnist_width, ["--set", "batch_size=5000"], "batch_size 5000 is larger than the training set (3600 examples of mnist-sample-5k); allowed: 1..3600"),
    (mnist_train_size, ["--set", "train_size=500,505"], "train size 505 cannot be class-balanced: allowed are multiples of 10 from 10 to 3600"),
    (mnist_width, ["--num-samples", "0"], "argument --num-samples: 0 is not allowed; use a positive integer"),
    (mnist_width, ["--widht", "3"], "unrecognized arguments: --widht 3; allowed flags:"),
    (mnist_width, ["--set", "widht=3"], "unknown config key 'widht'; allowed: activation, batch_size"),
    (mnist_width, ["--search", "random"], "invalid choice: 'random'"),
    (mnist_width, ["--resume", "--name", "never-ran"], "--resume: no sweep to resume at"),
    (mnist_width, ["--set", "device=tpu"], "unknown device 'tpu'; allowed: auto, cpu, cuda"),
    (mnist_width, ["--set", "width=200000"], "width=200000: a trial needs "),  # 468 GiB: no machine has it
    (toy2d, ["--set", "optimizer=adam"], "numpy_mlp trains with sgd only, got optimizer 'adam'; allowed: sgd"),
    (toy2d, ["--set", "toy_set=spirals"], "unknown toy2d kind 'spirals'; allowed: circles, classification, moons"),
    (cifar_mlp, [], "CIFAR-10 is not in"),
    (mnist_width, ["--base-from", "/nonexistent/results"], "--base-from /nonexistent/results: no trials.parquet there"),
    (mnist_width, ["--cpus-per-trial", "0"], "argument --cpus-per-trial: 0 is not allowed; use a number > 0 (fractions allowed)"),
    (mnist_width, ["--cpus-per-trial", "-2"], "argument --cpus-per-trial: -2 is not allowed; use a number > 0"),
    (mnist_width, ["--gpus-per-trial", "-1"], "argument --gpus-per-trial: -1 is not allowed; use a number >= 0"),
    (mnist_width, ["--progress-every", "-5"], "argument --progress-every: -5 is not allowed; use a number >= 0"),
    (mnist_width, ["--data-dir", "/nonexistent/data"],
     "argument --data-dir: /nonexistent/data does not exist; allowed: an existing folder (only the default"),
    (mnist_width, ["--log", "tensorbord"],
     "argument --log: unknown backend 'tensorbord'; allowed: tensorboard, mlflow, wandb (comma separated)"),
    (mnist_width, ["--search", "optuna"],
     "--search optuna is not allowed for mnist_width: it has no range for Optuna to sample, only a grid (width = 50, "
     "100, 200, 400, 800) that --search grid runs in full; allowed: --search grid, or --search optuna on mnist_lr "
     "(lr: loguniform 0.0001..1)"),
]


@pytest.mark.parametrize("module, argv, message", CASES, ids=[" ".join(c[1]) for c in CASES])
def test_bad_input_is_one_line_and_exit_2(no_ray, capsys, module, argv, message):
    code = module.main([*argv, "--storage-path", str(no_ray / "results")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1, err  # the error alone: no data-fallback warning before it
    assert err[0].startswith(f"python -m sweeps.{module.SWEEP.name}: error: ")
    assert message in err[0]
    assert not (no_ray / "results").exists()


def test_log_backend_not_installed_says_how_to_install_it(no_ray, monkeypatch, capsys):
    """As when mlflow is not installed: Python finds no module of that name."""
    monkeypatch.setitem(sys.modules, "mlflow", None)
    forbid(monkeypatch, "load_datasets", "data was loaded before the --log check")
    assert mnist_width.main(["--log", "tensorboard,mlflow", "--storage-path", str(no_ray / "results")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "python -m sweeps.mnist_width: error: --log mlflow needs the mlflow package: pip install 'sweeplab[mlflow]'"]


def test_corrupt_mnist_dir_is_one_line(no_ray, capsys):
    data = make_mnist_dir(no_ray / "data")
    images = data / "MNIST" / "raw" / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    code = mnist_width.main(["--data-dir", str(data), "--storage-path", str(no_ray / "results")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "truncated MNIST file" in err[0] and "train-images-idx3-ubyte" in err[0]


def test_real_process_exit_code_and_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sweeps.mnist_width", "--set", "activation=swish", "--storage-path", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("python -m sweeps.mnist_width: error: ") and "unknown activation 'swish'" in last


def test_cuda_requested_without_gpu_is_refused(no_ray, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert mnist_width.main(["--set", "device=cuda", "--storage-path", str(no_ray / "results")]) == 2
    assert "device 'cuda' is not allowed: no CUDA GPU" in capsys.readouterr().err


def test_data_dir_must_be_a_folder(no_ray, capsys):
    a_file = no_ray / "data.txt"
    a_file.write_text("not a folder")
    assert mnist_width.main(["--data-dir", str(a_file), "--storage-path", str(no_ray / "results")]) == 2
    assert f"argument --data-dir: {a_file} is a file; allowed: an existing folder" in capsys.readouterr().err


def test_gpus_or_cpus_this_machine_never_has_are_refused_before_ray(no_ray, capsys):
    """Ray would queue such trials for ever; the local Ray is judged before it starts."""
    import torch

    from trainables.provenance import machine_cpus

    argv = ["--storage-path", str(no_ray / "results")]
    if not torch.cuda.is_available():
        assert mnist_width.main(["--gpus-per-trial", "1", *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "each trial needs 1 CPU and 1 GPU on one node" in err[0]
        assert err[0].endswith("allowed: --gpus-per-trial 0")
    too_many = machine_cpus() + 1
    assert mnist_width.main(["--cpus-per-trial", str(too_many), *argv]) == 2
    err = capsys.readouterr().err
    assert f"each trial needs {too_many} CPUs" in err and f"allowed: --cpus-per-trial up to {too_many - 1}" in err


def test_dogset_error_suggests_what_works_and_set_manifest_is_one_of_them(no_ray, capsys):
    """The manifest name is a --set-able loader option: the error names it, and the loader looks for it."""
    argv = ["--data-dir", str(no_ray), "--storage-path", str(no_ray / "results")]
    assert dogset_lr.main(argv) == 2
    assert "dogs.csv does not exist; allowed: --data-dir FOLDER (the folder holding dogs.csv) and, for another " \
           "file name, --set manifest=NAME.csv" in capsys.readouterr().err
    assert dogset_lr.main(["--set", "manifest=cats.csv", *argv]) == 2
    assert f"manifest {no_ray / 'cats.csv'} does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("module", ["sweeps.__main__", "sweeps.curriculum", "sweeps.mnist_width"])
def test_help_description_is_whole_sentences(module, capsys):
    """The description under `usage:` ends a sentence: a docstring's wrapped first line does not."""
    import importlib

    with pytest.raises(SystemExit) as ended:
        importlib.import_module(module).main(["--help"])
    assert ended.value.code == 0
    description = capsys.readouterr().out.split("\n\n")[1]
    assert description.rstrip().endswith((".", ")", '")')), description


@pytest.fixture
def no_data(no_ray, monkeypatch):
    """Also fail the test if a sweep gets as far as loading its data: the checks come first."""
    forbid(monkeypatch, "load_datasets", "the data was loaded for a bad command line")
    return no_ray


def storage_cases(tmp):
    a_file = tmp / "a_file"
    a_file.write_text("not a folder")
    cases = [([str(a_file)], f"--storage-path {a_file} is a file, not a folder; allowed: a folder this user can write"),
             ([str(a_file / "sub")], f"--storage-path {a_file / 'sub'} is under {a_file}, a file, not a folder; allowed:")]
    cases += [([path], f"--storage-path {path}: no folder can be made in {made_in} (")
              for path, made_in in (("/proc/x", "/proc"), ("/sys/kernel", "/sys/kernel")) if Path(made_in).is_dir()]
    return cases


def test_unwritable_storage_path_is_one_line_before_data_and_ray(no_data, capsys):
    for (path,), message in storage_cases(no_data):
        assert mnist_width.main(["--storage-path", path]) == 2, path
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("python -m sweeps.mnist_width: error: ") and message in err[0], err
        assert err[0].endswith("s3://, gs://, gcs://, hdfs://, abfs://, abfss://")


@pytest.mark.parametrize("name, hint", [("../escaped", "for {tmp}/escaped: --storage-path {tmp} --name escaped"),
                                        ("/elsewhere/run", "for /elsewhere/run: --storage-path /elsewhere --name run"),
                                        ("..", "")])
def test_name_outside_the_storage_path_is_refused(no_data, capsys, name, hint):
    results = no_data / "results"
    results.mkdir()
    assert mnist_width.main(["--name", name, "--storage-path", str(results)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--name {name!r} is not allowed: the run's folder must stay inside --storage-path; " \
        "allowed: one folder name without '/' or '..'" in err[0]
    assert err[0].endswith(hint.format(tmp=no_data.resolve()))
    assert sorted(p.name for p in no_data.iterdir()) == ["results"] and not any(results.iterdir())


def test_storage_check_leaves_nothing_and_passes_uris_and_new_folders(tmp_path):
    """A missing folder is fine where it can be made (the run makes it), a URI is the store's to
    open, and the test write leaves nothing behind."""
    from sweeps.runner.locations import check_place

    check_place(str(tmp_path / "new" / "deeper"), "my_run")
    check_place(str(tmp_path), None)
    for uri in ("s3://bucket/sweeps", "gs://bucket/sweeps", "file:///proc/x"):
        check_place(uri, None)
    assert list(tmp_path.iterdir()) == []


def test_real_process_refuses_storage_path_before_ray(tmp_path):
    (tmp_path / "f").write_text("")
    proc = subprocess.run([sys.executable, "-m", "sweeps.mnist_width", "--storage-path", str(tmp_path / "f" / "x")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "data:" not in proc.stdout
    assert proc.stderr.strip().splitlines() == [
        f"python -m sweeps.mnist_width: error: --storage-path {tmp_path / 'f' / 'x'} is under {tmp_path / 'f'}, a file, "
        "not a folder; allowed: a folder this user can write (made when missing), or a URI: file://, s3://, gs://, "
        "gcs://, hdfs://, abfs://, abfss://"]


def test_base_from_another_sweep_says_where_it_came_from(no_data, capsys):
    """toy2d's best (toy_set, model) is no setting of mnist_width: the refusal names the sweep the
    base came from, instead of the config check's bare "unknown config key 'toy_set'"."""
    import pandas as pd

    from analysis.results.sweep_meta import SweepMeta
    from analysis.results.tables import TRIALS_FILE, write_parquet

    base = no_data / "toy2d"
    base.mkdir()
    trials = pd.DataFrame({"trial_id": ["a", "b"], "toy_set": ["moons", "circles"], "model": ["numpy_mlp", "mlp"],
                           "val_loss": [0.1, 0.2], "status": ["TERMINATED"] * 2})
    write_parquet(trials, base / TRIALS_FILE, SweepMeta(sweep="toy2d", axes=("toy_set", "model"), metric="val_loss", mode="min"))
    assert mnist_width.main(["--base-from", str(base), "--storage-path", str(no_data / "results")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"python -m sweeps.mnist_width: error: --base-from {base}: its best configuration comes from the sweep "
                   "toy2d, a different sweep with different settings (toy_set=moons, model=numpy_mlp: not settings of "
                   "mnist_width); allowed: the results folder of a finished mnist_width run, or of a sweep whose swept "
                   "settings mnist_width also takes (--help lists them)"]


def test_python_m_misspelt_sweep_names_the_nearest(tmp_path):
    """Python's own "No module named sweeps.mnist_widht" becomes one line with the nearest name."""
    proc = subprocess.run([sys.executable, "-m", "sweeps.mnist_widht", "--smoke-test"], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "python -m sweeps.mnist_widht: error: unknown sweep 'mnist_widht'; did you mean mnist_width? (or mnist_depth, "
        "mnist_batch); allowed: a sweep that `python -m sweeps` lists"]


def test_the_misspelt_sweep_finder_leaves_imports_alone():
    """Outside `python -m`, a missing sweeps module is Python's ordinary ModuleNotFoundError."""
    import importlib

    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("sweeps.mnist_widht")


def test_python_m_sweeps_name_runs_the_sweep_or_names_the_nearest(no_data, capsys):
    from sweeps.__main__ import main

    assert main(["mnist_widht", "--smoke-test"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "python -m sweeps: error: unknown sweep 'mnist_widht'; did you mean mnist_width? (or mnist_depth, mnist_batch); "
        "allowed: a sweep that `python -m sweeps` lists"]
    assert main(["mnist_width", "--search", "random", "--storage-path", str(no_data / "results")]) == 2
    err = capsys.readouterr().err.strip().splitlines()  # the sweep's own parser answered
    assert len(err) == 1 and err[0].startswith("python -m sweeps.mnist_width: error: argument --search: invalid choice")


@pytest.fixture(scope="module")
def width_results(tmp_path_factory):
    """Width 8 at seeds 0 and 1 (a fused population) and width 16 at seed 0: along width the
    shapes change, along seed they stay."""
    import os

    from tests.study_fixtures import write_results_dir

    base = dict(depth=1, max_epochs=1, train_size=100, test_size=50, batch_size=50)
    configs = {"a": [{**base, "width": 8, "seed": 0}, {**base, "width": 8, "seed": 1}], "b": [{**base, "width": 16, "seed": 0}]}
    return write_results_dir(tmp_path_factory.mktemp("results") / "mnist_width", configs, ["width"],
                             data_dir=os.environ["SWEEPLAB_DATA_DIR"])


@pytest.mark.parametrize("how", ["--along width", "two trial folders"])
def test_interpolate_between_different_shapes_is_one_line(width_results, monkeypatch, capsys, how):
    """Refused from the checkpoints' shapes, before any data is read (was a RuntimeError from torch)."""
    from analysis import interpolate
    from analysis.results import trial_models

    def forbidden(*args, **kwargs):
        raise AssertionError("the data was loaded for trials that cannot be interpolated")

    monkeypatch.setattr(trial_models, "load_dataset", forbidden)
    argv = ([str(width_results), "--along", "width"] if how == "--along width"
            else [str(width_results / "trial_a"), str(width_results / "trial_b")])
    assert interpolate.main([*argv, "--no-report"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    # trial folders are named as the sweep names their trials (trial_a: a population, its first member)
    assert err == ["python -m analysis.interpolate: error: a_m00 (width=8 seed=0) and b (width=16 seed=0) have different model shapes (net.1.weight 8x784 "
                   "vs 16x784, net.1.bias 8 vs 16 and 1 more): their weights cannot be interpolated; allowed: two "
                   "trials of the same shapes, --along seed"]


def test_interpolate_lists_only_the_along_keys_that_keep_shapes(width_results, capsys):
    from analysis import interpolate

    assert interpolate.main([str(width_results), "--along", "lr", "--no-report"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "python -m analysis.interpolate: error: --along 'lr' is not allowed; allowed: seed"]
