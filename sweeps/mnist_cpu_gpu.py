"""MNIST CPU vs GPU: a small (2 x 400) and a large (4 x 800) MLP trained on the CPU and on a GPU,
with per-epoch test accuracy and training time per model and device. Without a GPU the GPU half is
skipped with a note in the output and the report.

    python -m sweeps.mnist_cpu_gpu [--smoke-test]
"""
from sweeps.families.mnist_mlp import LARGE_CURVE, MNIST_MLP, MNIST_SOURCE, SMALL_CURVE, accuracy_curve
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Reference, Sweep
from trainables import metrics as M

SWEEP = Sweep(
    name="mnist_cpu_gpu",
    dataset="mnist", model="mlp", objective="classification",
    title="MNIST: CPU vs GPU training time, small vs large MLP",
    description="A GPU gains little on a small MLP (launch-bound) and much more on a large one (math-bound).",
    fixed=MNIST_MLP,  # depth and width come from the model_size preset
    grid={"model_size": ["small", "large"], "device": ["cpu", "cuda"]},
    presets={"model_size": {"small": {"depth": 2, "width": 400}, "large": {"depth": 4, "width": 800}}},
    smoke={"max_epochs": 2},
    headline=M.TIME_TOTAL_S,  # the study is about training time, not accuracy
    source=MNIST_SOURCE + ", timed on a laptop with an MX250 GPU",
    references=(
        *accuracy_curve("2 x 400", SMALL_CURVE, {"model_size": "small", "device": "cpu"}),
        *accuracy_curve("4 x 800", LARGE_CURVE, {"model_size": "large", "device": "cpu"}),
        Reference("the large model trains slower than the small one on the CPU (127.7 s vs 70.1 s)", M.TIME_TOTAL_S,
                  check="greater_than", where={"model_size": "large", "device": "cpu"},
                  than={"model_size": "small", "device": "cpu"}, differs="laptop CPU vs this machine"),
        Reference("the small model trains faster on the GPU (59.2 s vs 70.1 s on the CPU)", M.TIME_TOTAL_S,
                  check="less_than", where={"model_size": "small", "device": "cuda"},
                  than={"model_size": "small", "device": "cpu"}, differs="MX250 laptop GPU"),
        Reference("the large model trains much faster on the GPU (63.2 s vs 127.7 s on the CPU)", M.TIME_TOTAL_S,
                  check="less_than", where={"model_size": "large", "device": "cuda"},
                  than={"model_size": "large", "device": "cpu"}, differs="MX250 laptop GPU"),
    ),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
