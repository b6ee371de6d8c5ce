"""Deep vs shallow ReLU networks of equal size (about 1,000 parameters: one hidden layer of 333
against 2-4 layers of 30, 21, 17) fitting x^3 and sin(5 pi x) on [-2, 2], plus the source's two
models (1-128-1 with SGD lr 0.01; 1-1024-1 with Adam lr 1e-3); predictions against the ground
truth, loss curves and the final MSE table.

    python -m sweeps.function_fit [--repeats 3] [--smoke-test]
    python -m analysis.fit results/function_fit        # the fits again, alone
"""
from sweeps.families.theory_homework import SOURCE
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Posthoc, Reference, Sweep
from trainables import metrics as M

ADAM = dict(optimizer="adam", lr=1e-3)
# Equal parameter counts for 1-input, 1-output MLPs (tests check they are within 5% of 1,000).
CASES = {
    "shallow_1x333": dict(depth=1, width=333, **ADAM),  # 1,000 parameters
    "deep_2x30": dict(depth=2, width=30, **ADAM),  # 1,021
    "deep_3x21": dict(depth=3, width=21, **ADAM),  # 988
    "deep_4x17": dict(depth=4, width=17, **ADAM),  # 970
    "source_1x128_sgd": dict(depth=1, width=128, optimizer="sgd", lr=0.01, momentum=0.0),
    "source_1x1024_adam": dict(depth=1, width=1024, **ADAM),
}
ALMOST_PERFECT = 0.01  # "almost perfectly" read as test MSE <= 0.01 (x^3 spans -8..8 on [-2, 2])


def fits(case: str, function: str) -> Reference:
    return Reference(f"{case}: fits x^3 almost perfectly", M.TEST_LOSS, ALMOST_PERFECT, check="at_most",
                     where={"function": function, "case": case}, differs="the source says 'almost perfectly': read as test MSE <= 0.01")


SWEEP = Sweep(
    name="function_fit",
    dataset="function", model="mlp", objective="regression",
    title="1-D functions: deep vs shallow MLPs at equal size, and the source's models",
    description="Does depth help at the same parameter count (about 1,000) on the oscillating sin(5 pi x)? x^3 is easy "
                "for all; the final MSE table and the fits answer for this run.",
    data_axes={"function": "kind"},
    # The source trains 3000 epochs and gives no batch size: 1000 (29 steps per epoch on the 28,800 training points).
    fixed=dict(model="mlp", activation="relu", batch_size=1000, max_epochs=3000, eval_every=50),
    grid={"function": ["cubic", "sin5pi"], "case": list(CASES)},
    presets={"case": CASES},
    smoke={"case": ["shallow_1x333", "deep_4x17"], "max_epochs": 2, "eval_every": 1},
    headline=M.TEST_LOSS,
    source=SOURCE + ", its function-fitting study (x^3 and sin(5 pi x))",
    references=(
        fits("source_1x128_sgd", "cubic"), fits("source_1x1024_adam", "cubic"),
        Reference("sin(5 pi x) is fitted worse than x^3 (1-1024-1 Adam)", M.TEST_LOSS, check="greater_than",
                  where={"function": "sin5pi", "case": "source_1x1024_adam"}, than={"function": "cubic", "case": "source_1x1024_adam"}),
        Reference("sin(5 pi x): the wide Adam model fits better than the 1-128-1 SGD model", M.TEST_LOSS, check="less_than",
                  where={"function": "sin5pi", "case": "source_1x1024_adam"},
                  than={"function": "sin5pi", "case": "source_1x128_sgd"}),
    ),
    posthoc=(Posthoc("fit"),),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
