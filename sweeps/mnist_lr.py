"""MNIST learning-rate search: Optuna TPE over a log-uniform learning rate, with ASHA early stopping.

    python -m sweeps.mnist_lr [--num-samples 24] [--smoke-test]
    python -m sweeps.mnist_lr --search grid      # lr 1e-4 .. 1 on a grid instead
"""
from sweeps.families.mnist_mlp import MNIST_MLP, MNIST_SOURCE, SAMPLE_DIFFERS, SMALL_CURVE, TOLERANCE
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Reference, Sweep
from trainables import metrics as M

SWEEP = Sweep(
    name="mnist_lr",
    dataset="mnist", model="mlp", objective="classification",
    title="MNIST: learning rate (2 x 400 ReLU MLP, SGD momentum 0.8)",
    description="Too small a rate barely moves in a few epochs, too large diverges; TPE concentrates trials in between and ASHA ends the hopeless ones after an epoch.",
    fixed=MNIST_MLP,
    grid={"lr": [1e-4, 1e-3, 1e-2, 1e-1, 1.0]},
    optuna={"lr": ("loguniform", 1e-4, 1.0)},
    search="optuna",
    scheduler="asha",
    num_samples=16,
    smoke={"lr": [1e-3, 1e-1], "max_epochs": 2},
    source=MNIST_SOURCE,
    references=(
        Reference("a tuned rate does at least as well as the assignment's lr 0.01 after 5 epochs", M.TEST_ACC,
                  SMALL_CURVE[5], check="best_at_least", epoch=5, tolerance=TOLERANCE, differs=SAMPLE_DIFFERS),
    ),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
