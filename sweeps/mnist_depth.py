"""MNIST depth study: 1 to 4 hidden layers of 400 ReLU units, SGD momentum 0.8.

    python -m sweeps.mnist_depth [--repeats 3] [--smoke-test]
"""
from sweeps.families.mnist_mlp import MNIST_MLP, MNIST_SOURCE, small_model_curve
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Sweep

SWEEP = Sweep(
    name="mnist_depth",
    dataset="mnist", model="mlp", objective="classification",
    title="MNIST: test accuracy vs depth (D x 400 ReLU MLP)",
    description="More hidden layers add capacity, but past two they train slower per epoch for little gain on MNIST.",
    fixed=MNIST_MLP,
    source=MNIST_SOURCE,
    references=small_model_curve({"depth": 2}),
    grid={"depth": [1, 2, 3, 4]},
    smoke={"depth": [1, 2], "max_epochs": 2},
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
