"""MNIST momentum study: SGD momentum 0 / 0.5 / 0.8 / 0.9 / 0.99 on the 2 x 400 ReLU MLP.

    python -m sweeps.mnist_momentum [--repeats 3] [--smoke-test]
"""
from sweeps.families.mnist_mlp import MNIST_MLP, MNIST_SOURCE, small_model_curve
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Sweep

SWEEP = Sweep(
    name="mnist_momentum",
    dataset="mnist", model="mlp", objective="classification",
    title="MNIST: SGD momentum (2 x 400 ReLU MLP, lr 0.01)",
    description="Momentum speeds up SGD at a fixed learning rate until, near 1, it overshoots and oscillates.",
    fixed=MNIST_MLP,
    source=MNIST_SOURCE,
    references=small_model_curve({"momentum": 0.8}),
    grid={"momentum": [0.0, 0.5, 0.8, 0.9, 0.99]},
    smoke={"momentum": [0.0, 0.9], "max_epochs": 2},
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
