"""Toy 2-D sets (moons, circles, classification) x {PyTorch MLP, NumPy MLP with hand-written
backprop}: 2-20-2 ReLU, SGD lr 1e-2, batch 1, 200 epochs, evaluated every 10 epochs, with a
decision-boundary plot per set and model.

    python -m sweeps.toy2d [--repeats 3] [--smoke-test]
"""
from sweeps.entry import main_for
from sweeps.spec import Sweep

SWEEP = Sweep(
    name="toy2d",
    title="Toy 2-D sets: PyTorch vs NumPy MLP (2-20-2 ReLU, SGD, batch 1)",
    description="Both implementations learn the same boundaries; circles need the hidden layer most, linear-ish classification the least.",
    dataset="toy2d",
    data_axes={"toy_set": "kind", "toy_samples": "n_samples", "toy_noise": "noise"},
    fixed=dict(toy_samples=1000, toy_noise=0.2, depth=1, width=20, activation="relu", optimizer="sgd",
               lr=1e-2, momentum=0.0, batch_size=1, max_epochs=200, eval_every=10,
               device="cpu"),  # NumPy trains on the CPU, and batch-1 steps of a 2-20-2 net are faster there anyway
    grid={"toy_set": ["moons", "circles", "classification"], "model": ["mlp", "numpy_mlp"]},
    smoke={"toy_samples": 200, "max_epochs": 2, "eval_every": 1},
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
