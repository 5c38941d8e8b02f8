"""Layout at desktop and phone width, in headless Chromium, on the real November 2020
file: no page scrolls sideways at 390 px, and the timeline's labels never overlap, never
run past its edge and stay legible on a phone. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest

from tests.shared import shared_live_site
from tests.web.test_browser import ARTIFACTS, Watch, browser  # noqa: F401 - the fixture

# django_db: the live server reads the test database (tests/shared.py).
pytestmark = [pytest.mark.browser, pytest.mark.django_db]

BASE = "/agreements/nov-2020-trilateral/"
WIDTHS = (1280, 390)


def load_and_sweep() -> None:
    from deadlines import sweep
    from tests.conftest import load_nov2020

    load_nov2020()
    sweep.run()


# Loaded once: every test here only reads the pages (tests/shared.py).
real_site = shared_live_site(load_and_sweep)


def open_page(browser, base: str, path: str, width: int, shot: str | None = None):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    watch = Watch(page, base)
    page.goto(base + path)
    if shot:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{shot}-{width}.png"), full_page=True)
    return context, page, watch


@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_scrolls_sideways(browser, real_site, width):  # noqa: F811
    for path, name in [
        ("/", "layout-overview"),
        (BASE, "layout-agreement"),
        (f"{BASE}?as_of=2024-05-01&window=all", "layout-agreement-all"),
        (f"{BASE}kalbajar-return/", "layout-obligation"),
        ("/map/", "layout-map"),
        ("/scores/", "layout-scores"),
    ]:
        context, page, watch = open_page(browser, real_site, path, width, name)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{path} is {wide}px wide at {width}px"
        context.close()
        watch.check()


TEXT_BOXES = """() => {
  const svg = document.querySelector('svg.timeline');
  const box = svg.getBoundingClientRect();
  const scale = box.width / svg.viewBox.baseVal.width;
  return {
    left: box.left, right: box.right,
    texts: [...svg.querySelectorAll('text')].map(t => {
      const r = t.getBoundingClientRect();
      return {text: t.textContent, l: r.left, r: r.right, t: r.top, b: r.bottom,
              px: parseFloat(getComputedStyle(t).fontSize) * scale};
    }),
  };
}"""


def overlapping(texts: list[dict]) -> list[tuple[str, str]]:
    found = []
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            w = min(a["r"], b["r"]) - max(a["l"], b["l"])
            h = min(a["b"], b["b"]) - max(a["t"], b["t"])
            if w > 0.5 and h > 0.5:
                found.append((a["text"], b["text"]))
    return found


def figure_texts(page, figure: str, shot: str) -> dict:
    """The figure's texts with their boxes, after checking that none overlaps another,
    none runs past the figure's edges and all are drawn at 10.5 px or more."""
    page.locator(figure).screenshot(path=str(ARTIFACTS / f"{shot}-figure.png"))
    drawn = page.evaluate(TEXT_BOXES.replace("svg.timeline", figure))
    texts = drawn["texts"]
    assert len(texts) > 10
    assert overlapping(texts) == []
    for t in texts:
        assert drawn["left"] - 0.5 <= t["l"] and t["r"] <= drawn["right"] + 0.5, t
        assert t["px"] >= 10.5, t  # legible: never scaled below its own size
    return drawn


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("query", [
    "window=all", "window=deadlines", "as_of=2024-05-01&window=all",
    "as_of=2020-11-16", "as_of=2022-03-30&window=all",
])
def test_timeline_labels_never_collide_or_clip(browser, real_site, width, query):  # noqa: F811
    name = "timeline-" + query.replace("&", "-").replace("=", "-")
    context, page, watch = open_page(browser, real_site, f"{BASE}?{query}", width, name)
    figure_texts(page, "svg.timeline", f"{name}-{width}")
    context.close()
    watch.check()


@pytest.mark.parametrize("width", WIDTHS)
def test_map_labels_never_collide_and_stay_legible(browser, real_site, width):  # noqa: F811
    context, page, watch = open_page(browser, real_site, "/map/", width, "map")
    figure_texts(page, "svg.map", f"map-{width}")
    assert page.locator("svg.map polyline.map-route").count() >= 1
    context.close()
    watch.check()
