"""MNIST train-size study: a 128-64 MLP (SGD lr 0.01, batch 10, 100 epochs) on 500 / 1000 /
1500 / 2000 class-balanced training images, tested on 1000 images: accuracy-vs-size and
time-vs-size.

    python -m sweeps.mnist_train_size [--repeats 3] [--smoke-test]
"""
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Reference, Sweep
from trainables import metrics as M

SWEEP = Sweep(
    name="mnist_train_size",
    dataset="mnist", model="mlp", objective="classification",
    title="MNIST: accuracy and training time vs training-set size (128-64 MLP)",
    description="Accuracy grows roughly with the log of the training-set size while time per epoch grows linearly.",
    fixed=dict(depth=2, width=[128, 64], activation="relu", optimizer="sgd", lr=0.01, momentum=0.0,
               batch_size=10, test_size=1000, max_epochs=100),
    grid={"train_size": [500, 1000, 1500, 2000]},
    smoke={"train_size": [500, 1000], "max_epochs": 2},
    source="an MNIST course study of training-set size (128-64 ReLU MLP, timed on a T4 GPU)",
    references=(
        Reference("test accuracy with 500 training images", M.TEST_ACC, 0.83, where={"train_size": 500}, tolerance=0.03),
        Reference("test accuracy with 2000 training images", M.TEST_ACC, 0.88, where={"train_size": 2000}, tolerance=0.03),
        Reference("test accuracy rises with the training-set size", M.TEST_ACC, check="increasing", along="train_size"),
        Reference("training time grows linearly with size (about 80 s per 1000 images on a T4)", M.TIME_TOTAL_S,
                  check="linear", along="train_size", tolerance=0.95, differs="T4 GPU vs this machine"),
    ),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
