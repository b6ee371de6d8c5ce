"""Bad input: one clear line naming the value and what is allowed, exit code 2, no traceback,
and nothing started or written (validation happens before Ray)."""
import subprocess
import sys

import pytest

from sweeps import cifar_mlp, dogset_lr, mnist_train_size, mnist_width, toy2d
from sweeps.runner import run as runner
from tests.conftest import make_mnist_dir


@pytest.fixture
def no_ray(monkeypatch, tmp_path):
    """Fail the test if a sweep gets as far as starting Ray."""

    def forbidden(*args, **kwargs):
        raise AssertionError("Ray was started for a bad configuration")

    monkeypatch.setattr(runner, "start_ray", forbidden)
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
    (mnist_width, ["--data-dir", "/nonexistent/data"],
     "argument --data-dir: /nonexistent/data does not exist; allowed: an existing folder (only the default"),
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
