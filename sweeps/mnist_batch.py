"""MNIST batch-size study: batch 16 / 64 / 256 / 1024 at a fixed learning rate.

    python -m sweeps.mnist_batch [--repeats 3] [--smoke-test]
"""
from sweeps.families.mnist_mlp import MNIST_MLP, MNIST_SOURCE, small_model_curve
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Sweep

SWEEP = Sweep(
    name="mnist_batch",
    dataset="mnist", model="mlp", objective="classification",
    title="MNIST: batch size (2 x 400 ReLU MLP, SGD lr 0.01, momentum 0.8)",
    description="Large batches take fewer, cheaper-per-sample steps per epoch: faster epochs, lower accuracy after a fixed number of epochs.",
    fixed=MNIST_MLP,
    source=MNIST_SOURCE,
    references=small_model_curve({"batch_size": 64}),
    grid={"batch_size": [16, 64, 256, 1024]},
    smoke={"batch_size": [64, 1024], "max_epochs": 2},
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
