"""Gradient norm and loss against epoch on one figure, from a sweep run with track_grad_norm
(the loop's grad_norm column: the mean L2 norm of the whole gradient over each epoch's steps).

    python -m analysis.grad_norm results/mnist_grad_norm
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from analysis.results.figures import finish_figure, legend_outside, palette, wants_log
from analysis.results.sections import Study, StudyInputError, register
from analysis.results.stats import trial_label, usable_rows
from analysis.results.study_command import study_main
from trainables import metrics as M


def run(selection) -> dict[str, pd.DataFrame]:
    results = selection.results()
    if M.GRAD_NORM not in results or results[M.GRAD_NORM].isna().all():
        raise StudyInputError(f"no {M.GRAD_NORM} column in {selection.results_dir}/results.parquet; allowed: a sweep run "
                              "with --set track_grad_norm=true (e.g. sweeps.mnist_grad_norm)")
    rows = usable_rows(results, None)
    rows = rows[rows[M.STEP] > 0] if M.STEP in rows else rows  # epoch 0 evaluates the untrained model: no steps
    axes = [a for a in selection.meta.axes if a in rows] + (["seed"] if "seed" in rows and rows["seed"].nunique() > 1 else [])
    label = rows[axes].apply(lambda r: trial_label(r.to_dict()), axis=1) if axes else rows[M.TRIAL_ID]
    columns = [M.TRIAL_ID, M.EPOCH, M.GRAD_NORM, M.TRAIN_LOSS] + [c for c in (M.VAL_LOSS,) if c in rows]
    return {"grad_norm": rows[columns].assign(label=label.to_numpy()).reset_index(drop=True)}


def figures(frames, meta, out_dir):
    df = frames["grad_norm"]
    labels = list(dict.fromkeys(df["label"]))
    fig, loss_ax = plt.subplots(figsize=(6.6, 4))
    norm_ax = loss_ax.twinx()
    for color, label in zip(palette(len(labels)), labels):
        run = df[df["label"] == label].sort_values(M.EPOCH)
        loss_ax.plot(run[M.EPOCH], run[M.TRAIN_LOSS], "-", color=color, label=f"{label}: train loss")
        norm_ax.plot(run[M.EPOCH], run[M.GRAD_NORM], "--", color=color, label=f"{label}: gradient norm")
    loss_ax.set(xlabel="epoch", ylabel="train loss (solid)")
    norm_ax.set_ylabel("mean gradient L2 norm (dashed)")
    if wants_log(df[M.TRAIN_LOSS]):
        loss_ax.set_yscale("log")
    loss_ax.grid(alpha=0.3)
    handles = loss_ax.get_legend_handles_labels()[0] + norm_ax.get_legend_handles_labels()[0]
    if len(handles) <= 12:
        legend_outside(fig, handles, "x-small")
    return [finish_figure(fig, meta, "gradient norm and training loss per epoch", out_dir / "grad_norm.png")]


STUDY = register(Study(
    "grad_norm", "Gradient norm",
    "The mean L2 norm of the whole training gradient over each epoch's steps (track_grad_norm), on one figure with "
    "the training loss.",
    run, figures, checkpoints=False,
))

main = study_main("grad_norm", __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
