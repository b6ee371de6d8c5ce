"""MNIST CPU vs GPU: a small (2 x 400) and a large (4 x 800) MLP trained on the CPU and on a GPU,
with per-epoch test accuracy and training time per model and device. Without a GPU the GPU half is
skipped with a note in the output and the report.

    python -m sweeps.mnist_cpu_gpu [--smoke-test]
"""
from sweeps.classic import MNIST_MLP
from sweeps.entry import main_for
from sweeps.spec import Sweep
from trainables import metrics as M

SWEEP = Sweep(
    name="mnist_cpu_gpu",
    title="MNIST: CPU vs GPU training time, small vs large MLP",
    description="A GPU gains little on a small MLP (launch-bound) and much more on a large one (math-bound).",
    fixed=MNIST_MLP,  # depth and width come from the model_size preset
    grid={"model_size": ["small", "large"], "device": ["cpu", "cuda"]},
    presets={"model_size": {"small": {"depth": 2, "width": 400}, "large": {"depth": 4, "width": 800}}},
    smoke={"max_epochs": 2},
    headline=M.TIME_TOTAL_S,  # the study is about training time, not accuracy
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
