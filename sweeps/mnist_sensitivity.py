"""MNIST input sensitivity against batch size: a 784-128-10 MLP trained with batch 16 ... 1024,
then the mean Frobenius norm of the softmax's input Jacobian over the test images, with the test
loss and accuracy on twin axes.

    python -m sweeps.mnist_sensitivity [--repeats 3] [--smoke-test]
    python -m analysis.sensitivity results/mnist_sensitivity          # again, alone
"""
from sweeps.families.theory_homework import MNIST_128, SOURCE
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Posthoc, Reference, Sweep
from trainables import metrics as M

SWEEP = Sweep(
    name="mnist_sensitivity",
    dataset="mnist", model="mlp", objective="classification",
    title="MNIST: input sensitivity vs batch size (784-128-10)",
    description="Larger batches take fewer steps in as many epochs and end at smoother (less sensitive) functions.",
    fixed={**MNIST_128, "max_epochs": 10},
    grid={"batch_size": [16, 32, 64, 128, 256, 512, 1024]},
    smoke={"batch_size": [64, 1024], "max_epochs": 2},
    source=SOURCE + ", its sensitivity-vs-batch-size study",
    references=(
        Reference("sensitivity falls as the batch size grows", M.SENSITIVITY, check="decreasing", along="batch_size"),
    ),
    posthoc=(Posthoc("sensitivity"),),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
