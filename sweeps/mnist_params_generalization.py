"""MNIST parameters vs generalisation: ten 784-W-10 MLPs (W = 2 ... 1024, 1.6k to 814k
parameters) trained alike; final train and test loss and accuracy against the parameter count.

    python -m sweeps.mnist_params_generalization [--repeats 3] [--smoke-test]
"""
from sweeps.families.theory_homework import MNIST_128, NO_NUMBER, SOURCE
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Posthoc, Reference, Sweep
from trainables import metrics as M

SWEEP = Sweep(
    name="mnist_params_generalization",
    dataset="mnist", model="mlp", objective="classification",
    title="MNIST: train and test loss and accuracy vs parameter count (784-W-10)",
    description="Larger models fit the training set better; test accuracy follows, with a widening gap.",
    fixed={**MNIST_128, "max_epochs": 10},
    grid={"width": [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]},
    smoke={"width": [4, 32], "max_epochs": 2},
    source=SOURCE + ", its parameters-vs-generalisation study (at least ten model sizes)",
    references=(
        Reference("train accuracy rises with the model size", M.TRAIN_ACC, check="increasing", along="width",
                  tolerance=0.01, differs=NO_NUMBER),
        Reference("test accuracy rises with the model size", M.TEST_ACC, check="increasing", along="width",
                  tolerance=0.01, differs=NO_NUMBER),
    ),
    posthoc=(Posthoc("params"),),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
