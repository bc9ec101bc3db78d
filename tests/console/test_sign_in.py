"""Signing in to the console in a browser, the session cookie, and who sees what."""

from __future__ import annotations

from playwright.async_api import expect

from tests.console.conftest import Console

MEMBER = "alice@example.com"
ADMIN = "admin@example.com"


async def test_root_leads_to_sign_in_then_back_to_the_page_asked_for(console: Console) -> None:
    page = await console.open()
    await page.goto("/")
    await expect(page).to_have_url(f"{console.server.url}/console/sign-in?next=%2Fconsole%2Fagents")
    await page.get_by_label("API key").fill("sb_not_a_key")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("Invalid API key")
    await page.get_by_label("API key").fill(console.users[MEMBER].key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{console.server.url}/console/agents")
    await expect(page.get_by_role("heading", name="support", exact=True)).to_be_visible()
    await expect(page.locator("#agent-support")).to_contain_text("rules, not an LLM")
    await console.screenshot(page, "agents")

    cookie = next(c for c in await page.context.cookies() if c["name"] == "switchboard_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert console.users[MEMBER].key not in cookie["value"]
    assert console.users[MEMBER].key not in await page.content()
    assert await page.evaluate("document.cookie") == ""  # no script can read the session

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(f"{console.server.url}/console/sign-in?reason=signed-out")
    await page.goto("/console/agents")
    await expect(page.get_by_role("heading", name="Sign in to Switchboard")).to_be_visible()


async def test_a_member_has_no_admin_page_and_an_admin_does(console: Console) -> None:
    member = await console.open(MEMBER)
    await expect(member.get_by_role("link", name="Admin")).to_have_count(0)
    response = await member.goto("/console/admin")
    assert response is not None
    assert response.status == 404
    admin = await console.open(ADMIN)
    await expect(admin.get_by_role("link", name="Admin")).to_be_visible()
