"""The webhooks page in a browser: an endpoint registered with its secret shown once, its delivery log filling
as runs finish, and a failed delivery retried from the page; checked through the API and the receiving sink."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.console.conftest import Console
from tests.console.test_schedules_scope import signed_in
from tests.fakes.webhook_sink import Answer, WebhookSink, webhook_sink
from tests.fixtures.demo import DemoUser
from tests.fixtures.server import LiveServer
from tests.triggers.helpers import create_trigger

ALICE = "alice@example.com"
BOB = "bob@example.com"


@pytest.fixture
def server(make_server: Callable[..., LiveServer]) -> LiveServer:
    """This module's server may deliver to a loopback sink, and gives up on a delivery after two quick tries."""
    return make_server(allow_private_urls=True, webhook_retry_seconds="0.05", webhook_retry_jitter=0)


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with webhook_sink() as receiver:
        yield receiver


def api(console: Console) -> httpx.Client:
    return console.server.client(console.users[ALICE].key)


def wait_for(fetch: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while not done(got := fetch()):
        assert time.monotonic() < deadline, got
        time.sleep(0.05)
    return got


async def test_an_endpoints_delivery_log_shows_a_failed_delivery_and_retries_it(
    console: Console, sink: WebhookSink
) -> None:
    sink.script = [Answer(status=500, body="down"), Answer(status=500, body="down")]  # then 200s
    page = await console.open(ALICE)
    await page.goto("/console/webhooks")
    await page.get_by_label("URL").fill(f"{sink.url}/hook")
    await page.get_by_label("run.succeeded").check()
    await page.get_by_role("button", name="Register endpoint").click()
    panel = page.locator("#webhook-secret")
    await expect(panel).to_contain_text("shown this once")
    secret = await panel.get_by_label("Signing secret").input_value()
    assert secret.startswith("whsec_")
    with api(console) as client:
        (endpoint,) = client.get("/v1/webhooks").json()["items"]
        assert endpoint["event_types"] == ["run.succeeded"]
        run = client.post("/v1/runs", json={"agent": "support", "message": "What is the status of order 1?"})
        assert run.status_code in (201, 202), run.text
        run_id = run.json()["id"]

    def deliveries() -> dict[str, Any]:
        with api(console) as client:
            page_: dict[str, Any] = client.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json()
        return page_

    # Two tries answered 500: the delivery is given up on ("dead"), with the receiver's answers in its log.
    dead = await asyncio.to_thread(
        wait_for, deliveries, lambda d: bool(d["items"]) and d["items"][0]["status"] == "dead"
    )
    (delivery,) = dead["items"]
    assert delivery["run_id"] == run_id
    await page.locator(f"#webhook-{endpoint['id']}").get_by_role("link", name="Delivery log").click()
    row = page.locator(f"#delivery-{delivery['id']}")
    status = row.locator(".delivery-status")
    await expect(status).to_have_text("dead")
    await expect(row).to_contain_text("500")
    await row.get_by_role("button", name="Retry").click()

    def retried() -> dict[str, Any]:
        with api(console) as client:
            got: dict[str, Any] = client.get(f"/v1/deliveries/{delivery['id']}").json()
        return got

    done = await asyncio.to_thread(wait_for, retried, lambda d: d["status"] == "succeeded")
    assert done["attempts"] == 3
    assert len(sink.at("/hook")) == 3
    await expect(status).to_have_text("succeeded", timeout=8_000)  # the log refreshes itself
    await expect(row.get_by_role("button", name="Retry")).to_have_count(0)
    await expect(page.locator(f"#webhook-{endpoint['id']} .badge")).to_have_text("enabled")  # healthy again
    await console.screenshot(page, "webhooks")


def test_another_users_endpoints_triggers_and_deliveries_are_not_found(
    server: LiveServer, demo: dict[str, DemoUser], sink: WebhookSink
) -> None:
    with server.client(demo[ALICE].key) as alice:
        endpoint = alice.post("/v1/webhooks", json={"url": f"{sink.url}/hook"}).json()
        trigger = create_trigger(alice)
    client, csrf = signed_in(server, demo[BOB].key)
    htmx = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    try:
        assert endpoint["id"] not in client.get("/console/webhooks").text
        assert trigger["id"] not in client.get("/console/triggers").text
        assert client.get(f"/console/webhooks/{endpoint['id']}").status_code == 404
        assert client.get(f"/console/webhooks/{endpoint['id']}/deliveries").status_code == 404
        assert client.post(f"/console/webhooks/{endpoint['id']}/disable", headers=htmx).status_code == 404
        assert client.get(f"/console/triggers/{trigger['id']}").status_code == 404
        assert client.post(f"/console/triggers/{trigger['id']}/rotate-secret", headers=htmx).status_code == 404
        assert client.post(f"/console/triggers/{trigger['id']}/pause", headers=htmx).status_code == 404
    finally:
        client.close()
    with server.client(demo[ALICE].key) as alice:
        assert alice.get(f"/v1/webhooks/{endpoint['id']}").json()["enabled"] is True
    client, csrf = signed_in(server, demo[ALICE].key)  # the owner can, from the console
    try:
        headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
        disabled = client.post(f"/console/webhooks/{endpoint['id']}/disable", headers=headers)
        assert disabled.status_code == 200
        assert "Enable" in disabled.text
    finally:
        client.close()
    with server.client(demo[ALICE].key) as alice:
        assert alice.get(f"/v1/webhooks/{endpoint['id']}").json()["enabled"] is False
        shown = alice.get(f"/v1/triggers/{trigger['id']}").json()
        assert shown["enabled"] is True
        assert shown["previous_secret_expires_at"] is None  # not rotated
