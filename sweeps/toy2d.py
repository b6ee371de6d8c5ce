"""Toy 2-D sets (moons, circles, classification) x {PyTorch MLP, NumPy MLP with hand-written
backprop}: 2-20-2 ReLU, SGD lr 1e-2, batch 1, 200 epochs, evaluated every 10 epochs, with a
decision-boundary plot per set and model.

    python -m sweeps.toy2d [--repeats 3] [--smoke-test]
    python -m sweeps.toy2d --set toy_noise=0.2      # noisier sets than the source's
"""
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Reference, Sweep
from trainables import metrics as M


def reaches_100(toy_set: str, model: str, epoch: int) -> Reference:
    name = {"mlp": "PyTorch", "numpy_mlp": "NumPy"}[model]
    return Reference(f"{toy_set}: {name} MLP reaches 100% test accuracy by epoch {epoch}", M.TEST_ACC, 1.0,
                     check="reaches", where={"toy_set": toy_set, "model": model}, epoch=epoch)


SWEEP = Sweep(
    name="toy2d",
    dataset="toy2d", model=("mlp", "numpy_mlp"), objective="classification",
    title="Toy 2-D sets: PyTorch vs NumPy MLP (2-20-2 ReLU, SGD, batch 1)",
    description="Both implementations learn the same boundaries; circles need the hidden layer most, linear-ish classification the least.",
    data_axes={"toy_set": "kind", "toy_samples": "n_samples", "toy_noise": "noise"},
    # toy_noise None: each set's default noise (data_modules.toy2d: sets as clean as the source's results say).
    fixed=dict(toy_samples=1000, toy_noise=None, depth=1, width=20, activation="relu", optimizer="sgd",
               lr=1e-2, momentum=0.0, batch_size=1, max_epochs=200, eval_every=10,
               device="cpu"),  # NumPy trains on the CPU, and batch-1 steps of a 2-20-2 net are faster there anyway
    grid={"toy_set": ["moons", "circles", "classification"], "model": ["mlp", "numpy_mlp"]},
    smoke={"toy_samples": 200, "max_epochs": 2, "eval_every": 1},
    source="a deep-learning course's PyTorch vs NumPy MLP comparison on scikit-learn's 2-D sets (80/20 split)",
    references=(
        reaches_100("moons", "numpy_mlp", 50), reaches_100("moons", "mlp", 100),
        reaches_100("circles", "numpy_mlp", 25), reaches_100("circles", "mlp", 50),
        Reference("classification: PyTorch MLP train accuracy", M.TRAIN_ACC, 0.9985,
                  where={"toy_set": "classification", "model": "mlp"}, tolerance=0.005),
        Reference("classification: NumPy MLP train accuracy", M.TRAIN_ACC, 0.9965,
                  where={"toy_set": "classification", "model": "numpy_mlp"}, tolerance=0.005),
        Reference("classification: test accuracy of both MLPs", M.TEST_ACC, 0.995, where={"toy_set": "classification"},
                  tolerance=0.005),
        Reference("classification: converged near epoch 75 (99% test accuracy by epoch 80)", M.TEST_ACC, 0.99,
                  check="reaches", where={"toy_set": "classification"}, epoch=80),
    ),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
