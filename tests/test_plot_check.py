"""The plot check catches each broken figure the newcomer round found, and passes the fixed ones."""
from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from analysis.results import plot_check  # noqa: E402
from analysis.results.figures import accuracy_limits, save  # noqa: E402


def _problems(fig) -> list[str]:
    try:
        return plot_check.problems(fig)
    finally:
        plt.close(fig)


def _lines(labels_colors, style="o-"):
    fig, ax = plt.subplots()
    for i, (label, color) in enumerate(labels_colors):
        ax.plot([1, 2, 3], [i, i + 1, i + 3], style, color=color, label=label)
    fig.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def test_a_clean_figure_has_no_problem():
    fig, ax = plt.subplots()
    ax.plot([50, 100, 200], [0.8, 0.85, 0.9], "o-", label="test accuracy")
    ax.set(xlabel="width", ylabel="test accuracy", ylim=accuracy_limits([0.8, 0.9]))
    fig.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    assert _problems(fig) == []


def test_an_axes_without_data_is_a_problem():
    fig, (full, empty) = plt.subplots(1, 2)
    full.plot([0, 1], [0, 1])
    empty.set_title("nothing here")
    assert any("'nothing here' has no data" in p for p in _problems(fig))


def test_a_single_value_axis_left_to_matplotlib_is_a_problem_and_a_set_range_is_not():
    fig, ax = plt.subplots()
    ax.plot([10, 20, 30], [20, 20, 20], "o", label="rnn")
    ax.set_ylabel("first step with 100%")
    found = _problems(fig)
    assert any("every point has y = 20" in p for p in found), found
    fig, ax = plt.subplots()
    ax.plot([10, 20, 30], [20, 20, 20], "o")
    ax.set_ylim(0, 25)
    assert _problems(fig) == []


def test_an_accuracy_colour_scale_above_one_is_a_problem():
    fig, ax = plt.subplots()
    image = ax.imshow(np.array([[0.9, 1.0], [1.0, 1.0]]), vmin=0.9, vmax=1.1)
    fig.colorbar(image, ax=ax, label="final test accuracy")
    assert any("runs 0.9..1.1" in p for p in _problems(fig))


def test_a_colour_scale_of_one_value_is_a_problem():
    fig, ax = plt.subplots()
    norm = matplotlib.colors.Normalize(1.0, 1.0 + 1e-9)  # the old parallel coordinates with every accuracy 1.0
    ax.plot([0, 1], [0, 1], color=plt.get_cmap("viridis")(norm(1.0)))
    fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=ax, label="final test accuracy")
    assert any("spans a single value" in p for p in _problems(fig))


def test_an_accuracy_axis_zoomed_into_the_noise_or_beyond_one_is_a_problem():
    fig, ax = plt.subplots()
    ax.plot([50, 100, 200, 400, 800], [0.897, 0.905, 0.899, 0.904, 0.900], "o-")  # one seed's noise
    ax.set_ylabel("test accuracy")
    assert any("zoomed into the noise" in p for p in _problems(fig))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0.5, 1.0])
    ax.set(ylabel="test accuracy", ylim=(0.5, 1.2))
    assert any("allowed: within [0, 1]" in p for p in _problems(fig))


def test_a_legend_over_the_data_is_a_problem_and_one_outside_is_not():
    fig, ax = plt.subplots()
    alpha = np.linspace(-1, 2, 61)
    ax.plot(alpha, 1 + 3 * np.exp(-((alpha - 0.5) ** 2) / 0.02), label="train loss")  # the barrier at 0.5
    ax.legend(loc="upper center")
    assert any("legend covers" in p for p in _problems(fig))
    fig, ax = plt.subplots()
    ax.plot(alpha, 1 + 3 * np.exp(-((alpha - 0.5) ** 2) / 0.02), label="train loss")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    assert _problems(fig) == []


def test_lines_of_nearly_the_same_colour_are_a_problem():
    dark = matplotlib.colormaps["viridis"]  # a linear 50..800 scale: 50 at 0, 100 at 0.057
    found = _problems(_lines([("width=50", dark(0.0)), ("width=100", dark(0.057)), ("width=800", dark(0.85))]))
    assert any("'width=50' and 'width=100' have nearly the same colour" in p for p in found), found
    assert _problems(_lines([("a", "C0"), ("b", "C1"), ("c", "C2")])) == []


def test_the_same_colour_in_another_line_style_is_no_problem():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], "-", color="C0", label="train loss")
    ax.plot([0, 1], [1, 2], "--", color="C0", label="test loss")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    assert _problems(fig) == []


def test_markers_hidden_under_another_line_are_a_problem_and_other_shapes_are_not():
    fig, ax = plt.subplots()
    ax.plot([10, 20], [5, 9], "o-", color="C0", label="rnn")
    ax.plot([10, 20], [5, 9], "o-", color="C1", label="lstm")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    assert any("'lstm' is drawn over 'rnn'" in p for p in _problems(fig))
    fig, ax = plt.subplots()
    ax.plot([10, 20], [5, 9], "o-", color="C0", label="rnn")
    ax.plot([10, 20], [5, 9], "s--", color="C1", mfc="none", label="lstm")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    assert _problems(fig) == []


@pytest.mark.parametrize("broken", [True, False])
def test_save_records_problems_in_plots_json_and_check_lists_them(tmp_path, capsys, broken):
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 3] if broken else [3, 4])
    (tmp_path / "plots").mkdir()
    save(fig, tmp_path / "plots" / "a.png")
    manifest = json.loads((tmp_path / "plots" / plot_check.MANIFEST).read_text())
    assert bool(manifest["a.png"]["problems"]) is broken
    assert set(plot_check.check(tmp_path)) == ({"plots/a.png"} if broken else set())
    assert plot_check.main([str(tmp_path)]) == (1 if broken else 0)
    assert ("plots/a.png: " in capsys.readouterr().out) is broken
