"""The admin pages: a user's tier changed in the console is the tier their key has in the API; keys listed by
prefix and revoked; request logs filtered by status; and to a member, none of it exists."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Dialog, expect

from switchboard.limits.tiers import DEFAULT_TIERS
from tests.console.conftest import Console, console_of
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.server import LiveServer

ALICE, BOB, ADMIN = "alice@example.com", "bob@example.com", "admin@example.com"
NO_RUN = "/v1/runs/00000000-0000-4000-8000-000000000000"
ADMIN_PAGES = ("/console/admin", "/console/admin/users", "/console/admin/keys", "/console/admin/logs")


@pytest.fixture
def tiered_server(make_server: Callable[..., LiveServer]) -> tuple[LiveServer, dict[str, DemoUser]]:
    """A server with the default tiers (free, basic, pro), seeded with the demo users."""
    server = make_server(tiers=DEFAULT_TIERS)
    return server, seed_demo(server.settings)


@pytest_asyncio.fixture(loop_scope="session")
async def tiered_console(
    browser: Browser, tiered_server: tuple[LiveServer, dict[str, DemoUser]], tmp_path: Path
) -> AsyncIterator[Console]:
    async with console_of(browser, *tiered_server, tmp_path) as opened:
        yield opened


async def test_admin_changes_a_tier_revokes_a_key_and_filters_request_logs(tiered_console: Console) -> None:
    console = tiered_console
    alice = console.server.client(console.users[ALICE].key)
    assert alice.get("/v1/limits").json()["tier"] == "free"
    assert alice.get(NO_RUN).status_code == 404  # a request the logs will hold

    page = await console.open(ADMIN)
    await page.get_by_role("link", name="Admin").click()
    await expect(page).to_have_url(f"{console.server.url}/console/admin/users")
    await page.get_by_label(f"Tier of {ALICE}").select_option("pro")
    await page.get_by_role("button", name=f"Save {ALICE}").click()
    await expect(page.locator("#flash")).to_contain_text(f"Saved {ALICE}: tier pro, member.")
    limits = alice.get("/v1/limits").json()
    assert limits["tier"] == "pro"
    assert limits["rpm"]["limit"] == DEFAULT_TIERS["pro"]["rpm"]
    alice_row = page.locator("#users tbody tr", has_text=ALICE)  # the row, whole, with its new tier
    await expect(alice_row.get_by_label(f"Tier of {ALICE}")).to_have_value("pro")
    await expect(alice_row.get_by_role("link", name=f"Keys of {ALICE}")).to_be_visible()
    await console.screenshot(page, "admin")

    # A role, as a form: the test user becomes an admin (the admin's own role cannot change here).
    tester = console.users["test.user@example.com"]
    await page.get_by_label("Role of test.user@example.com").select_option("admin")
    await page.get_by_role("button", name="Save test.user@example.com").click()
    await expect(page.locator("#flash")).to_contain_text("Saved test.user@example.com: tier free, admin.")
    assert console.server.client(tester.key).get("/v1/me").json()["role"] == "admin"
    await expect(page.get_by_label(f"Role of {ADMIN}")).to_be_disabled()

    # Bob's keys: the prefix, never the key; revoked, the key is refused.
    bob = console.users[BOB]
    await page.get_by_role("link", name=f"Keys of {BOB}").click()
    prefix = bob.key[:12]
    row = page.locator("#keys tr", has_text=prefix)
    await expect(row).to_have_count(1)
    assert bob.key not in await page.content()
    asked: list[str] = []

    async def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await (dialog.dismiss() if len(asked) == 1 else dialog.accept())  # no, then yes

    page.on("dialog", answer)
    await row.get_by_role("button", name="Revoke").click()
    await expect(page.locator("#keys tr", has_text=prefix)).not_to_contain_text("revoked")
    assert console.server.client(bob.key).get("/v1/me").status_code == 200  # "no" revoked nothing
    await row.get_by_role("button", name="Revoke").click()
    await expect(page.locator("#keys tr", has_text=prefix)).to_contain_text("revoked")
    assert console.server.client(bob.key).get("/v1/me").status_code == 401
    assert len(asked) == 2
    assert asked[0].startswith(f"Revoke {prefix}")

    await page.get_by_role("link", name="Request logs").click()
    await expect(page.locator("#logs tbody tr").first).to_be_visible()
    await page.get_by_label("Status").fill("404")
    await page.get_by_label("User").fill(ALICE)
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("#logs tbody tr")).to_have_count(1)
    await expect(page.locator("#logs tbody tr")).to_contain_text(NO_RUN)
    await expect(page.locator("#logs tbody tr")).to_contain_text(ALICE)
    params = {"status": 404, "user_id": console.users[ALICE].user_id}
    logs = console.server.client(console.users[ADMIN].key).get("/v1/admin/request-logs", params=params)
    assert [item["path"] for item in logs.json()["items"]] == [NO_RUN]


async def test_a_member_finds_no_admin_pages(console: Console) -> None:
    page = await console.open(ALICE)
    for path in ADMIN_PAGES:
        response = await page.goto(path)
        assert response is not None
        assert response.status == 404, path
    await expect(page.get_by_role("heading", name="404 · Not found")).to_be_visible()
    # Nor do its forms: the same 404, and nothing changes.
    client = console.server.client(console.users[ALICE].key)
    token = await page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token
    answer = await page.request.post(
        f"/console/admin/users/{console.users[ALICE].user_id}",
        form={"tier": "pro", "role": "admin", "csrf_token": token},
    )
    assert answer.status == 404
    me = client.get("/v1/me").json()
    assert (me["role"], me["tier"]) == ("member", "free")
