"""Browser tests: Playwright driving Debian's Chromium (`/usr/bin/chromium`, never a downloaded browser) against a
live server with the demo users. Without Chromium they skip, loudly; with SWITCHBOARD_REQUIRE_BROWSER=1 (CI sets
it, after installing Chromium) they fail instead, so a CI machine without a browser cannot pass them silently."""

from __future__ import annotations

import os
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.fixtures.demo import DemoUser
from tests.fixtures.server import LiveServer

CHROMIUM = Path(os.environ.get("SWITCHBOARD_CHROMIUM", "/usr/bin/chromium"))
# As the machine's notes advise: without the networking flags Chromium tries Google's hosts at every start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NO_BROWSER = (
    f"NO BROWSER: {CHROMIUM} is missing, so the console's browser tests did not run. Install Debian's chromium "
    "package (`apt-get install chromium`; .ci/run does) or set SWITCHBOARD_CHROMIUM to a Chromium binary."
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One Chromium per test module. Playwright's async API, in the tests' event loop: its sync API would hold
    an event loop running in the test thread, where the fixtures' own `asyncio.run` cannot then run."""
    if not CHROMIUM.exists():
        if os.environ.get("SWITCHBOARD_REQUIRE_BROWSER"):
            pytest.fail(NO_BROWSER)
        warnings.warn(NO_BROWSER, stacklevel=1)
        pytest.skip(NO_BROWSER)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@dataclass
class Console:
    """The console of a live server, as a person at a browser uses it."""

    browser: Browser
    server: LiveServer
    users: dict[str, DemoUser]
    shots: Path
    contexts: list[BrowserContext]

    async def open(self, email: str | None = None, *, width: int = 1280, height: int = 860) -> Page:
        """A new browser (its own cookies), signed in as the demo user `email` (none: signed out)."""
        context = await self.browser.new_context(base_url=self.server.url, viewport={"width": width, "height": height})
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        page = await context.new_page()
        if email is not None:
            await self.sign_in(page, self.users[email].key)
        return page

    async def sign_in(self, page: Page, key: str) -> None:
        await page.goto("/console/sign-in")
        await page.get_by_label("API key").fill(key)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url("**/console/agents")

    async def screenshot(self, page: Page, name: str) -> Path:
        """Saved beside the test's other output, and in SWITCHBOARD_SCREENSHOTS when set (`make screenshots`
        writes the README's there)."""
        path = self.shots / f"{name}.png"
        await page.screenshot(path=str(path), full_page=False)
        if os.environ.get("SWITCHBOARD_SCREENSHOTS"):
            target = Path(os.environ["SWITCHBOARD_SCREENSHOTS"])
            target.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(target / f"{name}.png"), full_page=False)
        return path


@asynccontextmanager
async def console_of(
    browser: Browser, server: LiveServer, users: dict[str, DemoUser], tmp_path: Path
) -> AsyncIterator[Console]:
    """The console of `server` (one a test started with settings of its own), its browser contexts closed after."""
    shots = tmp_path / "screenshots"
    shots.mkdir(exist_ok=True)
    opened = Console(browser=browser, server=server, users=users, shots=shots, contexts=[])
    try:
        yield opened
    finally:
        for context in opened.contexts:
            await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def console(
    browser: Browser, server: LiveServer, demo: dict[str, DemoUser], tmp_path: Path
) -> AsyncIterator[Console]:
    async with console_of(browser, server, demo, tmp_path) as opened:
        yield opened


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that drives the browser is marked `browser` (CI's second pass, on the embedded PostgreSQL,
    leaves them out: they ran in the first, and what they test does not depend on which PostgreSQL it is)."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
