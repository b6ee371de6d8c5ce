"""The sweep plots and report numbers the newcomer round found wrong, each drawn from a small
synthetic sweep and held to the plot check (analysis/results/plot_check.py)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.results import plot_check  # noqa: E402
from analysis.results.figures import line_colors, log_axis  # noqa: E402
from analysis.results.grid_plots import _scaled, plot_heatmap, plot_parallel_coordinates  # noqa: E402
from analysis.results.markdown import to_markdown  # noqa: E402
from analysis.results.plots import _spread, _vs_x, plot_accuracy_vs_x, plot_loss_vs_epoch  # noqa: E402
from analysis.results.sequence_plots import plot_steps_to_perfect  # noqa: E402
from analysis.results.stats import final_rows  # noqa: E402
from analysis.results.sweep_meta import SweepMeta  # noqa: E402
from tests.test_analysis_report import make_sweep  # noqa: E402
from trainables import metrics as M  # noqa: E402

WIDTHS = [50, 100, 200, 400, 800]
WIDTH_META = SweepMeta(sweep="mnist_width", axes=["width"], x="width", headline=M.TEST_ACC)


def _one_seed_noise():
    """mnist_width at defaults: one seed per width, final test accuracy 0.897..0.905."""
    results, trials = make_sweep({"width": WIDTHS}, seeds=1, epochs=2)
    last = results[M.EPOCH] == 2
    results.loc[last, M.TEST_ACC] = [0.897, 0.905, 0.899, 0.904, 0.900]
    return results, trials


def test_doubling_widths_are_on_a_log2_axis_and_arithmetic_steps_are_not():
    assert log_axis(SweepMeta(), "width", WIDTHS)
    assert not log_axis(SweepMeta(), "width", [100, 200, 300, 400, 500, 600, 700, 800, 900])  # 9x in equal steps
    assert not log_axis(SweepMeta(), "width", [100, 200, 400])  # 4x: too narrow to need a log scale
    results, trials = _one_seed_noise()
    fig, panel = plt.subplots()
    _vs_x(panel, final_rows(results, trials), ["width"], "width", M.TEST_ACC, WIDTH_META)
    assert panel.get_xscale() == "log" and panel.xaxis.get_transform().base == 2
    assert [t.get_text() for t in panel.get_xticklabels()] == ["50", "100", "200", "400", "800"]
    low, high = panel.get_ylim()
    assert high - low >= plot_check.MIN_ACCURACY_SPAN and 0 <= low and high <= 1 + plot_check.ACCURACY_SLACK
    plt.close(fig)


def test_one_seeds_accuracy_against_width_says_n_1_and_passes_the_check(tmp_path):
    results, trials = _one_seed_noise()
    assert "n=1" in _spread(final_rows(results, trials), ["width"])
    assert [p.name for p in plot_accuracy_vs_x(results, trials, WIDTH_META, tmp_path)] == ["accuracy_vs_width.png"]
    assert plot_check.check(tmp_path) == {}


def test_five_widths_get_colours_an_eye_tells_apart(tmp_path):
    results, trials = make_sweep({"width": WIDTHS}, seeds=1, epochs=3)
    colors, mappable = line_colors(["width"], [(w,) for w in WIDTHS], results, WIDTH_META)
    distances = [np.linalg.norm(plot_check.lab(a) - plot_check.lab(b)) for a, b in zip(colors, colors[1:])]
    assert mappable is None and min(distances) >= plot_check.MIN_COLOUR_DISTANCE, distances
    plot_loss_vs_epoch(results, trials, WIDTH_META, tmp_path)
    assert (tmp_path / "loss_vs_epoch.png").is_file() and plot_check.check(tmp_path) == {}


def test_grid_plots_when_every_accuracy_is_one(tmp_path):
    """toy2d's smoke run: every configuration at 100% test accuracy."""
    meta = SweepMeta(sweep="toy2d", axes=["toy_set", "model"], x="toy_set", headline=M.TEST_ACC)
    results, trials = make_sweep({"toy_set": ["circles", "classification", "moons"], "model": ["mlp", "numpy_mlp"]},
                                 seeds=1, epochs=2)
    results[M.TEST_ACC] = 1.0
    paths = plot_heatmap(results, trials, meta, tmp_path) + plot_parallel_coordinates(results, trials, meta, tmp_path)
    assert [p.name for p in paths] == ["heatmap.png", "parallel_coordinates.png"]
    assert plot_check.check(tmp_path) == {}
    position, ticks = _scaled(pd.Series(["moons", "circles", "classification"]), None)
    assert [text for _, text in ticks] == ["circles", "classification", "moons"]  # the middle one named too
    assert list(position) == [1.0, 0.0, 0.5]
    assert _scaled(pd.Series([1.0, 1.0]), 3)[1] == [(0.5, "1.000")]  # one value: one label, in the middle


def test_steps_to_100_of_two_cells_at_the_same_step_are_both_visible(tmp_path):
    """palindrome's smoke run: an RNN and an LSTM both first at 100% at step 20."""
    meta = SweepMeta(sweep="palindrome", axes=["length", "cell"], x="length", unit="step", headline=M.TEST_ACC)
    results, trials = make_sweep({"length": [5, 10], "cell": ["lstm", "rnn"]}, seeds=1, epochs=2)
    results[M.STEP] = results[M.EPOCH] * 10
    results[M.TRAIN_ACC] = np.where(results[M.EPOCH] == 2, 1.0, 0.5)
    assert [p.name for p in plot_steps_to_perfect(results, trials, meta, tmp_path)] == ["steps_to_100_vs_length.png"]
    assert plot_check.check(tmp_path) == {}


def test_report_tables_print_numbers_a_person_reads():
    table = to_markdown(pd.DataFrame({"params": [478410], "mean": [478410.0], "target_prob": [0.02578962780535221],
                                      "reached": [True], "eps": [0.1], "label": ["width=400"]}))
    assert table.splitlines()[-1] == "| 478,410 | 478,410 | 0.0258 | True | 0.100 | width=400 |"
