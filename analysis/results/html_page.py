"""report.html beside report.md, index.html beside a curriculum's index.md: the same markdown as one
self-contained page a lab can mail or open from a shared folder, with the plots embedded (data
URIs), the reference verdicts coloured and links to other reports pointing at their pages.

    write_html(results_dir / "report.md")    # -> results_dir/report.html

Raw HTML in the markdown is shown as text, not run: reports quote user strings (config values,
notes, trial labels).
"""
from __future__ import annotations

import base64
import html
import mimetypes
import xml.etree.ElementTree as etree
from pathlib import Path
from urllib.parse import unquote, urlsplit

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from analysis.results.references import NOT_CHECKED, NOT_REPRODUCED, REPRODUCED
from data_modules.atomic import write_text_atomically

# The class a verdict cell gets from its text; any other text (no data, a note) is "other".
VERDICT_CLASSES = {REPRODUCED: "reproduced", NOT_REPRODUCED: "not-reproduced", NOT_CHECKED: "not-checked"}
SAFE_SCHEMES = ("", "http", "https", "mailto", "data")  # a link or image with another scheme (javascript:) is dropped
STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { border-bottom: 1px solid #d0d7de; padding-bottom: .3em; }
h2 { border-bottom: 1px solid #eaeef2; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; display: block; overflow-x: auto; font-size: 14px; }
th, td { border: 1px solid #d0d7de; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
tr:nth-child(even) td { background: #fafbfc; }
td.reproduced { background: #dafbe1 !important; color: #116329; font-weight: 600; }
td.not-reproduced { background: #ffebe9 !important; color: #a40e26; font-weight: 600; }
td.not-checked, td.other { background: #eef0f2 !important; color: #57606a; }
img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
code { background: #f6f8fa; padding: .1em .3em; border-radius: 4px; font-size: 90%; }
pre { background: #f6f8fa; padding: 12px; overflow-x: auto; }
pre code { padding: 0; }
"""


def write_html(markdown_path: str | Path) -> Path:
    """Turn the markdown file into a page beside it (same name, .html), atomically; return its path."""
    source = Path(markdown_path)
    path = source.with_suffix(".html")
    write_text_atomically(path, render_page(source.read_text(encoding="utf-8"), source.parent))
    return path


def render_page(text: str, folder: Path) -> str:
    """The whole HTML document of markdown `text`, whose relative links and images start at `folder`."""
    converter = markdown.Markdown(extensions=["tables", "fenced_code", _PageExtension(folder)])
    body = converter.convert(text)
    title = html.escape(next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), folder.name))
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{title}</title>\n'
            f"<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n")


class _PageExtension(Extension):
    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.preprocessors.deregister("html_block")  # raw HTML stays text, escaped
        md.inlinePatterns.deregister("html")
        # after the inline processor (20), which makes the <img> and <a> elements
        md.treeprocessors.register(_PageProcessor(md, self.folder), "sweeplab_page", 15)


class _PageProcessor(Treeprocessor):
    def __init__(self, md: markdown.Markdown, folder: Path):
        super().__init__(md)
        self.folder = folder

    def run(self, root: etree.Element) -> None:
        for img in root.iter("img"):
            img.set("src", embedded(self.folder, img.get("src", "")))
        for link in root.iter("a"):
            link.set("href", page_link(self.folder, link.get("href", "")))
        for table in root.iter("table"):
            colour_verdicts(table)


def _scheme_allowed(url: str) -> bool:
    return urlsplit(url).scheme.lower() in SAFE_SCHEMES


def _local_file(folder: Path, url: str) -> Path | None:
    """The file a relative URL names, or None for an absolute URL or an anchor."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    return folder / unquote(parts.path)


def embedded(folder: Path, src: str) -> str:
    """A data URI of the image `src` names; `src` itself when there is no such file (the page then
    shows the broken link rather than hiding it)."""
    if not _scheme_allowed(src):
        return ""
    file = _local_file(folder, src)
    if file is None or not file.is_file():
        return src
    mime = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(file.read_bytes()).decode('ascii')}"


def page_link(folder: Path, href: str) -> str:
    """A link to another markdown file points at its page when that page exists (a report made
    before pages were, keeps its .md link)."""
    if not _scheme_allowed(href):
        return ""
    file = _local_file(folder, href)
    if file is None or file.suffix != ".md" or not file.with_suffix(".html").is_file():
        return href
    parts = urlsplit(href)
    return parts._replace(path=parts.path[: -len(".md")] + ".html").geturl()


def colour_verdicts(table: etree.Element) -> None:
    """Give each cell under a header containing "verdict" its verdict's class."""
    header = table.find("thead/tr")
    if header is None:
        return
    columns = [i for i, th in enumerate(header) if "verdict" in "".join(th.itertext()).lower()]
    for row in table.iterfind("tbody/tr"):
        cells = list(row)
        for i in columns:
            if i < len(cells):
                cells[i].set("class", verdict_class("".join(cells[i].itertext()).strip()))


def verdict_class(text: str) -> str:
    """"reproduced", "not-reproduced", "not-checked" (also "not checked (run stopped at epoch 2)") or "other"."""
    return next((cls for verdict, cls in VERDICT_CLASSES.items() if text == verdict or text.startswith(f"{verdict} (")),
                "other")
