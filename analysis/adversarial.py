"""The targeted iterative attack: one test image, a target class and an L-inf budget; signed
gradient steps minimise the cross-entropy to the target inside the box and [0, 1] for up to N
iterations (the source used 5000), stopping once the target is predicted or the loss stalls (no
improvement over 0.1% in --patience iterations), and saying which. Plots the target loss against
iteration and the clean image, the adversarial example and the perturbation.

    python -m analysis.adversarial results/mnist_width [--image 0] [--target 3] [--eps 0.1] [--steps 5000] [--patience 100]
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import torch

from analysis.maths.attacks import STALL_TOL, targeted_attack
from analysis.maths.batching import predict
from analysis.results.arguments import checked, positive_int
from analysis.results.figures import finish_figure, legend_outside
from analysis.results.markdown import to_markdown
from analysis.results.sections import Study, StudyInputError, register
from analysis.results.study_command import study_main

DEFAULT_PATIENCE = 100  # iterations without a loss gain before the attack counts as stalled


def budget(text) -> float:
    try:
        eps = float(text)
    except (TypeError, ValueError):
        eps = -1.0
    if not 0.0 < eps <= 1.0:
        raise StudyInputError(f"eps {text!r} is not allowed; use a number in (0, 1] (pixel units), e.g. 0.1")
    return eps


def index(text) -> int:
    if isinstance(text, bool) or not str(text).isdigit():
        raise StudyInputError(f"{text!r} is not allowed; use an integer >= 0")
    return int(text)


def run(selection, image: int = 0, target: int | None = None, eps: float = 0.1, steps: int = 5000,
        patience: int = DEFAULT_PATIENCE) -> dict[str, pd.DataFrame]:
    eps, steps, patience = budget(eps), positive_int(steps), positive_int(patience)
    rows, pictures = [], []
    for ref in selection.trials:
        trial = selection.load(ref)
        _, x, y = trial.classifier_inputs("test")
        classes = trial.meta.classes
        if not 0 <= image < len(y):
            raise StudyInputError(f"--image {image} is not allowed; allowed: 0..{len(y) - 1} (test images of this trial)")
        goal = (int(y[image]) + 1) % len(classes) if target is None else index(target)
        if goal >= len(classes) or goal == int(y[image]):
            raise StudyInputError(f"--target {goal} is not allowed; allowed: a class 0..{len(classes) - 1} other than "
                                  f"the image's label {int(y[image])}")
        model = trial.pixel_model()
        clean = x[image : image + 1]
        result = targeted_attack(model, clean, torch.tensor([goal]), eps=eps, steps=steps, patience=patience)
        stop = ("target reached" if bool(result.reached[0]) else "stalled" if bool(result.stalled[0])
                else "iterations ran out")
        rows += [{**ref.columns, "iteration": i, "target_loss": float(loss)} for i, loss in enumerate(result.losses[:, 0])]
        for kind, img in (("clean", clean[0]), ("adversarial", result.images[0]), ("perturbation", result.images[0] - clean[0])):
            probs = torch.softmax(predict(model, img.unsqueeze(0) if kind != "perturbation" else clean), 1)[0]
            pictures.append({**ref.columns, "kind": kind, "image": img.flatten().tolist(), "shape": list(img.shape),
                             "pred": classes[int(probs.argmax())], "prob": float(probs.max()),
                             "target_prob": float(probs[goal]), "class": classes[int(y[image])], "target": classes[goal],
                             "image_index": image, "eps": eps, "reached": bool(result.reached[0]),
                             "first_hit": int(result.first_hit[0]), "stopped": stop,
                             "stopped_at": int(result.stopped_at[0]), "patience": patience})
    return {"adversarial": pd.DataFrame(rows), "adversarial_images": pd.DataFrame(pictures)}


def figures(frames, meta, out_dir):
    losses, pictures = frames["adversarial"], frames["adversarial_images"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    stops = {row["label"]: stop_text(row) for _, row in pictures[pictures["kind"] == "adversarial"].iterrows()}
    for label, part in losses.groupby("label", sort=False):
        ax.plot(part["iteration"], part["target_loss"], marker="o" if len(part) < 3 else None,
                label=f"{label}: {stops.get(label, '')}")
    ax.set(xlabel="iteration", ylabel="cross-entropy to the target class", yscale="log")
    if losses["iteration"].nunique() < 2:  # stopped at once (the image was already the target)
        ax.set_xlim(-1, 1)
    if losses["target_loss"].nunique() < 2:
        value = float(losses["target_loss"].iloc[0])
        ax.set_ylim(value / 2, value * 2) if value > 0 else ax.set_ylim(1e-6, 1)
    ax.grid(alpha=0.3)
    legend_outside(fig, ax.get_legend_handles_labels()[0])
    first = pictures.iloc[0]
    paths = [finish_figure(fig, meta, f"targeted attack on test image {first['image_index']} ({first['class']} -> "
                             f"{first['target']}), eps {first['eps']:g}", out_dir / "adversarial_loss.png")]
    trials = list(dict.fromkeys(pictures["label"]))
    fig, axes = plt.subplots(len(trials), 3, figsize=(6.3, 2.3 * len(trials) + 0.4), squeeze=False)
    for r, label in enumerate(trials):
        for c, (_, row) in enumerate(pictures[pictures["label"] == label].iterrows()):
            shape = [int(s) for s in row["shape"]]
            img = torch.tensor(row["image"]).view(*shape)
            img = img[0] if shape[0] == 1 else img.permute(1, 2, 0)
            perturbation = row["kind"] == "perturbation"
            axes[r][c].imshow(img, cmap="seismic" if perturbation else "gray", vmin=-row["eps"] if perturbation else 0,
                              vmax=row["eps"] if perturbation else 1)
            text = (f"perturbation (±{row['eps']:g})" if perturbation else
                    f"{row['kind']}: {row['pred']} ({row['prob']:.2f})")
            axes[r][c].set_title(text, fontsize="small")
            axes[r][c].axis("off")
    return paths + [finish_figure(fig, meta, "clean image, adversarial example (prediction, probability) and the perturbation",
                                  out_dir / "adversarial_examples.png", fontsize="small")]


def tables(frames, meta):
    pictures = frames["adversarial_images"]
    adv = pictures[pictures["kind"] == "adversarial"]
    table = adv[["label", "class", "target", "eps"]].assign(stopped=[stop_text(row) for _, row in adv.iterrows()])
    table = table.assign(pred=adv["pred"], target_prob=adv["target_prob"])
    return [to_markdown(table)]


def stop_text(row) -> str:
    """Why the attack stopped: "target reached at iteration 12", "stalled at iteration 130 (no
    gain over 0.1% in 100)", "iterations ran out (5000)"; tables written before the stall rule
    say only whether and when the target was reached."""
    stop = row.get("stopped")
    if not isinstance(stop, str):
        return f"target reached at iteration {row['first_hit']}" if row["reached"] else "target not reached"
    at = int(row["stopped_at"])
    if stop == "stalled":
        return f"stalled at iteration {at} (no gain over {STALL_TOL:.1%} in {int(row['patience'])})"
    return f"target reached at iteration {at}" if stop == "target reached" else f"iterations ran out ({at})"


STUDY = register(Study(
    "adversarial", "Targeted adversarial example",
    "Signed gradient steps of one grey level minimise the cross-entropy to a target class inside an L-inf box "
    "around a test image and [0, 1], until the target is predicted, the loss stalls or the iterations run out.",
    run, figures, tables, default_trials="best",
))


def add_options(parser):
    parser.add_argument("--image", type=checked(index), default=0, help="test image index (default: 0)")
    parser.add_argument("--target", type=checked(index), help="target class (default: the label + 1)")
    parser.add_argument("--eps", type=checked(budget), default=0.1, help="L-inf budget in pixel units (default: 0.1)")
    parser.add_argument("--steps", type=checked(positive_int), default=5000, help="most iterations (default: 5000)")
    parser.add_argument("--patience", type=checked(positive_int), default=DEFAULT_PATIENCE,
                        help=f"stop after this many iterations without a loss gain over {STALL_TOL:.1%} "
                             f"(default: {DEFAULT_PATIENCE})")


main = study_main("adversarial", __doc__, add_options)

if __name__ == "__main__":
    raise SystemExit(main())
