"""The usage page on a server whose test agents are priced (`tests.usage.agents`): the charts drawn by uPlot, the
numbers as GET /v1/usage gives them, an unpriced model's cost as unknown, and the admin's view of every user."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from switchboard.console.rendering import money
from tests.console.conftest import Console, console_of
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.server import LiveServer
from tests.usage.conftest import HOUSE_PRICES, PLUGIN, run_and_wait

ALICE, ADMIN = "alice@example.com", "admin@example.com"
TIERS = {"free": {"daily_cost_usd": "1"}}


@pytest.fixture
def priced_server(make_server: Callable[..., LiveServer]) -> tuple[LiveServer, dict[str, DemoUser]]:
    """A server with the priced test agents and a $1 daily budget on the demo users' tier, seeded (outside the
    tests' event loop: seeding runs its own)."""
    server = make_server(plugins=[PLUGIN], model_prices=HOUSE_PRICES, tiers=TIERS)
    return server, seed_demo(server.settings)


@pytest_asyncio.fixture(loop_scope="session")
async def priced_console(
    browser: Browser, priced_server: tuple[LiveServer, dict[str, DemoUser]], tmp_path: Path
) -> AsyncIterator[Console]:
    async with console_of(browser, *priced_server, tmp_path) as opened:
        yield opened


async def test_usage_charts_tables_budget_and_all_users(priced_console: Console) -> None:
    console = priced_console
    alice = console.server.client(console.users[ALICE].key)
    for n in range(3):
        run_and_wait(alice, "priced", f"question {n}")
    run_and_wait(alice, "free", "hello")  # the offline model: tokens, no price
    run_and_wait(console.server.client(console.users[ADMIN].key), "priced", "admin's own")
    usage = alice.get("/v1/usage", params={"group_by": "model"}).json()
    total = usage["total"]
    assert total["cost_usd"] > 0
    assert total["unpriced_requests"] >= 1

    page = await console.open(ALICE)
    await page.goto("/console/usage")
    await expect(page.locator(".uplot")).to_have_count(2)
    await expect(page.locator("#cost-chart canvas")).to_have_count(1)
    await expect(page.locator("#cost-chart .u-legend")).to_contain_text("Daily budget")
    tokens = total["input_tokens"] + total["output_tokens"]
    await expect(page.locator("#total-tokens")).to_have_text(f"{tokens:,}")
    await expect(page.locator("#total-cost")).to_contain_text(money(total["cost_usd"]))
    await expect(page.locator("#total-cost")).to_contain_text(f"+ {total['unpriced_requests']} unpriced")
    models = {group["key"]: group for group in usage["groups"]}
    gpt = page.locator("#usage-models tr", has_text="gpt-4o")
    await expect(gpt.locator("td").nth(3)).to_have_text(money(models["gpt-4o"]["cost_usd"]))
    await expect(page.locator("#usage-models tr", has_text="offline").locator("td").nth(3)).to_have_text("unknown")
    await expect(page.locator("#usage-agents tr", has_text="priced").locator("td").nth(0)).to_have_text("3")
    await expect(page.locator("#limits-tier")).to_have_text("free")
    await expect(page.locator("#usage-limits")).to_contain_text("$1.00")
    await console.screenshot(page, "usage")
    await expect(page.get_by_role("link", name="All users")).to_have_count(0)
    assert (await page.goto("/console/usage?scope=all")) is not None
    await expect(page.get_by_role("heading", name="404 · Not found")).to_be_visible()

    admin = await console.open(ADMIN)
    await admin.goto("/console/usage")
    await admin.get_by_role("link", name="All users").click()
    everyone = alice.get("/v1/usage").json()["total"]["requests"] + 1  # the admin's own run: one request
    await expect(admin.locator("#usage-users tr", has_text=ALICE).locator("td").nth(0)).to_have_text(str(everyone - 1))
    await expect(admin.locator("#usage-users tr", has_text=ADMIN).locator("td").nth(0)).to_have_text("1")
    await expect(admin.locator(".uplot")).to_have_count(2)
