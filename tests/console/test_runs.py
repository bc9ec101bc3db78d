"""The runs list, the run page (timeline, child runs, Cancel) and who may open a run, in a browser, each
checked against the API."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Callable
from typing import Any

import pytest
from playwright.async_api import Dialog, expect

from tests.console.conftest import Console
from tests.fixtures.server import LiveServer

ALICE = "alice@example.com"
BOB = "bob@example.com"
ADMIN = "admin@example.com"


@pytest.fixture
def server(make_server: Callable[..., LiveServer]) -> LiveServer:
    """The console's server, allowed to notify 127.0.0.1 (a run's deliveries, to a port nobody listens on)."""
    return make_server(allow_private_urls=True)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def run_and_wait(
    console: Console, email: str, agent: str, message: str, notify: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    with console.server.client(console.users[email].key) as client:
        body = {"agent": agent, "message": message, **({"notify": notify} if notify else {})}
        response = client.post("/v1/runs/wait", json=body)
        assert response.status_code == 200, response.text
        run: dict[str, Any] = response.json()
        return run


def get_run(console: Console, email: str, run_id: str) -> dict[str, Any]:
    with console.server.client(console.users[email].key) as client:
        response = client.get(f"/v1/runs/{run_id}")
        assert response.status_code == 200, response.text
        run: dict[str, Any] = response.json()
        return run


async def test_the_runs_list_filters_by_status_and_agent(console: Console) -> None:
    looked_up = run_and_wait(console, ALICE, "support", "What is the status of order 2?")
    paused = run_and_wait(console, ALICE, "support", "Please refund order 2")
    assert (looked_up["status"], paused["status"]) == ("succeeded", "requires_action")
    run_and_wait(console, BOB, "support", "What is the status of order 3?")  # not alice's: never listed

    page = await console.open(ALICE)
    await page.clock.install()  # the table's polling, run on by the test
    await page.goto("/console/runs")
    rows = page.locator("#runs-table tbody tr[data-run-id]")
    await expect(rows).to_have_count(2)
    await expect(page.locator(f'tr[data-run-id="{paused["id"]}"] .status')).to_have_text("requires_action")
    await expect(page.locator(f'tr[data-run-id="{looked_up["id"]}"]')).to_contain_text("What is the status of order 2?")
    await console.screenshot(page, "runs")

    # The open list shows a new run by itself, but not while keyboard focus is in the table (a swap would lose it).
    link = page.get_by_role("link", name=f"Open run {paused['id']}")
    await link.focus()
    newer = run_and_wait(console, ALICE, "support", "Show me all my orders")
    await page.clock.run_for(4_000)
    await asyncio.sleep(0.4)
    await expect(link).to_be_focused()
    await expect(rows).to_have_count(2)
    await link.blur()
    await page.clock.run_for(4_000)
    await expect(rows.first).to_have_attribute("data-run-id", newer["id"])
    await expect(rows).to_have_count(3)

    await page.get_by_label("Status").select_option("succeeded")
    await expect(page).to_have_url(re.compile(r"/console/runs\?status=succeeded"))
    await expect(rows).to_have_count(2)
    await expect(rows.last).to_have_attribute("data-run-id", looked_up["id"])

    await page.get_by_label("Agent").select_option("text-analysis")
    await expect(page.get_by_text("No runs match.")).to_be_visible()
    await expect(rows).to_have_count(0)

    # The filters are in the address: a reload shows the same list, and a date range that excludes today none.
    await page.goto("/console/runs?status=requires_action&agent=support")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-run-id", paused["id"])
    await page.goto("/console/runs?from=2020-01-01&to=2020-01-31")
    await expect(rows).to_have_count(0)
    response = await page.goto("/console/runs?from=yesterday")
    assert response is not None
    assert response.status == 422
    await expect(page.get_by_text("from: 'yesterday' is not a date (YYYY-MM-DD).")).to_be_visible()
    for field, day in (("to", "9999-12-31"), ("from", "0001-01-01")):  # days that no range can hold
        response = await page.goto(f"/console/runs?{field}={day}")
        assert response is not None
        assert response.status == 422
        await expect(page.get_by_text(f"{field}: '{day}' is out of range")).to_be_visible()


async def test_the_run_page_shows_the_timeline_deliveries_and_a_pipelines_child_tree(console: Console) -> None:
    hook = f"http://127.0.0.1:{closed_port()}/hook"
    run = run_and_wait(console, ALICE, "support", "What is the status of order 2?", [{"webhook": {"url": hook}}])
    with console.server.client(console.users[ALICE].key) as client:
        steps = client.get(f"/v1/runs/{run['id']}/steps").json()
        for _ in range(100):  # its notification's first attempt fails: nobody listens there
            [delivery] = client.get(f"/v1/runs/{run['id']}/deliveries").json()["items"]
            if delivery["attempts"]:
                break
            await asyncio.sleep(0.05)
    assert delivery["status"] == "failed"
    call = next(step for step in steps if step["kind"] == "tool_call")
    assert call["tool_name"] == "get_order"

    page = await console.open(ALICE)
    await page.goto(f"/console/runs/{run['id']}")
    await expect(page.locator("#run-status")).to_have_text("succeeded")
    tool_step = page.locator("li.step-tool_call")
    await expect(tool_step).to_have_count(1)
    await expect(page.locator("li.step")).to_have_count(len(steps))
    await tool_step.get_by_text("Tool call: get_order").click()
    await expect(tool_step.locator("pre.json").first).to_contain_text('"order_id": 2')
    await expect(tool_step.locator("pre.json").nth(1)).to_contain_text('"status": "processing"')
    tokens = run["usage"]["input_tokens"] + run["usage"]["output_tokens"]
    await expect(page.locator("#run-usage")).to_contain_text(f"{tokens:,} tokens")
    await expect(page.get_by_text("Order #2")).to_be_visible()  # the output, its **bold** as bold
    await expect(page.locator(".run-output strong")).to_have_text("processing")
    deliveries = page.locator("section[aria-labelledby=deliveries-title] tbody tr")
    await expect(deliveries).to_have_count(1)
    await expect(deliveries).to_contain_text(f"webhook: {hook}")
    await expect(deliveries).to_contain_text("failed")
    await expect(deliveries).to_contain_text(delivery["last_error"])
    await console.screenshot(page, "run")

    pipeline = run_and_wait(
        console, ALICE, "text-analysis", "Alice loved the new shop in Paris. The delivery on March 3 was late."
    )
    children = get_run(console, ALICE, pipeline["id"])["children"]
    assert children
    await page.goto(f"/console/runs/{pipeline['id']}")
    tree = page.locator("section[aria-labelledby=children-title] ul.run-tree").first
    await expect(tree.locator(":scope > li")).to_have_count(len(children))
    first = tree.get_by_role("link", name=children[0]["step"], exact=True)
    await expect(first).to_have_attribute("href", f"/console/runs/{children[0]['id']}")
    await first.click()
    await expect(page.get_by_role("link", name=f"run {pipeline['id']}")).to_be_visible()  # "part of"


async def test_cancel_from_the_run_page(console: Console) -> None:
    paused = run_and_wait(console, ALICE, "support", "Please refund order 2")
    assert paused["status"] == "requires_action"

    page = await console.open(ALICE)
    await page.goto(f"/console/runs/{paused['id']}")
    await expect(page.get_by_role("heading", name="Waiting for approval")).to_be_visible()
    await expect(page.locator("#live-state")).to_contain_text("Following")
    asked: list[str] = []

    async def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    await page.get_by_role("button", name="Cancel run").click()
    await expect(page.locator("#run-status")).to_have_text("cancelled")
    assert len(asked) == 1
    assert asked[0].startswith("Cancel this run?")
    await expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
    assert get_run(console, ALICE, paused["id"])["status"] == "cancelled"


async def test_another_users_run_is_not_found_except_for_an_admin(console: Console) -> None:
    run = run_and_wait(console, ALICE, "support", "What is the status of order 2?")
    bob = await console.open(BOB)
    response = await bob.goto(f"/console/runs/{run['id']}")
    assert response is not None
    assert response.status == 404
    await expect(bob.get_by_text(f"Run {run['id']} not found.")).to_be_visible()
    with console.server.client(console.users[BOB].key) as client:  # as the API answers bob
        assert client.get(f"/v1/runs/{run['id']}").status_code == 404

    admin = await console.open(ADMIN)
    response = await admin.goto(f"/console/runs/{run['id']}")
    assert response is not None
    assert response.status == 200
    await expect(admin.get_by_text(ALICE)).to_be_visible()
    await expect(admin.get_by_role("button", name="Cancel run")).to_have_count(0)
