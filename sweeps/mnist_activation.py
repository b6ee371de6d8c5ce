"""MNIST activation study: relu, tanh, sigmoid, elu, leaky_relu, gelu and linear (no nonlinearity).

    python -m sweeps.mnist_activation [--repeats 3] [--smoke-test]
"""
from sweeps.families.mnist_mlp import MNIST_MLP, MNIST_SOURCE, small_model_curve
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Sweep

SWEEP = Sweep(
    name="mnist_activation",
    dataset="mnist", model="mlp", objective="classification",
    title="MNIST: activation function (2 x 400 MLP, SGD momentum 0.8)",
    description="Saturating sigmoid trains slowest; a linear network is only a linear classifier however deep.",
    fixed=MNIST_MLP,
    source=MNIST_SOURCE,
    references=small_model_curve({"activation": "relu"}),
    grid={"activation": ["relu", "tanh", "sigmoid", "elu", "leaky_relu", "gelu", "linear"]},
    smoke={"activation": ["relu", "linear"], "max_epochs": 2},
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
