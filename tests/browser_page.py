"""Open a local HTML page in headless Chromium (Debian's `chromium` package, driven by Playwright),
take a full-page screenshot and say what the browser saw: which images loaded, the headings, the
verdict cells' classes. Without Chromium or Playwright the caller's test is skipped, except in CI
(the CI variable set), where a skip would hide a page nobody opened: there it fails.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser")
FACTS_JS = """() => ({
  images: Array.from(document.images).map(i => [i.getAttribute('alt') || '', i.complete && i.naturalWidth > 0]),
  headings: Array.from(document.querySelectorAll('h1, h2, h3')).map(h => [h.tagName.toLowerCase(), h.textContent.trim()]),
  verdicts: Array.from(document.querySelectorAll('td.reproduced, td.not-reproduced, td.not-checked, td.other'))
    .map(td => [td.className, td.textContent.trim(), getComputedStyle(td).backgroundColor]),
  links: Array.from(document.links).map(a => a.href),
  size: [document.documentElement.scrollWidth, document.documentElement.scrollHeight],
})"""


@dataclass(frozen=True)
class PageFacts:
    images: list[tuple[str, bool]]  # (alt text, loaded: complete with a natural width > 0)
    headings: list[tuple[str, str]]  # (h1/h2/h3, text)
    verdicts: list[tuple[str, str, str]]  # (class, text, computed background colour)
    links: list[str]  # absolute URLs (file:// for the page's neighbours)
    size: tuple[int, int]  # the page's CSS pixels, width x height

    def heading_texts(self, *levels: str) -> list[str]:
        return [text for tag, text in self.headings if not levels or tag in levels]


def chromium_path() -> str | None:
    if os.path.isfile("/usr/bin/chromium"):
        return "/usr/bin/chromium"
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


def missing_browser(why: str) -> None:
    """Skip, or in CI fail: CI installs Chromium (.ci/run), so not finding it there is a bug."""
    if os.environ.get("CI"):
        pytest.fail(f"CI cannot open pages: {why}")
    pytest.skip(why)


def open_page(page: Path, screenshot: Path, width: int = 1280) -> PageFacts:
    """Load `page` from disk, screenshot the whole page into `screenshot` (PNG), return its facts."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_browser("playwright is not installed (pip install 'sweeplab[test]')")
    executable = chromium_path()
    if executable is None:
        missing_browser("no chromium on PATH (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable)
        try:
            tab = browser.new_page(viewport={"width": width, "height": 900})
            tab.goto(page.resolve().as_uri(), wait_until="load")
            facts = tab.evaluate(FACTS_JS)
            tab.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return PageFacts([tuple(i) for i in facts["images"]], [tuple(h) for h in facts["headings"]],
                     [tuple(v) for v in facts["verdicts"]], facts["links"], tuple(facts["size"]))
