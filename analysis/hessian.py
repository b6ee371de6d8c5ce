"""The Hessian of the training loss at a checkpoint, over a fixed subset of the trial's training
split, by Hessian-vector products only: top-k eigenvalues by Lanczos (scipy's eigsh), the trace
by Hutchinson, the spectral density by stochastic Lanczos quadrature, and the minimal ratio
(share of positive eigenvalues). Models up to 5,000 parameters get the exact dense spectrum:
exact minimal ratio and trace; larger ones an estimate from the density, labelled as such.

    python -m analysis.hessian results/mnist_width [--trials best] [--subset 1000] [--k 3]
"""
from __future__ import annotations

import time

import matplotlib.pyplot as plt
import pandas as pd
import torch

from analysis.maths.hessian_density import density_minimal_ratio, exact_minimal_ratio, spectral_density
from analysis.maths.hessian_eigen import hutchinson_trace, lanczos_top_eigenvalues, power_iteration
from analysis.maths.hessian_operator import DENSE_LIMIT, full_spectrum, loss_hessian
from analysis.results.arguments import checked, positive_int
from analysis.results.figures import finish_figure, legend_outside, palette
from analysis.results.markdown import to_markdown
from analysis.results.sections import Study, register
from analysis.results.study_command import study_main
from trainables import metrics as M

# Histogram bins of an exact spectrum, drawn as a density like the SLQ estimate.
EXACT_BINS = 100


def run(selection, subset: int = 1000, k: int = 3, probes: int = 100, density_steps: int = 80) -> dict[str, pd.DataFrame]:
    subset, k, probes, density_steps = (positive_int(v) for v in (subset, k, probes, density_steps))
    rows, densities = [], []
    for ref in selection.trials:
        trial = selection.load(ref)
        x, y = trial.inputs("train", subset)
        op = loss_hessian(trial.pixel_model(), x, y, trial.loss_fn)
        start = time.perf_counter()
        top = lanczos_top_eigenvalues(op, k=min(k, op.dim - 1))
        row = {**ref.columns, "params": op.dim, "images": len(y), M.TOP_EIGENVALUE: float(top.values[0]),
               "top_k": [float(v) for v in top.values], "lanczos_products": top.products,
               "lanczos_s": time.perf_counter() - start}
        anchor = power_iteration(op, k=1)  # PyHessian's method and tolerance, as a cross-check
        row.update(power_top=float(anchor.values[0]), power_products=anchor.products)
        if op.dim <= DENSE_LIMIT:
            spectrum = full_spectrum(op)
            ratio = exact_minimal_ratio(spectrum)
            row.update(trace=float(spectrum.sum()), trace_stderr=0.0, trace_method="exact")
            counts, edges = torch.histogram(spectrum.float(), bins=EXACT_BINS, density=True)
            grid, density, method = (edges[:-1] + edges[1:]) / 2, counts, "exact histogram"
        else:
            trace = hutchinson_trace(op, samples=probes)
            row.update(trace=trace.value, trace_stderr=trace.stderr, trace_method=f"Hutchinson, {probes} probes")
            slq = spectral_density(op, steps=density_steps)
            ratio = density_minimal_ratio(slq)
            grid, density, method = slq.grid, slq.density, f"SLQ ({density_steps} steps)"
        row.update({M.MINIMAL_RATIO: ratio.value, "ratio_method": ratio.method, "products": op.products,
                    "seconds": time.perf_counter() - start})
        rows.append(row)
        densities.append(pd.DataFrame({M.TRIAL_ID: ref.trial_id, "label": ref.label, "eigenvalue": grid.double().numpy(),
                                       "density": density.double().numpy(), "method": method}))
    return {"hessian": pd.DataFrame(rows), "hessian_density": pd.concat(densities, ignore_index=True)}


def figures(frames, meta, out_dir):
    density = frames["hessian_density"]
    labels = list(dict.fromkeys(density["label"]))
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for color, label in zip(palette(len(labels)), labels):
        part = density[density["label"] == label]
        ax.plot(part["eigenvalue"], part["density"].clip(lower=1e-12), color=color, label=f"{label} ({part['method'].iloc[0]})")
    ax.set(xlabel="Hessian eigenvalue", ylabel="density", yscale="log")
    ax.grid(alpha=0.3)
    legend_outside(fig, ax.get_legend_handles_labels()[0])
    return [finish_figure(fig, meta, "spectral density of the training-loss Hessian", out_dir / "hessian_density.png")]


def tables(frames, meta):
    df = frames["hessian"].copy()
    df["top eigenvalues"] = [", ".join(f"{v:.4g}" for v in top) for top in df["top_k"]]
    df["trace"] = [f"{t:.4g}" + (f" ± {s:.2g}" if s else "") + f" ({m})"
                   for t, s, m in zip(df["trace"], df["trace_stderr"], df["trace_method"])]
    df["minimal ratio"] = [f"{r:.4f} ({m})" for r, m in zip(df[M.MINIMAL_RATIO], df["ratio_method"])]
    df["cost"] = [f"{n:,} HVPs in all; top eigenvalue: {p:,} HVPs, {s:.2f} s"
                  for n, p, s in zip(df["products"], df["lanczos_products"], df["lanczos_s"])]
    df["power iteration"] = [f"{v:.4g} ({n:,} HVPs)" for v, n in zip(df["power_top"], df["power_products"])]
    columns = ["label", "params", "images", "top eigenvalues", "power iteration", "trace", "minimal ratio", "cost"]
    return [to_markdown(df[columns])]


STUDY = register(Study(
    "hessian", "Hessian of the training loss",
    f"At the trial's last checkpoint, over a seeded random subset of its training split (BatchNorm in eval): top "
    f"eigenvalues by Lanczos (scipy eigsh on Hessian-vector products; PyHessian's power iteration beside it, "
    f"tolerance 1e-3), trace and minimal ratio (share of positive "
    f"eigenvalues) exact from the dense spectrum up to {DENSE_LIMIT:,} parameters, else Hutchinson's trace and "
    "the minimal ratio estimated from the SLQ density.",
    run, figures, tables, default_trials="best", trial_metrics=(M.TOP_EIGENVALUE, M.MINIMAL_RATIO),
))


def add_options(parser):
    parser.add_argument("--subset", type=checked(positive_int), default=1000, help="training examples (default: 1000)")
    parser.add_argument("--k", type=checked(positive_int), default=3, help="top eigenvalues (default: 3)")
    parser.add_argument("--probes", type=checked(positive_int), default=100, help="Hutchinson probes (default: 100)")
    parser.add_argument("--density-steps", type=checked(positive_int), default=80, help="SLQ Lanczos steps (default: 80)")


main = study_main("hessian", __doc__, add_options)

if __name__ == "__main__":
    raise SystemExit(main())
