"""MNIST deep vs shallow: 784-128-10 against 784-128-64-10 (ReLU, plain SGD), loss and accuracy
per epoch; then, on both trained models, FGSM accuracy against eps and the Hessian of the
training loss (top eigenvalues, trace, spectral density).

    python -m sweeps.mnist_deep_shallow [--repeats 3] [--smoke-test]
    python -m analysis.fgsm results/mnist_deep_shallow --steps 10   # the iterative attack, alone
"""
from sweeps.families.theory_homework import MNIST_128, NO_NUMBER, SOURCE
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Posthoc, Reference, Sweep
from trainables import metrics as M

CASES = {"shallow_128": dict(depth=1, width=128), "deep_128_64": dict(depth=2, width=[128, 64])}

SWEEP = Sweep(
    name="mnist_deep_shallow",
    dataset="mnist", model="mlp", objective="classification",
    title="MNIST: deep vs shallow MLP (784-128-10 vs 784-128-64-10)",
    description="One more hidden layer of 64 units adds 8% parameters; the charts compare how fast each learns, "
                "how each resists FGSM, and the curvature of the minimum each reaches.",
    fixed={**MNIST_128, "max_epochs": 20},
    grid={"case": list(CASES)},
    presets={"case": CASES},
    smoke={"max_epochs": 2},
    source=SOURCE + ", its MNIST deep-vs-shallow comparison",
    references=(
        Reference("the deeper model reaches the better test accuracy", M.TEST_ACC, where={"case": "deep_128_64"},
                  check="best", differs=NO_NUMBER),
        Reference("the deeper model reaches the lower training loss", M.TRAIN_LOSS, where={"case": "deep_128_64"},
                  check="best", differs=NO_NUMBER),
    ),
    posthoc=(Posthoc("fgsm", trials="all", smoke={"images": 200, "eps": "0,0.1"}),
             Posthoc("hessian", trials="all", smoke={"subset": 200, "k": 1, "probes": 4, "density_steps": 8})),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
