"""MNIST train-size study: a 128-64 MLP (SGD lr 0.01, batch 10) on 500 / 1000 / 1500 / 2000
class-balanced training images, tested on 1000 images: accuracy-vs-size and time-vs-size.

    python -m sweeps.mnist_train_size [--repeats 3] [--smoke-test]
"""
from sweeps.entry import main_for
from sweeps.spec import Sweep

SWEEP = Sweep(
    name="mnist_train_size",
    title="MNIST: accuracy and training time vs training-set size (128-64 MLP)",
    description="Accuracy grows roughly with the log of the training-set size while time per epoch grows linearly.",
    fixed=dict(depth=2, width=[128, 64], activation="relu", optimizer="sgd", lr=0.01, momentum=0.0,
               batch_size=10, test_size=1000, max_epochs=10),
    grid={"train_size": [500, 1000, 1500, 2000]},
    smoke={"train_size": [500, 1000], "max_epochs": 2},
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
