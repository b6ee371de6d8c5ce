"""MNIST random labels (Zhang et al. 2017): with every training label shuffled, the MLP still drives
training accuracy up by memorising, while validation and test accuracy stay at chance (10%).

    python -m sweeps.mnist_random_labels [--max-epochs 200] [--smoke-test]
"""
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Reference, Sweep
from trainables import metrics as M

SWEEP = Sweep(
    name="mnist_random_labels",
    dataset="mnist", model="mlp", objective="classification",
    title="MNIST: true vs shuffled training labels (2 x 400 ReLU MLP, Adam)",
    description="label_shuffle 1.0 permutes all training labels: train accuracy climbs by memorisation, test accuracy stays near 0.1.",
    # 1,000 images keep memorisation within a laptop's minutes; Adam memorises faster than SGD.
    fixed=dict(depth=2, width=400, activation="relu", optimizer="adam", lr=1e-3, batch_size=64,
               train_size=1000, max_epochs=100),
    grid={"label_shuffle": [0.0, 1.0]},
    smoke={"max_epochs": 3},
    source="the classic random-labels experiment of a deep-learning course (after Zhang et al. 2017)",
    references=(
        Reference("shuffled labels: training accuracy reaches 100%", M.TRAIN_ACC, 1.0, where={"label_shuffle": 1.0},
                  check="at_least", tolerance=0.01),
        Reference("shuffled labels: test accuracy stays at chance", M.TEST_ACC, 0.10, where={"label_shuffle": 1.0},
                  tolerance=0.03),
    ),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
