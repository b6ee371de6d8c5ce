"""MNIST gradient norm: the mean L2 norm of the whole gradient per epoch of a 784-128-10 MLP
trained by SGD, with the loss on one figure, at two learning rates.

    python -m sweeps.mnist_grad_norm [--smoke-test]
"""
from sweeps.families.theory_homework import MNIST_128, NO_NUMBER, SOURCE
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Posthoc, Reference, Sweep
from trainables import metrics as M

SWEEP = Sweep(
    name="mnist_grad_norm",
    dataset="mnist", model="mlp", objective="classification",
    title="MNIST: gradient norm and loss per epoch (784-128-10, SGD)",
    description="The loss keeps falling while the minibatch gradient's norm settles at a level set by the "
                "learning rate and the noise of the batches.",
    fixed={**MNIST_128, "max_epochs": 20, "track_grad_norm": True},
    grid={"lr": [0.01, 0.1]},
    smoke={"max_epochs": 2},
    source=SOURCE + ", its gradient-norm figure",
    references=(
        Reference("the training loss falls (last epoch below the first)", M.TRAIN_LOSS, check="less_than",
                  where={"lr": 0.01}, than={"epoch": 1}, differs=NO_NUMBER),
        Reference("the gradient norm is smaller at the end than after the first epoch", M.GRAD_NORM, check="less_than",
                  where={"lr": 0.01}, than={"epoch": 1}, differs=NO_NUMBER),
    ),
    posthoc=(Posthoc("grad_norm"),),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
