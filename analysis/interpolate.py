"""Linear interpolation between two trained models, theta(alpha) = (1 - alpha) theta_A + alpha
theta_B over the whole state (buffers included), alpha from -1 to 2: train and test loss (log
scale) and accuracy on twin axes. Pairs are two runs, two trial ids, or every pair of trials that
differ only in one swept setting (its smallest against its largest value: mnist_interpolation's
batch 64 against batch 1024 at each learning rate).

    python -m analysis.interpolate RUN_A RUN_B                     # two trial folders or checkpoints
    python -m analysis.interpolate results/mnist_interpolation --along batch_size
    python -m analysis.interpolate results/mnist_interpolation --trials ID_A,ID_B [--points 61]
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.maths.weight_interpolation import interpolation_curve
from analysis.results.arguments import checked, positive_int
from analysis.results.figures import axis_label, finish_figure
from analysis.results.markdown import to_markdown
from analysis.results.sections import Study, StudyInputError, register
from analysis.results.stats import fmt_value, sort_key, trial_label
from analysis.results.study_command import study_main
from analysis.results.trial_models import select


def pairs_of(selection, run_b, along):
    """[(A, B, selection of B)]: the runs, the two named trials, or the pairs `along` an axis."""
    if run_b is not None:
        other = select(run_b, "best", selection.data_dir)
        return [(selection.trials[0], other.trials[0], other)]
    if along is None:
        if len(selection.trials) != 2:
            raise StudyInputError(f"{len(selection.trials)} trials selected; allowed: RUN_A RUN_B, --trials ID_A,ID_B, "
                                  "or --along AXIS")
        return [(selection.trials[0], selection.trials[1], selection)]
    axes = list(selection.trials[0].values)
    if along not in axes:
        raise StudyInputError(f"--along {along!r} is not allowed; allowed: {', '.join(axes) or 'no swept setting here'}")
    groups: dict[tuple, list] = {}
    for ref in selection.trials:
        groups.setdefault(tuple((k, str(v)) for k, v in ref.values.items() if k != along), []).append(ref)
    pairs = []
    for refs in groups.values():
        refs = sorted(refs, key=lambda r: sort_key(r.values[along]))
        if len(refs) >= 2 and refs[0].values[along] != refs[-1].values[along]:
            pairs.append((refs[0], refs[-1], selection))
    if not pairs:
        raise StudyInputError(f"no two trials differ only in {along}; allowed: a sweep with two values of it")
    return pairs


def pair_label(a, b, along) -> str:
    if along is None:
        return f"A: {a.label} -> B: {b.label}"
    rest = trial_label(a.values, [k for k in a.values if k != along])
    return f"{along} {fmt_value(a.values[along])} (A) -> {fmt_value(b.values[along])} (B)" + (f", {rest}" if rest else "")


def run(selection, run_b: str | None = None, along: str | None = None, points: int = 61) -> dict[str, pd.DataFrame]:
    points = positive_int(points)
    alphas = np.round(np.linspace(-1.0, 2.0, points), 12).tolist()  # 0 and 1 exact for 61 points (step 0.05)
    rows = []
    for a_ref, b_ref, b_selection in pairs_of(selection, run_b, along):
        a, b = selection.load(a_ref), b_selection.load(b_ref)
        if a.model_name != b.model_name or a.model.state_dict().keys() != b.model.state_dict().keys():
            raise StudyInputError(f"{a_ref.trial_id} and {b_ref.trial_id} are different architectures; "
                                  "allowed: two trials of the same model")
        model_a, model_b = a.pixel_model(), b.pixel_model()
        sets = {"train": a.inputs("train"), "test": a.inputs("test")}
        label = pair_label(a_ref, b_ref, along)
        # copies: model_a's own tensors are overwritten by every theta(alpha) along the way
        state_a, state_b = ({k: v.clone() for k, v in m.state_dict().items()} for m in (model_a, model_b))
        for row in interpolation_curve(model_a, state_a, state_b, sets, alphas, a.loss_fn):
            if not a.meta.is_classification:
                row["accuracy"] = math.nan
            rows.append({"pair": label, "run_a": a_ref.trial_id, "run_b": b_ref.trial_id, **row})
    return {"interpolate": pd.DataFrame(rows)}


def figures(frames, meta, out_dir):
    df = frames["interpolate"]
    pairs = list(dict.fromkeys(df["pair"]))
    fig, axes = plt.subplots(len(pairs), 1, figsize=(6.6, 3.4 * len(pairs)), squeeze=False)
    for ax, pair in zip(axes[:, 0], pairs):
        part = df[df["pair"] == pair]
        twin = ax.twinx()
        for split, style in (("train", "-"), ("test", "--")):
            curve = part[part["split"] == split].sort_values("alpha")
            ax.plot(curve["alpha"], curve["loss"], style, color="C0", label=f"{split} loss")
            if curve["accuracy"].notna().any():
                twin.plot(curve["alpha"], curve["accuracy"], style, color="C3", label=f"{split} accuracy")
        ax.set(yscale="log", xlabel="alpha  (0: A, 1: B)", ylabel="loss (log scale)", title=pair)
        ax.title.set_fontsize("small")
        twin.set_ylabel("accuracy")
        for alpha in (0, 1):
            ax.axvline(alpha, color="grey", lw=0.8)
        ax.grid(alpha=0.3)
        handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        ax.legend(handles, [h.get_label() for h in handles], fontsize="x-small", loc="upper center")
    return [finish_figure(fig, meta, "linear interpolation (1 - alpha) theta_A + alpha theta_B",
                          out_dir / "interpolation.png")]


def tables(frames, meta):
    df = frames["interpolate"]
    ends = df[df["alpha"].isin([0.0, 0.5, 1.0])]
    wide = ends.pivot_table(index=["pair", "split"], columns="alpha", values="loss", sort=False).round(4)
    wide.columns = [f"loss at alpha {c:g}" for c in wide.columns]
    return [to_markdown(wide.reset_index())]


STUDY = register(Study(
    "interpolate", "Linear interpolation between two solutions",
    "Loss and accuracy of (1 - alpha) theta_A + alpha theta_B (buffers included) on each run's training and test "
    "splits, alpha from -1 to 2: a barrier between alpha 0 and 1 separates the minima; the curve's width around "
    "each end shows how flat each minimum is.",
    run, figures, tables,
))


def add_options(parser):
    parser.add_argument("run_b", nargs="?", metavar="RUN_B", help="the second run: a trial folder or checkpoint")
    parser.add_argument("--along", help=f"pair the trials that differ only in this swept setting ({axis_label('batch_size')}...)")
    parser.add_argument("--points", type=checked(positive_int), default=61, help="alphas from -1 to 2 (default: 61)")


main = study_main("interpolate", __doc__, add_options)

if __name__ == "__main__":
    raise SystemExit(main())
