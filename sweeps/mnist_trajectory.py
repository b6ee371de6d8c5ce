"""MNIST weight trajectories: 8 runs (seeds) of a 784-128-10 MLP trained by SGD, weights recorded
every 3 epochs, then one PCA of all runs' records for the whole model and for the first layer.

    python -m sweeps.mnist_trajectory [--smoke-test]
    python -m analysis.trajectory results/mnist_trajectory --layer net.4     # the output layer instead
"""
from sweeps.families.theory_homework import MNIST_128, NO_NUMBER, SOURCE
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Posthoc, Reference, Sweep
from trainables import metrics as M

SWEEP = Sweep(
    name="mnist_trajectory",
    dataset="mnist", model="mlp", objective="classification",
    title="MNIST: weight trajectories of 8 SGD runs (784-128-10), PCA",
    description="Runs from different initialisations travel in different directions of weight space yet reach "
                "similar accuracy.",
    fixed={**MNIST_128, "max_epochs": 24, "record_weights_every": 3},  # 8 records after the initial one
    grid={"seed": list(range(8))},
    smoke={"seed": [0, 1], "max_epochs": 2, "record_weights_every": 1},
    source=SOURCE + ", its optimisation visualisation (8 training runs, weights every 3 epochs)",
    references=(
        Reference("every run learns MNIST (test accuracy at least 85%)", M.TEST_ACC, 0.85, check="at_least",
                  differs=NO_NUMBER),
    ),
    posthoc=(Posthoc("trajectory"),),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
