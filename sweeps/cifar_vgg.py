"""CIFAR-10 with a VGG-style 8-convolution CNN (batch norm): Adam at lr 1e-2 / 1e-4 / 1e-6, SGD
and Adagrad at 1e-4, 200 epochs evaluated every 10, as the assignment ran them.

    python -m sweeps.cifar_vgg [--max-epochs 100] [--data-dir DIR] [--smoke-test]
    python -m sweeps.cifar_vgg --scheduler asha      # end hopeless rates early (not the assignment's way)
"""
from sweeps.families.cifar_cnn import CIFAR_SOURCE
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Reference, Sweep
from trainables import metrics as M

SWEEP = Sweep(
    name="cifar_vgg",
    dataset="cifar10", model="vgg", objective="classification",
    title="CIFAR-10: VGG-style CNN, optimizer and learning rate",
    description="Adam at 1e-4 trains well; 1e-2 is unstable and 1e-6 barely moves, which ASHA detects within a few epochs.",
    fixed=dict(model="vgg", batch_size=128, max_epochs=200, eval_every=10),
    grid={"case": ["adam_1e-2", "adam_1e-4", "adam_1e-6", "sgd_1e-4", "adagrad_1e-4"]},
    presets={"case": {
        "adam_1e-2": {"optimizer": "adam", "lr": 1e-2},
        "adam_1e-4": {"optimizer": "adam", "lr": 1e-4},
        "adam_1e-6": {"optimizer": "adam", "lr": 1e-6},
        "sgd_1e-4": {"optimizer": "sgd", "lr": 1e-4, "momentum": 0.0},
        "adagrad_1e-4": {"optimizer": "adagrad", "lr": 1e-4},
    }},
    smoke={"case": ["adam_1e-4", "sgd_1e-4"], "max_epochs": 2, "eval_every": 1, "train_size": 200, "test_size": 100},
    source=CIFAR_SOURCE + ", its VGG-style network and optimizer comparison",
    references=(
        Reference("Adam 1e-4: train accuracy", M.TRAIN_ACC, 0.89, where={"case": "adam_1e-4"}, tolerance=0.05),
        Reference("Adam 1e-4: test accuracy", M.TEST_ACC, 0.80, where={"case": "adam_1e-4"}, tolerance=0.05),
        Reference("Adam 1e-2 does not converge (18-22% test accuracy)", M.TEST_ACC, 0.22, where={"case": "adam_1e-2"},
                  check="at_most", tolerance=0.03),
        Reference("Adam 1e-6 still rising at epoch 200 (above epoch 150)", M.TEST_ACC, where={"case": "adam_1e-6"},
                  check="greater_than", than={"epoch": 150}),
        Reference("SGD 1e-4 learns slower than Adam 1e-4", M.TEST_ACC, where={"case": "sgd_1e-4"}, check="less_than",
                  than={"case": "adam_1e-4"}),
        Reference("Adagrad 1e-4 ends worse than Adam 1e-4", M.TEST_ACC, where={"case": "adagrad_1e-4"},
                  check="less_than", than={"case": "adam_1e-4"}),
    ),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
