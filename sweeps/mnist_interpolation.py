"""MNIST sharpness by interpolation: a 784-128-10 MLP trained with batch 64 and with batch 1024
(at lr 1e-2, and 1e-1 as a second case), then the loss and accuracy along the line between the two
solutions of each rate, alpha from -1 to 2.

    python -m sweeps.mnist_interpolation [--smoke-test]
    python -m analysis.interpolate results/mnist_interpolation --along batch_size      # again, alone
"""
from sweeps.families.theory_homework import MNIST_128, NO_NUMBER, SOURCE
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Posthoc, Reference, Sweep
from trainables import metrics as M

SWEEP = Sweep(
    name="mnist_interpolation",
    dataset="mnist", model="mlp", objective="classification",
    title="MNIST: interpolating between batch-64 and batch-1024 solutions (784-128-10)",
    description="The small-batch solution sits in a wider basin: the loss rises more slowly on its side of the line.",
    fixed={**MNIST_128, "max_epochs": 20},
    grid={"batch_size": [64, 1024], "lr": [0.01, 0.1]},
    smoke={"lr": [0.1], "max_epochs": 2},
    source=SOURCE + ", its interpolation between small-batch and large-batch solutions",
    references=(
        Reference("at lr 0.01, batch 64 reaches a lower test loss than batch 1024 in as many epochs", M.TEST_LOSS,
                  check="less_than", where={"batch_size": 64, "lr": 0.01}, than={"batch_size": 1024, "lr": 0.01},
                  differs=NO_NUMBER),
    ),
    posthoc=(Posthoc("interpolate", options={"along": "batch_size"}, smoke={"points": 13}),),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
