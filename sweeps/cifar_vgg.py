"""CIFAR-10 with a VGG-style 8-convolution CNN (batch norm): Adam at lr 1e-2 / 1e-4 / 1e-6, SGD
and Adagrad at 1e-4, long runs under ASHA (hopeless rates are ended early).

    python -m sweeps.cifar_vgg [--max-epochs 100] [--data-dir DIR] [--smoke-test]
"""
from sweeps.entry import main_for
from sweeps.spec import Sweep

SWEEP = Sweep(
    name="cifar_vgg",
    title="CIFAR-10: VGG-style CNN, optimizer and learning rate",
    description="Adam at 1e-4 trains well; 1e-2 is unstable and 1e-6 barely moves, which ASHA detects within a few epochs.",
    dataset="cifar10",
    fixed=dict(model="vgg", batch_size=128, max_epochs=50),
    grid={"case": ["adam_1e-2", "adam_1e-4", "adam_1e-6", "sgd_1e-4", "adagrad_1e-4"]},
    presets={"case": {
        "adam_1e-2": {"optimizer": "adam", "lr": 1e-2},
        "adam_1e-4": {"optimizer": "adam", "lr": 1e-4},
        "adam_1e-6": {"optimizer": "adam", "lr": 1e-6},
        "sgd_1e-4": {"optimizer": "sgd", "lr": 1e-4, "momentum": 0.0},
        "adagrad_1e-4": {"optimizer": "adagrad", "lr": 1e-4},
    }},
    scheduler="asha",
    smoke={"case": ["adam_1e-4", "sgd_1e-4"], "max_epochs": 2, "train_size": 200, "test_size": 100},
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
