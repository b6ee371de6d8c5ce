"""Function fits of regression trials: each model's predictions against the ground truth on its
test points (a panel per function), and each trial's final train and test MSE.

    python -m analysis.fit results/function_fit [--trials all] [--points 400]
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import torch

from analysis.maths.batching import predict
from analysis.results.arguments import checked, positive_int
from analysis.results.figures import finish_figure, palette
from analysis.results.markdown import to_markdown
from analysis.results.sections import Study, StudyInputError, register
from analysis.results.study_command import study_main


def run(selection, points: int = 400) -> dict[str, pd.DataFrame]:
    points = positive_int(points)
    curves, errors = [], []
    for ref in selection.trials:
        trial = selection.load(ref)
        if trial.meta.is_classification or trial.meta.input_shape != (1,):
            raise StudyInputError(f"trial {ref.trial_id} is not a 1-D regression; allowed: trials of a function sweep")
        model = trial.pixel_model()
        x, y = trial.inputs("test")
        order = x[:, 0].argsort()
        shown = order[torch.linspace(0, len(order) - 1, min(points, len(order))).long()]
        prediction = predict(model, x[shown])
        curves.append(pd.DataFrame({**ref.columns, "function": trial.meta.variant, "x": x[shown, 0].numpy(),
                                    "truth": y[shown, 0].numpy(), "prediction": prediction[:, 0].numpy()}))
        mse = {f"{split}_mse": float(torch.nn.functional.mse_loss(predict(model, xs), ys))
               for split, (xs, ys) in (("train", trial.inputs("train")), ("test", (x, y)))}
        errors.append({**ref.columns, "function": trial.meta.variant, "params": sum(p.numel() for p in model.parameters()), **mse})
    return {"fit": pd.concat(curves, ignore_index=True), "fit_mse": pd.DataFrame(errors)}


def figures(frames, meta, out_dir):
    df = frames["fit"]
    functions = list(dict.fromkeys(df["function"]))
    fig, axes = plt.subplots(1, len(functions), figsize=(5.4 * len(functions), 4), squeeze=False)
    for ax, function in zip(axes[0], functions):
        part = df[df["function"] == function]
        first = part[part["label"] == part["label"].iloc[0]]
        ax.plot(first["x"], first["truth"], color="black", lw=2.2, label="ground truth")
        labels = list(dict.fromkeys(part["label"]))
        for color, label in zip(palette(len(labels)), labels):
            run = part[part["label"] == label]
            ax.plot(run["x"], run["prediction"], color=color, lw=1, label=label)
        ax.set(xlabel="x", ylabel="y", title=function)
        ax.grid(alpha=0.3)
        # under its panel (the trials differ between functions), never over the curves
        ax.legend(fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    return [finish_figure(fig, meta, "predictions against the ground truth on the test points", out_dir / "fit.png")]


def tables(frames, meta):
    df = frames["fit_mse"]
    return ["Final mean squared error of each trial on its whole train and test split.",
            to_markdown(df[["label", "function", "params", "train_mse", "test_mse"]].assign(
                train_mse=df["train_mse"].map("{:.3g}".format), test_mse=df["test_mse"].map("{:.3g}".format)))]


STUDY = register(Study(
    "fit", "Function fits",
    "Each trained model's prediction on its test points (x sorted) against the function's values, and its final "
    "mean squared error.",
    run, figures, tables,
))


def add_options(parser):
    parser.add_argument("--points", type=checked(positive_int), default=400, help="test points drawn per curve (default: 400)")


main = study_main("fit", __doc__, add_options)

if __name__ == "__main__":
    raise SystemExit(main())
