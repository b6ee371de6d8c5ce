"""FGSM: test accuracy of each trial's model under the fast gradient sign attack against eps
(pixel units: inputs in [0, 1], the dataset normalisation inside the model, adversarial images
clamped to [0, 1], model in eval mode), and a grid of clean against adversarial test images.
--steps N runs the iterative attack instead (BIM; PGD with --random-start).

    python -m analysis.fgsm results/mnist_width [--trials all] [--eps 0,0.1,0.2] [--images 1000]
    python -m analysis.fgsm results/mnist_width --steps 10 --random-start      # PGD
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd
import torch

from analysis.maths.attacks import DEFAULT_EPSILONS, fgsm, fgsm_accuracy, pgd
from analysis.maths.batching import EVAL_BATCH, batch_slices, predict
from analysis.results.arguments import checked, positive_int
from analysis.results.figures import finish_figure, legend_outside, palette
from analysis.results.markdown import to_markdown
from analysis.results.sections import Study, StudyInputError, register
from analysis.results.stats import best_trials
from analysis.results.study_command import study_main
from trainables import metrics as M

EXAMPLES = 10  # test images in the clean-vs-adversarial grid, one per class
SHOWN_EPS = 0.1  # the grid's budget when the run includes it (else the largest eps)
PGD_STEP_SCALE = 2.5  # step = 2.5 eps / steps: Madry et al. 2018's choice, reaches the box edge


def epsilons(text) -> tuple[float, ...]:
    """"0,0.1,0.2" (or a list) -> budgets in [0, 1], pixel units."""
    values = text if isinstance(text, (list, tuple)) else str(text).split(",")
    try:
        parsed = tuple(float(v) for v in values)
    except ValueError:
        parsed = ()
    if not parsed or any(not (0.0 <= v <= 1.0) or math.isnan(v) for v in parsed):
        raise StudyInputError(f"eps {text!r} is not allowed; use comma-separated numbers in [0, 1] (pixel units), "
                              f"e.g. {','.join(f'{e:g}' for e in DEFAULT_EPSILONS)}")
    return parsed


def iterative_accuracy(model, x, y, eps_values, steps: int, random_start: bool) -> dict[float, float]:
    """Accuracy under BIM/PGD for each eps (seeded random starts)."""
    out = {}
    for eps in eps_values:
        correct = 0
        generator = torch.Generator().manual_seed(0)
        for s in batch_slices(len(y), EVAL_BATCH):
            adv = pgd(model, x[s], y[s], eps, step_size=PGD_STEP_SCALE * eps / steps, steps=steps,
                      random_start=random_start and eps > 0, generator=generator)
            correct += int((predict(model, adv).argmax(1) == y[s]).sum())
        out[float(eps)] = correct / max(len(y), 1)
    return out


def run(selection, eps=DEFAULT_EPSILONS, images: int | None = None, steps: int | None = None,
        random_start: bool = False) -> dict[str, pd.DataFrame]:
    eps_values = epsilons(eps)
    attack = "fgsm" if not steps else ("pgd" if random_start else "bim")
    rows, examples, shown = [], [], selection.best()
    for ref in selection.trials:
        trial = selection.load(ref)
        model, x, y = trial.classifier_inputs("test", images)
        accuracy = (fgsm_accuracy(model, x, y, eps_values) if not steps else
                    iterative_accuracy(model, x, y, eps_values, positive_int(steps), random_start))
        rows += [{**ref.columns, "attack": attack, "eps": e, M.FGSM_ACC: a, "images": len(y)} for e, a in accuracy.items()]
        if ref is shown:  # the first test image of each class, for the sweep's best trial of those run
            picks = torch.tensor([int(torch.nonzero(y == c)[0]) for c in y.unique()[:EXAMPLES]])
            examples = example_rows(model, x[picks], y[picks], eps_values, trial.meta.classes, ref, selection.meta.metric)
    return {"fgsm": pd.DataFrame(rows), "fgsm_examples": pd.DataFrame(examples)}


def example_rows(model, x, y, eps_values, classes, ref, metric: str) -> list[dict]:
    """The first test images, clean and attacked at SHOWN_EPS, with predictions and confidence,
    and the trial's value of the sweep's metric (the figure shows the best trial of all runs)."""
    eps = SHOWN_EPS if SHOWN_EPS in eps_values else max(eps_values)
    rows = []
    for kind, images in (("clean", x), (f"FGSM eps {eps:g}", fgsm(model, x, y, eps))):
        probs = torch.softmax(predict(model, images), 1)
        conf, pred = probs.max(1)
        for j in range(len(y)):
            rows.append({"trial_id": ref.trial_id, "label_of_trial": ref.label, metric: ref.row.get(metric), "kind": kind, "index": j,
                         "label": classes[int(y[j])], "pred": classes[int(pred[j])], "prob": float(conf[j]),
                         "image": images[j].flatten().tolist(), "shape": list(images.shape[1:])})
    return rows


def figures(frames, meta, out_dir):
    df = frames["fgsm"]
    fig, ax = plt.subplots(figsize=(6.4, 4))
    labels = list(dict.fromkeys(df["label"]))
    for color, label in zip(palette(len(labels)), labels):
        part = df[df["label"] == label].sort_values("eps")
        ax.plot(part["eps"], part[M.FGSM_ACC], "o-", color=color, ms=3, label=label)
    ax.set(xlabel="eps (pixel units, inputs in [0, 1])", ylabel="test accuracy under attack", ylim=(0, 1.02))
    ax.grid(alpha=0.3)
    if len(labels) <= 12:
        legend_outside(fig, ax.get_legend_handles_labels()[0])
    return [finish_figure(fig, meta, f"{df['attack'].iloc[0].upper()} accuracy against eps, per trial",
                          out_dir / "fgsm_accuracy.png"),
            *example_grid(frames.get("fgsm_examples"), meta, out_dir, df[M.TRIAL_ID].nunique())]


def example_grid(examples, meta, out_dir, attacked: int):
    """Two rows (clean, adversarial) of test images titled "label / prediction (probability)", of
    the best of the `attacked` trials by the sweep's metric (each run keeps its best one's images)."""
    if examples is None or examples.empty:
        return []
    best = best_trials(examples.drop_duplicates(M.TRIAL_ID), meta.metric, meta.mode, n=1)
    trial = best[M.TRIAL_ID].iloc[0] if len(best) else examples[M.TRIAL_ID].iloc[0]
    examples = examples[examples[M.TRIAL_ID] == trial]
    which = f" (best {meta.metric} of the {attacked} trials attacked)" if len(best) and attacked > 1 else ""
    kinds = list(dict.fromkeys(examples["kind"]))
    n = examples["index"].nunique()
    fig, axes = plt.subplots(len(kinds), n, figsize=(1.6 * n, 1.9 * len(kinds) + 0.5), squeeze=False)
    for r, kind in enumerate(kinds):
        for c, (_, row) in enumerate(examples[examples["kind"] == kind].sort_values("index").iterrows()):
            shape = [int(s) for s in row["shape"]]
            img = torch.tensor(row["image"]).view(*shape)
            panel = axes[r][c]
            panel.imshow(img[0] if shape[0] == 1 else img.permute(1, 2, 0), cmap="gray", vmin=0, vmax=1)
            panel.set_title(f"{row['label']} / {row['pred']} ({row['prob']:.2f})", fontsize="x-small",
                            color="black" if row["label"] == row["pred"] else "red")
            panel.axis("off")
        axes[r][0].text(-0.15, 0.5, kind, transform=axes[r][0].transAxes, rotation=90, va="center", ha="right",
                        fontsize="small")
    return [finish_figure(fig, meta, f"clean vs adversarial test images of {examples['label_of_trial'].iloc[0]}{which}: "
                             "label / predicted (probability), wrong in red", out_dir / "fgsm_examples.png", fontsize="small")]


def tables(frames, meta):
    df = frames["fgsm"]
    wide = df.pivot_table(index="label", columns="eps", values=M.FGSM_ACC, sort=False).round(3)
    wide.columns = [f"eps {c:g}" for c in wide.columns]
    return [f"Test accuracy under {df['attack'].iloc[0].upper()} ({int(df['images'].iloc[0])} test images per trial).",
            to_markdown(wide.reset_index().rename(columns={"label": "trial"}))]


STUDY = register(Study(
    "fgsm", "Adversarial robustness (FGSM)",
    "Each trial's test accuracy on images moved by eps * sign(grad_x loss) (Goodfellow et al. 2015), eps in pixel "
    "units with images clamped to [0, 1] and the model in eval mode; eps 0 is the clean accuracy.",
    run, figures, tables,
))


def add_options(parser):
    parser.add_argument("--eps", type=checked(epsilons), default=DEFAULT_EPSILONS,
                        help="comma-separated budgets in pixel units (default: 0,0.05,...,0.3)")
    parser.add_argument("--images", type=checked(positive_int), help="N test images, the same random ones for every trial (default: all)")
    parser.add_argument("--steps", type=checked(positive_int), help="iterative attack with N steps (BIM; default: FGSM)")
    parser.add_argument("--random-start", action="store_true", help="with --steps: PGD's random start in the box")


main = study_main("fgsm", __doc__, add_options)

if __name__ == "__main__":
    raise SystemExit(main())
