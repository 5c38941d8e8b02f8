"""The dashboard in real headless Chromium (Debian's `chromium`), against a live server.

Checks what only a browser can: the page renders and styles load, filtering and the
time control work by clicking, the map draws its markers, the console stays clean
and no request leaves the server. Screenshots at 1280 and 375 px go to
test-artifacts/ for a human to look at.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.shared import shared_live_site

# Playwright's sync API runs an event loop in this thread; Django's ORM would refuse
# to run beside it. The server is a separate thread, so this is safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
# django_db: the live server reads the test database (tests/shared.py).
pytestmark = [pytest.mark.browser, pytest.mark.django_db]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (`make browser`, or as root "
            "`apt-get install -y chromium`). Browser tests never skip silently."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _build_world() -> None:
    from tests.web.conftest import build_world

    build_world()


# Built once for a module: its tests (and test_csp's) only read (tests/shared.py).
site = shared_live_site(_build_world)


class Watch:
    """Console errors, failed requests and any request to another host."""

    def __init__(self, page, base: str):
        self.errors: list[str] = []
        self.foreign: list[str] = []
        host = urlsplit(base).netloc
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))

        def request(r):
            parts = urlsplit(r.url)
            if parts.scheme in ("data", "blob", "about"):
                return
            if parts.netloc != host:
                self.foreign.append(r.url)

        page.on("request", request)

    def check(self):
        assert self.errors == [], self.errors
        assert self.foreign == [], f"requests outside the server: {self.foreign}"


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    watch = Watch(pg, site)
    pg.base = site
    yield pg
    context.close()
    watch.check()


def shoot(browser, base: str, path: str, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (1280, 375):
        context = browser.new_context(viewport={"width": width, "height": 900})
        pg = context.new_page()
        watch = Watch(pg, base)
        pg.goto(base + path)
        pg.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        if width == 375:
            # Readable on a phone: nothing but the scrollable figures is wider than the screen.
            overflow = pg.evaluate("document.documentElement.scrollWidth")
            assert overflow <= 375 + 1, f"{path} is {overflow}px wide at 375px"
        context.close()
        watch.check()


def test_overview_renders_with_counts(page):
    page.goto(page.base + "/")
    card = page.locator(".agreement-card")
    assert "Trilateral statement of 10 November 2020" in card.inner_text()
    counts = {
        li.locator(".badge").inner_text().strip(" !✗◷○◐●✓■\n"): li.locator(".count").inner_text()
        for li in card.locator(".counts li").all()
    }
    assert counts["Overdue"] == "1" and counts["Completed"] == "3"
    # The stylesheet loaded: badges have their coloured border.
    border = page.locator(".agreement-card .badge.status-overdue").evaluate(
        "e => getComputedStyle(e).borderTopColor"
    )
    assert border == "rgb(213, 94, 0)"
    assert page.locator("table.compliance tbody tr").count() == 3
    # Keyboard: the first Tab reaches the skip link, Enter moves to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_filtering_narrows_the_list(page):
    page.goto(page.base + "/agreements/nov-2020/")
    assert page.locator("li.obligation").count() == 8
    page.select_option("#f-status", "overdue")
    page.click("text=Apply filters")
    page.wait_for_url("**status=overdue**")
    items = page.locator("li.obligation")
    assert items.count() == 1
    assert "Gazakh" in items.inner_text() and "Overdue" in items.inner_text()
    page.select_option("#f-status", "")
    page.select_option("#f-place", "lachin")
    page.click("text=Apply filters")
    page.wait_for_url("**place=lachin**")
    assert page.locator("li.obligation").count() == 2
    assert page.locator("#shown-count").inner_text() == "2"


def test_time_control_changes_what_the_page_shows(page):
    page.goto(page.base + "/agreements/nov-2020/")
    kalbajar = page.locator('li.obligation:has-text("Return of the Kalbajar district") .badge')
    assert "Completed" in kalbajar.inner_text()
    assert page.locator(".banner-past").count() == 0
    page.fill("#as-of-date", "2020-11-14")
    page.click(".pick button")
    page.wait_for_url("**as_of=2020-11-14**")
    assert "not now" in page.locator(".banner-past").inner_text().lower()
    assert "Due soon" in kalbajar.inner_text()
    # Step to the next event without JavaScript's help: a plain link.
    page.click("a[rel=next]")
    page.wait_for_url("**as_of=2020-11-15T**")
    assert "Pending" in kalbajar.inner_text()  # the deadline moved to 25 November
    assert page.locator("svg.timeline .tl-move").count() == 1
    # The slider (shown by JavaScript) moves through time too.
    slider = page.locator("#as-of-slider")
    assert slider.is_visible()
    with page.expect_navigation():
        slider.evaluate(
            "(e) => { e.value = 0; e.dispatchEvent(new Event('input'));"
            " e.dispatchEvent(new Event('change')); }"
        )
    assert "as_of=2020-11-10" in page.url
    assert "Pending" in kalbajar.inner_text()
    page.click(".banner-past a")  # back to now
    assert page.locator(".banner-now").count() == 1


def test_map_draws_its_markers(page):
    page.goto(page.base + "/map/")
    markers = page.locator("svg.map g.map-place")
    assert markers.count() == 5
    assert page.locator("svg.map path.map-country").count() == 6
    fill = page.locator('svg.map g.map-place[data-status="overdue"] circle').evaluate(
        "e => getComputedStyle(e).fill"
    )
    assert fill == "rgb(213, 94, 0)"
    box = markers.first.bounding_box()
    assert box and box["width"] > 5
    assert "Gazakh: Overdue" in page.locator("svg.map").inner_html()
    page.goto(page.base + "/map/?as_of=2020-11-14")
    assert page.locator('svg.map g.map-place[data-status="overdue"]').count() == 0
    assert page.locator('svg.map g.map-place[data-status="due_soon"]').count() == 1


def test_search_finds_a_place_by_another_name(page):
    page.goto(page.base + "/")
    page.fill("#site-search", "Berdzor")
    page.keyboard.press("Enter")
    page.wait_for_url("**/places/?q=Berdzor**")
    assert "Lachin / Berdzor" in page.locator("main").inner_text()


def test_screenshots_at_desktop_and_phone_width(browser, site):
    for path, name in [
        ("/", "overview"),
        ("/?as_of=2020-11-14", "overview-as-of"),
        ("/agreements/nov-2020/?as_of=2020-11-16", "agreement"),
        ("/agreements/nov-2020/kalbajar-return/", "obligation"),
        ("/map/", "map"),
        ("/places/?q=Stepanakert", "places"),
    ]:
        shoot(browser, site, path, name)
    assert (ARTIFACTS / "overview-375.png").exists()


def test_the_api_reference_fetches_nothing_from_outside(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    watch = Watch(pg, site)
    pg.goto(f"{site}/api/docs/")
    pg.wait_for_selector(".opblock", timeout=30000)  # the operations are drawn
    pg.wait_for_load_state("networkidle")
    assert pg.locator(".opblock-summary-path", has_text="/api/v1/obligations/").count() >= 1
    # Public reads carry no lock; the write does.
    read = pg.locator(".opblock-get", has=pg.locator("[data-path='/api/v1/obligations/']"))
    assert read.locator(".authorization__btn").count() == 0
    write = pg.locator(".opblock-post", has=pg.locator("[data-path='/api/v1/reports/']"))
    assert write.locator(".authorization__btn").count() == 1
    watch.check()
    context.close()

def test_language_switch_is_kept_on_the_next_page(page):
    page.goto(page.base + "/")
    assert page.get_attribute("html", "lang") == "en"
    page.click('nav.languages a[lang="ru"]')
    page.wait_for_url("**lang=ru**")
    assert page.get_attribute("html", "lang") == "ru"
    assert page.locator("h1").inner_text() == "Положение дел по соглашениям"
    assert "Просрочено" in page.locator(".agreement-card").inner_text()
    # A plain link with no ?lang=: the language stays (the switch's cookie).
    page.click("header.site nav[aria-label] >> text=Карта")
    page.wait_for_url("**/map/")
    assert page.get_attribute("html", "lang") == "ru"
    assert page.locator("h1").inner_text() == "Карта мест с обязательствами"
    assert "Азербайджан" in page.locator("svg.map").inner_html()
    page.click('nav.languages a[lang="hy"]')
    assert page.get_attribute("html", "lang") == "hy"
    assert page.locator('nav.languages [aria-current="true"]').inner_text() == "Հայերեն"
