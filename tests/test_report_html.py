"""report.html and the curriculum's index.html: write_html on markdown and real PNGs written here
(images embedded, raw HTML escaped, verdicts coloured, links to reports pointing at their pages,
a missing image kept as a link), then real pages opened in headless Chromium: a sweep's report
built from a results folder trained without Ray, and a curriculum index over it."""
from __future__ import annotations

import base64
import os
import re
import shutil
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from analysis.results.claims import Reference
from analysis.results.curriculum_index import write_index
from analysis.results.html_page import write_html
from analysis.results.report_md import build_report
from tests import browser_page
from tests.browser_page import open_page
from trainables import metrics as M

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_png(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(3, 2))  # no pyplot: nothing global to close
    fig.add_subplot().plot([0, 1, 2], [0.2, 0.6, 0.7])
    fig.savefig(path)
    return path


def page_of(folder: Path, markdown: str, name: str = "report.md") -> str:
    """The page write_html makes of `markdown` written to folder/name."""
    (folder / name).write_text(markdown)
    return write_html(folder / name).read_text()


def cells_with_class(page: str) -> dict[str, str]:
    """Cell text -> its class, for every <td class=...> of the page."""
    return {text: cls for cls, text in re.findall(r'<td class="([^"]+)">([^<]*)</td>', page)}


