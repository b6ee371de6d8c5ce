"""The minimal ratio at a critical point near each trained model: minimise the squared gradient
norm of the training loss (full batch, L-BFGS, float64) until it is below a threshold, then take the exact
Hessian's share of positive eigenvalues there; a scatter of minimal ratio against loss (the
source's figure) and their distribution. For models up to 5,000 parameters (a dense Hessian).

    python -m analysis.minimal_ratio results/minimal_ratio [--threshold 1e-3] [--max-steps 500] [--subset 2000] [--workers N]
"""
from __future__ import annotations

import functools
import math

import matplotlib.pyplot as plt
import pandas as pd
import torch

from analysis.maths.batching import threads
from analysis.maths.gradient_norm_descent import minimise_gradient_norm
from analysis.maths.hessian_density import exact_minimal_ratio
from analysis.maths.hessian_operator import DENSE_LIMIT, full_spectrum, loss_hessian
from analysis.results.arguments import checked, positive_int
from analysis.results.figures import finish_figure
from analysis.results.markdown import to_markdown
from analysis.results.sections import Study, StudyInputError, register
from analysis.results.study_command import study_main
from trainables import metrics as M

NEAR_ZERO = 1e-6  # eigenvalues below this fraction of the largest |eigenvalue| count as zero in the second ratio


def threshold_of(text) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not value > 0 or math.isinf(value):
        raise StudyInputError(f"threshold {text!r} is not allowed; use a positive number, e.g. 1e-3")
    return value


def run(selection, threshold: float = 1e-3, max_steps: int = 500, subset: int | None = 2000,
        workers: int | None = None) -> dict[str, pd.DataFrame]:
    threshold, max_steps = threshold_of(threshold), positive_int(max_steps)
    study = functools.partial(critical_point, threshold=threshold, max_steps=max_steps, subset=subset)
    with threads(1):  # a 321-parameter net's kernels are faster on one thread; the trials fill the CPUs
        rows = selection.map(study, workers)
    return {"minimal_ratio": pd.DataFrame(rows)}


def critical_point(trial, threshold: float, max_steps: int, subset: int | None) -> dict:
    """Move the trial's model to a critical point of its training loss; the exact spectrum there."""
    ref = trial.ref
    # float64: in float32, L-BFGS's line search stalls near ||grad L|| ~ 1e-3 (a 1-16-16-1 tanh net:
    # 300 steps without reaching it; 28 steps in float64).
    model = trial.pixel_model().double()
    x, y = (t.double() for t in trial.inputs("train", subset))
    params = sum(p.numel() for p in model.parameters())
    if params > DENSE_LIMIT:
        raise StudyInputError(f"trial {ref.trial_id} has {params:,} parameters; allowed: models up to "
                              f"{DENSE_LIMIT:,} (exact Hessian), or python -m analysis.hessian for an estimate")
    with torch.no_grad():
        trained_loss = float(trial.loss_fn(model(x), y))
    found = minimise_gradient_norm(model, x, y, trial.loss_fn, threshold=threshold, max_steps=max_steps)
    spectrum = full_spectrum(loss_hessian(model, x, y, trial.loss_fn))
    return {**ref.columns, "params": params, "examples": len(y), "trained_loss": trained_loss, "loss": found.loss,
            M.GRAD_NORM: found.grad_norm, "converged": found.converged,
            "stalled": found.stalled, "steps": found.steps,
            M.MINIMAL_RATIO: exact_minimal_ratio(spectrum).value,
            # eigenvalues zero up to rounding fall on either side of 0 by chance: the share clearly positive
            "ratio_above_1e-6_max": exact_minimal_ratio(spectrum, NEAR_ZERO * float(spectrum.abs().max())).value,
            "min_eigenvalue": float(spectrum[0]), "max_eigenvalue": float(spectrum[-1])}


def figures(frames, meta, out_dir):
    df = frames["minimal_ratio"]
    fig, (scatter, hist) = plt.subplots(1, 2, figsize=(10, 3.9))
    for converged, marker, face in ((True, "o", "C0"), (False, "o", "none")):
        part = df[df["converged"] == converged]
        scatter.scatter(part["loss"], part[M.MINIMAL_RATIO], marker=marker, facecolors=face, edgecolors="C0", s=18,
                        label=f"{'below' if converged else 'not below'} the gradient-norm threshold ({len(part)})")
    scatter.set(xlabel="training loss at the critical point", ylabel="minimal ratio (share of positive eigenvalues)")
    if (df["loss"] > 0).all() and df["loss"].max() / df["loss"].min() >= 100:
        scatter.set_xscale("log")
    scatter.grid(alpha=0.3)
    scatter.legend(fontsize="x-small")
    hist.hist(df[M.MINIMAL_RATIO], bins=20, color="C0", alpha=0.8)
    hist.set(xlabel="minimal ratio", ylabel="runs")
    hist.grid(alpha=0.3)
    return [finish_figure(fig, meta, f"minimal ratio against loss at critical points ({len(df)} runs)",
                          out_dir / "minimal_ratio.png")]


def tables(frames, meta):
    df = frames["minimal_ratio"]
    ratio = df[M.MINIMAL_RATIO]
    summary = pd.DataFrame([{
        "runs": len(df), "converged": int(df["converged"].sum()),
        "stalled": int(df["stalled"].sum()) if "stalled" in df else 0, "params": int(df["params"].iloc[0]),
        "minimal ratio mean": round(ratio.mean(), 4), "min": round(ratio.min(), 4), "median": round(ratio.median(), 4),
        "max": round(ratio.max(), 4), "loss median": f"{df['loss'].median():.3g}",
        "above 1e-6 max, mean": round(df["ratio_above_1e-6_max"].mean(), 4) if "ratio_above_1e-6_max" in df else math.nan,
        "corr(loss, ratio)": round(df["loss"].corr(ratio), 3) if len(df) > 2 else math.nan,
    }])
    return [to_markdown(summary)]


STUDY = register(Study(
    "minimal_ratio", "Minimal ratio at critical points",
    "Each trained model is moved to a nearby critical point by minimising ||grad L||^2 on its training examples "
    "(L-BFGS, full batch) until the gradient norm is below the threshold (or stalls: less than 1% gained over 50 "
    "steps); the exact Hessian there gives the share of positive eigenvalues (1: a minimum).",
    run, figures, tables, trial_metrics=(M.MINIMAL_RATIO,), ignored_options=("workers",),
))


def add_options(parser):
    parser.add_argument("--threshold", type=checked(threshold_of), default=1e-3, help="gradient-norm target (default: 1e-3)")
    parser.add_argument("--max-steps", type=checked(positive_int), default=500, help="most L-BFGS steps (default: 500)")
    parser.add_argument("--subset", type=checked(positive_int), default=2000, help="training examples (default: 2000)")
    parser.add_argument("--workers", type=checked(positive_int), default=None,
                        help="processes the trials run in (default: one per CPU, from 8 trials on)")


main = study_main("minimal_ratio", __doc__, add_options)

if __name__ == "__main__":
    raise SystemExit(main())
