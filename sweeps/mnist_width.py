"""MNIST width study: how test accuracy of a 2-hidden-layer ReLU MLP grows with its width.

    python -m sweeps.mnist_width                  # widths 50..800, 5 epochs, SGD momentum 0.8
    python -m sweeps.mnist_width --repeats 3      # mean and 95% interval over 3 seeds
    python -m sweeps.mnist_width --smoke-test
"""
from sweeps.families.mnist_mlp import MNIST_MLP, MNIST_SOURCE, small_model_curve
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Sweep

SWEEP = Sweep(
    name="mnist_width",
    dataset="mnist", model="mlp", objective="classification",
    title="MNIST: test accuracy vs hidden width (2 x W ReLU MLP)",
    description="Wider hidden layers fit MNIST better, with diminishing returns past a few hundred units.",
    fixed=MNIST_MLP,
    source=MNIST_SOURCE,
    references=small_model_curve({"width": 400}),
    grid={"width": [50, 100, 200, 400, 800]},
    smoke={"width": [50, 200], "max_epochs": 2},
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
