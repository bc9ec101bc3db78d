"""The triggers page in a browser: a trigger created with its ingest URL and signing secret shown once (and the
secret working: a signed event starts a run), pause/resume and secret rotation, checked through the API."""

from __future__ import annotations

import json
from typing import Any

import httpx
from playwright.async_api import Dialog, expect

from tests.console.conftest import Console
from tests.triggers.helpers import create_trigger, standard_headers

ALICE = "alice@example.com"


def api(console: Console) -> httpx.Client:
    return console.server.client(console.users[ALICE].key)


def send_event(console: Console, trigger_id: str, secret: str, payload: dict[str, Any]) -> httpx.Response:
    """A signed event, as a sender posts it to the ingest URL (no API key)."""
    body = json.dumps(payload).encode()
    with console.server.client() as sender:
        return sender.post(f"/v1/hooks/{trigger_id}", content=body, headers=standard_headers(secret, body))


async def test_a_new_trigger_shows_its_url_and_secret_once_and_the_secret_signs_events(console: Console) -> None:
    page = await console.open(ALICE)
    await page.goto("/console/triggers")
    await page.get_by_label("Name").fill("order shipped")
    await page.get_by_label("Instructions").fill("Show me all my orders")
    await page.get_by_role("button", name="Create trigger").click()

    panel = page.locator("#trigger-secret")
    await expect(panel).to_contain_text("shown this once")
    secret = await panel.get_by_label("Signing secret").input_value()
    ingest_url = await panel.get_by_label("Ingest URL").input_value()
    assert secret.startswith("whsec_")
    with api(console) as client:
        (trigger,) = client.get("/v1/triggers").json()["items"]
    assert trigger["name"] == "order shipped"
    assert trigger["agent"] == "support"
    assert ingest_url == trigger["ingest_url"]
    await expect(page.locator(f"#trigger-{trigger['id']}")).to_contain_text("accepting")
    await page.evaluate("window.scrollTo(0, 0)")
    await console.screenshot(page, "triggers")

    accepted = send_event(console, trigger["id"], secret, {"order": 1, "status": "shipped"})
    assert accepted.status_code == 202, accepted.text
    run_id = accepted.json()["run_id"]

    await page.reload()
    await expect(page.locator(f"#trigger-{trigger['id']}")).to_be_visible()
    assert secret not in await page.content()  # shown once: not on the page again

    await page.get_by_role("link", name="order shipped").click()
    await expect(page.locator("#trigger-events")).to_contain_text(run_id)
    with api(console) as client:
        assert client.get(f"/v1/runs/{run_id}").json()["trigger_id"] == trigger["id"]


async def test_pause_resume_and_rotate_a_trigger(console: Console) -> None:
    with api(console) as client:
        trigger = create_trigger(client)
    page = await console.open(ALICE)
    await page.goto("/console/triggers")
    row = page.locator(f"#trigger-{trigger['id']}")

    await row.get_by_role("button", name="Pause").click()
    await expect(row.get_by_role("button", name="Resume")).to_be_visible()
    with api(console) as client:
        assert client.get(f"/v1/triggers/{trigger['id']}").json()["accepting_events"] is False
    assert send_event(console, trigger["id"], trigger["secret"], {"n": 1}).status_code == 404
    await row.get_by_role("button", name="Resume").click()
    await expect(row.get_by_role("button", name="Pause")).to_be_visible()
    with api(console) as client:
        assert client.get(f"/v1/triggers/{trigger['id']}").json()["enabled"] is True

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    page.once("dialog", accept)
    await row.get_by_role("button", name="Rotate secret").click()
    panel = page.locator("#trigger-secret")
    await expect(panel).to_contain_text("New signing secret")
    rotated = await panel.get_by_label("Signing secret").input_value()
    assert rotated.startswith("whsec_")
    assert rotated != trigger["secret"]
    assert send_event(console, trigger["id"], rotated, {"n": 2}).status_code == 202
    with api(console) as client:
        assert client.get(f"/v1/triggers/{trigger['id']}").json()["previous_secret_expires_at"] is not None
