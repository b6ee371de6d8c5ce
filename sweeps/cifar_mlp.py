"""CIFAR-10 with a multilayer perceptron on flattened images (3072-20-10), SGD lr 1e-2, batch 32,
200 epochs evaluated every 10: the baseline the CNNs are compared with.

    python -m sweeps.cifar_mlp [--repeats 3] [--data-dir DIR] [--smoke-test]
"""
from sweeps.families.cifar_cnn import CIFAR_SOURCE
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Reference, Sweep
from trainables import metrics as M

SWEEP = Sweep(
    name="cifar_mlp",
    dataset="cifar10", model="mlp", objective="classification",
    title="CIFAR-10: 3072-20-10 MLP baseline (SGD lr 1e-2, batch 32)",
    description="A small MLP on raw pixels reaches far lower accuracy than the CNNs: it has no notion of locality.",
    fixed=dict(model="mlp", depth=1, width=20, optimizer="sgd", lr=1e-2, momentum=0.0, batch_size=32, max_epochs=200,
               eval_every=10),
    grid={},
    smoke={"max_epochs": 1, "eval_every": 1, "train_size": 200, "test_size": 100},
    source=CIFAR_SOURCE + ", its multilayer-perceptron baseline",
    references=(
        Reference("test accuracy still rising at the end (epoch 200 above epoch 150)", M.TEST_ACC,
                  check="greater_than", than={"epoch": 150}),
        Reference("final test accuracy unsatisfactory (well below the CNNs' 0.44-0.50)", M.TEST_ACC, 0.44,
                  check="at_most"),
    ),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
