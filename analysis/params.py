"""Generalisation against model size: each trial's final train and test loss and accuracy
against its parameter count (log scale), from the results table alone.

    python -m analysis.params results/mnist_params_generalization
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from analysis.results.figures import METRIC_LABELS, accuracy_limits, finish_figure, legend_outside
from analysis.results.markdown import to_markdown
from analysis.results.sections import Study, StudyInputError, register
from analysis.results.stats import final_rows
from analysis.results.study_command import study_main
from trainables import metrics as M

PANELS = {"loss": (M.TRAIN_LOSS, M.TEST_LOSS), "accuracy": (M.TRAIN_ACC, M.TEST_ACC)}


def run(selection) -> dict[str, pd.DataFrame]:
    final = final_rows(selection.results(), None)
    if M.PARAM_COUNT not in final:
        raise StudyInputError(f"no {M.PARAM_COUNT} column in {selection.results_dir}/results.parquet; allowed: a sweep's results")
    columns = [M.TRIAL_ID, M.PARAM_COUNT] + [m for pair in PANELS.values() for m in pair if m in final]
    return {"params": final[columns].sort_values(M.PARAM_COUNT).reset_index(drop=True)}


def figures(frames, meta, out_dir):
    df = frames["params"].groupby(M.PARAM_COUNT).mean(numeric_only=True).reset_index()
    panels = {name: [m for m in metrics if m in df] for name, metrics in PANELS.items()}
    panels = {name: metrics for name, metrics in panels.items() if metrics}
    fig, axes = plt.subplots(1, len(panels), figsize=(4.8 * len(panels), 3.8), squeeze=False)
    counts = df[M.PARAM_COUNT].astype(float)
    for ax, (name, metrics) in zip(axes[0], panels.items()):
        for metric, style in zip(metrics, ("o-", "s--")):
            ax.plot(df[M.PARAM_COUNT], df[metric], style, ms=4, label=METRIC_LABELS[metric])
        ax.set(xscale="log", xlabel="parameters", ylabel=name)
        if counts.nunique() == 1:  # one model size: a decade around it, not matplotlib's +-5%
            ax.set_xlim(counts.iloc[0] / 3, counts.iloc[0] * 3)
        if name == "accuracy":
            ax.set_ylim(*accuracy_limits(df[metrics].to_numpy()))
        ax.grid(alpha=0.3)
    legend_outside(fig, [h for ax in axes[0] for h in ax.get_legend_handles_labels()[0]])
    return [finish_figure(fig, meta, "final train and test metrics against the parameter count (mean over seeds)",
                          out_dir / "params.png")]


def tables(frames, meta):
    df = frames["params"].groupby(M.PARAM_COUNT).mean(numeric_only=True).reset_index()
    return [to_markdown(df.round(4))]


STUDY = register(Study(
    "params", "Generalisation against parameter count",
    "Each model size's train and test loss and accuracy at its last epoch, against its number of parameters.",
    run, figures, tables, checkpoints=False,
))

main = study_main("params", __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
