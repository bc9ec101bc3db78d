"""What holds on every console page, checked in a browser: it loads with no script error, asks nothing of another
host (the console works offline), labels every form control, and fits a phone's width."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.async_api import Page

from switchboard.console.rendering import NAV, TEMPLATES_DIR
from tests.console.conftest import Console

PAGES = [item.path for item in NAV]  # every page the menu leads to, and the admin's others
PAGES += ["/console/admin/keys", "/console/admin/logs"]
PHONE = {"width": 390, "height": 844}

# Form controls a person can reach that have no label: <label for>, a wrapping <label>, aria-label(ledby) or title.
UNLABELLED = """
() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby') && !el.title)
  .map(el => el.outerHTML.slice(0, 120))
"""
# Wider than the screen: the page itself must not scroll sideways (wide tables scroll inside their own box).
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


async def _visit(page: Page, path: str, errors: list[str]) -> None:
    response = await page.goto(path)
    assert response is not None
    assert response.status == 200, f"{path}: {response.status}"
    await page.wait_for_load_state("networkidle")
    assert await page.evaluate(UNLABELLED) == [], path
    assert await page.locator("h1").count() >= 1, f"{path} has no heading"
    assert errors == [], f"{path}: {errors}"


async def test_every_page_loads_offline_labelled_and_without_script_errors(console: Console) -> None:
    page = await console.open("admin@example.com")
    errors: list[str] = []
    hosts: set[str] = set()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    for path in PAGES:
        await _visit(page, path, errors)
    assert hosts == {urlsplit(console.server.url).netloc}


async def test_every_page_fits_a_phone(console: Console) -> None:
    page = await console.open("admin@example.com", width=PHONE["width"], height=PHONE["height"])
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    for path in PAGES:
        await _visit(page, path, errors)
        assert await page.evaluate(OVERFLOW) <= 0, f"{path} scrolls sideways on a phone"


def test_no_template_has_code_the_content_security_policy_would_block() -> None:
    """The pages' CSP allows scripts from the server's files only and htmx evaluates nothing: an inline handler,
    an `hx-on`, a `js:` value or a trigger filter would fail silently in the browser (the filter would simply
    always pass), so none may be written."""
    forbidden = re.compile(
        r"""\son[a-z]+=|hx-on|js:|hx-trigger="[^"]*\[|<script(?![^>]*(\bsrc=|type="application/json"))"""
    )
    found = {
        path.name: match.group(0)
        for path in TEMPLATES_DIR.glob("*.html")
        if (match := forbidden.search(path.read_text())) is not None
    }
    assert found == {}