def markdown_headings(text: str) -> list[str]:
    """The #, ## and ### headings of a markdown text (outside code fences), as a browser shows them."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return [re.sub(r"[`*]", "", h).strip() for h in re.findall(r"^#{1,3} (.+)$", text, re.M)]


# --- write_html on written markdown ------------------------------------------------------------

def test_images_are_embedded_and_a_missing_one_keeps_its_link(tmp_path):
    png = write_png(tmp_path / "plots" / "accuracy vs width.png")
    text = page_of(tmp_path, "# A sweep\n\n![Accuracy](plots/accuracy%20vs%20width.png)\n\n![Gone](plots/gone.png)\n")
    assert (tmp_path / "report.html").read_text() == text  # beside the markdown, same name
    data = re.search(r'<img alt="Accuracy" src="data:image/png;base64,([^"]+)"', text).group(1)
    assert base64.b64decode(data) == png.read_bytes() and png.read_bytes().startswith(PNG_MAGIC)
    assert '<img alt="Gone" src="plots/gone.png"' in text
    assert "<title>A sweep</title>" in text and "<style>" in text


def test_raw_html_in_the_markdown_is_shown_as_text(tmp_path):
    text = page_of(tmp_path, "# Run\n\n- **Notes:** <script>alert(1)</script> & <b>bold</b>\n\n"
                   "| config | verdict |\n|---|---|\n| <img src=x onerror=alert(2)> | reproduced |\n\n"
                   "[click](javascript:alert(3))\n")
    assert "<script>alert" not in text and "<img src=x" not in text and "<b>bold" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&lt;img src=x onerror=alert(2)&gt;" in text
    assert "javascript:" not in text and ">click</a>" in text


def test_verdict_cells_get_their_verdicts_class_in_verdict_columns_only(tmp_path):
    text = page_of(tmp_path, "# Run\n\n| claim | verdict |\n|---|---|\n| a | reproduced |\n| b | not reproduced |\n"
                   "| c | not checked (run stopped at epoch 2; the source's value is at epoch 5) |\n| d | no data |\n\n"
                   "| sweep | reproduced |\n|---|---|\n| e | 2 of 3 |\n")
    assert cells_with_class(text) == {
        "reproduced": "reproduced", "not reproduced": "not-reproduced", "no data": "other",
        "not checked (run stopped at epoch 2; the source's value is at epoch 5)": "not-checked",
    }
    assert "<td>2 of 3</td>" in text  # a column not headed "verdict" keeps no class
    assert "td.reproduced" in text and "td.not-reproduced" in text  # the colours live in the page


def test_links_to_markdown_point_at_pages_that_exist(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "report.html").write_text("<html></html>")
    text = page_of(tmp_path, "# Curriculum\n\n| sweep | report |\n|---|---|\n| a | [report](a/report.md) |\n"
                   "| b | [report](b/report.md) |\n\n[elsewhere](https://example.org/notes.md)\n", "index.md")
    assert 'href="a/report.html"' in text  # its page exists: linked
    assert 'href="b/report.md"' in text  # a report made before pages were: its markdown stays the link
    assert 'href="https://example.org/notes.md"' in text


# --- real pages in Chromium ----------------------------------------------------------------------

REFERENCES = (  # one verdict of each kind on a 1-epoch run of width 8 and 16
    Reference("any accuracy at all", M.TEST_ACC, 0.0, where={"width": 8}, check="at_least"),
    Reference("better than perfect", M.TEST_ACC, 1.01, where={"width": 16}, check="at_least"),
    Reference("accuracy after 50 epochs", M.TEST_ACC, 0.9, where={"width": 8}, epoch=50, tolerance=0.05),
    Reference("a width never run", M.TEST_ACC, 0.9, where={"width": 999}, tolerance=0.05),
)


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory):
    """mnist_width-like results trained here without Ray (two widths, one a fused pair of seeds),
    with its report written."""
    from tests.study_fixtures import write_results_dir

    base = dict(depth=1, max_epochs=1, train_size=200, test_size=100, batch_size=50)
    configs = {"a": [{**base, "width": 8, "seed": 0}, {**base, "width": 8, "seed": 1}],
               "b": [{**base, "width": 16, "seed": 0}]}
    folder = write_results_dir(tmp_path_factory.mktemp("curriculum") / "mnist_width", configs, ["width"],
                               data_dir=os.environ["SWEEPLAB_DATA_DIR"], extra_meta={"references": REFERENCES})
    build_report(folder)
    return folder


def assert_verdicts_coloured(facts) -> None:
    colours = {cls: colour for cls, _, colour in facts.verdicts}
    assert {"reproduced", "not-reproduced", "not-checked", "other"} <= set(colours), facts.verdicts
    assert len({colours["reproduced"], colours["not-reproduced"], colours["other"]}) == 3  # green, red, grey
    assert colours["not-checked"] == colours["other"]


def test_report_page_in_chromium(sweep_folder, tmp_path):
    """Opened alone in another folder: every plot loads from the page itself."""
    page = tmp_path / "alone" / "report.html"
    page.parent.mkdir()
    shutil.copy(sweep_folder / "report.html", page)
    facts = open_page(page, tmp_path / "report.png")
    assert (tmp_path / "report.png").read_bytes().startswith(PNG_MAGIC)
    plots = sorted((sweep_folder / "plots").glob("*.png"))
    assert len(facts.images) == len(plots) >= 3 and all(loaded for _, loaded in facts.images), facts.images
    headings = markdown_headings((sweep_folder / "report.md").read_text())
    assert "Reference vs this run" in headings and "Plots" in headings
    assert [h for h in facts.heading_texts() if h in headings] == headings  # every section, in order
    assert_verdicts_coloured(facts)
    assert facts.size[1] > 2000  # the whole report, not one screen of it


def test_curriculum_index_page_in_chromium(sweep_folder, tmp_path):
    from sweeps import mnist_width

    root = sweep_folder.parent
    state = {"mnist_width": {"status": "finished", "wall_s": 12.0},
             "cifar_mlp": {"status": "skipped", "data": "absent", "why": "no CIFAR-10 in /nowhere"}}
    index = write_index(root, state, {"mnist_width": mnist_width.SWEEP})
    page = root / "index.html"
    assert page.is_file()
    facts = open_page(page, tmp_path / "index.png")
    assert facts.heading_texts() == markdown_headings(index.read_text())
    assert facts.heading_texts("h1", "h3") == ["Curriculum", "mnist_width"]
    assert_verdicts_coloured(facts)
    assert (sweep_folder / "report.html").as_uri() in facts.links  # the report's page, not its markdown


@pytest.mark.parametrize("ci", ["", "1"])
def test_without_chromium_the_browser_tests_skip_except_in_ci(monkeypatch, tmp_path, ci):
    monkeypatch.setattr(browser_page, "chromium_path", lambda: None)
    monkeypatch.setenv("CI", ci)
    outcome = pytest.fail.Exception if ci else pytest.skip.Exception
    with pytest.raises(outcome, match="chromium"):
        open_page(tmp_path / "page.html", tmp_path / "shot.png")
