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
from analysis.results.figures import accuracy_limits, axis_label, finish_figure, legend_outside
from analysis.results.markdown import to_markdown
from analysis.results.sections import Study, StudyInputError, register
from analysis.results.stats import fmt_value, sort_key, trial_label
from analysis.results.study_command import study_main
from analysis.results.tables import TRIALS_FILE
from analysis.results.trial_models import select, weight_shapes


def pairs_of(selection, run_b, along):
    """[(A, B, selection of B)]: the runs, the two named trials, or the pairs `along` an axis;
    each pair of the same model shapes, else one line naming them and the --along keys that work."""
    shapes = Shapes()
    if run_b is not None:
        other = select(run_b, "best", selection.data_dir)
        pairs = [(selection.trials[0], other.trials[0], other)]
    elif along is None:
        if len(selection.trials) != 2:
            raise StudyInputError(f"{len(selection.trials)} trials selected; allowed: RUN_A RUN_B, --trials ID_A,ID_B, "
                                  "or --along AXIS")
        pairs = [(selection.trials[0], selection.trials[1], selection)]
    elif along not in selection.trials[0].values:
        keys = along_keys(selection, shapes)
        raise StudyInputError(f"--along {along!r} is not allowed; allowed: "
                              f"{', '.join(keys) or 'no swept setting here (each changes the model shapes)'}")
    else:
        pairs = pairs_along(selection, along)
    for a, b, _ in pairs:
        difference = shapes.difference(a, b)
        if difference:
            keys = along_keys(sweep_of(selection), shapes)
            raise StudyInputError(f"{_named(a)} and {_named(b)} have different model shapes ({difference}): their "
                                  "weights cannot be interpolated; allowed: two trials of the same shapes, "
                                  + (f"--along {', '.join(keys)}" if keys else "no --along here (every swept setting "
                                                                                "changes the shapes)"))
    return pairs


def pairs_along(selection, along):
    """Every group of trials that differ only in `along`: its smallest value against its largest."""
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


class Shapes:
    """Each trial's model name and tensor shapes, read once per checkpoint (weight_shapes)."""

    def __init__(self):
        self._read: dict = {}

    def of(self, ref):
        if ref.checkpoint not in self._read:
            self._read[ref.checkpoint] = weight_shapes(ref)
        return self._read[ref.checkpoint]

    def difference(self, a, b) -> str:
        """'' when a and b have the same shapes, else the first few that differ ('fc.weight 50x784 vs 800x784')."""
        (model_a, shapes_a), (model_b, shapes_b) = self.of(a), self.of(b)
        if model_a != model_b:
            return f"model {model_a} vs {model_b}"
        differ = [f"{k} {_shown(shapes_a.get(k))} vs {_shown(shapes_b.get(k))}"
                  for k in dict.fromkeys([*shapes_a, *shapes_b]) if shapes_a.get(k) != shapes_b.get(k)]
        return ", ".join(differ[:2]) + (f" and {len(differ) - 2} more" if len(differ) > 2 else "")


def _named(ref) -> str:
    return ref.trial_id if ref.label == ref.trial_id else f"{ref.trial_id} ({ref.label})"


def _shown(shape: tuple[int, ...] | None) -> str:
    return "absent" if shape is None else "x".join(map(str, shape)) or "scalar"


def along_keys(selection, shapes: Shapes) -> list[str]:
    """The swept settings whose pairs (pairs_along) all keep the model's shapes."""
    keys = []
    for axis in selection.trials[0].values if selection.trials else ():
        try:
            pairs = pairs_along(selection, axis)
        except StudyInputError:
            continue
        if not any(shapes.difference(a, b) for a, b, _ in pairs):
            keys.append(axis)
    return keys


def sweep_of(selection):
    """Every trial of the sweep the selection comes from (the selection itself outside one)."""
    if (selection.results_dir / TRIALS_FILE).is_file():
        return select(selection.results_dir, "all", selection.data_dir)
    return selection


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
        a, b = selection.load(a_ref), b_selection.load(b_ref)  # the same shapes: pairs_of checked them
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
        if part["accuracy"].notna().any():
            twin.set_ylim(*accuracy_limits(part["accuracy"]))
        for alpha in (0, 1):
            ax.axvline(alpha, color="grey", lw=0.8)
        ax.grid(alpha=0.3)
        handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    legend_outside(fig, handles)  # the same four styles in every panel
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
    run, figures, tables, keys=("run_a", "run_b"),
))


def add_options(parser):
    parser.add_argument("run_b", nargs="?", metavar="RUN_B", help="the second run: a trial folder or checkpoint")
    parser.add_argument("--along", help=f"pair the trials that differ only in this swept setting ({axis_label('batch_size')}...)")
    parser.add_argument("--points", type=checked(positive_int), default=61, help="alphas from -1 to 2 (default: 61)")


main = study_main("interpolate", __doc__, add_options)

if __name__ == "__main__":
    raise SystemExit(main())
