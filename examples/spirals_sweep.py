"""Bring your own experiment: a sweep over a model and a dataset declared in your own files,
run by sweeplab as it runs its own (plan checked before Ray, cost preview, fused seeds, Parquet,
plots, report, --resume, the post-hoc commands).

    python examples/spirals_sweep.py --smoke-test
    python examples/spirals_sweep.py --repeats 3
    python -m analysis.sensitivity results/spirals_depth      # its models rebuilt from the checkpoints

The two imports below register the model and the dataset; the trials' workers and the post-hoc
commands import the same files (their paths are kept in the results).
"""
import residual_mlp  # noqa: F401  (registers the model "residual_mlp")
import spirals  # noqa: F401  (registers the dataset "spirals")

from analysis.results.claims import Reference
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Sweep
from trainables import metrics as M

SWEEP = Sweep(
    name="spirals_depth",
    title="Two spirals: test accuracy vs residual blocks (width 32)",
    description="Residual blocks bend the boundary that a shallow net draws almost straight through the spirals.",
    dataset="spirals", model="residual_mlp", objective="classification",
    data={"n_points": 600, "turns": 1.5},
    fixed=dict(model="residual_mlp", width=32, optimizer="adam", lr=0.01, batch_size=32, max_epochs=40),
    grid={"blocks": [0, 1, 2, 4]},
    smoke={"blocks": [0, 2], "max_epochs": 2},
    source="an example of a lab's own experiment (no source to reproduce: the claim is what we expect)",
    references=(Reference("test accuracy rises with the residual blocks", M.TEST_ACC, check="increasing",
                          along="blocks"),),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
