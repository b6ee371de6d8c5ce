"""Weight trajectories in 2-D: the weights each trial recorded every k epochs (record_weights_every),
projected by one PCA over all runs jointly, for the whole model and for one layer; a line per run,
annotated with its test accuracy at the recorded epochs.

    python -m analysis.trajectory results/mnist_trajectory [--layer net.1]
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import torch

from analysis.maths.flat_params import ParamLayout
from analysis.maths.weight_pca import trajectory_pca
from analysis.results.figures import finish_figure, palette
from analysis.results.sections import Study, StudyInputError, register
from analysis.results.study_command import study_main
from trainables import metrics as M
from trainables.weights import load_weight_records


def weights_of(ref) -> tuple[list[int], torch.Tensor, ParamLayout]:
    """(epochs, (epochs, D) weights of this trial's member, layout) from its weight records."""
    records = load_weight_records(ref.folder)
    if not records:
        raise StudyInputError(f"trial {ref.trial_id} recorded no weights; allowed: a sweep run with "
                              "record_weights_every set (e.g. sweeps.mnist_trajectory)")
    layout = ParamLayout(tuple(records[0]["names"]), tuple(tuple(s) for s in records[0]["shapes"]))
    return [r["epoch"] for r in records], torch.stack([r["weights"][ref.member] for r in records]), layout


def run(selection, layer: str | None = None) -> dict[str, pd.DataFrame]:
    runs = [(ref, *weights_of(ref)) for ref in selection.trials]
    layout = runs[0][3]
    layer = layer or layout.names[0].rsplit(".", 1)[0]  # the first layer: where the input's pixels enter
    try:
        part = layout.layer_slice(layer)
    except ValueError as e:
        raise StudyInputError(f"--layer: {e}") from None
    results = selection.results()
    accuracy = {}
    if results is not None and M.TEST_ACC in results:
        accuracy = {(t, int(e)): a for t, e, a in zip(results[M.TRIAL_ID], results[M.EPOCH], results[M.TEST_ACC])}
    rows = []
    for scope, cut in (("whole model", slice(None)), (f"layer {layer}", part)):
        pca = trajectory_pca([w[:, cut] for _, _, w, _ in runs])
        explained = pca.explained_variance_ratio.tolist()
        for (ref, epochs, _, _), xy in zip(runs, pca.coordinates):
            rows += [{**ref.columns, "scope": scope, M.EPOCH: e, "pc1": float(p[0]), "pc2": float(p[1]),
                      M.TEST_ACC: accuracy.get((ref.trial_id, e)), "explained_pc1": explained[0], "explained_pc2": explained[1]}
                     for e, p in zip(epochs, xy)]
    return {"trajectory": pd.DataFrame(rows)}


def figures(frames, meta, out_dir):
    df = frames["trajectory"]
    scopes = list(dict.fromkeys(df["scope"]))
    labels = list(dict.fromkeys(df["label"]))
    fig, axes = plt.subplots(1, len(scopes), figsize=(5.2 * len(scopes), 4.4), squeeze=False)
    for ax, scope in zip(axes[0], scopes):
        part = df[df["scope"] == scope]
        for color, label in zip(palette(len(labels)), labels):
            run = part[part["label"] == label].sort_values(M.EPOCH)
            ax.plot(run["pc1"], run["pc2"], "o-", color=color, ms=3, label=label)
            last = run.iloc[-1]
            if pd.notna(last[M.TEST_ACC]):
                ax.annotate(f"{last[M.TEST_ACC]:.3f}", (last["pc1"], last["pc2"]), fontsize="x-small", color=color,
                            xytext=(3, 3), textcoords="offset points")
        ax.set(xlabel=f"PC1 ({100 * part['explained_pc1'].iloc[0]:.1f}% of variance)",
               ylabel=f"PC2 ({100 * part['explained_pc2'].iloc[0]:.1f}%)", title=scope)
        ax.grid(alpha=0.3)
    if len(labels) <= 12:
        axes[0][-1].legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return [finish_figure(fig, meta, "weight trajectories, one PCA over all runs (test accuracy at the last record)",
                          out_dir / "trajectory.png")]


STUDY = register(Study(
    "trajectory", "Weight trajectories (PCA)",
    "Every run's flattened weights at each recorded epoch, projected on the first two principal components of all "
    "runs' records together (one plane for all), for the whole model and for one layer.",
    run, figures, joint=True,
))


def add_options(parser):
    parser.add_argument("--layer", help="the layer of the second panel, e.g. net.1 (default: the first layer)")


main = study_main("trajectory", __doc__, add_options)

if __name__ == "__main__":
    raise SystemExit(main())
