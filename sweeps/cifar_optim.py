"""CIFAR-10 optimizers and dropout on the best channel pair: plain SGD, SGD + momentum 0.1,
RMSProp, Adam, and SGD with dropout 0.5 on the FC layers; cost and accuracy curves per case.

    python -m sweeps.cifar_optim --base-from results/cifar_channels   # the best (c1, c2) found there
    python -m sweeps.cifar_optim --set c1=70 --set c2=80               # or given by hand
"""
from sweeps.entry import main_for
from sweeps.spec import Sweep

SWEEP = Sweep(
    name="cifar_optim",
    title="CIFAR-10: optimizers and dropout (two-convolution CNN)",
    description="Adaptive methods converge fastest at their usual rates; dropout slows training but narrows the gap between train and test.",
    dataset="cifar10",
    fixed=dict(model="cnn", c1=50, c2=60, batch_size=64, max_epochs=10, train_size=10000, test_size=2000),
    grid={"case": ["sgd", "sgd_momentum", "rmsprop", "adam", "sgd_dropout"]},
    presets={"case": {
        "sgd": {"optimizer": "sgd", "lr": 0.01, "momentum": 0.0},
        "sgd_momentum": {"optimizer": "sgd", "lr": 0.01, "momentum": 0.1},
        "rmsprop": {"optimizer": "rmsprop", "lr": 1e-3, "momentum": 0.0},
        "adam": {"optimizer": "adam", "lr": 1e-3},
        "sgd_dropout": {"optimizer": "sgd", "lr": 0.01, "momentum": 0.0, "dropout": 0.5},
    }},
    smoke={"case": ["sgd", "adam"], "max_epochs": 1, "train_size": 200, "test_size": 100},
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
