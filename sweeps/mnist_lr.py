"""MNIST learning-rate search: Optuna TPE over a log-uniform learning rate, with ASHA early stopping.

    python -m sweeps.mnist_lr [--num-samples 24] [--smoke-test]
    python -m sweeps.mnist_lr --search grid      # lr 1e-4 .. 1 on a grid instead
"""
from sweeps.classic import MNIST_MLP
from sweeps.entry import main_for
from sweeps.spec import Sweep

SWEEP = Sweep(
    name="mnist_lr",
    title="MNIST: learning rate (2 x 400 ReLU MLP, SGD momentum 0.8)",
    description="Too small a rate barely moves in a few epochs, too large diverges; TPE concentrates trials in between and ASHA ends the hopeless ones after an epoch.",
    fixed=MNIST_MLP,
    grid={"lr": [1e-4, 1e-3, 1e-2, 1e-1, 1.0]},
    optuna={"lr": ("loguniform", 1e-4, 1.0)},
    search="optuna",
    scheduler="asha",
    num_samples=16,
    smoke={"lr": [1e-3, 1e-1], "max_epochs": 2},
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
