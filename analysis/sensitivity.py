"""Input sensitivity against the swept value: per trial, the mean over test images of the
Frobenius norm of the Jacobian of the softmax output with respect to the input (Novak et al.
2018), with the test loss and accuracy, in pixel units, model in eval mode.

    python -m analysis.sensitivity results/mnist_sensitivity [--trials all] [--images 1000]
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from analysis.maths.batching import loss_and_accuracy
from analysis.maths.input_sensitivity import input_sensitivity
from analysis.results.arguments import checked, positive_int
from analysis.results.figures import axis_label, finish_figure, is_numeric, legend_outside, log_axis, set_log_x, study_x
from analysis.results.markdown import to_markdown
from analysis.results.sections import Study, register
from analysis.results.study_command import study_main
from trainables import metrics as M


def run(selection, images: int | None = None) -> dict[str, pd.DataFrame]:
    rows = []
    for ref in selection.trials:
        model, x, y = selection.load(ref).classifier_inputs("test", images)
        loss, accuracy = loss_and_accuracy(model, x, y)
        rows.append({**ref.columns, M.SENSITIVITY: input_sensitivity(model, x), M.TEST_LOSS: loss, M.TEST_ACC: accuracy,
                     "images": len(y)})
    return {"sensitivity": pd.DataFrame(rows)}


def figures(frames, meta, out_dir):
    df = frames["sensitivity"]
    x = study_x(df, meta)
    means = df.groupby(x, sort=True)[[M.SENSITIVITY, M.TEST_LOSS, M.TEST_ACC]].mean().reset_index() if x else df
    position = means[x] if x else range(len(means))
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.plot(position, means[M.SENSITIVITY], "o-", color="C0", label="sensitivity ||d softmax / d x||_F")
    ax.set(xlabel=axis_label(x) if x else "trial", ylabel="mean Jacobian norm (pixel units)")
    if x and is_numeric(means[x]) and log_axis(meta, x, means[x]):
        set_log_x(ax, means[x])
    if not x:
        ax.set_xticks(list(position), list(means["label"]), rotation=30, fontsize="small")
        ax.set_xlim(-0.5, len(means) - 0.5)
    twin = ax.twinx()
    twin.plot(position, means[M.TEST_LOSS], "s--", color="C1", label="test loss")
    twin.plot(position, means[M.TEST_ACC], "^--", color="C2", label="test accuracy")
    twin.set_ylabel("test loss / accuracy")
    legend_outside(fig, ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0])
    ax.grid(alpha=0.3)
    return [finish_figure(fig, meta, "input sensitivity (mean over test images) with test loss and accuracy",
                          out_dir / "sensitivity.png")]


def tables(frames, meta):
    df = frames["sensitivity"][["label", M.SENSITIVITY, M.TEST_LOSS, M.TEST_ACC, "images"]]
    return [to_markdown(df.round(4))]


STUDY = register(Study(
    "sensitivity", "Input sensitivity",
    "Mean over test images of the Frobenius norm of the softmax output's Jacobian with respect to the input "
    "(pixels in [0, 1]), per trial (Novak et al. 2018); lower is a flatter function around the data.",
    run, figures, tables, trial_metrics=(M.SENSITIVITY,),
))


def add_options(parser):
    parser.add_argument("--images", type=checked(positive_int), help="N test images, the same random ones for every trial (default: all)")


main = study_main("sensitivity", __doc__, add_options)

if __name__ == "__main__":
    raise SystemExit(main())
