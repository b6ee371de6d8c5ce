"""The targeted iterative attack: one test image, a target class and an L-inf budget; signed
gradient steps minimise the cross-entropy to the target inside the box and [0, 1] for up to N
iterations (the source used 5000), stopping once the target is predicted. Plots the target loss
against iteration and the clean image, the adversarial example and the perturbation.

    python -m analysis.adversarial results/mnist_width [--image 0] [--target 3] [--eps 0.1] [--steps 5000]
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import torch

from analysis.maths.attacks import targeted_attack
from analysis.maths.batching import predict
from analysis.results.arguments import checked, positive_int
from analysis.results.figures import finish_figure
from analysis.results.markdown import to_markdown
from analysis.results.sections import Study, StudyInputError, register
from analysis.results.study_command import study_main


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


def run(selection, image: int = 0, target: int | None = None, eps: float = 0.1, steps: int = 5000) -> dict[str, pd.DataFrame]:
    eps, steps = budget(eps), positive_int(steps)
    rows, pictures = [], []
    for ref in selection.trials:
        trial = selection.load(ref)
        classes = trial.meta.classes
        if not classes:
            raise StudyInputError(f"trial {ref.trial_id} is a regression model; allowed: classifiers")
        x, y = trial.inputs("test")
        if not 0 <= image < len(y):
            raise StudyInputError(f"--image {image} is not allowed; allowed: 0..{len(y) - 1} (test images of this trial)")
        goal = (int(y[image]) + 1) % len(classes) if target is None else index(target)
        if goal >= len(classes) or goal == int(y[image]):
            raise StudyInputError(f"--target {goal} is not allowed; allowed: a class 0..{len(classes) - 1} other than "
                                  f"the image's label {int(y[image])}")
        model = trial.pixel_model()
        clean = x[image : image + 1]
        result = targeted_attack(model, clean, torch.tensor([goal]), eps=eps, steps=steps)
        rows += [{**ref.columns, "iteration": i, "target_loss": float(loss)} for i, loss in enumerate(result.losses[:, 0])]
        for kind, img in (("clean", clean[0]), ("adversarial", result.images[0]), ("perturbation", result.images[0] - clean[0])):
            probs = torch.softmax(predict(model, img.unsqueeze(0) if kind != "perturbation" else clean), 1)[0]
            pictures.append({**ref.columns, "kind": kind, "image": img.flatten().tolist(), "shape": list(img.shape),
                             "pred": classes[int(probs.argmax())], "prob": float(probs.max()),
                             "target_prob": float(probs[goal]), "class": classes[int(y[image])], "target": classes[goal],
                             "image_index": image, "eps": eps, "reached": bool(result.reached[0]),
                             "first_hit": int(result.first_hit[0])})
    return {"adversarial": pd.DataFrame(rows), "adversarial_images": pd.DataFrame(pictures)}


def figures(frames, meta, out_dir):
    losses, pictures = frames["adversarial"], frames["adversarial_images"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for label, part in losses.groupby("label", sort=False):
        ax.plot(part["iteration"], part["target_loss"], label=label)
    ax.set(xlabel="iteration", ylabel="cross-entropy to the target class", yscale="log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
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
    table = adv[["label", "class", "target", "eps", "reached", "first_hit", "pred", "target_prob"]]
    return [to_markdown(table.rename(columns={"first_hit": "iteration reached (-1: never)"}))]


STUDY = register(Study(
    "adversarial", "Targeted adversarial example",
    "Signed gradient steps of one grey level minimise the cross-entropy to a target class inside an L-inf box "
    "around a test image and [0, 1], until the target is predicted or the iterations run out.",
    run, figures, tables, default_trials="best",
))


def add_options(parser):
    parser.add_argument("--image", type=checked(index), default=0, help="test image index (default: 0)")
    parser.add_argument("--target", type=checked(index), help="target class (default: the label + 1)")
    parser.add_argument("--eps", type=checked(budget), default=0.1, help="L-inf budget in pixel units (default: 0.1)")
    parser.add_argument("--steps", type=checked(positive_int), default=5000, help="most iterations (default: 5000)")


main = study_main("adversarial", __doc__, add_options)

if __name__ == "__main__":
    raise SystemExit(main())
