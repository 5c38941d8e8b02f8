"""The Content-Security-Policy, in real headless Chromium: every page sends one, and the
pages, the map, the admin login and the API docs (Swagger UI) run under it
with no violation, so the policy is strict and still lets everything work."""

from __future__ import annotations

import pytest

from tests.web.test_browser import CHROMIUM, Watch, browser, site  # noqa: F401 - fixtures

# django_db: the live server reads the test database (tests/shared.py).
pytestmark = [pytest.mark.browser, pytest.mark.django_db]

# Collected in the page itself: the browser fires this event for every blocked load,
# inline script or style, eval, and so on.
LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(
    `${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`);
});
"""

PAGES = [
    ("/", "main h1"),
    ("/agreements/nov-2020/", "li.obligation"),
    ("/agreements/nov-2020/kalbajar-return/", "main h1"),
    ("/map/", "svg.map g.map-place"),
    ("/admin/login/", "#login-form"),
    # Rendered by script: the operations appear only if Swagger UI's code ran.
    ("/api/docs/", ".swagger-ui .opblock"),
]


@pytest.mark.parametrize("path, drawn", PAGES)
def test_page_runs_under_the_policy(browser, site, path, drawn):  # noqa: F811
    assert CHROMIUM
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(LISTEN)
    page = context.new_page()
    watch = Watch(page, site)
    response = page.goto(site + path)
    assert response.status == 200
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    page.locator(drawn).first.wait_for(state="visible", timeout=20_000)
    page.wait_for_load_state("networkidle")
    violations = page.evaluate("window.__csp")
    context.close()
    assert violations == []
    watch.check()  # no console errors (a violation is one), nothing fetched elsewhere


def test_inline_script_without_the_nonce_is_blocked(browser, site):  # noqa: F811
    # The policy is enforced, not just sent: a script injected without the nonce
    # does not run, and the browser reports it.
    context = browser.new_context()
    context.add_init_script(LISTEN)
    page = context.new_page()
    page.goto(site + "/")
    ran = page.evaluate("""() => {
        window.__ran = false;
        const s = document.createElement('script');
        s.textContent = 'window.__ran = true';
        document.body.appendChild(s);
        return window.__ran;
    }""")
    page.wait_for_function("window.__csp.length > 0")
    violations = page.evaluate("window.__csp")
    context.close()
    assert ran is False
    assert any(v.startswith("script-src") for v in violations), violations
