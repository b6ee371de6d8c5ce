"""CIFAR-10 channel grid: the classic two-convolution CNN with C1 in {10..90} and C2 in {20..100}
filters, trained on 10,000 / tested on 2,000 class-balanced images: all 25 test accuracies as a
table, a heatmap and a parallel-coordinates plot (mean and 95% interval per cell with --repeats).

    python -m sweeps.cifar_channels [--repeats 3] [--data-dir DIR] [--smoke-test]
"""
from sweeps.families.cifar_cnn import CIFAR_SOURCE
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Reference, Sweep
from trainables import metrics as M

SWEEP = Sweep(
    name="cifar_channels",
    dataset="cifar10", model="cnn", objective="classification",
    title="CIFAR-10: test accuracy over C1 x C2 filters (two-convolution CNN)",
    description="More filters help up to a point; the second layer's width matters more than the first's.",
    # The classic assignment: 10,000 training and 2,000 test images (class-balanced), plain
    # mini-batch gradient descent (no momentum), lr 0.001, batch 128, 1000 epochs.
    fixed=dict(model="cnn", optimizer="sgd", lr=0.001, momentum=0.0, batch_size=128, max_epochs=1000,
               eval_every=10, train_size=10000, test_size=2000),
    grid={"c1": [10, 30, 50, 70, 90], "c2": [20, 40, 60, 80, 100]},
    smoke={"c1": [10, 30], "c2": [20, 40], "max_epochs": 1, "eval_every": 1, "train_size": 200, "test_size": 100},
    source=CIFAR_SOURCE,
    references=(
        Reference("all 25 test accuracies between 0.436 and 0.504", M.TEST_ACC, 0.47, check="each_near", tolerance=0.034),
        Reference("the best pair is C1=90, C2=40", M.TEST_ACC, check="best", where={"c1": 90, "c2": 40}),
        Reference("test accuracy of C1=90, C2=40", M.TEST_ACC, 0.504, where={"c1": 90, "c2": 40}, tolerance=0.03),
    ),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
